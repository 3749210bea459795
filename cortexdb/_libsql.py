"""The remote backend: a libSQL server (sqld) driven through the optional `libsql` client.

The runtime uses this module only for a database given as a URL. `libsql` is imported inside
`connect`, never at module import, so the stdlib path does not need it installed.

`RemoteConnection` is driven like `sqlite3.connect(path, isolation_level=None)`: `execute`
with explicit `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK`, `fetchall`, `close`. It makes up for
what differs on sqld (docs/sqld-notes.md has the evidence for each point):

- Outside a transaction each request may run in a new server session, so a lone
  `PRAGMA foreign_keys=OFF` would be lost: it is held back and sent in one request with the
  next `BEGIN`, which keeps that session for the whole transaction.
- The server aborts a transaction that has held the write lock for 5 s while another client
  waits. Statements sent after that would run in autocommit, outside any transaction, so the
  connection refuses everything except `ROLLBACK` until the caller rolls back.
- Through a replica, a single statement is prepared against the replica's own schema even
  inside a transaction, so it cannot see tables or columns created earlier in that
  transaction. `run_batch` sends statements in one request, prepared on the primary.
- `libsql` reports every failure as `ValueError` with a text; it becomes `TransactionAborted`
  (retry the transaction), `ConnectError` or `SQLError`.
- `libsql` runs only the first statement of a multi-statement `execute`; this refuses it.

Not compensated: `libsql` 0.1.11 re-renders DDL through its own SQL parser before sending it,
so `sqlite_master.sql` differs in text from what local SQLite stores (and identifiers that are
keywords, like `action`, come back upper-cased). Compare schemas structurally, not as text.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Sequence
from types import TracebackType
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit, urlunsplit

from ._errors import CortexDBError

AUTH_TOKEN_ENV = "CORTEX_LIBSQL_AUTH_TOKEN"
REMOTE_SCHEMES = ("http", "https", "libsql")

SQLValue = int | float | str | bytes | None
Row = tuple[Any, ...]


class RemoteError(CortexDBError):
    """Base of the remote backend's errors. `code` is sqld's error code when it sent one."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, url: str = "", code: str | None = None, detail: str = "") -> None:
        super().__init__(url or None, message)
        self.url = url
        self.code = code
        self.detail = detail  # the driver's text, verbatim


class DriverMissing(RemoteError):
    """The optional `libsql` package is not installed."""


class ConnectError(RemoteError):
    """The server cannot be reached, does not answer in time, or refuses the credentials."""


class TransactionAborted(RemoteError):
    """The server rolled the transaction back (sqld's 5 s TRANSACTION_TIMEOUT): roll back and retry it."""

    retryable = True


class SQLError(RemoteError):
    """SQLite or sqld rejected a statement (syntax, constraint, missing table, unsupported)."""

    @property
    def is_constraint(self) -> bool:
        return self.code == "SQLITE_CONSTRAINT" or "constraint failed" in self.message.lower()


# --- the untyped driver, seen through the little we use --------------------------------------


class _DriverCursor(Protocol):
    @property
    def lastrowid(self) -> int | None: ...
    @property
    def rowcount(self) -> int: ...
    @property
    def description(self) -> Any: ...
    def fetchall(self) -> list[Row]: ...
    def executescript(self, script: str) -> object: ...


class _DriverConnection(Protocol):
    def execute(self, sql: str, parameters: tuple[SQLValue, ...], /) -> _DriverCursor: ...
    def cursor(self) -> _DriverCursor: ...
    def close(self) -> None: ...


# --- error translation -----------------------------------------------------------------------

_CODE = re.compile(r'code: "([A-Z_0-9]+)"|\(error code: ([A-Z_0-9]+)\)')
_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
_ABORTED = ("TRANSACTION_TIMEOUT", "Transaction timed out", "Transaction timed-out")
_UNREACHABLE = ("http error", "error trying to connect", "status=401", "status=403", "dns error")
_NO_TRANSACTION = "no transaction is active"


def _translate(error: Exception, url: str) -> RemoteError:
    """Classify a `libsql` failure by the code and text sqld sends (the driver has nothing else)."""
    raw = str(error)
    match = _CODE.search(raw)
    code = (match.group(1) or match.group(2)) if match else None
    found = _MESSAGE.search(raw)
    message = found.group(1).replace('\\"', '"') if found else _innermost(raw)
    if code == "TRANSACTION_TIMEOUT" or any(marker in raw for marker in _ABORTED):
        return TransactionAborted(
            "the server aborted the transaction (it held the write lock over 5 s while another client waited)",
            url=url,
            code=code or "TRANSACTION_TIMEOUT",
            detail=raw,
        )
    if any(marker in raw for marker in _UNREACHABLE):
        return ConnectError(message, url=url, code=code, detail=raw)
    return SQLError(message, url=url, code=code, detail=raw)


_WRAPPED = re.compile(r"\A[\w ]+: `(.*)`\Z", re.DOTALL)


def _innermost(raw: str) -> str:
    """The driver's text without its wrappers, e.g. "Hrana: `api error: `...``" -> "..."."""
    text = raw.strip()
    while wrapped := _WRAPPED.match(text):
        text = wrapped.group(1)
    return text


# --- statements the connection must recognise ------------------------------------------------

_LEADING_NOISE = re.compile(r"\A(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?(?:\*/|\Z))*", re.DOTALL)
_FOREIGN_KEYS_SET = re.compile(r"\APRAGMA\s+(?:main\s*\.\s*)?foreign_keys\s*=\s*'?(\w+)'?\s*;?\s*\Z", re.IGNORECASE)
_FALSE_WORDS = frozenset({"0", "off", "false", "no"})


def _keyword(sql: str) -> str:
    """The statement's first word in upper case, after comments and whitespace."""
    body = _LEADING_NOISE.sub("", sql, count=1)
    word = re.match(r"[A-Za-z]+", body)
    return word.group(0).upper() if word else ""


def _strip_noise(sql: str) -> str:
    return _LEADING_NOISE.sub("", sql, count=1)


def _is_single_statement(sql: str) -> bool:
    """False when `sql` holds more than one statement (libsql would drop all but the first)."""
    if ";" not in sql:
        return True
    for index, char in enumerate(sql):
        if char == ";" and sqlite3.complete_statement(sql[: index + 1]):
            rest = sql[index + 1 :]
            while True:
                stripped = _strip_noise(rest)
                if not stripped.startswith(";"):
                    return stripped == ""
                rest = stripped[1:]
    return True


def sql_literal(value: SQLValue) -> str:
    """A SQL literal for `value`, for statements sent in a batch (which carries no parameters)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(f"no SQL literal for {value!r}")
        return repr(value)
    if isinstance(value, bytes):
        return "X'" + value.hex() + "'"
    if "\x00" in value:
        raise ValueError("a SQL string literal cannot hold NUL")
    return "'" + value.replace("'", "''") + "'"


# --- the connection --------------------------------------------------------------------------


class RemoteCursor:
    """The result of one statement, fetched eagerly, so every error surfaces in `execute`."""

    def __init__(self, rows: list[Row], rowcount: int = -1, lastrowid: int | None = None) -> None:
        self._rows = rows
        self._next = 0
        self.rowcount = rowcount
        self.lastrowid = lastrowid

    def fetchone(self) -> Row | None:
        if self._next >= len(self._rows):
            return None
        self._next += 1
        return self._rows[self._next - 1]

    def fetchall(self) -> list[Row]:
        rows = self._rows[self._next :]
        self._next = len(self._rows)
        return rows

    def __iter__(self) -> RemoteCursor:
        return self

    def __next__(self) -> Row:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row


_EMPTY = RemoteCursor([])


class RemoteConnection:
    """A connection to one database on sqld, driven like sqlite3 with `isolation_level=None`."""

    def __init__(self, driver: _DriverConnection, url: str) -> None:
        self._driver = driver
        self.url = url
        self._in_transaction = False
        self._aborted: TransactionAborted | None = None
        # Set by `PRAGMA foreign_keys=OFF` outside a transaction, as on SQLite it lasts until
        # turned on again; sqld forgets it after each request, so it goes out with each BEGIN.
        self._foreign_keys_off = False

    @property
    def in_transaction(self) -> bool:
        """True between a successful BEGIN and its COMMIT or ROLLBACK, as this side knows it."""
        return self._in_transaction

    def execute(self, sql: str, params: Sequence[SQLValue] = ()) -> RemoteCursor:
        """Run one statement; see the module docstring for what differs from sqlite3."""
        if not _is_single_statement(sql):
            raise SQLError("execute() takes one statement; use run_batch() for several", url=self.url)
        keyword = _keyword(sql)
        if keyword == "ROLLBACK" and not re.match(r"ROLLBACK\s+(TRANSACTION\s+)?TO\b", _strip_noise(sql), re.I):
            self.rollback()
            return _EMPTY
        self._refuse_if_aborted()
        foreign_keys = _FOREIGN_KEYS_SET.match(_strip_noise(sql))
        if foreign_keys and not self._in_transaction:
            # Sent alone it would set a server session that ends with this request.
            self._foreign_keys_off = foreign_keys.group(1).lower() in _FALSE_WORDS
            if not self._foreign_keys_off:
                self._send(sql, ())
            return _EMPTY
        if keyword == "BEGIN" and self._foreign_keys_off:
            self._script(f"PRAGMA foreign_keys=OFF;\n{sql}")
            self._in_transaction = True
            return _EMPTY
        cursor = self._send(sql, tuple(params))
        if keyword == "BEGIN":
            self._in_transaction = True
        elif keyword in ("COMMIT", "END"):
            self._in_transaction = False
        return cursor

    def run_batch(self, statements: Sequence[str], *, foreign_keys_off: bool = False) -> None:
        """Run `statements` in one request, prepared and executed on the primary.

        Inside a transaction they join it; a failure leaves the transaction open with the
        statements before the failing one applied (as a failing `execute` would): roll back.
        Outside a transaction they run in their own `BEGIN IMMEDIATE` ... `COMMIT`, all or
        nothing. There `foreign_keys_off` turns foreign keys off for this transaction and
        checks `PRAGMA foreign_key_check` before COMMIT: a violation is an `SQLError` and
        nothing is applied.
        """
        self._refuse_if_aborted()
        body = [statement for statement in statements if _strip_noise(statement).strip(" \t\r\n;")]
        if self._in_transaction:
            if foreign_keys_off:
                raise SQLError("foreign_keys_off applies to a transaction the batch starts itself", url=self.url)
            if body:
                self._script(_join(body))
            return
        prologue = ["PRAGMA foreign_keys=OFF", "BEGIN IMMEDIATE"] if foreign_keys_off else ["BEGIN IMMEDIATE"]
        epilogue = [*_FOREIGN_KEY_GUARD, "COMMIT", "PRAGMA foreign_keys=ON"] if foreign_keys_off else ["COMMIT"]
        try:
            self._script(_join([*prologue, *body, *epilogue]))
        except SQLError as error:
            self._rollback_quietly()
            if _FOREIGN_KEY_GUARD_NAME in error.message:
                raise SQLError(
                    "PRAGMA foreign_key_check found violations; nothing was applied",
                    url=self.url,
                    code="FOREIGN_KEY_CHECK",
                    detail=error.detail,
                ) from error
            raise
        except RemoteError:
            self._rollback_quietly()
            raise

    def commit(self) -> None:
        """COMMIT the open transaction."""
        self.execute("COMMIT")

    def rollback(self) -> None:
        """ROLLBACK; also what clears the state after `TransactionAborted`. Idempotent."""
        self._aborted = None
        if self._in_transaction:
            self._in_transaction = False
            self._rollback_on_server()

    def close(self) -> None:
        """Roll back what is open and close; never raises for a server that is already gone."""
        try:
            if self._in_transaction:
                self._in_transaction = False
                self._rollback_quietly()
        finally:
            self._driver.close()

    def __enter__(self) -> RemoteConnection:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- internals

    def _send(self, sql: str, params: tuple[SQLValue, ...]) -> RemoteCursor:
        try:
            cursor = self._driver.execute(sql, params)
            rows = cursor.fetchall()  # None, not [], for a statement without result columns
            return RemoteCursor(list(rows or []), cursor.rowcount, cursor.lastrowid)
        except ValueError as raw:
            raise self._failed(raw) from raw

    def _script(self, script: str) -> None:
        try:
            # Cursor.executescript raises on failure; Connection.executescript (0.1.11) does not.
            self._driver.cursor().executescript(script)
        except ValueError as raw:
            raise self._failed(raw) from raw

    def _failed(self, raw: ValueError) -> RemoteError:
        error = _translate(raw, self.url)
        if isinstance(error, TransactionAborted) and self._in_transaction:
            self._aborted = error
        return error

    def _refuse_if_aborted(self) -> None:
        if self._aborted is not None:
            raise TransactionAborted(
                "the transaction was aborted by the server; ROLLBACK before anything else",
                url=self.url,
                code=self._aborted.code,
                detail=self._aborted.detail,
            )

    def _rollback_on_server(self) -> None:
        """Send ROLLBACK; a server that already ended the transaction (abort, failed batch) is fine.

        Also resets the driver, which after a failed batch still believes a transaction is open.
        """
        try:
            self._driver.execute("ROLLBACK", ())
        except ValueError as raw:
            error = _translate(raw, self.url)
            if not (_NO_TRANSACTION in error.message or isinstance(error, TransactionAborted)):
                raise error from raw

    def _rollback_quietly(self) -> None:
        """Roll back on a cleanup path, where the error being reported is the one that matters."""
        with contextlib.suppress(RemoteError):
            self._rollback_on_server()


_FOREIGN_KEY_GUARD_NAME = "_cortexdb_foreign_key_guard"
# A batch cannot branch on PRAGMA foreign_key_check's rows; a CHECK constraint can fail on them.
_FOREIGN_KEY_GUARD = (
    f"CREATE TABLE {_FOREIGN_KEY_GUARD_NAME}(violations INTEGER NOT NULL"
    f" CONSTRAINT {_FOREIGN_KEY_GUARD_NAME} CHECK (violations = 0))",
    f"INSERT INTO {_FOREIGN_KEY_GUARD_NAME} SELECT count(*) FROM pragma_foreign_key_check",
    f"DROP TABLE {_FOREIGN_KEY_GUARD_NAME}",
)


def _join(statements: Sequence[str]) -> str:
    # A newline before each `;` so a trailing `-- comment` cannot swallow it.
    return "".join(f"{statement.rstrip().rstrip(';')}\n;\n" for statement in statements)


# --- connecting ------------------------------------------------------------------------------


def is_remote(location: str) -> bool:
    """True for a database location the remote backend serves (`http://`, `https://`, `libsql://`)."""
    return urlsplit(location).scheme.lower() in REMOTE_SCHEMES


def connect(url: str, auth_token: str | None = None, *, probe_timeout: float | None = 10.0) -> RemoteConnection:
    """Connect to the database at `url` on sqld.

    `libsql://` means TLS and is sent as `https://`; use `http://` on loopback. The token is
    `auth_token`, else `$CORTEX_LIBSQL_AUTH_TOKEN`, else none. `libsql` has no client-side
    timeout and waits forever on a server that accepts but never answers (a replica that
    cannot reach its primary does that), so unless `probe_timeout` is None a bounded
    `SELECT 1` over plain HTTP checks the server first.
    """
    http_url = _http_url(url)
    token = auth_token if auth_token is not None else os.environ.get(AUTH_TOKEN_ENV, "")
    try:
        libsql = importlib.import_module("libsql")
    except ImportError as error:
        raise DriverMissing(
            "a database URL needs the optional libsql client: pip install 'cortexdb[libsql]'", url=http_url
        ) from error
    if probe_timeout is not None:
        probe(http_url, token, timeout=probe_timeout)
    try:
        driver: _DriverConnection = libsql.connect(http_url, isolation_level=None, auth_token=token)
    except ValueError as raw:
        raise _translate(raw, http_url) from raw
    return RemoteConnection(driver, http_url)


def _http_url(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in REMOTE_SCHEMES or not parts.hostname:
        raise ConnectError(f"not a libSQL server URL: {url!r} (expected http://, https:// or libsql://host)")
    if parts.username or parts.password:
        raise ConnectError(f"put credentials in ${AUTH_TOKEN_ENV}, not in the URL: {parts.hostname}")
    return urlunsplit(("https" if scheme == "libsql" else scheme, parts.netloc, parts.path, parts.query, ""))


def probe(url: str, auth_token: str = "", *, timeout: float = 10.0) -> None:
    """Ask the server for `SELECT 1` over Hrana HTTP with a deadline; `ConnectError` if it cannot."""
    body = json.dumps({"requests": [{"type": "execute", "stmt": {"sql": "SELECT 1"}}, {"type": "close"}]})
    request = urllib.request.Request(
        url.rstrip("/") + "/v2/pipeline",
        data=body.encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"Bearer {auth_token}"} if auth_token else {}),
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer = json.loads(response.read())
    except urllib.error.HTTPError as error:
        refused = "the auth token was refused" if error.code in (401, 403) else f"HTTP {error.code}"
        raise ConnectError(f"{refused} ({error.read()[:200].decode(errors='replace')})", url=url) from error
    except (OSError, ValueError) as error:
        cause: object = getattr(error, "reason", error)
        if isinstance(cause, TimeoutError):
            raise ConnectError(f"no answer to SELECT 1 within {timeout:g} s", url=url) from error
        raise ConnectError(f"cannot reach the server: {cause}", url=url) from error
    results = answer.get("results") if isinstance(answer, dict) else None
    if not (isinstance(results, list) and results and results[0].get("type") == "ok"):
        raise ConnectError(f"unexpected answer to SELECT 1: {str(answer)[:200]}", url=url)
