"""The remote client against a server that lies: fake Hrana servers on 127.0.0.1.

It sends requests, and the token, only to the origin the user configured; one deadline
bounds a whole answer (not each `recv`); an answer has a size bound; whatever a server or
the HTTP library says, the token is in no message, exception or log line."""

from __future__ import annotations

import http.server
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cortexdb.remote import hrana as _hrana
from cortexdb.remote import messages as _messages
from cortexdb.remote import session as _libsql
from cortexdb.remote import transport as _transport

Handler = Callable[[http.server.BaseHTTPRequestHandler, dict[str, Any]], None]


class FakeServer(http.server.ThreadingHTTPServer):
    """Answers each POST with `handle(request_handler, request_json)`; records what it got."""

    daemon_threads = True

    def __init__(self, handle: Handler) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.handle = handle
        self.received: list[tuple[str, dict[str, str]]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FakeServer
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.received.append((self.path, dict(self.headers)))
        self.server.handle(self, body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def send(handler: http.server.BaseHTTPRequestHandler, status: int, payload: bytes,
         content_type: str = "application/json") -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(payload)))
    handler.end_headers()
    handler.wfile.write(payload)


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], FakeServer]]:
    servers: list[FakeServer] = []

    def start(handle: Handler) -> FakeServer:
        server = FakeServer(handle)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def ok_batch(steps: int, baton: str | None = "b1", base_url: str | None = None) -> bytes:
    result = {"step_results": [{"cols": [], "rows": [], "affected_row_count": 0}] * steps,
              "step_errors": [None] * steps}
    return json.dumps({"baton": baton, "base_url": base_url, "results": [
        {"type": "ok", "response": {"type": "batch", "result": result}},
        {"type": "ok", "response": {"type": "get_autocommit", "is_autocommit": True}},
    ]}).encode()


@pytest.mark.parametrize("moved", ["http://127.0.0.1:{other}", "https://127.0.0.1:{port}", "http://localhost:{port}",
                                   "http://[::1]:{port}", "//127.0.0.1:{other}/x"])
def test_a_stream_moved_to_another_origin_is_refused(serve: Callable[[Handler], FakeServer], moved: str) -> None:
    other = serve(lambda h, body: send(h, 200, ok_batch(len(body["requests"][0]["batch"]["steps"]))))
    port = [0]

    def front(handler: http.server.BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        target = moved.format(other=other.server_address[1], port=port[0])
        send(handler, 200, ok_batch(len(body["requests"][0]["batch"]["steps"]), base_url=target))

    server = serve(front)
    port[0] = server.server_address[1]
    client = _hrana.Client(server.url, auth_token="tok-123", timeout=5)
    stream = _hrana.Stream(client)
    with pytest.raises(_hrana.ProtocolError, match=r"moved the stream to .*; refused") as refused:
        stream.batch([_messages.Step(_messages.Statement("SELECT 1"))])  # its answer moves the stream away
    assert "tok-123" not in str(refused.value)
    with pytest.raises(_hrana.ProtocolError):
        stream.batch([_messages.Step(_messages.Statement("SELECT 2"))])  # and nothing follows it there
    assert other.received == [] and len(server.received) == 1


def test_a_stream_moved_within_its_origin_is_followed(serve: Callable[[Handler], FakeServer]) -> None:
    def handle(handler: http.server.BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        send(handler, 200, ok_batch(len(body["requests"][0]["batch"]["steps"]), base_url="/moved"))

    server = serve(handle)
    stream = _hrana.Stream(_hrana.Client(server.url.replace("127.0.0.1", "127.0.0.1") + "/", timeout=5))
    stream.batch([_messages.Step(_messages.Statement("SELECT 1"))])
    stream.batch([_messages.Step(_messages.Statement("SELECT 2"))])
    assert [path for path, _ in server.received] == ["/v3/pipeline", "/moved/v3/pipeline"]


def test_one_deadline_bounds_the_whole_answer(serve: Callable[[Handler], FakeServer]) -> None:
    """A server that trickles its answer, each byte well within the timeout, is stopped at the
    deadline (a per-recv timeout alone would wait for all of it: here about a minute)."""
    payload = ok_batch(1)

    def trickle(handler: http.server.BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        try:
            for index in range(len(payload)):
                handler.wfile.write(payload[index:index + 1])
                handler.wfile.flush()
                time.sleep(0.2)  # the fake server's pace, not a synchronisation of the test
        except OSError:
            pass  # the client gave up, as it should

    server = serve(trickle)
    client = _hrana.Client(server.url, timeout=1.0)
    with pytest.raises(_hrana.TransportError, match="no answer within 1 s") as stopped:
        _hrana.Stream(client).batch([_messages.Step(_messages.Statement("SELECT 1"))])
    assert stopped.value.timed_out


@pytest.mark.parametrize("chunked", [False, True])
def test_an_answer_over_the_size_bound_is_refused(serve: Callable[[Handler], FakeServer],
                                                   monkeypatch: pytest.MonkeyPatch, chunked: bool) -> None:
    monkeypatch.setattr(_transport, "MAX_ANSWER_BYTES", 100_000)
    big = b'{"results": [' + b" " * 300_000 + b"]}"

    def huge(handler: http.server.BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        handler.send_response(200)
        if chunked:
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            try:
                for start in range(0, len(big), 8192):
                    part = big[start:start + 8192]
                    handler.wfile.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                handler.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
        else:
            handler.send_header("Content-Length", str(len(big)))
            handler.end_headers()
            handler.wfile.write(big)

    server = serve(huge)
    with pytest.raises(_hrana.ProtocolError, match="over 100000 bytes"):
        _hrana.Stream(_hrana.Client(server.url, timeout=5)).batch([_messages.Step(_messages.Statement("SELECT 1"))])


TOKENS = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), min_size=6, max_size=40)
ECHOES = st.sampled_from(["http error json", "http error text", "not json", "request error", "step error",
                          "wrong shape"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(token=TOKENS, echo=ECHOES, status=st.sampled_from([400, 401, 403, 500, 502]))
def test_the_token_is_in_no_message_whatever_the_server_echoes(serve: Callable[[Handler], FakeServer],
                                                                 caplog: pytest.LogCaptureFixture,
                                                                 token: str, echo: str, status: int) -> None:
    def echoing(handler: http.server.BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        said = f"you sent {handler.headers.get('Authorization')} ({token})"
        if echo == "http error json":
            send(handler, status, json.dumps({"message": said, "code": "X"}).encode())
        elif echo == "http error text":
            send(handler, status, said.encode(), "text/plain")
        elif echo == "not json":
            send(handler, 200, said.encode(), "text/plain")
        elif echo == "request error":
            send(handler, 200, json.dumps({"baton": None, "results": [
                {"type": "error", "error": {"message": said, "code": "E"}}, {"type": "error", "error": {}}]}).encode())
        elif echo == "step error" and "batch" in body["requests"][0]:
            steps = len(body["requests"][0]["batch"]["steps"])
            answer = json.loads(ok_batch(steps))
            answer["results"][0]["response"]["result"]["step_results"] = [None] * steps
            errors = [{"message": said, "code": "SQLITE_ERROR"}] * steps
            answer["results"][0]["response"]["result"]["step_errors"] = errors
            send(handler, 200, json.dumps(answer).encode())
        else:  # a wrong shape (or a close request after a step error)
            send(handler, 200, json.dumps({"results": said}).encode())

    server = serve(echoing)
    texts = []
    with caplog.at_level(logging.DEBUG, logger="cortexdb"):
        conn = _libsql.connect(server.url, token, timeout=5)
        for sql in ("SELECT 1", "BEGIN IMMEDIATE"):
            try:
                conn.execute(sql)
            except _libsql.RemoteError as error:
                chain: BaseException | None = error
                while chain is not None:  # the error, and every exception it was raised from
                    # repr without the class's own name: `SQLErr` is in `SQLError(...)`, and no secret
                    shown = repr(chain).removeprefix(type(chain).__name__)
                    texts += [str(chain), shown, *(str(arg) for arg in chain.args)]
                    chain = chain.__cause__ or chain.__context__
        conn.close()
    texts += [record.getMessage() for record in caplog.records]
    assert texts, "the server's answers must have failed"
    assert all(token not in text for text in texts), [text for text in texts if token in text][:1]
    assert server.received and all(headers["Authorization"] == f"Bearer {token}" for _, headers in server.received)


def test_a_token_no_header_can_carry_is_refused_without_saying_it() -> None:
    with pytest.raises(_libsql.ConnectError) as refused:
        _libsql.connect("http://127.0.0.1:9", "bad token\nwith a newline")
    assert "newline" not in str(refused.value) and "bad token" not in str(refused.value)
    assert "HTTP header" in str(refused.value)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_an_http_redirect_is_not_followed(serve: Callable[[Handler], FakeServer], status: int) -> None:
    """A redirect is an answer like any other error: the request and its token go nowhere else."""
    other = serve(lambda h, body: send(h, 200, ok_batch(len(body["requests"][0]["batch"]["steps"]))))

    def redirect(handler: http.server.BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        handler.send_response(status)
        handler.send_header("Location", f"{other.url}/v3/pipeline")
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    server = serve(redirect)
    conn = _libsql.connect(server.url, "tok-456", timeout=5)
    with pytest.raises(_libsql.ConnectError, match=f"HTTP {status}") as refused:
        conn.execute("SELECT 1")
    conn.close()
    assert "tok-456" not in str(refused.value) and len(str(refused.value).splitlines()) == 1
    assert other.received == [] and len(server.received) >= 1
