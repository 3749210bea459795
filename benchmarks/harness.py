"""Timing with medians, min and max; ratios only against baselines measured in the same run."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sample:
    label: str
    seconds: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    def cell(self) -> str:
        return f"{_fmt(self.median)} ({_fmt(min(self.seconds))}-{_fmt(max(self.seconds))})"


@dataclass(frozen=True)
class Row:
    what: str
    measured: Sample
    baseline: Sample | None
    target: str
    verdict: bool | None  # None when the target is not a ratio we can judge
    shown: str | None = None  # a figure that is not a time (memory, a growth factor)

    @property
    def ratio(self) -> float | None:
        return self.measured.median / self.baseline.median if self.baseline else None


def _fmt(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.0f} µs"


def measure(label: str, run: Callable[[], object], *, repeat: int = 7,
            setup: Callable[[], object] | None = None, warmup: int = 1) -> Sample:
    """Time `run` `repeat` times (after `warmup` untimed runs); `setup` runs untimed before each."""
    for _ in range(warmup):
        if setup:
            setup()
        run()
    seconds = []
    for _ in range(repeat):
        if setup:
            setup()
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    return Sample(label, seconds)


def interleaved(pairs: dict[str, Callable[[], object]], *, repeat: int = 7,
                setup: Callable[[], object] | None = None,
                retry: Callable[[str, Exception], bool] | None = None) -> dict[str, Sample]:
    """Time several contenders alternately, so drift of a noisy machine hits all alike.

    `retry(name, error)` True: that run failed for a reason outside the contender's control;
    it is run again after a new `setup` (at most twice), its failed time discarded and the
    failure reported on stderr.
    """
    times: dict[str, list[float]] = {name: [] for name in pairs}
    for round_ in range(repeat + 1):
        for name, run in pairs.items():
            for attempt in range(3):
                if setup:
                    setup()
                start = time.perf_counter()
                try:
                    run()
                except Exception as error:
                    if retry is None or attempt == 2 or not retry(name, error):
                        raise
                    print(f"note: {name} failed ({error}); run again", file=sys.stderr, flush=True)
                    continue
                if round_:  # the first round warms caches and is not counted
                    times[name].append(time.perf_counter() - start)
                break
    return {name: Sample(name, seconds) for name, seconds in times.items()}


def table(rows: list[Row]) -> str:
    lines = [
        "| what | median (min-max) | baseline median (min-max) | ratio | target | ok |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}x" if row.ratio is not None else "—"
        base = f"{row.baseline.label}: {row.baseline.cell()}" if row.baseline else "—"
        verdict = {True: "yes", False: "**no**", None: "—"}[row.verdict]
        measured = row.shown if row.shown is not None else row.measured.cell()
        lines.append(f"| {row.what} | {measured} | {base} | {ratio} | {row.target} | {verdict} |")
    return "\n".join(lines)
