"""`python -m benchmarks [--quick]` (`make bench`): every `benchmarks/*_bench.py`, one table.

Each module defines `run(quick: bool) -> list[Row]`; the generator's and the runtime's run
first, any other (e.g. a remote backend's) after them in name order. A missed target is a
result, not a failure: it is listed under the table and the exit status stays 0. A module
that crashes is reported and makes the exit status 1, after the others have run.
"""

from __future__ import annotations

import importlib
import os
import platform
import sqlite3
import sys
import time
import traceback
from pathlib import Path

from .harness import Row, table

FIRST = ("generator_bench", "runtime_bench")


def bench_modules() -> list[str]:
    found = sorted(path.stem for path in Path(__file__).parent.glob("*_bench.py"))
    return [name for name in FIRST if name in found] + [name for name in found if name not in FIRST]


def machine() -> str:
    cores = os.cpu_count()
    try:
        load = "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        load = "load average unknown"
    return (f"{platform.system()} {platform.machine()}, {cores} cores (nproc), {load}; "
            f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    unknown = [arg for arg in argv if arg != "--quick"]
    if unknown:
        print(f"usage: python -m benchmarks [--quick]\nunknown argument: {unknown[0]}", file=sys.stderr)
        return 2
    rows: list[Row] = []
    crashed: list[str] = []
    started = time.perf_counter()
    print(f"machine: {machine()}", file=sys.stderr)
    for name in bench_modules():
        module_start = time.perf_counter()
        print(f"running benchmarks.{name}{' (quick)' if quick else ''} ...", file=sys.stderr, flush=True)
        try:
            module = importlib.import_module(f"{__package__}.{name}")
            run = getattr(module, "run", None)
            if run is None:
                continue
            rows.extend(run(quick))
        except Exception:
            crashed.append(name)
            print(f"benchmarks.{name} crashed:\n{traceback.format_exc()}", file=sys.stderr)
        print(f"  {name}: {time.perf_counter() - module_start:.0f} s", file=sys.stderr, flush=True)
    print(f"machine: {machine()}")
    print(f"command: python -m benchmarks{' --quick' if quick else ''}; "
          f"{time.perf_counter() - started:.0f} s in all\n")
    print(table(rows))
    missed = [row for row in rows if row.verdict is False]
    print()
    if missed:
        print(f"MISSED {len(missed)} of {sum(row.verdict is not None for row in rows)} targets:")
        for row in missed:
            ratio = f" (ratio {row.ratio:.2f}x)" if row.ratio is not None else ""
            print(f"  - {row.what}: target {row.target}{ratio}")
    else:
        print(f"all {sum(row.verdict is not None for row in rows)} targets met")
    if crashed:
        print(f"CRASHED: {', '.join(crashed)} (see stderr); their rows are missing")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
