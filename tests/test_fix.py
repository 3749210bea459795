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
