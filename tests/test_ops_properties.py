"""Properties of baseline and repair over the real build, SQLite the judge (verify reads the live schema)."""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import expected_ledger, ledger_rows, real_frozen

import cortexdb
from cortexdb._catalog import load_catalog
from cortexdb._contract import execute_steps, quote_identifier

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
SHARED = sorted(name for name, spec in CATALOG.databases.items() if not spec.session)


@st.composite
def prefixes(draw: st.DrawFn) -> tuple[str, int]:
    name = draw(st.sampled_from(SHARED))
    return name, draw(st.integers(1, len(CATALOG.databases[name].migrations)))


@settings(max_examples=40, deadline=None)
@given(prefixes())
def test_any_prefix_made_without_a_ledger_baselines_then_migrates_to_the_proven_schema(
    prefix: tuple[str, int],
) -> None:
    name, count = prefix
    spec = CATALOG.databases[name]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / spec.file
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            for migration in spec.migrations[:count]:
                execute_steps(conn, migration.steps)
        assert cortexdb.baseline(folder, spec.migrations[count - 1].version) == [str(path)]
        assert ledger_rows(path) == expected_ledger(FROZEN, name, count)
        cortexdb.migrate(folder, databases=[name])
        assert cortexdb.verify(folder, databases=[name]).ok


_TEMPLATE: dict[str, Path] = {}


def _migrated(name: str) -> Path:
    """One migrated data dir per database for the whole module, copied by each example."""
    if name not in _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix=f"ops-{name}-"))
        cortexdb.migrate(folder, databases=[name])
        _TEMPLATE[name] = folder
    return _TEMPLATE[name]


@st.composite
def drift(draw: st.DrawFn) -> tuple[str, list[tuple[str, str]]]:
    """A database and some of its proven indexes, views and triggers, to be dropped."""
    name = draw(st.sampled_from(SHARED))
    objects = sorted((row[0], row[1]) for row in CATALOG.databases[name].schema
                     if row[0] in ("index", "view", "trigger") and row[3])
    return name, draw(st.lists(st.sampled_from(objects), min_size=1, max_size=8, unique=True))


@settings(max_examples=40, deadline=None)
@given(drift())
def test_repair_makes_again_any_dropped_indexes_views_and_triggers(case: tuple[str, list[tuple[str, str]]]) -> None:
    name, dropped = case
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(_migrated(name), folder, dirs_exist_ok=True)
        path = Path(folder) / CATALOG.databases[name].file
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            for kind, object_name in dropped:
                conn.execute(f"DROP {kind.upper()} IF EXISTS {quote_identifier(object_name)}")
        report = cortexdb.verify(folder, databases=[name])
        assert {(kind, object_name) for kind, object_name in report.databases[0].missing} == set(dropped)
        [result] = cortexdb.repair(folder, databases=[name], backup=False)
        assert result.repaired
        assert cortexdb.verify(folder, databases=[name]).ok


def teardown_module() -> None:
    for folder in _TEMPLATE.values():
        shutil.rmtree(folder, ignore_errors=True)


_TABLES = {
    name: sorted(row[1] for row in spec.schema if row[0] == "table" and row[3] and "VIRTUAL" not in row[3].upper()
                 and not any(other[0] == "table" and other[3] and "VIRTUAL" in other[3].upper()
                             and row[1].startswith(other[1] + "_") for other in spec.schema))
    for name, spec in CATALOG.databases.items() if not spec.session
}


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(SHARED).flatmap(lambda name: st.tuples(st.just(name), st.sampled_from(_TABLES[name]))))
def test_repair_rebuilds_any_table_whose_definition_drifted(case: tuple[str, str]) -> None:
    """The table made again by hand with a definition of other text (its indexes and triggers go
    with the old one): repair stores the proven text again, with its indexes and triggers."""
    name, table = case
    with tempfile.TemporaryDirectory() as folder:
        shutil.copytree(_migrated(name), folder, dirs_exist_ok=True)
        path = Path(folder) / CATALOG.databases[name].file
        with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
            query = "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?"
            sql = conn.execute(query, (table,)).fetchone()[0]
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute("PRAGMA legacy_alter_table = ON")
            conn.execute("BEGIN")
            conn.execute(f"ALTER TABLE {quote_identifier(table)} RENAME TO drifted_old")
            conn.execute(sql.replace("(", "( -- edited by hand\n", 1))
            conn.execute("DROP TABLE drifted_old")
            conn.execute("COMMIT")
        assert ("table", table) in cortexdb.verify(folder, databases=[name]).databases[0].different
        [result] = cortexdb.repair(folder, databases=[name], backup=False)
        assert result.repaired
        report = cortexdb.verify(folder, databases=[name])
        assert report.ok, report.databases[0].problems
