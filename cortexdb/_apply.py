"""The slow path: lock, re-read the ledger, refuse or apply each pending migration atomically."""

from __future__ import annotations

import contextlib
import logging
import sqlite3

from . import _connect, _ledger
from ._catalog import check_steps, fingerprint
from ._errors import CorruptDatabaseError, ForeignKeyViolationError, MigrationFailedError
from ._plan import make_plan
from ._steps import execute_steps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._backup import BackupRun
    from ._catalog import Catalog, DatabaseSpec, Migration

log = logging.getLogger("cortexdb")


class Outcome:
    """What applying did to one database file."""

    __slots__ = ("adopted", "applied", "backed_up")

    def __init__(self) -> None:
        self.applied: list[int] = []
        self.adopted = False  # nothing was pending; the fingerprint was written (legacy database)
        self.backed_up = False


def migrate_file(
    catalog: Catalog,
    spec: DatabaseSpec,
    path: str,
    relative: str,
    busy_timeout: float,
    backups: BackupRun | None,
) -> Outcome:
    """Bring the database file at `path` up to date with `spec`'s migrations."""
    for migration in spec.migrations:
        check_steps(migration, catalog.source)
    ledger = catalog.ledger
    _connect.make_parent_dir(path)
    existed = _connect.check_database_file(path)
    conn = _connect.connect(path, busy_timeout)
    try:
        return _Migrator(conn, spec, path, relative, ledger, busy_timeout, backups, existed).run()
    except sqlite3.Error as error:
        raise _connect.as_cortexdb_error(error, path, busy_timeout) from None
    finally:
        conn.close()


class _Migrator:
    """One database, one connection: a loop of short locked transactions.

    Every transaction starts by re-reading the ledger under the lock, because another
    process may have applied something between two of ours. Settings that cannot change
    inside a transaction (WAL, foreign keys off) are made between transactions, and the
    loop starts over.
    """

    def __init__(
        self,
        conn: sqlite3.Connection,
        spec: DatabaseSpec,
        path: str,
        relative: str,
        ledger: str,
        busy_timeout: float,
        backups: BackupRun | None,
        existed: bool,
    ) -> None:
        self.conn = conn
        self.spec = spec
        self.path = path
        self.relative = relative
        self.ledger = ledger
        self.busy_timeout = busy_timeout
        self.backups = backups
        self.existed = existed
        self.outcome = Outcome()
        self.foreign_keys_on = True
        self.checked = False
        self.had_rows: bool | None = None  # the ledger had rows when this run first locked

    def run(self) -> Outcome:
        conn = self.conn
        # A new file has nothing to protect: switch it to WAL at once. An existing one is
        # switched only once we know we will write to it, so refusals leave it untouched.
        wal = _connect.journal_mode(conn) == "wal"
        if wal:
            self._relax_sync()
        elif not self.existed:
            self._enable_wal()
            wal = True
        try:
            while True:
                _connect.begin_immediate(conn, self.path, self.busy_timeout)
                log.debug("%s: locked", self.path)
                rows = _ledger.read_ledger(conn, self.ledger)
                if self.had_rows is None:
                    self.had_rows = bool(rows)
                plan = make_plan(self.spec, rows)
                refusal = plan.refusal(self.path)
                if refusal is not None:
                    raise refusal
                if not plan.pending:
                    self._finish()
                    return self.outcome
                migration = plan.pending[0]
                if not wal:
                    conn.execute("ROLLBACK")
                    self._enable_wal()
                    wal = True
                    continue
                if self.foreign_keys_on == migration.foreign_keys_off:
                    # Only outside a transaction does this pragma take effect.
                    conn.execute("ROLLBACK")
                    self._set_foreign_keys(not migration.foreign_keys_off)
                    continue
                if self.existed and not self.checked:
                    self._quick_check()
                if self._wants_backup():
                    assert self.backups is not None
                    self.backups.save(self.path, self.relative)
                    self.outcome.backed_up = True
                self._apply(migration, plan.applied)
        finally:
            # Best effort: an error here must not hide the one being raised; closing the
            # connection rolls back in any case.
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if not self.foreign_keys_on:
                    self._set_foreign_keys(True)

    def _wants_backup(self) -> bool:
        """Before the first change to a database that held migrations when this run began."""
        return (self.backups is not None and self.existed and bool(self.had_rows)
                and not self.outcome.backed_up)

    def _apply(self, migration: Migration, applied: list[Migration]) -> None:
        conn = self.conn
        log.debug("%s: applying %s", self.path, migration.label)
        _ledger.create_ledger(conn, self.ledger)
        for number, step in enumerate(migration.steps, 1):
            log.debug("%s: %s step %d", self.path, migration.label, number)
            try:
                execute_steps(conn, (step,))
            except sqlite3.Error as error:
                if _connect.is_damaged(error):
                    raise
                raise MigrationFailedError(
                    self.path,
                    f"migration {migration.label} failed at {migration.file}:{step[1]}: {error}; "
                    "rolled back, nothing recorded",
                ) from None
        if not conn.in_transaction:  # the generator refuses such statements (MG008)
            raise MigrationFailedError(
                self.path,
                f"migration {migration.label} ended its own transaction (BEGIN/COMMIT/ROLLBACK "
                "in a migration); not recorded: check the database with `cortex db verify`",
            )
        if migration.foreign_keys_off:
            self._check_foreign_keys(migration)
        _ledger.record(conn, self.ledger, migration)
        done = sorted([*applied, migration], key=lambda m: m.version)
        _ledger.write_user_version(conn, fingerprint(self.ledger, self.spec.name, done))
        log.debug("%s: committing %s", self.path, migration.label)
        conn.execute("COMMIT")
        self.outcome.applied.append(migration.version)
        log.info("%s: applied %s", self.path, migration.label)

    def _finish(self) -> None:
        # Everything recorded and matching. A database adopted from the original system
        # (or written before fingerprints) gets its fingerprint now, so the next start is fast.
        if _ledger.read_user_version(self.conn) != self.spec.fingerprint:
            _ledger.write_user_version(self.conn, self.spec.fingerprint)
            self.outcome.adopted = not self.outcome.applied
            log.info("%s: ledger verified, fingerprint written", self.path)
        self.conn.execute("COMMIT")

    def _check_foreign_keys(self, migration: Migration) -> None:
        violations = self.conn.execute("PRAGMA foreign_key_check").fetchall()
        if violations:
            table, _, parent, _ = violations[0]
            raise ForeignKeyViolationError(
                self.path,
                f"migration {migration.label} would leave {len(violations)} row(s) violating "
                f"foreign keys (first: table {table} references {parent}); "
                "rolled back, nothing recorded",
            )

    def _quick_check(self) -> None:
        rows = self.conn.execute("PRAGMA quick_check").fetchall()
        problems = [str(row[0]) for row in rows if str(row[0]) != "ok"]
        if problems:
            raise CorruptDatabaseError(
                self.path,
                f"PRAGMA quick_check failed ({problems[0]}); nothing was applied: "
                "restore it from a backup",
            )
        self.checked = True

    def _enable_wal(self) -> None:
        _connect.enable_wal(self.conn, self.path, self.busy_timeout)
        log.debug("%s: WAL", self.path)
        self._relax_sync()

    def _relax_sync(self) -> None:
        # In WAL mode, synchronous=NORMAL keeps every commit atomic and the file consistent
        # through crashes and power loss; power loss may only undo the newest commits, which
        # leaves an earlier prefix of migrations (each undone with its ledger row) that the
        # next start applies again. It saves an fsync per migration (4x on the fresh-apply
        # cost of commits); the final checkpoint at close, and any later FULL commit of the
        # application, make everything durable.
        self.conn.execute("PRAGMA synchronous = NORMAL")

    def _set_foreign_keys(self, on: bool) -> None:
        self.conn.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
        self.foreign_keys_on = on
