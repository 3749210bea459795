"""What passes the proof on data applies through the real runtime to a database holding rows."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

from fuzz_support import fuzz
from hypothesis import strategies as st
from project import load_frozen, write_project

import cortexdb
from cortexdb._contract import read_schema
from generator.build import generate
from generator.outputs import write_outputs
from generator.populate import Populator
from generator.project import read_project
from generator.tables import TableIndex, describe

BASE = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER DEFAULT 0);\n"
TYPES = ["TEXT", "INTEGER", "REAL"]
MODIFIERS = ["", " NOT NULL", " DEFAULT 0", " NOT NULL DEFAULT 'x'", " DEFAULT CURRENT_TIMESTAMP",
             " DEFAULT 1 CHECK ({c} > 0)", " REFERENCES t(id)", " NOT NULL DEFAULT 2 CHECK ({c} <> 2)"]


@st.composite
def statements(draw: st.DrawFn, number: int) -> str:
    column = f"c{number}"
    kind = draw(st.sampled_from(["add", "index", "seed", "update"]))
    if kind == "add":
        modifier = draw(st.sampled_from(MODIFIERS)).format(c=column)
        return f"ALTER TABLE t ADD COLUMN IF NOT EXISTS {column} {draw(st.sampled_from(TYPES))}{modifier};\n"
    if kind == "index":
        unique = draw(st.sampled_from(["", "UNIQUE "]))
        columns = draw(st.sampled_from(["name", "n", "id, name", "name, n"]))
        where = draw(st.sampled_from(["", " WHERE n > 5"]))
        return f"CREATE {unique}INDEX IF NOT EXISTS i{number} ON t ({columns}){where};\n"
    if kind == "seed":
        return f"INSERT OR IGNORE INTO t (id, name) VALUES ({number}, 'seed');\n"
    return "UPDATE t SET n = 3 WHERE n IS NULL;\n"


migration_lists = st.integers(min_value=1, max_value=4).flatmap(
    lambda count: st.tuples(*(statements(n) for n in range(2, count + 2))))


def _built(root: Path, sqls: list[str]) -> object | None:
    files = {f"{n:03d}_m.sql": sql for n, sql in enumerate([BASE, *sqls], start=1)}
    project = write_project(root, files)
    result = generate(read_project(project / "manifest.toml", with_cache=False), jobs=1)
    if result.failed:
        return None
    write_outputs(result)
    return load_frozen(project / "cortexdb" / "_frozen.py")


def _fill(path: Path) -> None:
    """Rows the constraints accept, as SQLite judges them (the proof's own filler)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA foreign_keys=ON")
        index = TableIndex()
        index.update(read_schema(conn, "schema_migrations"))
        tables = [t for key in sorted(index.tables) if (found := index.ordinary(key)) is not None
                  and (t := describe(conn, *found)) is not None]
        Populator(conn).fill(tables)
    finally:
        conn.close()


@fuzz(12, sqls=migration_lists, split=st.integers(min_value=0, max_value=4))
def test_what_passes_the_proof_on_data_migrates_a_database_with_rows(sqls: tuple[str, ...], split: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        full = _built(root / "full", list(sqls))
        if full is None:
            return  # the build refused it: nothing to hold the runtime to
        done = min(split, len(sqls))
        earlier = _built(root / "earlier", list(sqls[:done]))
        assert earlier is not None  # a prefix of what passes passes
        data = root / "data"
        cortexdb.migrate(data, frozen=earlier)
        _fill(data / "main.db")
        cortexdb.migrate(data, frozen=full)  # must not raise


test_what_passes_the_proof_on_data_migrates_a_database_with_rows_soak = (
    test_what_passes_the_proof_on_data_migrates_a_database_with_rows.soak_twin)
