"""The remote backend: a database on a libSQL server (sqld), through `_libsql` (stdlib Hrana).

Imported only when a database is given a URL, so the local path never loads `http.client`.
What differs from a file (docs/sqld-notes.md has the evidence):

- No connection pragmas: sqld runs WAL and refuses `journal_mode`/`busy_timeout` changes;
  foreign keys are on in every new server session. No backup and no `PRAGMA quick_check`
  before applying: the server owns its storage (snapshots, bottomless replication).
- Reads that decide something run inside `BEGIN IMMEDIATE` (through a replica that runs on
  the primary); an autocommit read through a replica may lag by milliseconds. The only
  autocommit read is the up-to-date check, where a stale answer just takes the slow path.
- Consecutive plain steps of a migration go as one batch: fewer round trips, less time
  holding the lock, which sqld takes back after 5 s when another client waits.
- A transaction the server ended, or a COMMIT that got no answer, is retryable: the applier
  starts over on a new connection and the ledger, re-read under the lock, decides.
"""

from __future__ import annotations

import logging

from . import _ledger, _libsql
from ._apply import step_failed
from ._locations import auth_token
from ._steps import has_column

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._catalog import Migration
    from ._dbapi import Connection
    from ._errors import CortexDBError
    from ._steps import SchemaRow, Step

log = logging.getLogger("cortexdb")

MIN_TIMEOUT = 1.0  # seconds per request; a BEGIN IMMEDIATE may wait up to 5 s per transaction ahead


class CommitUnconfirmed(_libsql.RemoteError):
    """A COMMIT got no answer: it may or may not have happened; the ledger says which."""

    retryable = True


def request_timeout(busy_timeout: float) -> float:
    """How long to wait for each answer, from the local busy timeout (which may be 0)."""
    return max(busy_timeout, MIN_TIMEOUT)


def connect(name: str, url: str, busy_timeout: float) -> _libsql.RemoteConnection:
    return _libsql.connect(url, auth_token(name), timeout=request_timeout(busy_timeout))


def is_current(name: str, url: str, expected: int, busy_timeout: float) -> bool:
    """The fast path: one autocommit `PRAGMA user_version`. Any doubt (or error): False."""
    try:
        conn = connect(name, url, busy_timeout)
        try:
            row = conn.execute("PRAGMA user_version").fetchone()
        finally:
            conn.close()
    except _libsql.RemoteError:
        return False  # the slow path reports it properly
    return row is not None and row[0] == expected


def read_ledger(
    name: str, url: str, ledger: str, busy_timeout: float, *, schema: bool = False
) -> tuple[list[tuple[int, str]], list[SchemaRow] | None]:
    """(ledger rows, live schema if asked) read in one `BEGIN IMMEDIATE` ... `ROLLBACK`."""
    from ._verify import live_schema

    conn = connect(name, url, busy_timeout)
    try:
        conn.execute("BEGIN IMMEDIATE")
        rows = _ledger.read_ledger(conn, ledger)
        live = live_schema(conn, ledger) if schema else None
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return rows, live


class RemoteDatabase:
    """One database on sqld, for `_apply.apply_pending`."""

    driver_errors: tuple[type[Exception], ...] = ()  # `_libsql` raises CortexDBError subclasses

    def __init__(self, name: str, url: str, busy_timeout: float) -> None:
        self.name = name
        self.location = url
        self.busy_timeout = busy_timeout

    def connect(self) -> _libsql.RemoteConnection:
        return connect(self.name, self.location, self.busy_timeout)

    def translate(self, error: Exception) -> CortexDBError:
        raise AssertionError(f"not a driver error: {error!r}")  # pragma: no cover

    def prepare(self, conn: Connection) -> None:
        """Nothing: sqld is WAL already, and a session setting would not outlive one request."""

    def begin(self, conn: Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")  # never deferred: through a replica that reads a stale snapshot

    def ready_to_write(self, conn: Connection) -> bool:
        return True

    def before_change(self, conn: Connection, had_rows: bool) -> bool:
        return False  # no backup or quick_check remotely: the server owns its storage

    def run_steps(self, conn: Connection, migration: Migration) -> None:
        assert isinstance(conn, _libsql.RemoteConnection)
        group: list[Step] = []
        for step in migration.steps:
            if step[0] == "add_column":
                # Whether the column exists depends on the steps before: send those first.
                self._run_group(conn, migration, group)
                group = []
                if has_column(conn, str(step[3]), str(step[4])):
                    continue
            group.append(step)
        self._run_group(conn, migration, group)

    def commit(self, conn: Connection) -> None:
        try:
            conn.execute("COMMIT")
        except _libsql.ConnectError as error:
            raise CommitUnconfirmed(
                f"no answer to COMMIT ({error.message}); reading the ledger again",
                url=self.location,
                code=error.code,
                detail=error.detail,
            ) from error

    def reconnect(self, conn: Connection) -> Connection:
        conn.close()  # rolls back what the server still has open, if it answers
        return self.connect()

    def _run_group(self, conn: _libsql.RemoteConnection, migration: Migration, group: list[Step]) -> None:
        if not group:
            return
        log.debug("%s: %s steps at lines %s-%s", self.location, migration.label, group[0][1], group[-1][1])
        try:
            conn.run_batch([str(step[2]) for step in group])
        except _libsql.SQLError as error:
            step = group[error.step] if error.step is not None else group[0]
            raise step_failed(self.location, migration, step, error.message) from None
