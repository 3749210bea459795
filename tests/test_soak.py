"""Soak-only runs (`make soak`): 50 rounds of 32 processes started together on an empty data dir.

Like the 16 x 20 concurrency test, with twice the processes and more rounds, and counting
instead of stopping at the first problem, so the summary says how many of how many: every
process must exit 0, every migration must be applied exactly once over all processes, and no
database may end anything but complete (ledger, schema and fingerprint). The counts go to
`record_property("soak", ...)`, which `tests/soak_report.py` prints after the run.
"""

from __future__ import annotations

import collections
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from runtime_support import (
    applied_by_output,
    expected_ledger,
    ledger_rows,
    live_schema,
    real_frozen,
    shared_databases,
    start_together,
    user_version,
    write_frozen,
)

from cortexdb._catalog import load_catalog

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
PROCESSES = 32
ROUNDS = 50


def _start_together(count: int, frozen_file: Path, data: Path) -> list[subprocess.Popen[str]]:
    return start_together([("migrate", "--data-dir", str(data))] * count, frozen_file)


def _database_problems(data: Path) -> list[str]:
    problems = []
    for name, file in shared_databases(FROZEN).items():
        path = data / file
        if ledger_rows(path) != expected_ledger(FROZEN, name):
            problems.append(f"{name}: ledger")
        elif live_schema(path) != tuple(FROZEN.DATABASES[name]["schema"]):
            problems.append(f"{name}: schema")
        elif user_version(path) != CATALOG.databases[name].fingerprint:
            problems.append(f"{name}: fingerprint")
    return problems


@pytest.mark.soak
def test_32_processes_50_rounds(tmp_path: Path, record_property: Callable[[str, object], None]) -> None:
    frozen_file = write_frozen(FROZEN, tmp_path / "frozen.py")
    own = {name: collections.Counter(m.version for m in CATALOG.databases[name].migrations)
           for name in shared_databases(FROZEN)}
    exited_ok = applied_once = lost = 0
    problems: list[str] = []
    for round_number in range(ROUNDS):
        data = tmp_path / f"round{round_number:02d}"
        processes = _start_together(PROCESSES, frozen_file, data)
        results = [process.communicate(timeout=600) for process in processes]
        for process, (_, stderr) in zip(processes, results, strict=True):
            if process.returncode == 0:
                exited_ok += 1
            else:
                problems.append(f"round {round_number}: exit {process.returncode}: {stderr.strip()[-300:]}")
        applied: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        for stdout, _ in results:
            for name, versions in applied_by_output(stdout).items():
                applied[name].update(versions)
        for name, versions in own.items():
            if applied[name] == versions:
                applied_once += sum(versions.values())
            else:
                problems.append(f"round {round_number}: {name} applied {dict(applied[name])}")
        damaged = _database_problems(data)
        lost += len(damaged)
        problems.extend(f"round {round_number}: {problem}" for problem in damaged)
    migrations = sum(sum(versions.values()) for versions in own.values())
    counts = {"trials": ROUNDS * PROCESSES, "unit": "processes", "survived": exited_ok, "lost": lost,
              "detail": f"{ROUNDS} rounds x {PROCESSES} processes; {applied_once} of {ROUNDS * migrations} "
                        "migrations applied exactly once"}
    record_property("soak", counts)
    print(f"\nsoak 32 processes: {counts}")
    assert not problems, "\n".join(problems[:20])
