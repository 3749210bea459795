"""SQLite's lexer (`sqlite3GetToken` in tokenize.c, 3.40) over a Python string.

The canonical checksum is defined by the tokens SQLite reads, so this follows tokenize.c
rule for rule, including where it surprises:

- whitespace is `\\t \\n \\f \\r` and space at the start of a token, and also `\\v` after the
  first character of a run (`sqlite3Isspace`); a `\\v` that starts a token is illegal, and a
  BOM (U+FEFF) that starts a token is whitespace. Other Unicode spaces are identifier
  characters: `x\\u00a0INTEGER` is one name;
- `--` runs to LF (not CR) or NUL; `/*` runs to `*/`, or to the end when unterminated, but
  `/*` as the last two characters is `/` then `*`;
- '...' is a string, "...", `...` and [...] are identifiers (a doubled quote escapes it;
  [...] has no escape); unterminated, each is an illegal token that runs to the end;
- X'..' is a blob only with an even number of hex digits; a number followed by identifier
  characters is illegal (`1e`, `1_000`), but hex stops at the first non-hex digit (`0x1g`
  is `0x1` then `g`);
- `$name(...)` (Tcl-style variables) runs to `)` or, unterminated, is illegal up to
  whitespace.

Tokens are (kind, start, end) offsets into the text; comments and whitespace are kinds of
their own ("space", "comment") so callers decide what to do with them.
"""

from __future__ import annotations

import functools
import re

SPACE, COMMENT, WORD, STRING, QUOTED, BLOB, NUMBER, VARIABLE, OPERATOR, ILLEGAL = (
    "space", "comment", "word", "string", "quoted", "blob", "number", "variable", "operator", "illegal")
TRIVIA = frozenset({SPACE, COMMENT})
#: sqlite3Isspace: what SQLite trims from the ends of a span it keeps as text.
SQLITE_SPACE = " \t\n\v\f\r"

Token = tuple[str, int, int]

# IdChar(): ASCII letters, digits, `_`, `$` and every character from U+0080 on.
_ID = r"0-9A-Za-z_$\x80-\U0010ffff"
_PATTERN = (
    r"(?P<space>[\t\n\f\r ][\t\n\v\f\r ]*|\ufeff)"
    rf"|(?P<word>(?![xX]')[A-Za-z_\x80-\U0010ffff][{_ID}]*)"
    r"|(?P<operator>->>|->|\|\||<=|<>|<<|>=|>>|==|!=|[(),;+*%&~=<>|])"
    r"|(?P<comment>--[^\n\x00]*|/\*(?=[^\x00])(?:[^\x00]*?\*/|[^\x00]*))"
    # A closing quote is one not followed by another: `(?!')` keeps the regex from backing
    # off a doubled quote to end an unterminated literal early.
    r"|(?P<string>'[^'\x00]*(?:''[^'\x00]*)*'(?!'))"
    r"|(?P<quoted>\"[^\"\x00]*(?:\"\"[^\"\x00]*)*\"(?!\")|`[^`\x00]*(?:``[^`\x00]*)*`(?!`)|\[[^\]\x00]*\])"
    r"|(?P<blob>[xX]'(?:[0-9a-fA-F]{2})*')"
    # Greedy, and identifier characters glued to it make it illegal (`glued`), as in tokenize.c.
    rf"|(?P<number>0[xX][0-9a-fA-F]+|(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?P<glued>[{_ID}]+)?)"
    rf"|(?P<variable>\?[0-9]*|[$@#:](?:[{_ID}]|::)*)"
    r"|(?P<single>[-/.])"
    # What is left is illegal: an unterminated literal (to the end, or to NUL), a malformed
    # blob (to its next quote), or one character (`!`, `\v`, `\\`, NUL, ...).
    r"|(?P<illegal>'[^'\x00]*(?:''[^'\x00]*)*|\"[^\"\x00]*(?:\"\"[^\"\x00]*)*|`[^`\x00]*(?:``[^`\x00]*)*"
    r"|\[[^\]\x00]*|[xX]'[^'\x00]*'?|[\s\S])"
)


@functools.cache
def _regex() -> re.Pattern[str]:
    """Compiled on first use: importing the generator's cache-hit path stays cheap."""
    return re.compile(_PATTERN)


def tokenize(text: str) -> list[Token]:
    """Every token of `text`, trivia included, as (kind, start, end); they cover the text exactly."""
    tokens: list[Token] = []
    append = tokens.append
    regex = _regex()
    pos, size = 0, len(text)
    while pos < size:
        for match in regex.finditer(text, pos):
            kind = match.lastgroup
            start, end = match.span()
            if kind == "single":
                kind = OPERATOR
            elif kind == NUMBER and match.start("glued") >= 0:
                kind = ILLEGAL
            elif kind == VARIABLE:
                kind, end = _variable(text, start, end)
            assert kind is not None
            append((kind, start, end))
            if end != match.end():  # a Tcl variable's `(...)`: go on after it
                pos = end
                break
        else:
            break
    return tokens


def _variable(text: str, start: int, end: int) -> tuple[str, int]:
    """A variable's kind and end: `?NNN`, or `$@#:` + name, with the Tcl `(...)` suffix."""
    if text[start] == "?":
        return VARIABLE, end
    named = any(char != ":" for char in text[start + 1 : end])
    if not named:
        return ILLEGAL, end
    if end < len(text) and text[end] == "(":
        stop = end + 1
        while stop < len(text) and text[stop] not in "\x00)" and text[stop] not in SQLITE_SPACE:
            stop += 1
        if stop < len(text) and text[stop] == ")":
            return VARIABLE, stop + 1
        return ILLEGAL, stop
    return VARIABLE, end


def significant(tokens: list[Token]) -> list[Token]:
    """The tokens SQLite's parser sees: everything but whitespace and comments."""
    return [token for token in tokens if token[0] not in TRIVIA]


# SQLite 3.40's 147 keywords (mkkeywordhash.c; `sqlite3_keyword_name`, checked by
# tests/test_sqltokens.py against the SQLite that runs the tests). Part of the `c2:` checksum's
# definition: a later SQLite's new keywords do not change it.
KEYWORDS = frozenset("""
ABORT ACTION ADD AFTER ALL ALTER ALWAYS ANALYZE AND AS ASC ATTACH AUTOINCREMENT BEFORE BEGIN BETWEEN
BY CASCADE CASE CAST CHECK COLLATE COLUMN COMMIT CONFLICT CONSTRAINT CREATE CROSS CURRENT
CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFAULT DEFERRABLE DEFERRED DELETE DESC DETACH
DISTINCT DO DROP EACH ELSE END ESCAPE EXCEPT EXCLUDE EXCLUSIVE EXISTS EXPLAIN FAIL FILTER FIRST
FOLLOWING FOR FOREIGN FROM FULL GENERATED GLOB GROUP GROUPS HAVING IF IGNORE IMMEDIATE IN INDEX
INDEXED INITIALLY INNER INSERT INSTEAD INTERSECT INTO IS ISNULL JOIN KEY LAST LEFT LIKE LIMIT MATCH
MATERIALIZED NATURAL NO NOT NOTHING NOTNULL NULL NULLS OF OFFSET ON OR ORDER OTHERS OUTER OVER
PARTITION PLAN PRAGMA PRECEDING PRIMARY QUERY RAISE RANGE RECURSIVE REFERENCES REGEXP REINDEX
RELEASE RENAME REPLACE RESTRICT RETURNING RIGHT ROLLBACK ROW ROWS SAVEPOINT SELECT SET TABLE TEMP
TEMPORARY THEN TIES TO TRANSACTION TRIGGER UNBOUNDED UNION UNIQUE UPDATE USING VACUUM VALUES VIEW
VIRTUAL WHEN WHERE WINDOW WITH WITHOUT
""".split())  # noqa: SIM905 (a word list, as the sources have it)
# The keywords that may still be words of a column's declared type (`x TEXT KEY` has the type
# "TEXT KEY"): parse.y's `%fallback ID` list, as `ids` in `typetoken` takes them.
TYPE_KEYWORDS = frozenset("""
ABORT ACTION AFTER ALWAYS ANALYZE ASC ATTACH BEFORE BEGIN BY CASCADE CAST COLUMN CONFLICT CURRENT
CURRENT_DATE CURRENT_TIME CURRENT_TIMESTAMP DATABASE DEFERRED DESC DETACH DO EACH END EXCLUDE
EXCLUSIVE EXPLAIN FAIL FILTER FIRST FOLLOWING FOR GENERATED GLOB GROUPS IF IGNORE IMMEDIATE
INITIALLY INSTEAD KEY LAST LIKE MATCH MATERIALIZED NO NULLS OF OFFSET OTHERS OVER PARTITION PLAN
PRAGMA PRECEDING QUERY RAISE RANGE RECURSIVE REGEXP REINDEX RELEASE RENAME REPLACE RESTRICT ROLLBACK
ROW ROWS SAVEPOINT TEMP TEMPORARY TIES TRIGGER UNBOUNDED VACUUM VIEW VIRTUAL WINDOW WITH WITHOUT
""".split())  # noqa: SIM905 (a word list, as the sources have it)
