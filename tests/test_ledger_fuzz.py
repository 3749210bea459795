"""Whatever a ledger holds, the runtime answers with one line naming the file (exit 1 from the
CLI, a `CortexDBError` from the library), never a traceback, and never applies on a guess."""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import ledger_rows, run_cli, synthetic_frozen, write_frozen

import cortexdb

SQL = [(v, "main", f"CREATE TABLE IF NOT EXISTS t{v} (x);") for v in range(1, 4)]
FROZEN = synthetic_frozen(SQL, {"main": "main.db"})
CHECKSUMS = [entry["checksum"] for entry in FROZEN.MIGRATIONS]

values = st.one_of(
    st.none(), st.integers(-3, 6), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=True),
    st.text(max_size=8), st.binary(max_size=8), st.sampled_from(CHECKSUMS), st.just(1.0), st.just("2"),
)
declared = st.sampled_from(["", "INTEGER", "TEXT", "BLOB", "REAL", "NUMERIC", "ANY"])


def _write_ledger(path: Path, version_type: str, checksum_type: str, rows: list[tuple[Any, Any]]) -> None:
    conn = sqlite3.connect(path)
    conn.execute(f"CREATE TABLE schema_migrations (version {version_type}, description TEXT, "
                 f"applied_at TEXT, checksum {checksum_type})")
    conn.executemany("INSERT INTO schema_migrations (version, description, checksum) VALUES (?, 'd', ?)", rows)
    conn.commit()
    conn.close()


def _valid(rows: list[tuple[Any, Any]]) -> bool:
    versions = [v for v, _ in rows]
    return (all(isinstance(v, int) and isinstance(c, str) for v, c in rows)
            and len(set(versions)) == len(versions))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(declared, declared, st.lists(st.tuples(values, values), max_size=5))
def test_any_ledger_gives_an_answer_or_one_line_naming_the_file(version_type: str, checksum_type: str,
                                                                rows: list[tuple[Any, Any]]) -> None:
    data = Path(tempfile.mkdtemp())
    try:
        path = data / "main.db"
        _write_ledger(path, version_type, checksum_type, rows)
        stored = [(v, c) for v, _d, c in ledger_rows(path)]  # as SQLite's affinity converted them
        for call in (cortexdb.status, cortexdb.verify, cortexdb.migrate):
            try:
                call(data, frozen=FROZEN)
            except cortexdb.CortexDBError as error:
                text = str(error)
                assert "\n" not in text and text.startswith(str(path)), text
                if not _valid(stored):
                    assert isinstance(error, cortexdb.LedgerError) or call is not cortexdb.migrate
            else:
                assert _valid(stored) or call is not cortexdb.migrate, stored
    finally:
        shutil.rmtree(data)


@pytest.mark.parametrize("version, checksum, problem", [
    (None, CHECKSUMS[0], "its version is NULL, not an integer"),
    ("abc", CHECKSUMS[0], "its version is 'abc', not an integer"),
    (b"\x01", CHECKSUMS[0], "its version is a 1-byte blob, not an integer"),
    (1.5, CHECKSUMS[0], "its version is 1.5, not an integer"),
    (1, None, "its checksum is NULL, not text"),
])
def test_the_cli_names_the_file_and_the_row(tmp_path: Path, version: Any, checksum: Any, problem: str) -> None:
    _write_ledger(tmp_path / "main.db", "", "", [(version, checksum)])
    frozen_file = write_frozen(FROZEN, tmp_path / "frozen.py")
    for command in ("migrate", "status"):
        proc = run_cli(command, "--data-dir", str(tmp_path), frozen_file=frozen_file)
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 1 and len(lines) == 1, proc.stderr
        assert f"{tmp_path / 'main.db'}: the ledger row" in lines[0] and problem in lines[0], lines[0]
    assert ledger_rows(tmp_path / "main.db") == [(version, "d", checksum)]  # nothing applied


def test_a_version_recorded_twice_is_refused(tmp_path: Path) -> None:
    _write_ledger(tmp_path / "main.db", "INTEGER", "TEXT", [(1, CHECKSUMS[0]), (1, CHECKSUMS[0])])
    with pytest.raises(cortexdb.LedgerError, match="recorded twice"):
        cortexdb.migrate(tmp_path, frozen=FROZEN)
