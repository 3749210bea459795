"""repair on real files: drift made the ways it arises (by hand, by another tool), repaired to the
proven schema with every row kept, the rows that stand in the way named, the ledger realigned."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest
from legacy import build_legacy_data_dir, migrations_of
from runtime_support import LEDGER, ROOT, derived, ledger_rows, live_schema, real_frozen, run_cli, user_version

import cortexdb
from cortexdb._catalog import load_catalog

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
VAULT = CATALOG.databases["vault"]
ENTRY = "INSERT INTO vault_entries (id, name, ciphertext, nonce) VALUES (?, ?, randomblob(16), randomblob(12))"


def _run(path: Path, *statements: str, params: tuple[object, ...] = ()) -> None:
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        for statement in statements:
            conn.execute(statement, params if "?" in statement else ())


def _loosened(path: Path) -> None:
    """vault_entries rebuilt by hand without `name`'s NOT NULL and one index dropped, as a careless
    manual fix would leave it."""
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        sql = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'vault_entries'").fetchone()[0]
        loose = sql.replace("name        TEXT NOT NULL", "name        TEXT")
        assert loose != sql
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA legacy_alter_table = ON")
        for statement in ("BEGIN", "ALTER TABLE vault_entries RENAME TO old", loose,
                          "INSERT INTO vault_entries SELECT * FROM old", "DROP TABLE old",
                          "DROP INDEX IF EXISTS idx_access_log_actor", "COMMIT"):
            conn.execute(statement)


def _run_rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql).fetchall()


def _rows(path: Path) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT rowid, * FROM vault_entries ORDER BY rowid").fetchall()


def test_repair_rebuilds_to_the_proven_schema_keeping_every_row(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, databases=["vault"])
    path = tmp_path / "vault.db"
    for number in range(3):
        _run(path, ENTRY, params=(f"id{number}", f"name{number}"))
    rows = _rows(path)
    _loosened(path)
    _run(path, "CREATE INDEX mine ON vault_entries(created_at)")  # the operator's own index
    assert not cortexdb.verify(tmp_path, databases=["vault"]).ok
    before = path.read_bytes()

    planned = run_cli("repair", "--dry-run", "--data-dir", str(tmp_path))
    assert planned.returncode == 0, planned.stderr
    assert 'DROP TABLE "vault_entries";' in planned.stdout and "CREATE INDEX mine" in planned.stdout
    assert path.read_bytes() == before

    done = run_cli("repair", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "backup: " in done.stdout
    # Proven again, but for the operator's own index: repair removes nothing (verify still names it).
    assert cortexdb.verify(tmp_path, databases=["vault"]).databases[0].problems == ("extra index mine",)
    assert _rows(path) == rows
    assert ("index", "mine") in {(row[0], row[1]) for row in live_schema(path)}
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    saved = cortexdb.backups(tmp_path)[0]
    assert Path(saved.path, "vault.db").read_bytes() != b"" and saved.files == ("vault.db",)
    # Nothing left to do: a second repair changes nothing.
    again = cortexdb.repair(tmp_path, databases=["vault"])
    assert again[0].statements == [] and not again[0].repaired


def test_repair_refuses_naming_the_rows_that_break_the_proven_table(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, databases=["vault"])
    path = tmp_path / "vault.db"
    _run(path, ENTRY, params=("ok", "fine"))
    _loosened(path)
    _run(path, ENTRY, params=("bad", None))
    [rowid] = [row[0] for row in _rows(path) if row[1] == "bad"]
    before = path.read_bytes()
    done = run_cli("repair", "--data-dir", str(tmp_path))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert f"rowid {rowid} (NOT NULL constraint failed: vault_entries.name)" in line
    assert path.read_bytes() == before


def test_repair_realigns_the_ledger_of_a_migration_changed_after_unlock(tmp_path: Path) -> None:
    last = VAULT.migrations[-1]
    edited = derived(FROZEN, change={last.version: {"checksum": "c2:" + "0" * 64}})
    cortexdb.migrate(tmp_path, databases=["vault"], frozen=edited)  # the ledger holds the old checksum
    path = tmp_path / "vault.db"
    with pytest.raises(cortexdb.ChangedMigrationError):
        cortexdb.migrate(tmp_path, databases=["vault"])
    [result] = cortexdb.repair(tmp_path, databases=["vault"])
    assert result.realigned == [last.version] and result.repaired
    assert [row[2] for row in ledger_rows(path)] == [m.checksum for m in VAULT.migrations]
    assert cortexdb.migrate(tmp_path, databases=["vault"]).up_to_date  # the fingerprint too
    assert user_version(path) == VAULT.fingerprint


def test_repair_does_not_realign_a_ledger_whose_schema_is_not_the_proven_one(tmp_path: Path) -> None:
    last = VAULT.migrations[-1]
    edited = derived(FROZEN, change={last.version: {"checksum": "c2:" + "0" * 64}})
    cortexdb.migrate(tmp_path, databases=["vault"], frozen=edited)
    path = tmp_path / "vault.db"
    _run(path, "DROP INDEX idx_access_log_actor")
    before = ledger_rows(path)
    with pytest.raises(cortexdb.OperationRefusedError, match="realigned only for a schema that already is"):
        cortexdb.repair(tmp_path, databases=["vault"])
    assert ledger_rows(path) == before


def test_repair_completes_what_the_original_runner_left_half_applied_then_migrate_finishes(tmp_path: Path) -> None:
    """CortexPrism's runner crashed after the first ADD COLUMN of 008 and, on its next start,
    recorded 008 as applied (it swallowed "duplicate column"): the ledger claims more than the
    schema has, and later migrations are pending. repair makes the schema the one the recorded
    migrations prove, keeping the rows; migrate then applies the rest."""
    memory = CATALOG.databases["memory"]
    first, half = memory.migrations[0], memory.migrations[1]
    path = tmp_path / "memory.db"
    legacy = [m for m in migrations_of(FROZEN, ROOT / "migrations") if m.version == first.version]
    build_legacy_data_dir(tmp_path, {"memory": "memory.db"}, legacy)
    _run(path, "INSERT INTO episodic_memories (content) VALUES ('remember me')")
    _run(path, str(half.steps[0][2]))  # the one statement that ran before the crash
    _run(path, f"INSERT INTO {LEDGER} (version, description, checksum) VALUES (?, ?, ?)",
         params=(half.version, half.description, half.legacy_checksum))
    rows = _run_rows(path, "SELECT id, content FROM episodic_memories")

    [result] = cortexdb.repair(tmp_path, databases=["memory"])
    assert result.repaired and "DROP TABLE \"episodic_memories\"" in result.statements
    cortexdb.migrate(tmp_path, databases=["memory"])
    report = cortexdb.verify(tmp_path, databases=["memory"])
    assert report.ok, report.databases[0].problems
    assert _run_rows(path, "SELECT id, content FROM episodic_memories") == rows


def test_repair_refuses_a_newer_database_and_leaves_a_missing_one_alone(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, databases=["vault"])
    _run(tmp_path / "vault.db", f"INSERT INTO {LEDGER} (version, description, checksum) VALUES (9999, 'x', 'c2:f')")
    done = run_cli("repair", "--database", "vault", "--data-dir", str(tmp_path))
    assert done.returncode == 1 and "newer than the code" in done.stderr
    missing = run_cli("repair", "--database", "lens", "--data-dir", str(tmp_path))
    assert missing.returncode == 0 and "nothing to repair" in missing.stdout
    assert not (tmp_path / "lens.db").exists()


def test_repair_replaces_a_view_of_another_definition_and_refuses_a_virtual_table(tmp_path: Path) -> None:
    memory = CATALOG.databases["memory"]
    [view] = [row for row in memory.schema if row[0] == "view"][:1]
    [virtual] = [row for row in memory.schema if row[0] == "table" and "VIRTUAL" in (row[3] or "").upper()][:1]
    cortexdb.migrate(tmp_path, databases=["memory"])
    path = tmp_path / "memory.db"
    _run(path, f"DROP VIEW {view[1]}", f"CREATE VIEW {view[1]} AS SELECT 1 AS other")
    assert ("view", view[1]) in cortexdb.verify(tmp_path, databases=["memory"]).databases[0].different
    [result] = cortexdb.repair(tmp_path, databases=["memory"])
    assert result.statements == [f'DROP VIEW IF EXISTS "{view[1]}"', view[3]]
    assert cortexdb.verify(tmp_path, databases=["memory"]).ok

    assert virtual[3] is not None
    other = virtual[3].replace("(", "(extra_column, ", 1)
    _run(path, f"DROP TABLE {virtual[1]}", other)
    before = path.read_bytes()
    done = run_cli("repair", "--database", "memory", "--data-dir", str(tmp_path))
    assert done.returncode == 1 and f"virtual table {virtual[1]} differs" in done.stderr
    assert path.read_bytes() == before
