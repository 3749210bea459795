"""The proof on data: the migrations run again on a database whose tables hold synthetic rows."""

from __future__ import annotations

import shutil
from pathlib import Path

from project import ROOT, generator, write_project

BASE = ("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, "
        "qty INTEGER NOT NULL DEFAULT 0);\n")


def build(tmp_path: Path, *later: str, **kwargs: object) -> tuple[int, str, str]:
    files = {"001_base.sql": BASE, **{f"{n:03d}_next.sql": sql for n, sql in enumerate(later, start=2)}}
    project = write_project(tmp_path, files, **kwargs)  # type: ignore[arg-type]
    proc = generator(project, "build")
    assert "Traceback" not in proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def findings(err: str, code: str) -> list[str]:
    return [line for line in err.splitlines() if f" {code} " in line]


def test_add_column_with_a_non_constant_default_fails_on_rows(tmp_path: Path) -> None:
    sql = "ALTER TABLE items ADD COLUMN IF NOT EXISTS created TEXT DEFAULT CURRENT_TIMESTAMP;\n"
    code, out, err = build(tmp_path, sql)
    assert code == 1
    assert findings(err, "MG201") == [
        "migrations/002_next.sql:1:1: MG201 fails on a database that holds rows (table items): Cannot add a column "
        "with non-constant default; an empty database hides this: give existing rows what the statement needs "
        "(a constant DEFAULT, an UPDATE before it, the rows removed or fixed first), or allow MG201 with a reason"]
    assert "proof: 2/2" in out  # on the empty database it is idempotent: only the rows show it
    assert not (tmp_path / "cortexdb" / "_frozen.py").exists()


def test_add_column_not_null_without_default_fails_on_rows(tmp_path: Path) -> None:
    code, _, err = build(tmp_path, "\n\nALTER TABLE items ADD COLUMN IF NOT EXISTS colour TEXT NOT NULL;\n")
    assert code == 1
    (finding,) = findings(err, "MG201")
    assert finding.startswith("migrations/002_next.sql:3:1: MG201 fails on a database that holds rows (table items): "
                              "Cannot add a NOT NULL column with default value NULL;")


def test_unique_index_over_values_existing_rows_repeat_fails_on_rows(tmp_path: Path) -> None:
    # Synthetic rows repeat each other outside the unique keys, as real rows do.
    code, _, err = build(tmp_path, "CREATE UNIQUE INDEX IF NOT EXISTS items_by_name ON items (name);\n")
    assert code == 1
    (finding,) = findings(err, "MG201")
    assert "MG201 fails on a database that holds rows (table items): UNIQUE constraint failed: items.name;" in finding


def test_check_that_existing_rows_break_after_a_rebuild_fails_on_rows(tmp_path: Path) -> None:
    rebuild = (
        "CREATE TABLE IF NOT EXISTS items_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (length(name) > 3),\n"
        "  qty INTEGER NOT NULL DEFAULT 0);\n"
        "INSERT INTO items_new (id, name, qty) SELECT id, name, qty FROM items WHERE true ON CONFLICT DO NOTHING;\n"
        "DROP TABLE IF EXISTS items; -- noqa: MG010 rows were copied into items_new first\n"
        "ALTER TABLE items_new RENAME TO items; -- noqa: MG007 atomic inside the migration's transaction\n"
    )
    code, _, err = build(tmp_path, rebuild)
    assert code == 1
    (finding,) = findings(err, "MG201")
    assert finding.startswith("migrations/002_next.sql:3:1: MG201 fails on a database that holds rows "
                              "(table items): CHECK constraint failed: length(name) > 3;")


def test_one_failure_on_rows_gives_one_finding_and_the_walk_goes_on(tmp_path: Path) -> None:
    code, _, err = build(tmp_path, "ALTER TABLE items ADD COLUMN IF NOT EXISTS colour TEXT NOT NULL;\n",
                         "CREATE INDEX IF NOT EXISTS items_by_colour ON items (colour);\n",
                         "ALTER TABLE items ADD COLUMN IF NOT EXISTS seen TEXT DEFAULT CURRENT_TIMESTAMP;\n")
    assert code == 1
    assert [f.split(": MG201")[0] for f in findings(err, "MG201")] == [
        "migrations/002_next.sql:1:1", "migrations/004_next.sql:1:1"]


def test_failure_on_rows_allowed_with_a_reason(tmp_path: Path) -> None:
    sql = "ALTER TABLE items ADD COLUMN IF NOT EXISTS colour TEXT NOT NULL;\n"
    code, _, err = build(tmp_path / "manifest", sql,
                         allow={"002_next.sql": {"MG201": "items is always empty when this ships"}})
    assert code == 0, err
    noqa = "-- noqa: MG201 items is always empty when this ships\n" + sql
    code, _, err = build(tmp_path / "noqa", noqa)
    assert code == 0, err
    code, _, err = build(tmp_path / "bare", "-- noqa: MG201\n" + sql)
    assert code == 1 and "MG000" in err and "MG201" in err


def test_new_unique_key_on_an_existing_table_warns(tmp_path: Path) -> None:
    # Synthetic rows do not reach the WHERE clause, so only the static warning can tell.
    sql = "CREATE UNIQUE INDEX IF NOT EXISTS items_big ON items (name) WHERE qty > 1000;\n"
    code, out, err = build(tmp_path / "warn", sql)
    assert code == 0, err
    (warning,) = findings(err, "MG202")
    assert warning.startswith("migrations/002_next.sql:1:1: MG202 warning: UNIQUE index items_big on items (name), "
                              "a table an earlier migration made")
    assert "1 warnings" in out
    code, _, err = build(tmp_path / "noqa", "-- noqa: MG202 names were deduplicated by 001\n" + sql)
    assert code == 0 and not findings(err, "MG202")
    # On a table the same migration makes, and a key an older one implies, there is nothing to warn about.
    code, _, err = build(tmp_path / "new", "CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, tag TEXT);\n"
                                           "CREATE UNIQUE INDEX IF NOT EXISTS tags_by_tag ON tags (tag);\n"
                                           "CREATE UNIQUE INDEX IF NOT EXISTS items_id_name ON items (id, name);\n")
    assert code == 0 and not findings(err, "MG202"), err


def test_every_shipped_migration_passes_the_proof_on_data(tmp_path: Path) -> None:
    project = tmp_path / "shipped"
    shutil.copytree(ROOT / "migrations", project / "migrations")
    shutil.copy(ROOT / "manifest.toml", project / "manifest.toml")
    proc = generator(project, "build")
    assert proc.returncode == 0, proc.stderr
    assert not findings(proc.stderr, "MG201") and not findings(proc.stderr, "MG202")
    assert "0 errors, 0 warnings" in proc.stdout
