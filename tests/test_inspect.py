"""status and verify as pure functions of a snapshot, and the one place that picks a backend."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

import cortexdb
from cortexdb import _inspect
from cortexdb._catalog import load_catalog
from cortexdb._contract import read_schema
from cortexdb._inspect import Snapshot, check_database, database_status, pending_versions
from cortexdb._targets import resolve


def _spec_and_ledger() -> tuple[cortexdb._catalog.DatabaseSpec, tuple[tuple[int, str], ...]]:
    catalog = load_catalog()
    spec = catalog.databases["cortex"]
    return spec, tuple((m.version, m.checksum) for m in spec.migrations)


def test_a_snapshot_of_a_migrated_file_is_what_sqlite_holds(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path, databases=["cortex"])
    catalog = load_catalog()
    [target] = resolve(catalog, str(tmp_path), ["cortex"])
    snapshot = target.backend(1.0).snapshot(catalog.ledger, schema=True)
    with sqlite3.connect(tmp_path / "cortex.db") as conn:
        assert snapshot.schema == tuple(read_schema(conn, catalog.ledger))
        rows = conn.execute(f"SELECT version, checksum FROM {catalog.ledger} ORDER BY version").fetchall()
    assert snapshot.ledger == tuple(rows) and snapshot.exists and snapshot.integrity is None  # quick_check: ok
    assert check_database(catalog.databases["cortex"], snapshot).ok


def test_verify_and_status_decide_from_the_snapshot_alone() -> None:
    spec, ledger = _spec_and_ledger()
    clean = Snapshot("x.db", True, ledger, tuple(spec.schema), None)
    assert check_database(spec, clean).problems == ()
    assert database_status(spec, clean).up_to_date and pending_versions(spec, clean) == ()

    cache = ("table", "SQLiteCache", "SQLiteCache", "CREATE TABLE SQLiteCache (k)")
    extra = Snapshot("x.db", True, ledger, (*spec.schema, cache))
    assert check_database(spec, extra).extra == (("table", "SQLiteCache"),)

    damaged = Snapshot("x.db", True, ledger, tuple(spec.schema), "*** in database main ***")
    assert check_database(spec, damaged).problems == ("PRAGMA quick_check: *** in database main ***",)

    missing = Snapshot("x.db", False, ())
    assert check_database(spec, missing).problems == ("does not exist: run `cortex db migrate`",)
    status = database_status(spec, missing)
    assert not status.exists and status.pending == tuple(m.version for m in spec.migrations)

    behind = Snapshot("x.db", True, ledger[:-1])
    assert pending_versions(spec, behind) == (spec.migrations[-1].version,)
    assert "not applied" in check_database(spec, behind).problems[0]  # the schema is not even read

    newer = Snapshot("x.db", True, (*ledger, (9999, "c1:00")))
    with pytest.raises(cortexdb.DatabaseNewerError):
        pending_versions(spec, newer)


def test_result_types_are_exported_without_loading_them_on_import() -> None:
    assert cortexdb.VerifyReport is _inspect.VerifyReport
    assert cortexdb.DatabaseCheck is _inspect.DatabaseCheck
    assert cortexdb.DatabaseStatus is _inspect.DatabaseStatus
    with pytest.raises(AttributeError):
        cortexdb.NoSuchThing  # noqa: B018


def test_a_target_is_resolved_once_to_its_backend(tmp_path: Path) -> None:
    catalog = load_catalog()
    (tmp_path / "sessions").mkdir()
    sqlite3.connect(tmp_path / "sessions" / "abc.db").close()
    targets = {t.name if not t.entry.session else t.location: t
               for t in resolve(catalog, str(tmp_path), urls={"memory": "http://127.0.0.1:1"})}
    assert targets["memory"].remote and type(targets["memory"].backend(1.0)).__module__ == "cortexdb.remote.backend"
    assert not targets["cortex"].remote and targets["cortex"].location == str(tmp_path / "cortex.db")
    assert type(targets["cortex"].backend(1.0)).__module__ == "cortexdb.local.port"
    assert str(tmp_path / "sessions" / "abc.db") in targets
