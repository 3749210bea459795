"""Many processes at once, and processes killed with SIGKILL mid-migration (real processes).

No sleeps and no timing: processes start behind a barrier (each says "ready", then waits for
a line on stdin); kills land after the N-th logged step of the child, N drawn from a seeded
random generator, while the child keeps running, so the kill lands wherever it has got to.
"""

from __future__ import annotations

import collections
import random
import shutil
import signal
import subprocess
from pathlib import Path

import pytest
from runtime_support import (
    applied_by_output,
    derived,
    expected_ledger,
    ledger_rows,
    live_schema,
    prefix_schema,
    real_frozen,
    run_cli,
    shared_databases,
    spawn_cli,
    start_together,
    user_version,
    write_frozen,
)

import cortexdb
from cortexdb._catalog import load_catalog
from cortexdb._contract import fingerprint

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
PROCESSES = 16
ROUNDS = 20


@pytest.fixture(scope="module")
def frozen_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real frozen data, pinned: a rebuild in the working tree must not change it mid-test."""
    return write_frozen(FROZEN, tmp_path_factory.mktemp("frozen") / "frozen.py")


def _start_together(count: int, frozen_file: Path, *args: str) -> list[subprocess.Popen[str]]:
    return start_together([args] * count, frozen_file)


def _check_complete(data: Path) -> None:
    for name, file in shared_databases(FROZEN).items():
        assert ledger_rows(data / file) == expected_ledger(FROZEN, name), name
        assert live_schema(data / file) == tuple(FROZEN.DATABASES[name]["schema"]), name
        assert user_version(data / file) == CATALOG.databases[name].fingerprint, name


def test_sixteen_processes_on_one_empty_data_dir(tmp_path: Path, frozen_file: Path) -> None:
    for round_number in range(ROUNDS):
        data = tmp_path / f"round{round_number:02d}"
        processes = _start_together(PROCESSES, frozen_file, "migrate", "--data-dir", str(data))
        results = [process.communicate(timeout=300) for process in processes]

        for process, (_, stderr) in zip(processes, results, strict=True):
            assert process.returncode == 0, f"round {round_number}: {stderr}"
        # Exactly once: over all processes, each migration was applied by one of them.
        applied: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        for stdout, _ in results:
            for name, versions in applied_by_output(stdout).items():
                applied[name].update(versions)
        for name in shared_databases(FROZEN):
            own = [m.version for m in CATALOG.databases[name].migrations]
            assert applied[name] == collections.Counter(own), (round_number, name)
        _check_complete(data)


def _check_prefix(data: Path) -> None:
    """Each database holds exactly a prefix of its migrations: ledger, schema, fingerprint."""
    for name, file in shared_databases(FROZEN).items():
        path = data / file
        if not path.exists() or path.stat().st_size == 0:
            continue
        rows = ledger_rows(path)
        count = len(rows)
        assert rows == expected_ledger(FROZEN, name, count), name
        assert live_schema(path) == prefix_schema(FROZEN, name, count), (name, count)
        migrations = CATALOG.databases[name].migrations[:count]
        expected = fingerprint(CATALOG.ledger, name, [m.ledger_key for m in migrations]) if count else 0
        assert user_version(path) == expected, (name, count)


def _count_events(data: Path, frozen_file: Path) -> int:
    process = spawn_cli("migrate", "--data-dir", str(data), "--debug",
                        frozen_file=frozen_file, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    return len(stderr.splitlines())


def kill_and_recover(tmp_path: Path, frozen_file: Path, kills: int, seed: int) -> None:
    """Kills land in both ways a database is migrated: every other data dir starts empty (each
    database is built aside and linked into place whole), the others hold every database
    migrated up to 041 (pending migrations, the 042 rebuild among them, applied in place)."""
    rng = random.Random(seed)
    partial = tmp_path / "upto041"
    cortexdb.migrate(partial, frozen=derived(FROZEN, upto=41), backup=False)
    starts: list[Path | None] = [None, partial]
    events = []
    for number, start in enumerate(starts):
        calibration = _fresh_data_dir(tmp_path / f"calibration{number}", start)
        events.append(_count_events(calibration, frozen_file))
    assert min(events) > 30  # enough distinct points to kill at
    done = completed = 0
    data = _fresh_data_dir(tmp_path / "data0", starts[0])
    while done < kills:
        process = spawn_cli("migrate", "--data-dir", str(data), "--debug", frozen_file=frozen_file,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        assert process.stderr is not None
        target = rng.randint(1, events[completed % 2])
        for seen, _ in enumerate(process.stderr, 1):
            if seen == target:
                process.send_signal(signal.SIGKILL)
                break
        process.stderr.close()
        returncode = process.wait(timeout=300)
        if returncode == -signal.SIGKILL:
            done += 1
            _check_prefix(data)
        else:  # it finished before the N-th event: a complete run
            assert returncode == 0, f"seed {seed}, kill {done}"
            _check_complete(data)
            completed += 1
            data = _fresh_data_dir(tmp_path / f"data{completed}", starts[completed % 2])
    final = run_cli("migrate", "--data-dir", str(data), frozen_file=frozen_file)
    assert final.returncode == 0, final.stderr
    _check_complete(data)
    assert run_cli("verify", "--data-dir", str(data), frozen_file=frozen_file).returncode == 0
    assert sorted(p.name for p in data.rglob("..*")) == []  # what killed builds left is gone
    published = [p for p in (data / "backups").glob("2*")] if (data / "backups").exists() else []
    assert len(published) <= 5


def _fresh_data_dir(path: Path, start: Path | None) -> Path:
    if start is not None:
        shutil.copytree(start, path)
    return path


def test_kill_9_at_random_moments(tmp_path: Path, frozen_file: Path) -> None:
    kill_and_recover(tmp_path, frozen_file, kills=50, seed=20261126)


@pytest.mark.soak
def test_kill_9_soak(tmp_path: Path, frozen_file: Path) -> None:
    kill_and_recover(tmp_path, frozen_file, kills=500, seed=500)
