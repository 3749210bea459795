"""Healing on adoption through the real CLI: `cortex db migrate` in a child process.

Each data dir is written by the test emulator of the original runner (tests/legacy.py) with a
crash inside a multi-statement migration of the shipped set (several different ones, one of
them a migration a later one rebuilds), then, mostly, its next start. Before healing existed,
`migrate` adopted such a dir and `verify` reported drift (or `migrate` failed on every start);
now `migrate` heals it, `verify` exits 0, and SQLite is asked for every row.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import pytest
from legacy import Crash, build_crashed_data_dir, databases_of, legacy_statements, migrations_of
from runtime_support import LEDGER, ROOT, child_env, live_schema, real_frozen, run_cli

FROZEN = real_frozen()
LEGACY = migrations_of(FROZEN, ROOT / "migrations")
DATABASES = databases_of(FROZEN)


def _ids(path: Path, table: str, key: str = "id") -> set[object]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute(f"SELECT {key} FROM {table}")}
    finally:
        conn.close()


def _row_counts(data: Path) -> dict[tuple[str, str], int]:
    """Rows per (database, table) of every shared database, as SQLite counts them."""
    counts = {}
    for name, file in DATABASES.items():
        path = data / file
        if "{session_id}" in file or not path.exists():
            continue
        conn = sqlite3.connect(path)
        try:
            tables = [str(r[0]) for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' "
                "AND sql NOT LIKE 'CREATE VIRTUAL%'")]
            for table in tables:
                counts[(name, table)] = int(conn.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
        finally:
            conn.close()
    return counts


def _ledger(path: Path) -> list[int]:
    conn = sqlite3.connect(path)
    try:
        return [int(row[0]) for row in conn.execute(f"SELECT version FROM {LEDGER} ORDER BY version")]
    finally:
        conn.close()


def _migrate_and_verify(data: Path) -> subprocess.CompletedProcess[str]:
    migrate = run_cli("migrate", "--data-dir", str(data))
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    assert "healed on adoption" in migrate.stderr
    healed_rows = [line for line in migrate.stdout.splitlines() if " healed on adoption (" in line]
    assert healed_rows, migrate.stdout  # the result says it, not only the log
    verify = run_cli("verify", "--data-dir", str(data))
    assert verify.returncode == 0, verify.stdout + verify.stderr
    assert list((data / "backups").iterdir()), "healing changes a database only after its backup"
    again = run_cli("migrate", "--data-dir", str(data))
    assert again.returncode == 0 and "healed" not in again.stderr, again.stderr
    return migrate


def _kept(before: Mapping[tuple[str, str], int], after: Mapping[tuple[str, str], int],
          renamed: Mapping[tuple[str, str], tuple[str, str]] | None = None) -> None:
    """No table lost a row (migrations only add seed rows); a table the heal renamed into holds
    at least the rows of the copy it came from."""
    for key, count in before.items():
        target = (renamed or {}).get(key, key)
        if target in after:
            assert after[target] >= count, (key, count, after[target])


def _policy_rows(conns: Mapping[str, sqlite3.Connection]) -> None:
    conn = conns["cortex"]
    conn.execute("INSERT INTO nodes (id, hostname, address) VALUES ('n1', 'one', '10.0.0.1')")
    for i in range(3):
        conn.execute("INSERT INTO policy_rules (id, name, action, scope) VALUES (?, ?, 'ask', 'node')",
                     (f"user:{i}", f"rule {i}"))
        conn.execute("INSERT INTO node_policies (node_id, rule_id) VALUES ('n1', ?)", (f"user:{i}",))


def _entities(conns: Mapping[str, sqlite3.Connection]) -> None:
    conns["memory"].execute("INSERT INTO graph_entities (id, name) VALUES (1, 'a'), (2, 'b'), (3, 'c')")


def test_a_recorded_migration_missing_columns_is_completed_by_migrate(tmp_path: Path) -> None:
    """037 crashed after its first ADD COLUMN; the next start recorded it and ran the rest on top.
    Without healing `migrate` said "up to date" and `verify` reported drift."""
    data = tmp_path / "data"
    assert build_crashed_data_dir(data, DATABASES, LEGACY, Crash(37, 1), seed=_entities) == [None]
    path = data / DATABASES["memory"]
    ledger = _ledger(path)
    before = _row_counts(data)

    migrate = _migrate_and_verify(data)

    assert "completed migration 037" in migrate.stderr
    assert _ledger(path) == ledger  # nothing was pending: the ledger already claimed it all
    assert _ids(path, "graph_entities") == {1, 2, 3}
    _kept(before, _row_counts(data))


def test_migrate_json_says_what_healing_completed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_crashed_data_dir(data, DATABASES, LEGACY, Crash(37, 1), seed=_entities)
    migrate = run_cli("migrate", "--data-dir", str(data), "--format", "json")
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    healed = {d["name"]: d["healed"] for d in json.loads(migrate.stdout)["databases"]}
    assert healed["memory"] is not None and "completed migration 037" in healed["memory"]
    assert {name for name, what in healed.items() if what} == {"memory"}


def test_a_rebuild_crashed_after_its_drop_is_finished_by_migrate(tmp_path: Path) -> None:
    """042 crashed after `DROP TABLE policy_rules`: the rows live only in policy_rules_new and
    the original (and cortexdb, before healing) failed on every start."""
    data = tmp_path / "data"
    statements = legacy_statements(next(m for m in LEGACY if m.version == 42).text)
    after = next(i for i, s in enumerate(statements, 1) if s.splitlines()[-1].upper().startswith("DROP TABLE"))
    outcomes = build_crashed_data_dir(data, DATABASES, LEGACY, Crash(42, after), seed=_policy_rows)
    assert outcomes[0] is not None and "no such table" in outcomes[0]
    path = data / DATABASES["cortex"]
    copied = _ids(path, "policy_rules_new")
    before = _row_counts(data)

    migrate = _migrate_and_verify(data)

    assert "finished migration 042" in migrate.stderr
    assert 42 in _ledger(path)
    assert copied <= _ids(path, "policy_rules") and {f"user:{i}" for i in range(3)} <= copied
    assert _ids(path, "node_policies", "rule_id") == {f"user:{i}" for i in range(3)}
    _kept(before, _row_counts(data), {("cortex", "policy_rules_new"): ("cortex", "policy_rules")})


@pytest.mark.parametrize("after", [2, 3])
def test_a_rebuild_crashed_around_its_copy_keeps_the_old_rows(tmp_path: Path, after: int) -> None:
    """Left as the crash left it (no restart): after CREATE TABLE policy_rules_new, or after the copy."""
    data = tmp_path / "data"
    build_crashed_data_dir(data, DATABASES, LEGACY, Crash(42, after), restarts=0, seed=_policy_rows)
    path = data / DATABASES["cortex"]
    old = _ids(path, "policy_rules")
    before = _row_counts(data)

    _migrate_and_verify(data)

    assert old <= _ids(path, "policy_rules")
    _kept(before, _row_counts(data))


def test_a_migration_a_later_rebuild_copies_from_is_completed_first(tmp_path: Path) -> None:
    """022 (policy_rules.enabled, disabled_reason) crashed after its first column and recorded;
    042's rebuild, which copies disabled_reason, then failed on every start."""
    data = tmp_path / "data"
    outcomes = build_crashed_data_dir(data, DATABASES, LEGACY, Crash(22, 1), seed=_policy_rows)
    assert outcomes[0] is not None and outcomes[0].startswith("42:")
    path = data / DATABASES["cortex"]
    old = _ids(path, "policy_rules")
    before = _row_counts(data)

    migrate = _migrate_and_verify(data)

    assert "completed migration 022" in migrate.stderr and "finished migration 042" in migrate.stderr
    assert old <= _ids(path, "policy_rules")
    assert _ids(path, "node_policies", "rule_id") == {f"user:{i}" for i in range(3)}
    _kept(before, _row_counts(data))


def test_an_object_with_another_definition_is_refused_naming_it_and_repair(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_crashed_data_dir(data, DATABASES, LEGACY, Crash(37, 1))
    path = data / DATABASES["memory"]
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX idx_episodic_session")
    conn.execute("CREATE INDEX idx_episodic_session ON episodic_memories(session_id)")
    conn.commit()
    conn.close()
    schema, ledger = live_schema(path), _ledger(path)

    migrate = run_cli("migrate", "--data-dir", str(data))

    assert migrate.returncode == 1, migrate.stdout + migrate.stderr
    lines = [line for line in migrate.stderr.splitlines() if "idx_episodic_session" in line]
    assert len(lines) == 1 and "cortex db repair" in lines[0] and "Traceback" not in migrate.stderr
    assert (live_schema(path), _ledger(path)) == (schema, ledger)  # rolled back: nothing changed


def test_the_up_to_date_check_never_loads_the_heal(tmp_path: Path) -> None:
    """Healing costs the adoption only: an up-to-date data dir is checked without importing the
    heal or the frozen module that holds its data."""
    data = tmp_path / "data"
    build_crashed_data_dir(data, DATABASES, LEGACY, Crash(37, 1))
    assert run_cli("migrate", "--data-dir", str(data)).returncode == 0
    code = ("import sys, cortexdb; r = cortexdb.migrate(sys.argv[1]); "
            "print(sorted(m for m in sys.modules if m.startswith('cortexdb.')))")
    child = subprocess.run([sys.executable, "-c", code, str(data)], capture_output=True, text=True,
                           env=child_env(), timeout=60, check=True)
    assert "cortexdb._heal" not in child.stdout and "cortexdb._frozen'" not in child.stdout, child.stdout
