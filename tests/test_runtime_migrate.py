"""Applying: fresh data dirs, the up-to-date path, dry runs, backups, ADD COLUMN, table rebuilds."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from runtime_support import (
    applied_by_output,
    expected_ledger,
    ledger_rows,
    live_schema,
    prefix_schema,
    real_frozen,
    run_cli,
    shared_databases,
    snapshot,
    synthetic_frozen,
    user_version,
    versions_of,
    write_frozen,
)

import cortexdb
from cortexdb._catalog import load_catalog

FROZEN = real_frozen()


def test_fresh_data_dir_gets_the_proven_schema_and_exact_ledger(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = run_cli("migrate", "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr

    files = shared_databases(FROZEN)
    assert sorted(files) == ["cortex", "lens", "memory", "plugins", "vault"]
    assert sorted(p.name for p in data.iterdir()) == sorted(files.values())  # no backup of new dbs
    catalog = load_catalog(FROZEN)
    for name, file in files.items():
        assert live_schema(data / file) == tuple(FROZEN.DATABASES[name]["schema"]), name
        assert ledger_rows(data / file) == expected_ledger(FROZEN, name), name
        assert user_version(data / file) == catalog.databases[name].fingerprint
        assert applied_by_output(proc.stdout)[name] == versions_of(FROZEN, name)


def test_second_run_is_up_to_date_and_writes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("migrate", "--data-dir", str(data)).returncode == 0
    before = snapshot(data)

    again = run_cli("migrate", "--data-dir", str(data))

    assert again.returncode == 0, again.stderr
    assert again.stdout.strip().endswith("up to date")
    assert snapshot(data) == before  # bytes and mtimes of every file; no file added or removed


def test_up_to_date_check_takes_no_write_lock(tmp_path: Path) -> None:
    """Another process holds every database's write lock; the check still passes at once."""
    data = tmp_path / "data"
    cortexdb.migrate(data)
    holders = []
    for file in shared_databases(FROZEN).values():
        conn = sqlite3.connect(data / file, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        holders.append(conn)
    try:
        # The held transactions keep -wal files present: this exercises the SQLite read too.
        proc = run_cli("migrate", "--data-dir", str(data), "--busy-timeout", "0")
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.strip().endswith("up to date")
    finally:
        for conn in holders:
            conn.close()


def test_library_reports_what_it_did(tmp_path: Path) -> None:
    first = cortexdb.migrate(tmp_path)
    assert {r.state for r in first.databases} == {"migrated"}
    assert first.applied == len([m for m in FROZEN.MIGRATIONS if m["database"] != "session"])
    assert first.backup_dir is None
    second = cortexdb.migrate(tmp_path)
    assert second.up_to_date and second.applied == 0


def test_dry_run_lists_pending_and_changes_nothing(tmp_path: Path) -> None:
    data = tmp_path / "data"
    proc = run_cli("migrate", "--data-dir", str(data), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    assert not data.exists()
    assert "would apply 001, 007" in proc.stdout and "nothing was changed" in proc.stdout

    cortexdb.migrate(data, frozen=_upto(41))
    before = snapshot(data)
    proc = run_cli("migrate", "--data-dir", str(data), "--dry-run")
    assert proc.returncode == 0, proc.stderr
    cortex = next(line for line in proc.stdout.splitlines() if line.startswith("cortex "))
    assert cortex.endswith("would apply 042, 043, 044, 047")
    assert snapshot(data) == before


def test_database_option_limits_the_run(tmp_path: Path) -> None:
    result = cortexdb.migrate(tmp_path, databases=["vault"])
    assert [r.name for r in result.databases] == ["vault"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vault.db"]
    proc = run_cli("migrate", "--data-dir", str(tmp_path), "--database", "nope")
    assert proc.returncode == 2 and "unknown database 'nope'" in proc.stderr


def test_backup_before_changing_an_existing_database(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, frozen=_upto(41))
    before = ledger_rows(tmp_path / "cortex.db")

    result = cortexdb.migrate(tmp_path)

    assert result.backup_dir is not None
    backup = Path(result.backup_dir)
    assert backup.parent == tmp_path / "backups"
    assert len(backup.name) == len("20261126T172750Z") and backup.name.endswith("Z")
    # Exactly the databases that changed, each the state just before the run.
    changed = sorted(r.path for r in result.databases if r.state == "migrated")
    assert sorted(str(tmp_path / p.name) for p in backup.iterdir()) == changed
    assert ledger_rows(backup / "cortex.db") == before
    assert live_schema(backup / "cortex.db") == prefix_schema(FROZEN, "cortex", len(before))


def test_no_backup_option(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, frozen=_upto(41))
    proc = run_cli("migrate", "--data-dir", str(tmp_path), "--no-backup")
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "backups").exists()


def test_newest_five_backups_are_kept(tmp_path: Path) -> None:
    sql = [(v, "main", f"CREATE TABLE IF NOT EXISTS t{v} (x);") for v in range(1, 9)]
    published = []
    for count in range(1, 9):
        result = cortexdb.migrate(tmp_path, frozen=synthetic_frozen(sql[:count]))
        if count > 1:
            assert result.backup_dir is not None  # unique even within one second
            published.append(Path(result.backup_dir).name)
    assert len(set(published)) == 7
    remaining = sorted(p.name for p in (tmp_path / "backups").iterdir())
    assert remaining == published[-5:]
    # Each kept backup is the database as it was: the newest holds migrations 1-7.
    assert [row[0] for row in ledger_rows(tmp_path / "backups" / published[-1] / "main.db")] == [
        1, 2, 3, 4, 5, 6, 7]


ADD_COLUMNS = """
CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT, priority INTEGER NOT NULL DEFAULT 0);
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS priority INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS owner TEXT;
"""


def test_add_column_if_not_exists_on_stock_sqlite(tmp_path: Path) -> None:
    stock = sqlite3.connect(":memory:")
    stock.execute("CREATE TABLE t (a)")
    with pytest.raises(sqlite3.OperationalError):  # stock SQLite has no such syntax ...
        stock.execute("ALTER TABLE t ADD COLUMN IF NOT EXISTS b TEXT")
    stock.close()
    frozen = synthetic_frozen([(1, "main", ADD_COLUMNS)])
    kinds = [step[0] for step in frozen.MIGRATIONS[0]["steps"]]
    assert kinds == ["sql", "add_column", "add_column"]

    cortexdb.migrate(tmp_path, frozen=frozen)  # ... the runtime makes it real

    conn = sqlite3.connect(tmp_path / "main.db")
    columns = [row[1] for row in conn.execute("PRAGMA table_info(jobs)")]
    conn.close()
    assert columns == ["id", "name", "priority", "owner"]
    assert live_schema(tmp_path / "main.db") == tuple(frozen.DATABASES["main"]["schema"])


def test_real_042_rebuild_keeps_rows_and_node_policies(tmp_path: Path) -> None:
    """The 042 policy table rebuild (foreign keys off) on a database holding user data."""
    assert "foreign_keys_off" in next(m for m in FROZEN.MIGRATIONS if m["version"] == 42)["flags"]
    cortexdb.migrate(tmp_path, frozen=_upto(41))
    conn = sqlite3.connect(tmp_path / "cortex.db")
    rules_before = conn.execute("SELECT * FROM policy_rules ORDER BY id").fetchall()
    node_policies = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'node_policies'").fetchone()
    assert rules_before and node_policies
    conn.close()

    cortexdb.migrate(tmp_path)

    conn = sqlite3.connect(tmp_path / "cortex.db")
    try:
        ids = {row[0] for row in conn.execute("SELECT id FROM policy_rules")}
        assert {row[0] for row in rules_before} <= ids
        assert "default:deny-rm-root" in ids  # 042's new deny rules
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    finally:
        conn.close()
    assert live_schema(tmp_path / "cortex.db") == tuple(FROZEN.DATABASES["cortex"]["schema"])


PARENT_CHILD = """
CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY, keep INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id));
"""
# Fine on the generator's empty proof database; on real data it drops referenced parents.
LOSSY_REBUILD = """
PRAGMA foreign_keys=OFF;
CREATE TABLE IF NOT EXISTS parent_new (id INTEGER PRIMARY KEY, keep INTEGER NOT NULL, note TEXT);
INSERT OR IGNORE INTO parent_new (id, keep) SELECT id, keep FROM parent WHERE keep = 1;
DROP TABLE IF EXISTS parent;
ALTER TABLE parent_new RENAME TO parent;
PRAGMA foreign_keys=ON;
"""


def test_rebuild_that_breaks_foreign_keys_rolls_back(tmp_path: Path) -> None:
    v1 = synthetic_frozen([(1, "main", PARENT_CHILD)])
    v2 = synthetic_frozen([(1, "main", PARENT_CHILD), (2, "main", LOSSY_REBUILD)])
    assert v2.MIGRATIONS[1]["flags"] == ("foreign_keys_off",)
    cortexdb.migrate(tmp_path, frozen=v1)
    conn = sqlite3.connect(tmp_path / "main.db")
    conn.executescript("INSERT INTO parent VALUES (1, 1), (2, 0); INSERT INTO child VALUES (10, 1), (20, 2);")
    conn.close()
    rows_before = ledger_rows(tmp_path / "main.db")
    version_before = user_version(tmp_path / "main.db")
    frozen_file = write_frozen(v2, tmp_path / "frozen_v2.py")

    proc = run_cli("migrate", "--data-dir", str(tmp_path), "--no-backup", frozen_file=frozen_file)

    assert proc.returncode == 1
    message = proc.stderr.strip()
    assert "\n" not in message
    assert str(tmp_path / "main.db") in message
    assert "migration 002 (002_m2.sql)" in message and "foreign keys" in message
    assert "table child references parent" in message
    assert ledger_rows(tmp_path / "main.db") == rows_before
    assert user_version(tmp_path / "main.db") == version_before
    assert live_schema(tmp_path / "main.db") == tuple(v1.DATABASES["main"]["schema"])
    conn = sqlite3.connect(tmp_path / "main.db")
    assert conn.execute("SELECT * FROM parent ORDER BY id").fetchall() == [(1, 1), (2, 0)]
    conn.close()


def test_failing_statement_rolls_back_the_whole_migration(tmp_path: Path) -> None:
    first = (1, "main", "CREATE TABLE IF NOT EXISTS a (x UNIQUE);")
    # Passes the proof on an empty database; fails here on a row the application wrote.
    second = (2, "main", "CREATE TABLE IF NOT EXISTS b (y);\nINSERT INTO a VALUES (1);\n")
    v1, v2 = synthetic_frozen([first]), synthetic_frozen([first, second])
    cortexdb.migrate(tmp_path, frozen=v1)
    conn = sqlite3.connect(tmp_path / "main.db")
    conn.execute("INSERT INTO a VALUES (1)")
    conn.commit()
    conn.close()
    with pytest.raises(cortexdb.MigrationFailedError) as caught:
        cortexdb.migrate(tmp_path, frozen=v2)
    assert "migration 002 (002_m2.sql) failed at 002_m2.sql:2" in str(caught.value)
    assert "UNIQUE" in str(caught.value) and str(tmp_path / "main.db") in str(caught.value)
    assert [row[0] for row in ledger_rows(tmp_path / "main.db")] == [1]
    assert live_schema(tmp_path / "main.db") == tuple(v1.DATABASES["main"]["schema"])  # no table b


def _upto(version: int) -> object:
    from runtime_support import derived

    return derived(FROZEN, upto=version)


def test_migration_that_ends_its_own_transaction_is_not_recorded(tmp_path: Path) -> None:
    """The generator refuses COMMIT in a migration (MG008); the runtime still never records one."""
    frozen = synthetic_frozen([(1, "main", "CREATE TABLE IF NOT EXISTS a (x);")])
    frozen.MIGRATIONS[0]["steps"] += (("sql", 2, "COMMIT;"),)
    with pytest.raises(cortexdb.MigrationFailedError, match="ended its own transaction"):
        cortexdb.migrate(tmp_path, frozen=frozen)
    assert ledger_rows(tmp_path / "main.db") == []
