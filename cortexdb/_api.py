"""The public functions: migrate, open_session, status, verify.

`migrate` is what every start of the application runs. Its up-to-date path compares each
database's `PRAGMA user_version` with the fingerprint of this build's migrations: one read of
the file header, no schema parse, no lock, no write. Only a database that differs takes the
slow path (`_apply`), which imports logging and the rest. The fingerprints come from the
small generated index (`_frozen_index.py`); the 165 KB frozen module with every step is
loaded only for a database that needs work (or for status, verify and dry runs).

A database given a URL (`urls=`, or the environment: see `_locations`) lives on a libSQL
server; `_remote` serves it, imported only then. Its up-to-date check is one request.
"""

from __future__ import annotations

import os
import sqlite3

from ._catalog import Catalog, load_catalog, load_catalog_for
from ._errors import InvalidSessionIdError
from ._index import check_session_id, load_index
from ._targets import database_urls, is_url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import TypeVar

    from ._apply import Outcome
    from ._catalog import DatabaseSpec
    from ._dbapi import Backend
    from ._index import DatabaseEntry, Index
    from ._inspect import VerifyReport
    from ._status import DatabaseStatus
    from .local.backups import BackupRun

    StrPath = str | os.PathLike[str]
    Progress = Callable[[int, int, str], None]
    Entry = TypeVar("Entry", bound=DatabaseEntry)

DEFAULT_BUSY_TIMEOUT = 30.0



class State(str):
    """What `migrate` did to one database: `DatabaseResult.state`, one of the four constants below.

    A `str`, so `result.state == "migrated"` keeps working, with a closed set of values like an
    enum. Not an `enum.Enum`: importing `enum` costs more than the whole up-to-date check.
    """

    __slots__ = ()
    UP_TO_DATE: State
    MIGRATED: State
    ADOPTED: State  # nothing pending; ledger verified (e.g. written by CortexPrism), fingerprint set
    WOULD_MIGRATE: State

    def __repr__(self) -> str:
        return f"State.{self.upper().replace(' ', '_')}"


UP_TO_DATE = State.UP_TO_DATE = State("up to date")
MIGRATED = State.MIGRATED = State("migrated")
ADOPTED = State.ADOPTED = State("adopted")
WOULD_MIGRATE = State.WOULD_MIGRATE = State("would migrate")
#: Every `State`, in the order a run goes through them.
STATES = (UP_TO_DATE, ADOPTED, MIGRATED, WOULD_MIGRATE)


class DatabaseResult:
    """What `migrate` did (or, with dry_run, would do) to one database (file or server URL)."""

    __slots__ = ("backed_up", "name", "path", "pending", "session", "state", "versions")

    def __init__(
        self,
        name: str,
        path: str,
        state: State,
        versions: tuple[int, ...] = (),
        pending: tuple[int, ...] = (),
        backed_up: bool = False,
        session: bool = False,
    ) -> None:
        self.name = name  # the database's name in the manifest, e.g. "cortex" or "session"
        self.session = session  # one file of a per-session database
        self.path = path  # the file, or the URL of a database on a libSQL server
        self.state = state  # UP_TO_DATE, MIGRATED, ADOPTED or WOULD_MIGRATE
        self.versions = versions  # the migrations applied now
        self.pending = pending  # dry run: the migrations that would be applied
        self.backed_up = backed_up

    @property
    def remote(self) -> bool:
        """True for a database on a libSQL server (`path` is its URL)."""
        return is_url(self.path)

    def __repr__(self) -> str:
        return f"DatabaseResult({self.name!r}, {self.path!r}, {self.state!r}, {self.versions!r})"


class MigrateResult:
    """What one `migrate` call did."""

    __slots__ = ("backup_dir", "databases")

    def __init__(self, databases: list[DatabaseResult], backup_dir: str | None) -> None:
        self.databases = databases
        self.backup_dir = backup_dir

    @property
    def applied(self) -> int:
        """How many migrations were applied, over all databases."""
        return sum(len(result.versions) for result in self.databases)

    @property
    def up_to_date(self) -> bool:
        """True when every database already was up to date (nothing written)."""
        return all(result.state == UP_TO_DATE for result in self.databases)


def migrate(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    dry_run: bool = False,
    backup: bool = True,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
    progress: Progress | None = None,
) -> MigrateResult:
    """Bring every database under `data_dir` (and every existing session database) up to date.

    `databases` limits the run to those names; `urls` puts databases on a libSQL server,
    e.g. `{"cortex": "http://10.0.0.5:8080"}`, over `$CORTEX_DB_URL_<NAME>` and
    `$CORTEX_DB_URL` (`""` keeps one local); `dry_run` only reports what is pending;
    `backup=False` skips the backup taken before changing an existing file (there is none
    remotely); `progress(done, total, path)` is called after each database that needed work.
    Raises a `CortexDBError` subclass, after which nothing of the failing migration remains.
    """
    root = os.fspath(data_dir)
    known = _known(frozen)
    servers = database_urls(known, urls)
    selected: list[DatabaseEntry] = list(known.select(databases))
    results: list[DatabaseResult | None] = []
    waiting: list[tuple[int, DatabaseEntry, str]] = []
    for entry, path in _targets(selected, servers, root):
        if not dry_run and _is_current(entry, path, busy_timeout):
            results.append(DatabaseResult(entry.name, path, UP_TO_DATE, session=entry.session))
        else:
            waiting.append((len(results), entry, path))
            results.append(None)
    backup_dir = None
    if waiting:
        catalog = _whole(known)
        slow = [(at, catalog.databases[entry.name], path) for at, entry, path in waiting]
        if dry_run:
            _dry_run(catalog, slow, results, busy_timeout)
        else:
            backup_dir = _migrate_slow(catalog, root, slow, results, backup, busy_timeout, progress)
    return MigrateResult([result for result in results if result is not None], backup_dir)


def open_session(
    data_dir: StrPath,
    session_id: str,
    *,
    database: str | None = None,
    backup: bool = True,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> sqlite3.Connection:
    """A connection to the session's database, created and migrated on first use.

    The id becomes a file name, so it must be 1-128 characters without `/`, `\\`, `..` or
    NUL (else `InvalidSessionIdError`). The connection has foreign keys on and the busy
    timeout set; its transaction handling is sqlite3's default.
    """
    check_session_id(session_id)
    known = _known(frozen)
    entry = known.session_database(database)
    root = os.fspath(data_dir)
    path = entry.path(root, session_id)
    if not _is_current(entry, path, busy_timeout):
        catalog = _whole(known)
        results: list[DatabaseResult | None] = [None]
        spec = catalog.databases[entry.name]
        _migrate_slow(catalog, root, [(0, spec, path)], results, backup, busy_timeout, None)
    from .local.sqlite import as_cortexdb_error

    try:
        conn = sqlite3.connect(path, timeout=busy_timeout)
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as error:
        raise as_cortexdb_error(error, path, busy_timeout) from None
    return conn


def status(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> list[DatabaseStatus]:
    """Per database: applied, pending, changed and unknown versions. Reads only (`urls` as for migrate)."""
    from ._status import database_status

    catalog = load_catalog(frozen)
    servers = database_urls(catalog, urls)
    root = os.fspath(data_dir)
    return [
        database_status(spec, path, catalog.ledger, busy_timeout, remote=is_url(path))
        for spec, path in _targets(catalog.select(databases), servers, root)
    ]


def verify(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> VerifyReport:
    """Compare each database's ledger and live schema with the build's proven schema. Reads only."""
    from ._inspect import VerifyReport, verify_file, verify_remote

    catalog = load_catalog(frozen)
    servers = database_urls(catalog, urls)
    root = os.fspath(data_dir)
    return VerifyReport(
        tuple(
            (verify_remote if is_url(path) else verify_file)(spec, path, catalog.ledger, busy_timeout)
            for spec, path in _targets(catalog.select(databases), servers, root)
        )
    )


def _known(frozen: object | None) -> Catalog | Index:
    """What the up-to-date check needs: the build's index when it can be trusted, else the whole
    frozen module (always for an explicit `frozen`)."""
    index = load_index() if frozen is None else None
    return index if index is not None else load_catalog(frozen)


def _whole(known: Catalog | Index) -> Catalog:
    """The whole frozen module, once a database needs work (checked against the index it follows)."""
    return known if isinstance(known, Catalog) else load_catalog_for(known)


def _is_current(spec: DatabaseEntry, path: str, busy_timeout: float) -> bool:
    """The fast path: the stored fingerprint equals this build's. Any doubt: False."""
    expected = spec.fingerprint
    if is_url(path):
        from .remote.backend import is_current

        return is_current(spec.name, path, expected, busy_timeout)
    if not os.path.isfile(path):
        return False
    header = _quiet_wal_header(path)
    if header is not None:
        return int.from_bytes(header[60:64], "big") == expected
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            return bool(conn.execute("PRAGMA user_version").fetchone()[0] == expected)
        finally:
            conn.close()
    except sqlite3.Error:
        return False  # the slow path reports it properly


def _quiet_wal_header(path: str) -> bytes | None:
    """The 100-byte header of a WAL database that no connection has open, else None.

    In WAL mode the newest page 1 may live in the `-wal` file, so the file's own header can be
    stale. But the last connection to close checkpoints everything into the file before it
    deletes `-wal`, and later writers change the file only by checkpointing committed pages:
    with no `-wal` present, the header holds a committed `user_version`, as a snapshot read
    would. That is the state at every application start, and it spares SQLite creating and
    deleting `-wal`/`-shm` (4/5 of the cost of `PRAGMA user_version`). Rollback-journal
    databases (header bytes 18-19 not 2) write pages in place before commit: never read raw.
    """
    if os.path.exists(path + "-wal"):
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            header = os.read(fd, 100)
        finally:
            os.close(fd)
    except OSError:
        return None
    wal_mode = header[18:20] == b"\x02\x02"  # file format read/write versions 2 = WAL
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00") or not wal_mode:
        return None
    return header


def _targets(selected: list[Entry], servers: Mapping[str, str], root: str) -> list[tuple[Entry, str]]:
    """(entry, file path or server URL) of every selected database (`servers`: see `database_urls`)."""
    targets: list[tuple[Entry, str]] = []
    for spec in selected:
        if spec.session:
            targets.extend((spec, path) for path in session_paths(spec, root))
        else:
            targets.append((spec, servers.get(spec.name) or spec.path(root)))
    return targets


def session_paths(spec: DatabaseEntry, root: str) -> list[str]:
    """The existing databases of a per-session database, sorted."""
    directory, prefix, suffix = spec.session_dir_and_affixes(root)
    try:
        entries = os.listdir(directory)
    except (FileNotFoundError, NotADirectoryError):
        return []
    paths = []
    for entry in sorted(entries):
        if not (entry.startswith(prefix) and entry.endswith(suffix)):
            continue
        session_id = entry[len(prefix) : len(entry) - len(suffix)]
        try:
            check_session_id(session_id)
        except InvalidSessionIdError:
            continue
        paths.append(os.path.join(directory, entry))
    return paths


def _migrate_slow(
    catalog: Catalog,
    root: str,
    slow: list[tuple[int, DatabaseSpec, str]],
    results: list[DatabaseResult | None],
    backup: bool,
    busy_timeout: float,
    progress: Progress | None,
) -> str | None:
    # Imported only once there is work: a process that finds every missing database being
    # created by another one only waits for it (`_aside`), and never needs the applier.
    # A database another process is creating is left for later: meanwhile this process can
    # create the next one (databases are independent), so processes starting together on an
    # empty data dir share the work instead of queueing behind one of them.
    from .local.aside import Busy

    backups: BackupRun | None = None
    deferred: list[tuple[int, DatabaseSpec, str]] = []
    done = 0
    try:
        for wait, items in ((False, slow), (True, deferred)):
            for index, spec, path in items:
                outcome = None
                if not is_url(path) and not os.path.lexists(path):
                    try:
                        outcome = _create(catalog, spec, path, busy_timeout, wait)
                    except Busy:
                        deferred.append((index, spec, path))
                        continue
                if outcome is None and os.path.lexists(path) and _is_current(spec, path, busy_timeout):
                    # Created (or brought up to date) by another process since this run looked.
                    results[index] = DatabaseResult(spec.name, path, UP_TO_DATE, session=spec.session)
                else:
                    if outcome is None:
                        if backup and backups is None and not is_url(path):
                            from .local.backups import BackupRun

                            backups = BackupRun(root)
                        outcome = _apply_in_place(catalog, spec, root, path, busy_timeout, backups)
                    results[index] = DatabaseResult(
                        spec.name, path, _state(outcome), tuple(outcome.applied), backed_up=outcome.backed_up,
                        session=spec.session,
                    )
                done += 1
                if progress is not None:
                    progress(done, len(slow), path)
    finally:
        backup_dir = backups.finish() if backups is not None else None
    return backup_dir


def _state(outcome: Outcome) -> State:
    if outcome.applied:
        return MIGRATED
    return ADOPTED if outcome.adopted else UP_TO_DATE


def _create(
    catalog: Catalog, spec: DatabaseSpec, path: str, busy_timeout: float, wait: bool
) -> Outcome | None:
    """A database that does not exist yet, built aside and linked into place whole (`_aside`);
    `aside.Busy` when another process is creating it and `wait` is False."""
    from .local.aside import create
    from .local.sqlite import make_parent_dir

    def build(aside: str) -> Outcome:
        from ._apply import apply_pending
        from .local.port import AsideFile

        return apply_pending(catalog, spec, AsideFile(path, aside, busy_timeout))

    make_parent_dir(path)
    return create(path, busy_timeout, build, wait=wait)


def _apply_in_place(
    catalog: Catalog, spec: DatabaseSpec, root: str, path: str, busy_timeout: float, backups: BackupRun | None
) -> Outcome:
    from ._apply import apply_pending

    backend: Backend
    if is_url(path):
        from .remote.backend import RemoteDatabase

        backend = RemoteDatabase(spec.name, path, busy_timeout)
    else:
        from .local.port import LocalFile

        backend = LocalFile(path, os.path.relpath(path, root), busy_timeout, backups)
    return apply_pending(catalog, spec, backend)


def _dry_run(
    catalog: Catalog,
    slow: list[tuple[int, DatabaseSpec, str]],
    results: list[DatabaseResult | None],
    busy_timeout: float,
) -> None:
    from ._status import read_plan, read_remote_plan

    for index, spec, path in slow:
        _, plan = (read_remote_plan if is_url(path) else read_plan)(spec, path, catalog.ledger, busy_timeout)
        refusal = plan.refusal(path)
        if refusal is not None:
            raise refusal
        pending = tuple(migration.version for migration in plan.pending)
        state = WOULD_MIGRATE if pending else UP_TO_DATE
        results[index] = DatabaseResult(spec.name, path, state, pending=pending, session=spec.session)
