"""The ledger table (CortexPrism's `schema_migrations`) and the fingerprint in `user_version`."""

from __future__ import annotations

from ._steps import quote_identifier

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._catalog import Migration
    from ._dbapi import Connection


def ledger_exists(conn: Connection, ledger: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (ledger,)
    ).fetchone()
    return row is not None


def read_ledger(conn: Connection, ledger: str) -> list[tuple[int, str]]:
    """(version, checksum) rows in version order; empty when there is no ledger yet."""
    if not ledger_exists(conn, ledger):
        return []
    rows = conn.execute(
        f"SELECT version, checksum FROM {quote_identifier(ledger)} ORDER BY version"
    ).fetchall()
    return [(int(version), str(checksum)) for version, checksum in rows]


def create_ledger(conn: Connection, ledger: str) -> None:
    """The table exactly as CortexPrism declares it, so either system can read the other's."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(ledger)} ("
        "version INTEGER PRIMARY KEY, "
        "description TEXT NOT NULL, "
        "applied_at TEXT NOT NULL DEFAULT (datetime('now')), "
        "checksum TEXT NOT NULL)"
    )


def record(conn: Connection, ledger: str, migration: Migration) -> None:
    conn.execute(
        f"INSERT INTO {quote_identifier(ledger)} (version, description, checksum) VALUES (?, ?, ?)",
        (migration.version, migration.description, migration.checksum),
    )


def read_user_version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def write_user_version(conn: Connection, value: int) -> None:
    # Inside the migration's transaction: the header page changes with the ledger row or not at all.
    conn.execute(f"PRAGMA user_version = {int(value)}")
