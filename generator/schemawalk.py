"""Each migration checked against the schema its earlier migrations give: one database's
migrations run in order on a scratch database, and every statement SQLite cannot prepare
there (`no such table`, `no such column`, `table t already exists`) is an MG100 finding at
its line, all of them at once.

`lint` with a manifest walks every database (the pre-commit hook thus catches what the build
catches). The build proves instead (the proof runs the same statements and stops at a
database's first failure) and walks a database only when its proof failed so, to report all
at once; the build and `lint` then give the same findings for the same files.

A statement that fails only when it runs (a constraint on rows) is the proof's to judge, not
this walk's: only what SQLite refuses to prepare is reported. After a failure the walk goes
on; a later statement that fails only because the failed one did not create its table or
column is not reported again.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable

from cortexdb._contract import execute_steps

from .analyze import StatementInfo
from .compile import step_of
from .diagnostics import Diagnostic
from .sqlcheck import REJECTED, prepare_error, scratch

# Statements the runtime never lets run as written (MG008): the walk does not run them either.
_NOT_RUN = frozenset({"VACUUM", "ATTACH", "DETACH"})
_MISSING_NAME = re.compile(r"no such \w+: (?:\w+\.)?(?P<name>.+)$|has no column named (?P<column>.+)$")


class SchemaWalk:
    """One database's scratch schema, brought forward a migration at a time."""

    def __init__(self) -> None:
        self._conn = scratch()
        self._failed: set[str] = set()  # what failed statements would have created, case-folded

    def close(self) -> None:
        self._conn.close()

    def check(self, path: str, infos: Iterable[StatementInfo], skip: Iterable[tuple[int, int]] = ()
              ) -> list[Diagnostic]:
        """Run one migration's statements; the findings of those SQLite cannot prepare.

        `skip` are the (line, col) of statements already reported as broken (lint's MG100).
        """
        skipped = set(skip)
        found: list[Diagnostic] = []
        for info in infos:
            statement = info.statement
            step = step_of(info)
            if info.parse_error is not None or (statement.line, statement.col) in skipped:
                self._failed.update(_created(info))
                continue
            if step is None or info.transaction_control or info.verb in _NOT_RUN:
                continue
            try:
                execute_steps(self._conn, [step])
            except sqlite3.Error:
                error = prepare_error(self._conn, info)
                if error is None:
                    continue  # it prepares, it failed on rows: the proof's question
                self._failed.update(_created(info))
                if not self._follows_a_failure(error):
                    found.append(Diagnostic(path, statement.line, statement.col, "MG100", REJECTED + error))
            if self._conn.in_transaction:  # SAVEPOINT without RELEASE: leave nothing open
                self._conn.execute("ROLLBACK")
        return found

    def _follows_a_failure(self, error: str) -> bool:
        match = _MISSING_NAME.search(error)
        if match is None:
            return False
        name = (match["name"] or match["column"] or "").strip().casefold()
        return name in self._failed


def _created(info: StatementInfo) -> set[str]:
    """The names a statement would have made: its table (or other object), its new column."""
    names = {info.name} if info.verb == "CREATE" and info.name else set()
    if info.add_column is not None:
        names.add(info.add_column[1])
    if info.renamed is not None:
        names.add(info.renamed[1])
    return {name.casefold() for name in names}
