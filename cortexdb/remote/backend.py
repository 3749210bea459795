"""The remote backend: a database on a libSQL server (sqld), through `_libsql` (stdlib Hrana).

Imported only when a database is given a URL, so the local path never loads `http.client`.
What differs from a file (docs/sqld-notes.md has the evidence):

- No connection pragmas: sqld runs WAL and refuses `journal_mode`/`busy_timeout` changes;
  foreign keys are on in every new server session. No backup and no `PRAGMA quick_check`
  before applying: the server owns its storage (snapshots, bottomless replication).
- Reads that decide something run inside `BEGIN IMMEDIATE` (through a replica that runs on
  the primary); an autocommit read through a replica may lag by milliseconds. The only
  autocommit read is the up-to-date check, where a stale answer just takes the slow path.
  Reads that only report (status, verify, history, dry runs) take no lock: a deferred
  `BEGIN`, so the application's own write transaction is never taken back for them.
- About two requests per migration (the ledger read with the BEGIN; the steps, each
  `add_column` guarded on the server, with the ledger row, fingerprint and COMMIT): less
  time holding the lock, which sqld takes back after 5 s when another client waits.
- A transaction the server ended, or a COMMIT that got no answer, is retryable: the applier
  starts over on a new connection and the ledger, re-read under the lock, decides.
"""

from __future__ import annotations

import contextlib
import random
import time

from .. import _ledger
from .._apply import check_foreign_keys, ended_own_transaction, step_failed, violations
from .._contract import ADD_COLUMN, COLUMN_EXISTS, Step, read_schema, user_version_statement
from .._errors import CommitUnconfirmed, ConnectError, LockTimeoutError, MigrationFailedError, RemoteError, SQLError
from .._log import log
from . import session as _libsql
from .batches import BatchItem, Unless

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from .._apply import HealWork, Record
    from .._catalog import Migration
    from .._contract import SchemaRow
    from .._errors import CortexDBError
    from .._heal import Healed
    from .._inspect import Snapshot


MIN_TIMEOUT = 1.0  # seconds per request; a BEGIN IMMEDIATE may wait up to 5 s per transaction ahead


def request_timeout(busy_timeout: float) -> float:
    """How long to wait for each answer, from the local busy timeout (which may be 0)."""
    return max(busy_timeout, MIN_TIMEOUT)


def connect(url: str, token: str, busy_timeout: float) -> _libsql.RemoteConnection:
    return _libsql.connect(url, token, timeout=request_timeout(busy_timeout))


def is_current(url: str, token: str, expected: int, busy_timeout: float) -> bool:
    """The fast path: one autocommit `PRAGMA user_version`. Any doubt (or error): False."""
    try:
        conn = connect(url, token, busy_timeout)
        try:
            row = conn.execute("PRAGMA user_version").fetchone()
        finally:
            conn.close()
    except RemoteError:
        return False  # the slow path reports it properly
    return row is not None and row[0] == expected


def begin_immediate(conn: _libsql.RemoteConnection, read: str | None, busy_timeout: float) -> list[Any]:
    """`BEGIN IMMEDIATE` and, in the same request, the query `read`: its rows.

    On the primary a BEGIN IMMEDIATE waits for the write lock. Through a replica it sometimes
    fails at once with SQLITE_BUSY while another client holds the lock (docs/sqld-notes.md):
    like SQLite's busy handler, try again with backoff until the busy timeout.
    """
    deadline = time.monotonic() + busy_timeout
    delay = 0.005
    while True:
        try:
            return conn.begin("BEGIN IMMEDIATE", read).fetchall()
        except SQLError as error:
            if error.code != "SQLITE_BUSY" or conn.in_transaction:
                raise
            if time.monotonic() >= deadline:
                raise LockTimeoutError(
                    conn.url,
                    f"the database is locked by another connection; gave up after {busy_timeout:g}s "
                    "(raise --busy-timeout or stop the other writer)",
                ) from None
        log.debug("%s: BEGIN IMMEDIATE: busy; trying again", conn.url)
        time.sleep(min(delay * random.uniform(0.5, 1.5), max(0.0, deadline - time.monotonic())))
        delay = min(delay * 2, 0.1)


def read_ledger(
    url: str, token: str, ledger: str, busy_timeout: float, *, schema: bool = False, entries: bool = False
) -> tuple[list[tuple[int, str]], list[SchemaRow] | None, list[_ledger.Entry] | None]:
    """(ledger rows, live schema if asked, whole ledger rows if asked) read in one deferred
    `BEGIN` ... `ROLLBACK`: one consistent snapshot, and no write lock.

    These reads only report (status, verify, history, a dry run); what decides re-reads under
    the lock. Waiting for the write lock here would make sqld take it back from the
    application's open write transaction after 5 s, and its writes would be lost. Through a
    replica the snapshot is the replica's, which may lag the primary by milliseconds.
    """
    conn = connect(url, token, busy_timeout)
    try:
        conn.begin("BEGIN")
        rows = _ledger.read_ledger(conn, ledger, url)
        live = list(read_schema(conn, ledger)) if schema else None
        listed = _ledger.read_entries(conn, ledger, url) if entries else None
        conn.execute("ROLLBACK")
    finally:
        conn.close()
    return rows, live, listed


class RemoteDatabase:
    """One database on sqld, for `_apply.apply_pending`: about two requests per migration.

    `lock` sends the ledger read with the BEGIN; `apply` sends a migration's steps with its
    ledger row, fingerprint and COMMIT, each `add_column` guarded on the server. Only a
    `foreign_keys_off` migration sends its steps first, because `PRAGMA foreign_key_check`
    must read their effect before the commit.
    """

    backed_up = False  # no backup or quick_check remotely: the server owns its storage

    def __init__(self, url: str, token: str, busy_timeout: float) -> None:
        self.location = url
        self.token = token  # `_targets.auth_token`: from the environment, never from the URL
        self.busy_timeout = busy_timeout
        self.conn: _libsql.RemoteConnection | None = None

    def is_current(self, expected: int) -> bool:
        return is_current(self.location, self.token, expected, self.busy_timeout)

    def snapshot(self, ledger: str, schema: bool = False, entries: bool = False) -> Snapshot:
        """Read in one snapshot, without the write lock (see `read_ledger`). No `PRAGMA
        quick_check`: the server owns its storage's integrity."""
        from .._inspect import Snapshot  # not at the top: its dataclasses cost an apply more than it does

        rows, live, listed = read_ledger(self.location, self.token, ledger, self.busy_timeout, schema=schema,
                                         entries=entries)
        return Snapshot(self.location, True, tuple(rows), None if live is None else tuple(live),
                        entries=None if listed is None else tuple(listed))

    def open(self) -> None:
        # No connection pragmas: sqld is WAL already, and a session setting would not outlive
        # one request.
        self.conn = connect(self.location, self.token, self.busy_timeout)

    def lock(self, ledger: str, known_to_exist: bool) -> list[tuple[int, str]]:
        conn = self._conn()
        # Never a deferred BEGIN: through a replica that reads the replica's (stale) snapshot.
        return _ledger.read_under_lock(
            lambda read: begin_immediate(conn, read, self.busy_timeout),
            lambda sql: conn.execute(sql).fetchall(),
            ledger,
            known_to_exist,
            self.location,
        )

    def set_foreign_keys(self, on: bool) -> None:
        conn = self._conn()
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.execute(f"PRAGMA foreign_keys = {'ON' if on else 'OFF'}")  # held back for later sessions

    def apply(self, migration: Migration, before: Sequence[str], record: Record) -> bool:
        conn = self._conn()
        steps: list[str | Unless] = [*before]
        steps += [
            Unless(step.sql, COLUMN_EXISTS, (step.table, step.column))
            if step.kind == ADD_COLUMN
            else step.sql
            for step in map(Step, migration.steps)
        ]
        if migration.foreign_keys_off:
            log.debug("%s: %s: %d statements in one request", self.location, migration.label, len(steps))
            def query(sql: str) -> list[Any]:
                return list(conn.execute(sql).fetchall())

            before_steps = violations(query)
            try:
                conn.run_batch(steps)
            except SQLError as error:
                raise self._failed(migration, len(before), error) from None
            if not conn.in_transaction:
                raise ended_own_transaction(self.location, migration)
            check_foreign_keys(self.location, migration, before_steps, query)
            self._commit(conn, list(record))
            return True
        log.debug("%s: %s: %d statements and COMMIT in one request", self.location, migration.label,
                  len(steps) + len(record))
        try:
            self._commit(conn, [*steps, *record])  # the steps, the ledger row, the fingerprint, COMMIT
        except SQLError as error:
            if error.code == "NO_TRANSACTION":
                raise ended_own_transaction(self.location, migration) from None
            if error.step is not None and error.step < len(steps):
                raise self._failed(migration, len(before), error) from None
            raise
        return True

    # Healing on adoption checks the live schema against the build's proof for the ledger and
    # refuses what differs (`_heal.check`); it completes nothing: a heal would be a round trip
    # per statement inside the write transaction sqld aborts after 5 s.
    completes = False

    def user_version(self) -> int:
        return _ledger.read_user_version(self._conn())

    def heal(self, work: HealWork, record: Callable[[Healed], Record]) -> Healed | None:
        from .._heal_checks import HealRefusal

        conn = self._conn()
        try:
            healed = work(conn, (SQLError,))
        except HealRefusal as refusal:
            conn.execute("ROLLBACK")
            raise MigrationFailedError(self.location, f"cannot heal this database: {refusal.message}") from None
        conn.execute("ROLLBACK")  # nothing changed: the loop goes on in a new transaction
        return healed

    def finish(self, fingerprint: int | None) -> bool:
        if fingerprint is None:
            return False  # committed with the last migration; nothing else to do on a server
        conn = self._conn()
        wrote = _ledger.read_user_version(conn) != fingerprint
        self._commit(conn, [(user_version_statement(fingerprint), ())] if wrote else [])
        return wrote

    def reconnect(self) -> None:
        self.close()  # rolls back what the server still has open, if it answers
        self.open()

    def close(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            with contextlib.suppress(RemoteError):
                conn.close()

    def _conn(self) -> _libsql.RemoteConnection:
        assert self.conn is not None, "open() first"
        return self.conn

    def _commit(self, conn: _libsql.RemoteConnection, items: Sequence[BatchItem | Unless]) -> None:
        try:
            conn.commit(items)
        except ConnectError as error:
            raise CommitUnconfirmed(
                f"no answer to COMMIT ({error.message}); reading the ledger again",
                url=self.location,
                code=error.code,
                detail=error.detail,
            ) from error

    def _failed(self, migration: Migration, skip: int, error: SQLError) -> CortexDBError:
        """`error` at item `error.step` of a request whose first `skip` items precede the steps."""
        index = (error.step or 0) - skip
        if not 0 <= index < len(migration.steps):
            return error  # not one of the migration's own statements (e.g. creating the ledger)
        return step_failed(self.location, migration, migration.steps[index], error.detail or error.message)
