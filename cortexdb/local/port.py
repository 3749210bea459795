"""The local backend: a database file under the data dir, through stdlib `sqlite3`."""

from __future__ import annotations

import os
import sqlite3

from .. import _ledger
from .._apply import check_foreign_keys, commit_failed, ended_own_transaction, step_failed, violations
from .._contract import execute_steps, read_schema, user_version_statement
from .._errors import CorruptDatabaseError, CortexDBError
from .._log import log
from .._uptodate import file_is_current
from . import sqlite as _connect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from .._apply import HealWork, Record
    from .._catalog import Migration
    from .._heal import Healed
    from .._inspect import Snapshot
    from .backups import BackupRun



class LocalFile:
    """A database file: WAL, `PRAGMA quick_check` and a backup before the first change.

    Every method raises only `CortexDBError`s: sqlite3's errors are translated here.
    """

    def __init__(self, path: str, relative: str, busy_timeout: float, backups: BackupRun | None) -> None:
        self.location = path
        self.relative = relative  # the path under the data dir, as the backup stores it
        self.busy_timeout = busy_timeout
        self.backups = backups
        self.conn: sqlite3.Connection | None = None
        self.existed = False
        self.wal = False
        self.checked = False
        self.backed_up = False
        self.backup_decided = False
        self.had_rows: bool | None = None  # the ledger had rows when this run first locked

    def is_current(self, expected: int) -> bool:
        return file_is_current(self.location, expected, self.busy_timeout)

    def snapshot(self, ledger: str, schema: bool = False, entries: bool = False) -> Snapshot:
        # Here, not at the top: `_inspect`'s dataclasses import `inspect`, `ast` and `dis`, which
        # an apply (the slow path of every start that has work) never needs.
        from .._inspect import Snapshot

        if not _connect.database_file_exists(self.location):
            return Snapshot(self.location, False, ())
        try:
            # Read-only: status and verify work on read-only media and data dirs.
            conn = _connect.connect_read_only(self.location, self.busy_timeout)
            try:
                conn.execute("BEGIN")  # one read transaction: ledger and schema of the same moment
                rows = tuple(_ledger.read_ledger(conn, ledger, self.location))
                integrity = live = None
                if schema:
                    integrity = _connect.quick_check_problem(_connect.quick_check(conn))
                    live = tuple(read_schema(conn, ledger))
                listed = tuple(_ledger.read_entries(conn, ledger, self.location)) if entries else None
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        except sqlite3.Error as error:
            raise self._error(error) from None
        return Snapshot(self.location, True, rows, live, integrity, listed)

    def open(self) -> None:
        self.existed = self._exists()
        self.conn = self._connect()
        try:
            self._prepare(self.conn)
        except sqlite3.Error as error:
            raise self._error(error) from None

    def lock(self, ledger: str, known_to_exist: bool) -> list[tuple[int, str]]:
        conn = self._conn()

        def begin(read: str) -> list[Any]:
            _connect.begin_immediate(conn, self.location, self.busy_timeout)
            return conn.execute(read).fetchall()

        try:
            rows = _ledger.read_under_lock(begin, lambda sql: conn.execute(sql).fetchall(), ledger, known_to_exist,
                                           self.location)
        except sqlite3.Error as error:
            raise self._error(error) from None
        if self.had_rows is None:
            self.had_rows = bool(rows)
        return rows

    def set_foreign_keys(self, on: bool) -> None:
        conn = self._conn()
        try:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            conn.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")
        except sqlite3.Error as error:
            raise self._error(error) from None

    def apply(self, migration: Migration, before: Sequence[str], record: Record) -> bool:
        conn = self._conn()
        try:
            if not self.wal:
                # An existing file is switched to WAL only now that we know we will write to
                # it, so refusals leave it untouched. Outside a transaction: start over.
                conn.execute("ROLLBACK")
                self._enable_wal(conn)
                return False
            self._before_change(conn)
            for statement in before:
                conn.execute(statement)
            def query(sql: str) -> list[Any]:
                return list(conn.execute(sql).fetchall())

            before_steps = violations(query) if migration.foreign_keys_off else {}
            self._run_steps(conn, migration)
            # The generator refuses BEGIN/COMMIT/ROLLBACK in a migration (MG008); should one
            # slip through, it is not recorded.
            if not conn.in_transaction:
                raise ended_own_transaction(self.location, migration)
            if migration.foreign_keys_off:
                check_foreign_keys(self.location, migration, before_steps, query)
            for sql, params in record:
                conn.execute(sql, params)
        except sqlite3.Error as error:
            raise self._error(error) from None
        log.debug("%s: committing %s", self.location, migration.label)
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as error:  # e.g. the disk filled while committing
            raise commit_failed(self.location, migration, self._error(error)) from None
        return True

    completes = True  # healing completes what the original runner left undone (`Healing`)

    def user_version(self) -> int:
        try:
            return _ledger.read_user_version(self._conn())
        except sqlite3.Error as error:
            raise self._error(error) from None

    def heal(self, work: HealWork, record: Callable[[Healed], Record]) -> Healed | None:
        from .._errors import MigrationFailedError
        from .._heal_checks import HealRefusal

        conn = self._conn()
        try:
            if not self.wal:
                conn.execute("ROLLBACK")
                self._enable_wal(conn)
                return None
            try:
                healed = work(conn, (sqlite3.Error,))
            except HealRefusal as refusal:
                conn.execute("ROLLBACK")
                raise MigrationFailedError(self.location, f"cannot heal this database: {refusal.message}") from None
            if not healed.changed:
                conn.execute("ROLLBACK")
                return healed
            unchecked = self.existed and not self.checked
            if unchecked or (self.backups is not None and self.existed and not self.backup_decided):
                # The heal is known to change the database: undo it, take the backup (and
                # quick_check) of the database as it was, and start over; it heals again.
                conn.execute("ROLLBACK")
                self._before_change(conn)
                return None
            for sql, params in record(healed):
                conn.execute(sql, params)
            conn.execute("COMMIT")
        except sqlite3.Error as error:
            raise self._error(error) from None
        return healed

    def finish(self, fingerprint: int | None) -> bool:
        conn = self._conn()
        wrote = False
        try:
            if fingerprint is not None:
                if _ledger.read_user_version(conn) != fingerprint:
                    conn.execute(user_version_statement(fingerprint))
                    wrote = True
                conn.execute("COMMIT")
            self._ready(conn)
        except sqlite3.Error as error:
            raise self._error(error) from None
        return wrote

    def reconnect(self) -> None:
        # sqlite3 raises nothing retryable; should that change, a new connection is the answer.
        self.close()
        self.conn = self._connect()

    def close(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            conn.close()  # rolls back what is open

    def _conn(self) -> sqlite3.Connection:
        assert self.conn is not None, "open() first"
        return self.conn

    def _exists(self) -> bool:
        _connect.make_parent_dir(self.location)
        return _connect.check_database_file(self.location)

    def _connect(self) -> sqlite3.Connection:
        return _connect.connect(self.location, self.busy_timeout)

    def _error(self, error: sqlite3.Error) -> CortexDBError:
        return _connect.as_cortexdb_error(error, self.location, self.busy_timeout)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        # A new file has nothing to protect: switch it to WAL at once. An existing one is
        # switched only once we know we will write to it, so refusals leave it untouched.
        self.wal = _connect.journal_mode(conn) == "wal"
        if self.wal:
            _relax_sync(conn)
        elif not self.existed:
            # Switching a new file to WAL writes its first page through a rollback journal;
            # under synchronous=FULL that costs more fsyncs than all its migrations. The file
            # holds nothing yet, so those are skipped; the migrations' commits and the
            # checkpoint at close are synced as usual (synchronous=NORMAL from here on).
            conn.execute("PRAGMA synchronous = OFF")
            self._enable_wal(conn)

    def _ready(self, conn: sqlite3.Connection) -> None:
        """After the last transaction, the database up to date (a file in place needs nothing)."""

    def _before_change(self, conn: sqlite3.Connection) -> None:
        if self.existed and not self.checked:
            self._quick_check(conn)
        # Before the first change to a database that held anything when this run began: a
        # ledger, or tables of an application that never had one. Decided once, at the first
        # change, before this run wrote anything to it.
        if self.backups is None or not self.existed or self.backup_decided:
            return
        self.backup_decided = True
        if not self.had_rows and conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is None:
            return  # an empty file (e.g. opened by the application before any migration)
        self.backups.save(self.location, self.relative)
        self.backed_up = True

    def _run_steps(self, conn: sqlite3.Connection, migration: Migration) -> None:
        for number, step in enumerate(migration.steps, 1):
            log.debug("%s: %s step %d", self.location, migration.label, number)
            try:
                execute_steps(conn, (step,))
            except sqlite3.Error as error:
                if _connect.is_damaged(error):
                    raise
                raise step_failed(self.location, migration, step, error) from None

    def _quick_check(self, conn: sqlite3.Connection) -> None:
        problem = _connect.quick_check_problem(_connect.quick_check(conn))
        if problem:
            raise CorruptDatabaseError(
                self.location,
                f"PRAGMA quick_check failed ({problem}); nothing was applied: restore it from a backup",
            )
        self.checked = True

    def _enable_wal(self, conn: sqlite3.Connection) -> None:
        _connect.enable_wal(conn, self.location, self.busy_timeout)
        log.debug("%s: WAL", self.location)
        _relax_sync(conn)
        self.wal = True


def _relax_sync(conn: sqlite3.Connection) -> None:
    # In WAL mode, synchronous=NORMAL keeps every commit atomic and the file consistent
    # through crashes and power loss; power loss may only undo the newest commits, which
    # leaves an earlier prefix of migrations (each undone with its ledger row) that the
    # next start applies again. It saves an fsync per migration (4x on the fresh-apply
    # cost of commits); the final checkpoint at close, and any later FULL commit of the
    # application, make everything durable.
    conn.execute("PRAGMA synchronous = NORMAL")


class AsideFile(LocalFile):
    """A database that does not exist yet, migrated in a private file beside its place.

    Nobody else reads the file while it is built, so it needs no journal on disk and no
    fsync until the end: `journal_mode=MEMORY` (a failed migration still rolls back) and
    `synchronous=OFF`. `finish` switches it to WAL; `aside.create` syncs it once and links it
    into place: the database appears whole, with every migration applied, or not at all.
    """

    def __init__(self, path: str, aside: str, busy_timeout: float) -> None:
        super().__init__(path, os.path.basename(path), busy_timeout, None)
        self.aside = aside

    def _exists(self) -> bool:
        return False  # `local.aside` made the file, empty, a moment ago

    def _connect(self) -> sqlite3.Connection:
        return _connect.connect(self.aside, self.busy_timeout)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA journal_mode = MEMORY")
        self.wal = True  # no switch mid-build: `_ready` makes it

    def _ready(self, conn: sqlite3.Connection) -> None:
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        if mode != "wal":
            raise CortexDBError(self.location, f"cannot use WAL mode (journal mode stays {mode!r})")
