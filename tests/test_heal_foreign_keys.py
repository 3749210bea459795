"""Healing never leaves a row without its parent: a completion that would add a foreign-key
violation (a rebuild adding a REFERENCES over rows the application wrote without one) is
refused, nothing changed, as a clean run of the same migration refuses it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from legacy import Crash, build_crashed_data_dir, databases_of, migrations_of
from project import generator, load_frozen, write_project

import cortexdb

FILES = {
    "001_base.sql": "CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);\n"
                    "CREATE TABLE IF NOT EXISTS child (id INTEGER PRIMARY KEY, pid INTEGER);\n",
    "002_child_references_parent.sql":
        "PRAGMA foreign_keys=OFF;\n"
        "CREATE TABLE IF NOT EXISTS child_new (id INTEGER PRIMARY KEY, pid INTEGER REFERENCES parent(id));\n"
        "INSERT OR IGNORE INTO child_new (id, pid) SELECT id, pid FROM child;\n"
        "DROP TABLE IF EXISTS child;\n"
        "ALTER TABLE child_new RENAME TO child;\n"
        "PRAGMA foreign_keys=ON;\n",
}
ALLOW = {"002_child_references_parent.sql": {"MG007": "table rebuild: the rename is atomic in its transaction",
                                             "MG010": "table rebuild: child comes back from child_new",
                                             "MG201": "every child row has its parent in this application"}}


def _state(path: Path) -> tuple[list[object], list[object], list[object]]:
    conn = sqlite3.connect(path)
    try:
        return (conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall(),
                conn.execute("SELECT * FROM child ORDER BY id").fetchall(),
                conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall())
    finally:
        conn.close()


@pytest.mark.parametrize("after", [2, 3])  # crashed after CREATE child_new, or after the copy
def test_a_heal_that_would_orphan_rows_is_refused_and_changes_nothing(tmp_path: Path, after: int) -> None:
    project = write_project(tmp_path / "p", FILES, allow=ALLOW, original_runner_through=2)
    build = generator(project, "build")
    assert build.returncode == 0, build.stdout + build.stderr
    frozen = load_frozen(project / "cortexdb" / "_frozen.py")
    data = tmp_path / "data"

    def orphan(conns: dict[str, sqlite3.Connection]) -> None:
        conns["main"].execute("INSERT INTO child (id, pid) VALUES (1, 99)")  # no parent 99

    build_crashed_data_dir(data, databases_of(frozen), migrations_of(frozen, project / "migrations"),
                           Crash(2, after), restarts=0, seed=orphan)
    before = _state(data / "main.db")
    assert ("table", "child_new") in [(kind, name) for kind, name, _ in before[0]]  # the crash's trace

    with pytest.raises(cortexdb.MigrationFailedError,
                       match="cannot heal this database: healing would leave rows of table child without "
                             "their parent row; run `cortex db repair`"):
        cortexdb.migrate(data, frozen=frozen, backup=False)
    assert _state(data / "main.db") == before
