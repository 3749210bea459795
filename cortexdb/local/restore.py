"""`restore`: put a database file back as a backup folder (`local.backups`) holds it.

Per file, in this order, so that a failure at any point leaves the database as it was:

1. `PRAGMA quick_check` of the backup, read-only (nothing is written into the backup folder);
2. a copy of it beside the database (`..<name>.restore-<pid>`), fsynced;
3. the database switched out of WAL (`journal_mode=DELETE`): SQLite allows that only when no
   other connection has it open, and it folds the `-wal` into the file and removes `-wal` and
   `-shm`. Left in place, an old `-wal` would be replayed into the restored file at its next
   open, bringing back what the restore undoes, or worse, pages of another database;
4. `BEGIN IMMEDIATE`, the lock `migrate` takes, held until the end;
5. the database as it is now copied into this run's own backup folder;
6. `os.replace` of the copy over the database, and an fsync of the directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time

from .._errors import CorruptDatabaseError, InvalidInputError, LockTimeoutError
from . import sqlite as _connect
from .backups import _PUBLISHED, BACKUPS_DIR

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .backups import BackupRun


class Backup:
    """One published backup folder: its name (a UTC time), path, and the database files it holds."""

    __slots__ = ("files", "name", "path")

    def __init__(self, name: str, path: str, files: tuple[str, ...]) -> None:
        self.name = name
        self.path = path
        self.files = files  # paths under the data dir, e.g. "vault.db", "sessions/abc.db"

    def __repr__(self) -> str:
        return f"Backup({self.name!r}, {self.files!r})"


def list_backups(data_dir: str) -> list[Backup]:
    """The published backups under `data_dir`, newest first (in-progress folders are not listed)."""
    root = os.path.join(data_dir, BACKUPS_DIR)
    try:
        names = os.listdir(root)
    except OSError:
        return []
    found = []
    for name in names:
        match = _PUBLISHED.match(name)
        folder = os.path.join(root, name)
        if match and os.path.isdir(folder):
            found.append(((match.group(1), int(match.group(2) or 1)), Backup(name, folder, _files(folder))))
    return [backup for _, backup in sorted(found, key=lambda item: item[0], reverse=True)]


def find_backup(data_dir: str, name: str) -> Backup:
    """The backup called `name` (its folder name, or its path); else exit 2 naming those there are."""
    wanted = os.path.basename(os.path.normpath(name))
    backups = list_backups(data_dir)
    for backup in backups:
        if backup.name == wanted and (wanted == name or _same(name, backup.path)):
            return backup
    shown = ", ".join(backup.name for backup in backups[:5]) or "none"
    raise InvalidInputError(
        os.path.join(data_dir, BACKUPS_DIR),
        f"no backup {name!r} (newest: {shown}); `cortex db restore` lists them",
    )


def restore_file(source: str, path: str, relative: str, busy_timeout: float, keep: BackupRun) -> None:
    """Replace the database at `path` with the backup file `source`, keeping the current one in `keep`."""
    check_backup(source, busy_timeout)
    _connect.make_parent_dir(path)
    copy = os.path.join(os.path.dirname(path), f"..{os.path.basename(path)}.restore-{os.getpid()}")
    try:
        with open(source, "rb") as reader, open(copy, "wb") as writer:
            shutil.copyfileobj(reader, writer)
            writer.flush()
            os.fsync(writer.fileno())
        if not os.path.lexists(path):
            os.replace(copy, path)
        else:
            conn, was_wal = _exclusive(path, busy_timeout)
            try:
                if conn.execute("SELECT 1 FROM sqlite_master LIMIT 1").fetchone() is not None:
                    keep.save(path, relative)
                os.replace(copy, path)
            except BaseException:
                # Not replaced: leave the database in WAL mode again, as it was.
                if was_wal:
                    with contextlib.suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                        conn.execute("PRAGMA journal_mode = WAL")
                raise
            finally:
                conn.close()  # rolls back the empty transaction: the lock ends after the replace
        _sync_directory(os.path.dirname(path))
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(copy)


def check_backup(source: str, busy_timeout: float) -> None:
    """`PRAGMA quick_check` of a backup file, opened immutable: reading it writes nothing beside it."""
    _connect.check_database_file(source)  # not an SQLite file: exit 2, naming it
    uri = "file:" + source.replace("%", "%25").replace("?", "%3f").replace("#", "%23") + "?mode=ro&immutable=1"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=busy_timeout)
        try:
            rows = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise _connect.as_cortexdb_error(error, source, busy_timeout) from None
    if rows != ["ok"]:
        raise CorruptDatabaseError(source, f"the backup fails PRAGMA quick_check ({rows[0]}); nothing restored")


def _exclusive(path: str, busy_timeout: float) -> tuple[sqlite3.Connection, bool]:
    """A connection holding `BEGIN IMMEDIATE` on `path`, which no other connection has open and
    which has no `-wal` any more (step 3 and 4 above); and whether it was in WAL mode."""
    conn = _connect.connect(path, busy_timeout)
    deadline = time.monotonic() + busy_timeout
    try:
        was_wal = _connect.journal_mode(conn) == "wal"
        while True:
            try:
                # Fails at once ("database is locked") while another connection has the file open.
                mode = str(conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]).lower()
            except sqlite3.OperationalError as error:
                if not _connect.is_busy(error):
                    raise
                mode = "busy"
            if mode == "delete":
                break
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    path,
                    f"the database is open in another process; gave up after {busy_timeout:g}s: stop the "
                    "application (restore replaces the file, which open connections would not see)",
                )
            time.sleep(0.02)
        _connect.begin_immediate(conn, path, busy_timeout)
    except sqlite3.Error as error:
        conn.close()
        raise _connect.as_cortexdb_error(error, path, busy_timeout) from None
    except BaseException:
        conn.close()
        raise
    return conn, was_wal


def _same(given: str, folder: str) -> bool:
    try:
        return os.path.samefile(given, folder)
    except OSError:
        return False


def _files(folder: str) -> tuple[str, ...]:
    found = []
    for directory, _, names in os.walk(folder):
        for name in names:
            if not name.endswith(("-wal", "-shm", "-journal")):
                found.append(os.path.relpath(os.path.join(directory, name), folder).replace(os.sep, "/"))
    return tuple(sorted(found))


def _sync_directory(directory: str) -> None:
    # The rename is durable only once its directory is (POSIX); not possible on Windows.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
