"""The SQL library functions under hostile text, called directly (many more examples a second than
whole commands): split, analyze and lint, fix, the checksums; and the smallest example of each
bug these properties found.

Budgets: 1,650 examples in `make test`, 20x in `make soak` (see tests/fuzz_support.py).
"""

from __future__ import annotations

import re
import sqlite3

import pytest
from fuzz_strategies import DEEP_INSERTS, NUL_SQL, identifiers, lint_codes, sql_bytes, sql_texts
from fuzz_support import fuzz, line_count
from hypothesis import assume
from hypothesis import strategies as st

from generator.analyze import analyze
from generator.checksum import canonical_checksum, canonical_text, legacy_checksum, normalize_newlines
from generator.codes import LINT_CODES
from generator.fix import FIXABLE, fix_text
from generator.lint import LintContext, lint_file, lint_report
from generator.sqlsplit import LineIndex, split
from generator.sqltokens import COMMENT, SPACE, tokenize

# ---------------------------------------------------------------------------------------------
# The library functions, directly: many more examples a second

texts = st.one_of(sql_texts, st.text(max_size=60), sql_bytes().map(lambda data: data.decode("utf-8", "replace")))
allows = st.dictionaries(lint_codes, st.text(max_size=8), max_size=3)
earlier_tables = st.sets(st.sampled_from(["t", "u", "t_old", "f", "x"]), max_size=3)


@fuzz(400, text=texts)
def test_split_returns_slices_of_the_text_in_order(text: str) -> None:
    statements = split(text)
    lines = LineIndex(text)
    previous = 0
    for index, statement in enumerate(statements):
        assert text[statement.start : statement.end] == statement.text  # a slice of the input
        assert previous <= statement.start < statement.end <= len(text)  # in order, not overlapping
        assert (statement.line, statement.col) == lines.position(statement.start)
        assert statement.complete or index == len(statements) - 1  # only the tail can be unfinished
        if statement.complete:
            assert sqlite3.complete_statement(statement.text.replace("\0", "\x01"))
        assert split(text[previous : statement.start]) == []  # between statements: nothing but trivia
        previous = statement.end
    assert split(text[previous:]) == []


@fuzz(300, text=texts, allow=allows, tables=earlier_tables)
def test_analyze_and_lint_never_raise_and_stay_in_the_file(text: str, allow: dict[str, str], tables: set[str]) -> None:
    infos = analyze("f.sql", text)
    assert [info.statement for info in infos] == split(text)
    lines = line_count(text.encode("utf-8"))
    for info in infos:
        assert info.guard_at is None or info.statement.start <= info.guard_at <= info.statement.end
        if info.parse_error is not None:
            assert info.parse_error.code == "MG100" and 1 <= info.parse_error.line <= lines

    def context() -> LintContext:
        return LintContext(created_tables=set(tables), created_columns={(t, "c") for t in tables})

    report = lint_report("f.sql", text, allow=allow, context=context())
    assert lint_file("f.sql", text, allow=allow, context=context()) == report.diagnostics
    found = lint_file("f.sql", text, allow=allow, context=context(), keep_suppressed=True)
    assert len(found) == len(report.diagnostics) + len(report.allowed)
    assert found == sorted(found, key=lambda d: (d.path, d.line, d.col, d.code, d.message))
    for diagnostic in found:
        assert diagnostic.code in LINT_CODES or diagnostic.code == "MG000"
        assert 1 <= diagnostic.line <= lines and diagnostic.col >= 1
        assert str(diagnostic).isprintable(), diagnostic  # one line, no escape codes


@fuzz(250, text=texts)
def test_fix_only_adds_guards_and_is_idempotent(text: str) -> None:
    fixed = fix_text("f.sql", text)
    assert fix_text("f.sql", fixed) == fixed
    rest = iter(fixed)
    assert all(char in rest for char in text)  # only insertions, ...
    added = len(fixed) - len(text)  # ... each " IF EXISTS" (10) or " IF NOT EXISTS" (14), ...
    assert any(added == 10 * a + 14 * b for a in range(added // 10 + 1) for b in range(added // 14 + 1))
    assert not [d for d in lint_file("f.sql", fixed) if d.code in FIXABLE]  # ... and every guard is in


@fuzz(400, text=texts)
def test_checksums_ignore_line_endings_and_bom(text: str) -> None:
    """The legacy checksum ignores every line ending (CortexPrism normalised them all); the
    canonical one those between tokens and in comments, not those inside a literal or a quoted
    name (data), nor a CR after a `--` comment (which SQLite ends only at LF)."""
    canonical, legacy = canonical_checksum(text), legacy_checksum(text)
    assert re.fullmatch(r"c2:[0-9a-f]{64}", canonical) and re.fullmatch(r"[0-9a-f]{1,8}", legacy)
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = normalize_newlines(text.removeprefix(bom))
    variants = [bom + body, bom + body.replace("\n", "\r\n"), bom + body.replace("\n", "\r")]
    if not body.startswith("\ufeff"):  # one BOM more or less: the same text
        variants += ["\ufeff" + body.replace("\n", "\r\n"), body.replace("\n", "\r")]
    for variant in variants:
        assert legacy_checksum(variant) == legacy
    body = text.removeprefix(bom)
    layout = [bom + _outside_literals(body, "\r\n"), _outside_literals(body, "\r")]
    if not body.startswith("\ufeff"):
        layout += ["\ufeff" + _outside_literals(body, "\n"), _outside_literals(body, "\n")]
    for variant in layout:
        assert canonical_checksum(variant) == canonical, variant


def _outside_literals(text: str, newline: str) -> str:
    """`text` with each line ending in whitespace and block comments written as `newline`, but
    never a lone CR right after a `--` comment (it would continue the comment)."""
    pieces, after_line_comment = [], False
    for kind, start, end in tokenize(text):
        piece = text[start:end]
        if kind == SPACE or (kind == COMMENT and piece.startswith("/*")):
            ending = "\n" if newline == "\r" and after_line_comment else newline
            piece = re.sub(r"\r\n|\r|\n", ending, piece)
        pieces.append(piece)
        after_line_comment = kind == COMMENT and piece.startswith("--")
    return "".join(pieces)


_SEPARATORS = st.lists(st.sampled_from([" ", "\n", "\t", "\r\n", "\f", "/**/", "/* c\n */", "-- c\n"]),
                       min_size=1, max_size=3).map("".join)
_TOKENS = st.one_of(identifiers, st.sampled_from(["(", ")", ",", ";", "=", "*", "'a  b'", '"q  r"', "[s  t]",
                                                  "`u  v`", "1", "x'00'", "+"]))


@fuzz(300, tokens=st.lists(_TOKENS, min_size=2, max_size=8), data=st.data())
def test_checksum_ignores_layout_and_comments_only(tokens: list[str], data: st.DataObject) -> None:
    """Between tokens, any run of SQLite whitespace and comments is one thing; a Unicode space,
    part of a name to SQLite, is not."""
    separators = [data.draw(_SEPARATORS) for _ in tokens[1:]]
    laid_out = tokens[0] + "".join(s + t for s, t in zip(separators, tokens[1:], strict=True))
    assert canonical_text(laid_out) == canonical_text(" ".join(tokens))
    at = data.draw(st.integers(0, len(separators) - 1))
    assume(tokens[at] not in "(),;" and tokens[at + 1] not in "(),;")  # layout around ( ) , ; is dropped
    odd = data.draw(st.sampled_from(["\u00a0", "\u2028", "\x1c", "\u3000"]))
    spoiled = " ".join(tokens[: at + 1]) + odd + " ".join(tokens[at + 1 :])
    assert canonical_text(spoiled) != canonical_text(" ".join(tokens))


test_split_returns_slices_of_the_text_in_order_soak = test_split_returns_slices_of_the_text_in_order.soak_twin
test_analyze_and_lint_never_raise_and_stay_in_the_file_soak = (
    test_analyze_and_lint_never_raise_and_stay_in_the_file.soak_twin)
test_fix_only_adds_guards_and_is_idempotent_soak = test_fix_only_adds_guards_and_is_idempotent.soak_twin
test_checksums_ignore_line_endings_and_bom_soak = test_checksums_ignore_line_endings_and_bom.soak_twin
test_checksum_ignores_layout_and_comments_only_soak = test_checksum_ignores_layout_and_comments_only.soak_twin


# ---------------------------------------------------------------------------------------------
# Regressions in the library functions: the smallest example of each bug these properties found


def test_nul_in_sql_is_a_finding_at_its_place() -> None:
    """sqlite3.complete_statement raised ValueError on a NUL: the split crashed the build (exit 123)."""
    assert [s.text for s in split(NUL_SQL)] == ["CREATE TABLE IF NOT EXISTS t (a);", "SELECT 'x\x00y';"]
    (error,) = [d for d in lint_file("f.sql", NUL_SQL) if d.code == "MG100"]
    assert (error.line, error.col) == (2, 10) and error.message.startswith("NUL character")


@pytest.mark.parametrize("sql", DEEP_INSERTS)
def test_deep_nesting_is_not_a_recursion_error(sql: str) -> None:
    """sqlglot's parser recursed once per parenthesis: RecursionError, exit 123."""
    (info,) = analyze("f.sql", sql)
    assert info.verb == "INSERT" and not info.guarded


def test_split_takes_any_str_even_a_lone_surrogate() -> None:
    """Not from a file (strict UTF-8 decoding refuses it), but split no longer raises on it."""
    assert [s.text for s in split("SELECT '\ud800';SELECT 2;")] == ["SELECT '\ud800';", "SELECT 2;"]


@pytest.mark.parametrize(("sql", "shown"), [
    ('CREATE TABLE "a\nb" (x);', "CREATE TABLE 'a\\nb' needs IF NOT EXISTS"),
    ('INSERT INTO "t\x1b[2J" VALUES (1);', "INSERT INTO 't\\x1b[2J' fails"),
    ('ALTER TABLE t ADD COLUMN "c\u2028d" TEXT;', "ADD COLUMN 'c\\u2028d' needs"),
])
def test_a_name_with_a_newline_or_escape_code_stays_on_one_line(sql: str, shown: str) -> None:
    (finding,) = lint_file("f.sql", sql)
    assert shown in finding.message and str(finding).isprintable()


def test_an_allowed_reason_with_a_newline_stays_on_one_line() -> None:
    (finding,) = lint_file("f.sql", "ALTER TABLE t RENAME TO u;", allow={"MG007": "one\ntwo"}, keep_suppressed=True)
    assert finding.message.endswith("(allowed: 'one\\ntwo')") and str(finding).isprintable()


@pytest.mark.parametrize("space", ["\u00a0", "\u2028", "\u3000", "\x85", "\x1c"])
def test_checksum_keeps_what_sqlite_reads_as_part_of_a_name(space: str) -> None:
    """str.isspace() is not SQLite's whitespace: `x\u00a0INTEGER` is one column name to SQLite, not
    the column x of type INTEGER (and `x\x1cINTEGER` no statement at all), yet all had one checksum."""
    ours = f"CREATE TABLE t (x{space}INTEGER);"
    assert canonical_checksum(ours) != canonical_checksum("CREATE TABLE t (x INTEGER);")
    if space > "\x7f":  # SQLite agrees: one name, no type
        columns = sqlite3.connect(":memory:").execute(ours).execute("PRAGMA table_info(t)").fetchall()
        assert [(c[1], c[2]) for c in columns] == [(f"x{space}INTEGER", "")]
