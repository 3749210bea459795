"""Hostile input for the generator: whatever the manifest and the SQL files hold, a run ends in
diagnostics (`path:line:col: CODE message`, one per line) and exit 0, 1 or 2, never 123 or a
traceback; a failed run leaves every file as it was (`lint --fix` only ever adds guards); and
text reaches the frozen module only as data.

The commands run in process (`generator.__main__.main`, about 10 ms a build), each example in a
fresh project five folders deep in a sandbox: whatever a `..` in the manifest points at stays in
the sandbox, where a snapshot shows that nothing outside the outputs was written.

Budgets: `make test` runs the unmarked tests, 3,002 examples (tests/test_paths.py 300 more);
`make soak` (CORTEXDB_SOAK=1, `-m soak`) runs their `_soak` twins under the `cortexdb-soak`
profile, 60,040 examples (and 6,000).
"""

from __future__ import annotations

import ast
import datetime
import importlib.util
import itertools
import json
import os
import re
import shutil
import sqlite3
import traceback
from collections.abc import Callable, Iterator, Mapping
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import note as hypothesis_note
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from generator.__main__ import main
from generator.analyze import analyze
from generator.checksum import canonical_checksum, canonical_text, legacy_checksum, normalize_newlines
from generator.diagnostics import GeneratorError
from generator.fix import FIXABLE, fix_text
from generator.lint import RULES, LintContext, lint_file, lint_report
from generator.manifest import load_manifest
from generator.sqlsplit import LineIndex, split

# Each test names its example count for `make test`; its soak twin runs SOAK_FACTOR times as many
# under the soak profile. The twins carry the `soak` marker, which tests/conftest.py skips unless
# CORTEXDB_SOAK=1: that variable is what selects the soak profile.
settings.register_profile(
    "cortexdb-fuzz",
    deadline=None,  # a build is ~10 ms, a 100k-character one ~300 ms, on a loaded machine more
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example,
                           HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile("cortexdb-soak", settings.get_profile("cortexdb-fuzz"))
SOAK_FACTOR = 20


def budget(examples: int, *, soak: bool = False) -> settings:
    """Settings for `examples` examples (SOAK_FACTOR times as many for a soak twin)."""
    if soak:
        return settings(settings.get_profile("cortexdb-soak"), max_examples=examples * SOAK_FACTOR)
    return settings(settings.get_profile("cortexdb-fuzz"), max_examples=examples)


def fuzz(examples: int, **strategies: st.SearchStrategy[Any]) -> Callable[[Callable[..., None]], Any]:
    """@given(**strategies) with `examples` examples; `test.soak_twin` is the same property for
    `make soak`, marked `soak` (assign it to a `test_..._soak` name to collect it)."""
    def decorate(body: Callable[..., None]) -> Any:
        test = budget(examples)(given(**strategies)(body))
        test.soak_twin = pytest.mark.soak(budget(examples, soak=True)(given(**strategies)(body)))
        return test

    return decorate


# ---------------------------------------------------------------------------------------------
# Strategies: SQL files

STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a TEXT DEFAULT 'x;y', b REAL);",
    "CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t(id)) WITHOUT ROWID;",
    "CREATE TEMP TABLE tmp (x);",
    "CREATE UNIQUE INDEX IF NOT EXISTS t_a ON t (a);",
    "CREATE INDEX t_b ON t (b) WHERE b > 0;",
    "CREATE VIEW IF NOT EXISTS v AS SELECT a FROM t;",
    "CREATE VIRTUAL TABLE IF NOT EXISTS f USING fts5(body, content='t');",
    "CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN UPDATE t SET a = 'END;' WHERE id = new.id; END;",
    "CREATE TRIGGER tr2 BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'no'); END;",
    "ALTER TABLE t ADD COLUMN IF NOT EXISTS c TEXT DEFAULT '';",
    "ALTER TABLE t ADD COLUMN d INTEGER;",
    "ALTER TABLE t RENAME TO t_old;",
    "ALTER TABLE t RENAME COLUMN a TO a2;",
    "ALTER TABLE t DROP COLUMN b;",
    "DROP TABLE IF EXISTS t_old;",
    "DROP INDEX t_b;",
    "INSERT OR IGNORE INTO t (id, a) VALUES (1, 'it''s');",
    "INSERT INTO t (id) VALUES (2) ON CONFLICT DO NOTHING;",
    "INSERT INTO t (id) VALUES (3);",
    "REPLACE INTO t (id) VALUES (4);",
    "WITH x(n) AS (SELECT 1) INSERT OR IGNORE INTO t (id) SELECT n FROM x;",
    "UPDATE t SET a = \"b\" WHERE [id] = `id`;",
    "DELETE FROM t WHERE id IN (SELECT id FROM t);",
    "PRAGMA foreign_keys = OFF;",
    "PRAGMA journal_mode = WAL;",
    "PRAGMA user_version = 3;",
    "SAVEPOINT s; RELEASE s;",
    "BEGIN;", "COMMIT;", "END;", "ROLLBACK;",
    "VACUUM;", "ATTACH DATABASE ':memory:' AS a;", "DETACH a;",
    "SELECT x'00ff', 1e5, -1, ?1, :a, @b, $c, 'a''b', \"q\"\"q\";",
]
KEYWORDS = [
    "CREATE", "TEMP", "TABLE", "UNIQUE", "INDEX", "VIEW", "TRIGGER", "VIRTUAL", "IF", "NOT", "EXISTS", "DROP",
    "ALTER", "ADD", "COLUMN", "RENAME", "TO", "INSERT", "OR", "IGNORE", "REPLACE", "INTO", "VALUES", "ON",
    "CONFLICT", "DO", "NOTHING", "UPDATE", "SET", "DELETE", "FROM", "WHERE", "SELECT", "PRAGMA", "foreign_keys",
    "journal_mode", "WITH", "AS", "BEGIN", "END", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "USING",
    "fts5", "AFTER", "BEFORE", "INSTEAD", "OF", "FOR", "EACH", "ROW", "WITHOUT", "ROWID", "PRIMARY", "KEY", "CHECK",
    "DEFAULT", "NULL", "CASE", "WHEN",
]
PUNCTUATION = [
    "(", ")", ";", ";", ",", ".", "'", '"', "`", "[", "]", "--", "/*", "*/", "=", "*", "\\", "$", "?",
    " ", " ", "\n", "\n", "\r\n", "\r", "\t", "\v", "\f", "\x00", "\ufeff", "\u00a0", "\u2028", "\x85",
    "{{ 7*7 }}", "{% raw %}", "'''", '"""', "\\n",
]
NOQA = ["-- noqa: MG001 reason\n", "-- noqa\n", "-- noqa: MG999 x\n", "/* noqa: MG007,MG010 why */",
        "-- NOQA:mg006\n", "-- noqa: MG100 no\n", "/* noqa: MG001"]

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_$]{0,12}", fullmatch=True)
sql_fragment = st.one_of(
    st.sampled_from(KEYWORDS).map(lambda word: word + " "),
    st.sampled_from(PUNCTUATION),  # unbalanced quotes, comments, mixed line ends, NUL, BOM
    st.sampled_from(STATEMENTS),
    st.tuples(st.sampled_from(STATEMENTS), st.integers(0, 120)).map(lambda pair: pair[0][: pair[1]]),  # truncated
    identifiers,
    st.sampled_from(NOQA),
    st.text(max_size=6),
    st.integers(1, 400).map(lambda depth: "(" * depth + "1" + ")" * depth),  # nesting (10k deep: huge_sql)
    st.integers(1, 400).map(lambda depth: "(" * depth),  # ... never closed
    st.integers(200, 3000).map(lambda size: "x" * size),  # long names (100k: huge_sql)
)
sql_texts = st.lists(sql_fragment, max_size=20).map("".join)
DIGIT = st.integers(0, 9)
INVALID_UTF8 = [b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"]


SEPARATORS = ["\n", "\n", "\r\n", "\r", " ", "\n-- c;\n", "/* ; */", "\n-- noqa: MG006 seeded rows\n"]
statement_texts = st.builds(
    lambda table, statements, separator: separator.join([*table, *statements]) + separator,
    st.sampled_from([[], [STATEMENTS[0]]]), st.lists(st.sampled_from(STATEMENTS), max_size=8),
    st.sampled_from(SEPARATORS),
)  # whole statements: these reach the proof


@st.composite
def sql_bytes(draw: st.DrawFn) -> bytes:
    """A migration file: whole statements, or SQL-ish soup, maybe with a BOM and an invalid UTF-8
    byte; or random bytes."""
    kind = draw(DIGIT)
    if kind == 0:
        return draw(st.binary(max_size=200))
    data = draw(statement_texts if kind >= 5 else sql_texts).encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(DIGIT) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(INVALID_UTF8)) + data[at:]
    return data


lint_codes = st.one_of(st.sampled_from(sorted(RULES)), st.from_regex(r"MG\d{3}", fullmatch=True), st.text(max_size=5))


def lines_of(text: str) -> list[str]:
    """The lines of a stream, split at LF only: what a terminal, `grep` or a CI log calls a line."""
    return text.removesuffix("\n").split("\n") if text else []


def line_count(data: bytes) -> int:
    """Lines as diagnostics count them: CRLF, CR and LF each end one."""
    return len(re.findall(rb"\r\n|\r|\n", data)) + 1


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
        assert diagnostic.code in RULES or diagnostic.code == "MG000"
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
    canonical, legacy = canonical_checksum(text), legacy_checksum(text)
    assert re.fullmatch(r"c1:[0-9a-f]{64}", canonical) and re.fullmatch(r"[0-9a-f]{1,8}", legacy)
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    body = normalize_newlines(text.removeprefix(bom))
    variants = [bom + body, bom + body.replace("\n", "\r\n"), bom + body.replace("\n", "\r")]
    if not body.startswith("\ufeff"):  # one BOM more or less: the same text
        variants += ["\ufeff" + body.replace("\n", "\r\n"), body.replace("\n", "\r")]
    for variant in variants:
        assert (canonical_checksum(variant), legacy_checksum(variant)) == (canonical, legacy)


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


NUL_SQL = "CREATE TABLE IF NOT EXISTS t (a);\nSELECT 'x\x00y';\n"
DEEP_INSERTS = ["INSERT INTO t VALUES " + "(" * 10_000 + "1" + ")" * 10_000 + ";",
                "INSERT INTO t VALUES " + "(" * 10_000 + ";"]


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


# ---------------------------------------------------------------------------------------------
# Strategies: manifests and projects

OUTSIDE = "\u2603OUTSIDE\u2603"  # stands for the sandbox's absolute `outside` folder
PATH_PARTS = ["..", "..", ".", "", "migrations", "cortexdb", "a", "sub", "日本", "x y", "~", "$HOME", "%2e%2e",
              "C:", "\\", "..\\..", "\x00", " ", "\u202e", "outside", ".cache", "NUL", "a" * 300]
MIGRATION_FILES = st.one_of(
    st.builds(lambda number, slug: f"{number:03d}_{slug}.sql", st.integers(0, 5), st.sampled_from(["a", "b_c", "x1"])),
    st.from_regex(r"\d{1,7}_[a-z0-9_]{0,8}\.(sql|SQL|txt)", fullmatch=True),
    st.builds(lambda number: f"{number:03d}_" + "a" * 300 + ".sql", st.integers(1, 3)),  # too long for the OS
)
ODD_FILE_NAMES = ["a\nb.sql", " .sql", "x.SQL", "-x.sql", "é.sql", "\x1b[31m.sql", "a:1:1: MG001 x.sql"]


def path_like(suffix: str) -> st.SearchStrategy[str]:
    """Relative and absolute paths, `..`, Windows forms, unicode, NUL, over-long names."""
    return st.builds(lambda prefix, parts, separator: prefix + separator.join([*parts, "f" + suffix]),
                     st.sampled_from(["", "", "", OUTSIDE + "/", "./", "C:/", "C:", "\\\\server\\share\\"]),
                     st.lists(st.sampled_from(PATH_PARTS), max_size=4), st.sampled_from(["/", "\\"]))


# Any TOML value: numbers, booleans, dates and times, arrays, tables, nested.
def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, min_size=1, max_size=3) | st.dictionaries(st.text(max_size=5), inner, min_size=1, max_size=3)


WRONG = st.recursive(
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(), st.booleans(), st.dates(), st.times(), st.datetimes(),
              st.datetimes(timezones=st.just(datetime.timezone.utc)), st.just([]), st.just({}), st.text(max_size=5)),
    _nested, max_leaves=6,
)
hostile_text = st.one_of(st.text(max_size=20), st.sampled_from([
    "", " ", "a\nb", "\"\"\"", "'''", "\\", "{{ x }}", "{% if %}", "__import__('os').system('id')",
    "\x00", "\r\n", "\u2028", "\x85", "é 😀", "\ud7ff\ue000", "a" * 1000,
]))
allow_tables = st.dictionaries(lint_codes, st.one_of(st.text(max_size=10), WRONG), max_size=3)
BAD = {
    "migrations": st.one_of(path_like(""), WRONG), "output": st.one_of(path_like(".py"), WRONG),
    "ledger": st.one_of(hostile_text, WRONG), "lock": st.one_of(path_like(".lock"), WRONG),
    "name": hostile_text, "file.db": st.one_of(path_like(".db"), hostile_text, WRONG),
    "purpose": WRONG, "file.sql": st.one_of(MIGRATION_FILES, path_like(".sql"), WRONG),
    "database": hostile_text, "description": WRONG, "allow": st.one_of(allow_tables, WRONG),
    "key": st.one_of(st.sampled_from(["file", "database", "generator", "databases", "migration", "allow"]),
                     st.text(max_size=6)),
}
LOCK_LINES = st.lists(st.one_of(
    st.builds(lambda version, file, digest: f"{version:03d} {file} c1:{digest} {digest}",
              st.integers(0, 6), MIGRATION_FILES, st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
    st.sampled_from(["<<<<<<< HEAD", "=======", ">>>>>>> b", "# c", "", "001 x"]),
    st.text(max_size=10)), max_size=4).map(lambda lines: "\n".join(lines).encode("utf-8"))
TEXT_EDITS = st.lists(st.tuples(
    st.sampled_from(["truncate", "insert", "crlf", "cr", "bom", "invalid", "duplicate_line"]),
    st.integers(0, 10_000),
    st.sampled_from(["[", "]", "[[migration]]", "=", '"', "'''", "\n", "\x00", "\ufeff", "[generator]", "x = 1\n", "#",
                     "é", "\\u0000", "\\"])), min_size=1, max_size=3)


@dataclass
class Spec:
    """One project: what its manifest says, the files beside it, and the command to run."""

    data: dict[str, Any]
    files: dict[str, bytes]  # paths relative to the project; only migrations/NAME are written
    symlinks: dict[str, str] = field(default_factory=dict)  # link (relative) -> OUTSIDE/..., PROJECT/..., LOOP
    lock: bytes | None = None  # migrations.lock before the run
    text_edits: list[tuple[str, int, str]] = field(default_factory=list)  # applied to the rendered manifest
    raw_manifest: bytes | None = None  # instead of the rendered manifest
    argv: list[str] = field(default_factory=list)


@st.composite
def valid_projects(draw: st.DrawFn) -> Spec:
    """A project whose manifest is valid: hostile text only where any text goes (descriptions,
    purposes, allow reasons); its SQL is anything."""
    names = ["main", "cortex", "memory"][: draw(st.integers(1, 3))]
    generator = {key: value for key, value in [("migrations", "migrations"), ("output", "cortexdb/_frozen.py"),
                                               ("ledger", "schema_migrations"), ("lock", "migrations.lock")]
                 if draw(st.booleans())}
    session = draw(st.sampled_from(names)) if draw(DIGIT) < 3 else None
    databases = {name: {"file": "sessions/{session_id}.db" if name == session else f"{name}.db",
                        "purpose": draw(hostile_text)} for name in names}
    migrations, files = [], {}
    for number in range(1, draw(st.integers(0, 4)) + 1):
        entry: dict[str, Any] = {"file": f"{number:03d}_m{number}.sql", "database": draw(st.sampled_from(names))}
        if draw(st.booleans()):
            entry["description"] = draw(hostile_text)
        if draw(DIGIT) < 2:
            entry["allow"] = draw(st.dictionaries(st.sampled_from(["MG006", "MG007", "MG010"]), hostile_text,
                                                  min_size=1, max_size=2))
        migrations.append(entry)
        files[f"migrations/{entry['file']}"] = draw(sql_bytes())
    data = {"generator": generator, "databases": databases, "migration": migrations}
    return Spec(data, files)


def _mutate(draw: st.DrawFn, spec: Spec) -> None:
    """One thing wrong with the project: a value, a key, a file, a link, the lock, the manifest text."""
    data = spec.data  # an earlier mutation may have put anything anywhere: look before using
    databases = data.get("databases") if isinstance(data.get("databases"), dict) else {}
    entries = data.get("migration") if isinstance(data.get("migration"), list) else []
    tables: list[tuple[str, dict[str, Any]]] = [("generator", data["generator"])] if isinstance(
        data.get("generator"), dict) else []
    tables += [("database", table) for table in databases.values() if isinstance(table, dict)]
    tables += [("migration", entry) for entry in entries if isinstance(entry, dict)]
    kind = draw(st.sampled_from(["value", "value", "value", "key", "name", "number", "missing", "unlisted",
                                 "symlink", "lock", "text", "raw"]))
    if kind == "value" and tables:
        where, table = draw(st.sampled_from(tables))
        keys = {"generator": ["migrations", "output", "ledger", "lock"], "database": ["file.db", "purpose"],
                "migration": ["file.sql", "database", "description", "allow"]}[where]
        key = draw(st.sampled_from(keys))
        table[key.split(".")[0]] = draw(BAD[key])
    elif kind == "key":  # an unknown key, or a known one with a value of the wrong type, anywhere
        _where, table = draw(st.sampled_from([("top", data), *tables]))
        table[draw(BAD["key"])] = draw(WRONG)
    elif kind == "name" and databases:
        old = draw(st.sampled_from(sorted(databases)))
        databases[draw(BAD["name"])] = databases.pop(old)
    elif kind == "number" and tables[-1:] and tables[-1][0] == "migration":  # a duplicate, a gap, out of range
        entry = draw(st.sampled_from([table for where, table in tables if where == "migration"]))
        entry["file"] = f"{draw(st.sampled_from([0, 1, 2, 7, 999, 1000000])):03d}_m.sql"
        spec.files[f"migrations/{entry['file']}"] = draw(sql_bytes())
    elif kind == "missing" and spec.files:
        del spec.files[draw(st.sampled_from(sorted(spec.files)))]
    elif kind == "unlisted":
        name = draw(st.one_of(MIGRATION_FILES, st.sampled_from(ODD_FILE_NAMES)))
        spec.files[f"migrations/{name}"] = draw(sql_bytes())
    elif kind == "symlink":
        link = draw(st.sampled_from(["migrations/001_m1.sql", "migrations/002_m2.sql", "migrations/009_x.sql",
                                     "migrations", "cortexdb"]))
        spec.symlinks[link] = draw(st.sampled_from(["OUTSIDE/evil.sql", "OUTSIDE", "PROJECT/migrations/001_m1.sql",
                                                    "LOOP", "PROJECT/nowhere", "PROJECT"]))
    elif kind == "lock":
        spec.lock = draw(st.one_of(st.binary(max_size=100), LOCK_LINES))
    elif kind == "text":
        spec.text_edits += draw(TEXT_EDITS)
    elif kind == "raw":
        spec.raw_manifest = draw(st.one_of(st.binary(max_size=200),
                                           st.dictionaries(st.text(max_size=8), WRONG, max_size=4)
                                           .map(lambda table: toml_document(table).encode())))


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    """A valid project with 0 to 3 things wrong with it (0 in about four cases in ten), and a command."""
    spec = draw(valid_projects())
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 1, 2, 3]))):
        _mutate(draw, spec)
    spec.argv = draw(command_lines(spec))
    return spec


@st.composite
def command_lines(draw: st.DrawFn, spec: Spec) -> list[str]:
    command = draw(st.sampled_from(["build", "build", "build", "check", "lint", "fix", "fix", "new", "unlock"]))
    fmt = "text" if command in ("new", "unlock") else draw(st.sampled_from(["text", "text", "json", "github", "sarif"]))
    head = ["lint", "--fix", "--format", fmt] if command == "fix" else [command, "--format", fmt]
    if command == "new":
        known = spec.data.get("databases")
        names = sorted(map(str, known)) if isinstance(known, dict) and known else ["main"]
        return [*head, "--database", draw(st.one_of(st.sampled_from(names), hostile_text)), "--", draw(hostile_text)]
    if command == "unlock":
        return [*head, "--", draw(st.one_of(st.sampled_from(["001", "2", "001_m1.sql"]), hostile_text))]
    if command in ("lint", "fix") and draw(st.booleans()):
        paths = draw(st.lists(st.sampled_from(["migrations", "migrations", "migrations/001_m1.sql", "nosuch.sql", "."]),
                              min_size=1, max_size=2))
        return [*head, "--", *paths]
    return head


# ---------------------------------------------------------------------------------------------
# TOML, written by hand: the strategies make structures that tomllib and the manifest then judge


def toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return '"' + "".join(escapes.get(c, f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
                         for c in text) + '"'


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and abs(value) == float("inf"):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def toml_document(data: Mapping[str, Any]) -> str:
    """Tables as [headers] two levels deep, arrays of tables as [[headers]], the rest inline."""
    lines: list[str] = []

    def table(prefix: list[str], body: Mapping[str, Any], depth: int) -> None:
        def is_table(value: Any) -> bool:
            return isinstance(value, dict) and depth < 2

        def is_tables(value: Any) -> bool:
            return isinstance(value, list) and bool(value) and all(isinstance(i, dict) for i in value) and depth < 1

        for key, value in body.items():
            if not is_table(value) and not is_tables(value):
                lines.append(f"{toml_key(key)} = {toml_value(value)}")
        for key, value in body.items():
            name = ".".join(toml_key(k) for k in [*prefix, key])
            if is_table(value):
                lines.extend(["", f"[{name}]"])
                table([*prefix, key], value, depth + 1)
            elif is_tables(value):
                for item in value:
                    lines.extend(["", f"[[{name}]]"])
                    table([*prefix, key], item, depth + 1)

    table([], data, 0)
    return "\n".join(lines) + "\n"


def render_manifest(spec: Spec, outside: Path) -> bytes:
    if spec.raw_manifest is not None:
        return spec.raw_manifest
    data = toml_document(spec.data).replace(OUTSIDE, str(outside)).encode("utf-8")
    for kind, at, fragment in spec.text_edits:
        at %= len(data) + 1
        if kind == "truncate":
            data = data[:at]
        elif kind == "insert":
            data = data[:at] + fragment.encode("utf-8") + data[at:]
        elif kind == "crlf":
            data = data.replace(b"\n", b"\r\n")
        elif kind == "cr":
            data = data[:at] + b"\r" + data[at:]
        elif kind == "bom":
            data = b"\xef\xbb\xbf" + data
        elif kind == "invalid":
            data = data[:at] + b"\xff" + data[at:]
        elif kind == "duplicate_line":
            lines = data.split(b"\n")
            lines.insert(at % len(lines), lines[at % len(lines)])
            data = b"\n".join(lines)
    return data


# ---------------------------------------------------------------------------------------------
# The harness: a sandboxed project, the generator in process, the contract of every run

PROJECT_IN_SANDBOX = "s1/s2/s3/s4/s5/project"
SENTINEL = b"# hand-made output: a failed build must leave this byte-identical\n"
DIAGNOSTIC = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>[A-Z]{2}\d{3}) (?P<message>.*)$")
# Bugs in files this suite does not own, each with a strict xfail reproducer at the end of this
# file. An example that hits one is discarded, not failed, so that the search goes on for others;
# whoever fixes one drops its entry here and flips its xfail.
KNOWN_CRASHES: dict[tuple[str, str, str], str] = {}  # (file, function, exception) -> reproducer; none now


_counter = itertools.count()


@dataclass
class Run:
    code: int
    out: str
    err: str


def note(text: str) -> None:
    """hypothesis.note inside a property; a print (shown when the test fails) elsewhere."""
    try:
        hypothesis_note(text)
    except InvalidArgument:
        print(text)


def sandbox(tmp_path: Path) -> Iterator[Path]:
    """The sandbox of one example, `for base in sandbox(tmp_path): ...`; its project is removed
    after it. The folders around the project stay for the next example (making and removing
    folders is most of an example's cost on some disks), so they must be left as they were."""
    base = tmp_path / "sandbox"
    try:
        yield base
    finally:
        shutil.rmtree(base / PROJECT_IN_SANDBOX, ignore_errors=True)
        if snapshot(base) != {"outside/evil.sql": EVIL}:  # the example failed; start the next one afresh
            shutil.rmtree(base, ignore_errors=True)


EVIL = b"CREATE TABLE IF NOT EXISTS evil (x);\n"


def materialize(spec: Spec, base: Path) -> Path:
    """Write the project five folders deep in `base`; `base/outside` is what escapes would reach."""
    project = base / PROJECT_IN_SANDBOX
    outside = base / "outside"
    (project / "migrations").mkdir(parents=True)
    outside.mkdir(exist_ok=True)
    (outside / "evil.sql").write_bytes(EVIL)
    (project / "cortexdb").mkdir()
    (project / "cortexdb" / "_frozen.py").write_bytes(SENTINEL)
    if spec.lock is not None:
        (project / "migrations.lock").write_bytes(spec.lock)
    for rel, data in spec.files.items():
        path = project / rel
        if path.parent == project / "migrations":
            with suppress(OSError):  # a name this file system refuses (too long): the manifest still lists it
                path.write_bytes(data)
    for link, target in spec.symlinks.items():
        path = project / link
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        with suppress(OSError):
            path.unlink(missing_ok=True)
        with suppress(OSError):  # an earlier link made this path impossible (its folder is a file)
            if target == "LOOP":  # link -> loop.sql -> link
                target = str(path.parent / "loop.sql")
                Path(target).unlink(missing_ok=True)
                Path(target).symlink_to(path)
            path.symlink_to(target.replace("OUTSIDE", str(outside)).replace("PROJECT", str(project)))
    (project / "manifest.toml").write_bytes(render_manifest(spec, outside))
    return project


def run_generator(argv: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch,
                  capsys: pytest.CaptureFixture[str]) -> Run:
    capsys.readouterr()
    with monkeypatch.context() as patch:
        patch.chdir(cwd)
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: a usage error
            code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return Run(code, out, err)


def known_crash(argv: list[str], cwd: Path) -> bool:
    """Whether a run that exited 123 crashes at a place KNOWN_CRASHES names (rerun with --debug)."""
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        main(["--debug", *argv])
    except Exception as exc:  # the crash is what this looks at
        note(f"crash: {''.join(traceback.format_exception(exc))}")
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if f"{os.sep}generator{os.sep}" in f.filename]
        if frames:
            where = (Path(frames[-1].filename).name, frames[-1].name)
            return any((*where, kind.__name__) in KNOWN_CRASHES for kind in type(exc).__mro__)
    finally:
        os.chdir(previous)
    return False


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every file (its bytes) and symlink (its target) under `root`, by relative path."""
    found: dict[str, bytes | str] = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = Path(folder) / name
            if path.is_symlink():
                found[path.relative_to(root).as_posix()] = "-> " + os.readlink(path)
            elif path.is_file():
                found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def check_pure_data(path: Path) -> None:
    """The module is a docstring and assignments of literals: nothing in it can run."""
    tree = ast.parse(path.read_bytes())
    for node in tree.body:
        if isinstance(node, ast.Expr):
            assert isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)
        else:
            assert isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets)
            ast.literal_eval(node.value)


def check_output_format(run: Run, argv: list[str], before: Mapping[str, bytes | str]) -> None:
    options = argv[: argv.index("--")] if "--" in argv else argv  # after "--" come operands
    fmt = options[options.index("--format") + 1] if "--format" in options else "text"
    command = argv[0]
    if fmt == "text":
        for line in lines_of(run.err):
            if command == "lint" and "--fix" in argv and line.startswith("fixed "):
                continue
            if run.code == 2 and line.startswith("usage: "):
                break  # argparse's own usage error
            match = DIAGNOSTIC.match(line)
            assert match, f"not a diagnostic line: {line!r}"
            assert line.isprintable(), f"unprintable characters in {line!r}"
            assert int(match["line"]) >= 1 and int(match["col"]) >= 1
            source = before.get(f"{PROJECT_IN_SANDBOX}/{match['path']}")
            # `new` reports the manifest it appended to, then restored: those lines are gone again.
            # The lock's line numbers: test_lock_lines_are_the_lines_of_the_file.
            if isinstance(source, bytes) and command != "new" and not match["path"].endswith(".lock"):
                assert int(match["line"]) <= line_count(source), f"{line!r} is past the end of {match['path']}"
    elif fmt in ("json", "sarif"):
        document = json.loads(run.out)  # stdout is one document
        if fmt == "json":
            assert all({"path", "line", "col", "code", "message"} <= set(d) for d in document)
            assert all(d["line"] >= 1 and d["col"] >= 1 for d in document)
    else:
        assert all(re.match(r"::(error|warning|notice) file=", line) for line in lines_of(run.out)), run.out


def known_format_bug(run: Run, argv: list[str], spec: Spec | None) -> bool:
    """A diagnostic split over lines by a bug this suite does not own (see KNOWN_CRASHES)."""
    if spec is None:
        return False
    entries = spec.data.get("migration")
    reasons = [str(reason) for entry in entries if isinstance(entry, dict) and isinstance(entry.get("allow"), dict)
               for reason in entry["allow"].values()] if isinstance(entries, list) else []
    if "; allowed (" in run.err and not all(r.isprintable() for r in reasons):
        return True  # test_an_allow_reason_with_a_newline_keeps_mg200_on_one_line
    if any("SQLite rejects this statement" in line and not line.isprintable() for line in lines_of(run.err)):
        return True  # test_sqlite_error_messages_stay_printable
    if argv[0] == "unlock" and not argv[-1].isprintable():
        return True  # test_unlock_keeps_an_odd_target_on_one_line
    odd = any(not Path(rel).name.isprintable() for rel in spec.files)
    return argv[0] == "lint" and "--" in argv and odd  # test_lint_of_a_folder_keeps_odd_file_names_on_one_line


def check_run(run: Run, argv: list[str], project: Path, base: Path, before: Mapping[str, bytes | str],
              spec: Spec | None = None) -> None:
    """The contract of every run, whatever the input."""
    note(f"argv={argv!r} exit={run.code}\nstdout={run.out[-3000:]}\nstderr={run.err[-3000:]}")
    if run.code == 123:
        assume(not known_crash(argv, project))
    assert run.code in (0, 1, 2), run.err
    assert "internal error" not in run.err and "Traceback" not in run.err + run.out
    try:
        check_output_format(run, argv, before)
    except AssertionError:
        assume(not known_format_bug(run, argv, spec))
        raise

    after = snapshot(base)
    changed = {rel for rel in before.keys() | after.keys() if before.get(rel) != after.get(rel)}
    changed = {rel for rel in changed if "/.cache/" not in rel}  # the build cache may come and go
    inside = f"{PROJECT_IN_SANDBOX}/"
    command = argv[0]
    if command == "lint" and "--fix" in argv:  # whatever the exit: guards added to SQL files, nothing else
        for rel in changed:
            old, new = before.get(rel), after.get(rel)
            assert rel.endswith(".sql") and isinstance(old, bytes) and isinstance(new, bytes), rel
            assert new.decode() == fix_text("f.sql", old.decode()), rel
    elif run.code != 0 or command in ("check", "lint"):
        assert not changed, f"exit {run.code} of {command} changed {sorted(changed)}"
    elif command == "build":
        manifest = load_manifest(project / "manifest.toml")
        outputs = [Path(os.path.realpath(project / rel)) for rel in (manifest.output, manifest.lock)]  # via links
        assert changed <= {path.relative_to(base.resolve()).as_posix() for path in outputs}, changed
        check_pure_data(project / manifest.output)
    elif command == "new":  # an appended manifest entry and one new file
        manifest_path = inside + "manifest.toml"
        old, new = before[manifest_path], after[manifest_path]
        assert isinstance(old, bytes) and isinstance(new, bytes) and new.startswith(old)
        (created,) = changed - {manifest_path}
        assert created.startswith(inside + "migrations/") and created not in before
    else:  # unlock: the lock file only
        assert all(rel.startswith(inside) and not rel.endswith((".sql", ".toml")) for rel in changed), changed


def run_spec(spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Run:
    """Run the spec's command in a sandbox, check the contract; after a good build, `check` must
    find everything up to date and a second build must write nothing."""
    for base in sandbox(tmp_path):
        project = materialize(spec, base)
        note(f"manifest:\n{(project / 'manifest.toml').read_bytes()!r}\nfiles: {sorted(spec.files)}")
        before = snapshot(base)
        run = run_generator(spec.argv, project, monkeypatch, capsys)
        with suppress(InvalidArgument):  # outside a property there are no statistics to keep
            event(f"{spec.argv[0]}{' --fix' if '--fix' in spec.argv else ''}: exit {run.code}")
        check_run(run, spec.argv, project, base, before, spec)
        if spec.argv[0] == "build" and run.code == 0:
            built = snapshot(base)
            assert run_generator(["check"], project, monkeypatch, capsys).code == 0
            again = run_generator(["build"], project, monkeypatch, capsys)
            assert again.code == 0 and "wrote" not in again.out, again.out
            assert {k: v for k, v in snapshot(base).items() if "/.cache/" not in k} == {
                k: v for k, v in built.items() if "/.cache/" not in k}
        return run
    raise AssertionError("unreachable")


# ---------------------------------------------------------------------------------------------
# Whole projects, every command


@fuzz(800, spec=specs())
def test_any_project_ends_in_diagnostics(spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    run_spec(spec, tmp_path, monkeypatch, capsys)


test_any_project_ends_in_diagnostics_soak = test_any_project_ends_in_diagnostics.soak_twin


@fuzz(400, data=st.one_of(st.binary(max_size=300),
                          st.builds(lambda spec: render_manifest(spec, Path("/x")), specs())))
def test_load_manifest_raises_only_generator_error(data: bytes, tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "manifest.toml").write_bytes(data)
    try:
        load_manifest(tmp_path / "manifest.toml")
    except GeneratorError as exc:
        assert exc.exit_code == 2 and exc.diagnostics
        assert all(str(d).isprintable() and d.line >= 1 for d in exc.diagnostics), exc


test_load_manifest_raises_only_generator_error_soak = test_load_manifest_raises_only_generator_error.soak_twin


# ---------------------------------------------------------------------------------------------
# Huge input: 100k-character names and literals, parentheses 10k deep, through whole commands

HUGE_TEMPLATES = [
    "CREATE TABLE IF NOT EXISTS {name} (a);",
    "CREATE TABLE IF NOT EXISTS t ({name} INTEGER);",
    'CREATE TABLE IF NOT EXISTS "{name}" (a);',
    "CREATE INDEX IF NOT EXISTS {name} ON t (a);",
    "ALTER TABLE t ADD COLUMN IF NOT EXISTS {name} TEXT;",
    "INSERT OR IGNORE INTO t VALUES ('{name}');",
    "INSERT INTO {name} VALUES (1);",
    "-- {name}\nSELECT 1;",
    "/* {name} */ SELECT 1;",
    "SELECT {open}1{close};",
    "INSERT INTO t VALUES {open}1{close};",
    "INSERT OR IGNORE INTO t SELECT {open}1{close};",
    "CREATE TABLE IF NOT EXISTS t (a CHECK {open}a{close});",
    "CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT {open}1{close}; END;",
    "CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t {begins}SELECT 1;",
    "SELECT {open}1;",
    "SELECT 1{close};",
    "SELECT '{name};",
    'SELECT "{name};',
]


@st.composite
def huge_sql(draw: st.DrawFn) -> str:
    unit = draw(st.sampled_from(["x", "é", "_9", "日"]))
    name = unit * (draw(st.integers(10_000, 100_000)) // len(unit))
    depth = draw(st.integers(1_000, 10_000))
    statement = draw(st.sampled_from(HUGE_TEMPLATES)).format(name=name, open="(" * depth, close=")" * depth,
                                                              begins="BEGIN " * depth)
    before = draw(st.sampled_from(["", "CREATE TABLE IF NOT EXISTS t (a);\n"]))
    return before + statement + draw(st.sampled_from(["\n", "", "\r\n"]))


@fuzz(12, sql=huge_sql(), command=st.sampled_from(["build", "lint", "fix"]))
def test_huge_names_and_deep_nesting_end_in_diagnostics(sql: str, command: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = {"databases": {"main": {"file": "main.db"}}, "migration": [{"file": "001_huge.sql", "database": "main"}]}
    argv = ["lint", "--fix"] if command == "fix" else [command]
    run_spec(Spec(data, {"migrations/001_huge.sql": sql.encode("utf-8")}, argv=argv), tmp_path, monkeypatch, capsys)


test_huge_names_and_deep_nesting_end_in_diagnostics_soak = (
    test_huge_names_and_deep_nesting_end_in_diagnostics.soak_twin)


# ---------------------------------------------------------------------------------------------
# The frozen module holds text only as data: whatever the text, it comes back exactly

HOSTILE_SAMPLES = ['"""', "'''", "\\", "\\n", "{{ 7*7 }}", "{% raw %}", "{# c #}", '"); import os; os._exit(3) #',
                   "__import__('os')._exit(4)", "\n", "\r\n", "\r", "\u2028", "\x85", "é 😀", "\t", "%(x)s", "${x}"]
no_nul = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
hostile_strings = st.lists(st.one_of(st.sampled_from(HOSTILE_SAMPLES), no_nul), min_size=1, max_size=4).map("".join)


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_name(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def load_module(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"frozen_fuzz_{next(_counter)}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@fuzz(
    80,
    description=hostile_strings, purpose=hostile_strings, literal=hostile_strings,
    name=hostile_strings.filter(lambda s: not s.lower().startswith(("sqlite_", "schema_migrations"))),
    comment=hostile_strings.map(lambda s: s.replace("*/", "* /")),
    line_comment=hostile_strings.map(lambda s: re.sub(r"[\r\n]", " ", s)),
    db_file=hostile_strings.map(lambda s: "".join(c for c in s if c.isprintable() and c not in "/\\{}:") + ".db"),
    database=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
    slug=st.from_regex(r"[a-z0-9]{1,8}(_[a-z0-9]{1,8}){0,2}", fullmatch=True),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_text_round_trips_exactly_as_data(description: str, purpose: str, literal: str, name: str, comment: str,
                                          line_comment: str, db_file: str, database: str, slug: str, newline: str,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    create = (f"CREATE TABLE IF NOT EXISTS {sql_name(name)} (id INTEGER PRIMARY KEY, "
              f"v TEXT DEFAULT {sql_literal(literal)} /* {comment} */);")
    insert = f"INSERT OR IGNORE INTO {sql_name(name)} (id, v) VALUES (1, {sql_literal(literal)});"
    # A `--` comment ends at LF only, in SQLite as here: with CR line ends it would run on.
    head = f"/* {comment} */{newline}" if newline == "\r" else f"-- {line_comment}{newline}"
    file = f"001_{slug}.sql"
    data = {"databases": {database: {"file": db_file, "purpose": purpose}},
            "migration": [{"file": file, "database": database, "description": description}]}
    files = {f"migrations/{file}": (head + create + newline + insert + newline).encode("utf-8")}
    for base in sandbox(tmp_path):
        project = materialize(Spec(data, files), base)
        run = run_generator(["build"], project, monkeypatch, capsys)
        assert run.code == 0, run.err
        check_pure_data(project / "cortexdb" / "_frozen.py")  # before running a line of it
        frozen = load_module(project / "cortexdb" / "_frozen.py")

    (migration,) = frozen.MIGRATIONS
    assert migration["description"] == (description or slug.replace("_", " "))  # "" means: from the name
    assert (migration["file"], migration["database"]) == (file, database)
    assert [step[2] for step in migration["steps"]] == [create, insert]
    first = line_count(head.encode()) + (0 if head.endswith(("\n", "\r")) else -1)
    assert [step[1] for step in migration["steps"]] == [first, first + line_count((create + newline).encode()) - 1]
    db = frozen.DATABASES[database]
    assert (db["file"], db["purpose"]) == (db_file, purpose)
    (table,) = [row for row in db["schema"] if row[0] == "table"]
    assert table[1] == name and sql_literal(literal) in table[3]


test_text_round_trips_exactly_as_data_soak = test_text_round_trips_exactly_as_data.soak_twin


@fuzz(60, description=st.one_of(hostile_strings, st.text()))
def test_new_keeps_any_description_as_data(description: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    for base in sandbox(tmp_path):
        project = materialize(Spec({"databases": {"main": {"file": "main.db"}}}, {}), base)
        before = snapshot(base)
        argv = ["new", "--database", "main", "--", description]
        run = run_generator(argv, project, monkeypatch, capsys)
        check_run(run, argv, project, base, before)
        if run.code != 0:
            return  # nothing to name the file by: refused, nothing written
        assert run_generator(["build"], project, monkeypatch, capsys).code == 0
        check_pure_data(project / "cortexdb" / "_frozen.py")
        (migration,) = load_module(project / "cortexdb" / "_frozen.py").MIGRATIONS
    assert migration["description"] == " ".join(description.split())


test_new_keeps_any_description_as_data_soak = test_new_keeps_any_description_as_data.soak_twin


# ---------------------------------------------------------------------------------------------
# Regressions through whole commands: the smallest example of each bug the properties found

ONE_DB: dict[str, Any] = {"databases": {"main": {"file": "main.db"}},
                          "migration": [{"file": "001_a.sql", "database": "main"}]}
GOOD = b"CREATE TABLE IF NOT EXISTS t (a INTEGER);\n"


@dataclass
class Outcome:
    run: Run
    project: Path
    base: Path


def build_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                  data: Mapping[str, Any] | bytes, files: Mapping[str, bytes], argv: tuple[str, ...] = ("build",),
                  lock: bytes | None = None, contract: bool = True) -> Outcome:
    """Run `argv` on a project made of `data` (or raw manifest bytes) and `files`; with `contract`,
    also check what every run must satisfy."""
    spec = Spec(dict(data) if isinstance(data, Mapping) else {}, dict(files), lock=lock, argv=list(argv),
                raw_manifest=data if isinstance(data, bytes) else None)
    base = tmp_path / f"e{next(_counter)}"  # kept: the caller looks at it after the run
    project = materialize(spec, base)
    before = snapshot(base)
    run = run_generator(spec.argv, project, monkeypatch, capsys)
    if contract:
        check_run(run, spec.argv, project, base, before)
    return Outcome(run, project, base)


def test_nul_in_sql_fails_the_build_at_its_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": NUL_SQL.encode()})
    assert outcome.run.code == 1
    assert "migrations/001_a.sql:2:10: MG100 NUL character" in outcome.run.err


@pytest.mark.parametrize("sql", DEEP_INSERTS)
def test_deep_nesting_fails_the_build_with_findings(sql: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": b"CREATE TABLE IF NOT EXISTS t (a);\n" + sql.encode()}
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, files)
    assert outcome.run.code == 1 and " MG006 " in outcome.run.err


@pytest.mark.parametrize(("data", "links", "code"), [
    pytest.param(ONE_DB, {"migrations/001_a.sql": "LOOP"}, "MF008", id="listed-file-in-a-loop"),
    pytest.param(ONE_DB, {"migrations/009_x.sql": "LOOP"}, "MF009", id="unlisted-file-in-a-loop"),
])
def test_a_symlink_loop_is_refused_not_a_crash(data: dict[str, Any], links: dict[str, str], code: str,
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Path.resolve() raises RuntimeError on a loop: _leaves and display_path crashed (exit 123)."""
    spec = Spec(data, {"migrations/001_a.sql": GOOD}, symlinks=links, argv=["build"])
    run = run_spec(spec, tmp_path, monkeypatch, capsys)
    assert run.code == 2 and f" {code} " in run.err


@pytest.mark.parametrize(("change", "code"), [
    pytest.param({"generator": {"output": "a\x00.py"}}, "MF008", id="nul-in-output"),
    pytest.param({"generator": {"migrations": "m\x00"}}, "MF008", id="nul-in-folder"),
    pytest.param({"migration": [{"file": "001_" + "a" * 300 + ".sql", "database": "main"}]}, "MF006",
                 id="file-name-too-long"),
    pytest.param({"generator": {"migrations": "a" * 300}}, "MF006", id="folder-name-too-long"),
    pytest.param({"migration": [{"file": "001_a.sql", "database": ""}]}, "MF004", id="empty-database"),
    pytest.param({"migration": [{"file": "", "database": "main"}, {"file": "001_a.sql", "database": "main"}]},
                 "MF005", id="empty-file"),
    pytest.param({"databases": {"main": {"file": ""}}}, "MF008", id="empty-database-file"),
    pytest.param({"databases": {"main": {"file": "x.db"}, "b": {"file": "./x.db"}}}, "MF003", id="same-file-dot"),
    pytest.param({"databases": {"main": {"file": "x.db"}, "b": {"file": "X.db"}}}, "MF003", id="same-file-case"),
    pytest.param({"migration": [{"file": "001_a.sql\n", "database": "main"}]}, "MF005", id="name-then-newline"),
    pytest.param({"migration": [{"file": "\u0661\u0662\u0663_a.sql", "database": "main"}]}, "MF005",
                 id="arabic-digits"),
    pytest.param({"generator": {"ledger": "schema_migrations\n"}}, "MF003", id="ledger-then-newline"),
    pytest.param({"databases": {"main\n": {"file": "main.db"}}}, "MF003", id="database-name-then-newline"),
    pytest.param({"migration": [{"file": "001_a.sql", "database": "main", "allow": {"MG007\n": "why"}}]}, "MF003",
                 id="allow-code-then-newline"),
    pytest.param({"generator": {"lock": "\u202e/f.lock"}}, "MF003", id="right-to-left-override-in-lock"),
    pytest.param({"generator": {"output": "a\nb.py"}}, "MF003", id="newline-in-output"),
    pytest.param({"databases": {"main": {"file": "a\tb.db"}}}, "MF003", id="tab-in-database-file"),
])
def test_manifest_values_that_crashed_or_slipped_through(change: dict[str, Any], code: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = {**ONE_DB, **change}
    outcome = build_project(tmp_path, monkeypatch, capsys, data, {"migrations/001_a.sql": GOOD})
    assert outcome.run.code == 2, outcome.run.err
    assert f" {code} " in outcome.run.err


def test_a_key_with_a_newline_stays_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = {**ONE_DB, "a\nb": 1, "databases": {"main": {"file": "main.db", "c\rd": 2}}}
    outcome = build_project(tmp_path, monkeypatch, capsys, data, {"migrations/001_a.sql": GOOD})
    assert "unknown key '\"a\\nb\"'" in outcome.run.err
    assert "unknown key 'databases.main.\"c\\rd\"'" in outcome.run.err


def test_an_unlisted_file_with_a_newline_in_its_name_stays_on_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": GOOD, "migrations/a\nb.sql": GOOD}
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, files)
    assert "migrations/a\\nb.sql:1:1: MF009 " in outcome.run.err


def test_manifest_lines_are_toml_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """U+2028 (and \\f, \\x85, ...) end a line for str.splitlines() but not for TOML: the lines were off."""
    text = ('# a\u2028b\x85c\n[databases.main]\nfile = "main.db"\n\n[[migration]]\nfile = "001_a.sql"\n'
            'database = "main"\ncolour = 1\n')
    outcome = build_project(tmp_path, monkeypatch, capsys, text.encode(), {"migrations/001_a.sql": GOOD})
    assert outcome.run.err.startswith("manifest.toml:8:1: MF002 unknown key 'colour'"), outcome.run.err


# ---------------------------------------------------------------------------------------------
# Regressions: bugs this suite found outside the files it owned, each the smallest reproducer.


@pytest.mark.parametrize("statement", ["COMMIT;", "END;", "ROLLBACK;", "COMMIT;\nSELECT * FROM nosuch;"])
def test_transaction_control_in_a_migration_is_not_a_crash(statement: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": statement.encode()}
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, files, contract=False)
    assert outcome.run.code == 1 and " MG008 " in outcome.run.err, outcome.run.err


def test_the_proof_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    sql = (b"CREATE TABLE IF NOT EXISTS t (x);\nCOMMIT;\nATTACH DATABASE 'pwned.db' AS p;\n"
           b"CREATE TABLE IF NOT EXISTS p.t (x);\nDETACH p;\nBEGIN;\n")
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": sql}, contract=False)
    assert outcome.run.code == 1
    assert not (outcome.project / "pwned.db").exists()


@pytest.mark.parametrize("output", ["manifest.toml/x.py", "a" * 300 + "/x.py"])
def test_an_output_that_cannot_be_written_is_a_diagnostic(output: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = {**ONE_DB, "generator": {"output": output}}
    outcome = build_project(tmp_path, monkeypatch, capsys, data, {"migrations/001_a.sql": GOOD}, contract=False)
    assert outcome.run.code == 2 and "internal error" not in outcome.run.err, outcome.run.err


def test_a_lock_file_that_is_not_utf8_is_a_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": GOOD}, lock=b"\xff\n",
                            contract=False)
    assert outcome.run.code == 1 and " MG300 " in outcome.run.err, outcome.run.err


def test_an_allow_reason_with_a_newline_keeps_mg200_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = {**ONE_DB, "migration": [{"file": "001_a.sql", "database": "main", "allow": {"MG007": "one\ntwo"}}]}
    sql = b"CREATE TABLE IF NOT EXISTS t (x);\nALTER TABLE t RENAME TO u;\n"
    outcome = build_project(tmp_path, monkeypatch, capsys, data, {"migrations/001_a.sql": sql}, contract=False)
    assert outcome.run.code == 0
    assert all(DIAGNOSTIC.match(line) for line in lines_of(outcome.run.err)), outcome.run.err


def test_lint_of_a_folder_keeps_odd_file_names_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": GOOD, "migrations/a\nb.sql": b"CREATE TABLE t (x);\n"}
    argv = ("lint", "--manifest", "none.toml", "migrations")  # no manifest: lint the folder alone
    outcome = build_project(tmp_path, monkeypatch, capsys, b"", files, argv=argv, contract=False)
    assert outcome.run.code == 1
    assert all(DIAGNOSTIC.match(line) for line in lines_of(outcome.run.err)), outcome.run.err


def test_unlock_keeps_an_odd_target_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": GOOD},
                            argv=("unlock", "--", "\x1b[2J"), contract=False)
    assert outcome.run.code == 2
    assert all(line.isprintable() for line in lines_of(outcome.run.err)), outcome.run.err


def test_lock_lines_are_the_lines_of_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": GOOD}, lock=b"# c\x0by\n",
                            contract=False)
    assert "migrations.lock:2:" not in outcome.run.err, outcome.run.err  # one line, a comment


def test_sqlite_error_messages_stay_printable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": b"\x1bCREATE TABLE IF NOT EXISTS t (a);\n"}
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, files, contract=False)
    assert outcome.run.code == 1 and " MG100 " in outcome.run.err
    assert all(line.isprintable() for line in lines_of(outcome.run.err)), outcome.run.err
