"""Names are compared by SQLite's own rule, by SQLite: ASCII letters fold (`Users` is
`users`), nothing else does (`É` is not `é`). The ADD COLUMN guard and the ledger lookup ask
SQLite, so they agree with what SQLite itself would do without the guard."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import synthetic_frozen

import cortexdb
from cortexdb._contract import execute_steps

LETTERS = st.text(alphabet="aAbBéÉßẞıIİiσΣς_", min_size=1, max_size=4)  # noqa: RUF001 (letters that fold in Unicode)


@settings(max_examples=200, deadline=None)
@given(LETTERS, LETTERS)
def test_the_add_column_guard_agrees_with_sqlite(existing: str, added: str) -> None:
    """Guarded: the column is added exactly when SQLite accepts the unguarded statement."""
    quoted = '"' + added.replace('"', '""') + '"'
    statement = f"ALTER TABLE t ADD COLUMN {quoted} TEXT"
    judge = sqlite3.connect(":memory:")
    judge.execute(f'CREATE TABLE t ("{existing}" TEXT)')
    try:
        judge.execute(statement)
        sqlite_adds = True
    except sqlite3.OperationalError as error:
        assert "duplicate column" in str(error)
        sqlite_adds = False
    guarded = sqlite3.connect(":memory:")
    guarded.execute(f'CREATE TABLE t ("{existing}" TEXT)')
    execute_steps(guarded, [("add_column", 1, statement, "t", added)])
    columns = [row[1] for row in guarded.execute("PRAGMA table_info(t)")]
    assert columns == [row[1] for row in judge.execute("PRAGMA table_info(t)")]
    assert len(columns) == (2 if sqlite_adds else 1)


@pytest.mark.parametrize("spelling", ["SCHEMA_MIGRATIONS", "Schema_Migrations"])
def test_a_ledger_table_named_in_another_case_is_the_ledger(tmp_path: Path, spelling: str) -> None:
    """SQLite finds `Schema_Migrations` as `schema_migrations`: its rows are the ledger, never
    a reason to apply everything again."""
    frozen = synthetic_frozen([(1, "main", "CREATE TABLE IF NOT EXISTS a (x);"),
                               (2, "main", "CREATE TABLE IF NOT EXISTS b (x);")], {"main": "main.db"})
    conn = sqlite3.connect(tmp_path / "main.db")
    conn.execute(f"CREATE TABLE {spelling} (version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
                 "applied_at TEXT NOT NULL DEFAULT (datetime('now')), checksum TEXT NOT NULL)")
    conn.execute("CREATE TABLE a (x)")
    conn.execute(f"INSERT INTO {spelling} (version, description, checksum) VALUES (1, 'm1', ?)",
                 (frozen.MIGRATIONS[0]["checksum"],))
    conn.commit()
    conn.close()

    result = cortexdb.migrate(tmp_path, frozen=frozen)

    assert [r.versions for r in result.databases] == [(2,)]
    conn = sqlite3.connect(tmp_path / "main.db")
    assert conn.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall() == [(1,), (2,)]
    assert [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == [
        spelling, "a", "b"]  # one ledger, under the name it had
    conn.close()
    assert cortexdb.verify(tmp_path, frozen=frozen).ok  # the ledger is not reported as an extra table
