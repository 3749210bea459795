"""Healing data dirs the original runner left half-migrated: the heal core on real files.

Each data dir is written by the test emulator of the original runner (tests/legacy.py) with a
crash inside a multi-statement migration of the shipped set, then its next start; the heal
core runs on the real file in a write transaction, and SQLite judges: the live schema must be
the one the build proves for the ledger, every row kept. The real `cortex db migrate` then
applies the rest and `verify` finds no drift.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from pathlib import Path

import pytest
from legacy import Crash, build_crashed_data_dir, databases_of, legacy_statements, migrations_of
from runtime_support import LEDGER, ROOT, live_schema, prefix_schema, real_frozen, run_cli

from cortexdb._catalog import load_catalog
from cortexdb._heal import Healed, heal, of_catalog
from cortexdb._heal_checks import HealRefusal
from generator.healdata import heal_data

FROZEN = real_frozen()
LEGACY = migrations_of(FROZEN, ROOT / "migrations")
DATABASES = databases_of(FROZEN)
HEAL = getattr(FROZEN, "HEAL", None) or heal_data(FROZEN.LEDGER, FROZEN.MIGRATIONS)


def _entries(database: str) -> list[Mapping[str, object]]:
    return [e for e in FROZEN.MIGRATIONS if e["database"] == database]


def _ledger(conn: sqlite3.Connection) -> list[int]:
    return [int(row[0]) for row in conn.execute(f"SELECT version FROM {LEDGER} ORDER BY version")]


def heal_file(path: Path, database: str) -> Healed:
    """What the apply loop does at adoption: foreign keys off, one write transaction, the
    heal, the finished migration's ledger row, commit."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        migrations = of_catalog(load_catalog(FROZEN).databases[database].migrations, HEAL)
        assert migrations is not None
        applied = _ledger(conn)
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("BEGIN IMMEDIATE")
        try:
            healed = heal(conn, LEDGER, migrations, applied, (sqlite3.Error,))
            if healed.resumed:
                entry = next(e for e in _entries(database) if e["version"] == healed.resumed[0])
                conn.execute(f"INSERT INTO {LEDGER} (version, description, checksum) VALUES (?, ?, ?)",
                             (entry["version"], entry["description"], entry["checksum"]))
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return healed
    finally:
        conn.close()


def _rows(path: Path, table: str) -> set[tuple[tuple[str, object], ...]]:
    """Each row as (column, value) pairs: a rebuild may order the columns differently."""
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    try:
        return {tuple(sorted(dict(row).items())) for row in conn.execute(f"SELECT * FROM {table}")}
    finally:
        conn.close()


def _proven_for_ledger(path: Path, database: str) -> tuple[tuple[object, ...], ...]:
    conn = sqlite3.connect(path)
    try:
        count = len(_ledger(conn))
    finally:
        conn.close()
    return prefix_schema(FROZEN, database, count)


def _policy_rows(conns: Mapping[str, sqlite3.Connection]) -> None:
    """User rules and node policies referring to them (042's rebuild must keep both)."""
    conn = conns["cortex"]
    conn.execute("INSERT INTO nodes (id, hostname, address) VALUES ('n1', 'one', '10.0.0.1')")
    for i in range(3):
        conn.execute("INSERT INTO policy_rules (id, name, action, scope) VALUES (?, ?, 'ask', 'node')",
                     (f"user:{i}", f"rule {i}"))
        conn.execute("INSERT INTO node_policies (node_id, rule_id) VALUES ('n1', ?)", (f"user:{i}",))


def test_a_recorded_migration_missing_columns_of_two_tables_is_completed(tmp_path: Path) -> None:
    """037 adds nine columns to graph_entities and graph_relations; crashed after the first,
    the next start said "duplicate column", recorded 037 and ran 038-047 on top."""
    data = tmp_path / "data"

    def seed(conns: Mapping[str, sqlite3.Connection]) -> None:
        conns["memory"].execute("INSERT INTO graph_entities (id, name) VALUES (1, 'a'), "
                                "(2, 'b')")

    assert build_crashed_data_dir(data, DATABASES, LEGACY, Crash(37, 1), seed=seed) == [None]
    path = data / DATABASES["memory"]
    conn = sqlite3.connect(path)
    assert 37 in _ledger(conn) and _ledger(conn)[-1] == 46  # the original recorded it, and the rest
    conn.close()
    assert live_schema(path) != _proven_for_ledger(path, "memory")
    before = {dict(row)["id"] for row in _rows(path, "graph_entities")}

    healed = heal_file(path, "memory")

    assert [version for version, _ in healed.completed] == [37]
    assert healed.completed[0][1] == 1  # from the statement after the one that ran
    assert healed.resumed is None
    assert live_schema(path) == _proven_for_ledger(path, "memory")
    assert {dict(row)["id"] for row in _rows(path, "graph_entities")} == before


def test_a_rebuild_crashed_after_drop_keeps_every_row_in_the_table(tmp_path: Path) -> None:
    """042 crashed after `DROP TABLE policy_rules`: the rows are only in policy_rules_new and
    every start of the original fails on "no such table"; the heal renames, rows kept."""
    data = tmp_path / "data"
    statements = legacy_statements(next(m for m in LEGACY if m.version == 42).text)
    after = next(i for i, s in enumerate(statements, 1) if s.splitlines()[-1].upper().startswith("DROP TABLE"))
    outcomes = build_crashed_data_dir(data, DATABASES, LEGACY, Crash(42, after), seed=_policy_rows)
    assert outcomes[0] is not None and "no such table: policy_rules" in outcomes[0]
    path = data / DATABASES["cortex"]
    copied = _rows(path, "policy_rules_new")
    node_policies = _rows(path, "node_policies")
    assert len(copied) >= 3 + 4  # the user rules and 009's defaults

    healed = heal_file(path, "cortex")

    assert healed.completed == [] and healed.resumed == (42, 3)  # from the rename
    assert live_schema(path) == _proven_for_ledger(path, "cortex")
    kept = _rows(path, "policy_rules")
    assert copied <= kept and len(kept) == len(copied) + 5  # plus 042's five deny rules
    assert _rows(path, "node_policies") == node_policies
    migrate = run_cli("migrate", "--data-dir", str(data))
    assert migrate.returncode == 0, migrate.stderr
    verify = run_cli("verify", "--data-dir", str(data))
    assert verify.returncode == 0, verify.stdout + verify.stderr


@pytest.mark.parametrize("after", [2, 3])
def test_a_rebuild_crashed_before_its_copy_keeps_the_old_rows(tmp_path: Path, after: int) -> None:
    """Crashed after `CREATE TABLE policy_rules_new` (or after the copy too), left as the crash
    left it: the copy runs when the new table is empty, and is not repeated when it is filled."""
    data = tmp_path / "data"
    build_crashed_data_dir(data, DATABASES, LEGACY, Crash(42, after), restarts=0, seed=_policy_rows)
    path = data / DATABASES["cortex"]
    old = _rows(path, "policy_rules")

    healed = heal_file(path, "cortex")

    assert healed.resumed == (42, after - 1)  # the PRAGMA is no step: statement n is step n - 1
    assert live_schema(path) == _proven_for_ledger(path, "cortex")
    assert old <= _rows(path, "policy_rules")


def test_a_migration_a_later_rebuild_depends_on_is_completed_first(tmp_path: Path) -> None:
    """022 adds policy_rules.enabled and disabled_reason; crashed after the first, recorded by
    the next start, whose 042 then failed copying disabled_reason after creating
    policy_rules_new. The heal completes 022, then finishes 042 from its copy."""
    data = tmp_path / "data"
    outcomes = build_crashed_data_dir(data, DATABASES, LEGACY, Crash(22, 1), seed=_policy_rows)
    assert outcomes[0] is not None and outcomes[0].startswith("42:")
    path = data / DATABASES["cortex"]
    old = {dict(row)["id"] for row in _rows(path, "policy_rules")}

    healed = heal_file(path, "cortex")

    assert [version for version, _ in healed.completed] == [22]
    assert healed.resumed == (42, 1)
    assert live_schema(path) == _proven_for_ledger(path, "cortex")
    assert old <= {dict(row)["id"] for row in _rows(path, "policy_rules")}
    assert len(_rows(path, "node_policies")) == 3
    migrate = run_cli("migrate", "--data-dir", str(data))
    assert migrate.returncode == 0, migrate.stderr
    assert run_cli("verify", "--data-dir", str(data)).returncode == 0


def test_an_object_with_another_definition_is_refused_by_name(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_crashed_data_dir(data, DATABASES, LEGACY, Crash(37, 1))
    path = data / DATABASES["memory"]
    conn = sqlite3.connect(path)
    conn.execute("DROP INDEX idx_episodic_session")
    conn.execute("CREATE INDEX idx_episodic_session ON episodic_memories(session_id)")
    conn.commit()
    conn.close()
    before = live_schema(path)

    with pytest.raises(HealRefusal) as refused:
        heal_file(path, "memory")

    assert refused.value.kind == "definition"
    assert "idx_episodic_session" in refused.value.message and "cortex db repair" in refused.value.message
    assert "\n" not in refused.value.message
    assert live_schema(path) == before  # rolled back: nothing changed


def test_a_schema_the_ledger_proves_is_left_alone(tmp_path: Path) -> None:
    data = tmp_path / "data"
    build_crashed_data_dir(data, DATABASES, LEGACY, Crash(37, 0))
    path = data / DATABASES["memory"]
    before = live_schema(path)

    healed = heal_file(path, "memory")

    assert not healed.changed and live_schema(path) == before
