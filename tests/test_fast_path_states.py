"""The up-to-date check gives SQLite's answer in every state a data dir can be in.

A property over generated states (a database reached through a symlink, a symlinked
directory or a hard link; a newer build that closed cleanly, or was killed with its WAL
left beside the file; the application's journal mode; another process holding the database
open): an older build says "up to date" exactly when SQLite's `PRAGMA user_version`, read
through the same path, holds that build's fingerprint; otherwise it refuses the newer database.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import ROOT, synthetic_frozen, write_frozen

import cortexdb
from cortexdb._contract import fingerprint

DATABASES = {"main": "main.db"}
OLD = synthetic_frozen([(1, "main", "CREATE TABLE IF NOT EXISTS a (x);")], DATABASES)
NEW = synthetic_frozen([(1, "main", "CREATE TABLE IF NOT EXISTS a (x);"),
                        (2, "main", "CREATE TABLE IF NOT EXISTS b (x);")], DATABASES)
OLD_FINGERPRINT = fingerprint(OLD.LEDGER, "main", [(e["version"], e["checksum"]) for e in OLD.MIGRATIONS])

# The newer build migrates the database through `path`; with "killed" it keeps another
# connection open (so nothing checkpoints the WAL at close) and is killed with SIGKILL.
NEWER = r"""
import importlib.util, os, signal, sqlite3, sys
path, frozen_file, end = sys.argv[1], sys.argv[2], sys.argv[3]
spec = importlib.util.spec_from_file_location("frozen_under_test", frozen_file)
frozen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(frozen)
import cortexdb
keep = sqlite3.connect(path)
keep.execute("SELECT count(*) FROM sqlite_master").fetchall()
cortexdb.migrate(os.path.dirname(path), frozen=frozen, backup=False)
if end == "killed":
    os.kill(os.getpid(), signal.SIGKILL)
keep.close()
"""
# Another process with the database open (a read transaction, or just a connection).
READER = r"""
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
if sys.argv[2] == "transaction":
    conn.execute("BEGIN")
conn.execute("SELECT count(*) FROM sqlite_master").fetchall()
print("ready", flush=True)
sys.stdin.readline()
"""


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT))


def _place(base: Path, layout: str) -> tuple[Path, Path]:
    """(the file, the path the data dir uses for it) for a layout of links."""
    real = base / "real"
    real.mkdir()
    cortexdb.migrate(real, frozen=OLD, backup=False)
    data = base / "data"
    if layout == "plain":
        return real / "main.db", real / "main.db"
    if layout == "symlinked directory":
        os.symlink(real, data)
        return real / "main.db", data / "main.db"
    data.mkdir()
    if layout == "symlink":
        os.symlink(real / "main.db", data / "main.db")
    else:
        os.link(real / "main.db", data / "main.db")
    return real / "main.db", data / "main.db"


@settings(max_examples=25, deadline=None)
@given(
    layout=st.sampled_from(["plain", "symlink", "symlinked directory", "hard link"]),
    newer=st.sampled_from(["none", "closed", "killed"]),
    through=st.sampled_from(["the file", "the data dir's path"]),
    mode=st.sampled_from(["wal", "delete", "truncate", "persist"]),
    reader=st.sampled_from(["none", "connection", "transaction"]),
)
def test_an_older_build_is_up_to_date_exactly_when_sqlite_says_so(layout: str, newer: str, through: str,
                                                                 mode: str, reader: str) -> None:
    base = Path(tempfile.mkdtemp())
    processes: list[subprocess.Popen[str]] = []
    try:
        file, path = _place(base, layout)
        writer_path = file if through == "the file" else path
        if newer != "none":
            frozen_file = write_frozen(NEW, base / "new.py")
            subprocess.run([sys.executable, "-c", NEWER, str(writer_path), str(frozen_file), newer],
                           env=_env(), timeout=60, check=False)
        if mode != "wal" and newer != "killed":
            conn = sqlite3.connect(path)  # the application prefers another journal mode
            conn.execute(f"PRAGMA journal_mode = {mode}")
            conn.close()
        if reader != "none":
            process = subprocess.Popen([sys.executable, "-c", READER, str(path), reader], stdin=subprocess.PIPE,
                                       stdout=subprocess.PIPE, text=True)
            processes.append(process)
            assert process.stdout is not None and process.stdout.readline() == "ready\n"

        try:
            result = cortexdb.migrate(path.parent, frozen=OLD, backup=False)
            ours = "up to date" if result.up_to_date else "changed"
        except cortexdb.DatabaseNewerError:
            ours = "newer"

        check = sqlite3.connect(path)
        stored = check.execute("PRAGMA user_version").fetchone()[0]
        check.close()
        sqlites = "up to date" if stored == OLD_FINGERPRINT else "newer"
        assert ours == sqlites, (layout, newer, through, mode, reader, stored)
    finally:
        for process in processes:
            process.kill()
            process.wait()
        shutil.rmtree(base)


@settings(max_examples=40, deadline=None)
@given(
    stored=st.one_of(st.just(OLD_FINGERPRINT), st.integers(-(2**31), 2**31 - 1),
                     st.sampled_from([OLD_FINGERPRINT - 1, OLD_FINGERPRINT + 1])),
    mode=st.sampled_from(["wal", "delete", "truncate", "persist"]),
    reader=st.booleans(),
)
def test_the_check_says_current_exactly_when_sqlite_reads_this_builds_fingerprint(stored: int, mode: str,
                                                                                    reader: bool) -> None:
    """Any value a database may hold, above or below this build's fingerprint, through the header
    (WAL, nobody has it open) or through SQLite (another journal mode, a reader open)."""
    from cortexdb._uptodate import file_is_current

    base = Path(tempfile.mkdtemp())
    try:
        path = base / "main.db"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(f"PRAGMA journal_mode = {mode}")
        conn.execute("CREATE TABLE t (x)")
        conn.execute(f"PRAGMA user_version = {stored}")
        other = sqlite3.connect(path) if reader else None
        if other is not None:
            other.execute("SELECT count(*) FROM t").fetchone()
        conn.close()
        check = sqlite3.connect(path)
        sqlites = check.execute("PRAGMA user_version").fetchone()[0] == OLD_FINGERPRINT
        check.close()
        assert file_is_current(str(path), OLD_FINGERPRINT, 1.0) == sqlites, (stored, mode, reader)
        if other is not None:
            other.close()
    finally:
        shutil.rmtree(base)
