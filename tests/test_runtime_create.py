"""A database that does not exist yet is built aside (`..NAME.new` beside it) and linked into
place whole: real processes, real locks, real files; no sleeps (children say when they got
somewhere, or the test reads the runtime's `--debug` log until it says so)."""

from __future__ import annotations

import collections
import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import (
    child_env,
    expected_ledger,
    ledger_rows,
    live_schema,
    real_frozen,
    run_cli,
    snapshot,
    spawn_cli,
    synthetic_frozen,
    user_version,
    write_frozen,
)

import cortexdb
from cortexdb._api import MIGRATED
from cortexdb._catalog import load_catalog
from cortexdb.local import aside as _aside

FROZEN = real_frozen()
V1 = (1, "main", "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT);")
V2 = (2, "session", "CREATE TABLE IF NOT EXISTS turns (id INTEGER PRIMARY KEY, text TEXT);")
SMALL = synthetic_frozen([V1, V2])


def _asides(data: Path) -> list[str]:
    return sorted(str(p.relative_to(data)) for p in data.rglob("..*"))


def _header(path: Path) -> bytes:
    with open(path, "rb") as file:
        return file.read(100)


def test_a_new_database_appears_complete_in_wal_mode_with_nothing_beside_it(tmp_path: Path) -> None:
    conn = cortexdb.open_session(tmp_path, "s1", frozen=SMALL)
    conn.close()
    path = tmp_path / "sessions" / "s1.db"
    assert sorted(p.name for p in path.parent.iterdir()) == ["s1.db"]
    assert _header(path)[18:20] == b"\x02\x02"  # WAL
    assert ledger_rows(path) == expected_ledger(SMALL, "session")
    assert user_version(path) == load_catalog(SMALL).databases["session"].fingerprint
    before = snapshot(tmp_path)
    cortexdb.open_session(tmp_path, "s1", frozen=SMALL).close()
    assert snapshot(tmp_path) == before  # the fast path found it current


HOLD_ASIDE = """
import fcntl, os, shutil, sys
aside, final, template = sys.argv[1:4]
fd = os.open(aside, os.O_RDWR | os.O_CREAT, 0o644)
fcntl.flock(fd, fcntl.LOCK_EX)
print("locked", flush=True)
if sys.stdin.readline() == "publish\\n":
    shutil.copyfile(template, final)
os.unlink(aside)
os.close(fd)
"""


def _hold_aside(data: Path, template: Path | None = None) -> subprocess.Popen[str]:
    """A process that holds the lock of main.db's aside file, as one creating it does."""
    data.mkdir(parents=True, exist_ok=True)
    holder = subprocess.Popen([sys.executable, "-c", HOLD_ASIDE, _aside.aside_path(str(data / "main.db")),
                               str(data / "main.db"), str(template or "-")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def _migrate_until_it_waits_for_main(
    data: Path, frozen_file: Path, template: Path
) -> tuple[subprocess.Popen[str], subprocess.Popen[str]]:
    """(holder, migrating process): the holder creates main.db (it publishes `template` when told
    "publish"); the process has said in its `--debug` log that it waits for main.db."""
    holder = _hold_aside(data, template)
    process = spawn_cli("migrate", "--data-dir", str(data), "--debug", frozen_file=frozen_file,
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None
    for line in process.stderr:
        if "main.db: another process is creating it; waiting" in line:
            return holder, process
    holder.communicate("abandon\n", timeout=30)
    pytest.fail("the process did not wait for main.db")


def test_a_process_that_finds_the_database_being_created_waits_and_uses_it(tmp_path: Path) -> None:
    """While another process builds main.db, a second one waits for it instead of building its own,
    then finds it complete: it applies nothing."""
    template = tmp_path / "template"
    cortexdb.migrate(template, frozen=SMALL)
    frozen_file = write_frozen(SMALL, tmp_path / "small.py")
    data = tmp_path / "data"
    holder, waiter = _migrate_until_it_waits_for_main(data, frozen_file, template / "main.db")
    holder.communicate("publish\n", timeout=30)
    out, _ = waiter.communicate(timeout=60)
    assert waiter.returncode == 0
    assert "main" in out and "applied" not in out
    assert (data / "main.db").read_bytes() == (template / "main.db").read_bytes()
    assert _asides(data) == []


def test_creation_held_up_past_the_busy_timeout_is_an_error_naming_the_file(tmp_path: Path) -> None:
    frozen_file = write_frozen(SMALL, tmp_path / "small.py")
    data = tmp_path / "data"
    holder = _hold_aside(data)
    try:
        proc = run_cli("migrate", "--data-dir", str(data), "--busy-timeout", "0.2", frozen_file=frozen_file)
        assert proc.returncode == 1
        assert proc.stderr.count("\n") == 1, proc.stderr
        assert str(data / "main.db") in proc.stderr and "another process is creating the database" in proc.stderr
        assert "0.2s" in proc.stderr
        assert not (data / "main.db").exists()
    finally:
        holder.communicate("abandon\n", timeout=30)
    proc = run_cli("migrate", "--data-dir", str(data), frozen_file=frozen_file)
    assert proc.returncode == 0, proc.stderr
    assert ledger_rows(data / "main.db") == expected_ledger(SMALL, "main")
    assert _asides(data) == []


def test_what_a_killed_creation_left_is_built_again(tmp_path: Path) -> None:
    """An aside file (and a WAL beside it) left by a process killed mid-build: the next one
    removes it and builds from nothing; stale frames in the old WAL must not be replayed."""
    data = tmp_path / "data"
    stale = tmp_path / "stale"
    cortexdb.migrate(stale, frozen=synthetic_frozen([V1, (3, "main", "CREATE TABLE IF NOT EXISTS x (y);")]))
    data.mkdir()
    aside = Path(_aside.aside_path(str(data / "main.db")))
    aside.write_bytes((stale / "main.db").read_bytes()[:1500])
    Path(str(aside) + "-wal").write_bytes(b"not a wal" * 100)
    Path(str(aside) + "-journal").write_bytes(b"not a journal" * 100)

    cortexdb.migrate(data, frozen=SMALL)

    assert ledger_rows(data / "main.db") == expected_ledger(SMALL, "main")
    assert live_schema(data / "main.db") == tuple(SMALL.DATABASES["main"]["schema"])
    assert _asides(data) == []


def test_an_aside_file_is_never_taken_for_a_session(tmp_path: Path) -> None:
    cortexdb.open_session(tmp_path, "s1", frozen=SMALL).close()
    Path(_aside.aside_path(str(tmp_path / "sessions" / "s2.db"))).write_bytes(b"")
    result = cortexdb.migrate(tmp_path, frozen=SMALL)
    assert sorted(os.path.basename(r.path) for r in result.databases) == ["main.db", "s1.db"]
    assert [os.path.basename(s.path) for s in cortexdb.status(tmp_path, frozen=SMALL)] == ["main.db", "s1.db"]


def test_without_hard_links_a_new_database_is_migrated_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file system that refuses `link` (as vfat does, with EPERM): the build aside is dropped
    and the database is created in place, as on a platform without `fcntl`."""
    def no_links(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    monkeypatch.setattr(_aside, "hard_links", True)
    result = cortexdb.migrate(tmp_path, frozen=SMALL)
    assert [r.state for r in result.databases] == [MIGRATED]
    assert _aside.hard_links is False
    assert ledger_rows(tmp_path / "main.db") == expected_ledger(SMALL, "main")
    assert _asides(tmp_path) == []
    cortexdb.open_session(tmp_path, "s1", frozen=SMALL).close()  # straight in place now
    assert ledger_rows(tmp_path / "sessions" / "s1.db") == expected_ledger(SMALL, "session")


OPEN_SESSION = """
import sys
import cortexdb
print("ready", flush=True)
sys.stdin.readline()
conn = cortexdb.open_session(sys.argv[1], sys.argv[2])
print(conn.execute("SELECT count(*) FROM schema_migrations").fetchone()[0], flush=True)
conn.close()
"""


def test_eight_processes_opening_one_new_session_together(tmp_path: Path) -> None:
    """Released together on one new session: all get a connection to the complete database,
    its migrations recorded once, and nothing is left beside it."""
    processes = [subprocess.Popen([sys.executable, "-c", OPEN_SESSION, str(tmp_path), "shared-session"],
                                  env=child_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(8)]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.close()
        process.stdin = None
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [p.returncode for p in processes] == [0] * 8, [err for _, err in outputs]
    count = len(expected_ledger(FROZEN, "session"))
    assert collections.Counter(out.strip() for out, _ in outputs) == {str(count): 8}
    path = tmp_path / "sessions" / "shared-session.db"
    assert ledger_rows(path) == expected_ledger(FROZEN, "session")
    assert _asides(tmp_path) == []



TWO = synthetic_frozen([V1, (3, "zeta", "CREATE TABLE IF NOT EXISTS z (id INTEGER PRIMARY KEY);")],
                       databases={"main": "main.db", "zeta": "zeta.db"})


def test_while_one_database_is_being_created_elsewhere_the_next_one_is_created_meanwhile(tmp_path: Path) -> None:
    """Databases are independent: a process that finds main.db being created by another goes on
    to create zeta.db, and only then waits for main.db. Processes starting together on an empty
    data dir so share the work instead of queueing behind one of them."""
    template = tmp_path / "template"
    cortexdb.migrate(template, frozen=TWO)
    frozen_file = write_frozen(TWO, tmp_path / "two.py")
    data = tmp_path / "data"
    holder, process = _migrate_until_it_waits_for_main(data, frozen_file, template / "main.db")
    # It waits for main.db only now, with zeta.db already complete and in place.
    assert ledger_rows(data / "zeta.db") == expected_ledger(TWO, "zeta")
    assert not (data / "main.db").exists()
    holder.communicate("publish\n", timeout=30)
    out, _ = process.communicate(timeout=60)
    assert process.returncode == 0
    assert out.splitlines()[:2] == [f"main       {'main.db':<28} up to date",
                                    f"zeta       {'zeta.db':<28} applied 003"]
    assert _asides(data) == []
