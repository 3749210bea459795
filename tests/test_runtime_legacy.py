"""Adopting data directories written by CortexPrism's original TypeScript migrator."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from legacy import (
    LegacyMigration,
    apply_legacy,
    build_legacy_data_dir,
    databases_of,
    legacy_checksum,
    migrations_of,
    open_legacy,
)
from runtime_support import (
    ROOT,
    applied_by_output,
    derived,
    live_schema,
    real_frozen,
    run_cli,
    shared_databases,
    snapshot,
    versions_of,
    write_frozen,
)

FROZEN = real_frozen()
MIGRATIONS_DIR = ROOT / "migrations"


def _full_ledgers(data: Path) -> dict[str, list[tuple[object, ...]]]:
    result = {}
    for name, file in shared_databases(FROZEN).items():
        conn = sqlite3.connect(data / file)
        result[name] = conn.execute("SELECT * FROM schema_migrations ORDER BY version").fetchall()
        conn.close()
    return result


def test_fixture_checksums_match_the_frozen_legacy_checksums() -> None:
    """The fixture's independent CortexPrism checksum agrees with the generator's, file by file."""
    legacy = migrations_of(FROZEN, MIGRATIONS_DIR)
    assert len(legacy) == len(FROZEN.MIGRATIONS) == 47
    for migration, entry in zip(legacy, FROZEN.MIGRATIONS, strict=True):
        assert legacy_checksum(migration.text) == entry["legacy_checksum"], entry["file"]
    # Known values of the algorithm (Java's String.hashCode, printed as hex of abs).
    assert legacy_checksum("") == "0"
    assert legacy_checksum("a") == "61"
    assert legacy_checksum("a\r\nb") == legacy_checksum("a\nb") == legacy_checksum("a\rb")
    assert legacy_checksum("polygenelubricants") == "80000000"  # hashCode() == -2**31


def test_legacy_data_dir_is_adopted_without_reapplying(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_legacy_data_dir(data, databases_of(FROZEN), migrations_of(FROZEN, MIGRATIONS_DIR),
                          session_ids=["alpha", "beta"])
    ledgers = _full_ledgers(data)

    proc = run_cli("migrate", "--data-dir", str(data))

    assert proc.returncode == 0, proc.stderr
    assert applied_by_output(proc.stdout) == {}  # nothing re-applied
    assert "ledger verified" in proc.stdout
    assert _full_ledgers(data) == ledgers  # rows untouched: legacy checksums, applied_at
    for name, file in shared_databases(FROZEN).items():
        assert live_schema(data / file) == tuple(FROZEN.DATABASES[name]["schema"])

    status = run_cli("status", "--data-dir", str(data), "--format", "json")
    assert status.returncode == 0, status.stderr
    rows = json.loads(status.stdout)["databases"]
    assert len(rows) == 7  # five shared databases and two sessions
    for row in rows:
        assert row["up_to_date"] and row["applied"] == row["legacy"] == versions_of(FROZEN, row["name"])
        assert row["pending"] == row["changed"] == row["unknown"] == []

    verify = run_cli("verify", "--data-dir", str(data))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert verify.stdout.strip().endswith("no drift")

    before = snapshot(data)  # adoption wrote the fingerprints: the next start is the fast path
    again = run_cli("migrate", "--data-dir", str(data))
    assert again.returncode == 0 and again.stdout.strip().endswith("up to date")
    assert snapshot(data) == before


def test_later_migrations_apply_on_top_of_a_legacy_data_dir(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_legacy_data_dir(data, databases_of(FROZEN), migrations_of(FROZEN, MIGRATIONS_DIR, upto=40),
                          session_ids=["alpha"])
    old = _full_ledgers(data)

    proc = run_cli("migrate", "--data-dir", str(data))

    assert proc.returncode == 0, proc.stderr
    applied = applied_by_output(proc.stdout)
    for name in shared_databases(FROZEN):
        later = [v for v in versions_of(FROZEN, name) if v > 40]
        assert applied.get(name, []) == later, name
        new = _full_ledgers(data)[name]
        assert new[: len(old[name])] == old[name]  # the legacy rows are kept as they were
        assert [row[0] for row in new] == versions_of(FROZEN, name)
    assert run_cli("verify", "--data-dir", str(data)).returncode == 0


def test_half_applied_legacy_migration_is_reported_by_verify(tmp_path: Path) -> None:
    """The original's bug: a crash inside 007, then "duplicate column" swallowed and recorded."""
    data = tmp_path / "data"
    build_legacy_data_dir(data, databases_of(FROZEN), migrations_of(FROZEN, MIGRATIONS_DIR, upto=6))
    m007 = migrations_of(FROZEN, MIGRATIONS_DIR, upto=7)[-1]
    conn = open_legacy(data / "cortex.db")
    conn.execute("ALTER TABLE jobs ADD COLUMN schedule_kind TEXT NOT NULL DEFAULT 'once' "
                 "CHECK (schedule_kind IN ('once', 'interval', 'cron'))")  # the crashed first run
    apply_legacy(conn, LegacyMigration(m007.version, m007.database, m007.description, m007.text))
    conn.close()
    frozen_file = write_frozen(derived(FROZEN, upto=7), tmp_path / "frozen_007.py")

    adopted = run_cli("migrate", "--data-dir", str(data), frozen_file=frozen_file)
    verify = run_cli("verify", "--data-dir", str(data), frozen_file=frozen_file)

    assert adopted.returncode == 0, adopted.stderr  # the ledger says applied and matches
    assert verify.returncode == 1
    assert "missing table job_history" in verify.stdout
    assert "table jobs differs from the proven schema" in verify.stdout
    assert verify.stdout.strip().endswith("drift in 1 database(s)")
