"""Refusals that touch nothing, and bad input: each a one-line error naming the file."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from project import generator, load_frozen, write_project
from runtime_support import (
    ROOT,
    child_env,
    deep_copy,
    derived,
    ledger_rows,
    real_frozen,
    run_cli,
    snapshot,
    write_frozen,
)

import cortexdb
from cortexdb._catalog import load_catalog

FROZEN = real_frozen()


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("template") / "data"
    cortexdb.migrate(data)
    return data


@pytest.fixture
def migrated(migrated_template: Path, tmp_path: Path) -> Path:
    """A fully migrated data dir (a copy, so each test may damage its own)."""
    data = tmp_path / "data"
    shutil.copytree(migrated_template, data)
    return data


def test_changed_migration_is_refused_and_nothing_touched(migrated: Path, tmp_path: Path) -> None:
    changed = derived(FROZEN, change={7: {"checksum": "c1:" + "ab" * 32, "legacy_checksum": "1234"}})
    frozen_file = write_frozen(changed, tmp_path / "frozen_changed.py")
    before = snapshot(migrated)

    proc = run_cli("migrate", "--data-dir", str(migrated), frozen_file=frozen_file)

    assert proc.returncode == 1
    message = _one_line(proc.stderr)
    assert str(migrated / "cortex.db") in message
    assert "migration 007 (007_jobs_v2.sql) was changed after it was applied" in message
    assert "create a new migration instead of editing an applied one" in message
    assert snapshot(migrated) == before


def test_ledger_row_with_the_legacy_checksum_is_accepted(migrated: Path) -> None:
    m007 = next(m for m in FROZEN.MIGRATIONS if m["version"] == 7)
    conn = sqlite3.connect(migrated / "cortex.db")
    conn.execute("UPDATE schema_migrations SET checksum = ? WHERE version = 7", (m007["legacy_checksum"],))
    conn.execute("PRAGMA user_version = 0")  # as CortexPrism left it: no fingerprint yet
    conn.commit()
    conn.close()

    proc = run_cli("migrate", "--data-dir", str(migrated))

    assert proc.returncode == 0, proc.stderr
    assert "applied" not in proc.stdout.replace("applied migration", "")
    status = cortexdb.status(migrated, databases=["cortex"])[0]
    assert status.up_to_date and status.legacy == (7,)


def test_comment_and_crlf_edits_are_not_changes(tmp_path: Path) -> None:
    """Through the real generator: an edited comment and CRLF line ends keep the checksum."""
    sql = "-- jobs\nCREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT);\n"
    project = write_project(tmp_path / "project", {"001_jobs.sql": sql})
    assert generator(project, "build").returncode == 0
    before_frozen = load_frozen(project / "cortexdb" / "_frozen.py")
    data = tmp_path / "data"
    cortexdb.migrate(data, frozen=before_frozen)
    before = snapshot(data)

    edited = "-- jobs, one row per job\r\n\r\nCREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT);\r\n"
    (project / "migrations" / "001_jobs.sql").write_bytes(edited.encode())
    rebuilt = generator(project, "build")
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    after_frozen = load_frozen(project / "cortexdb" / "_frozen.py")

    assert after_frozen.MIGRATIONS[0]["checksum"] == before_frozen.MIGRATIONS[0]["checksum"]
    proc = run_cli("migrate", "--data-dir", str(data), frozen_file=project / "cortexdb" / "_frozen.py")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("up to date")
    assert snapshot(data) == before


def test_database_newer_than_the_code_is_refused(migrated: Path, tmp_path: Path) -> None:
    older = write_frozen(derived(FROZEN, upto=46), tmp_path / "frozen_046.py")
    before = snapshot(migrated)

    proc = run_cli("migrate", "--data-dir", str(migrated), frozen_file=older)

    assert proc.returncode == 1
    message = _one_line(proc.stderr)
    assert str(migrated / "cortex.db") in message
    assert "records migration 047" in message and "newer than the code" in message
    assert snapshot(migrated) == before


def test_missing_frozen_module(tmp_path: Path) -> None:
    package = tmp_path / "site" / "cortexdb"
    shutil.copytree(ROOT / "cortexdb", package,
                    ignore=shutil.ignore_patterns("_frozen.py", "__pycache__"))
    env = {**child_env(), "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run([sys.executable, "-m", "cortexdb", "db", "migrate", "--data-dir",
                           str(tmp_path / "data")], capture_output=True, text=True, env=env,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 2
    assert "cortexdb/_frozen.py is missing: run `make migrations`" in _one_line(proc.stderr)
    assert not (tmp_path / "data").exists()


def test_frozen_module_of_another_format(tmp_path: Path) -> None:
    other = deep_copy(FROZEN)
    other.FORMAT = 2
    with pytest.raises(cortexdb.FrozenModuleError, match="FORMAT 2, this runtime reads FORMAT 1"):
        cortexdb.migrate(tmp_path, frozen=other)
    proc = run_cli("migrate", "--data-dir", str(tmp_path), frozen_file=write_frozen(other, tmp_path / "f.py"))
    assert proc.returncode == 2 and "FORMAT 2" in _one_line(proc.stderr)
    with pytest.raises(cortexdb.FrozenModuleError, match="MIGRATIONS"):
        load_catalog(SimpleNamespace(FORMAT=1, LEDGER="schema_migrations", DATABASES={}, MIGRATIONS=None))


def test_data_dir_under_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    data = tmp_path / "file" / "data"
    proc = run_cli("migrate", "--data-dir", str(data))
    assert proc.returncode == 2
    message = _one_line(proc.stderr)
    assert str(data) in message and "cannot create the directory" in message
    assert (tmp_path / "file").read_text() == "x"


def test_data_dir_where_even_root_cannot_write(tmp_path: Path) -> None:
    data = Path("/sys/cortexdb-test-data")
    try:
        data.mkdir()
    except OSError:
        pass
    else:  # pragma: no cover - a machine whose /sys is writable
        data.rmdir()
        pytest.skip("/sys is writable here")
    proc = run_cli("migrate", "--data-dir", str(data))
    assert proc.returncode == 2
    assert str(data) in _one_line(proc.stderr)


def test_database_path_that_is_a_directory(tmp_path: Path) -> None:
    (tmp_path / "cortex.db").mkdir()
    proc = run_cli("migrate", "--data-dir", str(tmp_path))
    assert proc.returncode == 2
    message = _one_line(proc.stderr)
    assert str(tmp_path / "cortex.db") in message and "is a directory" in message


def test_database_locked_past_the_timeout(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cortexdb.migrate(data, frozen=derived(FROZEN, upto=41))
    before = {file: ledger_rows(data / file) for file in ("cortex.db", "memory.db", "vault.db")}
    holder = sqlite3.connect(data / "cortex.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's write transaction
    try:
        proc = run_cli("migrate", "--data-dir", str(data), "--busy-timeout", "0.2")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert proc.returncode == 1
    message = _one_line(proc.stderr)
    assert str(data / "cortex.db") in message and "locked by another connection" in message
    assert {file: ledger_rows(data / file) for file in before} == before


def test_file_that_is_not_a_database(tmp_path: Path) -> None:
    (tmp_path / "cortex.db").write_bytes(b"not a database, but someone's notes\n" * 200)
    before = snapshot(tmp_path)
    proc = run_cli("migrate", "--data-dir", str(tmp_path))
    assert proc.returncode == 2
    message = _one_line(proc.stderr)
    assert str(tmp_path / "cortex.db") in message and "not an SQLite database" in message
    assert snapshot(tmp_path) == before


def test_corrupt_database_is_reported_not_migrated(tmp_path: Path) -> None:
    data = tmp_path / "data"
    cortexdb.migrate(data, frozen=derived(FROZEN, upto=41), backup=False)
    path = data / "cortex.db"
    size = path.stat().st_size
    pages = size // 4096
    with open(path, "r+b") as file:  # garbage over the middle third of the pages
        for page in range(pages // 3, 2 * pages // 3):
            file.seek(page * 4096)
            file.write(bytes([0xA5]) * 4096)
    before = snapshot(data)

    proc = run_cli("migrate", "--data-dir", str(data))

    assert proc.returncode == 1
    message = _one_line(proc.stderr)
    assert str(path) in message and "corrupt" in message
    assert snapshot(data) == before
    assert not (data / "backups").exists()


def test_errors_are_one_base_class() -> None:
    for name in cortexdb.__all__:
        value = getattr(cortexdb, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, cortexdb.CortexDBError), name
            assert value.exit_code in (1, 2)
    assert os.environ.get("CORTEXDB_SOAK") in (None, "0", "1")
