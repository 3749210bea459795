"""Creating a database is safe at every instant: a process killed before or after any file
operation the runtime makes (not only at random ones) leaves every existing database intact
or consistently migrated, and the next run finishes the job. Nothing is ever truncated that
is, or has become, someone's database.

`make soak` runs the sweep many more times (`CORTEXDB_SOAK_PUBLISH_ROUNDS`, default 30 rounds),
each round over every step of another scenario: the runs in another order, the run after the
kill itself killed at a random step, or a second process migrating at the same time.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Callable
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
#: The databases the template holds before the upgrade, with the table the application wrote
#: ROWS rows into (other.db: created with no migration, holding nothing).
EXISTING = {"main.db": ("main", "a"), "other.db": ("other", None), "sessions/s_old.db": ("session", "s")}
ROWS = 40

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
    for file, (_, table) in EXISTING.items():
        if table is not None:
            conn = sqlite3.connect(data / file)
            conn.executemany(f"INSERT INTO {table} VALUES (?)", [(f"row {n}",) for n in range(ROWS)])
            conn.commit()
            conn.close()
    return data


def _consistent(path: Path, name: str) -> bool:
    """The file holds a prefix of its migrations: ledger and schema agree."""
    rows = ledger_rows(path)
    versions = [v for v, db, _ in V2 if db == name]
    prefix = [row[0] for row in rows] == versions[: len(rows)]
    return prefix and live_schema(path) == prefix_schema(NEW, name, len(rows))


def _kill_problems(data: Path) -> list[str]:
    """What a kill broke: a database that existed before holding anything but a prefix of its
    migrations, or fewer rows than the application wrote; a new session database not whole."""
    problems = []
    for file, (name, table) in EXISTING.items():
        if not _consistent(data / file, name):
            problems.append(f"{file}: ledger and schema are not a prefix of its migrations")
        elif table is not None and _count(data / file, table) != ROWS:
            problems.append(f"{file}: rows lost")
    new = data / "sessions" / "s_new.db"
    if new.exists() and ledger_rows(new) != expected_ledger(NEW, "session"):
        problems.append("sessions/s_new.db: in place but not whole")
    return problems


def _count(path: Path, table: str) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


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
            assert _kill_problems(data) == [], (step, when)
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


# --- make soak: the sweep over many scenarios ---------------------------------------------------

#: The runs a killed process makes, in some order (each ends with everything done by the next run).
SCENARIOS = (("migrate", "s_new"), ("s_new", "migrate"), ("s_new",), ("migrate",), ("s_old", "s_new", "migrate"))


def _steps(template: Path, tmp_path: Path, frozen_file: Path, actions: tuple[str, ...]) -> int:
    probe = tmp_path / "probe"
    shutil.copytree(template, probe)
    whole = _run_child("0", "never", probe, frozen_file, *actions)
    assert whole.returncode == 0, whole.stderr
    shutil.rmtree(probe)
    return int(whole.stdout.split()[1])


def _partner(data: Path, frozen_file: Path) -> subprocess.Popen[str]:
    """A second process running `migrate` and the new session, never killed, at the same time."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-c", CHILD, "0", "never", str(data), str(frozen_file), "migrate",
                             "s_new"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            stdin=subprocess.DEVNULL)


@pytest.mark.soak
def test_a_kill_at_every_file_operation_soak(template: Path, tmp_path: Path,
                                             record_property: Callable[[str, object], None]) -> None:
    """Each trial (a kill point): the kill, the checks of `_kill_problems`, then the next run must
    finish the job. A trial is lost when any of that fails, or a partner process does not exit 0."""
    rounds = int(os.environ.get("CORTEXDB_SOAK_PUBLISH_ROUNDS", "30"))
    frozen_file = write_frozen(NEW, tmp_path / "new.py")
    trials = kills = lost = finished_early = 0
    problems: list[str] = []
    for number in range(rounds):
        rng = random.Random(number)
        actions = SCENARIOS[number % len(SCENARIOS)]  # 15 rounds: every scenario in every mode
        mode = ("plain", "killed again", "with a partner")[number % 3]
        steps = _steps(template, tmp_path, frozen_file, actions)
        for step in range(1, steps + 1):
            for when in ("before", "after"):
                where = f"round {number} ({' '.join(actions)}; {mode}), {when} step {step}"
                data = tmp_path / f"{number}-{step}-{when}"
                shutil.copytree(template, data)
                partner = _partner(data, frozen_file) if mode == "with a partner" else None
                runs = [_run_child(str(step), when, data, frozen_file, *actions)]
                found = []
                if partner is not None:  # checked once it is done: mid-run, ledger and schema are two reads
                    _, stderr = partner.communicate(timeout=120)
                    if partner.returncode != 0:
                        found.append(f"the partner exited {partner.returncode}: {stderr.strip()[-300:]}")
                found += _kill_problems(data)
                if mode == "killed again" and runs[0].returncode == -signal.SIGKILL and not found:
                    # The run after the kill is killed too, at a random step of a random scenario.
                    runs.append(_run_child(str(rng.randint(1, steps)), rng.choice(("before", "after")), data,
                                           frozen_file, *rng.choice(SCENARIOS)))
                    found = _kill_problems(data)
                for run in runs:
                    if run.returncode == 0:
                        finished_early += 1  # fewer operations this time (e.g. the partner did the work)
                    elif run.returncode != -signal.SIGKILL:
                        found.append(f"exit {run.returncode}: {run.stderr.strip()[-300:]}")
                try:
                    cortexdb.migrate(data, frozen=NEW)
                    cortexdb.open_session(data, "s_new", frozen=NEW).close()
                    _assert_finished(data)
                except (AssertionError, cortexdb.CortexDBError) as error:
                    found.append(f"the next run did not finish the job: {error!r}")
                trials += 1
                kills += sum(run.returncode == -signal.SIGKILL for run in runs)
                lost += bool(found)
                problems.extend(f"{where}: {problem}" for problem in found)
                shutil.rmtree(data)
    counts = {"trials": trials, "unit": "kill points", "survived": trials - lost, "lost": lost,
              "detail": f"{rounds} rounds, each a kill before and after every file operation of one scenario "
                        f"(order of the runs; the next run killed again; a second process at the same time), "
                        f"then the next run; {kills} kill -9 in all, {finished_early} runs finished before "
                        "their kill point"}
    record_property("soak", counts)
    print(f"\nsoak publish kills: {counts}")
    assert not problems, "\n".join(problems[:20])
