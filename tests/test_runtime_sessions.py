"""Per-session databases: created and migrated on first use, ids checked, migrated by `migrate`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from runtime_support import (
    expected_ledger,
    ledger_rows,
    live_schema,
    real_frozen,
    run_cli,
    snapshot,
    synthetic_frozen,
    write_frozen,
)

import cortexdb

FROZEN = real_frozen()


def test_open_session_creates_and_migrates_on_first_use(tmp_path: Path) -> None:
    conn = cortexdb.open_session(tmp_path, "sess-1")
    try:
        assert conn.execute("PRAGMA foreign_keys").fetchone() == (1,)
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "session_messages" in tables
    finally:
        conn.close()
    path = tmp_path / "sessions" / "sess-1.db"
    assert live_schema(path) == tuple(FROZEN.DATABASES["session"]["schema"])
    assert ledger_rows(path) == expected_ledger(FROZEN, "session")

    before = snapshot(tmp_path)
    cortexdb.open_session(tmp_path, "sess-1").close()  # second use: the fast path
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    "session_id",
    ["", "a/b", "a\\b", "..", "a..b", "../escape", "nul\x00byte", "x" * 129],
    ids=["empty", "slash", "backslash", "dotdot", "inner-dotdot", "escape", "nul", "too-long"],
)
def test_unsafe_session_ids_are_refused(tmp_path: Path, session_id: str) -> None:
    with pytest.raises(cortexdb.InvalidSessionIdError, match="invalid session id"):
        cortexdb.open_session(tmp_path, session_id)
    assert list(tmp_path.iterdir()) == []


def test_longest_allowed_session_id(tmp_path: Path) -> None:
    cortexdb.open_session(tmp_path, "x" * 128).close()
    assert (tmp_path / "sessions" / ("x" * 128 + ".db")).exists()


SESSION_V1 = (1, "session", "CREATE TABLE IF NOT EXISTS messages (id INTEGER PRIMARY KEY, body TEXT);")
SESSION_V2 = (2, "session", "ALTER TABLE messages ADD COLUMN IF NOT EXISTS tokens INTEGER;")
MAIN_V1 = (3, "main", "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT);")


def test_migrate_also_migrates_existing_session_databases(tmp_path: Path) -> None:
    v1 = synthetic_frozen([SESSION_V1, MAIN_V1])
    v2 = synthetic_frozen([SESSION_V1, SESSION_V2, MAIN_V1])
    ids = [f"s{n:02d}" for n in range(12)]
    for session_id in ids:
        cortexdb.open_session(tmp_path, session_id, frozen=v1).close()
    (tmp_path / "sessions" / "notes.txt").write_text("not a session database")
    frozen_file = write_frozen(v2, tmp_path.parent / f"{tmp_path.name}_frozen_v2.py")

    # -v: a line per session database (without it, one line counts them: test_cli_fleet.py)
    proc = run_cli("migrate", "-v", "--data-dir", str(tmp_path), frozen_file=frozen_file)

    assert proc.returncode == 0, proc.stderr
    for session_id in ids:
        path = tmp_path / "sessions" / f"{session_id}.db"
        assert [row[0] for row in ledger_rows(path)] == [1, 2]
        assert live_schema(path) == tuple(v2.DATABASES["session"]["schema"])
    assert "migrated 13/13 databases" in proc.stderr  # progress on stderr: main.db and 12 sessions
    assert proc.stdout.count("applied 002") == 12

    again = run_cli("migrate", "--data-dir", str(tmp_path), frozen_file=frozen_file)
    assert again.returncode == 0
    assert "12 session database(s) up to date" in again.stdout


def test_session_database_option(tmp_path: Path) -> None:
    v1 = synthetic_frozen([SESSION_V1, MAIN_V1])
    cortexdb.open_session(tmp_path, "one", frozen=v1).close()
    result = cortexdb.migrate(tmp_path, databases=["session"], frozen=v1)
    assert [(r.name, r.state) for r in result.databases] == [("session", "up to date")]
    assert not (tmp_path / "main.db").exists()


def test_connection_is_usable(tmp_path: Path) -> None:
    conn = cortexdb.open_session(tmp_path, "use")
    try:
        columns = [row[1] for row in conn.execute("PRAGMA table_info(session_messages)")]
        assert columns
    finally:
        conn.close()
    with pytest.raises(sqlite3.ProgrammingError):
        conn.execute("SELECT 1")
