"""What each statement of a migration does, read from sqlglot's tokens.

sqlglot's parser cannot read everything SQLite accepts (FTS5 options, `WITHOUT ROWID`,
trigger bodies, `ADD COLUMN IF NOT EXISTS`): it raises or falls back to `exp.Command`
without an `exists` flag. The guards the lint needs sit in the first few tokens of a
statement, so a token-level classifier reads every statement the same way; the parser is
used only where it knows more than the tokens, an INSERT's conflict clause.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

from .diagnostics import Diagnostic
from .sqlsplit import WHITESPACE, LineIndex, Statement, split

if TYPE_CHECKING:
    from sqlglot.tokenizer_core import Token
    from sqlglot.tokens import Tokenizer

CREATE_KINDS = ("TABLE", "INDEX", "VIEW", "TRIGGER")
DROP_KINDS = ("TABLE", "INDEX", "VIEW", "TRIGGER")
_TABLE_CONSTRAINTS = ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN")
_MAIN_VERBS = ("SELECT", "INSERT", "REPLACE", "UPDATE", "DELETE", "VALUES")


@dataclass(frozen=True)
class StatementInfo:
    """One statement and what it does; fields not meaningful for its verb are None."""

    statement: Statement
    verb: str  # upper-case leading keyword; after WITH, the main verb ('' if none)
    object_type: str | None = None  # CREATE/DROP: TABLE, INDEX, VIEW, TRIGGER, VIRTUAL TABLE
    name: str | None = None  # object (or INSERT/ALTER table) name, unquoted, without schema
    schema: str | None = None  # CREATE/DROP/ALTER: the schema the name is qualified with (`main`, `temp`)
    guarded: bool = False  # the guard clause for this kind of statement is present
    add_column: tuple[str, str, str] | None = None  # (table, column, text without IF NOT EXISTS)
    alter_action: str | None = None  # ADD COLUMN, RENAME, RENAME COLUMN, DROP COLUMN
    dropped_column: str | None = None
    pragma: tuple[str, str | None] | None = None  # (name lower-case, value as written)
    parse_error: Diagnostic | None = None  # MG100
    # Beyond the contract, for the lint's context and the fixer:
    temporary: bool = False  # CREATE TEMP ...
    unique: bool = False  # CREATE UNIQUE INDEX
    guard_at: int | None = None  # file offset where a missing IF [NOT] EXISTS belongs
    columns: tuple[str, ...] = ()  # CREATE TABLE (...): column names as written
    renamed: tuple[str, str] | None = None  # RENAME: (old, new) table or column name
    transaction_control: bool = False  # BEGIN, COMMIT, END, ROLLBACK (not ROLLBACK TO)


class _Reader:
    """Index-based access to one statement's tokens."""

    def __init__(self, statement: Statement, tokens: Sequence[Token]) -> None:
        self.statement = statement
        self.tokens = tokens

    def word(self, i: int) -> str | None:
        """The upper-cased keyword or bare word at `i`; None if quoted, punctuation or absent."""
        if i >= len(self.tokens):
            return None
        token = self.tokens[i]
        if self.source(i) != token.text or not (token.text[:1].isalpha() or token.text[:1] == "_"):
            return None
        return token.text.upper()

    def words(self, i: int, count: int) -> tuple[str | None, ...]:
        return tuple(self.word(j) for j in range(i, i + count))

    def text(self, i: int) -> str | None:
        return self.tokens[i].text if i < len(self.tokens) else None

    def source(self, i: int) -> str:
        token = self.tokens[i]
        return self.statement.text[token.start : token.end + 1]

    def end(self, i: int) -> int:
        """Statement-relative offset just past token `i`."""
        return self.tokens[i].end + 1

    def name(self, i: int) -> tuple[str | None, int]:
        """A possibly schema-qualified name at `i`: (name without schema, index after it)."""
        if i >= len(self.tokens) or self.text(i) in ("(", ")", ";", ",", "."):
            return None, i
        if i + 2 < len(self.tokens) and self.source(i + 1) == ".":
            return self.tokens[i + 2].text, i + 3
        return self.tokens[i].text, i + 1

    def schema(self, i: int) -> str | None:
        """The schema of a qualified name at `i` (`main` of `main.t`), unquoted; None if unqualified."""
        if i + 2 < len(self.tokens) and self.source(i + 1) == "." and self.text(i) not in ("(", ")", ";", ","):
            return self.tokens[i].text
        return None

    def depth_zero(self, start: int) -> Iterator[int]:
        """Indices from `start` on that are outside any parentheses opened from `start`."""
        depth = 0
        for i in range(start, len(self.tokens)):
            text = self.source(i)
            if text == "(":
                depth += 1
            elif text == ")":
                depth -= 1
            elif depth == 0:
                yield i


@functools.cache
def _tokenizer_class() -> type[Tokenizer]:
    from sqlglot.dialects.sqlite import SQLite
    from sqlglot.tokenizer_core import TokenType

    class Tokens(SQLite.Tokenizer):
        # sqlglot reads the rest of a statement that starts with a "command" keyword
        # (REPLACE, RENAME, ...) as one opaque string; we want every token.
        COMMANDS: ClassVar[set[TokenType]] = set()

    return Tokens


def analyze(path: str, text: str) -> list[StatementInfo]:
    """Split a file and describe every statement; positions are in the file."""
    tokenizer = _tokenizer_class()()
    lines = LineIndex(text)
    return [_analyze_one(path, lines, tokenizer, s) for s in split(text)]


def _analyze_one(path: str, lines: LineIndex, tokenizer: Tokenizer, statement: Statement) -> StatementInfo:
    from sqlglot.errors import TokenError

    try:
        tokens = tokenizer.tokenize(statement.text)
    except TokenError:
        # The tokens read before the failure locate it: the next non-blank character.
        done = tokenizer.tokens
        offset = done[-1].end + 1 if done else 0
        while offset < len(statement.text) and statement.text[offset] in WHITESPACE:
            offset += 1
        line, col = lines.position(statement.start + offset)
        message = "cannot tokenize: unterminated string, quoted name or comment?"
        error = Diagnostic(path, line, col, "MG100", message)
        return StatementInfo(statement, verb="", parse_error=error)
    info = _classify(_Reader(statement, tokens))
    if not statement.complete:
        if info.verb == "CREATE" and info.object_type == "TRIGGER":
            message = "CREATE TRIGGER is not terminated: its body needs 'END;'"
        else:
            message = "statement is not terminated: end it with ';'"
        error = Diagnostic(path, statement.line, statement.col, "MG100", message)
        info = replace(info, parse_error=error)
    nul = statement.text.find("\0")
    if nul >= 0:  # sqlite3 refuses such a statement outright, wherever the NUL sits
        line, col = lines.position(statement.start + nul)
        error = Diagnostic(path, line, col, "MG100", "NUL character: SQLite cannot run a statement that holds one")
        info = replace(info, parse_error=error)
    return info


def _classify(r: _Reader) -> StatementInfo:
    verb = r.word(0) or ""
    if verb == "WITH":
        main = next((i for i in r.depth_zero(1) if r.word(i) in _MAIN_VERBS), None)
        if main is None:
            return StatementInfo(r.statement, verb)
        verb = r.word(main) or ""
        if verb in ("INSERT", "REPLACE"):
            return _insert(r, main, verb)
        return StatementInfo(r.statement, verb)
    if verb == "CREATE":
        return _create(r)
    if verb == "DROP":
        return _drop(r)
    if verb == "ALTER":
        return _alter(r)
    if verb in ("INSERT", "REPLACE"):
        return _insert(r, 0, verb)
    if verb == "PRAGMA":
        return _pragma(r)
    if verb in ("BEGIN", "COMMIT", "END", "ROLLBACK"):
        # ROLLBACK [TRANSACTION] TO a savepoint stays inside the transaction.
        to_savepoint = verb == "ROLLBACK" and "TO" in r.words(1, 2)
        return StatementInfo(r.statement, verb, transaction_control=not to_savepoint)
    return StatementInfo(r.statement, verb)


def _guard_at(r: _Reader, keyword: int) -> int:
    return r.statement.start + r.end(keyword)


def _create(r: _Reader) -> StatementInfo:
    i = 1
    temporary = r.word(i) in ("TEMP", "TEMPORARY")
    i += temporary
    unique = r.word(i) == "UNIQUE"
    i += unique
    virtual = r.word(i) == "VIRTUAL"
    i += virtual
    kind = r.word(i)
    if kind not in CREATE_KINDS or (virtual and kind != "TABLE"):
        return StatementInfo(r.statement, "CREATE")
    keyword = i
    guarded = r.words(i + 1, 3) == ("IF", "NOT", "EXISTS")
    name, after = r.name(i + 4 if guarded else i + 1)
    schema = r.schema(i + 4 if guarded else i + 1)
    columns = _column_names(r, after) if kind == "TABLE" and not virtual else ()
    return StatementInfo(
        r.statement,
        "CREATE",
        object_type="VIRTUAL TABLE" if virtual else kind,
        name=name,
        schema=schema,
        guarded=guarded,
        temporary=temporary,
        unique=unique,
        guard_at=None if guarded else _guard_at(r, keyword),
        columns=columns,
    )


def _column_names(r: _Reader, i: int) -> tuple[str, ...]:
    """Column names of `CREATE TABLE t (...)`: the first token of each non-constraint item."""
    if i >= len(r.tokens) or r.source(i) != "(":
        return ()
    names: list[str] = []
    expect_name = True
    for j in r.depth_zero(i + 1):
        text = r.source(j)
        if text == ")":  # the closing parenthesis of the column list has depth -1 here
            break
        if text == ",":
            expect_name = True
        elif expect_name:
            expect_name = False
            if r.word(j) not in _TABLE_CONSTRAINTS:
                names.append(r.tokens[j].text)
    return tuple(names)


def _drop(r: _Reader) -> StatementInfo:
    kind = r.word(1)
    if kind not in DROP_KINDS:
        return StatementInfo(r.statement, "DROP")
    guarded = r.words(2, 2) == ("IF", "EXISTS")
    name, _ = r.name(4 if guarded else 2)
    return StatementInfo(
        r.statement,
        "DROP",
        object_type=kind,
        name=name,
        schema=r.schema(4 if guarded else 2),
        guarded=guarded,
        guard_at=None if guarded else _guard_at(r, 1),
    )


def _alter(r: _Reader) -> StatementInfo:
    if r.word(1) != "TABLE":
        return StatementInfo(r.statement, "ALTER")
    table, i = r.name(2)
    action = r.word(i)
    base = StatementInfo(r.statement, "ALTER", object_type="TABLE", name=table, schema=r.schema(2))
    if action == "RENAME":
        if r.word(i + 1) == "TO":
            new, _ = r.name(i + 2)
            renamed = (table, new) if table and new else None
            return replace(base, alter_action="RENAME", renamed=renamed)
        old_at = i + 2 if r.word(i + 1) == "COLUMN" else i + 1
        old, new = r.text(old_at), r.text(old_at + 2)
        renamed = (old, new) if old and new and r.word(old_at + 1) == "TO" else None
        return replace(base, alter_action="RENAME COLUMN", renamed=renamed)
    if action == "DROP":
        column_at = i + 2 if r.word(i + 1) == "COLUMN" else i + 1
        return replace(base, alter_action="DROP COLUMN", dropped_column=r.text(column_at))
    if action == "ADD":
        keyword = i + 1 if r.word(i + 1) == "COLUMN" else i
        guarded = r.words(keyword + 1, 3) == ("IF", "NOT", "EXISTS")
        column_at = keyword + 4 if guarded else keyword + 1
        column = r.text(column_at)
        add_column = None
        if table and column:
            text = _without_guard(r, keyword + 1) if guarded else r.statement.text
            add_column = (table, column, text)
        return replace(
            base,
            alter_action="ADD COLUMN",
            guarded=guarded,
            guard_at=None if guarded else _guard_at(r, keyword),
            add_column=add_column,
        )
    return base


def _without_guard(r: _Reader, if_at: int) -> str:
    """The statement text without `IF NOT EXISTS` and the blanks after it."""
    text = r.statement.text
    cut_from = r.tokens[if_at].start
    cut_to = r.end(if_at + 2)
    while cut_to < len(text) and text[cut_to] in WHITESPACE:
        cut_to += 1
    return text[:cut_from] + text[cut_to:]


def _insert(r: _Reader, at: int, verb: str) -> StatementInfo:
    if verb == "REPLACE":
        name, _ = r.name(at + 2 if r.word(at + 1) == "INTO" else at + 1)
        return StatementInfo(r.statement, "REPLACE", name=name, guarded=True)
    into = at + 1
    alternative = None
    if r.word(into) == "OR":
        alternative = r.word(into + 1)
        into += 2
    name, _ = r.name(into + 1 if r.word(into) == "INTO" else into)
    guarded = alternative in ("IGNORE", "REPLACE")
    if not guarded:
        parsed = _parsed_insert_guard(r)
        guarded = parsed if parsed is not None else _upsert_does_nothing(r, at)
    return StatementInfo(r.statement, "INSERT", name=name, guarded=guarded)


def _upsert_does_nothing(r: _Reader, at: int) -> bool:
    """Token fallback: an `ON CONFLICT [...] DO NOTHING` clause outside parentheses."""
    top = list(r.depth_zero(at))
    for k, i in enumerate(top):
        if r.word(i) == "ON" and r.word(i + 1) == "CONFLICT":
            do = next((j for j in top[k + 1 :] if r.word(j) == "DO"), None)
            if do is not None and r.word(do + 1) == "NOTHING":
                return True
    return False


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence sqlglot's 'falling back to Command' warnings while parsing."""
    logger = logging.getLogger(logger_name)
    previous = logger.disabled
    logger.disabled = True
    try:
        yield
    finally:
        logger.disabled = previous


def _parsed_insert_guard(r: _Reader) -> bool | None:
    """Whether sqlglot's AST shows `ON CONFLICT ... DO NOTHING`; None if it cannot tell."""
    from sqlglot import exp
    from sqlglot.dialects.sqlite import SQLite
    from sqlglot.errors import ParseError, TokenError

    try:
        with _quiet("sqlglot"):
            trees = SQLite().parser().parse(list(r.tokens), r.statement.text)
    except (ParseError, TokenError, RecursionError):  # sqlglot recurses once per nested parenthesis
        return None
    tree = trees[0] if trees else None
    if not isinstance(tree, exp.Insert):
        return None
    conflict = tree.args.get("conflict")
    if not isinstance(conflict, exp.OnConflict):
        return False
    action = conflict.args.get("action")
    return isinstance(action, exp.Expression) and action.name.upper() == "DO NOTHING"


def _pragma(r: _Reader) -> StatementInfo:
    name, i = r.name(1)
    if name is None:
        return StatementInfo(r.statement, "PRAGMA")
    value = None
    last = len(r.tokens) - 1
    if last >= 0 and r.source(last) == ";":
        last -= 1
    if i < len(r.tokens) and r.source(i) in ("=", "("):
        first = i + 1
        if r.source(i) == "(" and r.source(last) == ")":
            last -= 1
        if first <= last:
            value = r.statement.text[r.tokens[first].start : r.end(last)]
    return StatementInfo(r.statement, "PRAGMA", pragma=(name.lower(), value))
