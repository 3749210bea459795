"""One reader of `sqlite_master` for the proof, verify and the tests: names SQLite does not
reserve are never hidden, names it reserves (`sqlite_` in any case) never shown."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from project import generator, load_frozen, write_project

import cortexdb
from cortexdb._contract import read_schema

# `_` is a LIKE wildcard: an unescaped `NOT LIKE 'sqlite_%'` hides all of these.
LOOKALIKES = ("SQLiteCache", "sqlitestats", "sqlite1", "SQLITEx_y")
SQL = "".join(f'CREATE TABLE IF NOT EXISTS "{name}" (id INTEGER PRIMARY KEY AUTOINCREMENT, v TEXT);\n'
              for name in LOOKALIKES)


def test_lookalike_names_are_schema_and_sqlites_own_objects_are_not() -> None:
    conn = sqlite3.connect(":memory:")
    conn.executescript(SQL + "ANALYZE;")
    names = {row[1] for row in read_schema(conn, "schema_migrations")}
    # AUTOINCREMENT made sqlite_sequence and ANALYZE sqlite_stat1: SQLite's, never the schema.
    reserved = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite%'")}
    assert {"sqlite_sequence", "sqlite_stat1"} <= reserved
    assert names == set(LOOKALIKES)


def test_a_table_named_like_sqlites_own_is_proven_migrated_and_verified(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", {"001_lookalikes.sql": SQL})
    built = generator(project, "build")
    assert built.returncode == 0, built.stderr
    frozen = load_frozen(project / "cortexdb" / "_frozen.py")
    proven = {row[1] for row in frozen.DATABASES["main"]["schema"]}
    assert proven == set(LOOKALIKES)

    data = tmp_path / "data"
    cortexdb.migrate(data, frozen=frozen)
    report = cortexdb.verify(data, frozen=frozen)
    assert [check.problems for check in report.databases] == [()]
    assert report.ok


@settings(max_examples=300, deadline=None)
@given(st.builds(str.__add__, st.sampled_from(["sqlite", "SQLite", "SQLITE", "sqlit", "Sqlite_", ""]),
                 st.text(alphabet="_%xSé1", max_size=6)).filter(bool))
def test_the_reader_shows_every_table_sqlite_lets_a_user_create(name: str) -> None:
    """SQLite is the judge: a name it lets a migration create is schema; one it reserves it
    refuses to create. No name may be hidden by the reader's own pattern."""
    conn = sqlite3.connect(":memory:")
    quoted = '"' + name.replace('"', '""') + '"'
    try:
        conn.execute(f"CREATE TABLE {quoted} (x)")
        created = True
    except sqlite3.OperationalError as error:
        assert "reserved for internal use" in str(error)
        created = False
    shown = [row[1] for row in read_schema(conn, "schema_migrations")]
    conn.close()
    assert shown == ([name] if created else [])
