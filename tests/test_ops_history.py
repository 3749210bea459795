"""history, `--check`, `migrate --format json` and `migrate --dry-run --sql`, on real files and the real CLI."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from legacy import build_legacy_data_dir, databases_of, migrations_of
from runtime_support import (
    LEDGER,
    ROOT,
    derived,
    live_schema,
    real_frozen,
    run_cli,
    user_version,
    write_frozen,
)

import cortexdb
from cortexdb._catalog import load_catalog

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
VAULT = [m.version for m in CATALOG.databases["vault"].migrations]


def test_history_lists_each_ledger_row_with_its_checksum_kind_then_what_is_pending(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, databases=["vault"], frozen=derived(FROZEN, upto=VAULT[0]))
    with sqlite3.connect(tmp_path / "vault.db") as conn:  # as CortexPrism recorded it: its own checksum
        conn.execute(f"UPDATE {LEDGER} SET checksum = ? WHERE version = ?",
                     (CATALOG.databases["vault"].migrations[0].legacy_checksum, VAULT[0]))
        conn.execute(f"INSERT INTO {LEDGER} (version, description, checksum) VALUES (9999, 'later', 'c2:ff')")
    [history] = cortexdb.history(tmp_path, databases=["vault"])
    kinds = [(entry.version, entry.kind, entry.pending) for entry in history.entries]
    assert kinds == [(VAULT[0], "legacy", False), (9999, "unknown", False), (VAULT[1], "pending", True)]
    with sqlite3.connect(tmp_path / "vault.db") as conn:
        recorded = conn.execute(f"SELECT applied_at, description FROM {LEDGER} WHERE version = ?",
                                (VAULT[0],)).fetchone()
    assert (history.entries[0].applied_at, history.entries[0].description) == recorded
    assert history.entries[0].file == CATALOG.databases["vault"].migrations[0].file

    done = run_cli("history", "--data-dir", str(tmp_path), "--database", "vault", "--format", "json")
    assert done.returncode == 0, done.stderr
    [shown] = json.loads(done.stdout)["databases"]
    assert [(m["version"], m["kind"]) for m in shown["migrations"]] == [(v, k) for v, k, _ in kinds]


def test_history_of_a_data_dir_written_by_cortexprism_shows_its_own_checksums(tmp_path: Path) -> None:
    legacy = [m for m in migrations_of(FROZEN, ROOT / "migrations") if m.version <= 20]
    build_legacy_data_dir(tmp_path, databases_of(FROZEN), legacy)
    histories = {h.name: h for h in cortexdb.history(tmp_path)}
    for name, spec in CATALOG.databases.items():
        if spec.session:
            continue
        kinds = [(e.version, e.kind) for e in histories[name].entries]
        assert kinds == [(m.version, "legacy" if m.version <= 20 else "pending") for m in spec.migrations]
    cortexdb.migrate(tmp_path)  # adopted: the rows it adds are this build's own
    kinds = {e.version: e.kind for h in cortexdb.history(tmp_path) for e in h.entries}
    assert {v for v, k in kinds.items() if k == "legacy"} == {m.version for m in legacy if m.database != "session"}
    assert all(kind == "canonical" for version, kind in kinds.items() if version > 20)


def test_history_of_a_changed_migration_and_of_a_missing_database(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, databases=["vault"])
    with sqlite3.connect(tmp_path / "vault.db") as conn:
        conn.execute(f"UPDATE {LEDGER} SET checksum = 'c2:00' WHERE version = ?", (VAULT[1],))
    lens, vault = cortexdb.history(tmp_path, databases=["vault", "lens"])  # in the build's order
    assert [entry.kind for entry in vault.entries] == ["canonical", "changed"]
    assert not lens.exists and all(entry.pending for entry in lens.entries)
    done = run_cli("history", "--data-dir", str(tmp_path), "--database", "lens")
    assert done.returncode == 0 and "missing" in done.stdout and "pending" in done.stdout


def test_check_exits_3_when_anything_is_pending_and_changes_nothing(tmp_path: Path) -> None:
    frozen_file = write_frozen(FROZEN, tmp_path / "frozen.py")
    data = tmp_path / "data"
    cortexdb.migrate(data, frozen=derived(FROZEN, upto=VAULT[0]))
    before = {path.name: path.read_bytes() for path in data.glob("*.db")}
    for command in ("status", "migrate"):
        done = run_cli(command, "--check", "--data-dir", str(data), frozen_file=frozen_file)
        assert done.returncode == 3, (command, done.stdout, done.stderr)
    done = run_cli("migrate", "--check", "--format", "json", "--data-dir", str(data), frozen_file=frozen_file)
    assert done.returncode == 3 and json.loads(done.stdout)["dry_run"] is True
    assert {path.name: path.read_bytes() for path in data.glob("*.db")} == before
    cortexdb.migrate(data, frozen=FROZEN)
    for command in ("status", "migrate"):
        done = run_cli(command, "--check", "--data-dir", str(data), frozen_file=frozen_file)
        assert done.returncode == 0, (command, done.stdout, done.stderr)


def test_migrate_format_json_is_one_document_of_what_was_applied(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, databases=["vault"], frozen=derived(FROZEN, upto=VAULT[0]))
    done = run_cli("migrate", "--data-dir", str(tmp_path), "--database", "vault", "--database", "lens",
                   "--format", "json")
    assert done.returncode == 0, done.stderr
    document = json.loads(done.stdout)
    by_name = {database["name"]: database for database in document["databases"]}
    assert by_name["vault"]["applied"] == VAULT[1:] and by_name["vault"]["state"] == "migrated"
    assert by_name["vault"]["backed_up"] and document["backup_dir"]
    assert by_name["lens"]["applied"] == [m.version for m in CATALOG.databases["lens"].migrations]
    assert document["applied"] == len(VAULT[1:]) + len(by_name["lens"]["applied"])


def test_dry_run_sql_is_what_migrate_runs_sqlite_judging(tmp_path: Path) -> None:
    """The printed statements, run by SQLite itself on a copy, leave the schema, ledger versions and
    fingerprint that `migrate` leaves."""
    for name in ("cortex", "memory", "vault"):
        start = derived(FROZEN, without=[m.version for m in CATALOG.databases[name].migrations[3:]])
        cortexdb.migrate(tmp_path / "a", databases=[name], frozen=start)
        cortexdb.migrate(tmp_path / "b", databases=[name], frozen=start)
    planned = cortexdb.pending_sql(tmp_path / "a", databases=["cortex", "memory", "vault", "lens"])
    for database, migrations in planned:
        assert [label for label, _ in migrations] == [
            m.label for m in CATALOG.databases[database.name].migrations if m.version in database.pending]
        path = tmp_path / "a" / CATALOG.databases[database.name].file
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            for _, statements in migrations:
                for statement in statements:
                    conn.execute(statement)
        finally:
            conn.close()
    cortexdb.migrate(tmp_path / "b", databases=["cortex", "memory", "vault", "lens"])
    for name in ("cortex", "memory", "vault", "lens"):
        a, b = (tmp_path / side / CATALOG.databases[name].file for side in "ab")
        assert live_schema(a) == live_schema(b) and user_version(a) == user_version(b)
        assert cortexdb.verify(tmp_path / "a", databases=[name]).ok

    done = run_cli("migrate", "--dry-run", "--sql", "--data-dir", str(tmp_path / "c"), "--database", "memory")
    assert done.returncode == 0, done.stderr
    assert "-- only when" in done.stdout and done.stdout.count("BEGIN IMMEDIATE;") == len(
        CATALOG.databases["memory"].migrations)
    assert not (tmp_path / "c" / "memory.db").exists()


def test_bad_usage_of_the_new_options_is_exit_2(tmp_path: Path) -> None:
    cases = [
        ["migrate", "--sql"], ["verify", "--check"], ["status", "--version", "3"], ["baseline"],
        ["baseline", "--version", "x"], ["baseline", "--version", "\u00b2"], ["baseline", "--version", "0"],
        ["baseline", "--version", "4", "--database", "vault", "--database", "lens"],
        ["history", "--dry-run"], ["status", "extra"],
    ]
    for args in cases:
        done = run_cli(*args, "--data-dir", str(tmp_path))
        assert done.returncode == 2, (args, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 2 and "Traceback" not in done.stderr
