"""The up-to-date check: what every start of the application pays, for each database.

A database is up to date when the fingerprint it holds (`PRAGMA user_version`, written in the
same transaction as each ledger row) equals the fingerprint of this build's migrations (in the
build's index). For a file that is one read of its 100-byte header, or one `PRAGMA
user_version`: no schema parse, no lock, no write. (`Target.is_current` calls this for a file;
for a database on a server it is one request, `remote.backend`, imported only then.) Any doubt
means False: the slow path decides.

Imports only `os` and `stat`: `sqlite3` (about 2 ms) is loaded only where a header cannot
answer, so an up-to-date `cortex db migrate` process never loads SQLite at all.
"""

from __future__ import annotations

import os
import stat

_SQLITE_HEADER = b"SQLite format 3\x00"


def file_is_current(path: str, expected: int, busy_timeout: float) -> bool:
    """The check for a file: its header when no connection has it open, else `PRAGMA user_version`."""
    # One lstat answers both questions: is it a file, and is it a symlink? SQLite names the WAL
    # after the file a link points to, so `<link>-wal` says nothing: a link is asked of SQLite.
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    if stat.S_ISLNK(mode):
        if not os.path.isfile(path):
            return False
        header = None
    elif not stat.S_ISREG(mode):
        return False
    else:
        header = _quiet_wal_header(path)
    if header is not None:
        return int.from_bytes(header[60:64], "big") == expected
    import sqlite3  # only here: when every header answers, the process never loads SQLite

    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            return bool(conn.execute("PRAGMA user_version").fetchone()[0] == expected)
        finally:
            conn.close()
    except sqlite3.Error:
        return False  # the slow path reports it properly


def _quiet_wal_header(path: str) -> bytes | None:
    """The 100-byte header of a WAL database that no connection has open, else None.

    In WAL mode the newest page 1 may live in the `-wal` file, so the file's own header can be
    stale. But the last connection to close checkpoints everything into the file before it
    deletes `-wal`, and later writers change the file only by checkpointing committed pages:
    with no `-wal` present, the header holds a committed `user_version`, as a snapshot read
    would. That is the state at every application start, and it spares SQLite creating and
    deleting `-wal`/`-shm` (4/5 of the cost of `PRAGMA user_version`). Rollback-journal
    databases (header bytes 18-19 not 2) write pages in place before commit: never read raw.
    """
    if os.path.exists(path + "-wal"):
        return None
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            header = os.read(fd, 100)
        finally:
            os.close(fd)
    except OSError:
        return None
    wal_mode = header[18:20] == b"\x02\x02"  # file format read/write versions 2 = WAL
    if len(header) < 100 or not header.startswith(_SQLITE_HEADER) or not wal_mode:
        return None
    return header
