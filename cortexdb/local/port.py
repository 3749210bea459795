"""The local backend: a database file under the data dir, through stdlib `sqlite3`."""

from __future__ import annotations

import logging
import os
import sqlite3

from .. import _ledger
from .._apply import step_failed
from .._contract import execute_steps, read_schema
from .._errors import CorruptDatabaseError, CortexDBError
from .._inspect import Snapshot
from .._uptodate import file_is_current
from . import sqlite as _connect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any

    from .._catalog import Migration
    from .._dbapi import Connection
    from .backups import BackupRun

log = logging.getLogger("cortexdb")


class LocalFile:
    """A database file: WAL, `PRAGMA quick_check` and a backup before the first change."""

    driver_errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, path: str, relative: str, busy_timeout: float, backups: BackupRun | None) -> None:
        self.location = path
        self.relative = relative  # the path under the data dir, as the backup stores it
        self.busy_timeout = busy_timeout
        self.backups = backups
        self.existed = False
        self.wal = False
        self.checked = False
        self.backed_up = False

    def is_current(self, expected: int) -> bool:
        return file_is_current(self.location, expected, self.busy_timeout)

    def snapshot(self, ledger: str, schema: bool = False) -> Snapshot:
        if not _connect.check_database_file(self.location):
            return Snapshot(self.location, False, ())
        try:
            conn = sqlite3.connect(self.location, timeout=self.busy_timeout, isolation_level=None)
            try:
                conn.execute("BEGIN")  # one read transaction: ledger and schema of the same moment
                rows = tuple(_ledger.read_ledger(conn, ledger))
                integrity = live = None
                if schema:
                    integrity = tuple(str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall())
                    live = tuple(read_schema(conn, ledger))
                conn.execute("ROLLBACK")
            finally:
                conn.close()
        except sqlite3.Error as error:
            raise self.translate(error) from None
        return Snapshot(self.location, True, rows, live, integrity)

    def connect(self) -> sqlite3.Connection:
        _connect.make_parent_dir(self.location)
        self.existed = _connect.check_database_file(self.location)
        return _connect.connect(self.location, self.busy_timeout)

    def translate(self, error: Exception) -> CortexDBError:
        assert isinstance(error, sqlite3.Error)
        return _connect.as_cortexdb_error(error, self.location, self.busy_timeout)

    def prepare(self, conn: Connection) -> None:
        # A new file has nothing to protect: switch it to WAL at once. An existing one is
        # switched only once we know we will write to it, so refusals leave it untouched.
        assert isinstance(conn, sqlite3.Connection)
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

    def begin(self, conn: Connection, read: str | None) -> list[Any]:
        assert isinstance(conn, sqlite3.Connection)
        _connect.begin_immediate(conn, self.location, self.busy_timeout)
        return conn.execute(read).fetchall() if read is not None else []

    def ready_to_write(self, conn: Connection) -> bool:
        if self.wal:
            return True
        assert isinstance(conn, sqlite3.Connection)
        conn.execute("ROLLBACK")
        self._enable_wal(conn)
        return False

    def before_change(self, conn: Connection, had_rows: bool) -> bool:
        if self.existed and not self.checked:
            self._quick_check(conn)
        # Before the first change to a database that held migrations when this run began.
        if self.backups is not None and self.existed and had_rows and not self.backed_up:
            self.backups.save(self.location, self.relative)
            self.backed_up = True
            return True
        return False

    def run_steps(self, conn: Connection, migration: Migration, before: Sequence[str]) -> None:
        for statement in before:
            conn.execute(statement)
        for number, step in enumerate(migration.steps, 1):
            log.debug("%s: %s step %d", self.location, migration.label, number)
            try:
                execute_steps(conn, (step,))
            except sqlite3.Error as error:
                if _connect.is_damaged(error):
                    raise
                raise step_failed(self.location, migration, step, error) from None

    def commit(self, conn: Connection, statements: Sequence[tuple[str, Sequence[Any]]] = ()) -> None:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("COMMIT")

    def finish(self, conn: Connection) -> None:
        pass

    def reconnect(self, conn: Connection) -> Connection:
        raise AssertionError("sqlite3 raises nothing retryable")  # pragma: no cover

    def _quick_check(self, conn: Connection) -> None:
        rows = conn.execute("PRAGMA quick_check").fetchall()
        problems = [str(row[0]) for row in rows if str(row[0]) != "ok"]
        if problems:
            raise CorruptDatabaseError(
                self.location,
                f"PRAGMA quick_check failed ({problems[0]}); nothing was applied: "
                "restore it from a backup",
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
    `synchronous=OFF`. `finish` switches it to WAL; `_aside.create` syncs it once and links it
    into place: the database appears whole, with every migration applied, or not at all.
    """

    def __init__(self, path: str, aside: str, busy_timeout: float) -> None:
        super().__init__(path, os.path.basename(path), busy_timeout, None)
        self.aside = aside

    def connect(self) -> sqlite3.Connection:
        return _connect.connect(self.aside, self.busy_timeout)

    def prepare(self, conn: Connection) -> None:
        assert isinstance(conn, sqlite3.Connection)
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA journal_mode = MEMORY")
        self.wal = True  # no switch mid-build: `finish` makes it

    def finish(self, conn: Connection) -> None:
        assert isinstance(conn, sqlite3.Connection)
        mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        if mode != "wal":
            raise CortexDBError(self.location, f"cannot use WAL mode (journal mode stays {mode!r})")
