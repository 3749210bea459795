"""The transaction loop: lock, re-read the ledger, refuse or apply each pending migration atomically.

One loop serves both backends: a local file (`local.port.LocalFile`, stdlib `sqlite3`) and a
database on a libSQL server (`remote.backend.RemoteDatabase`). What differs between them (WAL,
backups, batching statements into round trips, reconnecting) sits behind the port `Backend`:
three calls per migration (`lock`, `apply`, and `finish` once at the end), each raising only
`CortexDBError`s: a backend translates its own driver's errors.
"""

from __future__ import annotations

import logging

from ._catalog import check_steps
from ._contract import Step, create_ledger_statement, fingerprint
from ._contract import record as record_statements
from ._errors import CommitUnconfirmed, CortexDBError, ForeignKeyViolationError, MigrationFailedError
from ._plan import make_plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, Protocol

    from ._catalog import Catalog, DatabaseSpec, Migration
    from ._inspect import Snapshot

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

        def snapshot(self, ledger: str, schema: bool = False) -> Snapshot:
            """The database read at one moment, changing nothing: ledger rows and, with `schema`,
            its live schema (and, for a file, `PRAGMA quick_check`)."""

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

log = logging.getLogger("cortexdb")

#: How many times one migration is tried when the server ends its transaction (sqld aborts
#: one that holds the write lock over 5 s while another client waits).
MAX_ATTEMPTS = 5
RETRY_DELAY = 0.05  # seconds before the second attempt; doubled each time, jittered


class Outcome:
    """What applying did to one database."""

    __slots__ = ("adopted", "applied", "backed_up")

    def __init__(self) -> None:
        self.applied: list[int] = []
        self.adopted = False  # nothing was pending; the fingerprint was written (legacy database)
        self.backed_up = False


def apply_pending(catalog: Catalog, spec: DatabaseSpec, backend: Backend) -> Outcome:
    """Bring the database behind `backend` up to date with `spec`'s migrations."""
    for migration in spec.migrations:
        check_steps(migration, catalog.source)
    try:
        return _Migrator(backend, spec, catalog.ledger).run()
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

    def __init__(self, backend: Backend, spec: DatabaseSpec, ledger: str) -> None:
        self.backend = backend
        self.spec = spec
        self.location = backend.location
        self.ledger = ledger
        self.outcome = Outcome()
        self.foreign_keys_on = True
        self.ledger_exists = False  # known to exist: this run read rows from it or committed to it
        self.attempts: dict[int, int] = {}  # version -> transactions the server ended
        self.current: Migration | None = None  # the migration whose transaction is open
        self.committing: Migration | None = None  # its COMMIT got no answer: the ledger says what happened

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
        else:
            log.info("%s: %s was not committed; applying it again", self.location, migration.label)

    def _before_retry(self, error: CortexDBError) -> None:
        """Count the attempt, give up past the bound, else back off and start over."""
        import random
        import time

        migration, self.current = self.current, None
        if isinstance(error, CommitUnconfirmed):
            self.committing = migration  # the ledger, read under the next lock, says whether it happened
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
        log.info("%s: transaction ended by the server (%s); retrying, attempt %d of %d", self.location, reason,
                 attempts + 1, MAX_ATTEMPTS)
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
