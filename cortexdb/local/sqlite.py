"""Opening a database for migration, and turning SQLite's errors into ours (naming the file)."""

from __future__ import annotations

import os
import sqlite3
import stat
import time
from collections.abc import Sequence

from .._errors import (
    CorruptDatabaseError,
    CortexDBError,
    DataDirError,
    LockTimeoutError,
    NotADatabaseError,
)

SQLITE_HEADER = b"SQLite format 3\x00"

# Primary result codes (https://sqlite.org/rescode.html).
_PERM, _BUSY, _LOCKED, _READONLY, _CORRUPT, _CANTOPEN, _NOTADB = 3, 5, 6, 8, 11, 14, 26
# Python < 3.11 has no `sqlite_errorcode`: classify by SQLite's fixed error strings instead.
_CODE_BY_TEXT = (
    ("file is not a database", _NOTADB),
    ("malformed", _CORRUPT),
    ("database is locked", _BUSY),
    ("unable to open", _CANTOPEN),
    ("readonly", _READONLY),
)


def error_code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    text = str(error).lower()
    return next((code for fragment, code in _CODE_BY_TEXT if fragment in text), None)


def is_busy(error: sqlite3.Error) -> bool:
    return error_code(error) in (_BUSY, _LOCKED)


def is_damaged(error: sqlite3.Error) -> bool:
    """The file, not the statement, is at fault: corrupt or not a database."""
    return error_code(error) in (_CORRUPT, _NOTADB)


def as_cortexdb_error(error: sqlite3.Error, path: str, busy_timeout: float) -> CortexDBError:
    """Our exception for an SQLite error raised while working on the database at `path`."""
    code = error_code(error)
    if code == _NOTADB:
        return NotADatabaseError(path, "is not an SQLite database (file is not a database)")
    if code == _CORRUPT:
        return CorruptDatabaseError(
            path, f"the database is corrupt ({error}); nothing was applied: restore it from a backup"
        )
    if code in (_BUSY, _LOCKED):
        return LockTimeoutError(
            path,
            f"the database is locked by another connection; gave up after {busy_timeout:g}s "
            "(raise --busy-timeout or stop the other writer)",
        )
    if code in (_CANTOPEN, _READONLY, _PERM):
        return DataDirError(path, f"cannot open the database for writing ({error})")
    return CortexDBError(path, f"SQLite error: {error}")


def check_database_file(path: str) -> bool:
    """True when `path` holds an SQLite database, False when absent or empty; else an error."""
    try:
        with open(path, "rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return False
    except IsADirectoryError:
        raise DataDirError(path, "is a directory, not a database file") from None
    except NotADirectoryError as error:
        raise unusable_directory(os.path.dirname(path), error, "cannot read the database file") from None
    except OSError as error:
        raise DataDirError(path, f"cannot read the database file ({error.strerror})") from None
    if not head:
        return False
    if head != SQLITE_HEADER:
        raise NotADatabaseError(path, "is not an SQLite database (its header is not SQLite's)")
    return True


def database_file_exists(path: str) -> bool:
    """`check_database_file` without opening the file: the one open is SQLite's, which reads the
    same 16-byte header (`verify` of a fleet opens each file once). A file shorter than the header
    cannot be one; SQLite says "file is not a database" of any other that is not."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return False
    except NotADirectoryError as error:
        raise unusable_directory(os.path.dirname(path), error, "cannot read the database file") from None
    except OSError as error:
        raise DataDirError(path, f"cannot read the database file ({error.strerror})") from None
    if stat.S_ISDIR(info.st_mode):
        raise DataDirError(path, "is a directory, not a database file")
    if 0 < info.st_size < len(SQLITE_HEADER):
        raise NotADatabaseError(path, "is not an SQLite database (its header is not SQLite's)")
    return info.st_size > 0


def quick_check(conn: sqlite3.Connection) -> tuple[str, ...]:
    """`PRAGMA quick_check`: ("ok",) or one problem per item, each one line. SQLite starts the
    first problem with "*** in database main ***" and a newline, which would split a message."""
    lines = [line for row in conn.execute("PRAGMA quick_check").fetchall() for line in str(row[0]).splitlines()]
    return tuple(line for line in lines if line.strip() and not line.startswith("*** in database "))


def quick_check_problem(rows: Sequence[str]) -> str | None:
    """One line saying what `quick_check` found, or None when it found nothing."""
    problems = [row for row in rows if row != "ok"]
    if not problems:
        return None
    more = len(problems) - 1
    return problems[0] + (f" and {more} more problem(s)" if more else "")


def make_parent_dir(path: str) -> None:
    directory = os.path.dirname(path)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as error:
        raise unusable_directory(directory, error) from None


def unusable_directory(directory: str, error: OSError, failed: str = "cannot create the directory") -> DataDirError:
    """Why `directory` cannot be made or read. A file where a directory should be is named:
    the OS says only "File exists" or "Not a directory"."""
    probe = directory
    while not os.path.isdir(probe):
        if os.path.lexists(probe):
            if probe == directory:
                return DataDirError(directory, "is a file, not a directory")
            return DataDirError(directory, f"{failed}: {probe} is a file, not a directory")
        parent = os.path.dirname(probe)
        if parent == probe:
            break
        probe = parent
    return DataDirError(directory, f"{failed} ({error.strerror})")


def connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A connection that owns its transactions (`isolation_level=None`), foreign keys on."""
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
    except sqlite3.Error as error:
        raise as_cortexdb_error(error, path, busy_timeout) from None
    try:
        conn.execute("PRAGMA foreign_keys = ON")
    except sqlite3.Error as error:
        conn.close()
        raise as_cortexdb_error(error, path, busy_timeout) from None
    return conn


def connect_read_only(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A connection for reading only, that also works on read-only media and data dirs.

    Where the file can be opened for writing it is, with `query_only` on: nothing this
    connection runs can write, and closing it still tidies the WAL as any last connection
    does (a `mode=ro` one would leave `-wal` and `-shm` behind). Elsewhere `mode=ro`, and
    `immutable` for a cleanly closed WAL database whose `-wal`/`-shm` cannot be made there:
    with no `-wal` there is nothing to read but the file, and nobody can be writing it.
    """
    # An SQLite URI: `%`, `?` and `#` in the path must be percent-encoded.
    uri = "file:" + path.replace("%", "%25").replace("?", "%3f").replace("#", "%23")
    try:
        for mode in ("?mode=rw", "?mode=ro", "?mode=ro&immutable=1"):
            conn = sqlite3.connect(uri + mode, timeout=busy_timeout, isolation_level=None, uri=True)
            try:
                conn.execute("PRAGMA query_only = ON")
                conn.execute("PRAGMA schema_version").fetchone()  # opens the WAL index, if any
                return conn
            except sqlite3.OperationalError as error:
                conn.close()
                retry = error_code(error) in (_CANTOPEN, _READONLY, _PERM)
                if not retry or (mode == "?mode=ro" and os.path.lexists(path + "-wal")):
                    raise
        raise AssertionError("unreachable: immutable opens a file that mode=ro could not")
    except sqlite3.Error as error:
        raise as_cortexdb_error(error, path, busy_timeout) from None


def journal_mode(conn: sqlite3.Connection) -> str:
    return str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower()


def enable_wal(conn: sqlite3.Connection, path: str, busy_timeout: float) -> None:
    """Switch to WAL, retrying while other processes hold the locks the switch needs.

    The switch can report "database is locked" at once rather than through the busy
    handler when many processes open a new database together, so retry until the timeout.
    """
    deadline = time.monotonic() + busy_timeout
    delay = 0.001
    while True:
        try:
            mode = str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]).lower()
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() >= deadline:
                raise as_cortexdb_error(error, path, busy_timeout) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.05)
            continue
        if mode != "wal":
            raise CortexDBError(path, f"cannot use WAL mode (journal mode stays {mode!r})")
        return


def begin_immediate(conn: sqlite3.Connection, path: str, busy_timeout: float) -> None:
    """Take the write lock now (waiting up to the busy timeout), not at the first write."""
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        raise as_cortexdb_error(error, path, busy_timeout) from None
