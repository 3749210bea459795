"""A stdlib client for sqld's Hrana 3 protocol over HTTP (JSON): `POST <url>/v3/pipeline`.

Protocol only; what a transaction means to the runtime lives in `_libsql`. Verified against
sqld 0.24.32 (docs/sqld-notes.md):

- A request is `{"baton": ..., "requests": [...]}`; the answer has one result per request,
  each `{"type": "ok", "response": ...}` or `{"type": "error", "error": {message, code}}`.
  Requests in one pipeline do not depend on each other: one failing does not stop the next,
  so statements that must stop at the first failure go as one `batch` whose steps carry
  conditions (`ok` of the previous step, `not is_autocommit`).
- A stream (one server session) lives as long as each answer's `baton` is sent with the next
  request; a baton is single-use, a stream idle for ~10 s expires (`STREAM_EXPIRED`), and a
  `close` request ends it. A non-null `base_url` in an answer is where the stream's next
  requests go (sqld 0.24 always sends null; replicas forward to their primary themselves).
- Values are typed: integers travel as decimal strings (64-bit, beyond JSON's 2^53), floats
  as JSON numbers, blobs as base64 (sqld omits the padding), text as JSON strings (NUL too).
- `get_autocommit` and the `is_autocommit` condition exist from Hrana 3 on, hence `/v3`;
  `/v2/pipeline` refuses them with HTTP 400.

One `Client` keeps one keep-alive HTTP(S) connection per server (origin) and puts a timeout
on every socket operation. It is not thread-safe; use one per thread. It holds no GIL while
waiting and keeps nothing a `fork` would break beyond an open socket.
"""

from __future__ import annotations

import binascii
import http.client
import json
import ssl
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urljoin, urlsplit

from . import transport
from .messages import (
    BatchAnswer,
    ServerError,
    StatementResult,
    Step,
    StepOutcome,
    decode_value,
)
from .transport import TooLarge, bounded_response, error_body, origin, origin_text, read_bounded

PIPELINE_PATH = "v3/pipeline"
REDACTED = "<redacted>"
_USER_AGENT = "cortexdb-hrana/3"


# --- errors: what went wrong below the level of one statement ---------------------------------


class HranaError(Exception):
    """The pipeline as a whole failed; `url` is the server it was sent to."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(f"{url}: {message}")
        self.message = message
        self.url = url


class TransportError(HranaError):
    """No answer: refused, unreachable, reset, or nothing within the timeout.

    The server may or may not have run the request.
    """

    def __init__(self, message: str, *, url: str, timed_out: bool = False) -> None:
        super().__init__(message, url=url)
        self.timed_out = timed_out


class HTTPStatusError(HranaError):
    """The server answered with an HTTP error (bad token, expired stream, malformed request)."""

    def __init__(self, status: int, message: str, code: str | None, *, url: str) -> None:
        super().__init__(f"HTTP {status}: {message}", url=url)
        self.status = status
        self.code = code  # e.g. STREAM_EXPIRED when the body says so


class ProtocolError(HranaError):
    """The answer was not the Hrana JSON this client expects, or the stream is gone."""


class RequestError(HranaError):
    """The server refused a request as a whole (not one of its steps), e.g. a malformed batch."""

    def __init__(self, error: ServerError, *, url: str) -> None:
        super().__init__(f"{error.code}: {error.message}" if error.code else error.message, url=url)
        self.error = error


# --- the wire --------------------------------------------------------------------------------


class Client:
    """Sends pipelines to one server over keep-alive HTTP(S) connections, each request bounded."""

    def __init__(self, url: str, *, auth_token: str = "", timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("not an http:// or https:// URL")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("a server URL carries no credentials, query or fragment")
        self.url = url.rstrip("/")
        self.origin = origin(self.url)
        self.timeout = timeout
        self._headers = {"Content-Type": "application/json", "User-Agent": _USER_AGENT}
        if any(not 33 <= ord(char) <= 126 for char in auth_token):
            # Said without the token: http.client would otherwise quote it in its error.
            raise ValueError("the auth token holds a character an HTTP header cannot carry (space, control, non-ASCII)")
        # The token, and how JSON spells it when an answer quotes it back.
        spellings = {auth_token, json.dumps(auth_token)[1:-1], json.dumps(auth_token, ensure_ascii=False)[1:-1]}
        self._secrets = sorted(spellings, key=len, reverse=True) if auth_token else []
        if auth_token:
            self._headers["Authorization"] = f"Bearer {auth_token}"
        self._connections: dict[tuple[str, str, int | None], http.client.HTTPConnection] = {}

    def _redacted(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self._redacted(item) for item in value]
        if isinstance(value, dict):
            return {key: self._redacted(item) for key, item in value.items()}
        return value

    def redact(self, text: str) -> str:
        """`text` with the token taken out: whatever the server or the HTTP library put in a
        message, no error, log line or exception ever carries it."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text

    def pipeline(
        self, requests: list[dict[str, Any]], *, baton: str | None = None, base_url: str | None = None
    ) -> dict[str, Any]:
        """POST one pipeline to `base_url` (else the client's URL); the decoded answer."""
        url = base_url or self.url
        if origin(url) != self.origin:  # never: the token goes only where the user pointed it
            raise ProtocolError(f"refused to send a request to {origin_text(url)}, which is not {self.url}",
                                url=self.url)
        body = json.dumps({"baton": baton, "requests": requests}, allow_nan=False).encode()
        status, raw = self._post(url, body)
        # The token never reaches a message, whatever the server echoed back.
        payload = self.redact(raw.decode("utf-8", errors="replace"))
        if status != 200:
            message, code = error_body(payload)
            raise HTTPStatusError(status, self.redact(message), code and self.redact(code), url=url)
        try:
            # Redacted again once decoded: JSON may spell the token with escapes (\" or \u0041).
            answer = self._redacted(json.loads(payload)) if self._secrets else json.loads(payload)
        except ValueError:
            raise ProtocolError(f"the answer is not JSON: {payload[:200]!r}", url=url) from None
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(requests):
            raise ProtocolError(f"expected {len(requests)} results, got: {payload[:200]!r}", url=url)
        baton, base = answer.get("baton"), answer.get("base_url")
        if not (baton is None or isinstance(baton, str)) or not (base is None or isinstance(base, str)):
            raise ProtocolError(f"malformed baton or base_url in the answer: {payload[:200]!r}", url=url)
        return dict(answer)

    def close(self) -> None:
        for connection in self._connections.values():
            connection.close()
        self._connections.clear()

    def _post(self, url: str, body: bytes) -> tuple[int, bytes]:
        """(status, body) of one POST, all of it (connect, send, the whole answer) within one
        deadline of `timeout` seconds and `transport.MAX_ANSWER_BYTES`."""
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port)
        path = parts.path.rstrip("/") + "/" + PIPELINE_PATH
        deadline = time.monotonic() + self.timeout
        # A kept-alive connection the server closed meanwhile fails on first use before the
        # server reads the request; one retry on a fresh connection covers that. A request
        # with a baton cannot run twice anyway: the server refuses a baton it has seen.
        for attempt in (1, 2):
            reused = key in self._connections
            connection = self._connection(key)
            try:
                connection.timeout = max(deadline - time.monotonic(), 0.001)
                if connection.sock is not None:
                    connection.sock.settimeout(connection.timeout)
                connection.request("POST", path, body, self._headers)
                connection.response_class = bounded_response(deadline)
                response = connection.getresponse()
                return response.status, read_bounded(response, deadline)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as error:
                self._drop(key)
                if reused and attempt == 1:
                    continue
                raise TransportError(f"the server closed the connection: {self._reason(error)}", url=url) from error
            except TimeoutError as error:
                self._drop(key)
                raise TransportError(f"no answer within {self.timeout:g} s", url=url, timed_out=True) from error
            except TooLarge as error:
                self._drop(key)
                raise ProtocolError(f"the answer is over {transport.MAX_ANSWER_BYTES} bytes: refused",
                                    url=url) from error
            except (OSError, http.client.HTTPException, ValueError) as error:
                self._drop(key)
                raise TransportError(f"cannot reach the server: {self._reason(error)}", url=url) from error
        raise AssertionError("unreachable")

    def _reason(self, error: BaseException) -> str:
        return self.redact(str(error) or type(error).__name__)

    def _connection(self, key: tuple[str, str, int | None]) -> http.client.HTTPConnection:
        connection = self._connections.get(key)
        if connection is None:
            scheme, host, port = key
            if scheme == "https":
                connection = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
            self._connections[key] = connection
        return connection

    def _drop(self, key: tuple[str, str, int | None]) -> None:
        connection = self._connections.pop(key, None)
        if connection is not None:
            connection.close()


# --- streams ---------------------------------------------------------------------------------


class Stream:
    """One server session: each request carries the baton (and base URL) the previous answer gave.

    A new stream starts with the first request; `close=True` ends it in the same round trip.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self._baton: str | None = None
        self._base_url: str | None = None
        self._closed = False
        self._started = False

    @property
    def url(self) -> str:
        """Where the stream's next request goes."""
        return self._base_url or self.client.url

    def batch(self, steps: Sequence[Step], *, close: bool = False) -> BatchAnswer:
        """Run `steps` as one batch, then read the stream's autocommit state; optionally close it."""
        batch = {
            "type": "batch",
            "batch": {
                "steps": [
                    {"stmt": step.statement.to_json(), **({"condition": step.condition} if step.condition else {})}
                    for step in steps
                ]
            },
        }
        requests: list[dict[str, Any]] = [batch, {"type": "get_autocommit"}]
        results = self._send(requests, close=close)
        batch_response = _response(results[0], "batch", self.url)
        autocommit = _response(results[1], "get_autocommit", self.url)
        try:
            outcomes = _outcomes(batch_response["result"], len(steps))
            return BatchAnswer(outcomes, bool(autocommit["is_autocommit"]))
        except (KeyError, TypeError, ValueError, binascii.Error) as error:
            raise ProtocolError(f"malformed batch answer: {error!r}", url=self.url) from error

    def close(self) -> None:
        """End the stream on the server (rolling back what it has open); no-op when not started."""
        if self._baton is not None and not self._closed:
            self._send([], close=True)
        self._closed = True

    def _send(self, requests: list[dict[str, Any]], *, close: bool) -> list[Any]:
        if self._closed:
            raise ProtocolError("the stream is closed", url=self.url)
        if self._started and self._baton is None:
            # Without a baton the request would open a new session: not the one we had.
            raise ProtocolError("the server ended the stream", url=self.url)
        self._started = True
        if close:
            requests = [*requests, {"type": "close"}]
            self._closed = True
        answer = self.client.pipeline(requests, baton=self._baton, base_url=self._base_url)
        self._baton = answer.get("baton")
        if answer.get("base_url"):
            base = urljoin(self.url + "/", str(answer["base_url"])).rstrip("/")
            if origin(base) != self.client.origin:
                # Another host, port or scheme (https to http, say): the token must not go there,
                # and the stream cannot go on anywhere else.
                self._closed = True
                raise ProtocolError(
                    f"the server moved the stream to {origin_text(base)}; refused: requests and the "
                    f"token go only to {origin_text(self.client.url)}, the server you configured", url=self.url)
            self._base_url = base
        results: list[Any] = answer["results"]
        return results


def _response(result: Any, kind: str, url: str) -> dict[str, Any]:
    if isinstance(result, dict) and result.get("type") == "error":
        error = result.get("error") or {}
        raise RequestError(ServerError(str(error.get("message", "")), error.get("code")), url=url)
    response = result.get("response") if isinstance(result, dict) else None
    if not (isinstance(response, dict) and response.get("type") == kind):
        raise ProtocolError(f"expected a {kind} response, got {str(result)[:200]}", url=url)
    return response


def _outcomes(result: dict[str, Any], count: int) -> list[StepOutcome]:
    results, errors = result["step_results"], result["step_errors"]
    if len(results) != count or len(errors) != count:
        raise ValueError(f"expected {count} steps, got {len(results)} results and {len(errors)} errors")
    return [
        StepOutcome(
            _statement_result(step_result) if step_result is not None else None,
            ServerError(str(error["message"]), error.get("code")) if error is not None else None,
        )
        for step_result, error in zip(results, errors, strict=True)
    ]


def _statement_result(result: dict[str, Any]) -> StatementResult:
    rowid = result.get("last_insert_rowid")
    return StatementResult(
        columns=tuple(str(column.get("name")) for column in result["cols"]),
        rows=[tuple(decode_value(cell) for cell in row) for row in result["rows"]],
        affected_row_count=int(result["affected_row_count"]),
        last_insert_rowid=int(rowid) if rowid is not None else None,
    )
