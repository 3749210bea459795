"""One bad session database never blocks the fleet: it is reported and skipped, every other
session database is migrated, and the run exits 1 listing the failures at the end. A shared
database still fails the run at once: the application cannot start without it."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import ledger_rows, run_cli, synthetic_frozen, write_frozen

import cortexdb

DATABASES = {"main": "main.db", "session": "sessions/{session_id}.db"}
V1 = [(1, "main", "CREATE TABLE IF NOT EXISTS a (x);"), (2, "session", "CREATE TABLE IF NOT EXISTS s (y);")]
V2 = [*V1, (3, "session", "CREATE INDEX IF NOT EXISTS s_y ON s (y);")]
OLD, NEW = synthetic_frozen(V1, DATABASES), synthetic_frozen(V2, DATABASES)
SESSIONS = 1000

# Holds a session database's write lock until told to stop.
LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
"""


def _break(data: Path) -> dict[str, str]:
    """A few broken session databases: {file name: what the failure must say}."""
    sessions = data / "sessions"
    (sessions / "s0100.db").write_bytes(b"not a database at all" * 300)
    corrupt = sessions / "s0200.db"
    raw = bytearray(corrupt.read_bytes())
    raw[4096:8192] = b"\xff" * 4096  # the page holding table s
    corrupt.write_bytes(bytes(raw))
    conn = sqlite3.connect(sessions / "s0300.db")  # the new index's column is gone
    conn.executescript("DROP TABLE s; CREATE TABLE s (z);")
    conn.close()
    return {"s0100.db": "not an SQLite database", "s0200.db": "corrupt", "s0300.db": "no such column",
            "s0400.db": "locked"}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("fleet") / "data"
    cortexdb.migrate(data, frozen=OLD)
    for number in range(SESSIONS):
        cortexdb.open_session(data, f"s{number:04d}", frozen=OLD).close()
    return data


def test_broken_session_databases_are_reported_and_the_rest_migrated(fleet: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(fleet, data)
    broken = _break(data)
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(data / "sessions" / "s0400.db")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout is not None and locker.stdout.readline() == "locked\n"
        result = cortexdb.migrate(data, frozen=NEW, busy_timeout=0.5, backup=False)
    finally:
        locker.kill()
        locker.wait()
    failed = {Path(r.path).name: str(r.error) for r in result.failures}
    assert sorted(failed) == sorted(broken)
    for name, words in broken.items():
        assert words in failed[name] and failed[name].startswith(str(data / "sessions" / name)), failed[name]
    migrated = [r for r in result.databases if r.session and r.state == "migrated"]
    assert len(migrated) == SESSIONS - len(broken)
    for number in (0, 101, 999):  # before, between and after the broken ones
        assert [row[0] for row in ledger_rows(data / "sessions" / f"s{number:04d}.db")] == [2, 3]
    assert [row[0] for row in ledger_rows(data / "sessions" / "s0300.db")] == [2]  # rolled back


def test_the_cli_lists_the_failures_at_the_end_and_exits_1(fleet: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(fleet, data)
    (data / "sessions" / "s0100.db").write_bytes(b"not a database at all" * 300)
    frozen_file = write_frozen(NEW, tmp_path / "new.py")

    proc = run_cli("migrate", "--data-dir", str(data), "--no-backup", frozen_file=frozen_file, timeout=300)

    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert lines[-2] == (f"cortex db migrate: {data / 'sessions' / 's0100.db'}: is not an SQLite database "
                         "(its header is not SQLite's)")
    assert lines[-1] == (f"cortex db migrate: 1 session database(s) not migrated (listed above); "
                         f"the other {SESSIONS - 1} are up to date")
    assert "applied 999 migration(s)" in proc.stdout


def test_a_broken_shared_database_still_stops_the_run(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, frozen=OLD)
    cortexdb.open_session(tmp_path, "s1", frozen=OLD).close()
    (tmp_path / "main.db").write_bytes(b"garbage" * 1000)
    with pytest.raises(cortexdb.NotADatabaseError):
        cortexdb.migrate(tmp_path, frozen=NEW)
