"""MG203: the proof on data counts the rows of every table a migration writes, and a table
that holds fewer after it, with no DELETE of it in the migration, lost rows without an error.

The guard MG006 asks for (`INSERT OR IGNORE`) is what makes this easy to write: in a table
rebuild it skips every row the new table refuses, and SQLite says nothing.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from project import generator, write_project

BASE = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL);\n"
REBUILD = (
    "CREATE TABLE IF NOT EXISTS items_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL, qty INTEGER NOT NULL{check});\n"
    "INSERT {conflict}INTO items_new (id, name, qty) SELECT id, name, qty FROM items;\n"
    "DROP TABLE IF EXISTS items;\n"
    "ALTER TABLE items_new RENAME TO items;\n"
)
ALLOW = {"MG007": "rebuild: atomic in its transaction", "MG010": "rows copied into items_new first"}


def build(tmp_path: Path, *later: str, allow: dict[str, str] | None = None) -> tuple[int, list[str]]:
    files = {"001_base.sql": BASE, **{f"{n:03d}_next.sql": sql for n, sql in enumerate(later, start=2)}}
    allowed = {f: {**ALLOW, **(allow or {})} for f in files if f != "001_base.sql"}
    project = write_project(tmp_path, files, allow=allowed)
    proc = generator(project, "build")
    assert "Traceback" not in proc.stderr
    return proc.returncode, [line for line in proc.stderr.splitlines() if " MG203 " in line]


def loses_rows(migration: str) -> bool:
    """SQLite's own answer: rows that the base table accepts, then the migration; fewer rows?"""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(BASE)
    conn.executemany("INSERT INTO items (name, qty) VALUES (?, ?)", [("a", -5), ("bb", 0), ("ccc", 7)])
    conn.executescript(migration)
    return int(conn.execute("SELECT count(*) FROM items").fetchone()[0]) < 3


def test_an_or_ignore_copy_into_a_stricter_table_is_rows_lost_at_the_copy(tmp_path: Path) -> None:
    migration = REBUILD.format(check=" CHECK (qty > 1000000)", conflict="OR IGNORE ")
    assert loses_rows(migration)  # what SQLite does: no error, rows gone
    code, found = build(tmp_path, migration)
    assert code == 1
    (finding,) = found
    assert finding.startswith("migrations/002_next.sql:2:1: MG203 table items held ")
    assert "with no DELETE: rows are lost without an error" in finding
    assert not (tmp_path / "cortexdb" / "_frozen.py").exists()


def test_an_or_replace_copy_that_merges_rows_on_a_new_unique_key_is_rows_lost(tmp_path: Path) -> None:
    migration = REBUILD.format(check=", UNIQUE (qty)", conflict="OR REPLACE ")
    code, found = build(tmp_path, migration, allow={"MG202": "qty is unique in practice"})
    assert code == 1
    assert [f.split(" MG203 ")[0] for f in found] == ["migrations/002_next.sql:2:1:"]


def test_a_copy_that_keeps_every_row_is_no_finding(tmp_path: Path) -> None:
    migration = REBUILD.format(check=" CHECK (length(name) < 1000)", conflict="OR IGNORE ")
    assert not loses_rows(migration)
    assert build(tmp_path, migration) == (0, [])


def test_rows_a_delete_removes_are_no_finding(tmp_path: Path) -> None:
    code, found = build(tmp_path, "DELETE FROM items WHERE qty >= 0;\n",
                        "WITH gone AS (SELECT id FROM items) DELETE FROM \"ITEMS\" WHERE id IN gone;\n")
    assert (code, found) == (0, [])


def test_rows_lost_can_be_allowed_with_a_reason(tmp_path: Path) -> None:
    migration = REBUILD.format(check=" CHECK (qty > 1000000)", conflict="OR IGNORE ")
    assert build(tmp_path, migration, allow={"MG203": "the shop's items are all re-imported"}) == (0, [])
    noqa = migration.replace(" FROM items;\n", " FROM items; -- noqa: MG203 re-imported after\n")
    assert build(tmp_path / "noqa", noqa) == (0, [])


def test_a_rebuild_of_a_parent_with_foreign_keys_on_cascades_to_child_rows(tmp_path: Path) -> None:
    child = ("CREATE TABLE IF NOT EXISTS parts (id INTEGER PRIMARY KEY, "
             "item INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE);\n")
    migration = REBUILD.format(check="", conflict="OR IGNORE ")
    code, found = build(tmp_path, child, migration)
    assert code == 1
    (finding,) = found
    assert " MG203 table parts held " in finding and finding.startswith("migrations/003_next.sql:")
    # The documented way: the runtime runs it with foreign keys off, and nothing cascades.
    assert build(tmp_path / "off", child, "PRAGMA foreign_keys=OFF;\n" + migration) == (0, [])
