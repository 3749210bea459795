"""A new database never comes up holding what a deleted one left beside it (its -wal, a hot
-journal): SQLite would replay those over the new file. They are moved aside, and named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import live_schema, synthetic_frozen

import cortexdb

FROZEN = synthetic_frozen([(1, "main", "CREATE TABLE IF NOT EXISTS a (x INTEGER);"),
                           (2, "session", "CREATE TABLE IF NOT EXISTS s (y INTEGER);")])

# A child writes an old database and is killed with its companion on disk: in WAL mode with
# frames not yet checkpointed, or in rollback mode in the middle of a transaction (a hot journal).
WRITER = """
import sqlite3, sys
path, mode = sys.argv[1], sys.argv[2]
conn = sqlite3.connect(path, isolation_level=None)
conn.execute("PRAGMA journal_mode=" + ("WAL" if mode == "-wal" else "DELETE"))
conn.execute("CREATE TABLE old_secret (s)")
conn.execute("INSERT INTO old_secret VALUES ('old data')")
if mode == "-wal":
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("INSERT INTO old_secret VALUES ('in the wal')")
else:
    conn.execute("PRAGMA cache_size=1")  # spill: the journal and the file are written mid-transaction
    conn.execute("BEGIN")
    conn.execute("INSERT INTO old_secret SELECT randomblob(5000) FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3)")
    conn.execute("DELETE FROM old_secret WHERE s = 'old data'")
print("ready", flush=True)
sys.stdin.readline()
"""


def _leave_companion(path: Path, suffix: str) -> None:
    """An old database at `path`, its writer killed, then the file deleted: the companion stays."""
    path.parent.mkdir(parents=True, exist_ok=True)
    child = subprocess.Popen([sys.executable, "-c", WRITER, str(path), suffix], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None and child.stdout.readline() == "ready\n"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert (path.parent / (path.name + suffix)).stat().st_size > 0
    path.unlink()


@pytest.mark.parametrize("suffix", ["-wal", "-journal"])
def test_migrate_moves_leftovers_aside_and_creates_the_database_whole(tmp_path: Path, suffix: str,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "main.db"
    _leave_companion(path, suffix)

    result = cortexdb.migrate(tmp_path, frozen=FROZEN, databases=["main"])

    assert [r.versions for r in result.databases] == [(1,)]
    assert live_schema(path) == tuple(FROZEN.DATABASES["main"]["schema"])
    assert not (tmp_path / ("main.db" + suffix)).exists()
    moved = sorted(p.name for p in tmp_path.iterdir() if ".orphaned-" in p.name)
    assert moved and all(name.startswith("main.db-") for name in moved)
    assert any(name.startswith("main.db" + suffix + ".orphaned-") for name in moved)
    assert any(m in caplog.text for m in moved)  # each one named in the warning


def test_open_session_moves_leftovers_aside(tmp_path: Path) -> None:
    path = tmp_path / "sessions" / "s1.db"
    _leave_companion(path, "-wal")

    conn = cortexdb.open_session(tmp_path, "s1", frozen=FROZEN)
    try:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert "old_secret" not in names and "s" in names
