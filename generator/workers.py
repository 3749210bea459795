"""Each database's share of a build, and running the shares side by side in worker processes.

A database's migrations depend on one another (the lint's MG010 context, the proof's scratch
database) but not on another database's, so a share is one database: compile its files in
version order, then prove them. The shares of a large project run in forked worker processes,
largest first, so that two cores each prove a database while the other's SQLite re-reads its
schema (`ALTER TABLE ... ADD COLUMN` does, and dominates the proof). Processes, not threads:
two threads running SQLite side by side measured no faster than one here.

Every share's result is the same wherever it ran, and the build merges them in manifest order,
so the output does not depend on how many workers there were.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .diagnostics import Diagnostic
from .manifest import Manifest, Migration

if TYPE_CHECKING:
    from cortexdb._contract import SchemaRow

    from .build import CompiledFile

# Below this much SQL, forking costs more than it saves (measured: 6 databases of 37 KB in all,
# 0.13 s alone and 0.17 s with two workers; 74 KB, 0.24 s and 0.21 s; the shipped 96 KB, where
# one database holds most of the SQL, 0.175 s and 0.135 s).
PARALLEL_FROM_BYTES = 64 * 1024
# Each worker holds one database's compiled files and scratch database at a time (peak RSS 43 MB
# for the 1,000-migration synthetic project, beside the build's own 66 MB): four stay in 300 MB.
MAX_JOBS = 4


@dataclass(frozen=True)
class DatabaseShare:
    """What building one database gave: its compiled files (in version order), its findings
    (lint, then proof), its final schema (None when it was not proven) and how many of its
    migrations passed the proof."""

    name: str
    compiled: list[CompiledFile]
    diagnostics: list[Diagnostic]
    schema: tuple[SchemaRow, ...] | None
    proven: int


def build_database(manifest: Manifest, name: str, migrations: Sequence[Migration]) -> DatabaseShare:
    """Compile one database's migrations in order, then prove them."""
    from .build import compile_file
    from .lint import LintContext
    from .proofinput import ProofInput
    from .prove import prove_database

    context = LintContext(created_tables=set(), created_columns=set())
    diagnostics: list[Diagnostic] = []
    compiled = [c for m in migrations if (c := compile_file(manifest, m, context, diagnostics)) is not None]
    # A database whose SQL does not even parse is not proven: its errors are already reported.
    broken = {d.path for d in diagnostics if d.code == "MG100"}
    if any(c.shown in broken for c in compiled):
        return DatabaseShare(name, compiled, diagnostics, None, 0)
    plan = [ProofInput(version=c.migration.version, path=c.shown, steps=c.steps, flags=c.flags,
                       allowed=c.allowed, description=c.migration.description, checksum=c.checksum,
                       allow=c.migration.allow, noqa=c.noqa) for c in compiled]
    schema, found, proven = prove_database(plan, manifest.ledger, name)
    return DatabaseShare(name, compiled, diagnostics + found, schema, proven)


def build_databases(manifest: Manifest, jobs: int | None = None) -> list[DatabaseShare]:
    """Every database's share, sorted by name. `jobs` is the number of worker processes;
    None picks: one per core (at most MAX_JOBS) for a large project on a platform that
    forks, else none (everything in this process)."""
    groups: dict[str, list[Migration]] = {name: [] for name in manifest.databases}
    for migration in manifest.migrations:
        groups[migration.database].append(migration)
    names = sorted(groups)
    sizes = {name: sum(_size(m) for m in groups[name]) for name in names}
    if jobs is None:
        jobs = _default_jobs(sum(sizes.values()))
    busy = [name for name in names if groups[name]]
    if jobs < 2 or len(busy) < 2:
        return [build_database(manifest, name, groups[name]) for name in names]
    shares = _in_workers(manifest, groups, sorted(busy, key=lambda n: (-sizes[n], n)), jobs)
    return [shares[name] if name in shares else build_database(manifest, name, groups[name]) for name in names]


def _in_workers(manifest: Manifest, groups: dict[str, list[Migration]], order: list[str],
                jobs: int) -> dict[str, DatabaseShare]:
    """The shares of `order` (largest first) from forked workers; a share whose worker died
    (killed, out of memory) is missing, and the caller builds it in this process."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _warm_up()  # imports happen once, here, and every forked worker inherits them
    context = multiprocessing.get_context("fork")
    shares: dict[str, DatabaseShare] = {}
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(order)), mp_context=context,
                               initializer=_end_on_interrupt)
    try:
        futures = {name: pool.submit(build_database, manifest, name, groups[name]) for name in order}
        for name, future in futures.items():
            try:
                shares[name] = future.result()
            except BrokenProcessPool:
                continue
    finally:
        # On Ctrl-C (or a share's error) the shares not started yet are not started at all.
        pool.shutdown(wait=True, cancel_futures=True)
    return shares


def _end_on_interrupt() -> None:
    """A worker ends at once on Ctrl-C (it writes nothing), instead of raising
    KeyboardInterrupt into its share and going on with the next one."""
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


def _size(migration: Migration) -> int:
    try:
        return migration.path.stat().st_size
    except OSError:  # compile_file reports it
        return 0


def _warm_up() -> None:
    """Import and build what every share needs: sqlglot's tokenizer and parser, the proof."""
    from . import prove  # noqa: F401
    from .analyze import analyze

    analyze("", "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING;")
