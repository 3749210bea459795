"""MG010's memory: which tables and columns earlier migrations of one database created, and
whether a statement destroys one of them."""

from __future__ import annotations

from dataclasses import dataclass, field

from .analyze import StatementInfo


@dataclass
class LintContext:
    """What earlier migrations of one database created, accumulated in version order."""

    created_tables: set[str] = field(default_factory=set)
    created_columns: set[tuple[str, str]] = field(default_factory=set)


def shown(name: str) -> str:
    """A name from the SQL as a message shows it: as written, or as `repr` when it holds a
    newline or another unprintable character (a quoted identifier can), so a finding stays one line."""
    return name if name.isprintable() else repr(name)


class Tracker:
    """Follows tables and columns through one file, against what earlier files created."""

    def __init__(self, context: LintContext) -> None:
        self.context = context
        self.local_tables: set[str] = set()  # created by this file
        self.local_columns: set[tuple[str, str]] = set()
        self.temporary: set[str] = set()  # TEMP tables: gone with the connection, never "earlier"

    def _is_temporary(self, info: StatementInfo, table: str) -> bool:
        """Whether `info`'s table is a TEMP one, as SQLite resolves the name: `temp.t` is, `main.t`
        is not, and an unqualified `t` is the TEMP table while one of that name exists."""
        schema = (info.schema or "").lower()
        if schema in ("temp", "temporary"):
            return True
        return not schema and table in self.temporary

    def apply(self, info: StatementInfo) -> str | None:
        """Record what `info` creates or removes; describe it if it destroys earlier work."""
        if info.parse_error is not None or info.name is None:
            return None
        table = info.name.lower()
        tables, columns = self.context.created_tables, self.context.created_columns
        creates = info.verb == "CREATE" and info.object_type in ("TABLE", "VIRTUAL TABLE")
        if creates and (info.temporary or (info.schema or "").lower() in ("temp", "temporary")):
            self.temporary.add(table)
        elif info.verb in ("DROP", "ALTER") and self._is_temporary(info, table):
            # A TEMP table is gone with the connection, never an earlier migration's work.
            if info.verb == "DROP" and info.object_type == "TABLE":
                self.temporary.discard(table)
            elif info.alter_action == "RENAME" and info.renamed:
                self.temporary.discard(table)
                self.temporary.add(info.renamed[1].lower())
        elif creates:
            if table not in tables:
                tables.add(table)
                self.local_tables.add(table)
                for column in info.columns:
                    columns.add((table, column.lower()))
                    self.local_columns.add((table, column.lower()))
        elif info.verb == "DROP" and info.object_type == "TABLE":
            earlier = table in tables and table not in self.local_tables
            self._forget(table)
            return f"DROP TABLE {_qualified(info)} destroys a table" if earlier else None
        elif info.alter_action == "RENAME" and info.renamed:
            self._rename_table(table, info.renamed[1].lower())
        elif info.alter_action == "RENAME COLUMN" and info.renamed:
            old, new = (table, info.renamed[0].lower()), (table, info.renamed[1].lower())
            for group in (columns, self.local_columns):
                if old in group:
                    group.discard(old)
                    group.add(new)
        elif info.alter_action == "ADD COLUMN" and info.add_column:
            added = (table, info.add_column[1].lower())
            if added not in columns:
                columns.add(added)
                self.local_columns.add(added)
        elif info.alter_action == "DROP COLUMN" and info.dropped_column:
            dropped = (table, info.dropped_column.lower())
            local = table in self.local_tables or dropped in self.local_columns
            earlier = not local and (table in tables or dropped in columns)
            columns.discard(dropped)
            self.local_columns.discard(dropped)
            if earlier:
                return f"ALTER TABLE {_qualified(info)} DROP COLUMN {shown(info.dropped_column)} destroys a column"
        return None

    def _forget(self, table: str) -> None:
        self.context.created_tables.discard(table)
        self.local_tables.discard(table)
        for group in (self.context.created_columns, self.local_columns):
            group.difference_update({c for c in group if c[0] == table})

    def _rename_table(self, old: str, new: str) -> None:
        for tables in (self.context.created_tables, self.local_tables):
            if old in tables:
                tables.discard(old)
                tables.add(new)
        for group in (self.context.created_columns, self.local_columns):
            moved = {c for c in group if c[0] == old}
            group.difference_update(moved)
            group.update((new, column) for _, column in moved)


def _qualified(info: StatementInfo) -> str:
    """The table as the statement names it: `main.users` stays qualified in the message."""
    name = shown(info.name or "?")
    return f"{shown(info.schema)}.{name}" if info.schema else name
