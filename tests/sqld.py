"""Real libSQL servers (sqld) for tests: a primary and replicas on 127.0.0.1.

Independent of pytest: plain functions and context managers that a conftest wraps, e.g.

    @pytest.fixture
    def cluster(tmp_path: Path) -> Iterator[sqld.SqldCluster]:
        with sqld.sqld_cluster(tmp_path) as started:
            yield started

The binary is the pinned one from `tools/install-sqld` (run on first use; idempotent). When
it cannot be installed, `SqldUnavailable` says why: the tests fail, they are not skipped.
Servers are stopped by PID (SIGTERM, then SIGKILL after a bounded wait) when the context
exits, whatever happened inside it. Waiting is always polling an observable condition
(`/health`, a query's answer) under a deadline, never a bare sleep.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from cortexdb.remote.messages import decode_value, encode_value

ROOT = Path(__file__).resolve().parent.parent
INSTALL_SCRIPT = ROOT / "tools" / "install-sqld"
BINARY_ENV = "CORTEX_SQLD_BIN"  # a binary to use instead of installing (e.g. a newer sqld)
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
# sqld waits up to this long for open streams when it gets SIGTERM (its default is 30 s).
SHUTDOWN_TIMEOUT_S = 2
START_ATTEMPTS = 3  # a port picked by binding port 0 can be taken before sqld binds it

T = TypeVar("T")
Value = int | float | str | bytes | None


class SqldUnavailable(RuntimeError):
    """sqld could not be installed or started; the message says why."""


class HranaError(RuntimeError):
    """A statement failed on the server; `code` is sqld's error code."""

    def __init__(self, message: str, code: str | None) -> None:
        super().__init__(f"{code}: {message}" if code else message)
        self.code = code


# --- the binary ------------------------------------------------------------------------------


@functools.cache
def sqld_binary() -> Path:
    """The pinned sqld: installed by `tools/install-sqld` into this interpreter's venv."""
    override = os.environ.get(BINARY_ENV)
    if override:
        path = Path(override)
        if not (path.is_file() and os.access(path, os.X_OK)):
            raise SqldUnavailable(f"${BINARY_ENV}={override} is not an executable file")
        return path
    if sys.prefix == sys.base_prefix:
        raise SqldUnavailable(
            f"the tests run outside a venv ({sys.executable}); run them with .venv/bin/python "
            f"(make test) or set ${BINARY_ENV}"
        )
    try:
        result = subprocess.run(
            [sys.executable, str(INSTALL_SCRIPT), "--venv", sys.prefix],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise SqldUnavailable(f"{INSTALL_SCRIPT} could not run: {error}") from error
    if result.returncode != 0:
        raise SqldUnavailable(f"{INSTALL_SCRIPT} failed (exit {result.returncode}):\n{result.stderr.strip()}")
    return Path(result.stdout.strip().splitlines()[-1])


# --- one server ------------------------------------------------------------------------------


@dataclass
class SqldNode:
    """One running sqld: a primary (with a gRPC port for replicas) or a replica."""

    name: str
    role: str
    http_port: int
    db_path: Path
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)
    grpc_port: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        if self.grpc_port is None:
            raise ValueError(f"{self.name} is not a primary")
        return f"http://127.0.0.1:{self.grpc_port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@dataclass
class SqldCluster:
    """A primary and its replicas, each with its own database directory."""

    primary: SqldNode
    replicas: list[SqldNode]

    @property
    def nodes(self) -> list[SqldNode]:
        return [self.primary, *self.replicas]


def free_port() -> int:
    """A port that was free on 127.0.0.1 a moment ago (bound with port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start_node(
    workdir: Path,
    name: str,
    *,
    primary: SqldNode | None = None,
    extra_args: Sequence[str] = (),
    binary: Path | None = None,
) -> SqldNode:
    """Start one sqld: a primary when `primary` is None, else a replica of it. Not yet ready."""
    node_dir = workdir / name
    node_dir.mkdir(parents=True, exist_ok=True)
    http_port = free_port()
    grpc_port = free_port() if primary is None else None
    argv = [
        str(binary or sqld_binary()),
        "--no-welcome",
        "--shutdown-timeout", str(SHUTDOWN_TIMEOUT_S),
        "--db-path", str(node_dir / "data.sqld"),
        "--http-listen-addr", f"127.0.0.1:{http_port}",
    ]  # fmt: skip
    if primary is None:
        argv += ["--grpc-listen-addr", f"127.0.0.1:{grpc_port}"]
    else:
        argv += ["--primary-grpc-url", primary.grpc_url]
    argv += extra_args
    log_path = node_dir / "sqld.log"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("SQLD_", "LIBSQL_"))}
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            argv,
            cwd=node_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C to the test run reaches pytest, which stops it
        )
    return SqldNode(
        name=name,
        role="primary" if primary is None else "replica",
        http_port=http_port,
        db_path=node_dir / "data.sqld",
        log_path=log_path,
        process=process,
        grpc_port=grpc_port,
    )


def wait_ready(node: SqldNode, timeout: float = READY_TIMEOUT_S, *, auth_token: str = "") -> None:
    """Poll until `/health` answers and a `SELECT 1` runs (a replica needs its primary for that)."""
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while True:
        if node.process.poll() is not None:
            raise SqldUnavailable(f"sqld {node.name} exited with {node.process.returncode}:\n{node.log_tail()}")
        try:
            # /health is 200 as soon as HTTP listens, even on a replica whose primary is gone;
            # only a query proves the node can serve.
            with urllib.request.urlopen(node.url + "/health", timeout=1) as response:
                if response.status == 200 and query(node.url, "SELECT 1", timeout=1, auth_token=auth_token) == [(1,)]:
                    return
        except (OSError, HranaError) as error:
            last = str(error)
        if time.monotonic() > deadline:
            raise SqldUnavailable(f"sqld {node.name} not ready within {timeout:g} s ({last}):\n{node.log_tail()}")
        time.sleep(0.02)


def stop_node(node: SqldNode, timeout: float = STOP_TIMEOUT_S) -> None:
    """SIGTERM by PID, SIGKILL if it has not exited after `timeout` s; always reaps it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        if node.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            node.process.wait(timeout)


@contextlib.contextmanager
def sqld_node(
    workdir: Path,
    name: str,
    *,
    primary: SqldNode | None = None,
    extra_args: Sequence[str] = (),
    auth_token: str = "",
    ready_timeout: float = READY_TIMEOUT_S,
) -> Iterator[SqldNode]:
    """A started, ready sqld, stopped by PID on exit. Retries when its port was taken meanwhile.

    `extra_args` go to sqld as they are (e.g. `--auth-jwt-key-file`); `auth_token` is what the
    readiness query then needs.
    """
    for attempt in range(1, START_ATTEMPTS + 1):
        node = start_node(workdir, name, primary=primary, extra_args=extra_args)
        try:
            wait_ready(node, ready_timeout, auth_token=auth_token)
        except SqldUnavailable:
            stop_node(node)
            if attempt < START_ATTEMPTS and "Address already in use" in node.log_tail(200):
                continue
            raise
        except BaseException:
            stop_node(node)
            raise
        break
    try:
        yield node
    finally:
        stop_node(node)


@contextlib.contextmanager
def sqld_cluster(workdir: Path, *, replicas: int = 2, ready_timeout: float = READY_TIMEOUT_S) -> Iterator[SqldCluster]:
    """A primary and `replicas` replicas on 127.0.0.1, all stopped on exit (also on failure)."""
    sqld_binary()  # fail with the install reason before starting anything
    with contextlib.ExitStack() as stack:
        primary = stack.enter_context(sqld_node(workdir, "primary", ready_timeout=ready_timeout))
        started = [
            stack.enter_context(sqld_node(workdir, f"replica{i}", primary=primary, ready_timeout=ready_timeout))
            for i in range(1, replicas + 1)
        ]
        yield SqldCluster(primary, started)


@contextlib.contextmanager
def sqld_clusters(
    workdir: Path, names: Sequence[str], *, replicas: int = 0, ready_timeout: float = READY_TIMEOUT_S
) -> Iterator[dict[str, SqldCluster]]:
    """One cluster per name (e.g. per database: sqld serves one database per server without
    namespaces, and namespaces need DNS names on loopback), all stopped on exit."""
    sqld_binary()
    with contextlib.ExitStack() as stack:
        yield {
            name: stack.enter_context(sqld_cluster(workdir / name, replicas=replicas, ready_timeout=ready_timeout))
            for name in names
        }


# Where a node keeps the database it serves (without namespaces): the SQLite file, its WAL, and
# sqld's own log of WAL frames that replicas pull. Reads leave these alone (`data-shm` and
# `stats.json` do change); any write changes them.
DATA_FILES = ("dbs/default/data", "dbs/default/data-wal", "dbs/default/wallog")


def data_files(node: SqldNode) -> dict[str, bytes]:
    """The bytes of the node's database files: equal before and after = nothing was written."""
    return {name: (node.db_path / name).read_bytes() for name in DATA_FILES if (node.db_path / name).exists()}


# --- talking to a server independently of the adapter under test (an oracle) ---------------


def _post(url: str, body: dict[str, Any], timeout: float, auth_token: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if auth_token:
        headers["Authorization"] = f"Bearer {auth_token}"
    request = urllib.request.Request(url + "/v2/pipeline", data=json.dumps(body).encode(), headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            answer: dict[str, Any] = json.loads(response.read())
            return answer
    except urllib.error.HTTPError as error:
        raise HranaError(error.read().decode(errors="replace"), f"HTTP_{error.code}") from error


def _rows(result: dict[str, Any]) -> list[tuple[Value, ...]]:
    if result["type"] != "ok":
        raise HranaError(result["error"]["message"], result["error"].get("code"))
    return [tuple(decode_value(cell) for cell in row) for row in result["response"]["result"]["rows"]]


def _execute(sql: str, args: Sequence[Value]) -> dict[str, Any]:
    return {"type": "execute", "stmt": {"sql": sql, "args": [encode_value(a) for a in args]}}


def query(
    url: str, sql: str, args: Sequence[Value] = (), *, timeout: float = 5.0, auth_token: str = ""
) -> list[tuple[Value, ...]]:
    """Run one statement in its own session over Hrana HTTP (stdlib only) and return the rows."""
    answer = _post(url, {"requests": [_execute(sql, args), {"type": "close"}]}, timeout, auth_token)
    return _rows(answer["results"][0])


def wait_for(
    probe: Callable[[], T],
    *,
    what: str,
    timeout: float = 10.0,
    interval: float = 0.02,
    tolerate: tuple[type[BaseException], ...] = (HranaError,),
) -> T:
    """Poll `probe` until it returns something truthy; `tolerate`d errors mean "not yet".

    For replication: a replica sees a write some milliseconds after the primary commits it,
    and until it has the DDL, statements on a new table fail with "no such table".
    """
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except tolerate as error:
            last = error
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s (last: {last!r})")
        time.sleep(interval)


def wait_replicated(
    cluster: SqldCluster, sql: str, expected: Sequence[tuple[Value, ...]], *, timeout: float = 10.0
) -> None:
    """Poll every replica until `sql` returns `expected` there."""
    for replica in cluster.replicas:
        wait_for(
            functools.partial(_returns, replica.url, sql, list(expected)),
            what=f"{replica.name} returns {list(expected)!r} for {sql!r}",
            timeout=timeout,
        )


def _returns(url: str, sql: str, expected: list[tuple[Value, ...]]) -> bool:
    return query(url, sql) == expected
