"""Statements as Hrana batch steps, for `session`: what each statement is, how a request's
steps are chained and guarded so nothing meant for a transaction runs in autocommit, and the
cursors results come back in."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from . import messages as _messages
from .messages import Statement, Step, all_of, is_autocommit, not_, ok

SQLValue = _messages.Value
Row = _messages.Row
BatchItem = str | tuple[str, Sequence[SQLValue]]


@dataclass(frozen=True)
class Unless:
    """A `run_batch` item inside a transaction: `statement` runs only when the query `exists`
    returns no row, decided on the server in the same request (e.g. `ADD COLUMN` unless
    `pragma_table_info` has the column)."""

    statement: BatchItem
    exists: str
    params: Sequence[SQLValue] = ()


# --- statements the connection must recognise ------------------------------------------------

LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?(?:\*/|\Z))*", re.DOTALL)
FOREIGN_KEYS_SET = re.compile(r"\APRAGMA\s+(?:main\s*\.\s*)?foreign_keys\s*=\s*'?(\w+)'?\s*;?\s*\Z", re.IGNORECASE)
ROLLBACK_TO = re.compile(r"ROLLBACK\s+(?:TRANSACTION\s+)?TO\b", re.IGNORECASE)
FALSE_WORDS = frozenset({"0", "off", "false", "no"})
COUNTS_ROWS = frozenset({"INSERT", "UPDATE", "DELETE", "REPLACE"})

FOREIGN_KEYS_OFF = Statement("PRAGMA foreign_keys=OFF")
COMMIT = Statement("COMMIT")
ROLLBACK = Statement("ROLLBACK")
IN_TRANSACTION = not_(is_autocommit())


def strip_noise(sql: str) -> str:
    return LEADING_NOISE.sub("", sql, count=1)


def keyword(sql: str) -> str:
    """The statement's first word in upper case, after comments and whitespace."""
    word = re.match(r"[A-Za-z]+", strip_noise(sql))
    return word.group(0).upper() if word else ""


def is_empty(sql: str) -> bool:
    return not strip_noise(sql).strip(" \t\r\n;")


def chain(statements: Sequence[Statement], *, in_transaction: bool) -> list[Step]:
    """Steps that stop at the first failure; in a transaction also when the server has ended it."""
    steps: list[Step] = []
    for index, statement in enumerate(statements):
        conditions = ([ok(index - 1)] if index else []) + ([IN_TRANSACTION] if in_transaction else [])
        condition = None if not conditions else conditions[0] if len(conditions) == 1 else all_of(*conditions)
        steps.append(Step(statement, condition))
    return steps


def as_statement(item: BatchItem) -> Statement:
    return Statement(item) if isinstance(item, str) else Statement(item[0], tuple(item[1]))


# A batch cannot branch on rows, but a step can fail on them: json() rejects its text only when
# the query returns a row, and the guarded statement is conditioned on that step succeeding.
SKIP_WHEN_EXISTS = "SELECT json(CASE WHEN EXISTS ({}) THEN 'exists: skip the next step' ELSE 'null' END)"
SKIPPED = _messages.StepOutcome(_messages.StatementResult((), [], 0, None), None)


def guarded_chain(items: Sequence[Statement | Unless]) -> tuple[list[Step], list[tuple[int | None, int]]]:
    """Steps for `items` in an open transaction, stopping at the first failure; per item the
    indexes of (its guard step or None, its statement's step)."""
    steps: list[Step] = []
    slots: list[tuple[int | None, int]] = []
    done: _messages.Condition | None = None  # holds when everything before ran as it should
    for item in items:
        guard = None
        if isinstance(item, Unless):
            guard = len(steps)
            probe = Statement(SKIP_WHEN_EXISTS.format(item.exists), tuple(item.params))
            steps.append(Step(probe, all_of(done, IN_TRANSACTION) if done else IN_TRANSACTION))
            statement, condition = as_statement(item.statement), all_of(ok(guard), IN_TRANSACTION)
        else:
            statement, condition = item, all_of(done, IN_TRANSACTION) if done else IN_TRANSACTION
        slots.append((guard, len(steps)))
        steps.append(Step(statement, condition))
        done = ok(len(steps) - 1) if guard is None else _messages.any_of(ok(len(steps) - 1), _messages.error(guard))
    return steps, slots


def item_outcomes(
    outcomes: Sequence[_messages.StepOutcome], slots: Sequence[tuple[int | None, int]]
) -> list[_messages.StepOutcome]:
    """One outcome per item: a guarded statement skipped by its guard counts as done."""
    result = []
    for guard, step in slots:
        if guard is not None and outcomes[guard].error is not None:
            result.append(SKIPPED)
        elif guard is not None and outcomes[guard].result is None:
            result.append(outcomes[guard])  # not run: an earlier item failed, or the transaction ended
        else:
            result.append(outcomes[step])
    return result


def first_failure(outcomes: Sequence[_messages.StepOutcome]) -> int | None:
    """The index of the first step that failed or did not run."""
    return next((index for index, outcome in enumerate(outcomes) if outcome.result is None), None)


# --- results ---------------------------------------------------------------------------------


class RemoteCursor:
    """The result of one statement, fetched eagerly, so every error surfaces in `execute`."""

    def __init__(self, rows: list[Row], rowcount: int = -1, lastrowid: int | None = None) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Row | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Row]:
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    def __iter__(self) -> RemoteCursor:
        return self

    def __next__(self) -> Row:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row


def cursor(result: _messages.StatementResult, keyword: str) -> RemoteCursor:
    # As sqlite3: rowcount for INSERT/UPDATE/DELETE/REPLACE, -1 for the rest.
    rowcount = result.affected_row_count if keyword in COUNTS_ROWS else -1
    return RemoteCursor(result.rows, rowcount, result.last_insert_rowid)
