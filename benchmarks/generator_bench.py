"""The generator's speed: the shipped build, the cached no-op build, and 1,000 synthetic migrations."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .harness import Row, Sample, measure
from .synthetic import write_project

ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    return env


def _build(project: Path) -> None:
    subprocess.run([sys.executable, "-m", "generator", "build"], cwd=project, env=_env(), check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _copy_shipped(into: Path, *, records: bool = True) -> Path:
    """What a fresh clone holds: the migrations, the manifest, the lock and the schema files
    (whose heal proof records a build with the same inputs takes); `records=False` leaves the
    schema files out, so the build runs the heal proof."""
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    shutil.copytree(ROOT / "migrations", into / "migrations")
    shutil.copy(ROOT / "manifest.toml", into / "manifest.toml")
    shutil.copy(ROOT / "migrations.lock", into / "migrations.lock")
    if records:
        shutil.copytree(ROOT / "schema", into / "schema")
    return into


def _timed_child(project: Path) -> tuple[float, int]:
    """Seconds and peak RSS (KiB) of one build in a child process.

    The build may fork worker processes (generator/workers.py): their memory counts too, as
    the largest worker's peak once per worker beside the build's own peak (an upper bound).
    """
    code = ("import os, resource, runpy, sys; sys.argv=['generator','build']\n"
            "try:\n    runpy.run_module('generator', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
            "worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
            "print(own + min(2, len(os.sched_getaffinity(0))) * worker)")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=project, env=_env(), check=True,
                          capture_output=True, text=True)
    return time.perf_counter() - start, int(proc.stdout.strip().splitlines()[-1])


def run(quick: bool = False) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="cortexdb-bench-gen-") as tmp:
        base = Path(tmp)
        shipped = base / "shipped"

        def fresh() -> None:  # no build cache: every run parses, lints and proves
            _copy_shipped(shipped)

        full = measure("make migrations", lambda: _build(shipped), setup=fresh, repeat=3 if quick else 5)
        rows.append(Row("`make migrations`, 47 shipped migrations, whole process, no cache (a fresh clone: "
                        "the heal proof's committed records stand)", full, None, "<= 1.0 s", full.median <= 1.0))
        healing = measure("with the heal proof", lambda: _build(shipped),
                          setup=lambda: _copy_shipped(shipped, records=False), repeat=1 if quick else 3)
        rows.append(Row("`make migrations`, no cache and no schema files: the heal proof runs (754 crash points)",
                        healing, None, "— (informative)", None))

        _copy_shipped(shipped)
        _build(shipped)
        sql = shipped / "migrations" / "047_core_scoping.sql"
        original = sql.read_bytes()
        flip = [0]

        def touch() -> None:  # a real change of bytes each time: a comment toggles
            flip[0] += 1
            sql.write_bytes(original + (b"-- touched\n" if flip[0] % 2 else b""))

        changed = measure("with a change", lambda: _build(shipped), setup=touch, repeat=3 if quick else 5)
        sql.write_bytes(original)
        _build(shipped)
        noop = measure("nothing changed", lambda: _build(shipped), repeat=5 if quick else 9)
        rows.append(Row("`make migrations` when nothing changed (cache hit)", noop, changed, "<= 0.25 s",
                        noop.median <= 0.25))

        sizes = [250, 500, 1000] if not quick else [100, 200]
        per_statement: list[tuple[int, float]] = []
        peak = 0
        seconds_at: dict[int, list[float]] = {}
        for size in sizes:
            seconds_at[size] = []
            for attempt in range(1 if quick else 3):  # each size its fastest of three: one noisy run skews growth
                project = write_project(base / f"syn{size}-{attempt}", size, databases=6)
                seconds, rss = _timed_child(project)
                seconds_at[size].append(seconds)
                peak = max(peak, rss)
                shutil.rmtree(project)
            per_statement.append((size * 20, min(seconds_at[size]) / (size * 20)))
        largest = sizes[-1]
        big = Sample(f"{largest} migrations", seconds_at[largest])
        rows.append(Row(f"generator on {largest} synthetic migrations (~{largest * 20:,} statements, 6 databases)",
                        big, None, "<= 15 s", big.median <= 15 if largest == 1000 else None))
        rows.append(Row("peak memory of the synthetic builds", Sample("rss", [0.0]), None,
                        "<= 300 MB", peak / 1024 <= 300, shown=f"{peak / 1024:.0f} MB"))
        growth = per_statement[-1][1] / per_statement[0][1]
        detail = ", ".join(f"{n:,} stmts: {t * 1e6:.0f} µs/stmt" for n, t in per_statement)
        rows.append(Row(f"generator cost per statement ({detail})", Sample("per-stmt", [0.0]), None,
                        "linear in statements", growth <= 1.5, shown=f"growth {growth:.2f}x"))
    return rows


if __name__ == "__main__":
    from .harness import table

    print(table(run(quick="--quick" in sys.argv)))
