"""The tokenizer the `c2:` checksum is defined by, against the SQLite that runs the tests."""

from __future__ import annotations

import _sqlite3
import ctypes
import sqlite3

import pytest

from generator.sqltokens import KEYWORDS, significant, tokenize


def test_keywords_are_sqlites() -> None:
    lib = ctypes.CDLL(_sqlite3.__file__)  # the library the sqlite3 module runs on
    lib.sqlite3_keyword_name.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_int)]
    names = set()
    for index in range(lib.sqlite3_keyword_count()):
        name, size = ctypes.c_char_p(), ctypes.c_int()
        lib.sqlite3_keyword_name(index, ctypes.byref(name), ctypes.byref(size))
        names.add((name.value or b"")[: size.value].decode())
    assert names == KEYWORDS


def test_tokens_cover_the_text_exactly() -> None:
    text = "SELECT 'a''b' \"c\"\"d\" [e] `f` x'0a' 1.5e3 0x1g $v(x) ?1 :n -- c\r still\n/* b */ ;/*"
    tokens = tokenize(text)
    assert "".join(text[s:e] for _, s, e in tokens) == text
    assert [e for _, _, e in tokens[:-1]] == [s for _, s, _ in tokens[1:]]
    words = [text[s:e] for _, s, e in significant(tokens)]
    assert words == ["SELECT", "'a''b'", '"c""d"', "[e]", "`f`", "x'0a'", "1.5e3", "0x1", "g", "$v(x)", "?1", ":n",
                     ";", "/", "*"]


@pytest.mark.parametrize(("sql", "rows"), [
    ("SELECT 1 -- two\r, 2", [(1,)]),  # `--` ends at LF only
    ("SELECT 1 -- two\n, 2", [(1, 2)]),
    ("SELECT 1 /* two */, 2", [(1, 2)]),
    ("SELECT 'a\r\nb'", [("a\r\nb",)]),
    ("SELECT \ufeff1", [(1,)]),  # a BOM where a token starts is whitespace (in a word, a letter)
    ("SELECT 0x1f", [(31,)]),
])
def test_sqlite_reads_what_the_tokens_say(sql: str, rows: list[tuple[object, ...]]) -> None:
    assert sqlite3.connect(":memory:").execute(sql).fetchall() == rows
    assert [kind for kind, *_ in tokenize(sql)].count("comment") == sql.count("--") + sql.count("/*")
