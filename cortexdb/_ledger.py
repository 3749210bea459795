"""The ledger table (CortexPrism's `schema_migrations`) and the fingerprint in `user_version`."""

from __future__ import annotations

# The ledger's statements live in the contract: the generator's proof writes the ledger as this does.
from ._contract import exists_query, quote_identifier, shown_version
from ._errors import LedgerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any, Protocol


    Rows = list[Any]
    #: (version, description, applied_at, checksum): one ledger row as `history` shows it.
    Entry = tuple[int, str, str, str]

    class Cursor(Protocol):
        def fetchone(self) -> Any: ...

        def fetchall(self) -> list[Any]: ...

    class Connection(Protocol):
        """What the ledger is read through: `sqlite3.Connection`, or `remote.session.RemoteConnection`."""

        def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...


def ledger_exists(conn: Connection, ledger: str) -> bool:
    return conn.execute(exists_query(ledger)).fetchone() is not None


def read_ledger(conn: Connection, ledger: str, location: str | None = None) -> list[tuple[int, str]]:
    """(version, checksum) rows in version order; empty when there is no ledger yet."""
    if not ledger_exists(conn, ledger):
        return []
    return ledger_rows(conn.execute(ledger_query(ledger)).fetchall(), location)


def read_under_lock(
    begin: Callable[[str], Rows], execute: Callable[[str], Rows], ledger: str, known_to_exist: bool,
    location: str | None = None,
) -> list[tuple[int, str]]:
    """The ledger's rows, read in the write transaction that `begin(read)` opens.

    `begin` runs the query `read` right after `BEGIN IMMEDIATE` (a server gets both in one
    request). Once the ledger is known to exist that query reads it; before, it asks whether
    the table exists, and `execute` reads it if so.
    """
    if known_to_exist:
        return ledger_rows(begin(ledger_query(ledger)), location)
    if begin(exists_query(ledger)):
        return ledger_rows(execute(ledger_query(ledger)), location)
    return []


def read_entries(conn: Connection, ledger: str, location: str | None = None) -> list[Entry]:
    """Every ledger row as `history` shows it: (version, description, applied_at, checksum), checked
    as `ledger_rows` checks them; NULL text (a hand-edited ledger) reads as ""."""
    if not ledger_exists(conn, ledger):
        return []
    rows = conn.execute(
        f"SELECT version, checksum, description, applied_at FROM {quote_identifier(ledger)} ORDER BY version"
    ).fetchall()
    checked = ledger_rows(((row[0], row[1]) for row in rows), location)
    pairs = zip(checked, rows, strict=True)
    return [(version, _text(row[2]), _text(row[3]), checksum) for (version, checksum), row in pairs]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def ledger_query(ledger: str) -> str:
    """The query `read_ledger` runs once it knows the table exists."""
    return f"SELECT version, checksum FROM {quote_identifier(ledger)} ORDER BY version"


def read_user_version(conn: Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def ledger_rows(rows: Iterable[Sequence[Any]], location: str | None = None) -> list[tuple[int, str]]:
    """(version, checksum) pairs, checked: each version an integer recorded once, each checksum
    text. Anything else (a ledger table declared otherwise, edited by hand, damaged) is a
    `LedgerError` naming the row, never a guess: the plan must not read it as something else."""
    result: list[tuple[int, str]] = []
    seen: set[int] = set()
    for version, checksum in rows:
        problem = None
        if not isinstance(version, int) or isinstance(version, bool):
            problem = f"its version is {_shown(version)}, not an integer"
        elif not isinstance(checksum, str):
            problem = f"its checksum is {_shown(checksum)}, not text"
        elif version in seen:
            problem = "its version is recorded twice"
        if problem is not None:
            raise LedgerError(
                location,
                f"the ledger row (version {_shown_version(version)}, checksum {_shown(checksum)}) is malformed: "
                f"{problem}; repair the ledger table by hand or restore the database from a backup",
            )
        seen.add(version)
        result.append((version, checksum))
    return result


def _shown_version(value: object) -> str:
    """An integer version as every text shows one (`007`); anything else as stored."""
    return shown_version(value) if isinstance(value, int) and not isinstance(value, bool) else _shown(value)


def _shown(value: object) -> str:
    if value is None:
        return "NULL"
    text = repr(value) if not isinstance(value, bytes) else f"a {len(value)}-byte blob"
    return text if len(text) <= 40 else text[:37] + "..."
