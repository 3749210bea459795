"""The parallel map of a build: work items side by side in forked worker processes.

A build's items are its databases (build.py): independent of one another, each costing about
its size in SQL. They run largest first, so that two cores each prove a database while the
other's SQLite re-reads its schema (`ALTER TABLE ... ADD COLUMN` does, and dominates the
proof). Processes, not threads: two threads running SQLite side by side measured no faster
than one here.

The results come back in the order of the items, whichever worker made them, so a caller's
output does not depend on how many workers there were.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

# Below this much SQL, forking costs more than it saves (measured: 6 databases of 37 KB in all,
# 0.13 s alone and 0.17 s with two workers; 74 KB, 0.24 s and 0.21 s; the shipped 96 KB, where
# one database holds most of the SQL, 0.175 s and 0.135 s).
PARALLEL_FROM_BYTES = 64 * 1024
# Each worker holds one database's compiled files and scratch database at a time (peak RSS 43 MB
# for the 1,000-migration synthetic project, beside the build's own 66 MB): four stay in 300 MB.
MAX_JOBS = 4


def parallel_map(work: Callable[[Item], Result], items: Sequence[Item], sizes: Sequence[int],
                 jobs: int | None = None, warm_up: Callable[[], None] | None = None) -> list[Result]:
    """`[work(item) for item in items]`, the items of nonzero size possibly in worker processes.

    `jobs` is the number of workers; None picks: one per core (at most MAX_JOBS) when the
    sizes add up to a large job on a platform that forks, else none (all in this process).
    `warm_up` runs once before the workers fork, so that each inherits what it imported. An
    item whose worker died (killed, out of memory) is done again in this process.
    """
    if jobs is None:
        jobs = _default_jobs(sum(sizes))
    busy = [i for i, size in enumerate(sizes) if size]
    done: dict[int, Result] = {}
    if jobs >= 2 and len(busy) >= 2:
        if warm_up is not None:
            warm_up()
        done = _in_workers(work, items, sorted(busy, key=lambda i: (-sizes[i], i)), jobs)
    return [done[i] if i in done else work(item) for i, item in enumerate(items)]


def _in_workers(work: Callable[[Item], Result], items: Sequence[Item], order: list[int],
                jobs: int) -> dict[int, Result]:
    """The results of the items at `order` (largest first) from forked workers; an item whose
    worker died is missing, and the caller does it in this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("fork")
    done: dict[int, Result] = {}
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(order)), mp_context=context,
                               initializer=_end_on_interrupt)
    try:
        futures = {i: pool.submit(work, items[i]) for i in order}
        for i, future in futures.items():
            try:
                done[i] = future.result()
            except BrokenProcessPool:
                continue
    finally:
        # On Ctrl-C (or an item's error) the items not started yet are not started at all.
        pool.shutdown(wait=True, cancel_futures=True)
    return done


def _end_on_interrupt() -> None:
    """A worker ends at once on Ctrl-C (it writes nothing), instead of raising
    KeyboardInterrupt into its item and going on with the next one."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _default_jobs(total_bytes: int) -> int:
    if total_bytes < PARALLEL_FROM_BYTES or not _can_fork():
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, MAX_JOBS)


def _can_fork() -> bool:
    import multiprocessing

    # macOS can fork, but its system libraries are not safe in a forked child; a daemonic
    # process (a multiprocessing.Pool worker) may not start children at all.
    return (sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()
            and not multiprocessing.current_process().daemon)
