"""Lint cases are data: tests/cases/lint/<case>/.

A case folder holds the SQL to lint and `expected.txt`, the exact lint output:

* `input.sql`, or several `NNN_name.sql` linted in name order as the migrations of one
  database (one `LintContext` through all of them, for MG010). `fixed.sql`, if present, is
  not an input: it is what `fix_text` must make of `input.sql` (see test_fix.py).
* `expected.txt`: one `str(Diagnostic)` per line, `path:line:col: CODE message` with an
  `info: ` tag before the message for INFO findings; `path` is the SQL file's name inside
  the case folder. An empty file means the case is clean.
* `case.toml` (optional) stands in for the manifest: `allow = { MG007 = "reason" }` applies
  to every file of the case, and `allow_line` is the manifest line MG000 points at, with
  `case.toml` as the manifest path.

SQL is read as bytes and decoded, so CRLF line ends and a BOM reach the linter untouched.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.analyze import analyze
from generator.codes import CODES, LINT_CODES
from generator.diagnostics import Severity
from generator.fix import fix_text
from generator.lint import LintContext, lint_file, lint_report

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CASES = Path(__file__).parent / "cases" / "lint"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())


def read_sql(path: Path) -> str:
    return path.read_bytes().decode("utf-8")


def sql_inputs(case: Path) -> list[Path]:
    return sorted(p for p in case.glob("*.sql") if p.name != "fixed.sql")


def case_options(case: Path) -> tuple[dict[str, str] | None, tuple[str, int] | None]:
    config = case / "case.toml"
    if not config.exists():
        return None, None
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return data.get("allow"), ("case.toml", int(data.get("allow_line", 1)))


def lint_case(case: Path) -> list[str]:
    allow, origin = case_options(case)
    context = LintContext()
    lines: list[str] = []
    for sql in sql_inputs(case):
        found = lint_file(sql.name, read_sql(sql), allow=allow, context=context, allow_origin=origin)
        lines += [str(d) for d in found]
    return lines


def test_cases_were_found() -> None:
    assert len(CASE_DIRS) >= 12
    for case in CASE_DIRS:
        assert sql_inputs(case), f"{case.name} has no SQL input"
        assert (case / "expected.txt").exists(), f"{case.name} has no expected.txt"


@pytest.mark.parametrize("case", CASE_DIRS, ids=lambda p: p.name)
def test_lint_case(case: Path) -> None:
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    assert lint_case(case) == expected


def test_every_rule_has_a_case() -> None:
    seen = {line.split(": ", 1)[1].split()[0] for c in CASE_DIRS for line in lint_case(c)}
    assert seen == set(LINT_CODES)


def test_crlf_case_really_has_crlf() -> None:
    # Guards against a checkout that normalises line ends: the case would pass vacuously.
    raw = (CASES / "crlf_bom" / "input.sql").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    assert b"\r\n" in raw


def test_keep_suppressed_returns_allowed_findings_as_info() -> None:
    text = "ALTER TABLE a RENAME TO b; -- noqa: MG007 rebuild\nDROP TABLE c;\n"
    kept = lint_file("m.sql", text, keep_suppressed=True, allow={"MG005": "gone"})
    assert [(d.code, d.severity) for d in kept] == [
        ("MG007", Severity.INFO),
        ("MG005", Severity.INFO),
    ]
    assert kept[0].message.endswith(" (allowed: rebuild)")
    assert kept[1].message.endswith(" (allowed: gone)")
    assert lint_file("m.sql", text, allow={"MG005": "gone"}) == []


def test_report_keeps_reasons_and_origins() -> None:
    text = "-- noqa: MG007 rebuild\nALTER TABLE a RENAME TO b;\nDROP TABLE c;\n"
    report = lint_report("m.sql", text, allow={"MG005": "gone"})
    assert report.diagnostics == []
    assert [(a.diagnostic.code, a.reason, a.origin) for a in report.allowed] == [
        ("MG007", "rebuild", "noqa"),
        ("MG005", "gone", "manifest"),
    ]


def test_context_carries_created_objects() -> None:
    context = LintContext()
    lint_file("1.sql", "CREATE TABLE IF NOT EXISTS t (a INT, b TEXT);\n", context=context)
    lint_file("2.sql", "ALTER TABLE t ADD COLUMN IF NOT EXISTS c INT;\n", context=context)
    assert context.created_tables == {"t"}
    assert context.created_columns == {("t", "a"), ("t", "b"), ("t", "c")}
    lint_file("3.sql", "ALTER TABLE t RENAME TO u; -- noqa: MG007 once\n", context=context)
    assert context.created_tables == {"u"}
    assert ("u", "c") in context.created_columns


def test_rules_metadata() -> None:
    fixable = {code for code, entry in CODES.items() if entry.fixable}
    assert fixable == {"MG001", "MG002", "MG003", "MG004", "MG005"}
    assert CODES["MG009"].severity is Severity.INFO


def test_analyze_add_column_step_drops_only_the_guard() -> None:
    text = 'ALTER TABLE "main"."t" ADD COLUMN IF NOT EXISTS "c d" TEXT /* x */ DEFAULT \'a\';'
    (info,) = analyze("m.sql", text)
    assert info.add_column == (
        "t",
        "c d",
        'ALTER TABLE "main"."t" ADD COLUMN "c d" TEXT /* x */ DEFAULT \'a\';',
    )
    assert info.guarded and info.alter_action == "ADD COLUMN"
    (plain,) = analyze("m.sql", "alter table t add c int;")
    assert plain.add_column == ("t", "c", "alter table t add c int;")
    assert not plain.guarded


@pytest.mark.parametrize(
    ("text", "pragma"),
    [
        ("PRAGMA foreign_keys = OFF;", ("foreign_keys", "OFF")),
        ("PRAGMA main.Journal_Mode=wal;", ("journal_mode", "wal")),
        ("PRAGMA wal_checkpoint(TRUNCATE);", ("wal_checkpoint", "TRUNCATE")),
        ("PRAGMA user_version;", ("user_version", None)),
        ("PRAGMA application_id = -12;", ("application_id", "-12")),
    ],
)
def test_analyze_pragma(text: str, pragma: tuple[str, str | None]) -> None:
    (info,) = analyze("m.sql", text)
    assert info.verb == "PRAGMA" and info.pragma == pragma


@pytest.mark.parametrize(
    ("text", "verb", "object_type", "name", "guarded"),
    [
        ("CREATE TABLE IF NOT EXISTS s (a) WITHOUT ROWID;", "CREATE", "TABLE", "s", True),
        (
            "create virtual table f using fts5(a, tokenize='porter');",
            "CREATE",
            "VIRTUAL TABLE",
            "f",
            False,
        ),
        (
            "CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT 1; END;",
            "CREATE",
            "TRIGGER",
            "tr",
            True,
        ),
        ("DROP INDEX IF EXISTS main.i;", "DROP", "INDEX", "i", True),
        ("REPLACE INTO t VALUES (1);", "REPLACE", None, "t", True),
        ("INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING;", "INSERT", None, "t", True),
        ("WITH x AS (SELECT 1) DELETE FROM t;", "DELETE", None, None, False),
        ("VACUUM;", "VACUUM", None, None, False),
    ],
)
def test_analyze_classifies(text: str, verb: str, object_type: str | None, name: str | None, guarded: bool) -> None:
    (info,) = analyze("m.sql", text)
    assert (info.verb, info.object_type, info.name, info.guarded) == (
        verb,
        object_type,
        name,
        guarded,
    )
    assert info.parse_error is None


def test_analyze_positions_are_in_the_file() -> None:
    text = "\ufeff-- c\r\n  SELECT 1;\r\nSELECT 'open"
    first, second = analyze("m.sql", text)
    assert (first.statement.line, first.statement.col) == (2, 3)
    assert second.parse_error is not None
    assert (second.parse_error.line, second.parse_error.col) == (3, 8)


_WORDS = "CREATE TEMP TABLE INDEX VIEW TRIGGER VIRTUAL IF NOT EXISTS DROP ALTER ADD COLUMN RENAME TO INSERT"
_WORDS += " REPLACE INTO ON CONFLICT DO NOTHING PRAGMA WITH BEGIN END ROLLBACK"
_SQLISH = st.sampled_from(
    [*"abt();,'\"`[]-*/\n\r\t.=0$?\\\ufeff", *(f"{w} " for w in _WORDS.split()), "; ", "-- noqa: MG001 r\n", "/*", "*/"]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_SQLISH, max_size=30).map("".join))
def test_any_text_lints_and_fixes_without_crashing(text: str) -> None:
    found = lint_file("f.sql", text, context=LintContext())
    assert all(d.code in LINT_CODES and d.line >= 1 and d.col >= 1 for d in found)
    fixed = fix_text("f.sql", text)
    assert fix_text("f.sql", fixed) == fixed


_USERS = ["CREATE TEMP TABLE IF NOT EXISTS users (id INTEGER);", "CREATE TABLE IF NOT EXISTS temp.users (id INTEGER);",
          "CREATE TABLE IF NOT EXISTS users (id INTEGER);", "CREATE TABLE IF NOT EXISTS main.users (id INTEGER);",
          "DROP TABLE IF EXISTS users;", "DROP TABLE IF EXISTS main.users;", "DROP TABLE IF EXISTS temp.users;",
          'DROP TABLE IF EXISTS "MAIN"."Users";', "DROP TABLE IF EXISTS TEMP.users;", "DROP TABLE IF EXISTS Users;",
          "ALTER TABLE users RENAME TO users_old; -- noqa: MG007 r",
          "ALTER TABLE temp.users RENAME TO t2; -- noqa: MG007 r"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_USERS), min_size=1, max_size=6))
def test_mg010_is_exactly_when_sqlite_drops_the_earlier_main_table(statements: list[str]) -> None:
    """SQLite is the judge: replayed on a database where an earlier migration created
    main.users, MG010 is reported at exactly the statements after which that table is gone."""
    import contextlib
    import sqlite3

    context = LintContext()
    lint_file("001.sql", "CREATE TABLE IF NOT EXISTS users (id INTEGER);\n", context=context)
    text = "\n".join(statements) + "\n"
    found = {d.line for d in lint_file("002.sql", text, context=context) if d.code == "MG010"}

    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("CREATE TABLE users (id INTEGER)")
    conn.execute("INSERT INTO main.users VALUES (42)")  # the earlier migration's table is the one with this row

    def earlier_table_exists() -> bool:
        tables = [r[0] for r in conn.execute("SELECT name FROM main.sqlite_master WHERE type = 'table'")]
        return any(conn.execute(f'SELECT 1 FROM main."{t}" WHERE id = 42').fetchone() for t in tables)

    expected = set()
    for number, statement in enumerate(statements, start=1):
        before = earlier_table_exists()
        with contextlib.suppress(sqlite3.OperationalError):  # a rename of what is not there changes nothing
            conn.execute(statement)
        if before and not earlier_table_exists():
            expected.add(number)
    assert found == expected
