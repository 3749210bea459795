"""What SQLite itself says of a statement, asked on a scratch in-memory database.

* `parse_problems`: which statements SQLite cannot prepare, each judged alone on an empty
  database. Preparing (`EXPLAIN`) parses the whole statement and resolves its names without
  running it; on an empty database every name is missing, so an error that only says a
  table, column, index, view or trigger does not exist is a question for the schema (see
  schemawalk.py), and every other error is the statement's own: a syntax error (`CREAT
  INDEX`, a trailing comma, an unbalanced parenthesis), a duplicate column, a reserved name.
* `foreign_keys_off`: whether a `PRAGMA foreign_keys` statement turns foreign keys off, as
  SQLite reads its value (`-1`, `'of'` and `no` are off; `2` is on). The lint's MG009 message
  and the compiled migration's flag both come from here, so they cannot disagree.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence

from cortexdb._contract import quote_identifier

from .analyze import StatementInfo

REJECTED = "SQLite rejects this statement: "  # the proof's words too: one finding reads the same from both
_NO_SUCH_TABLE = re.compile(r"no such table: (?P<name>.+)$")
_MISSING = re.compile(r"no such (table|view|index|trigger|column)\b|unable to identify the object to be reindexed"
                      r"|.* has no column named ")


def scratch() -> sqlite3.Connection:
    """An empty in-memory database that can reach no file (no ATTACH), foreign keys on."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def runtime_text(info: StatementInfo) -> str:
    """The text the runtime prepares for this statement (`ADD COLUMN` without its `IF NOT EXISTS`)."""
    return info.add_column[2] if info.add_column is not None else info.statement.text


def prepare_error(conn: sqlite3.Connection, info: StatementInfo) -> str | None:
    """SQLite's error when it cannot prepare the statement on `conn`, else None."""
    text = runtime_text(info)
    try:
        conn.execute(text if info.verb == "EXPLAIN" else "EXPLAIN " + text)
    except sqlite3.Error as exc:
        return str(exc)
    except (ValueError, UnicodeEncodeError):  # a NUL (analyze reports it), a lone surrogate (not from a file)
        return None
    return None


def parse_problems(infos: Sequence[StatementInfo]) -> dict[int, str]:
    """{index: SQLite's error} for every statement that cannot be prepared on any schema."""
    problems: dict[int, str] = {}
    conn = scratch()
    try:
        for index, info in enumerate(infos):
            if info.parse_error is not None:
                continue  # reported as it is (an unterminated string, a NUL, ...)
            error = prepare_error(conn, info)
            if error is not None and _NO_SUCH_TABLE.match(error):
                error = _with_stand_ins(info, error)
            if error is not None and not _MISSING.match(error):
                problems[index] = error
            if info.verb == "PRAGMA":  # some pragmas act while being prepared: start clean
                conn.close()
                conn = scratch()
    finally:
        conn.close()
    return problems


def _with_stand_ins(info: StatementInfo, error: str) -> str | None:
    """`error` again after creating each missing table: SQLite stops reading `ALTER TABLE t ADD
    COLUMN ...` (and `CREATE INDEX ... ON t`) at the missing table, so the rest of the statement is
    judged only once `t` exists. A stand-in has one column; a missing column is still the
    schema's question."""
    conn = scratch()
    try:
        for _ in range(3):  # a statement names few tables before the parser has read it all
            match = _NO_SUCH_TABLE.match(error)
            if match is None:
                break
            schema, _, table = match["name"].rpartition(".")
            try:
                conn.execute(f"CREATE TABLE {quote_identifier(schema or 'main')}.{quote_identifier(table)} (_)")
            except sqlite3.Error:
                break
            again = prepare_error(conn, info)
            if again is None:
                return None
            error = again
        return error
    finally:
        conn.close()


def is_foreign_keys_pragma(info: StatementInfo) -> bool:
    return info.pragma is not None and info.pragma[0] == "foreign_keys"


def turns_foreign_keys_off(infos: Sequence[StatementInfo]) -> bool:
    """Whether a migration runs with foreign keys off: one of its `PRAGMA foreign_keys` turns them off."""
    return any(foreign_keys_off(info) for info in infos if is_foreign_keys_pragma(info))


def foreign_keys_off(info: StatementInfo) -> bool:
    """Whether this `PRAGMA foreign_keys` statement leaves foreign keys off, as SQLite reads it:
    the statement runs on a scratch connection whose foreign keys were on, and SQLite says."""
    conn = scratch()
    try:
        conn.execute(info.statement.text)
        return not conn.execute("PRAGMA foreign_keys").fetchone()[0]
    except (sqlite3.Error, ValueError, UnicodeEncodeError):  # not a statement SQLite runs: it changes nothing
        return False
    finally:
        conn.close()
