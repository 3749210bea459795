"""The ledger table (CortexPrism's `schema_migrations`) and the fingerprint in `user_version`."""

from __future__ import annotations

from ._contract import quote_identifier

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, Protocol

    from ._catalog import Migration

    Rows = list[Any]

    class Cursor(Protocol):
        def fetchone(self) -> Any: ...

        def fetchall(self) -> list[Any]: ...

    class Connection(Protocol):
        """What the ledger is read through: `sqlite3.Connection`, or `remote.session.RemoteConnection`."""

        def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...


def ledger_exists(conn: Connection, ledger: str) -> bool:
    return conn.execute(exists_query(ledger)).fetchone() is not None


def exists_query(ledger: str) -> str:
    """A row when the ledger table exists (the name inline: a query that travels without parameters)."""
    quoted = "'" + ledger.replace("'", "''") + "'"
    return f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = {quoted}"


def read_ledger(conn: Connection, ledger: str) -> list[tuple[int, str]]:
    """(version, checksum) rows in version order; empty when there is no ledger yet."""
    if not ledger_exists(conn, ledger):
        return []
    return ledger_rows(conn.execute(ledger_query(ledger)).fetchall())


def read_under_lock(
    begin: Callable[[str], Rows], execute: Callable[[str], Rows], ledger: str, known_to_exist: bool
) -> list[tuple[int, str]]:
    """The ledger's rows, read in the write transaction that `begin(read)` opens.

    `begin` runs the query `read` right after `BEGIN IMMEDIATE` (a server gets both in one
    request). Once the ledger is known to exist that query reads it; before, it asks whether
    the table exists, and `execute` reads it if so.
    """
    if known_to_exist:
        return ledger_rows(begin(ledger_query(ledger)))
    if begin(exists_query(ledger)):
        return ledger_rows(execute(ledger_query(ledger)))
    return []


def ledger_query(ledger: str) -> str:
    """The query `read_ledger` runs once it knows the table exists."""
    return f"SELECT version, checksum FROM {quote_identifier(ledger)} ORDER BY version"


def ledger_rows(rows: Iterable[Sequence[Any]]) -> list[tuple[int, str]]:
    return [(int(version), str(checksum)) for version, checksum in rows]


def create_ledger_statement(ledger: str) -> str:
    """The table exactly as CortexPrism declares it, so either system can read the other's."""
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(ledger)} ("
        "version INTEGER PRIMARY KEY, "
        "description TEXT NOT NULL, "
        "applied_at TEXT NOT NULL DEFAULT (datetime('now')), "
        "checksum TEXT NOT NULL)"
    )


def record(ledger: str, migration: Migration, fingerprint: int) -> list[tuple[str, tuple[object, ...]]]:
    """The statements that record `migration` in its transaction: its ledger row, the new fingerprint."""
    return [
        (
            f"INSERT INTO {quote_identifier(ledger)} (version, description, checksum) VALUES (?, ?, ?)",
            (migration.version, migration.description, migration.checksum),
        ),
        # In the migration's transaction: the header page changes with the ledger row or not at all.
        (user_version_statement(fingerprint), ()),
    ]


def read_user_version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def user_version_statement(value: int) -> str:
    return f"PRAGMA user_version = {int(value)}"
