"""The stdlib Hrana transport (`cortexdb._hrana`) under the remote adapter, on real sqld servers.

What phase 1 could not get from the `libsql` client: SQL reaching the server verbatim, typed
values without loss, bounded waits, and no dependency outside the stdlib. Server state is
checked through `sqld.query`, an independent stdlib client, or against local SQLite.
"""

from __future__ import annotations

import http.server
import json
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqld

import cortexdb
from cortexdb._catalog import load_catalog
from cortexdb._targets import database_urls
from cortexdb.remote import hrana as _hrana
from cortexdb.remote import messages as _messages
from cortexdb.remote import session as _libsql
from generator.sqlsplit import split

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[sqld.SqldCluster]:
    with sqld.sqld_cluster(tmp_path / "sqld") as started:
        yield started


def test_importing_the_remote_backend_loads_only_the_stdlib() -> None:
    code = (
        "import sys; before = set(sys.modules); "
        "import cortexdb.remote.session, cortexdb.remote.hrana, cortexdb.remote.messages, cortexdb.remote.transport; "
        "loaded = {name.partition('.')[0] for name in set(sys.modules) - before}; "
        "print(sorted(loaded - set(sys.stdlib_module_names) - {'cortexdb'}))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


# --- SQL text -------------------------------------------------------------------------------

SCHEMA = "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name"
EXTRA = (
    "CREATE VIEW IF NOT EXISTS denied_actions AS\n  SELECT action, count(*) AS n -- per action\n"
    "  FROM access_log WHERE action = 'denied' GROUP BY action",
    "ALTER TABLE access_log ADD COLUMN user_id TEXT /* 045 */",
    'CREATE TABLE "order"(key TEXT PRIMARY KEY, "action" TEXT, [group] INT, `select` BLOB) WITHOUT ROWID',
    'CREATE INDEX "order_action"ON"order"(  action  COLLATE NOCASE DESC)',
)


def test_sql_reaches_the_server_verbatim(cluster: sqld.SqldCluster) -> None:
    """The stored schema is byte for byte what local SQLite stores for the same statements."""
    vault = [statement.text for statement in split((ROOT / "migrations" / "004_vault.sql").read_text())]
    assert len(vault) >= 6 and any("TRIGGER" in text for text in vault)
    local = sqlite3.connect(":memory:")
    for text in [*vault, *EXTRA]:
        local.execute(text)
    expected = local.execute(SCHEMA).fetchall()

    primary = cluster.primary.url
    with _libsql.connect(primary) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.commit(vault[:2])  # one transaction, one request
        for text in vault[2:]:  # autocommit, one statement per request
            conn.execute(text)
    with _libsql.connect(cluster.replicas[0].url) as conn:  # a transaction through a replica
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(EXTRA[0])
        conn.run_batch(EXTRA[1:3])
        conn.execute(EXTRA[3])
        conn.execute("COMMIT")

    assert sqld.query(primary, SCHEMA) == expected
    for table in ("access_log", "order"):
        names = [row[1] for row in sqld.query(primary, f'PRAGMA table_info("{table}")')]
        assert names == [row[1] for row in local.execute(f'PRAGMA table_info("{table}")')]
    assert "action" in [row[1] for row in sqld.query(primary, "PRAGMA table_info(access_log)")]
    sqld.wait_replicated(cluster, f"SELECT count(*) FROM ({SCHEMA})", [(len(expected),)])


# --- values ---------------------------------------------------------------------------------

VALUES: list[Any] = [
    None,
    0,
    -1,
    2**53 + 1,  # JSON numbers lose this; Hrana sends integers as strings
    2**63 - 1,
    -(2**63),
    0.1,
    -2.5e-300,
    1.7976931348623157e308,
    "",
    'it\'s a "quote"; -- not a comment',
    "nul\x00inside",
    "ünïcödé \U0001f600",
    b"",
    b"\x00\xff\x00",
    bytes(range(256)) * 3,  # base64 with and without padding
]
TYPES = ["null", *["integer"] * 5, *["real"] * 3, *["text"] * 4, *["blob"] * 3]


@pytest.mark.parametrize("via", ["primary", "replica1"])
def test_values_round_trip_typed(cluster: sqld.SqldCluster, via: str) -> None:
    url = cluster.primary.url if via == "primary" else cluster.replicas[0].url
    sqld.query(cluster.primary.url, "CREATE TABLE cells(id INTEGER PRIMARY KEY, v)")
    sqld.wait_replicated(cluster, "SELECT count(*) FROM cells", [(0,)])

    with _libsql.connect(url) as conn:
        conn.execute("BEGIN IMMEDIATE")
        for index, value in enumerate(VALUES):
            inserted = conn.execute("INSERT INTO cells(id, v) VALUES (?, ?)", (index, value))
            assert (inserted.rowcount, inserted.lastrowid) == (1, index)
        stored = conn.execute("SELECT v, typeof(v) FROM cells ORDER BY id").fetchall()
        conn.execute("COMMIT")
        assert conn.execute("SELECT ?, ?, ?", (2**63 - 1, b"\x01", "x\x00y")).fetchall() == [
            (2**63 - 1, b"\x01", "x\x00y")
        ]

        assert stored == list(zip(VALUES, TYPES, strict=True))
        # The independent client reads the same from the server.
        assert [row[0] for row in sqld.query(cluster.primary.url, "SELECT v FROM cells ORDER BY id")] == VALUES

        unbindables: list[Any] = [2**63, float("nan"), float("inf"), object()]
        for unbindable in unbindables:
            with pytest.raises(cortexdb.SQLError) as refused:
                conn.execute("SELECT ?", (unbindable,))
            assert refused.value.code == "ARGS_INVALID"
        assert not conn.in_transaction


# --- transport failures ---------------------------------------------------------------------


def test_connection_refused_names_the_url() -> None:
    url = f"http://127.0.0.1:{sqld.free_port()}"
    with _libsql.connect(url) as conn, pytest.raises(cortexdb.ConnectError) as refused:
        conn.execute("SELECT 1")
    assert str(refused.value).startswith(url) and "cannot reach" in str(refused.value)
    with pytest.raises(cortexdb.InvalidInputError, match="not a libSQL server URL"):
        database_urls(load_catalog(), {"cortex": "data/cortex.db"})  # checked before any connection


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A socket that accepts connections (the kernel does, from the backlog) and never answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def test_a_server_that_never_answers_is_a_connect_error_after_the_timeout(silent_server: str) -> None:
    conn = _libsql.connect(silent_server, timeout=0.5)
    started = time.monotonic()
    with pytest.raises(cortexdb.ConnectError, match=r"no answer within 0\.5 s"):
        conn.execute("SELECT 1")
    with pytest.raises(cortexdb.ConnectError, match="no answer"):
        conn.execute("BEGIN IMMEDIATE")
    assert not conn.in_transaction
    conn.close()
    assert time.monotonic() - started < 5


# --- protocol -------------------------------------------------------------------------------


def test_hrana_3_is_what_reports_the_transaction_state(cluster: sqld.SqldCluster) -> None:
    """`/v2/pipeline` refuses `get_autocommit` and `is_autocommit`; the adapter relies on both."""
    body = json.dumps({"requests": [{"type": "get_autocommit"}, {"type": "close"}]}).encode()
    request = urllib.request.Request(cluster.primary.url + "/v2/pipeline", data=body)
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=5)
    assert refused.value.code == 400
    assert b"hrana3" in refused.value.read()

    client = _hrana.Client(cluster.replicas[0].url, timeout=5)
    stream = _hrana.Stream(client)
    begun = stream.batch([_messages.Step(_messages.Statement("BEGIN IMMEDIATE"))])
    assert not begun.autocommit
    guarded = _messages.Step(_messages.Statement("SELECT 1"), _messages.is_autocommit())
    assert stream.batch([guarded]).steps[0].skipped  # its condition does not hold in a transaction
    assert stream.batch([_messages.Step(_messages.Statement("ROLLBACK"))], close=True).autocommit
    with pytest.raises(_hrana.ProtocolError, match="closed"):
        stream.batch([guarded])
    client.close()


def test_nothing_meant_for_a_transaction_runs_in_autocommit(cluster: sqld.SqldCluster) -> None:
    """Each statement in a transaction runs only while the stream is not in autocommit."""
    url = cluster.primary.url
    sqld.query(url, "CREATE TABLE t(x)")
    with _libsql.connect(url) as conn:
        conn.execute("BEGIN IMMEDIATE")
        with pytest.raises(cortexdb.SQLError) as ended:
            conn.run_batch(["INSERT INTO t VALUES (1)", "COMMIT", "INSERT INTO t VALUES (2)"])
        assert ended.value.code == "NO_TRANSACTION" and "step 3" in ended.value.message
        assert not conn.in_transaction
        with pytest.raises(cortexdb.SQLError, match="BEGIN first"):
            conn.run_batch(["INSERT INTO t VALUES (3)"])  # a batch joins a transaction, never opens one
        conn.close()
        with pytest.raises(cortexdb.ConnectError, match="closed"):
            conn.execute("SELECT 1")
    assert sqld.query(url, "SELECT x FROM t") == [(1,)]  # 2 would have been autocommitted, and 3 by a batch


def test_a_stream_the_server_no_longer_knows_aborts_the_transaction(cluster: sqld.SqldCluster) -> None:
    """sqld expires a stream after ~10 s idle and refuses a baton it has seen: the transaction is gone."""
    url = cluster.primary.url
    sqld.query(url, "CREATE TABLE t(x)")
    with _libsql.connect(url) as conn:
        # Deferred, and only reading: the stream left behind below holds no write lock.
        conn.execute("BEGIN")
        assert conn.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
        stream = conn._stream
        assert stream is not None
        stream._baton = "not-a-baton"  # what an expired stream looks like, without waiting 10 s
        with pytest.raises(cortexdb.TransactionAborted) as aborted:
            conn.execute("INSERT INTO t VALUES (2)")
        assert aborted.value.retryable and "HTTP 400" in aborted.value.detail
        with pytest.raises(cortexdb.TransactionAborted, match="ROLLBACK before anything else"):
            conn.execute("COMMIT")
        conn.rollback()
        assert not conn.in_transaction
        conn.execute("INSERT INTO t VALUES (3)")
    assert sqld.query(url, "SELECT x FROM t") == [(3,)]


class ForwardingProxy(http.server.ThreadingHTTPServer):
    """Forwards pipelines to sqld and, on each new stream's first answer, sets `base_url` to
    `moved_to` (by default a path of its own origin, `/moved`, which it forwards too).

    `requests` counts what arrives at the root path, `moved` what arrives under `/moved`."""

    def __init__(self, target: str, moved_to: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.target = target
        self.moved_to = moved_to
        self.requests = 0
        self.moved = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    server: ForwardingProxy

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        path = self.path
        if path.startswith("/moved/"):
            self.server.moved += 1
            path = path[len("/moved"):]
        else:
            self.server.requests += 1
        forwarded = urllib.request.Request(
            self.server.target + path, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(forwarded, timeout=10) as response:
            answer = json.loads(response.read())
        if json.loads(body).get("baton") is None and answer.get("baton"):
            answer["base_url"] = self.server.moved_to or f"{self.server.url}/moved"
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proxy(cluster: sqld.SqldCluster) -> Iterator[ForwardingProxy]:
    server = ForwardingProxy(cluster.primary.url)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_base_url_redirects_the_rest_of_the_stream(cluster: sqld.SqldCluster, proxy: ForwardingProxy) -> None:
    sqld.query(cluster.primary.url, "CREATE TABLE t(x)")
    with _libsql.connect(proxy.url) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        assert proxy.requests == 0  # held back: alone it would die with its server session
        conn.execute("BEGIN IMMEDIATE")
        assert proxy.requests == 1  # the pragma went out in the same request as the BEGIN
        assert conn.execute("PRAGMA foreign_keys").fetchall() == [(0,)]
        conn.execute("INSERT INTO t VALUES (1)")
        assert conn.execute("SELECT count(*) FROM t").fetchall() == [(1,)]
        conn.execute("COMMIT")
        assert proxy.requests == 1  # the rest went where the server said the stream lives
        assert proxy.moved == 4
        conn.execute("SELECT 1")  # a new stream starts at the URL given to connect
        assert proxy.requests == 2
    assert sqld.query(cluster.primary.url, "SELECT x FROM t") == [(1,)]


def test_a_base_url_on_another_origin_is_refused_and_gets_nothing(cluster: sqld.SqldCluster) -> None:
    """Another port (here: sqld itself, behind the proxy) must never receive a request, nor
    the token: the stream stops with an error naming both origins, and no secret."""
    sqld.query(cluster.primary.url, "CREATE TABLE t(x)")
    token = "s3cret-token-value"
    decoy = ForwardingProxy(cluster.primary.url)  # counts what would be sent to the other origin
    threading.Thread(target=decoy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    front = ForwardingProxy(cluster.primary.url, moved_to=decoy.url)
    threading.Thread(target=front.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        with _libsql.connect(front.url, token) as conn:
            with pytest.raises(_libsql.RemoteError) as refused:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("INSERT INTO t VALUES (1)")
            message = str(refused.value)
            assert f"moved the stream to {decoy.url}" in message
            assert "refused" in message and token not in message
        assert decoy.requests == 0 and decoy.moved == 0
    finally:
        for server in (front, decoy):
            server.shutdown()
            server.server_close()
    assert sqld.query(cluster.primary.url, "SELECT count(*) FROM t") == [(0,)]
