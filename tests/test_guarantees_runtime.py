"""The runtime's two guarantees, asserted as a user would observe them, with real processes.

1. Exactly once: processes started together on an existing, partly migrated data dir apply
   each pending migration once between them. Each migration inserts a row into a table
   without a unique key, so a migration applied twice leaves two rows, whoever did it.
   (It needs the ledger to be read under the write lock, not before it.)
2. Atomic: another connection only ever sees a prefix of the migrations, whose ledger rows,
   schema and fingerprint agree. Checked two ways while a real process migrates:
   - paused (SIGSTOP) after each line it logs, a fresh connection reads the database;
   - every state it committed is rebuilt afterwards from the write-ahead log: a reader holding
     a snapshot from before the run keeps SQLite from checkpointing, so the WAL keeps every
     commit frame, and the database file plus the WAL cut after a commit frame is exactly what
     a reader starting at that moment would have seen. (It needs the ledger row and the
     fingerprint to be written inside the migration's transaction, not after its COMMIT.)

No sleeps: processes start behind a barrier (`start_together`), pauses follow the child's own
log lines.
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from runtime_support import (
    applied_by_output,
    assert_prefix,
    derived,
    expected_fingerprint,
    expected_ledger,
    ledger_rows,
    live_schema,
    real_frozen,
    shared_databases,
    spawn_cli,
    start_together,
    synthetic_frozen,
    user_version,
    write_frozen,
)

import cortexdb

PROCESSES = 8
MIGRATIONS = 24
#: Each round starts from a data dir migrated this far (an existing file, migrated in place).
ALREADY_APPLIED = (1, 6, 13, 20, 23)
DATABASES = {"main": "main.db"}


#: Counting to 100,000 inside the statement keeps each migration's transaction (and so the
#: write lock) busy for ~10 ms, so the processes meet in the loop of locked transactions
#: instead of one finishing before the others start. No assertion depends on it.
_BUSY = "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 100000) SELECT count(*) FROM c)"


def _counting_frozen() -> Any:
    """Every migration records that it ran: one row per run in `runs`, which has no unique key."""
    migrations = [(1, "main", "CREATE TABLE IF NOT EXISTS runs (version INTEGER NOT NULL);\n"
                              "INSERT INTO runs (version) VALUES (1);\n")]
    migrations += [(version, "main", f"CREATE TABLE IF NOT EXISTS t{version} (id INTEGER PRIMARY KEY);\n"
                                     f"INSERT INTO runs (version) SELECT {version} WHERE {_BUSY} > 0;\n")
                   for version in range(2, MIGRATIONS + 1)]
    return synthetic_frozen(migrations, DATABASES)


def _runs(path: Path) -> collections.Counter[int]:
    conn = sqlite3.connect(path)
    try:
        return collections.Counter(version for (version,) in conn.execute("SELECT version FROM runs"))
    finally:
        conn.close()


def test_processes_started_together_on_a_partly_migrated_data_dir_apply_each_migration_once(
        tmp_path: Path) -> None:
    frozen = _counting_frozen()
    frozen_file = write_frozen(frozen, tmp_path / "frozen.py")
    everything = collections.Counter(range(1, MIGRATIONS + 1))
    for applied in ALREADY_APPLIED:
        data = tmp_path / f"from{applied:02d}"
        cortexdb.migrate(data, frozen=derived(frozen, upto=applied), backup=False)
        assert _runs(data / "main.db") == collections.Counter(range(1, applied + 1))

        processes = start_together([["migrate", "--data-dir", str(data)]] * PROCESSES, frozen_file)
        results = [process.communicate(timeout=300) for process in processes]

        for process, (_, stderr) in zip(processes, results, strict=True):
            assert process.returncode == 0, f"from {applied}: {stderr}"
        # What ran, as the database itself counts it: each migration once, in any process.
        assert _runs(data / "main.db") == everything, f"from {applied}"
        # What the processes say they applied: the pending ones, each by exactly one of them.
        said: collections.Counter[int] = collections.Counter()
        for stdout, _ in results:
            said.update(applied_by_output(stdout).get("main", []))
        assert said == collections.Counter(range(applied + 1, MIGRATIONS + 1)), f"from {applied}"
        path = data / "main.db"
        assert ledger_rows(path) == expected_ledger(frozen, "main")
        assert live_schema(path) == tuple(frozen.DATABASES["main"]["schema"])
        assert user_version(path) == expected_fingerprint(frozen, "main", MIGRATIONS)


# ---------------------------------------------------------------- what another connection sees


FROZEN = real_frozen()
PARTLY = 41  # migrated up to 041: the rest (a table rebuild with foreign keys off among them) in place


def _commit_frames(wal: bytes) -> Iterator[int]:
    """The end offset of every commit frame in a WAL file (format: sqlite.org/fileformat.html)."""
    page_size = int.from_bytes(wal[8:12], "big")
    frame = 24 + page_size
    for start in range(32, len(wal) - frame + 1, frame):
        if int.from_bytes(wal[start + 4 : start + 8], "big"):  # the database size after a commit
            yield start + frame


def _committed_states(path: Path, scratch: Path) -> Iterator[Path]:
    """The file as a new reader would have found it after each commit, rebuilt in `scratch`."""
    wal = (path.parent / (path.name + "-wal")).read_bytes()
    for number, end in enumerate(_commit_frames(wal)):
        state = scratch / f"{path.stem}-commit{number:03d}"
        state.mkdir(parents=True)
        shutil.copyfile(path, state / path.name)
        (state / (path.name + "-wal")).write_bytes(wal[:end])
        yield state / path.name


def _hold_snapshot(path: Path) -> sqlite3.Connection:
    """A reader whose snapshot predates the run: no checkpoint can move the WAL into the file."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    return conn


def _paused_at_each_line(args: list[str], frozen_file: Path, observe: Any) -> int:
    """Run `cortex db ARGS --debug`; after each line it logs, stop it, `observe()`, continue.
    Returns how many pauses there were; the run must succeed."""
    process = spawn_cli(*args, "--debug", frozen_file=frozen_file, stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert process.stderr is not None
    pauses = 0
    exit_code = None
    for _ in process.stderr:
        os.kill(process.pid, signal.SIGSTOP)
        _, status = os.waitpid(process.pid, os.WUNTRACED)
        if not os.WIFSTOPPED(status):  # it exited before the signal: its status is reaped here
            exit_code = os.waitstatus_to_exitcode(status)
            break
        observe()
        pauses += 1
        os.kill(process.pid, signal.SIGCONT)
    process.stderr.close()
    if exit_code is None:
        exit_code = process.wait(timeout=300)
    assert exit_code == 0
    return pauses


@pytest.fixture(scope="module")
def frozen_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_frozen(FROZEN, tmp_path_factory.mktemp("frozen") / "frozen.py")


def test_another_connection_only_ever_sees_whole_migrations(tmp_path: Path, frozen_file: Path) -> None:
    data = tmp_path / "data"
    cortexdb.migrate(data, frozen=derived(FROZEN, upto=PARTLY), backup=False)
    files = {name: data / file for name, file in shared_databases(FROZEN).items()}
    before = {name: assert_prefix(path, FROZEN, name) for name, path in files.items()}
    readers = [_hold_snapshot(path) for path in files.values()]
    try:
        seen: dict[str, set[int]] = collections.defaultdict(set)

        def observe() -> None:
            for name, path in files.items():
                seen[name].add(assert_prefix(path, FROZEN, name))

        pauses = _paused_at_each_line(["migrate", "--data-dir", str(data)], frozen_file, observe)
        assert pauses > 10  # it was seen at many points, not only before and after

        committed: dict[str, list[int]] = {}
        for name, path in files.items():
            committed[name] = [assert_prefix(state, FROZEN, name)
                               for state in _committed_states(path, tmp_path / "states")]
    finally:
        for reader in readers:
            reader.close()

    for name, path in files.items():
        total = len([e for e in FROZEN.MIGRATIONS if e["database"] == name])
        assert assert_prefix(path, FROZEN, name) == total, name
        # One commit per migration applied, each one more than the last: every state between
        # the first and the last was seen, and each was whole.
        assert committed[name] == list(range(before[name] + 1, total + 1)), name
        assert seen[name] <= set(range(before[name], total + 1)), name
    assert sum(len(counts) for counts in seen.values()) > len(files)  # some were seen mid-run
