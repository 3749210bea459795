"""Where each database lives: a file under the data dir, or a URL on a libSQL server (sqld).

`resolve` turns the build's databases into `Target`s once per call; `Target.backend` is the one
place that picks the code for a location (`local/` for a file, `remote/` for a URL). Where a
database lives, highest precedence first, for each database of the build except per-session ones:

1. `urls={"cortex": "http://..."}` (the CLI's `--database-url cortex=http://...`); an empty
   URL means "the local file", whatever the environment says;
2. `$CORTEX_DB_URL_<NAME>`, e.g. `CORTEX_DB_URL_CORTEX=http://10.0.0.5:8080`;
3. `$CORTEX_DB_URL`, a template with `{name}`, e.g. `http://{name}.db.internal:8080`;
4. the file under the data directory.

Session databases stay local: each session would need its own database on the server.
The auth token comes from `$CORTEX_LIBSQL_AUTH_TOKEN_<NAME>`, else `$CORTEX_LIBSQL_AUTH_TOKEN`;
never from a URL or the command line. This module runs on every application start, so it
imports nothing and costs one pass over the environment's names.
"""

from __future__ import annotations

import os

from ._errors import InvalidInputError, InvalidSessionIdError
from ._index import check_session_id
from ._uptodate import file_is_current

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import Literal

    from ._apply import Backend
    from ._catalog import Catalog
    from ._index import DatabaseEntry, Index
    from .local.backups import BackupRun

    #: `backup=` of `migrate` and `open_session`, `--backup` of `cortex db migrate`.
    BackupPolicy = Literal["shared", "all", "none"]

URL_ENV = "CORTEX_DB_URL"  # the template; per database: CORTEX_DB_URL_<NAME>
TOKEN_ENV = "CORTEX_LIBSQL_AUTH_TOKEN"  # per database: CORTEX_LIBSQL_AUTH_TOKEN_<NAME>
NAME_PLACEHOLDER = "{name}"
_SCHEMES = ("http://", "https://", "libsql://")
#: Which existing databases a run copies into `<data-dir>/backups/` before changing them:
#: the shared ones only, every one (session databases too), or none.
BACKUP_POLICIES: tuple[BackupPolicy, ...] = ("shared", "all", "none")
#: `backup=True`. Not "all": at thousands of session databases a run's copies are as big as the
#: sessions themselves (3,000 of them: 83 MB a run), and each `open_session` that migrates an
#: old session would publish a backup run of its own that pushes the shared databases' out of
#: the five kept. The shared databases are the ones the application cannot start without.
DEFAULT_BACKUP: BackupPolicy = "shared"


class Target:
    """One database of this call: its entry in the build, and where it lives (resolved once)."""

    __slots__ = ("entry", "location", "remote", "root")

    def __init__(self, entry: DatabaseEntry, location: str, root: str, remote: bool = False) -> None:
        self.entry = entry
        self.location = location  # the file, or the server URL (as given) when `remote`
        self.root = root  # the data dir
        self.remote = remote

    @property
    def name(self) -> str:
        return self.entry.name

    def is_current(self, busy_timeout: float) -> bool:
        """The up-to-date check: the database holds this build's fingerprint. Any doubt: False."""
        if self.remote:
            return self.backend(busy_timeout).is_current(self.entry.fingerprint)
        # Not through `backend()`: the file backend's module is the slow path's (logging).
        return file_is_current(self.location, self.entry.fingerprint, busy_timeout)

    def backend(self, busy_timeout: float, backups: BackupRun | None = None) -> Backend:
        """The backend for this location: the one place that picks `local/` or `remote/`.

        `backups` is the run's backups, taken before a file that held migrations changes.
        """
        if self.remote:
            from .remote.backend import RemoteDatabase

            return RemoteDatabase(self.location, auth_token(self.name), busy_timeout)
        from .local.port import LocalFile

        return LocalFile(self.location, os.path.relpath(self.location, self.root), busy_timeout, backups)

    def __repr__(self) -> str:
        return f"Target({self.name!r}, {self.location!r})"


def backup_policy(backup: bool | BackupPolicy) -> BackupPolicy:
    """The policy `backup=` names: True is `DEFAULT_BACKUP`, False is "none"; else `InvalidInputError`."""
    if isinstance(backup, bool):
        return DEFAULT_BACKUP if backup else "none"
    if backup in BACKUP_POLICIES:
        return backup
    raise InvalidInputError(None, f"backup must be 'shared', 'all' or 'none' (or True or False), not {backup!r}")


def backs_up(policy: BackupPolicy, target: Target) -> bool:
    """Whether a run under `policy` copies `target` before changing it: the one rule, for
    `migrate` and `open_session` alike. A server keeps its own storage: never backed up."""
    if target.remote or policy == "none":
        return False
    return policy == "all" or not target.entry.session


def resolve(
    known: Catalog | Index, root: str, names: Iterable[str] | None = None, urls: Mapping[str, str] | None = None
) -> list[Target]:
    """Every selected database (all when `names` is None), with every existing session database."""
    servers = database_urls(known, urls)
    targets: list[Target] = []
    for entry in known.select(names):
        if entry.session:
            targets.extend(Target(entry, path, root) for path in session_paths(entry, root))
        else:
            url = servers.get(entry.name)
            targets.append(Target(entry, url, root, remote=True) if url else Target(entry, entry.path(root), root))
    return targets


def session_paths(entry: DatabaseEntry, root: str) -> list[str]:
    """The existing databases of a per-session database, sorted."""
    directory, prefix, suffix = entry.session_dir_and_affixes(root)
    try:
        names = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    paths = []
    for name in sorted(names):
        if not (name.startswith(prefix) and name.endswith(suffix)):
            continue
        try:
            check_session_id(name[len(prefix) : len(name) - len(suffix)])
        except InvalidSessionIdError:
            continue
        paths.append(os.path.join(directory, name))
    return paths


def is_url(location: str) -> bool:
    """True for a location the remote backend serves: `http://`, `https://` or `libsql://`."""
    return location[:10].lower().startswith(_SCHEMES)


def url_variable(name: str) -> str:
    """The environment variable that maps database `name` to a URL, e.g. CORTEX_DB_URL_CORTEX."""
    return f"{URL_ENV}_{name.upper()}"


def database_urls(
    catalog: Catalog | Index, urls: Mapping[str, str] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """{database name: URL} for the databases that live on a server; the rest stay files.

    Refuses (`InvalidInputError`, exit 2) unknown or per-session names, values that are not
    server URLs, a template without `{name}`, and two databases given the same URL (their
    ledgers would mix).
    """
    env = os.environ if environ is None else environ
    found: dict[str, tuple[str, str]] = {}  # name -> (url, where it came from)
    prefix = URL_ENV + "_"
    variables = [key for key in env if key.startswith(URL_ENV)]
    if variables:
        by_variable = {url_variable(name): name for name in catalog.databases}
        for key in variables:
            if key == URL_ENV:
                template = env[key]
                if template and NAME_PLACEHOLDER not in template:
                    raise InvalidInputError(
                        None,
                        f"${URL_ENV} must contain {NAME_PLACEHOLDER} (one server database per "
                        f"database), got {template!r}; map single databases with ${prefix}<NAME>",
                    )
                for name, spec in catalog.databases.items():
                    if template and not spec.session:
                        found.setdefault(name, (template.replace(NAME_PLACEHOLDER, name), f"${URL_ENV}"))
            elif key.startswith(prefix):
                named = by_variable.get(key)
                if named is None:
                    known = ", ".join(url_variable(n) for n, s in catalog.databases.items() if not s.session)
                    raise InvalidInputError(None, f"${key} names no database (known: {known})")
                found[named] = (env[key], f"${key}")  # overrides the template
    for name, url in (urls or {}).items():
        found[name] = (url, f"the URL of database {name}")
    result: dict[str, str] = {}
    owners: dict[tuple[str, str, int, str], str] = {}
    for name, (url, source) in found.items():
        _check(catalog, name, url, source)
        if not url:
            continue  # explicitly local
        from .remote.transport import server_key  # only with a URL: it is the remote client's reading

        server = server_key(url)
        if server in owners:
            raise InvalidInputError(
                None, f"databases {owners[server]} and {name} have the same URL {url}: give each its own"
            )
        owners[server] = name
        result[name] = url
    return result


def auth_token(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The token for database `name`: `$CORTEX_LIBSQL_AUTH_TOKEN_<NAME>`, else the general one, else ""."""
    env = os.environ if environ is None else environ
    return env.get(f"{TOKEN_ENV}_{name.upper()}") or env.get(TOKEN_ENV) or ""


def _check(catalog: Catalog | Index, name: str, url: str, source: str) -> None:
    """The one check of a database URL: everything the remote backend relies on holds after it."""
    spec = catalog.databases.get(name)
    if spec is None:
        known = ", ".join(catalog.databases)
        raise InvalidInputError(None, f"{source}: unknown database {name!r} (known: {known})")
    if spec.session:
        raise InvalidInputError(
            None, f"{source}: {name} is a per-session database; session databases stay local files"
        )
    if not url:
        return
    if not is_url(url):
        raise InvalidInputError(
            None, f"{source}: {url!r} is not a libSQL server URL (expected http://, https:// or libsql://host[:port])"
        )
    authority, _, rest = url.split("://", 1)[1].partition("/")
    if "@" in authority:
        raise InvalidInputError(None, f"{source}: put credentials in ${TOKEN_ENV}, not in the URL")
    if not authority or authority.startswith(":"):
        raise InvalidInputError(None, f"{source}: {url!r} names no host")
    if "?" in authority or "#" in authority or "?" in rest or "#" in rest:
        raise InvalidInputError(None, f"{source}: {url!r}: a libSQL server URL takes no query or fragment")
    from .remote.transport import server_key

    if server_key(url)[2] < 0:
        raise InvalidInputError(None, f"{source}: {url!r}: the port must be a number from 0 to 65535")
