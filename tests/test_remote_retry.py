"""Transactions the server ends, and COMMITs without an answer: retried, applied exactly once.

sqld aborts a transaction that holds the write lock for 5 s while another client waits for
it (docs/sqld-notes.md). To get there without a slow statement, a logging filter on the
`cortexdb` logger holds the migrating thread inside the migration's transaction (at its
"applying" record) until another client's write, which waits for the lock, has gone
through: that happens exactly when the server aborts the transaction. No sleeps decide
anything; the waits are bounded.
"""

from __future__ import annotations

import concurrent.futures
import http.client
import http.server
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import sqld
from runtime_support import LEDGER, synthetic_frozen
from test_remote_migrate import remote_ledger, remote_schema

import cortexdb
from cortexdb import _apply
from cortexdb.remote import backend as _remote
from cortexdb.remote import session as _libsql

FIRST = (1, "main", "CREATE TABLE IF NOT EXISTS a (x);")
SECOND = (2, "main", "CREATE TABLE IF NOT EXISTS b (y);\nINSERT OR IGNORE INTO a VALUES (2);")
THIRD = (3, "main", "CREATE INDEX IF NOT EXISTS b_y ON b(y);")
FROZEN = synthetic_frozen([FIRST, SECOND, THIRD])
WAIT_LIMIT = 20.0  # seconds; the abort comes at 5 s


class HoldInTransaction(logging.Filter):
    """On the first `<url>: applying <migration>` record, run `hold` in the migrating thread.

    A logger filter, not a handler: handlers serialise on a lock, and two migrations held at
    once must not wait for each other.
    """

    def __init__(self, holds: dict[str, Callable[[], object]], label: str) -> None:
        super().__init__()
        self.holds = holds
        self.label = label
        self.lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        with self.lock:
            hold = next(
                (self.holds.pop(url) for url in list(self.holds) if message == f"{url}: applying {self.label}"),
                None,
            )
        if hold is not None:
            hold()
        return True


@pytest.fixture
def holding(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[dict[str, Callable[[], object]]], None]]:
    logger = logging.getLogger("cortexdb")
    caplog.set_level(logging.DEBUG, logger="cortexdb")
    installed: list[logging.Filter] = []

    def install(holds: dict[str, Callable[[], object]]) -> None:
        hold = HoldInTransaction(holds, "002 (002_m2.sql)")
        logger.addFilter(hold)
        installed.append(hold)

    yield install
    for hold in installed:
        logger.removeFilter(hold)


def wait_for_the_lock(url: str, report: dict[str, Any]) -> Callable[[], None]:
    """A hold: another client writes through `url`, which waits until the server aborts the holder."""

    def hold() -> None:
        start = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(sqld.query, url, "CREATE TABLE waiter (x)", timeout=WAIT_LIMIT).result(WAIT_LIMIT)
        report["waited"] = time.monotonic() - start

    return hold


@pytest.fixture
def clusters(tmp_path: Any) -> Iterator[tuple[sqld.SqldCluster, sqld.SqldCluster]]:
    with sqld.sqld_cluster(tmp_path / "one", replicas=1) as one, sqld.sqld_cluster(tmp_path / "two", replicas=1) as two:
        yield one, two


def test_a_migration_whose_transaction_the_server_aborts_is_retried_and_applied_once(
    clusters: tuple[sqld.SqldCluster, sqld.SqldCluster], holding: Any, caplog: pytest.LogCaptureFixture,
    tmp_path: Any,
) -> None:
    """Both shapes at once (5 s): migrating through the primary, and through a replica."""
    on_primary, on_replica = clusters
    shapes = {  # migrate through -> (the waiter's node, the primary, the code the abort arrives with)
        "primary": (on_primary.primary.url, on_primary.replicas[0].url, on_primary.primary.url, "TRANSACTION_TIMEOUT"),
        "replica": (on_replica.replicas[0].url, on_replica.primary.url, on_replica.primary.url, "PROXY_ERROR"),
    }
    reports: dict[str, dict[str, Any]] = {shape: {} for shape in shapes}
    holding({url: wait_for_the_lock(waiter, reports[shape]) for shape, (url, waiter, _, _) in shapes.items()})

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = {
            shape: pool.submit(cortexdb.migrate, tmp_path / shape, urls={"main": url}, frozen=FROZEN)
            for shape, (url, _, _, _) in shapes.items()
        }
        results = {shape: future.result(timeout=60) for shape, future in futures.items()}

    for shape, (url, _, primary, code) in shapes.items():
        assert 4.0 < reports[shape]["waited"] < WAIT_LIMIT, shape  # it did wait for the abort
        assert [r.versions for r in results[shape].databases] == [(1, 2, 3)], shape
        assert [row[0] for row in remote_ledger(primary)] == [1, 2, 3], shape
        schema = remote_schema(primary)
        assert schema == tuple(sorted((*FROZEN.DATABASES["main"]["schema"], *_waiter_row(primary)))), shape
        retried = [r.getMessage() for r in caplog.records if r.getMessage().startswith(f"{url}: transaction ended")]
        assert len(retried) == 1 and f"({code}: " in retried[0] and "attempt 2 of 5" in retried[0], retried


def _waiter_row(url: str) -> list[tuple[Any, ...]]:
    return sqld.query(url, "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name = 'waiter'")


def test_retries_are_bounded_and_the_last_failure_records_nothing(
    clusters: tuple[sqld.SqldCluster, sqld.SqldCluster], holding: Any, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Any,
) -> None:
    cluster = clusters[0]
    url = cluster.primary.url
    monkeypatch.setattr(_apply, "MAX_ATTEMPTS", 1)
    report: dict[str, Any] = {}
    holding({url: wait_for_the_lock(cluster.replicas[0].url, report)})

    with pytest.raises(cortexdb.MigrationFailedError) as caught:
        cortexdb.migrate(tmp_path, urls={"main": url}, frozen=FROZEN)

    message = str(caught.value)
    assert message.startswith(f"{url}: migration 002 (002_m2.sql) not applied: the server ended the transaction ")
    assert "in each of 1 attempt(s) (last: TRANSACTION_TIMEOUT" in message
    assert [row[0] for row in remote_ledger(url)] == [1]
    assert sqld.query(url, "SELECT name FROM sqlite_master WHERE name IN ('b', 'waiter') ORDER BY name") == [
        ("waiter",)
    ]


# --- a COMMIT whose answer is lost --------------------------------------------------------------


class CommitBlackHole(http.server.ThreadingHTTPServer):
    """Forwards Hrana requests to sqld; the first COMMIT is forwarded, but its answer never comes back."""

    daemon_threads = True

    def __init__(self, target: str) -> None:
        super().__init__(("127.0.0.1", 0), _BlackHoleHandler)
        self.target = urlsplit(target)
        self.swallowed = threading.Event()
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _BlackHoleHandler(http.server.BaseHTTPRequestHandler):
    server: CommitBlackHole
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        upstream = http.client.HTTPConnection(self.server.target.netloc, timeout=10)
        forwarded = ("content-type", "authorization")
        headers = {key: value for key, value in self.headers.items() if key.lower() in forwarded}
        upstream.request("POST", self.path, body, headers)
        answer = upstream.getresponse()
        payload = answer.read()
        upstream.close()
        if not self.server.swallowed.is_set() and _commits(body):
            self.server.swallowed.set()  # sqld has committed; the client never hears of it
            self.server.release.wait(10)
            self.close_connection = True
            return
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.getheader("Content-Type") or "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _commits(body: bytes) -> bool:
    requests = json.loads(body).get("requests", [])
    steps = [step for request in requests if request.get("type") == "batch" for step in request["batch"]["steps"]]
    return any(step["stmt"]["sql"] == "COMMIT" for step in steps)


def test_a_commit_without_an_answer_is_settled_by_the_ledger(
    clusters: tuple[sqld.SqldCluster, sqld.SqldCluster], caplog: pytest.LogCaptureFixture, tmp_path: Any
) -> None:
    caplog.set_level(logging.INFO, logger="cortexdb")
    primary = clusters[0].primary.url
    proxy = CommitBlackHole(primary)
    serving = threading.Thread(target=proxy.serve_forever, daemon=True)
    serving.start()
    try:
        # busy_timeout bounds each request remotely: the lost answer is given up after 1 s.
        result = cortexdb.migrate(tmp_path, urls={"main": proxy.url}, frozen=FROZEN, busy_timeout=1)
    finally:
        proxy.release.set()
        proxy.shutdown()
        proxy.server_close()

    assert proxy.swallowed.is_set()
    assert [r.versions for r in result.databases] == [(1, 2, 3)]  # once each, 1 confirmed by the ledger
    assert remote_ledger(primary) == [(v, f"migration {v}", m["checksum"]) for v, m in
                                      zip((1, 2, 3), FROZEN.MIGRATIONS, strict=True)]
    messages = [record.getMessage() for record in caplog.records]
    assert f"{proxy.url}: applied 001 (001_m1.sql) (its COMMIT was confirmed by the ledger)" in messages
    assert sqld.query(primary, f"SELECT count(*) FROM {LEDGER}") == [(3,)]


# --- BEGIN IMMEDIATE answered SQLITE_BUSY (through a replica, now and then) --------------------


class BusyThenFree:
    """Stands in for a connection whose BEGIN IMMEDIATE gets SQLITE_BUSY `busy` times.

    The real case is a race the 8-process test runs into now and then (docs/sqld-notes.md);
    this pins down the waiting rule itself: retry like SQLite's busy handler, then give up.
    """

    url = "http://replica.invalid:8080"
    in_transaction = False

    def __init__(self, busy: int) -> None:
        self.busy = busy
        self.calls = 0

    def begin(self, sql: str, then: str | None = None) -> Any:
        self.calls += 1
        if self.calls <= self.busy:
            raise cortexdb.SQLError("SQLite error: database is locked", url=self.url, code="SQLITE_BUSY")
        return _libsql.RemoteCursor([(1, "c1:x")])


def test_begin_immediate_retries_busy_until_the_busy_timeout() -> None:
    conn = BusyThenFree(busy=3)
    assert _remote.begin_immediate(conn, "SELECT 1", busy_timeout=5) == [(1, "c1:x")]  # type: ignore[arg-type]
    assert conn.calls == 4

    never = BusyThenFree(busy=10**6)
    started = time.monotonic()
    with pytest.raises(cortexdb.LockTimeoutError, match=r"locked by another connection; gave up after 0.3s"):
        _remote.begin_immediate(never, None, busy_timeout=0.3)  # type: ignore[arg-type]
    assert 0.3 <= time.monotonic() - started < 2 and never.calls > 3
