"""The public functions: migrate, open_session, status, verify.

`migrate` is what every start of the application runs. Each database becomes a `Target`
(`_targets.resolve`, once), and its up-to-date check (`_uptodate`) compares the fingerprint
the database holds with this build's: one read of the file header, no schema parse, no lock,
no write. Only a database that differs takes the slow path (`_run`), which imports logging and
the rest. The fingerprints come from the small generated index (`_index`); the 165 KB frozen
module with every step (`_catalog`) is loaded only for a database that needs work, or for
status, verify and dry runs, which are pure functions (`_inspect`) of a backend's snapshot.
"""

from __future__ import annotations

import os

from ._errors import CortexDBError
from ._index import check_session_id, load_index
from ._targets import Target, backup_policy, is_url, resolve

TYPE_CHECKING = False
if TYPE_CHECKING:
    import sqlite3
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from ._apply import Outcome
    from ._catalog import Catalog
    from ._index import Index
    from ._inspect import DatabaseCheck, DatabaseStatus, VerifyReport
    from ._run import Work
    from ._targets import BackupPolicy

    StrPath = str | os.PathLike[str]
    Progress = Callable[[int, int, str], None]

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
    FAILED: State  # a session database that could not be migrated; `DatabaseResult.error` says why

    def __repr__(self) -> str:
        return f"State.{self.upper().replace(' ', '_')}"


UP_TO_DATE = State.UP_TO_DATE = State("up to date")
MIGRATED = State.MIGRATED = State("migrated")
ADOPTED = State.ADOPTED = State("adopted")
WOULD_MIGRATE = State.WOULD_MIGRATE = State("would migrate")
FAILED = State.FAILED = State("failed")
#: Every `State`, in the order a run goes through them.
STATES = (UP_TO_DATE, ADOPTED, MIGRATED, WOULD_MIGRATE, FAILED)


class DatabaseResult:
    """What `migrate` did (or, with dry_run, would do) to one database (file or server URL)."""

    __slots__ = ("backed_up", "error", "healed", "name", "path", "pending", "session", "state", "versions")

    def __init__(
        self,
        name: str,
        path: str,
        state: State,
        versions: tuple[int, ...] = (),
        pending: tuple[int, ...] = (),
        backed_up: bool = False,
        session: bool = False,
        error: CortexDBError | None = None,
        healed: str = "",
    ) -> None:
        self.name = name  # the database's name in the manifest, e.g. "cortex" or "session"
        self.session = session  # one file of a per-session database
        self.path = path  # the file, or the URL of a database on a libSQL server
        self.state = state  # UP_TO_DATE, MIGRATED, ADOPTED or WOULD_MIGRATE
        self.versions = versions  # the migrations applied now
        self.pending = pending  # dry run: the migrations that would be applied
        self.backed_up = backed_up
        self.error = error  # FAILED: what stopped this database (nothing of its migration remains)
        # What healing on adoption completed ("completed migration 37 from step 2"); "" when nothing.
        self.healed = healed

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

    def __repr__(self) -> str:
        counts: dict[str, int] = {}
        for result in self.databases:
            counts[result.state] = counts.get(result.state, 0) + 1
        states = ", ".join(f"{count} {state}" for state, count in counts.items())
        return (f"MigrateResult({len(self.databases)} database(s): {states}; applied={self.applied}, "
                f"backup_dir={self.backup_dir!r})")

    @property
    def applied(self) -> int:
        """How many migrations were applied, over all databases."""
        return sum(len(result.versions) for result in self.databases)

    @property
    def up_to_date(self) -> bool:
        """True when every database already was up to date (nothing written)."""
        return all(result.state == UP_TO_DATE for result in self.databases)

    @property
    def failures(self) -> list[DatabaseResult]:
        """The session databases that could not be migrated (each with its `error`); every other
        database was still brought up to date."""
        return [result for result in self.databases if result.state == FAILED]


def migrate(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    dry_run: bool = False,
    backup: bool | BackupPolicy = True,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
    progress: Progress | None = None,
) -> MigrateResult:
    """Bring every database under `data_dir` (and every existing session database) up to date.

    `databases` limits the run to those names; `urls` puts databases on a libSQL server,
    e.g. `{"cortex": "http://10.0.0.5:8080"}`, over `$CORTEX_DB_URL_<NAME>` and
    `$CORTEX_DB_URL` (`""` keeps one local); `dry_run` only reports what is pending;
    `backup` says which existing files are copied into `<data-dir>/backups/` before they change:
    "shared" (the default, `True`: the shared databases, not the session ones), "all", or
    "none" (`False`); never a database on a server; `progress(done, total, path)` is called
    after each database that needed work.
    Raises a `CortexDBError` subclass, after which nothing of the failing migration remains.
    A session database that cannot be migrated (corrupt, locked past the timeout, a failing
    migration) does not raise: it is in `result.failures`, and every other one is migrated.
    """
    policy = backup_policy(backup)  # a bad value is refused even when nothing is pending
    known = _known(frozen)
    results: list[DatabaseResult | None] = []
    waiting: list[tuple[int, Target]] = []
    for target in resolve(known, os.fspath(data_dir), databases, urls):
        if not dry_run and target.is_current(busy_timeout):
            results.append(DatabaseResult(target.name, target.location, UP_TO_DATE, session=target.entry.session))
        else:
            waiting.append((len(results), target))
            results.append(None)
    backup_dir = None
    if waiting:
        from . import _run

        catalog = _whole(known)
        slow: Work = [(at, catalog.databases[target.name], target) for at, target in waiting]
        targets = dict(waiting)
        if dry_run:
            for at, pending in _run.dry_run(catalog, slow, busy_timeout).items():
                target = targets[at]
                state = WOULD_MIGRATE if pending else UP_TO_DATE
                results[at] = DatabaseResult(
                    target.name, target.location, state, pending=pending, session=target.entry.session
                )
        else:
            done, backup_dir = _run.migrate_slow(catalog, slow, policy, busy_timeout, progress)
            for at, outcome in done.items():
                results[at] = _result(targets[at], outcome)
    return MigrateResult([result for result in results if result is not None], backup_dir)


def open_session(
    data_dir: StrPath,
    session_id: str,
    *,
    database: str | None = None,
    backup: bool | BackupPolicy = True,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> sqlite3.Connection:
    """A connection to the session's database, created and migrated on first use.

    `backup` follows `migrate`'s rule: only "all" copies an existing session database into a
    backup run of its own before migrating it; the default ("shared") and "none" do not.

    The id becomes a file name, so it must be 1-128 characters without `/`, `\\`, `..` or
    NUL (else `InvalidSessionIdError`). The connection has foreign keys on and the busy
    timeout set; its transaction handling is sqlite3's default.
    """
    check_session_id(session_id)
    policy = backup_policy(backup)
    known = _known(frozen)
    entry = known.session_database(database)
    root = os.fspath(data_dir)
    path = entry.path(root, session_id)
    target = Target(entry, path, root)
    if not target.is_current(busy_timeout):
        from . import _run

        catalog = _whole(known)
        _run.migrate_slow(catalog, [(0, catalog.databases[entry.name], target)], policy, busy_timeout, None,
                          isolate_sessions=False)
    import sqlite3

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
    return list(each_status(data_dir, databases=databases, urls=urls, busy_timeout=busy_timeout, frozen=frozen))


def each_status(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> Iterator[DatabaseStatus]:
    """`status`, one database at a time: the CLI writes each before reading the next."""
    from ._catalog import load_catalog
    from ._inspect import database_status

    catalog = load_catalog(frozen)
    for target in resolve(catalog, os.fspath(data_dir), databases, urls):
        snapshot = target.backend(busy_timeout).snapshot(catalog.ledger)
        yield database_status(catalog.databases[target.name], snapshot)


def verify(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> VerifyReport:
    """Compare each database's ledger and live schema with the build's proven schema. Reads only."""
    from ._inspect import VerifyReport

    checks = each_check(data_dir, databases=databases, urls=urls, busy_timeout=busy_timeout, frozen=frozen)
    return VerifyReport(tuple(checks))


def each_check(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> Iterator[DatabaseCheck]:
    """`verify`, one database at a time (each file opened once, for ledger, schema and quick_check)."""
    from ._catalog import load_catalog
    from ._inspect import check_database

    catalog = load_catalog(frozen)
    for target in resolve(catalog, os.fspath(data_dir), databases, urls):
        snapshot = target.backend(busy_timeout).snapshot(catalog.ledger, schema=True)
        yield check_database(catalog.databases[target.name], snapshot)


def _result(target: Target, outcome: Outcome | CortexDBError | None) -> DatabaseResult:
    """What the slow path did to `target` (None: another process brought it up to date meanwhile;
    an error: a session database that could not be migrated)."""
    if isinstance(outcome, CortexDBError):
        return DatabaseResult(target.name, target.location, FAILED, session=True, error=outcome)
    if outcome is None:
        return DatabaseResult(target.name, target.location, UP_TO_DATE, session=target.entry.session)
    state = MIGRATED if outcome.applied else ADOPTED if outcome.adopted else UP_TO_DATE
    return DatabaseResult(
        target.name, target.location, state, tuple(outcome.applied), backed_up=outcome.backed_up,
        session=target.entry.session, healed=outcome.healed,
    )


def _known(frozen: object | None) -> Catalog | Index:
    """What the up-to-date check needs: the build's index when it can be trusted, else the whole
    frozen module (always for an explicit `frozen`)."""
    index = load_index() if frozen is None else None
    if index is not None:
        return index
    from ._catalog import load_catalog

    return load_catalog(frozen)


def _whole(known: Catalog | Index) -> Catalog:
    """The whole frozen module, once a database needs work (checked against the index it follows)."""
    from ._catalog import Catalog, load_catalog_for

    return known if isinstance(known, Catalog) else load_catalog_for(known)

