"""`migrate(backup=all|shared|none)` / `cortex db migrate --backup`: which existing database
files are copied before they change. The rule: a file is backed up exactly when it existed,
holds something, gets a migration in this run, and the policy covers its kind (all: every one;
shared: not the session databases; none: none). A fleet of session databases then need not be
copied whole at every new session migration."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import ledger_rows, run_cli, synthetic_frozen

import cortexdb

DATABASES = {"main": "main.db", "other": "other.db", "session": "sessions/{session_id}.db"}
FIRST = [(1, "main", "CREATE TABLE IF NOT EXISTS a (x);"), (2, "other", "CREATE TABLE IF NOT EXISTS b (x);"),
         (3, "session", "CREATE TABLE IF NOT EXISTS s (x);")]
LATER = {"main": (4, "main", "CREATE TABLE IF NOT EXISTS a2 (x);"),
         "other": (5, "other", "CREATE TABLE IF NOT EXISTS b2 (x);"),
         "session": (6, "session", "CREATE TABLE IF NOT EXISTS s2 (x);")}
SESSIONS = ("one", "two")


def _data_dir(root: Path) -> Path:
    frozen = synthetic_frozen(FIRST, DATABASES)
    cortexdb.migrate(root, frozen=frozen)
    for session in SESSIONS:
        cortexdb.open_session(root, session, frozen=frozen).close()
    return root


def _backed_up(result: cortexdb.MigrateResult) -> set[str]:
    if result.backup_dir is None:
        return set()
    return {p.relative_to(result.backup_dir).as_posix() for p in Path(result.backup_dir).rglob("*.db")}


def _files(changed: set[str]) -> set[str]:
    files = {name: DATABASES[name] for name in changed if name != "session"}
    found = set(files.values())
    if "session" in changed:
        found |= {f"sessions/{s}.db" for s in SESSIONS}
    return found


@settings(max_examples=24, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=st.sampled_from([True, False, "all", "shared", "none"]),
       changed=st.sets(st.sampled_from(sorted(LATER)), min_size=1))
def test_exactly_the_files_the_policy_covers_are_backed_up(tmp_path_factory: pytest.TempPathFactory,
                                                           policy: bool | str, changed: set[str]) -> None:
    root = _data_dir(tmp_path_factory.mktemp("policy"))
    frozen = synthetic_frozen([*FIRST, *(LATER[name] for name in changed)], DATABASES)

    result = cortexdb.migrate(root, backup=policy, frozen=frozen)

    kind = {True: "all", False: "none"}.get(policy, policy)  # type: ignore[call-overload]
    covered = {name for name in changed if kind == "all" or (kind == "shared" and name != "session")}
    assert _backed_up(result) == _files(covered)
    first = {database: [version] for version, database, _ in FIRST}
    for relative in _backed_up(result):  # each copy is the database as it was before this run
        database = "session" if relative.startswith("sessions/") else relative.removesuffix(".db")
        assert [row[0] for row in ledger_rows(Path(result.backup_dir or "") / relative)] == first[database]
    assert result.applied == len(_files(changed))


def test_open_session_follows_the_policy(tmp_path: Path) -> None:
    root = _data_dir(tmp_path)
    frozen = synthetic_frozen([*FIRST, LATER["session"]], DATABASES)
    cortexdb.open_session(root, "one", backup="shared", frozen=frozen).close()
    assert not (root / "backups").exists()
    cortexdb.open_session(root, "two", frozen=frozen).close()
    [taken] = (root / "backups").iterdir()
    assert sorted(p.relative_to(taken).as_posix() for p in taken.rglob("*.db")) == ["sessions/two.db"]


def test_a_bad_policy_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    with pytest.raises(cortexdb.InvalidInputError, match="backup must be one of all, shared, none"):
        cortexdb.migrate(tmp_path / "absent", backup="some")
    assert not (tmp_path / "absent").exists()


def test_the_cli_option_and_no_backup(tmp_path: Path) -> None:
    """The real `cortex db migrate` on the shipped build: a shared database with a pending
    migration and data is backed up with --backup shared, not with --no-backup; a bad value is
    a usage error in one line."""
    data = tmp_path / "data"
    data.mkdir()
    db = sqlite3.connect(data / "vault.db")  # the application's own table, no ledger yet
    db.execute("CREATE TABLE app_own (x)")
    db.execute("INSERT INTO app_own VALUES (1)")
    db.commit()
    db.close()
    bad = run_cli("migrate", "--data-dir", str(data), "--backup", "some")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 2  # usage line + the error
    assert "--backup must be all, shared or none, not 'some'" in bad.stderr
    none = run_cli("migrate", "--data-dir", str(tmp_path / "fresh"), "--no-backup")
    assert none.returncode == 0, none.stderr
    shared = run_cli("migrate", "--data-dir", str(data), "--backup", "shared")
    assert shared.returncode == 0, shared.stderr
    [taken] = (data / "backups").iterdir()
    assert [p.name for p in taken.iterdir()] == ["vault.db"]
