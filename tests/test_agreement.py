"""`lint` (what the pre-commit hook runs) and `build` read the same files the same way, so they
report the same findings about them."""

from __future__ import annotations

import re
import shutil
import sqlite3
from pathlib import Path

import pytest
from fuzz_support import fuzz, run_generator
from hypothesis import strategies as st
from project import generator, write_project

FINDING = re.compile(r"^\S+:\d+:\d+: M[GF]\d{3} ", re.M)


def findings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if FINDING.match(line)]


def test_a_file_that_is_not_utf8_is_the_same_finding_for_lint_and_build(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_a.sql": "CREATE TABLE IF NOT EXISTS a (x INTEGER);\n"})
    (project / "migrations" / "001_a.sql").write_bytes(
        b"-- caf\xc3\xa9 is UTF-8\nCREATE TABLE IF NOT EXISTS a (x INTEGER);\n-- caf\xe9 is Latin-1\n")
    expected = ["migrations/001_a.sql:3:1: MG100 not UTF-8 (byte 66): save the file as UTF-8"]

    linted = generator(project, "lint")
    named = generator(project, "lint", "migrations/001_a.sql")  # as the hook passes staged files
    built = generator(project, "build")

    for proc in (linted, named, built):
        assert proc.returncode == 1, proc.stderr
        assert findings(proc.stderr) == expected
    assert not (project / "cortexdb").exists()


BROKEN = {
    "001_jobs.sql": ("CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT);\n"
                     "CREAT INDEX IF NOT EXISTS jobs_name ON jobs (name);\n"
                     "CREATE TABLE IF NOT EXISTS tags (id INTEGER, name TEXT,);\n"
                     "CREATE TABLE IF NOT EXISTS notes (id INTEGER, body TEXT;\n"),
    "002_more.sql": ("INSERT OR IGNORE INTO nowhere (id) VALUES (1);\n"
                     "CREATE INDEX IF NOT EXISTS jobs_owner ON jobs (owner);\n"
                     "INSERT OR IGNORE INTO tags (id) VALUES (1);\n"  # tags failed above: not again
                     "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS state TEXT DEFAULT 'new';\n"
                     "UPDATE jobs SET state = 'old' WHERE stat = 'new';\n"),
}
BROKEN_FINDINGS = [
    'migrations/001_jobs.sql:2:1: MG100 SQLite rejects this statement: near "CREAT": syntax error',
    'migrations/001_jobs.sql:3:1: MG100 SQLite rejects this statement: near ")": syntax error',
    'migrations/001_jobs.sql:4:1: MG100 SQLite rejects this statement: near ";": syntax error',
    "migrations/002_more.sql:1:1: MG100 SQLite rejects this statement: no such table: nowhere",
    "migrations/002_more.sql:2:1: MG100 SQLite rejects this statement: no such column: owner",
    "migrations/002_more.sql:5:1: MG100 SQLite rejects this statement: no such column: stat",
]


def test_lint_reports_every_statement_sqlite_rejects_at_once_as_build_does(tmp_path: Path) -> None:
    """Syntax errors (each statement judged alone) and names the earlier migrations do not
    give, all at once, from the hook (`lint FILES` with the manifest beside) and from `build`."""
    project = write_project(tmp_path, BROKEN)
    runs = {"lint": generator(project, "lint"),
            "hook": generator(project, "lint", "migrations/001_jobs.sql", "migrations/002_more.sql"),
            "build": generator(project, "build")}
    for name, proc in runs.items():
        assert proc.returncode == 1, (name, proc.stderr)
        assert findings(proc.stderr) == BROKEN_FINDINGS, name


def test_a_file_linted_alone_reports_only_what_does_not_parse(tmp_path: Path) -> None:
    """Without a manifest a file's tables may come from anywhere: only parse errors count."""
    project = write_project(tmp_path, BROKEN)
    proc = generator(project, "lint", "--manifest", "none.toml", "migrations/002_more.sql")
    assert (proc.returncode, findings(proc.stderr)) == (0, [])
    proc = generator(project, "lint", "--manifest", "none.toml", "migrations/001_jobs.sql")
    assert findings(proc.stderr) == BROKEN_FINDINGS[:3]


POOL = [
    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a TEXT);",
    "CREATE TABLE IF NOT EXISTS u (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t (id));",
    "CREATE INDEX IF NOT EXISTS t_a ON t (a);",
    "CREATE INDEX IF NOT EXISTS t_b ON t (b);",
    "ALTER TABLE t ADD COLUMN IF NOT EXISTS b TEXT;",
    "ALTER TABLE v ADD COLUMN IF NOT EXISTS c TEXT;",
    "INSERT OR IGNORE INTO t (id, a) VALUES (1, 'x');",
    "INSERT OR IGNORE INTO t (id, z) VALUES (1, 'x');",
    "UPDATE t SET a = b WHERE id = 1;",
    "CREATE VIEW IF NOT EXISTS w AS SELECT a FROM t;",
    "CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON u BEGIN UPDATE t SET a = 'y' WHERE id = new.t_id; END;",
    "DROP INDEX IF EXISTS t_a;",
    "CREAT TABLE IF NOT EXISTS x (id);",
    "CREATE TABLE IF NOT EXISTS y (id INTEGER,);",
    "CREATE TABLE IF NOT EXISTS z (id INTEGER, (a);",
    "INSERT OR IGNORE INTO t (id) VALUES ((1);",
    "CREATE TABLE IF NOT EXISTS t2 (a, a);",
]


@fuzz(60, files=st.lists(st.lists(st.sampled_from(POOL), min_size=1, max_size=4), min_size=1, max_size=3))
def test_lint_and_build_agree_on_what_sqlite_rejects(files: list[list[str]], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Whatever the statements, the hook's MG100 findings are the build's, and each names a
    statement SQLite does refuse to prepare where it stands."""
    shutil.rmtree(tmp_path / "p", ignore_errors=True)
    migrations = {f"{n:03d}_m.sql": "\n".join(statements) + "\n" for n, statements in enumerate(files, start=1)}
    project = write_project(tmp_path / "p", migrations)
    linted = run_generator(["lint", *(f"migrations/{name}" for name in migrations)], project, monkeypatch, capsys)
    built = run_generator(["build"], project, monkeypatch, capsys)
    rejected = [line for line in findings(linted.err) if " MG100 " in line]
    assert rejected == [line for line in findings(built.err) if " MG100 " in line]
    if rejected:
        assert linted.code == built.code == 1
    # SQLite is the judge: replaying the migrations up to each finding, its statement fails to prepare.
    conn = sqlite3.connect(":memory:")
    reported = {(line.split(":")[0], int(line.split(":")[1])) for line in rejected}
    for name, statements in zip(migrations, files, strict=True):
        for number, statement in enumerate(statements, start=1):
            try:
                conn.execute(statement.replace(" IF NOT EXISTS b", " b").replace(" IF NOT EXISTS c", " c"))
            except sqlite3.Error:
                failed = True
            else:
                failed = False
            if (f"migrations/{name}", number) in reported:
                assert failed, statement


test_lint_and_build_agree_on_what_sqlite_rejects_soak = test_lint_and_build_agree_on_what_sqlite_rejects.soak_twin
