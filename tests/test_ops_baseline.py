"""baseline --version N on real files: SQLite judges "the schema after N" (the build's steps on :memory:)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import LEDGER, ROOT, child_env, expected_ledger, ledger_rows, real_frozen, run_cli, user_version

import cortexdb
from cortexdb._catalog import load_catalog
from cortexdb._contract import execute_steps, fingerprint

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
MEMORY = CATALOG.databases["memory"]


def _made_without_a_ledger(path: Path, count: int) -> None:
    """The first `count` migrations' statements run by hand, as another tool would have: no ledger."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        for migration in MEMORY.migrations[:count]:
            execute_steps(conn, migration.steps)
    finally:
        conn.close()


@pytest.mark.parametrize("count", [1, len(MEMORY.migrations) // 2, len(MEMORY.migrations)])
def test_baseline_records_exactly_what_migrate_would_have_then_migrate_finishes(tmp_path: Path, count: int) -> None:
    path = tmp_path / "memory.db"
    _made_without_a_ledger(path, count)
    version = MEMORY.migrations[count - 1].version
    done = run_cli("baseline", "--version", str(version), "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert ledger_rows(path) == expected_ledger(FROZEN, "memory", count)
    done_so_far = [m.ledger_key for m in MEMORY.migrations[:count]]
    assert user_version(path) == fingerprint(LEDGER, "memory", done_so_far)
    result = cortexdb.migrate(tmp_path, databases=["memory"])
    assert list(result.databases[0].versions) == [m.version for m in MEMORY.migrations[count:]]
    assert cortexdb.verify(tmp_path, databases=["memory"]).ok


def test_baseline_refuses_another_schema_naming_the_difference_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "memory.db"
    _made_without_a_ledger(path, 2)
    before = path.read_bytes()
    done = run_cli("baseline", "--version", str(MEMORY.migrations[2].version), "--data-dir", str(tmp_path))
    assert done.returncode == 1
    [line] = done.stderr.strip().splitlines()
    assert "is not the one migrations up to" in line and "missing" in line
    assert path.read_bytes() == before and ledger_rows(path) == []


def test_baseline_refuses_a_database_that_has_a_ledger(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, databases=["memory"])
    with pytest.raises(cortexdb.OperationRefusedError, match="already records"):
        cortexdb.baseline(tmp_path, MEMORY.migrations[0].version)


def test_baseline_bad_input_is_exit_2_in_one_line(tmp_path: Path) -> None:
    _made_without_a_ledger(tmp_path / "memory.db", 1)
    last = max(m.version for m in CATALOG.databases["cortex"].migrations + MEMORY.migrations)
    cases = [
        ["--version", str(last + 1000)],  # out of range
        ["--version", str(MEMORY.migrations[0].version), "--database", "cortex"],  # not that database's
        ["--version", str(MEMORY.migrations[0].version), "--database", "nope"],
        ["--version", str(CATALOG.databases["vault"].migrations[0].version)],  # vault.db does not exist
    ]
    for args in cases:
        done = run_cli("baseline", *args, "--data-dir", str(tmp_path))
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert not (tmp_path / "vault.db").exists()


def test_baseline_waits_for_the_lock_migrate_takes(tmp_path: Path) -> None:
    """Another process holding `BEGIN IMMEDIATE` (what migrate holds while it works): baseline
    waits for it, gives up after --busy-timeout with exit 1, and has written nothing."""
    path = tmp_path / "memory.db"
    _made_without_a_ledger(path, 1)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
         "c.execute('BEGIN IMMEDIATE'); print('locked', flush=True); sys.stdin.read()", str(path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env(), cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        done = run_cli("baseline", "--version", str(MEMORY.migrations[0].version), "--busy-timeout", "0.3",
                       "--data-dir", str(tmp_path))
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert done.returncode == 1 and "locked" in done.stderr, done.stderr
    assert ledger_rows(path) == []
    done = run_cli("baseline", "--version", str(MEMORY.migrations[0].version), "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert ledger_rows(path) == expected_ledger(FROZEN, "memory", 1)
