"""The local backend: a database file under the data dir, through stdlib `sqlite3`."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import sqlite3

from . import _connect
from ._apply import step_failed
from ._errors import CorruptDatabaseError, CortexDBError, DataDirError, LockTimeoutError
from ._steps import execute_steps

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from ._apply import Outcome
    from ._backup import BackupRun
    from ._catalog import Migration
    from ._dbapi import Connection

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


# ---------------------------------------------------------------- a new file, built aside

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: new files are migrated in place
    fcntl = None  # type: ignore[assignment]

_hard_links = True  # False once this process found a file system without them


def aside_path(path: str) -> str:
    """Where the database at `path` is built before it exists: `..<name>.new` beside it.

    The leading `..` keeps it out of every session listing (a session id cannot contain `..`).
    """
    directory, name = os.path.split(path)
    return os.path.join(directory, f"..{name}.new")


class AsideFile(LocalFile):
    """A database that does not exist yet, migrated in a private file beside its place.

    Nobody else reads the file while it is built, so it needs no journal on disk and no
    fsync until the end: `journal_mode=MEMORY` (a failed migration still rolls back) and
    `synchronous=OFF`. `create_aside` then switches it to WAL, syncs it once and links it into
    place: the database appears whole, with every migration applied, or not at all.
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


def create_aside(path: str, busy_timeout: float, apply: Callable[[AsideFile], Outcome]) -> Outcome | None:
    """Create the database at `path` whole: `apply` migrates it aside, then it is linked into place.

    Processes creating the same file take turns on a lock of the aside file, so each
    migration runs once; one that finds `path` created meanwhile returns None, as it does
    where there is no `fcntl` or no hard links: the caller then treats `path` as an existing
    (or still missing) database and migrates it in place. A process killed while building
    leaves the aside file, which the next one truncates and builds again.
    """
    if fcntl is None or not _hard_links:
        return None
    aside = aside_path(path)
    fd = _claim(path, aside, busy_timeout)
    if fd is None:
        return None
    try:
        _remove_aside(aside)
        os.ftruncate(fd, 0)
        outcome = apply(AsideFile(path, aside, busy_timeout))
        os.fsync(fd)
        if not _publish(aside, path):
            return None
        _sync_directory(os.path.dirname(path))
        return outcome
    except BaseException:
        _remove_aside(aside, also_file=True)
        raise
    finally:
        os.close(fd)  # after SQLite closed its own: closing any descriptor drops the process's locks


def _claim(path: str, aside: str, busy_timeout: float) -> int | None:
    """A descriptor holding the lock of `aside`, or None once `path` exists (created meanwhile)."""
    import time

    assert fcntl is not None
    deadline = time.monotonic() + busy_timeout
    delay = 0.0005
    while True:
        try:
            fd = os.open(aside, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise DataDirError(path, f"cannot create the database ({error.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # another process is creating it: wait for its turn to end
            os.close(fd)
            if os.path.lexists(path):
                return None
            if delay == 0.0005:
                log.debug("%s: another process is creating it; waiting", path)
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    path,
                    f"another process is creating the database; gave up after {busy_timeout:g}s "
                    "(raise --busy-timeout or stop the other process)",
                ) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.008)
            continue
        if os.path.lexists(path):  # created while we queued: this aside file is stray
            _remove_aside(aside, also_file=True)
            os.close(fd)
            return None
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(aside, follow_symlinks=False))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the file we locked was removed by its builder: lock the one at the path


def _publish(aside: str, path: str) -> bool:
    """Link the built file into place; False (nothing published) if that cannot be done."""
    global _hard_links
    try:
        os.link(aside, path, follow_symlinks=False)
    except FileExistsError:  # created meanwhile, by a process outside this protocol
        _remove_aside(aside, also_file=True)
        return False
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise DataDirError(path, f"cannot create the database ({error.strerror})") from None
        _hard_links = False
        log.debug("%s: no hard links on this file system; migrating in place", path)
        _remove_aside(aside, also_file=True)
        return False
    os.unlink(aside)
    return True


# What `link` fails with where the file system has no hard links (e.g. vfat: EPERM).
_NO_LINKS = {getattr(errno, name) for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV")
             if hasattr(errno, name)}


def _remove_aside(aside: str, also_file: bool = False) -> None:
    """Remove what a build of `aside` leaves (journal, WAL, shared memory), and the file itself."""
    for suffix in ("-journal", "-wal", "-shm", *([""] if also_file else [])):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(aside + suffix)


def _sync_directory(directory: str) -> None:
    """Make a new name in `directory` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)
