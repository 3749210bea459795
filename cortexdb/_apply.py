"""The transaction loop: lock, re-read the ledger, refuse or apply each pending migration atomically.

One loop serves both backends: a local file (`local.port.LocalFile`, stdlib `sqlite3`) and a
database on a libSQL server (`remote.backend.RemoteDatabase`). What differs between them (WAL,
backups, batching statements into round trips, reconnecting) sits behind the port `Backend`:
three calls per migration (`lock`, `apply`, and `finish` once at the end), each raising only
`CortexDBError`s: a backend translates its own driver's errors.
"""

from __future__ import annotations

from ._catalog import check_steps
from ._contract import Step, create_ledger_statement, fingerprint, user_version_statement
from ._contract import record as record_statements
from ._errors import TIMED_OUT, CommitUnconfirmed, CortexDBError, ForeignKeyViolationError, MigrationFailedError
from ._log import log
from ._plan import make_plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, Protocol

    from ._catalog import Catalog, DatabaseSpec, Migration
    from ._heal import Healed
    from ._inspect import Snapshot
    from ._plan import Plan

    #: The ledger row and fingerprint statements, with their parameters (`_ledger.record`).
    Record = Sequence[tuple[str, Sequence[Any]]]

    class Backend(Protocol):
        """One database of one kind (`Target.backend`): the up-to-date check, a read-only
        snapshot (status, verify, dry runs), and the port the transaction loop drives."""

        #: The file path or URL that messages start with.
        location: str
        #: True once it took a backup before changing the database (only files have backups).
        backed_up: bool

        def is_current(self, expected: int) -> bool:
            """The up-to-date check: the database holds fingerprint `expected`. Any doubt: False."""

        def snapshot(self, ledger: str, schema: bool = False, entries: bool = False) -> Snapshot:
            """The database read at one moment, changing nothing: ledger rows and, with `schema`,
            its live schema (and, for a file, `PRAGMA quick_check`); with `entries`, every ledger
            row whole (`history`)."""

        def open(self) -> None:
            """Connect (a new file is switched to WAL at once: it has nothing to protect)."""

        def lock(self, ledger: str, known_to_exist: bool) -> list[tuple[int, str]]:
            """`BEGIN IMMEDIATE` (the write lock, waited for), then the ledger's rows."""

        def set_foreign_keys(self, on: bool) -> None:
            """End the open transaction, if any, and set `PRAGMA foreign_keys` (only outside one
            does it take effect)."""

        def apply(self, migration: Migration, before: Sequence[str], record: Record) -> bool:
            """Under the lock: `before`, the migration's steps, the foreign key check of a
            `foreign_keys_off` one, `record` (ledger row, fingerprint), COMMIT. False, nothing
            done: it ended the transaction to change a setting first (WAL); start over."""

        def finish(self, fingerprint: int | None) -> bool:
            """Under the lock, nothing pending: write `fingerprint` if the database lacks it
            (True then) and commit; None: the last migration just committed it. Either way,
            leave the database ready for use."""

        def reconnect(self) -> None:
            """After a retryable error: a new connection to start the transaction over with."""

        def close(self) -> None:
            """Roll back what is open and close; never raises (the error being raised wins)."""

    #: The heal, run on the backend's connection in its write transaction with the errors its
    #: driver raises for a failed statement (`_heal.heal` with the migrations bound).
    HealWork = Callable[[Any, tuple[type[BaseException], ...]], Healed]

    class Healing(Protocol):
        """What a backend that heals offers besides `Backend`: a local file completes what is
        missing (`_heal.heal`); a server only checks (`_heal.check`) and refuses."""

        completes: bool

        def user_version(self) -> int:
            """Under the lock: `PRAGMA user_version`, the fingerprint the ledger was written with."""

        def heal(self, work: HealWork, record: Callable[[Healed], Record]) -> Healed | None:
            """Under the lock, foreign keys off: `work`, then `record` of what it did, COMMIT
            (nothing changed: ROLLBACK). None, nothing done: it ended the transaction to change
            a setting or take the backup first; start over."""


#: How many times one migration is tried when the server ends its transaction (sqld aborts
#: one that holds the write lock over 5 s while another client waits).
MAX_ATTEMPTS = 5
RETRY_DELAY = 0.05  # seconds before the second attempt; doubled each time, jittered


class Outcome:
    """What applying did to one database."""

    __slots__ = ("adopted", "applied", "backed_up", "healed")

    def __init__(self) -> None:
        self.applied: list[int] = []
        self.adopted = False  # nothing was pending; the fingerprint was written (legacy database)
        self.backed_up = False
        self.healed = ""  # what healing on adoption did (`Healed.describe`); "" when nothing


def apply_pending(catalog: Catalog, spec: DatabaseSpec, backend: Backend) -> Outcome:
    """Bring the database behind `backend` up to date with `spec`'s migrations."""
    for migration in spec.migrations:
        check_steps(migration, catalog.source)
    heals = catalog.heal is not None and hasattr(backend, "heal")
    healing: Healing | None = backend if heals else None  # type: ignore[assignment]
    try:
        return _Migrator(backend, spec, catalog.ledger, healing, catalog.heal).run()
    finally:
        backend.close()


class _Migrator:
    """One database, one connection: a loop of short locked transactions.

    Every transaction starts by re-reading the ledger under the lock, because another
    process may have applied something between two of ours. That also makes a retry
    exactly-once: a migration whose transaction the server ended (or whose COMMIT got no
    answer) is applied again only if the ledger, read under the new lock, lacks it.
    Settings that cannot change inside a transaction (WAL, foreign keys off) are made
    between transactions, and the loop starts over.
    """

    def __init__(self, backend: Backend, spec: DatabaseSpec, ledger: str, healing: Healing | None = None,
                 heal_data: dict[int, Any] | None = None) -> None:
        self.backend = backend
        self.healing = healing
        self.heal_data = heal_data
        self.heal_checked = healing is None  # the first locked read of a ledger decides, once a run
        self.spec = spec
        self.location = backend.location
        self.ledger = ledger
        self.outcome = Outcome()
        self.foreign_keys_on = True
        self.ledger_exists = False  # known to exist: this run read rows from it or committed to it
        self.attempts: dict[int, int] = {}  # version -> transactions the server ended
        self.current: Migration | None = None  # the migration whose transaction is open
        self.committing: Migration | None = None  # its COMMIT got no answer: the ledger says what happened
        self.timed_out = False  # ... because no answer came in time (rather than a lost connection)

    def run(self) -> Outcome:
        self.backend.open()
        while True:
            try:
                if self._transaction():
                    return self.outcome
            except CortexDBError as error:
                if not error.retryable:
                    raise
                self._before_retry(error)

    def _transaction(self) -> bool:
        """One locked transaction: refuse, apply the next pending migration, or finish (True)."""
        rows = self.backend.lock(self.ledger, self.ledger_exists)
        log.debug("%s: locked", self.location)
        self.ledger_exists = bool(rows)
        plan = make_plan(self.spec, rows)
        refusal = plan.refusal(self.location)
        if refusal is not None:
            raise refusal
        if self.committing is not None:
            self._settle_commit(plan.applied)
        if not self.heal_checked and not self._heal(rows, plan):
            return False
        if not plan.pending:
            self._finish()
            return True
        migration = self.current = plan.pending[0]
        if self.foreign_keys_on == migration.foreign_keys_off:
            self.backend.set_foreign_keys(not migration.foreign_keys_off)
            self.foreign_keys_on = not migration.foreign_keys_off
            return False
        if not self._apply(migration, plan.applied):
            return False
        # The lock was held from reading the plan to this commit: if this was the last pending
        # migration, the database is up to date, with the fingerprint of all of them.
        if len(plan.pending) == 1:
            self.backend.finish(None)
            return True
        return False

    def _apply(self, migration: Migration, applied: list[Migration]) -> bool:
        log.debug("%s: applying %s", self.location, migration.label)
        before = [] if self.ledger_exists else [create_ledger_statement(self.ledger)]
        done = sorted([*applied, migration], key=lambda m: m.version)
        value = fingerprint(self.ledger, self.spec.name, [m.ledger_key for m in done])
        if not self.backend.apply(migration, before, record_statements(self.ledger, migration, value)):
            return False
        self.current = None
        self.ledger_exists = True
        self.outcome.applied.append(migration.version)
        self.outcome.backed_up = self.backend.backed_up
        log.info("%s: applied %s", self.location, migration.label)
        return True

    def _heal(self, rows: list[tuple[int, str]], plan: Plan) -> bool:
        """Healing on adoption (`_heal`): a ledger cortexdb did not write (its rows' fingerprint is
        not the one `user_version` holds: the original runner's, or an older cortexdb's) may claim
        more than its schema has, or sit beside a migration the original runner half-applied.
        Checked once, before anything newer is applied. True: nothing to do, go on in this
        transaction; False: start over (healed and committed, or a setting changed first)."""
        healing = self.healing
        assert healing is not None
        value = fingerprint(self.ledger, self.spec.name, [m.ledger_key for m in plan.applied])
        if not rows or healing.user_version() == value:
            self.heal_checked = True
            return True
        if self.foreign_keys_on and healing.completes:
            # As for a `foreign_keys_off` migration: a completion may rebuild a table.
            self.backend.set_foreign_keys(False)
            self.foreign_keys_on = False
            return False
        from . import _heal

        assert self.heal_data is not None
        migrations = _heal.of_catalog(self.spec.migrations, self.heal_data)
        applied = [m.version for m in plan.applied]
        if migrations is None or max(applied, default=0) > migrations[-1].version:
            # The original runner never ran these migrations (or a later one the ledger records):
            # only cortexdb, in a transaction each, did; nothing it left is half-applied.
            self.heal_checked = True
            return True
        by_version = {m.version: m for m in self.spec.migrations}

        def work(conn: Any, errors: tuple[type[BaseException], ...]) -> Healed:
            if not healing.completes:
                return _heal.check(conn, self.ledger, migrations, applied)
            return _heal.heal(conn, self.ledger, migrations, applied, errors)

        def record(healed: Healed) -> Record:
            if healed.resumed is None:  # the ledger is unchanged: mark it as checked
                return [(user_version_statement(value), ())]
            finished = by_version[healed.resumed[0]]
            done = sorted([*plan.applied, finished], key=lambda m: m.version)
            return record_statements(self.ledger, finished,
                                     fingerprint(self.ledger, self.spec.name, [m.ledger_key for m in done]))

        healed = healing.heal(work, record)
        if healed is None:
            return False
        self.heal_checked = True
        self.outcome.backed_up = self.backend.backed_up
        if healed.changed:
            self.outcome.healed = healed.describe()
            if healed.resumed is not None:
                self.outcome.applied.append(healed.resumed[0])
            log.warning("%s: healed on adoption: %s", self.location, self.outcome.healed)
        return False

    def _finish(self) -> None:
        # Everything recorded and matching. A database adopted from the original system
        # (or written before fingerprints) gets its fingerprint now, so the next start is fast.
        if self.backend.finish(self.spec.fingerprint):
            self.outcome.adopted = not self.outcome.applied
            log.info("%s: ledger verified, fingerprint written", self.location)

    def _settle_commit(self, applied: list[Migration]) -> None:
        """A COMMIT got no answer; the ledger, read under the new lock, tells what happened."""
        migration, self.committing = self.committing, None
        assert migration is not None
        if migration in applied:
            self.outcome.applied.append(migration.version)
            log.info("%s: applied %s (its COMMIT was confirmed by the ledger)", self.location, migration.label)
        elif self.timed_out:
            # No answer in time is no proof the server ended anything: the migration was still
            # running, and this run's own wait for the lock made sqld end it. Running it again
            # would end the same way, and be blamed on the server.
            raise MigrationFailedError(
                self.location,
                f"migration {migration.label} not applied: it got no answer within the per-request "
                "timeout (--busy-timeout) and is not in the ledger: it runs longer than that on the "
                "server; raise --busy-timeout above its running time",
            )
        else:
            log.info("%s: %s was not committed; applying it again", self.location, migration.label)

    def _before_retry(self, error: CortexDBError) -> None:
        """Count the attempt, give up past the bound, else back off and start over."""
        import random
        import time

        migration, self.current = self.current, None
        if isinstance(error, CommitUnconfirmed):
            self.committing = migration  # the ledger, read under the next lock, says whether it happened
            self.timed_out = error.code == TIMED_OUT
        version = migration.version if migration is not None else 0
        attempts = self.attempts[version] = self.attempts.get(version, 0) + 1
        code = getattr(error, "code", None) or type(error).__name__
        reason = f"{code}: {getattr(error, 'detail', '') or error.message}"
        if attempts >= MAX_ATTEMPTS:
            head = f"migration {migration.label} not applied" if migration is not None else "gave up"
            raise MigrationFailedError(
                self.location,
                f"{head}: the server ended the transaction in each of {attempts} "
                f"attempt(s) (last: {reason}); sqld aborts a transaction that holds the write lock "
                "over 5 s while another client waits, so a migration must finish well within that",
            ) from None
        what = "no answer to the COMMIT" if isinstance(error, CommitUnconfirmed) else "transaction ended by the server"
        log.info("%s: %s (%s); retrying, attempt %d of %d", self.location, what, reason, attempts + 1, MAX_ATTEMPTS)
        self.backend.reconnect()
        self.foreign_keys_on = True  # a new connection starts with foreign keys on
        time.sleep(RETRY_DELAY * 2 ** (attempts - 1) * random.uniform(0.5, 1.5))



_VIOLATION_COUNTS = 'SELECT "table", parent, count(*) FROM pragma_foreign_key_check GROUP BY 1, 2'
_VIOLATION_SAMPLE = 'SELECT "table", rowid, parent, fkid FROM pragma_foreign_key_check LIMIT 10'

def violations(query: Callable[[str], Sequence[Any]]) -> dict[tuple[str, str], int]:
    """Rows violating a foreign key now, counted per (table, parent table), read with `query`
    (a backend's way to run one SELECT in its open transaction): what a `foreign_keys_off`
    migration is judged by, before and after its steps."""
    return {(str(table), str(parent)): int(count) for table, parent, count in query(_VIOLATION_COUNTS)}


def check_foreign_keys(location: str, migration: Migration, before: dict[tuple[str, str], int],
                       query: Callable[[str], Sequence[Any]]) -> None:
    """Refuse only violations the migration introduced. Orphan rows that were there before
    (written by an application that never enabled foreign keys) are warned about, by table
    and rowid, and do not block: no such migration could ever run otherwise."""
    after = violations(query)
    introduced = {key: count - before.get(key, 0) for key, count in after.items() if count > before.get(key, 0)}
    if introduced:
        (table, parent), count = sorted(introduced.items())[0]
        raise ForeignKeyViolationError(
            location,
            f"migration {migration.label} would leave {sum(introduced.values())} new row(s) violating "
            f"foreign keys (first: table {table} references {parent}, {count} row(s)); "
            "rolled back, nothing recorded",
        )
    if after:
        sample = query(_VIOLATION_SAMPLE)
        shown = ", ".join(f"{table} rowid {rowid} (-> {parent})" for table, rowid, parent, _ in sample)
        log.warning("%s: migration %s: %d row(s) violated foreign keys before it ran and still do "
                    "(not blocking): %s", location, migration.label, sum(after.values()), shown)


def ended_own_transaction(location: str, migration: Migration) -> MigrationFailedError:
    return MigrationFailedError(
        location,
        f"migration {migration.label} ended its own transaction (BEGIN/COMMIT/ROLLBACK "
        "in a migration); not recorded: check the database with `cortex db verify`",
    )


def commit_failed(location: str, migration: Migration, error: CortexDBError) -> MigrationFailedError:
    """The error for a COMMIT the database refused: SQLite rolled the migration back."""
    return MigrationFailedError(
        location,
        f"migration {migration.label} could not be committed ({error.message}); "
        "rolled back, nothing recorded",
    )


def step_failed(location: str, migration: Migration, step: tuple[object, ...], error: object) -> MigrationFailedError:
    """The error for a statement of `migration` that the database refused."""
    return MigrationFailedError(
        location,
        f"migration {migration.label} failed at {migration.file}:{Step(step).line}: {error}; "
        "rolled back, nothing recorded",
    )
