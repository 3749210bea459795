"""Splitting SQL files into statements, as SQLite's own `complete_statement` sees them."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given
from hypothesis import strategies as st

from generator.sqlsplit import LineIndex, Statement, comments, split

TRIGGER = (
    "CREATE TRIGGER tr AFTER INSERT ON t BEGIN\n"
    "  INSERT INTO log VALUES (';');\n"
    "  UPDATE x SET a = 'END;'; -- END;\n"
    "END;"
)


def test_trigger_body_stays_whole() -> None:
    text = f"{TRIGGER}\nSELECT 1;\n"
    first, second = split(text)
    assert first.text == TRIGGER
    assert (second.text, second.line, second.col) == ("SELECT 1;", 5, 1)


def test_leading_comments_are_not_part_of_a_statement() -> None:
    text = "-- head;\n/* block; */  CREATE TABLE t (a);\n"
    (statement,) = split(text)
    assert statement == Statement("CREATE TABLE t (a);", 2, 15, 23, 42, True)


def test_semicolons_inside_strings_names_and_comments() -> None:
    text = "SELECT ';', \"a;b\", [c;d], `e;f` /* ; */ -- ;\n;SELECT 2;"
    assert [s.text for s in split(text)] == [text[:-9], "SELECT 2;"]


def test_crlf_and_bom() -> None:
    text = "\ufeffSELECT 1;\r\n\r\n  SELECT 2;\r\n"
    first, second = split(text)
    assert (first.line, first.col, first.start) == (1, 1, 1)
    assert (second.line, second.col) == (3, 3)
    assert second.text == "SELECT 2;"


def test_unterminated_tail_is_incomplete() -> None:
    text = "SELECT 1;\nCREATE TABLE t (a)\n-- trailing\n\n"
    first, tail = split(text)
    assert first.complete and not tail.complete
    assert tail.text == "CREATE TABLE t (a)\n-- trailing"
    assert tail.end == len(text) - 2


@pytest.mark.parametrize("text", ["", "\n", "-- only; a comment", "/* c */\n-- d\n", ";;\n;"])
def test_nothing_to_run(text: str) -> None:
    assert split(text) == []


def test_unterminated_block_comment_at_the_end_is_trivia() -> None:
    assert [s.text for s in split("SELECT 1; /* never closed; ")] == ["SELECT 1;"]


def test_complete_statement_is_asked_once_per_plain_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[str] = []
    real = sqlite3.complete_statement

    def counting(text: str) -> bool:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(sqlite3, "complete_statement", counting)
    text = "INSERT OR IGNORE INTO t VALUES ('a;b');\n" * 2000
    assert len(split(text)) == 2000
    assert len(calls) == 2000
    calls.clear()
    # An unterminated string swallows every later ';': nothing left to ask SQLite about.
    (tail,) = split("SELECT 'open;\n" + "SELECT 1;\n" * 2000)
    assert not tail.complete and calls == []


def test_comments_are_found_outside_strings() -> None:
    text = "SELECT '-- no', \"/* no */\" -- yes\r\n/* and; yes */;"
    assert [c.text for c in comments(text)] == ["-- yes", "/* and; yes */"]


def test_line_index_matches_splitlines() -> None:
    text = "a\r\nbc\rd\n\nef"
    index = LineIndex(text)
    assert [index.position(i) for i in range(len(text))] == [
        (1, 1), (1, 2), (1, 3), (2, 1), (2, 2), (2, 3), (3, 1), (3, 2), (4, 1), (5, 1), (5, 2),
    ]  # fmt: skip


FIXED_STATEMENTS = [
    "SELECT 1;",
    "CREATE TABLE t (a TEXT DEFAULT ';', b TEXT CHECK (b <> 'END;'));",
    TRIGGER,
    "CREATE TEMP TRIGGER x BEFORE DELETE ON t BEGIN DELETE FROM y; END;",
    'SELECT "a;b", [c;d], `e;f` FROM t;',
    "SELECT 1 /* ; */ + 2;",
    "SELECT 1 -- ;\n;",
]
statements = st.one_of(
    st.sampled_from(FIXED_STATEMENTS),
    st.text(st.characters(blacklist_characters="'\x00"), max_size=20).map(lambda s: f"SELECT '{s}';"),
)
trivia = st.lists(
    st.sampled_from(["", " ", "\n", "\r\n", "\t", "-- c;\n", "/* ; */", "/* a\n b; */ "]),
    max_size=3,
).map("".join)


@given(st.lists(st.tuples(trivia, statements), max_size=8), trivia)
def test_split_recovers_the_statements(parts: list[tuple[str, str]], tail: str) -> None:
    text = "".join(before + statement for before, statement in parts) + tail
    found = split(text)
    assert [s.text for s in found] == [statement for _, statement in parts]
    index = LineIndex(text)
    for s in found:
        assert s.complete
        assert text[s.start : s.end] == s.text
        assert (s.line, s.col) == index.position(s.start)
