"""`PRAGMA foreign_keys` in a migration: whether it turns foreign keys off is SQLite's reading of
its value, and the compiled flag (what the runtime does) and the lint's MG009 message (what the
user is told) both follow that one reading."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from project import generator, load_frozen, write_project

import cortexdb
from generator.analyze import analyze
from generator.compile import FOREIGN_KEYS_OFF, compile_statements
from generator.lint import lint_file

VALUES = ["OFF", "off", "0", "00", "-1", "no", "NO", "false", "'off'", '"0"', "'of'", "none", "0x1", "1", "2",
          "ON", "on", "yes", "true", "TRUE", "'1'", "full", "extra", "+1", "1.5"]


def sqlite_reads_off(statement: str) -> bool:
    """SQLite itself: run the statement on a connection with foreign keys on, outside a transaction."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    try:
        conn.execute(statement)
    except sqlite3.Error:
        return False
    return conn.execute("PRAGMA foreign_keys").fetchone() == (0,)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from(VALUES), min_size=1, max_size=3), st.booleans())
def test_the_flag_and_the_message_follow_sqlites_reading(values: list[str], parenthesised: bool) -> None:
    pragmas = [f"PRAGMA foreign_keys({v});" if parenthesised else f"PRAGMA foreign_keys = {v};" for v in values]
    text = "\n".join([*pragmas, "CREATE TABLE IF NOT EXISTS t (a);"]) + "\n"
    expected_off = any(sqlite_reads_off(pragma) for pragma in pragmas)

    compiled = compile_statements(analyze("m.sql", text))
    assert (FOREIGN_KEYS_OFF in compiled.flags) == expected_off
    infos = [d for d in lint_file("m.sql", text) if d.code == "MG009"]
    assert len(infos) == len(values)
    for finding in infos:
        assert ("runs with foreign keys off" in finding.message) == expected_off
        assert ("runs with them on" in finding.message) == (not expected_off)


CHILD_ROWS = {
    "001_family.sql": (
        "CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY, name TEXT);\n"
        "CREATE TABLE IF NOT EXISTS child (id INTEGER PRIMARY KEY,"
        " parent_id INTEGER REFERENCES parent (id) ON DELETE CASCADE);\n"
        "INSERT OR IGNORE INTO parent (id, name) VALUES (1, 'a');\n"
        "INSERT OR IGNORE INTO child (id, parent_id) VALUES (1, 1);\n"),
    "002_rebuild_parent.sql": (
        "PRAGMA foreign_keys = 00;\n"  # SQLite reads 00 as 0: off (a list of spellings did not)
        "CREATE TABLE IF NOT EXISTS parent_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '');\n"
        "INSERT OR IGNORE INTO parent_new (id, name) SELECT id, coalesce(name, '') FROM parent;\n"
        "DROP TABLE IF EXISTS parent;\n"
        "ALTER TABLE parent_new RENAME TO parent;\n"
        "PRAGMA foreign_keys = ON;\n"),
}


def test_a_table_rebuild_with_foreign_keys_off_as_sqlite_reads_it_keeps_child_rows(tmp_path: Path) -> None:
    """Run with foreign keys on, the rebuild's DROP TABLE would cascade-delete every child row."""
    reason = "table rebuild inside this migration's transaction"
    project = write_project(tmp_path / "p", CHILD_ROWS,
                            allow={"002_rebuild_parent.sql": {"MG007": reason, "MG010": reason}})
    proc = generator(project, "build")
    assert proc.returncode == 0, proc.stderr
    assert "runs with foreign keys off" in proc.stderr
    frozen = load_frozen(project / "cortexdb" / "_frozen.py")
    assert [m["flags"] for m in frozen.MIGRATIONS] == [(), (FOREIGN_KEYS_OFF,)]

    cortexdb.migrate(tmp_path / "data", frozen=frozen, backup=False)
    conn = sqlite3.connect(tmp_path / "data" / "main.db")
    assert conn.execute("SELECT id, parent_id FROM child").fetchall() == [(1, 1)]
    assert conn.execute("SELECT id, name FROM parent").fetchall() == [(1, "a")]
