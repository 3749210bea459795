"""The backup policy (issue 12): `backup="shared"|"all"|"none"` of `migrate` and `open_session`,
`cortex db migrate --backup`. On a data dir whose shared and session databases hold rows and have
migrations pending, exactly the files the policy names get a copy, each the database as it was
before the run (byte for byte but SQLite's two change counters, `quick_check` ok, the same dump),
and the run's own backup is never pruned, whatever names older backups have."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqld
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from runtime_support import expected_ledger, ledger_rows, run_cli, synthetic_frozen, write_frozen

import cortexdb

DATABASES = {"main": "main.db", "other": "other.db", "session": "sessions/{session_id}.db"}
SESSIONS = ("s1", "s2", "s3")
V1 = [(1, "main", "CREATE TABLE IF NOT EXISTS a (x);"), (2, "other", "CREATE TABLE IF NOT EXISTS o (x);"),
      (3, "session", "CREATE TABLE IF NOT EXISTS s (x);")]
#: The migration each database gets when it is pending in an example.
NEXT = {"main": (4, "main", "CREATE TABLE IF NOT EXISTS a2 (y);"),
        "other": (5, "other", "CREATE TABLE IF NOT EXISTS o2 (y);"),
        "session": (6, "session", "ALTER TABLE s ADD COLUMN IF NOT EXISTS z;")}
FILES = {"main.db": "main", "other.db": "other", **{f"sessions/{sid}.db": "session" for sid in SESSIONS}}
OLD = synthetic_frozen(V1, DATABASES)
ALL_PENDING = synthetic_frozen([*V1, *NEXT.values()], DATABASES)
#: Header fields the backup API writes in the copy: the file change counter (bytes 24-27), the
#: schema cookie (40-43: one past the new file's own, so its readers reload the schema) and the
#: version-valid-for number (92-95). Every other byte of the file is the database's own.
COUNTERS = (*range(24, 28), *range(40, 44), *range(92, 96))


def covered(policy: object, database: str) -> bool:
    """What the README promises each policy copies (True is "shared", False is "none")."""
    return policy == "all" or (policy in (True, "shared") and database != "session")


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every database at V1, holding rows: shared ones, and three session databases."""
    data = tmp_path_factory.mktemp("template") / "data"
    cortexdb.migrate(data, frozen=OLD)
    for sid in SESSIONS:
        cortexdb.open_session(data, sid, frozen=OLD).close()
    for relative, table in (("main.db", "a"), ("other.db", "o"), *((f"sessions/{s}.db", "s") for s in SESSIONS)):
        conn = sqlite3.connect(data / relative)
        conn.execute(f"INSERT INTO {table} SELECT value FROM json_each(?)", (json.dumps(list(range(200))),))
        conn.execute(f"INSERT INTO {table} VALUES (randomblob(5000))")  # an overflow page
        conn.commit()
        conn.close()
    return data


@pytest.fixture
def data(template: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(template, copy)
    return copy


def _read_only(path: Path) -> sqlite3.Connection:
    """Opened immutable: reading a WAL-mode file (or a backup of one) writes no -wal or -shm beside it."""
    return sqlite3.connect(f"file:{path}?immutable=1", uri=True)


def _dump(path: Path) -> list[str]:
    conn = _read_only(path)
    try:
        return [*conn.iterdump(), f"user_version={conn.execute('PRAGMA user_version').fetchone()[0]}"]
    finally:
        conn.close()


def _before(data: Path) -> dict[str, tuple[bytes, list[str]]]:
    """Each database file's bytes and dump, read while no connection has it open (no -wal)."""
    assert not list(data.rglob("*-wal")) and not list(data.rglob("*-shm"))
    return {relative: ((data / relative).read_bytes(), _dump(data / relative)) for relative in FILES}


def _backed_up(folder: Path) -> set[str]:
    return {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}


def _assert_copies(folder: Path, before: dict[str, tuple[bytes, list[str]]], expected: set[str]) -> None:
    assert _backed_up(folder) == expected
    for relative in expected:
        copy = folder / relative
        original, dump = before[relative]
        saved = copy.read_bytes()
        assert len(saved) == len(original), relative
        assert [i for i in range(len(saved)) if saved[i] != original[i] and i not in COUNTERS] == [], relative
        conn = _read_only(copy)
        assert conn.execute("PRAGMA quick_check").fetchall() == [("ok",)], relative
        conn.close()
        assert _dump(copy) == dump, relative


POLICIES = st.sampled_from([True, False, "shared", "all", "none"])
STAMPS = st.builds(lambda year, second: f"{year}0101T{second:06d}Z", st.integers(1990, 2099), st.integers(0, 235959))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(policy=POLICIES, pending=st.sets(st.sampled_from(sorted(NEXT))),
       current=st.sets(st.sampled_from(SESSIONS)), older=st.lists(STAMPS, unique=True, max_size=7))
def test_exactly_the_files_the_policy_names_are_backed_up_and_the_new_backup_is_kept(
    template: Path, policy: object, pending: set[str], current: set[str], older: list[str]
) -> None:
    """Over policies x which databases have a migration pending x sessions some other process
    already migrated x backups older runs left (named by any clock): the run's backup folder
    holds exactly the pending files its policy covers, each as it was; it is never pruned, and
    at most five runs remain. A run that copies nothing publishes nothing and prunes nothing."""
    frozen = synthetic_frozen([*V1, *(NEXT[name] for name in pending)], DATABASES)
    with tempfile.TemporaryDirectory() as scratch:
        data = Path(scratch) / "data"
        shutil.copytree(template, data)
        for sid in current:  # brought up to date beforehand (no copy): not this run's to back up
            cortexdb.open_session(data, sid, frozen=frozen, backup="none").close()
        for name in older:
            (data / "backups" / name).mkdir(parents=True)
        before = _before(data)
        changed = {relative for relative, name in FILES.items()
                   if name in pending and not (name == "session" and Path(relative).stem in current)}

        result = cortexdb.migrate(data, backup=policy, frozen=frozen)  # type: ignore[arg-type]

        expected = {relative for relative in changed if covered(policy, FILES[relative])}
        backed = {Path(r.path).relative_to(data).as_posix() for r in result.databases if r.backed_up}
        assert backed == expected
        kept = sorted(p.name for p in (data / "backups").iterdir()) if (data / "backups").exists() else []
        if expected:
            assert result.backup_dir is not None
            own = Path(result.backup_dir).name
            _assert_copies(Path(result.backup_dir), before, expected)
            assert own in kept and sorted(set(kept) - {own}) == sorted(older)[-4:]
        else:
            assert result.backup_dir is None
            assert kept == sorted(older)  # nothing published, nothing pruned, no staging left
        for relative, name in FILES.items():
            assert ledger_rows(data / relative) == expected_ledger(frozen, name), relative


def test_a_bad_policy_is_refused_before_anything_is_read(data: Path) -> None:
    """Also on an up-to-date data dir, whose start never reaches the slow path."""
    for bad in ("al", "ALL", "", None, 1, ["all"]):
        with pytest.raises(cortexdb.InvalidInputError, match="backup must be 'shared', 'all' or 'none'") as caught:
            cortexdb.migrate(data, backup=bad, frozen=OLD)  # type: ignore[arg-type]
        assert caught.value.exit_code == 2
        with pytest.raises(cortexdb.InvalidInputError):
            cortexdb.open_session(data, "s1", backup=bad, frozen=OLD)  # type: ignore[arg-type]
    assert not (data / "backups").exists()


@pytest.mark.parametrize("policy, expected", [
    (True, set()), ("shared", set()), ("none", set()), (False, set()), ("all", {"sessions/s1.db"}),
])
def test_open_session_follows_the_same_rule(data: Path, policy: object, expected: set[str]) -> None:
    """`open_session` changes one session database: only "all" copies it first (a run of its own)."""
    before = _before(data)
    cortexdb.open_session(data, "s1", backup=policy, frozen=ALL_PENDING).close()  # type: ignore[arg-type]
    runs = list((data / "backups").iterdir()) if (data / "backups").exists() else []
    assert len(runs) == (1 if expected else 0)
    if expected:
        _assert_copies(runs[0], before, expected)
    assert ledger_rows(data / "sessions" / "s1.db") == expected_ledger(ALL_PENDING, "session")


# --- the CLI: real `cortex` processes ---------------------------------------------------------


@pytest.fixture(scope="module")
def frozen_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_frozen(ALL_PENDING, tmp_path_factory.mktemp("frozen") / "frozen.py")


@pytest.mark.parametrize("options, policy", [
    ((), True), (("--backup", "shared"), "shared"), (("--backup=all",), "all"), (("--backup", "none"), "none"),
    (("--no-backup",), "none"), (("--no-backup", "--backup", "none"), "none"),
])
def test_migrate_backup_option(data: Path, frozen_file: Path, options: tuple[str, ...], policy: object) -> None:
    before = _before(data)
    done = run_cli("migrate", "--data-dir", str(data), "--format", "json", *options, frozen_file=frozen_file)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    expected = {relative for relative, name in FILES.items() if covered(policy, name)}
    backed = {Path(r["path"]).relative_to(data.resolve()).as_posix() for r in report["databases"] if r["backed_up"]}
    assert backed == expected
    if expected:
        _assert_copies(Path(report["backup_dir"]), before, expected)
        assert [p.name for p in (data / "backups").iterdir()] == [Path(report["backup_dir"]).name]
    else:
        assert report["backup_dir"] is None and not (data / "backups").exists()
    assert all(ledger_rows(data / r) == expected_ledger(ALL_PENDING, name) for r, name in FILES.items())


@pytest.mark.parametrize("args, message", [
    (("migrate", "--backup", "al"), "--backup must be shared, all or none, not 'al'"),
    (("migrate", "--backup", "ALL"), "--backup must be shared, all or none, not 'ALL'"),
    (("migrate", "--backup=",), "--backup must be shared, all or none, not ''"),
    (("migrate", "--backup"), "--backup needs a value"),
    (("migrate", "--no-backup", "--backup", "all"), "--no-backup and --backup all contradict each other: give one"),
    (("repair", "--backup", "none"), "--backup does not apply to repair"),
    (("status", "--backup", "all"), "--backup does not apply to status"),
])
def test_a_bad_backup_option_is_a_usage_error(data: Path, frozen_file: Path, args: tuple[str, ...],
                                              message: str) -> None:
    before = _before(data)
    done = run_cli(args[0], "--data-dir", str(data), *args[1:], frozen_file=frozen_file)
    assert done.returncode == 2 and done.stdout == ""
    usage, error = done.stderr.splitlines()  # the command's usage line, then the one error line
    assert usage.startswith(f"usage: cortex db {args[0]}") and error == f"cortex db: error: {message}"
    assert _before(data) == before and not (data / "backups").exists()


def test_help_lists_the_backup_option() -> None:
    shown = run_cli("migrate", "--help")
    assert shown.returncode == 0
    assert "--backup shared|all|none" in shown.stdout and "--no-backup" in shown.stdout
    repair = run_cli("repair", "--help").stdout
    assert "--no-backup" in repair and "--backup shared" not in repair


# --- a database on a server never gets a backup -----------------------------------------------


@pytest.fixture
def server(tmp_path: Path) -> Iterator[sqld.SqldCluster]:
    with sqld.sqld_cluster(tmp_path / "sqld", replicas=0) as started:
        yield started


def test_a_database_on_a_server_is_never_backed_up(data: Path, server: sqld.SqldCluster) -> None:
    url = server.primary.url
    before = _before(data)
    cortexdb.migrate(data, databases=["main"], urls={"main": url}, frozen=OLD)  # the server's own main at V1
    result = cortexdb.migrate(data, backup="all", urls={"main": url}, frozen=ALL_PENDING)
    by_path = {r.path: r for r in result.databases}
    assert by_path[url].state == cortexdb.State.MIGRATED and not by_path[url].backed_up
    assert result.backup_dir is not None
    # The local main.db is not the database of this run: only the other files were copied.
    _assert_copies(Path(result.backup_dir), before, {r for r in FILES if r != "main.db"})
