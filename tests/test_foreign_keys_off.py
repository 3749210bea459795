"""A foreign-keys-off migration is refused only for violations it introduces. Orphan rows that
were there before (an application that never enabled foreign keys) are named in a warning and
do not block it, or every later table rebuild would be refused forever."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from runtime_support import ledger_rows, synthetic_frozen

import cortexdb

SCHEMA = """
CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);
CREATE TABLE IF NOT EXISTS child (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id));
CREATE TABLE IF NOT EXISTS other (id INTEGER PRIMARY KEY, v TEXT);
"""
REBUILD_OTHER = """
PRAGMA foreign_keys=OFF;
CREATE TABLE IF NOT EXISTS other_new (id INTEGER PRIMARY KEY, v TEXT, w TEXT);
INSERT OR IGNORE INTO other_new (id, v) SELECT id, v FROM other;
DROP TABLE IF EXISTS other;
ALTER TABLE other_new RENAME TO other;
"""
REBUILD_CHILD = """
PRAGMA foreign_keys=OFF;
CREATE TABLE IF NOT EXISTS child_new (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent(id), note TEXT);
INSERT OR IGNORE INTO child_new (id, parent_id) SELECT id, parent_id FROM child;
DROP TABLE IF EXISTS child;
ALTER TABLE child_new RENAME TO child;
"""
DROP_A_PARENT = """
PRAGMA foreign_keys=OFF;
DELETE FROM parent WHERE id = 2;
"""
MIGRATIONS = [(1, "main", SCHEMA), (2, "main", REBUILD_OTHER), (3, "main", REBUILD_CHILD), (4, "main", DROP_A_PARENT)]


def _with_an_orphan(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, frozen=synthetic_frozen(MIGRATIONS[:1]))
    conn = sqlite3.connect(tmp_path / "main.db")  # foreign keys off, as sqlite3's default
    conn.executescript("INSERT INTO parent VALUES (1), (2); INSERT INTO child VALUES (10, 1), (20, 2), (30, 99);"
                       "INSERT INTO other VALUES (1, 'x');")
    conn.close()


def test_orphans_from_before_are_a_warning_naming_the_rows(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _with_an_orphan(tmp_path)
    with caplog.at_level(logging.WARNING, logger="cortexdb"):
        result = cortexdb.migrate(tmp_path, frozen=synthetic_frozen(MIGRATIONS[:3]))
    assert [r.versions for r in result.databases] == [(2, 3)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("child rowid 30 (-> parent)" in w and "not blocking" in w for w in warnings)
    conn = sqlite3.connect(tmp_path / "main.db")
    assert conn.execute("SELECT id, parent_id FROM child ORDER BY id").fetchall() == [(10, 1), (20, 2), (30, 99)]
    conn.close()


def test_a_violation_the_migration_introduces_is_refused(tmp_path: Path) -> None:
    _with_an_orphan(tmp_path)
    cortexdb.migrate(tmp_path, frozen=synthetic_frozen(MIGRATIONS[:3]))
    with pytest.raises(cortexdb.ForeignKeyViolationError, match=r"1 new row.*table child references parent"):
        cortexdb.migrate(tmp_path, frozen=synthetic_frozen(MIGRATIONS))
    assert [row[0] for row in ledger_rows(tmp_path / "main.db")] == [1, 2, 3]
    conn = sqlite3.connect(tmp_path / "main.db")
    assert conn.execute("SELECT id FROM parent ORDER BY id").fetchall() == [(1,), (2,)]  # rolled back
    conn.close()
