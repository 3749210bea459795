"""The remote backend: a database on a libSQL server (sqld), spoken to over Hrana HTTP.

Stdlib only: the wire is `_hrana` (http.client + json), so a database URL needs no optional
package. `RemoteConnection` is driven like `sqlite3.connect(path, isolation_level=None)`:
`execute` with explicit `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK`, `fetchall`, `close`. SQL
reaches the server verbatim. What differs on sqld, and what this module does about it
(docs/sqld-notes.md has the evidence):

- Outside a transaction each request runs in a new server session, so a lone
  `PRAGMA foreign_keys=OFF` would be lost: it is held back and sent at the start of every
  later session (with each `BEGIN`, before each autocommit statement) until turned on again.
- A transaction is one Hrana stream: `BEGIN` opens it, each later request carries its baton,
  `COMMIT`/`ROLLBACK` close it. Through a replica the whole transaction runs on the primary.
- The server aborts a transaction that has held the write lock for 5 s while another client
  waits (and one idle for ~10 s, when its stream expires). Statements sent after that would
  run in autocommit, so every statement inside a transaction is conditioned on the stream
  not being in autocommit, and the stream's state is read back after each request. Once the
  server has ended the transaction, the connection refuses everything but `ROLLBACK`.
- A failing `COMMIT` rolls back (the stream is closed with it), unlike sqlite3.
- Every request has a timeout (`connect(timeout=...)`): a hung server is a `ConnectError`.

Not thread-safe: one connection per thread (threads do run concurrently; nothing holds the
GIL while waiting for the server).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from types import TracebackType

from .._errors import TIMED_OUT, ConnectError, RemoteError, SQLError, TransactionAborted
from . import batches as _batch
from . import hrana as _hrana
from . import messages as _messages
from .batches import BatchItem, RemoteCursor, SQLValue, Unless
from .messages import Statement, Step, all_of, not_, ok

DEFAULT_TIMEOUT = 30.0  # per request; a BEGIN IMMEDIATE may wait 5 s per transaction ahead of it

# --- the connection --------------------------------------------------------------------------


class RemoteConnection:
    """A connection to one database on sqld, driven like sqlite3 with `isolation_level=None`."""

    def __init__(self, client: _hrana.Client, url: str) -> None:
        self._client = client
        self.url = url
        self._in_transaction = False
        self._stream: _hrana.Stream | None = None  # the open transaction's server session
        # Set when the server ended the transaction on its own: only ROLLBACK is accepted then.
        self._ended: RemoteError | None = None
        # Set by `PRAGMA foreign_keys=OFF` outside a transaction; as on SQLite it lasts until
        # turned on again. sqld forgets it after each session, so every session starts with it.
        self._foreign_keys_off = False
        self._closed = False

    @property
    def in_transaction(self) -> bool:
        """True from a successful BEGIN until COMMIT or ROLLBACK (also after the server ended it)."""
        return self._in_transaction

    def execute(self, sql: str, params: Sequence[SQLValue] = ()) -> RemoteCursor:
        """Run one statement (the server refuses several in one string: SQL_MANY_STATEMENTS)."""
        self._refuse_if_closed()
        keyword = _batch.keyword(sql)
        if keyword == "ROLLBACK" and not _batch.ROLLBACK_TO.match(_batch.strip_noise(sql)):
            self.rollback()
            return RemoteCursor([])
        self._refuse_if_ended()
        if _batch.is_empty(sql):
            return RemoteCursor([])  # as sqlite3 does for a string of comments
        statement = Statement(sql, tuple(params))
        if self._in_transaction:
            if keyword in ("COMMIT", "END"):
                return self._commit(statement)
            return self._in_stream(statement, keyword)
        setting = _batch.FOREIGN_KEYS_SET.match(_batch.strip_noise(sql))
        if setting:
            # Sent alone it would set a server session that ends with this request.
            self._foreign_keys_off = setting.group(1).lower() in _batch.FALSE_WORDS
            return RemoteCursor([])
        if keyword in ("BEGIN", "SAVEPOINT"):
            return self._begin(statement)
        steps = _batch.chain([*self._prologue(), statement], in_transaction=False)
        answer = self._send(_hrana.Stream(self._client), steps)
        return self._result(answer.steps, keyword)

    def run_batch(self, statements: Sequence[BatchItem | Unless]) -> None:
        """Run `statements` (SQL, `(SQL, parameters)` or `Unless`) in the open transaction, in one
        request, stopping at the first failure.

        A failure leaves the transaction open with the statements before the failing one applied
        (as a failing `execute` would): roll back. Its `SQLError.step` is the index of the item
        that failed.
        """
        self._refuse_if_closed()
        self._refuse_if_ended()
        if not self._in_transaction:
            raise SQLError("run_batch() runs in a transaction: BEGIN first", url=self.url)
        items: list[Statement | Unless] = []
        positions: list[int] = []  # index in `statements` of each item sent
        for position, item in enumerate(statements):
            entry = item if isinstance(item, Unless) else _batch.as_statement(item)
            if isinstance(entry, Unless) or not _batch.is_empty(entry.sql):
                items.append(entry)
                positions.append(position)
        if not items:
            return
        steps, slots = _batch.guarded_chain(items)
        answer = self._send_in_transaction(steps)
        outcomes = _batch.item_outcomes(answer.steps, slots)
        try:
            self._result(outcomes, "", transaction_gone=answer.autocommit)
        except SQLError as failure:
            failed = _batch.first_failure(outcomes)
            failure.step = positions[failed] if failed is not None else None
            raise

    def begin(self, sql: str = "BEGIN IMMEDIATE", then: BatchItem | None = None) -> RemoteCursor:
        """Open a transaction (`sql`: a BEGIN) and, once it is open, run `then` in the same request.

        Returns `then`'s cursor. If `then` fails, the transaction stays open (roll back).
        """
        self._refuse_if_closed()
        self._refuse_if_ended()
        if _batch.keyword(sql) != "BEGIN" or self._in_transaction:
            raise SQLError(f"begin() takes a BEGIN outside a transaction, not {sql!r}", url=self.url)
        return self._begin(Statement(sql), None if then is None else _batch.as_statement(then))

    def commit(self, statements: Sequence[BatchItem | Unless] = ()) -> None:
        """COMMIT the open transaction, after `statements` (SQL, or `(SQL, parameters)`) in the same request.

        If one of them fails, or SQLite refuses the COMMIT, the transaction is rolled back and
        the error raised (`SQLError.step`: the index of the statement that failed).
        """
        self._refuse_if_closed()
        self._refuse_if_ended()
        if not self._in_transaction:
            self.execute("COMMIT")  # as sqlite3: "cannot commit - no transaction is active"
            return
        items = [item if isinstance(item, Unless) else _batch.as_statement(item) for item in statements]
        self._commit(_batch.COMMIT, items)

    def rollback(self) -> None:
        """ROLLBACK; also what clears the state after the server ended the transaction. Idempotent.

        A `ConnectError` here means the server did not confirm it; it rolls the transaction
        back anyway when the stream expires (~10 s), or at once if another client waits for
        the lock and the transaction is older than 5 s.
        """
        self._ended = None
        if not self._in_transaction:
            return
        self._in_transaction = False
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            answer = stream.batch([Step(_batch.ROLLBACK, _batch.IN_TRANSACTION)], close=True)
        except _hrana.HTTPStatusError as error:
            if error.status in (400, 404):
                # The server no longer takes this baton: the stream expired (rolled back), or it
                # ran a request whose answer was lost and expires within ~10 s.
                return
            raise self._translate(error) from error
        except _hrana.HranaError as error:
            raise self._translate(error) from error
        failure = answer.steps[0].error
        if failure is not None:
            raise SQLError(failure.message, url=self.url, code=failure.code, detail=failure.message)

    def close(self) -> None:
        """Roll back what is open and close; never raises for a server that is already gone."""
        try:
            if self._in_transaction:
                with contextlib.suppress(RemoteError):
                    self.rollback()
        finally:
            self._in_transaction = False
            self._stream = None
            self._ended = None
            self._closed = True
            self._client.close()

    def __enter__(self) -> RemoteConnection:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- transactions

    def _prologue(self) -> list[Statement]:
        """What every new server session starts with."""
        return [_batch.FOREIGN_KEYS_OFF] if self._foreign_keys_off else []

    def _begin(self, statement: Statement, then: Statement | None = None) -> RemoteCursor:
        stream = _hrana.Stream(self._client)
        steps = _batch.chain([*self._prologue(), statement], in_transaction=False)
        if then is not None:
            steps.append(Step(then, all_of(ok(len(steps) - 1), _batch.IN_TRANSACTION)))
        answer = self._send(stream, steps, close=False)
        began = answer.steps[: len(steps) - (then is not None)]
        if answer.autocommit:  # BEGIN failed: nothing is open on the server
            with contextlib.suppress(_hrana.HranaError):
                stream.close()
            self._result(began, "BEGIN")
            if then is not None:
                self._result(answer.steps[-1:], _batch.keyword(then.sql))
            raise SQLError("the transaction ended as it began", url=self.url, code="NO_TRANSACTION")
        self._stream = stream
        self._in_transaction = True
        cursor = self._result(began, "BEGIN")
        if then is None:
            return cursor
        return self._result(answer.steps[-1:], _batch.keyword(then.sql))  # a failure leaves the transaction open

    def _in_stream(self, statement: Statement, keyword: str) -> RemoteCursor:
        answer = self._send_in_transaction([Step(statement, _batch.IN_TRANSACTION)])
        return self._result(answer.steps, keyword, transaction_gone=answer.autocommit)

    def _end_transaction(self) -> None:
        """The transaction ended normally: forget it and close its stream."""
        self._in_transaction = False
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(_hrana.HranaError):
                stream.close()

    def _commit(self, statement: Statement, before: Sequence[Statement | Unless] = ()) -> RemoteCursor:
        # If an item before it fails, or SQLite refuses the COMMIT, the transaction is still
        # open: roll it back in the same request. If the server had ended it already, the
        # ROLLBACK step does not run.
        body, slots = _batch.guarded_chain([*before, statement])
        committing = slots[-1][1]
        steps = [*body, Step(_batch.ROLLBACK, all_of(not_(ok(committing)), _batch.IN_TRANSACTION))]
        answer = self._send_in_transaction(steps, close=True)
        self._stream = None
        outcomes, rolled_back = _batch.item_outcomes(answer.steps, slots), answer.steps[-1]
        committed = outcomes[-1]
        if committed.result is not None:
            self._in_transaction = False
            return _batch.cursor(committed.result, "COMMIT")
        failed = _batch.first_failure(outcomes)
        assert failed is not None
        self._in_transaction = False
        if rolled_back.result is not None:
            error = self._error(outcomes[failed])
            raised = type(error)(
                f"{error.message} (the transaction was rolled back)", url=self.url, code=error.code, detail=error.detail
            )
        elif failed and outcomes[failed].skipped and outcomes[failed - 1].result is not None:
            # The item before ran and the transaction was gone after it: that item ended it
            # (a COMMIT or ROLLBACK among them); the guard kept the rest from running in autocommit.
            raised = SQLError(
                f"item {failed + 1} of the commit did not run: an earlier one ended the transaction",
                url=self.url,
                code="NO_TRANSACTION",
            )
        else:
            # The server ended the transaction before the COMMIT could run.
            self._in_transaction = True  # until rollback(), as after any server-ended transaction
            self._ended = self._ended_by_server(None if outcomes[failed].skipped else outcomes[failed])
            raise self._ended
        if isinstance(raised, SQLError):
            raised.step = failed
        raise raised

    def _result(
        self, outcomes: Sequence[_messages.StepOutcome], keyword: str, *, transaction_gone: bool = False
    ) -> RemoteCursor:
        """The last step's cursor when every step ran; else the first failure's error.

        `transaction_gone`: the stream was in a transaction before the request and is in
        autocommit after it. When every step ran, they ended it themselves (RELEASE of the
        savepoint that began it, a COMMIT in a batch); else the server ended it.
        """
        failed = _batch.first_failure(outcomes)
        if transaction_gone and failed is None:
            self._end_transaction()
        elif transaction_gone and failed and outcomes[failed].skipped:
            # Every step before it ran, and one of them ended the transaction (a COMMIT or
            # ROLLBACK in a batch): the guard kept the rest from running in autocommit.
            self._end_transaction()
            raise SQLError(
                f"step {failed + 1} of the batch did not run: an earlier step ended the transaction",
                url=self.url,
                code="NO_TRANSACTION",
            )
        elif transaction_gone:
            self._ended = self._ended_by_server(outcomes[failed] if failed is not None else None)
            raise self._ended
        if failed is not None:
            raise self._error(outcomes[failed])
        result = outcomes[-1].result
        assert result is not None
        return _batch.cursor(result, keyword)

    def _error(self, outcome: _messages.StepOutcome) -> RemoteError:
        failure = outcome.error
        if failure is None:
            return SQLError("the statement did not run: an earlier one in its batch failed", url=self.url)
        if failure.code == "TRANSACTION_TIMEOUT":
            return self._aborted(failure.code, failure.message)
        return SQLError(failure.message, url=self.url, code=failure.code, detail=failure.message)

    def _ended_by_server(self, outcome: _messages.StepOutcome | None) -> RemoteError:
        failure = outcome.error if outcome is not None else None
        if failure is not None and (failure.code or "").startswith("SQLITE_"):
            # SQLite itself rolled back on this error (e.g. INSERT OR ROLLBACK): not worth a retry.
            return SQLError(
                f"{failure.message} (SQLite rolled the transaction back)",
                url=self.url,
                code=failure.code,
                detail=failure.message,
            )
        # TRANSACTION_TIMEOUT on the primary, PROXY_ERROR "Transaction timed-out" through a
        # replica, or a statement the guard kept from running in autocommit.
        return self._aborted(failure.code if failure else None, failure.message if failure else "")

    def _aborted(self, code: str | None, detail: str) -> TransactionAborted:
        return TransactionAborted(
            "the server ended the transaction (sqld aborts one that holds the write lock over 5 s"
            " while another client waits); roll back and run it again",
            url=self.url,
            code=code or "TRANSACTION_TIMEOUT",
            detail=detail,
        )

    def _refuse_if_closed(self) -> None:
        if self._closed:
            raise ConnectError("the connection is closed", url=self.url)

    def _refuse_if_ended(self) -> None:
        if self._ended is not None:
            raise type(self._ended)(
                "the server ended the transaction; ROLLBACK before anything else",
                url=self.url,
                code=self._ended.code,
                detail=self._ended.detail,
            )

    # -- the wire

    def _send(self, stream: _hrana.Stream, steps: list[Step], *, close: bool = True) -> _messages.BatchAnswer:
        try:
            return stream.batch(steps, close=close)
        except ValueError as error:  # a parameter that cannot be bound; nothing was sent
            raise SQLError(str(error), url=self.url, code="ARGS_INVALID") from error
        except _hrana.HranaError as error:
            raise self._translate(error) from error

    def _send_in_transaction(self, steps: list[Step], *, close: bool = False) -> _messages.BatchAnswer:
        assert self._stream is not None
        try:
            return self._stream.batch(steps, close=close)
        except ValueError as error:
            raise SQLError(str(error), url=self.url, code="ARGS_INVALID") from error
        except _hrana.HranaError as error:
            if isinstance(error, _hrana.HTTPStatusError | _hrana.ProtocolError) and not _refused_credentials(error):
                # The server no longer knows the stream (expired after ~10 s idle, or ended):
                # it rolled the transaction back.
                self._ended = self._aborted(getattr(error, "code", None) or "STREAM_LOST", error.message)
            else:
                # Unknown outcome (timeout, reset): nothing more may be sent in this transaction.
                self._ended = self._translate(error)
            raise self._ended from error

    def _translate(self, error: _hrana.HranaError) -> RemoteError:
        if _refused_credentials(error):
            return ConnectError(f"the auth token was refused ({error.message})", url=error.url)
        if isinstance(error, _hrana.RequestError):
            return SQLError(error.error.message, url=error.url, code=error.error.code, detail=error.message)
        code = error.code if isinstance(error, _hrana.HTTPStatusError) else None
        if isinstance(error, _hrana.TransportError) and error.timed_out:
            code = TIMED_OUT  # no answer in time: the request may still be running on the server
        return ConnectError(error.message, url=error.url, code=code, detail=error.message)


def _refused_credentials(error: _hrana.HranaError) -> bool:
    return isinstance(error, _hrana.HTTPStatusError) and error.status in (401, 403)


# --- connecting ------------------------------------------------------------------------------


def connect(url: str, auth_token: str = "", *, timeout: float = DEFAULT_TIMEOUT) -> RemoteConnection:
    """Connect to the database at `url` on sqld; no request is sent until the first statement.

    `url` is one `_targets` checked. `libsql://` means TLS and is sent as `https://`; use
    `http://` on loopback. Every request waits at most `timeout` s.
    """
    scheme, _, rest = url.partition("://")
    http_url = ("https" if scheme.lower() == "libsql" else scheme.lower()) + "://" + rest.rstrip("/")
    try:
        client = _hrana.Client(http_url, auth_token=auth_token, timeout=timeout)
    except ValueError as error:  # a token no header can carry: said without the token
        raise ConnectError(str(error), url=http_url) from None
    return RemoteConnection(client, http_url)
