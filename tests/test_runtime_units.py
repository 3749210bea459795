"""Small pure parts of the runtime: the plan, the fingerprint, frozen-module checks, session ids."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from runtime_support import compile_migration, synthetic_frozen

import cortexdb
from cortexdb._catalog import load_catalog
from cortexdb._cli import UsageError, parse
from cortexdb._contract import fingerprint
from cortexdb._index import check_session_id
from cortexdb._plan import make_plan

SQL = [(v, "main", f"CREATE TABLE IF NOT EXISTS t{v} (x);") for v in (1, 2, 3, 4)]


def _spec() -> Any:
    return load_catalog(synthetic_frozen(SQL)).databases["main"]


def test_plan_sorts_the_ledger_into_applied_legacy_pending_changed_unknown() -> None:
    spec = _spec()
    m1, m2, *_ = spec.migrations
    plan = make_plan(spec, [(1, m1.checksum), (2, m2.legacy_checksum), (3, "c1:other"), (9, "x")])
    assert [m.version for m in plan.applied] == [1, 2]
    assert [m.version for m in plan.legacy] == [2]
    assert [m.version for m in plan.pending] == [4]
    assert [(m.version, c) for m, c in plan.changed] == [(3, "c1:other")]
    assert plan.unknown == [9] and not plan.up_to_date
    refusal = plan.refusal("/d/main.db")
    assert isinstance(refusal, cortexdb.DatabaseNewerError)  # the newer database is named first
    assert isinstance(make_plan(spec, [(3, "c1:other")]).refusal("p"), cortexdb.ChangedMigrationError)
    assert make_plan(spec, [(m.version, m.checksum) for m in spec.migrations]).up_to_date


def test_fingerprint_names_the_exact_ordered_set() -> None:
    spec = _spec()
    migrations = list(spec.migrations)
    values = {fingerprint("schema_migrations", "main", [m.ledger_key for m in migrations[:n]]) for n in range(5)}
    assert len(values) == 5 and all(0 < v < 2**31 for v in values)
    assert fingerprint("schema_migrations", "main", [m.ledger_key for m in migrations]) == spec.fingerprint
    assert fingerprint("schema_migrations", "other", [m.ledger_key for m in migrations]) != spec.fingerprint
    edited = [*SQL[:3], (4, "main", "CREATE TABLE IF NOT EXISTS t4 (x, y);")]
    assert load_catalog(synthetic_frozen(edited)).databases["main"].fingerprint != spec.fingerprint


@pytest.mark.parametrize("databases, migrations, message", [
    ({"a": {"file": "../a.db"}}, [], "leaves the data directory"),
    ({"a": {"file": "/abs/a.db"}}, [], "leaves the data directory"),
    ({"a": {"file": "sessions/x.db", "session": True}}, [], "needs one {session_id}"),
    ({"a": {"file": "{session_id}/x.db", "session": True}}, [], "needs one {session_id}"),
    ({"a": {"file": "a{session_id}.db"}}, [], "is not per session"),
    ({"a": {"file": "a.db"}}, [{"version": 1}], "lacks one of"),
    ({"a": {"file": "a.db"}}, [dict(compile_migration(1, "b", "SELECT 1;"))], "unknown database 'b'"),
    ({"a": {"file": "a.db"}}, [compile_migration(2, "a", "SELECT 1;"), compile_migration(1, "a", "SELECT 1;")],
     "increasing version order"),
])
def test_malformed_frozen_modules_are_refused(databases: dict[str, Any], migrations: list[Any],
                                              message: str) -> None:
    frozen = SimpleNamespace(FORMAT=1, LEDGER="schema_migrations", DATABASES=databases,
                             MIGRATIONS=migrations)
    with pytest.raises(cortexdb.FrozenModuleError, match=message):
        load_catalog(frozen)


def test_malformed_step_is_refused_before_anything_runs(tmp_path: Any) -> None:
    frozen = synthetic_frozen(SQL[:1])
    frozen.MIGRATIONS[0]["steps"] = (("sql", 1),)
    with pytest.raises(cortexdb.FrozenModuleError, match="malformed step"):
        cortexdb.migrate(tmp_path, frozen=frozen)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("session_id", ["a", "A-b_c.d", "x" * 128, "日本語", "a.b"])
def test_reasonable_session_ids_pass(session_id: str) -> None:
    check_session_id(session_id)


def test_cli_parse() -> None:
    options = parse(["db", "migrate", "--data-dir=/x", "--database", "a", "--database", "b",
                     "--busy-timeout", "2.5", "--no-backup"])
    assert (options.command, options.data_dir, options.databases) == ("migrate", "/x", ["a", "b"])
    assert options.busy_timeout == 2.5 and options.no_backup and not options.dry_run
    with pytest.raises(UsageError):
        parse(["migrate", "--busy-timeout", "-1"])


def test_every_exception_a_caller_may_catch_is_exported() -> None:
    import inspect

    from cortexdb import _errors

    defined = {name for name, value in vars(_errors).items()
               if inspect.isclass(value) and issubclass(value, cortexdb.CortexDBError)}
    assert {"ConnectError", "TransactionAborted", "SQLError", "CommitUnconfirmed"} <= defined
    assert defined <= set(cortexdb.__all__)
    assert all(getattr(cortexdb, name) is getattr(_errors, name) for name in defined)


def test_state_is_a_closed_set_of_strings() -> None:
    from cortexdb._api import STATES

    assert [str(state) for state in STATES] == ["up to date", "adopted", "migrated", "would migrate", "failed"]
    assert cortexdb.State.MIGRATED == "migrated" and isinstance(cortexdb.State.MIGRATED, str)
    assert repr(cortexdb.State.UP_TO_DATE) == "State.UP_TO_DATE"
    assert {cortexdb.State.ADOPTED: 1}["adopted"] == 1  # hashes as the old string did
