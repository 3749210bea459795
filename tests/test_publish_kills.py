"""Creating a database is safe at every instant: a process killed before or after any file
operation the runtime makes (not only at random ones) leaves every existing database intact
or consistently migrated, and the next run finishes the job. Nothing is ever truncated that
is, or has become, someone's database."""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import (
    ROOT,
    expected_ledger,
    ledger_rows,
    live_schema,
    prefix_schema,
    synthetic_frozen,
    write_frozen,
)

import cortexdb

DATABASES = {"main": "main.db", "other": "other.db", "session": "sessions/{session_id}.db"}
V1 = [(1, "main", "CREATE TABLE IF NOT EXISTS a (x);"), (2, "session", "CREATE TABLE IF NOT EXISTS s (y);")]
V2 = [*V1, (3, "main", "CREATE TABLE IF NOT EXISTS b (x);"), (4, "other", "CREATE TABLE IF NOT EXISTS o (z);"),
      (5, "session", "CREATE TABLE IF NOT EXISTS s2 (y);")]
OLD, NEW = synthetic_frozen(V1, DATABASES), synthetic_frozen(V2, DATABASES)

# The child counts every file operation a cortexdb frame makes and kills itself with SIGKILL
# before or after the chosen one: `N` (the Nth) or a name (the first call of it, e.g. link).
CHILD = r"""
import fcntl, importlib.util, os, signal, sys
target, when, data, frozen_file, actions = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
spec = importlib.util.spec_from_file_location("frozen_under_test", frozen_file)
frozen = importlib.util.module_from_spec(spec)
spec.loader.exec_module(frozen)
import cortexdb
count = 0
def wrap(module, name):
    real = getattr(module, name)
    def step(*args, **kwargs):
        global count
        if os.sep + "cortexdb" + os.sep not in sys._getframe(1).f_code.co_filename:
            return real(*args, **kwargs)
        count += 1
        chosen = target == str(count) or target == name
        if chosen and when == "before":
            os.kill(os.getpid(), signal.SIGKILL)
        try:
            return real(*args, **kwargs)
        finally:  # after the call, whether it succeeded or raised
            if chosen and when == "after":
                os.kill(os.getpid(), signal.SIGKILL)
    setattr(module, name, step)
for name in ("open", "close", "fsync", "link", "unlink", "rename", "replace", "ftruncate", "makedirs",
             "mkdir", "remove", "rmdir"):
    wrap(os, name)
wrap(fcntl, "flock")
for action in actions:
    if action == "migrate":
        cortexdb.migrate(data, frozen=frozen)
    else:
        cortexdb.open_session(data, action, frozen=frozen).close()
print("steps", count, flush=True)
"""


def _run_child(target: str, when: str, data: Path, frozen_file: Path,
               *actions: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", CHILD, target, when, str(data), str(frozen_file), *actions],
                          capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("template") / "data"
    cortexdb.migrate(data, frozen=OLD)
    cortexdb.open_session(data, "s_old", frozen=OLD).close()
    return data


def _consistent(path: Path, name: str) -> bool:
    """The file holds a prefix of its migrations: ledger and schema agree."""
    rows = ledger_rows(path)
    versions = [v for v, db, _ in V2 if db == name]
    prefix = [row[0] for row in rows] == versions[: len(rows)]
    return prefix and live_schema(path) == prefix_schema(NEW, name, len(rows))


def _assert_finished(data: Path) -> None:
    for name, file in (("main", "main.db"), ("other", "other.db"), ("session", "sessions/s_old.db"),
                       ("session", "sessions/s_new.db")):
        assert ledger_rows(data / file) == expected_ledger(NEW, name), file
        assert live_schema(data / file) == tuple(NEW.DATABASES[name]["schema"]), file


def test_a_kill_at_every_file_operation_loses_nothing(template: Path, tmp_path: Path) -> None:
    frozen_file = write_frozen(NEW, tmp_path / "new.py")
    probe = tmp_path / "probe"
    shutil.copytree(template, probe)
    whole = _run_child("0", "never", probe, frozen_file, "migrate", "s_new")
    assert whole.returncode == 0, whole.stderr
    steps = int(whole.stdout.split()[1])
    assert steps >= 20  # locks, the aside build's files, the link, the backup: all counted
    existing = {"main.db": "main", "sessions/s_old.db": "session"}
    for step in range(1, steps + 1):
        for when in ("before", "after"):
            data = tmp_path / f"{step}-{when}"
            shutil.copytree(template, data)
            killed = _run_child(str(step), when, data, frozen_file, "migrate", "s_new")
            # A run may make one operation fewer (e.g. a backup folder name free at once).
            done_early = killed.returncode == 0 and int(killed.stdout.split()[1]) < step
            assert killed.returncode == -signal.SIGKILL or done_early, (step, when, killed.stderr)
            for file, name in existing.items():
                assert _consistent(data / file, name), (step, when, file)
            cortexdb.migrate(data, frozen=NEW)
            cortexdb.open_session(data, "s_new", frozen=NEW).close()
            _assert_finished(data)
            shutil.rmtree(data)


def test_a_second_name_left_by_a_kill_is_never_truncated(template: Path, tmp_path: Path) -> None:
    """Killed right after linking the new session database into place: its build file is a
    second name of it. The application uses the database, then deletes the session while a
    connection still has it open; a new session of that id must not damage what it reads."""
    frozen_file = write_frozen(NEW, tmp_path / "new.py")
    data = tmp_path / "data"
    shutil.copytree(template, data)
    killed = _run_child("link", "after", data, frozen_file, "s_new")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    path = data / "sessions" / "s_new.db"
    app = sqlite3.connect(path)
    app.execute("INSERT INTO s2 (y) SELECT value FROM json_each('[1,2,3,4,5,6,7,8,9,10]')")
    app.execute("INSERT INTO s2 (y) SELECT randomblob(3000) FROM s2")
    app.commit()
    path.unlink()
    for companion in ("-wal", "-shm"):
        if Path(str(path) + companion).exists():
            Path(str(path) + companion).unlink()

    cortexdb.open_session(data, "s_new", frozen=NEW).close()

    assert app.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert app.execute("SELECT count(*) FROM s2").fetchone() == (20,)
    app.close()
    assert live_schema(path) == tuple(NEW.DATABASES["session"]["schema"])
