"""The part of a DB-API connection the applier uses, which sqlite3 and the remote backend share.

For type checking only: the runtime imports this module under `TYPE_CHECKING` alone, so it
costs nothing at run time (`typing` is not on the up-to-date path).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from ._catalog import Migration
from ._errors import CortexDBError
from ._inspect import Snapshot


class Cursor(Protocol):
    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """`sqlite3.Connection` with `isolation_level=None`, or `_libsql.RemoteConnection`."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Sequence[Any] = ..., /) -> Cursor: ...

    def close(self) -> None: ...


class Backend(Protocol):
    """What differs between a local file and a database on a libSQL server (`Target.backend`).

    The up-to-date check, a read-only snapshot (status, verify, dry runs), and the apply port
    that `_apply.apply_pending` drives through the same loop of locked transactions.
    """

    #: The file path or URL that messages start with.
    location: str
    #: The driver's own exceptions, turned into ours by `translate` (remote errors already are).
    driver_errors: tuple[type[Exception], ...]

    def is_current(self, expected: int) -> bool:
        """The up-to-date check: the database holds fingerprint `expected`. Any doubt: False."""

    def snapshot(self, ledger: str, schema: bool = False) -> Snapshot:
        """The database read at one moment, changing nothing: ledger rows and, with `schema`,
        its live schema (and, for a file, `PRAGMA quick_check`)."""

    def connect(self) -> Connection: ...

    def translate(self, error: Exception) -> CortexDBError: ...

    def prepare(self, conn: Connection) -> None:
        """Before the first lock (e.g. WAL for a new file)."""

    def begin(self, conn: Connection, read: str | None) -> list[Any]:
        """`BEGIN IMMEDIATE` (the write lock, waited for), then the query `read`: its rows."""

    def ready_to_write(self, conn: Connection) -> bool:
        """Under the lock with work pending. False: it ended the transaction to change a setting."""

    def before_change(self, conn: Connection, had_rows: bool) -> bool:
        """Under the lock, before each migration is applied; True when it took a backup now."""

    def run_steps(self, conn: Connection, migration: Migration, before: Sequence[str]) -> None:
        """`before`, then the migration's steps in the open transaction (or with `commit`, which
        must follow); `MigrationFailedError` naming the step that failed."""

    def commit(self, conn: Connection, statements: Sequence[tuple[str, Sequence[Any]]] = ()) -> None:
        """Run `statements` (the ledger row, the fingerprint), then COMMIT."""

    def finish(self, conn: Connection) -> None:
        """After the last transaction, the database up to date, before the connection closes."""

    def reconnect(self, conn: Connection) -> Connection:
        """After a retryable error: a connection to start the transaction over with."""
