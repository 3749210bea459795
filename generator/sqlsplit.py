"""Split a SQL file into statements the way SQLite does, and locate offsets in it.

SQLite is the judge of where a statement ends: a `;` ends one only when
`sqlite3.complete_statement` agrees, so `CREATE TRIGGER ... BEGIN ...; END;` stays whole.
A small lexer that mirrors SQLite's (strings, quoted identifiers, comments) finds the
candidate `;` in one pass, so the work stays linear in the size of the file.
"""

from __future__ import annotations

import bisect
import functools
import re
import sqlite3
from dataclasses import dataclass

BOM = "\ufeff"
# SQLite's own whitespace (sqlite3Isspace); Unicode spaces are identifier characters to it.
WHITESPACE = " \t\n\v\f\r"
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_CLOSING_QUOTE = {"'": "'", '"': '"', "`": "`", "[": "]"}
# Where the scan has something to decide: everything else is skipped in C, not a char at a time.
_SPECIAL = re.compile(r"[;'\"`\[]|--|/\*")


@dataclass(frozen=True)
class Statement:
    """One statement: its exact source text, from its first token through its `;`."""

    text: str
    line: int  # 1-based line in the file of the first token
    col: int  # 1-based column in the file of the first token (a BOM is not a column)
    start: int  # offset of the first token in the file text
    end: int  # offset just past the statement (past its ';')
    complete: bool  # False for trailing text that never became a complete statement


@dataclass(frozen=True)
class Comment:
    """A `-- ...` or `/* ... */` comment outside strings; `text` includes the markers."""

    text: str
    start: int
    end: int


class LineIndex:
    """Turns offsets of one text into 1-based (line, column); CRLF, CR and LF end a line."""

    def __init__(self, text: str) -> None:
        self._starts = [0] + [m.end() for m in _LINE_BREAK.finditer(text)]
        self._bom = text.startswith(BOM)

    def position(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self._starts, offset)
        col = offset - self._starts[line - 1] + 1
        if line == 1 and self._bom and offset > 0:
            col -= 1
        return line, col

    def line_of(self, offset: int) -> int:
        return bisect.bisect_right(self._starts, offset)


@functools.lru_cache(maxsize=4)
def _scan(text: str) -> tuple[tuple[int, ...], tuple[Comment, ...]]:
    """Offsets of every `;` outside strings, quoted identifiers and comments, and the comments.

    Cached for the last few texts: the split and the lint's noqa comments scan the same file.
    """
    semicolons: list[int] = []
    comments: list[Comment] = []
    pos, size = 0, len(text)
    special = _SPECIAL.search
    while pos < size:
        found_special = special(text, pos)
        if found_special is None:
            break
        pos = found_special.start()
        char = text[pos]
        if char == ";":
            semicolons.append(pos)
            pos += 1
        elif char in _CLOSING_QUOTE:
            close = _CLOSING_QUOTE[char]
            pos += 1
            while True:
                found = text.find(close, pos)
                if found == -1:
                    return tuple(semicolons), tuple(comments)  # unterminated: the rest is inside it
                pos = found + 1
                # '' inside '...' (and "" and ``) is an escaped quote; [...] has no escape.
                if char != "[" and text.startswith(close, pos):
                    pos += 1
                    continue
                break
        elif text.startswith("--", pos):
            found = text.find("\n", pos)
            end = size if found == -1 else found
            comments.append(Comment(text[pos:end].rstrip("\r"), pos, end))
            pos = end
        elif text.startswith("/*", pos):
            found = text.find("*/", pos + 2)
            end = size if found == -1 else found + 2
            comments.append(Comment(text[pos:end], pos, end))
            pos = end
    return tuple(semicolons), tuple(comments)


def comments(text: str) -> list[Comment]:
    """Every comment of a SQL text, in order."""
    return list(_scan(text)[1])


def skip_trivia(text: str, pos: int) -> int:
    """The offset of the first token at or after `pos` (past whitespace, comments, a BOM)."""
    size = len(text)
    if pos == 0 and text.startswith(BOM):
        pos = 1
    while pos < size:
        if text[pos] in WHITESPACE:
            pos += 1
        elif text.startswith("--", pos):
            found = text.find("\n", pos)
            pos = size if found == -1 else found + 1
        elif text.startswith("/*", pos):
            found = text.find("*/", pos + 2)
            pos = size if found == -1 else found + 2
        else:
            break
    return pos


def _complete(sql: str) -> bool:
    """`sqlite3.complete_statement`, which refuses a NUL (ValueError) and a lone surrogate
    (UnicodeEncodeError). SQLite's tokenizer reads a NUL outside a literal as an illegal
    character, as it reads U+0001, and any byte >= 0x80 as part of a name, as it reads U+FFFD,
    so those stand in for them; the analysis reports a NUL itself (SQLite cannot run it)."""
    sql = sql.replace("\0", "\x01")
    try:
        return sqlite3.complete_statement(sql)
    except UnicodeEncodeError:  # not from a file (those are decoded UTF-8), but split any str
        return sqlite3.complete_statement(sql.encode("utf-8", "surrogatepass").decode("utf-8", "replace"))


def split(text: str) -> list[Statement]:
    """Split a SQL file into statements; empty statements (a lone `;`) are dropped."""
    candidates, _ = _scan(text)
    lines = LineIndex(text)
    statements: list[Statement] = []
    index, pos = 0, 0
    while True:
        start = skip_trivia(text, pos)
        if start >= len(text):
            break
        if text[start] == ";":
            pos = start + 1
            continue
        index = bisect.bisect_left(candidates, start, lo=index)
        end = None
        while index < len(candidates):
            stop = candidates[index] + 1
            index += 1
            if _complete(text[start:stop]):
                end = stop
                break
        complete = end is not None
        if end is None:
            end = len(text.rstrip(WHITESPACE))
        line, col = lines.position(start)
        statements.append(Statement(text[start:end], line, col, start, end, complete))
        if not complete:
            break
        pos = end
    return statements
