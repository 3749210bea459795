"""`fix_text` over every lint case (tests/cases/lint, described in test_lint.py)."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from test_lint import CASE_DIRS, case_options, read_sql, sql_inputs

from generator.diagnostics import Diagnostic
from generator.fix import FIXABLE, fix_text
from generator.lint import LintContext, lint_file
from generator.sqlsplit import split


def lint_all(case: Path, texts: dict[str, str]) -> list[Diagnostic]:
    allow, origin = case_options(case)
    context = LintContext()
    found: list[Diagnostic] = []
    for name, text in texts.items():
        found += lint_file(name, text, allow=allow, context=context, allow_origin=origin)
    return found


@pytest.mark.parametrize("case", CASE_DIRS, ids=lambda p: p.name)
def test_fix_case(case: Path) -> None:
    allow, _ = case_options(case)
    before = {p.name: read_sql(p) for p in sql_inputs(case)}
    after = {name: fix_text(name, text, allow=allow) for name, text in before.items()}

    # Idempotent: a second fix changes nothing.
    assert {name: fix_text(name, text, allow=allow) for name, text in after.items()} == after
    found_before, found_after = lint_all(case, before), lint_all(case, after)
    # Nothing fixable is left, and the fix neither hides nor adds any other finding.
    assert [d for d in found_after if d.code in FIXABLE] == []
    assert Counter((d.path, d.line, d.code) for d in found_before if d.code not in FIXABLE) == (
        Counter((d.path, d.line, d.code) for d in found_after)
    )
    if all(d.code in FIXABLE for d in found_before):
        assert found_after == []
    # The fix only inserts: removing what it inserted gives back the input.
    for name, text in before.items():
        assert _without_guards(after[name]) == _without_guards(text)


def _without_guards(text: str) -> str:
    for guard in (" IF NOT EXISTS", " if not exists", " If Not Exists", " IF EXISTS", " if exists"):
        text = text.replace(guard, "")
    return text


@pytest.mark.parametrize("case", [c for c in CASE_DIRS if (c / "fixed.sql").exists()], ids=lambda p: p.name)
def test_fix_keeps_every_other_byte(case: Path) -> None:
    allow, _ = case_options(case)
    expected = (case / "fixed.sql").read_bytes()
    fixed = fix_text("input.sql", read_sql(case / "input.sql"), allow=allow)
    assert fixed.encode("utf-8") == expected


def test_fixed_statements_run_twice_on_sqlite() -> None:
    text = (
        "CREATE TABLE memories (id INTEGER PRIMARY KEY, body TEXT) WITHOUT ROWID;\n"
        "CREATE UNIQUE INDEX idx_body ON memories (body);\n"
        "CREATE VIEW v_memories AS SELECT * FROM memories;\n"
        "CREATE VIRTUAL TABLE memory_fts USING fts5(body, content='memories',"
        " content_rowid='id', tokenize='porter');\n"
        "CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN\n"
        "  INSERT INTO memory_fts (rowid, body) VALUES (new.id, new.body);\n"
        "END;\n"
        "DROP TRIGGER memories_ai;\nDROP VIEW v_memories;\nDROP INDEX idx_body;\n"
    )
    fixed = fix_text("m.sql", text)
    assert lint_file("m.sql", fixed) == []
    connection = sqlite3.connect(":memory:")
    for _ in range(2):
        for statement in split(fixed):
            connection.execute(statement.text)


def test_fix_leaves_broken_statements_alone() -> None:
    text = "CREATE TABLE ok (a INT);\nCREATE TABLE broken (a INT)\n"
    assert fix_text("m.sql", text) == "CREATE TABLE IF NOT EXISTS ok (a INT);\n" + text[25:]


ALLOWED = (
    "CREATE TABLE kept (id INTEGER);\n"                       # allowed in the manifest: MG001
    "DROP TABLE old_thing; -- noqa: MG005 it exists: created by 001\n"
    "CREATE INDEX kept_id ON kept (id);\n"                    # neither: fixed
    "-- noqa: MG004 the column is new in this release\n"
    "ALTER TABLE kept ADD COLUMN note TEXT;\n"
)


def test_lint_fix_leaves_allowed_and_noqa_statements_alone(tmp_path: Path) -> None:
    from project import generator, write_project

    sql = {"001_first.sql": "CREATE TABLE IF NOT EXISTS old_thing (id INTEGER);\n", "002_second.sql": ALLOWED}
    project = write_project(tmp_path, sql, allow={"002_second.sql": {"MG001": "a fresh table each release"}})
    proc = generator(project, "lint", "--fix")
    assert "fixed migrations/002_second.sql" in proc.stderr
    fixed = (project / "migrations" / "002_second.sql").read_text()
    assert fixed == ALLOWED.replace("CREATE INDEX kept_id", "CREATE INDEX IF NOT EXISTS kept_id")
    # The hook's way (files named): the same.
    (project / "migrations" / "002_second.sql").write_text(ALLOWED)
    generator(project, "lint", "--fix", "migrations/002_second.sql")
    assert (project / "migrations" / "002_second.sql").read_text() == fixed


def test_fix_never_touches_a_statement_whose_finding_is_allowed_property() -> None:
    from hypothesis import given, settings
    from hypothesis import strategies as st

    statements = ["CREATE TABLE a (x);", "CREATE INDEX i ON a (x);", "DROP TABLE b;", "DROP VIEW v;",
                  "ALTER TABLE a ADD COLUMN y INT;", "CREATE VIEW v AS SELECT 1;", "CREATE TABLE IF NOT EXISTS c (x);"]
    codes = sorted(FIXABLE)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(st.sampled_from(statements), st.sampled_from([None, *codes])), min_size=1, max_size=6),
           st.dictionaries(st.sampled_from(codes), st.just("reason"), max_size=2))
    def check(lines: list[tuple[str, str | None]], allow: dict[str, str]) -> None:
        text = "".join(f"{s} -- noqa: {code} reason\n" if code else f"{s}\n" for s, code in lines)
        fixed = fix_text("m.sql", text, allow=allow)
        # Every fixable finding, suppressed or not: what the fix has to decide about.
        report_codes = {(d.line, d.code) for d in lint_file("m.sql", text, keep_suppressed=True) if d.code in FIXABLE}
        for number, (before, after) in enumerate(zip(text.splitlines(), fixed.splitlines(), strict=True), start=1):
            own = {code for line, code in report_codes if line == number}
            noqa = lines[number - 1][1]
            if own and own <= ({noqa} | set(allow)):
                assert after == before  # every fixable finding of it is allowed: untouched
            elif own:
                assert after != before  # a finding nobody allowed: fixed

    check()
