"""The runtime on real libSQL servers (sqld): same ledger, checksums, refusals and guarantees as locally.

Each test starts its own servers on 127.0.0.1 (`tests/sqld.py`; one sqld per database, as
the notes recommend on loopback) and stops them by PID. The runtime under test runs as the
real CLI in a child process, or through the library; what is on the server is read back with
`sqld.query`, a stdlib Hrana client of its own. A server that cannot be installed fails these
tests with the reason; they are never skipped.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqld
from runtime_support import (
    LEDGER,
    ROOT,
    SCHEMA_QUERY,
    applied_by_output,
    child_env,
    derived,
    expected_ledger,
    real_frozen,
    run_cli,
    synthetic_frozen,
    write_frozen,
)
from test_runtime_migrate import LOSSY_REBUILD, PARENT_CHILD  # the same rebuild as locally

import cortexdb
from cortexdb._catalog import load_catalog
from cortexdb._targets import auth_token, database_urls

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
SHARED = [name for name, spec in CATALOG.databases.items() if not spec.session]


# --- reading a server's database, independently of the runtime -------------------------------


def remote_schema(url: str) -> tuple[tuple[Any, ...], ...]:
    return tuple(sqld.query(url, SCHEMA_QUERY, (LEDGER,)))


def remote_ledger(url: str) -> list[tuple[Any, ...]]:
    if not sqld.query(url, "SELECT 1 FROM sqlite_master WHERE name = ?", (LEDGER,)):
        return []
    return sqld.query(url, f"SELECT version, description, checksum FROM {LEDGER} ORDER BY version")


def remote_user_version(url: str) -> int:
    value = sqld.query(url, "PRAGMA user_version")[0][0]
    assert isinstance(value, int)
    return value


def url_args(servers: dict[str, sqld.SqldCluster], via: str = "primary") -> list[str]:
    args = []
    for name, cluster in servers.items():
        node = cluster.primary if via == "primary" else cluster.replicas[int(via[-1]) - 1]
        args += ["--database-url", f"{name}={node.url}"]
    return args


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[dict[str, sqld.SqldCluster]]:
    """One sqld primary (and a replica) per shared database of the real frozen module."""
    with sqld.sqld_clusters(tmp_path / "sqld", SHARED, replicas=1) as started:
        yield started


@pytest.fixture
def main_server(tmp_path: Path) -> Iterator[sqld.SqldCluster]:
    """A primary and one replica for the synthetic frozen modules' database `main`."""
    with sqld.sqld_cluster(tmp_path / "sqld", replicas=1) as started:
        yield started


# --- fresh, up to date, status, verify -------------------------------------------------------


def test_five_databases_fresh_then_up_to_date_without_a_write(
    servers: dict[str, sqld.SqldCluster], tmp_path: Path
) -> None:
    data = tmp_path / "data"
    urls = url_args(servers)

    fresh = run_cli("migrate", "--data-dir", str(data), *urls)

    assert fresh.returncode == 0, fresh.stderr
    applied = applied_by_output(fresh.stdout)
    for name, cluster in servers.items():
        url = cluster.primary.url
        assert applied[name] == [m.version for m in CATALOG.databases[name].migrations], name
        assert f"{name:<10} {url}" in fresh.stdout
        assert remote_schema(url) == tuple(FROZEN.DATABASES[name]["schema"]), name
        assert remote_ledger(url) == expected_ledger(FROZEN, name), name
        assert remote_user_version(url) == CATALOG.databases[name].fingerprint, name
    assert not any(data.glob("*.db"))  # nothing of it went to local files
    before = {name: sqld.data_files(cluster.primary) for name, cluster in servers.items()}

    again = run_cli("migrate", "--data-dir", str(data), *urls)

    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[-1] == "up to date"
    assert all(line.endswith("up to date") for line in again.stdout.splitlines())
    assert {name: sqld.data_files(cluster.primary) for name, cluster in servers.items()} == before

    status = run_cli("status", "--data-dir", str(data), *urls)
    assert status.returncode == 0, status.stderr
    assert sum(line.endswith(", up to date") for line in status.stdout.splitlines()) == len(SHARED)
    verify = run_cli("verify", "--data-dir", str(data), *urls)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.splitlines()[-1] == "no drift"
    assert {name: sqld.data_files(cluster.primary) for name, cluster in servers.items()} == before


def test_environment_maps_databases_and_an_empty_url_keeps_one_local(
    servers: dict[str, sqld.SqldCluster], tmp_path: Path
) -> None:
    env = child_env()
    env.update({f"CORTEX_DB_URL_{name.upper()}": cluster.primary.url for name, cluster in servers.items()})
    data = tmp_path / "data"

    proc = run_cli("migrate", "--data-dir", str(data), "--database-url", "lens=", env=env)

    assert proc.returncode == 0, proc.stderr
    assert remote_ledger(servers["lens"].primary.url) == []  # the option beat the environment
    lens = [m.version for m in CATALOG.databases["lens"].migrations]
    assert applied_by_output(proc.stdout)["lens"] == lens and (data / "lens.db").is_file()
    for name in SHARED:
        if name != "lens":
            assert remote_ledger(servers[name].primary.url) == expected_ledger(FROZEN, name), name
            assert not (data / CATALOG.databases[name].file).exists()


def test_dry_run_status_and_verify_read_only(servers: dict[str, sqld.SqldCluster], tmp_path: Path) -> None:
    data = tmp_path / "data"
    urls = url_args(servers, via="replica1")  # status and verify read under the primary's lock
    before = {name: sqld.data_files(cluster.primary) for name, cluster in servers.items()}

    dry = run_cli("migrate", "--dry-run", "--data-dir", str(data), *urls)
    status = run_cli("status", "--data-dir", str(data), "--format", "json", *urls)
    verify = run_cli("verify", "--data-dir", str(data), *urls)

    assert dry.returncode == 0 and "would apply 004, 045" in dry.stdout, dry.stderr
    assert "dry run: 46 migration(s) would be applied; nothing was changed" in dry.stdout
    assert status.returncode == 0 and '"pending": [\n        4,\n        45\n      ]' in status.stdout
    assert verify.returncode == 1 and "migration 004 (004_vault.sql) is not applied" in verify.stdout
    assert {name: sqld.data_files(cluster.primary) for name, cluster in servers.items()} == before

    assert run_cli("migrate", "--data-dir", str(data), "--database", "vault", *urls).returncode == 0
    vault = servers["vault"].primary.url
    sqld.query(vault, "CREATE TABLE added_by_hand (x)")
    status = run_cli("status", "--data-dir", str(data), "--database", "vault", *urls)
    verify = run_cli("verify", "--data-dir", str(data), "--database", "vault", *urls)
    assert status.returncode == 0 and status.stdout.rstrip().endswith("applied 2, up to date")
    assert verify.returncode == 1 and "extra table added_by_hand" in verify.stdout


# --- what a migration does on the server ------------------------------------------------------


def test_real_042_rebuild_through_a_replica_keeps_rows_and_references(tmp_path: Path) -> None:
    """042 rebuilds policy_rules with foreign keys off; on, the DROP would cascade into node_policies."""
    upto_41 = write_frozen(derived(FROZEN, upto=41), tmp_path / "upto41.py")
    with sqld.sqld_cluster(tmp_path / "sqld", replicas=1) as cluster:
        primary = cluster.primary.url
        args = ["--data-dir", str(tmp_path / "data"), "--database", "cortex"]
        assert run_cli("migrate", *args, "--database-url", f"cortex={primary}", frozen_file=upto_41).returncode == 0
        rule = sqld.query(primary, "SELECT id FROM policy_rules ORDER BY id LIMIT 1")[0][0]
        sqld.query(primary, "INSERT INTO nodes (id, hostname, address) VALUES ('n1', 'h', 'a')")
        sqld.query(primary, "INSERT INTO node_policies (node_id, rule_id) VALUES ('n1', ?)", (rule,))
        rules = sqld.query(primary, "SELECT id FROM policy_rules ORDER BY id")

        proc = run_cli("migrate", *args, "--database-url", f"cortex={cluster.replicas[0].url}")

        assert proc.returncode == 0, proc.stderr
        assert 42 in applied_by_output(proc.stdout)["cortex"]
        assert sqld.query(primary, "SELECT node_id, rule_id FROM node_policies") == [("n1", rule)]
        ids = {row[0] for row in sqld.query(primary, "SELECT id FROM policy_rules")}
        assert {row[0] for row in rules} <= ids and "default:deny-rm-root" in ids
        assert sqld.query(primary, "PRAGMA foreign_key_check") == []
        assert sqld.query(primary, "PRAGMA foreign_keys") == [(1,)]  # a new session: on, as always
        assert remote_schema(primary) == tuple(FROZEN.DATABASES["cortex"]["schema"])
        assert remote_ledger(primary) == expected_ledger(FROZEN, "cortex")


def test_rebuild_that_breaks_foreign_keys_rolls_back_with_nothing_recorded(
    main_server: sqld.SqldCluster, tmp_path: Path
) -> None:
    url = main_server.primary.url
    v1 = synthetic_frozen([(1, "main", PARENT_CHILD)])
    v2 = synthetic_frozen([(1, "main", PARENT_CHILD), (2, "main", LOSSY_REBUILD)])
    assert v2.MIGRATIONS[1]["flags"] == ("foreign_keys_off",)
    cortexdb.migrate(tmp_path, urls={"main": url}, frozen=v1)
    sqld.query(url, "INSERT INTO parent VALUES (1, 1), (2, 0)")
    sqld.query(url, "INSERT INTO child VALUES (10, 1), (20, 2)")
    ledger_before, version_before = remote_ledger(url), remote_user_version(url)

    proc = run_cli("migrate", "--data-dir", str(tmp_path), "--database-url", f"main={url}",
                   frozen_file=write_frozen(v2, tmp_path / "v2.py"))

    assert proc.returncode == 1
    message = proc.stderr.strip()
    assert "\n" not in message and message.startswith(f"cortex db migrate: {url}: ")
    assert "migration 002 (002_m2.sql)" in message and "table child references parent" in message
    assert remote_ledger(url) == ledger_before and remote_user_version(url) == version_before
    assert remote_schema(url) == tuple(v1.DATABASES["main"]["schema"])
    assert sqld.query(url, "SELECT * FROM parent ORDER BY id") == [(1, 1), (2, 0)]


def test_failing_statement_names_its_line_and_rolls_back_the_migration(
    main_server: sqld.SqldCluster, tmp_path: Path
) -> None:
    url = main_server.replicas[0].url
    first = (1, "main", "CREATE TABLE IF NOT EXISTS a (x UNIQUE);")
    # Passes the proof on an empty database; fails here on a row the application wrote.
    second = (2, "main", "CREATE TABLE IF NOT EXISTS b (y);\nINSERT INTO a VALUES (1);\n"
                         "CREATE TABLE IF NOT EXISTS c (z);\n")
    v1, v2 = synthetic_frozen([first]), synthetic_frozen([first, second])
    cortexdb.migrate(tmp_path, urls={"main": url}, frozen=v1)
    sqld.query(main_server.primary.url, "INSERT INTO a VALUES (1)")

    with pytest.raises(cortexdb.MigrationFailedError) as caught:
        cortexdb.migrate(tmp_path, urls={"main": url}, frozen=v2)

    assert str(caught.value).startswith(f"{url}: migration 002 (002_m2.sql) failed at 002_m2.sql:2: ")
    assert "UNIQUE" in str(caught.value)
    primary = main_server.primary.url
    assert [row[0] for row in remote_ledger(primary)] == [1]
    assert remote_schema(primary) == tuple(v1.DATABASES["main"]["schema"])  # no table b


def test_add_column_if_not_exists_runs_only_when_the_column_is_missing(
    main_server: sqld.SqldCluster, tmp_path: Path
) -> None:
    url = main_server.primary.url
    first = (1, "main", "CREATE TABLE IF NOT EXISTS a (x);")
    second = (2, "main", "ALTER TABLE a ADD COLUMN IF NOT EXISTS y TEXT;\n"
                         "ALTER TABLE a ADD COLUMN IF NOT EXISTS z TEXT;\n"
                         "CREATE INDEX IF NOT EXISTS a_z ON a(z);\n")
    cortexdb.migrate(tmp_path, urls={"main": url}, frozen=synthetic_frozen([first]))
    sqld.query(url, "ALTER TABLE a ADD COLUMN y TEXT")  # as a hotfix by hand would have

    result = cortexdb.migrate(tmp_path, urls={"main": url}, frozen=synthetic_frozen([first, second]))

    assert [(r.name, r.path, r.remote, r.versions) for r in result.databases] == [("main", url, True, (2,))]
    assert [row[1] for row in sqld.query(url, "PRAGMA table_info(a)")] == ["x", "y", "z"]
    assert [row[0] for row in remote_ledger(url)] == [1, 2]


def test_migration_that_ends_its_own_transaction_is_not_recorded(main_server: sqld.SqldCluster,
                                                                 tmp_path: Path) -> None:
    """The generator refuses COMMIT in a migration (MG008); the runtime still never records one."""
    url = main_server.primary.url
    frozen = synthetic_frozen([(1, "main", "CREATE TABLE IF NOT EXISTS a (x);")])
    frozen.MIGRATIONS[0]["steps"] += (("sql", 2, "COMMIT;"),)
    with pytest.raises(cortexdb.MigrationFailedError, match="ended its own transaction"):
        cortexdb.migrate(tmp_path, urls={"main": url}, frozen=frozen)
    assert remote_ledger(url) == []


# --- refusals: exit 1, nothing touched ----------------------------------------------------


@pytest.mark.parametrize(
    ("build", "message"),
    [
        ({"change": {4: {"checksum": "c1:" + "0" * 64}}}, "was changed after it was applied"),
        ({"without": [45]}, "the database is newer than the code"),
    ],
    ids=["changed-migration", "database-newer-than-code"],
)
def test_refusals_touch_nothing(build: dict[str, Any], message: str, tmp_path: Path) -> None:
    with sqld.sqld_cluster(tmp_path / "sqld", replicas=1) as cluster:
        args = ["--data-dir", str(tmp_path / "data"), "--database", "vault"]
        primary, replica = cluster.primary.url, cluster.replicas[0].url
        assert run_cli("migrate", *args, "--database-url", f"vault={primary}").returncode == 0
        sqld.wait_replicated(cluster, f"SELECT count(*) FROM {LEDGER}", [(2,)])
        before = sqld.data_files(cluster.primary), remote_ledger(primary), remote_user_version(primary)
        other_build = write_frozen(derived(FROZEN, **build), tmp_path / "other.py")

        for url in (primary, replica):
            proc = run_cli("migrate", *args, "--database-url", f"vault={url}", frozen_file=other_build)
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert proc.stderr.startswith(f"cortex db migrate: {url}: ") and message in proc.stderr

        status = run_cli("status", *args, "--database-url", f"vault={replica}", frozen_file=other_build)
        assert status.returncode == 1
        assert (sqld.data_files(cluster.primary), remote_ledger(primary), remote_user_version(primary)) == before


def test_a_server_that_cannot_be_reached_is_a_failure_naming_the_url(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{sqld.free_port()}"
    for command in ("migrate", "status", "verify"):
        proc = run_cli(command, "--data-dir", str(tmp_path), "--database-url", f"vault={url}", "--database", "vault")
        assert proc.returncode == 1, (command, proc.stderr)
        assert proc.stderr.startswith(f"cortex db {command}: {url}: ") and "cannot reach" in proc.stderr


# --- mapping databases to URLs ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["--database-url", "nope=http://h:1"], {}, "unknown database 'nope'"),
        (["--database-url", "session=http://h:1"], {}, "session databases stay local files"),
        (["--database-url", "cortex=ftp://h"], {}, "is not a libSQL server URL"),
        (["--database-url", "cortex=/var/lib/cortex.db"], {}, "is not a libSQL server URL"),
        (["--database-url", "cortex=http://user:secret@h:1"], {}, "not in the URL"),
        (["--database-url", "cortex=http://h:1", "--database-url", "lens=http://H:1/"], {}, "the same URL"),
        (["--database-url", "cortex"], {}, "--database-url needs NAME=URL"),
        ([], {"CORTEX_DB_URL": "http://h:1"}, "must contain {name}"),
        ([], {"CORTEX_DB_URL_CORTX": "http://h:1"}, "$CORTEX_DB_URL_CORTX names no database"),
        ([], {"CORTEX_DB_URL_SESSION": "http://h:1"}, "session databases stay local files"),
    ],
)
def test_bad_database_urls_are_usage_errors(args: list[str], env: dict[str, str], message: str,
                                            tmp_path: Path) -> None:
    for command in ("migrate", "status"):
        proc = run_cli(command, "--data-dir", str(tmp_path), *args, env={**child_env(), **env})
        assert proc.returncode == 2, (command, proc.stderr)
        assert message in proc.stderr and "secret" not in proc.stderr
    assert not any(tmp_path.iterdir())


def test_url_precedence_option_then_variable_then_template() -> None:
    environ = {
        "CORTEX_DB_URL": "libsql://{name}.db.example",
        "CORTEX_DB_URL_MEMORY": "http://10.0.0.7:8080",
        "CORTEX_DB_URL_VAULT": "http://10.0.0.8:8080",
        "UNRELATED": "x",
    }
    urls = database_urls(CATALOG, {"vault": "https://vault.example", "lens": ""}, environ)
    assert urls == {
        "cortex": "libsql://cortex.db.example",
        "memory": "http://10.0.0.7:8080",
        "plugins": "libsql://plugins.db.example",
        "vault": "https://vault.example",
    }
    assert database_urls(CATALOG, None, {}) == {}
    assert auth_token("vault", {"CORTEX_LIBSQL_AUTH_TOKEN": "all", "CORTEX_LIBSQL_AUTH_TOKEN_VAULT": "v"}) == "v"
    assert auth_token("lens", {"CORTEX_LIBSQL_AUTH_TOKEN": "all", "CORTEX_LIBSQL_AUTH_TOKEN_VAULT": "v"}) == "all"


def test_help_documents_the_urls() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    for text in ("--database-url NAME=URL", "CORTEX_DB_URL_<NAME>", "CORTEX_DB_URL ", "{name}",
                 "CORTEX_LIBSQL_AUTH_TOKEN", "Session databases always stay local"):
        assert text in proc.stdout, text


LOCAL_PROBE = """
import sys
import cortexdb
cortexdb.migrate(sys.argv[1])           # fresh: the slow path
assert cortexdb.migrate(sys.argv[1]).up_to_date
cortexdb.status(sys.argv[1]); cortexdb.verify(sys.argv[1])
print(sorted(m for m in sys.modules if m.startswith("cortexdb.remote") or m in {"http.client", "ssl", "json"}))
"""


def test_the_local_path_never_loads_the_remote_backend(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", LOCAL_PROBE, str(tmp_path)], capture_output=True, text=True,
                          env=child_env(), cwd=ROOT, timeout=60, check=True)
    assert proc.stdout.strip() == "[]"
