"""Running one migration's steps on an open connection; shared by the runtime and the proof."""

from __future__ import annotations

from collections.abc import Iterable

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._dbapi import Connection

# A step is a tuple, as the frozen module stores it:
#   ("sql", line, statement)
#   ("add_column", line, statement, table, column)   statement has no IF NOT EXISTS
Step = tuple[object, ...]


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def has_column(conn: Connection, table: str, column: str) -> bool:
    rows = conn.execute(f"PRAGMA table_info({quote_identifier(table)})").fetchall()
    return any(str(row[1]).lower() == column.lower() for row in rows)


def execute_steps(conn: Connection, steps: Iterable[Step]) -> None:
    """Run the steps in order on `conn`; the caller owns the transaction.

    `add_column` runs only when the column is missing: this is what makes
    `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` real on stock SQLite.
    """
    for step in steps:
        kind, statement = step[0], str(step[2])
        if kind == "add_column" and has_column(conn, str(step[3]), str(step[4])):
            continue
        conn.execute(statement)


SchemaRow = tuple[str, str, str, str | None]

# Objects SQLite makes for itself (autoindexes, sqlite_sequence) are not part of a schema.
SCHEMA_QUERY = (
    "SELECT type, name, tbl_name, sql FROM sqlite_master "
    "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != ? ORDER BY type, name"
)


def read_schema(conn: Connection, ledger: str) -> tuple[SchemaRow, ...]:
    """The schema as the frozen module stores it: (type, name, tbl_name, sql), sorted."""
    return tuple(tuple(row) for row in conn.execute(SCHEMA_QUERY, (ledger,)))
