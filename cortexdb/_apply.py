"""The slow path: lock, re-read the ledger, refuse or apply each pending migration atomically.

One loop serves both backends: a local file (`_local.LocalFile`, stdlib `sqlite3`) and a
database on a libSQL server (`_remote.RemoteDatabase`). What differs between them (WAL,
backups, batching statements into round trips, reconnecting) sits behind `Backend`.
"""

from __future__ import annotations

import contextlib
import logging

from . import _ledger
from ._catalog import check_steps
from ._contract import Step, create_ledger_statement, exists_query, fingerprint
from ._contract import record as record_statements
from ._errors import CortexDBError, ForeignKeyViolationError, MigrationFailedError
from ._plan import make_plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._catalog import Catalog, DatabaseSpec, Migration
    from ._dbapi import Backend, Connection

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
    migrator = _Migrator(backend, spec, catalog.ledger)
    try:
        return migrator.run()
    except backend.driver_errors as error:
        raise backend.translate(error) from None
    finally:
        migrator.close()


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
        self.conn: Connection | None = None
        self.outcome = Outcome()
        self.foreign_keys_on = True
        self.had_rows: bool | None = None  # the ledger had rows when this run first locked
        self.ledger_exists = False  # known to exist: this run read rows from it or committed to it
        self.attempts: dict[int, int] = {}  # version -> transactions the server ended
        self.current: Migration | None = None  # the migration whose transaction is open
        self.committing: Migration | None = None  # its COMMIT was sent: if it fails, ask the ledger

    def run(self) -> Outcome:
        self.conn = self.backend.connect()
        self.backend.prepare(self.conn)
        try:
            while True:
                try:
                    if self._transaction(self.conn):
                        self.backend.finish(self.conn)
                        return self.outcome
                except CortexDBError as error:
                    if not error.retryable:
                        raise
                    self._before_retry(error)
        finally:
            # Best effort: an error here must not hide the one being raised; closing the
            # connection rolls back in any case.
            with contextlib.suppress(CortexDBError, *self.backend.driver_errors):
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                if not self.foreign_keys_on:
                    self._set_foreign_keys(True)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()

    def _transaction(self, conn: Connection) -> bool:
        """One locked transaction: refuse, apply the next pending migration, or finish (True)."""
        # Remotely the first read travels with the BEGIN: one request less per transaction.
        if self.ledger_exists:
            rows = _ledger.ledger_rows(self.backend.begin(conn, _ledger.ledger_query(self.ledger)), self.location)
        elif self.backend.begin(conn, exists_query(self.ledger)):
            rows = _ledger.ledger_rows(conn.execute(_ledger.ledger_query(self.ledger)).fetchall(), self.location)
        else:
            rows = []
        log.debug("%s: locked", self.location)
        self.ledger_exists = bool(rows)
        if self.had_rows is None:
            self.had_rows = bool(rows)
        plan = make_plan(self.spec, rows)
        refusal = plan.refusal(self.location)
        if refusal is not None:
            raise refusal
        if self.committing is not None:
            self._settle_commit(plan.applied)
        if not plan.pending:
            self._finish(conn)
            return True
        migration = self.current = plan.pending[0]
        if not self.backend.ready_to_write(conn):
            return False
        if self.foreign_keys_on == migration.foreign_keys_off:
            # Only outside a transaction does this pragma take effect.
            conn.execute("ROLLBACK")
            self._set_foreign_keys(not migration.foreign_keys_off)
            return False
        if self.backend.before_change(conn, bool(self.had_rows)):
            self.outcome.backed_up = True
        self._apply(conn, migration, plan.applied)
        # The lock was held from reading the plan to this commit: if this was the last pending
        # migration, the database is up to date, with the fingerprint of all of them.
        return len(plan.pending) == 1

    def _apply(self, conn: Connection, migration: Migration, applied: list[Migration]) -> None:
        log.debug("%s: applying %s", self.location, migration.label)
        before = [] if self.ledger_exists else [create_ledger_statement(self.ledger)]
        existing = _violations(conn) if migration.foreign_keys_off else {}
        self.backend.run_steps(conn, migration, before)
        # The generator refuses BEGIN/COMMIT/ROLLBACK in a migration (MG008); should one slip
        # through, it is not recorded. (Remotely the steps may still be held back for the
        # commit's request, which refuses the same: steps after the end of the transaction.)
        if not conn.in_transaction:
            raise ended_own_transaction(self.location, migration)
        if migration.foreign_keys_off:
            self._check_foreign_keys(conn, migration, existing)
        done = sorted([*applied, migration], key=lambda m: m.version)
        value = fingerprint(self.ledger, self.spec.name, [m.ledger_key for m in done])
        record = record_statements(self.ledger, migration, value)
        log.debug("%s: committing %s", self.location, migration.label)
        self.committing = migration
        try:
            self.backend.commit(conn, record)
        except self.backend.driver_errors as error:  # e.g. the disk filled while committing
            raise commit_failed(self.location, migration, self.backend.translate(error)) from None
        self.committing = self.current = None
        self.ledger_exists = True
        self.outcome.applied.append(migration.version)
        log.info("%s: applied %s", self.location, migration.label)

    def _finish(self, conn: Connection) -> None:
        # Everything recorded and matching. A database adopted from the original system
        # (or written before fingerprints) gets its fingerprint now, so the next start is fast.
        if _ledger.read_user_version(conn) != self.spec.fingerprint:
            _ledger.write_user_version(conn, self.spec.fingerprint)
            self.outcome.adopted = not self.outcome.applied
            log.info("%s: ledger verified, fingerprint written", self.location)
        self.backend.commit(conn)

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
        assert self.conn is not None
        self.conn = self.backend.reconnect(self.conn)
        self.foreign_keys_on = True  # a new connection starts with foreign keys on
        time.sleep(RETRY_DELAY * 2 ** (attempts - 1) * random.uniform(0.5, 1.5))

    def _check_foreign_keys(self, conn: Connection, migration: Migration, existing: dict[tuple[str, str], int]) -> None:
        """Refuse only violations the migration introduced. Orphan rows that were there before
        (written by an application that never enabled foreign keys) are warned about, by table
        and rowid, and do not block: no migration could ever run otherwise."""
        after = _violations(conn)
        introduced = {key: count - existing.get(key, 0) for key, count in after.items() if count > existing.get(key, 0)}
        if introduced:
            (table, parent), count = sorted(introduced.items())[0]
            raise ForeignKeyViolationError(
                self.location,
                f"migration {migration.label} would leave {sum(introduced.values())} new row(s) violating "
                f"foreign keys (first: table {table} references {parent}, {count} row(s)); "
                "rolled back, nothing recorded",
            )
        if after:
            rows = conn.execute(f"{_VIOLATIONS} LIMIT 10").fetchall()
            shown = ", ".join(f"{table} rowid {rowid} (-> {parent})" for table, rowid, parent, _ in rows)
            log.warning("%s: migration %s: %d row(s) violated foreign keys before it ran and still do "
                        "(not blocking): %s", self.location, migration.label, sum(after.values()), shown)

    def _set_foreign_keys(self, on: bool) -> None:
        assert self.conn is not None
        self.conn.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
        self.foreign_keys_on = on


_VIOLATIONS = 'SELECT "table", rowid, parent, fkid FROM pragma_foreign_key_check'


def _violations(conn: Connection) -> dict[tuple[str, str], int]:
    """{(table, parent table): rows violating that foreign key}, as SQLite finds them now."""
    rows = conn.execute(f'SELECT "table", parent, count(*) FROM ({_VIOLATIONS}) GROUP BY 1, 2').fetchall()
    return {(str(table), str(parent)): int(count) for table, parent, count in rows}


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
