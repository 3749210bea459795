"""Turning a migration's analysed statements into the runtime's steps."""

from __future__ import annotations

from dataclasses import dataclass

from .analyze import StatementInfo

FOREIGN_KEYS_OFF = "foreign_keys_off"
_OFF_VALUES = {"off", "0", "false", "no"}


@dataclass(frozen=True)
class CompiledMigration:
    steps: tuple[tuple[object, ...], ...]
    flags: tuple[str, ...]


def compile_statements(infos: list[StatementInfo]) -> CompiledMigration:
    """Steps in source order; `PRAGMA foreign_keys` becomes a flag the runtime honours.

    The pragma is a no-op inside a transaction, so the runtime sets it around the migration's
    transaction instead of running it as a statement.
    """
    steps: list[tuple[object, ...]] = []
    flags: set[str] = set()
    for info in infos:
        statement = info.statement
        if info.pragma is not None and info.pragma[0] == "foreign_keys":
            value = (info.pragma[1] or "").strip().strip("'\"").lower()
            if value in _OFF_VALUES:
                flags.add(FOREIGN_KEYS_OFF)
            continue
        if info.add_column is not None:
            table, column, text = info.add_column
            steps.append(("add_column", statement.line, text, table, column))
        else:
            steps.append(("sql", statement.line, statement.text))
    return CompiledMigration(steps=tuple(steps), flags=tuple(sorted(flags)))
