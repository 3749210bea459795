"""The proof: each migration runs twice on a scratch database; SQLite is the judge."""

from __future__ import annotations

from pathlib import Path

from project import generator, write_project

BASE = "CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"


def build(tmp_path: Path, second: str, **kwargs: object) -> tuple[int, str, str]:
    project = write_project(tmp_path, {"001_base.sql": BASE, "002_next.sql": second}, **kwargs)  # type: ignore[arg-type]
    proc = generator(project, "build")
    assert "Traceback" not in proc.stderr
    return proc.returncode, proc.stdout, proc.stderr


def test_unguarded_insert_of_a_primary_key_is_not_idempotent(tmp_path: Path) -> None:
    code, out, err = build(tmp_path, "-- seed\n\nINSERT INTO items (id, name) VALUES (1, 'first');\n")
    assert code == 1
    assert ("migrations/002_next.sql:3:1: MG200 migration 002 is not idempotent: its second run "
            "fails: UNIQUE constraint failed: items.id") in err
    assert "proof: 1/2" in out
    assert not (tmp_path / "cortexdb" / "_frozen.py").exists()


def test_second_run_that_duplicates_rows_is_caught(tmp_path: Path) -> None:
    code, _, err = build(tmp_path, "INSERT OR REPLACE INTO items (name) VALUES ('again');\n")
    assert code == 1
    assert "migrations/002_next.sql:1:1: MG200 migration 002 is not idempotent: its second run " \
           "changes the rows of items" in err


def test_allowed_findings_only_warn(tmp_path: Path) -> None:
    sql = "-- noqa: MG007 renamed once, inside this migration's transaction\nALTER TABLE items RENAME TO things;\n"
    code, out, err = build(tmp_path, sql)
    assert code == 0, err
    assert "migrations/002_next.sql:2:1: MG200 warning: its second run fails: no such table: items; allowed " \
           "(MG007: renamed once, inside this migration's transaction)" in err
    assert "1 warnings" in out and "proof: 2/2" in out
    assert (tmp_path / "cortexdb" / "_frozen.py").exists()


def test_statement_sqlite_rejects_is_an_error_at_its_line(tmp_path: Path) -> None:
    # sqlglot parses this happily; SQLite knows there is no such table.
    code, _, err = build(tmp_path, "\nCREATE INDEX IF NOT EXISTS by_colour ON paint (colour);\n")
    assert code == 1
    assert "migrations/002_next.sql:2:1: MG100 SQLite rejects this statement: no such table: main.paint" in err


def test_rebuild_leaving_a_foreign_key_violation_is_refused(tmp_path: Path) -> None:
    sql = (
        "PRAGMA foreign_keys=OFF;\n"
        "CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL REFERENCES items(id));\n"
        "INSERT OR IGNORE INTO tags (id, item_id) VALUES (1, 42);\n"
        "PRAGMA foreign_keys=ON;\n"
    )
    code, _, err = build(tmp_path, sql)
    assert code == 1
    assert "MG100 SQLite rejects this statement: foreign key violation in table 'tags'" in err


def test_idempotent_rebuild_with_foreign_keys_off_is_proven(tmp_path: Path) -> None:
    sql = (
        "PRAGMA foreign_keys=OFF;\n"
        "CREATE TABLE IF NOT EXISTS items_new (id INTEGER PRIMARY KEY, name TEXT NOT NULL CHECK (name <> ''));\n"
        "INSERT OR IGNORE INTO items_new (id, name) SELECT id, name FROM items;\n"
        "DROP TABLE IF EXISTS items; -- noqa: MG010 rows were copied into items_new first\n"
        "ALTER TABLE items_new RENAME TO items; -- noqa: MG007 atomic inside the migration's transaction\n"
        "PRAGMA foreign_keys=ON;\n"
    )
    code, out, err = build(tmp_path, sql)
    assert code == 0, err
    assert "proof: 2/2" in out


def test_second_run_adding_rows_through_a_trigger_on_another_table_is_caught(tmp_path: Path) -> None:
    # The second migration names neither `audit` nor the trigger: only a proof that compares
    # every table sees that running it again adds a row there.
    first = BASE + ("CREATE TABLE IF NOT EXISTS audit (what TEXT NOT NULL);\n"
                    "CREATE TRIGGER IF NOT EXISTS items_audit AFTER UPDATE ON items BEGIN\n"
                    "  INSERT INTO audit (what) VALUES ('updated ' || new.name);\nEND;\n"
                    "INSERT OR IGNORE INTO items (id, name) VALUES (1, 'first');\n")
    project = write_project(tmp_path, {"001_base.sql": first, "002_touch.sql": "UPDATE items SET name = name;\n"})
    proc = generator(project, "build")
    assert proc.returncode == 1, proc.stderr
    assert ("migrations/002_touch.sql:1:1: MG200 migration 002 is not idempotent: its second run changes "
            "the rows of audit") in proc.stderr


def test_the_proof_runs_with_the_ledger_table_the_runtime_has(tmp_path: Path) -> None:
    # The ledger exists, with the rows of the migrations before, while a migration runs: a
    # statement reading it works (the runtime runs it), and a second run sees one more row.
    code, _, err = build(tmp_path, "INSERT OR IGNORE INTO items (id, name)\n"
                                   "  SELECT version, description FROM schema_migrations;\n")
    assert code == 1
    assert "no such table" not in err
    assert "migrations/002_next.sql:1:1: MG200 migration 002 is not idempotent: its second run changes " \
           "the rows of items" in err


def test_every_statement_sqlite_rejects_is_reported_at_once(tmp_path: Path) -> None:
    project = write_project(tmp_path, {
        "001_base.sql": BASE,
        "002_two.sql": "CREATE INDEX IF NOT EXISTS a ON paint (x);\nCREATE INDEX IF NOT EXISTS b ON items (nope);\n"
                       "CREATE INDEX IF NOT EXISTS c ON items (name);\n",
        "003_more.sql": "CREATE INDEX IF NOT EXISTS d ON missing (y);\nCREATE INDEX IF NOT EXISTS e ON items (name);\n",
    })
    proc = generator(project, "build")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if " MG100 " in line]
    assert errors == [
        "migrations/002_two.sql:1:1: MG100 SQLite rejects this statement: no such table: main.paint",
        "migrations/002_two.sql:2:1: MG100 SQLite rejects this statement: no such column: nope",
        "migrations/003_more.sql:1:1: MG100 SQLite rejects this statement: no such table: main.missing",
    ]


def test_second_run_that_changes_values_but_not_the_row_count_is_caught(tmp_path: Path) -> None:
    seed = BASE + "INSERT OR IGNORE INTO items (id, name) VALUES (1, 'first');\n"
    project = write_project(tmp_path / "append", {"001_base.sql": seed,
                                                  "002_next.sql": "UPDATE items SET name = name || '!';\n"})
    proc = generator(project, "build")
    assert proc.returncode == 1
    assert "migrations/002_next.sql:1:1: MG200 migration 002 is not idempotent: its second run changes " \
           "the rows of items" in proc.stderr
    # The same rows written again are no change.
    project = write_project(tmp_path / "same", {"001_base.sql": seed,
                                                "002_next.sql": "UPDATE items SET name = upper(name);\n"})
    proc = generator(project, "build")
    assert proc.returncode == 0, proc.stderr
