"""The operator commands on a real libSQL server (sqld): history, baseline and repair through the
same backend port as migrate; restore refused with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqld
from runtime_support import LEDGER, expected_ledger, real_frozen, run_cli

import cortexdb
from cortexdb._catalog import load_catalog

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
VAULT = CATALOG.databases["vault"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[sqld.SqldCluster]:
    with sqld.sqld_cluster(tmp_path / "sqld", replicas=0) as started:
        yield started


def test_history_baseline_repair_and_restore_on_a_server(server: sqld.SqldCluster, tmp_path: Path) -> None:
    url = server.primary.url
    urls = {"vault": url}
    args = ["--database", "vault", "--database-url", f"vault={url}", "--data-dir", str(tmp_path)]
    # A server database made without a ledger: baseline records the first migration, exactly so.
    for raw in VAULT.migrations[0].steps:
        sqld.query(url, str(raw[2]))
    done = run_cli("baseline", "--version", str(VAULT.migrations[0].version), *args)
    assert done.returncode == 0, done.stderr
    rows = sqld.query(url, f"SELECT version, description, checksum FROM {LEDGER} ORDER BY version")
    assert rows == expected_ledger(FROZEN, "vault", 1)
    [history] = cortexdb.history(tmp_path, databases=["vault"], urls=urls)
    assert [(e.version, e.kind) for e in history.entries] == [(VAULT.migrations[0].version, "canonical"),
                                                             (VAULT.migrations[1].version, "pending")]
    assert cortexdb.migrate(tmp_path, databases=["vault"], urls=urls).applied == 1
    # Drift on the server: an index dropped; repair (a dry run first) makes it again.
    sqld.query(url, "DROP INDEX idx_access_log_actor")
    planned = cortexdb.repair(tmp_path, databases=["vault"], urls=urls, dry_run=True)
    assert planned[0].statements == [row[3] for row in VAULT.schema if row[1] == "idx_access_log_actor"]
    assert not cortexdb.verify(tmp_path, databases=["vault"], urls=urls).ok
    done = run_cli("repair", *args)
    assert done.returncode == 0, done.stderr
    assert cortexdb.verify(tmp_path, databases=["vault"], urls=urls).ok
    # A table made again by hand on the server without a NOT NULL: rebuilt, its rows kept.
    sqld.query(url, "INSERT INTO vault_entries (id, name, ciphertext, nonce) "
                    "VALUES ('kept', 'n', randomblob(16), randomblob(12))")
    [[sql]] = sqld.query(url, "SELECT sql FROM sqlite_master WHERE name = 'vault_entries'")
    assert isinstance(sql, str)
    for statement in ("ALTER TABLE vault_entries RENAME TO old",
                      sql.replace("name        TEXT NOT NULL", "name        TEXT"),
                      "INSERT INTO vault_entries SELECT * FROM old", "DROP TABLE old"):
        sqld.query(url, statement)
    rows = sqld.query(url, "SELECT * FROM vault_entries")
    assert not cortexdb.verify(tmp_path, databases=["vault"], urls=urls).ok
    # A row the proven table refuses is named, as for a file, and nothing changes.
    sqld.query(url, "INSERT INTO vault_entries (id, name, ciphertext, nonce) "
                    "VALUES ('bad', NULL, randomblob(16), randomblob(12))")
    [[bad]] = sqld.query(url, "SELECT rowid FROM vault_entries WHERE id = 'bad'")
    with pytest.raises(cortexdb.OperationRefusedError, match=f"rowid {bad} \\(NOT NULL constraint failed"):
        cortexdb.repair(tmp_path, databases=["vault"], urls=urls)
    sqld.query(url, "DELETE FROM vault_entries WHERE id = 'bad'")
    [result] = cortexdb.repair(tmp_path, databases=["vault"], urls=urls)
    assert result.repaired and result.backup_dir is None
    report = cortexdb.verify(tmp_path, databases=["vault"], urls=urls)
    assert report.ok, report.databases[0].problems
    assert sqld.query(url, "SELECT * FROM vault_entries") == rows
    # restore: local backups only; one line, exit 2, nothing contacted or changed.
    done = run_cli("restore", "20261207T000000Z", *args)
    assert done.returncode == 2 and "libSQL server" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_server_database_the_original_runner_half_applied_is_refused_then_repaired(
        server: sqld.SqldCluster, tmp_path: Path) -> None:
    """CortexPrism's runner crashed after 045's first ADD COLUMN; its next start said "duplicate
    column" and recorded 045 with the rest never run. On a server, healing only checks (a heal
    would be a round trip per statement inside the write transaction sqld aborts after 5 s):
    migrate refuses in one line naming what is missing and repair, nothing changed; repair
    completes it; then migrate and verify pass."""
    from cortexdb._contract import Step, create_ledger_statement

    url = server.primary.url
    args = ["--database", "vault", "--database-url", f"vault={url}", "--data-dir", str(tmp_path)]
    first, scoping = VAULT.migrations[0], VAULT.migrations[1]
    for raw in first.steps:
        sqld.query(url, Step(raw).sql)
    sqld.query(url, Step(scoping.steps[0]).sql)  # the first ADD COLUMN, then the crash
    sqld.query(url, create_ledger_statement(LEDGER))
    entries = {e["version"]: e for e in FROZEN.MIGRATIONS}
    for migration in (first, scoping):
        entry = entries[migration.version]
        sqld.query(url, f"INSERT INTO {LEDGER} (version, description, checksum) VALUES "
                        f"({migration.version}, '{entry['description']}', '{entry['legacy_checksum']}')")
    ledger = sqld.query(url, f"SELECT * FROM {LEDGER} ORDER BY version")

    refused = run_cli("migrate", *args)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    [line] = refused.stderr.strip().splitlines()
    assert "cannot heal this database: cortexdb heals local files only" in line
    assert "vault_entries.owner_user_id" in line and "run `cortex db repair`" in line
    assert sqld.query(url, f"SELECT * FROM {LEDGER} ORDER BY version") == ledger  # nothing changed
    assert sqld.query(url, "PRAGMA user_version") == [(0,)]

    repaired = run_cli("repair", *args)
    assert repaired.returncode == 0, repaired.stdout + repaired.stderr
    migrated = run_cli("migrate", *args)
    assert migrated.returncode == 0, migrated.stdout + migrated.stderr
    assert cortexdb.verify(tmp_path, databases=["vault"], urls={"vault": url}).ok
