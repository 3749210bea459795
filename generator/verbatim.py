"""Where SQLite keeps SQL text as written, layout and comments included, and makes it meaning.

Between most tokens, whitespace and comments mean nothing to SQLite. In three places it
copies the text between tokens as it is into the schema, and what it copies is then part of
what the database does or is called (each checked by tests/test_checksum.py on SQLite):

- a column's declared type, in CREATE TABLE, ALTER TABLE ADD COLUMN and CAST: the type is the
  text from its first word to its last word or `)`, and its affinity is read from that text
  (`x DOUBLE /*INT*/ PRECISION` has INTEGER affinity, `x DOUBLE PRECISION` REAL);
- a result column of a SELECT that has no alias and is not a plain column: its name is its
  text, from its first token up to the next token (trailing comments included, trailing
  whitespace trimmed), so `SELECT a+1` and `SELECT a + 1` make views, CREATE TABLE ... AS and
  subqueries with different column names;
- the arguments of CREATE VIRTUAL TABLE ... USING module(...): each one is passed to the
  module as the text from its first to its last token.

`verbatim_gaps` finds them from the tokens, erring on the side of keeping text: a gap kept
that need not be only makes an edit there count as a change. The one exception it makes is the
outermost SELECT of an INSERT or of a plain SELECT statement, whose column names nothing reads.
"""

from __future__ import annotations

from .sqltokens import BLOB, KEYWORDS, NUMBER, OPERATOR, QUOTED, STRING, TYPE_KEYWORDS, WORD, Token

# Tokens that end a SELECT's result column list (at the SELECT's own depth).
_LIST_END = frozenset({",", ";", "FROM", "WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT",
                       "UNION", "INTERSECT", "EXCEPT"})
_TABLE_CONSTRAINT = frozenset({"CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN"})
# Statements whose outermost SELECT's column names are never read (INSERT takes them by position).
_NAMELESS = frozenset({"INSERT", "REPLACE", "SELECT", "WITH", "VALUES"})
# Keywords that can end an expression, so that a name after them is an alias (`CASE ... END x`).
_ENDS_EXPRESSION = frozenset({")", "END", "NULL", "CURRENT_DATE", "CURRENT_TIME", "CURRENT_TIMESTAMP"})


class _Gaps:
    """One pass over a statement list's tokens, collecting the gaps to keep."""

    def __init__(self, text: str, tokens: list[Token]) -> None:
        self.text = text
        self.tokens = tokens
        self.size = len(tokens)
        # key: a word upper-cased (ASCII only: "\u017felect".upper() is "SELECT", yet no keyword to
        # SQLite), an operator as is, "" for literals and names that cannot be keywords.
        self.key = [_key(text, token) for token in tokens]
        self.depth = [0] * self.size  # parentheses around the token (a paren: those around it)
        self.match = list(range(self.size))  # for `(`: its `)` (the last token when unclosed)
        self._parens()
        self.raw: set[int] = set()  # gaps (before token i) kept byte for byte
        self.tails: set[int] = set()  # gaps after an unnamed result column: kept right-trimmed

    def _parens(self) -> None:
        depth, open_at = 0, list[int]()
        for index, key in enumerate(self.key):
            if key == ")" and open_at:
                depth -= 1
                self.match[open_at.pop()] = index
            self.depth[index] = depth
            if key == "(":
                open_at.append(index)
                depth += 1
        for index in open_at:
            self.match[index] = self.size - 1

    def at(self, index: int) -> str:
        return self.key[index] if index < self.size else ""

    def keep(self, first: int, last: int) -> None:
        """Keep every gap between tokens first..last (inclusive)."""
        self.raw.update(range(first + 1, last + 1))

    # -- the statement walk --------------------------------------------------------------

    def walk(self) -> None:
        first = ""  # the first key of the current statement (or trigger-body statement)
        top = ""  # the first key of the current top-level statement
        trigger = body = False
        cases = 0
        starting = True
        start = 0  # where the current top-level statement starts
        for index in range(self.size):
            key, depth = self.key[index], self.depth[index]
            if starting:
                first, starting = key, False
                if not body:
                    top, trigger, start = key, False, index
                    if key == "CREATE":
                        self._create(index)
                    elif key == "ALTER":
                        self._alter(index)
            if key == "SELECT":
                self._select(index, nameless=depth == 0 and first in _NAMELESS)
            elif key == "CAST" and self.at(index + 1) == "(":
                self._cast(index + 1)
            elif depth:
                continue
            elif key == ";":
                starting = True
            elif key == "TRIGGER" and top == "CREATE" and index - start <= 2:  # CREATE [TEMP] TRIGGER
                trigger = True
            elif key == "BEGIN" and trigger and not body:
                body, cases, starting = True, 0, True
            elif key == "CASE" and body:
                cases += 1
            elif key == "END" and body:
                if cases:
                    cases -= 1
                else:
                    body = False

    def _statement_end(self, start: int) -> int:
        """The last token of the statement that starts at `start` (before its `;`)."""
        index = start
        while index < self.size and not (self.key[index] == ";" and self.depth[index] == 0):
            index += 1
        return index - 1

    def _create(self, at: int) -> None:
        index = at + 1
        if self.at(index) in ("TEMP", "TEMPORARY"):
            index += 1
        virtual = self.at(index) == "VIRTUAL"
        index += virtual
        if self.at(index) != "TABLE":
            return
        index += 1
        if (self.at(index), self.at(index + 1), self.at(index + 2)) == ("IF", "NOT", "EXISTS"):
            index += 3
        index += 3 if self.at(index + 1) == "." else 1  # [schema .] name
        if virtual:
            if self.at(index) == "USING" and self.at(index + 2) == "(":
                for first, last in self._items(index + 2):
                    self.keep(first, last)
        elif self.at(index) == "(":
            for first, last in self._items(index):
                if self.key[first] not in _TABLE_CONSTRAINT:
                    self._column_type(first + 1, last)

    def _alter(self, at: int) -> None:
        end = self._statement_end(at)
        index = at
        while index <= end and self.key[index] != "ADD":
            index += 1
        index += 1
        if self.at(index) == "COLUMN":
            index += 1
        if (self.at(index), self.at(index + 1), self.at(index + 2)) == ("IF", "NOT", "EXISTS"):
            index += 3  # this project's ADD COLUMN IF NOT EXISTS
        self._column_type(index + 1, end)

    def _items(self, open_at: int) -> list[tuple[int, int]]:
        """The comma-separated items inside the parentheses that open at `open_at`."""
        close, depth = self.match[open_at], self.depth[open_at] + 1
        items, first = [], open_at + 1
        for index in range(open_at + 1, close + 1):
            if index == close or (self.key[index] == "," and self.depth[index] == depth):
                if index > first:
                    items.append((first, index - 1))
                first = index + 1
        return items

    def _column_type(self, start: int, limit: int) -> None:
        """Keep the layout inside a declared type that starts at `start` (it may be absent)."""
        index = start
        while index <= limit and self._type_word(index):
            index += 1
        if index == start:
            return
        last = index - 1
        if index <= limit and self.key[index] == "(":
            last = self.match[index]
        self.keep(start, last)

    def _type_word(self, index: int) -> bool:
        kind, key = self.tokens[index][0], self.key[index]
        return kind in (STRING, QUOTED) or (kind == WORD and (key not in KEYWORDS or key in TYPE_KEYWORDS))

    def _cast(self, open_at: int) -> None:
        close, depth = self.match[open_at], self.depth[open_at] + 1
        for index in range(open_at + 1, close):
            if self.key[index] == "AS" and self.depth[index] == depth:
                self.keep(index + 1, close - 1)
                return

    def _select(self, at: int, *, nameless: bool) -> None:
        if nameless:
            return
        depth = self.depth[at]
        index = at + 1
        if self.at(index) in ("DISTINCT", "ALL"):
            index += 1
        while True:
            first = index
            while index < self.size and self.depth[index] >= depth and not (
                    self.depth[index] == depth and self.key[index] in _LIST_END):
                index += 1
            if index > first:
                self._result_column(first, index - 1)
            if index < self.size and self.key[index] == "," and self.depth[index] == depth:
                index += 1
                continue
            return

    def _result_column(self, first: int, last: int) -> None:
        """Keep the text of a result column SQLite names after its text."""
        if last == first:
            if self._plain_name(first) or self.key[first] == "*":
                return
        elif self._named(first, last) or self._column_reference(first, last):
            return
        else:
            self.keep(first, last)
        if last + 1 < self.size:
            self.tails.add(last + 1)

    def _named(self, first: int, last: int) -> bool:
        """`expr AS name` or `expr name`: the column is called `name`, whatever the layout."""
        if self.depth[last] != self.depth[first] or self.depth[last - 1] != self.depth[first]:
            return False
        if self.key[last - 1] == "AS":
            return True
        before = self.tokens[last - 1][0]
        return self._alias(last) and (self._alias(last - 1) or before in (NUMBER, BLOB)
                                      or self.key[last - 1] in _ENDS_EXPRESSION)

    def _column_reference(self, first: int, last: int) -> bool:
        """`t.c`, `s.t.c` or `t.*`: named after the column."""
        if last - first not in (2, 4):
            return False
        names = range(first, last + 1, 2)
        dots = range(first + 1, last, 2)
        return (all(self.key[index] == "." for index in dots)
                and all(self.tokens[index][0] in (WORD, QUOTED, STRING) for index in names[:-1])
                and (self.tokens[last][0] in (WORD, QUOTED, STRING) or self.key[last] == "*"))

    def _plain_name(self, index: int) -> bool:
        """A name that is a column reference by itself ("x" may also be a string to SQLite)."""
        kind, start = self.tokens[index][0], self.tokens[index][1]
        return (kind == WORD and self.key[index] not in KEYWORDS) or (kind == QUOTED and self.text[start] in "[`")

    def _alias(self, index: int) -> bool:
        kind = self.tokens[index][0]
        return kind in (QUOTED, STRING) or (kind == WORD and self.key[index] not in KEYWORDS)


def _key(text: str, token: Token) -> str:
    kind, start, end = token
    if kind == WORD:
        word = text[start:end]
        return word.upper() if word.isascii() else ""
    return text[start:end] if kind == OPERATOR else ""


def verbatim_gaps(text: str, tokens: list[Token]) -> tuple[set[int], set[int]]:
    """(raw, tails) over `tokens` (no trivia): indices i of the gaps before token i that SQLite
    keeps as written (`raw`), and those after a result column named after its text (`tails`:
    the gap's text up to its trailing whitespace is part of the name)."""
    gaps = _Gaps(text, tokens)
    gaps.walk()
    return gaps.raw, gaps.tails - gaps.raw
