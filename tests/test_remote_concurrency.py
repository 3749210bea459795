"""Eight processes migrating the five databases on sqld at once, half of them through replicas.

Real processes (the CLI), released together by a barrier: each says "ready" once everything
is imported, then waits for a line on stdin. Each database has its own primary and two
replicas; process i talks to the primary when i is even, else to replica 1 or 2.
"""

from __future__ import annotations

import collections
import functools
from pathlib import Path

import sqld
from runtime_support import LEDGER, applied_by_output, expected_ledger, real_frozen, start_together, write_frozen
from test_remote_migrate import remote_ledger, remote_schema, remote_user_version

from cortexdb._catalog import load_catalog

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
SHARED = [name for name, spec in CATALOG.databases.items() if not spec.session]
PROCESSES = 8


def _node(cluster: sqld.SqldCluster, index: int) -> sqld.SqldNode:
    return cluster.primary if index % 2 == 0 else cluster.replicas[(index // 2) % len(cluster.replicas)]


def test_eight_processes_half_through_replicas_record_each_version_once(tmp_path: Path) -> None:
    frozen_file = write_frozen(FROZEN, tmp_path / "frozen.py")  # a rebuild meanwhile must not change it
    with sqld.sqld_clusters(tmp_path / "sqld", SHARED, replicas=2) as clusters:
        processes = start_together([
            ("migrate", "--data-dir", str(tmp_path / f"data{index}"),
             *(f"--database-url={name}={_node(cluster, index).url}" for name, cluster in clusters.items()))
            for index in range(PROCESSES)], frozen_file)
        results = [process.communicate(timeout=120) for process in processes]

        for index, (process, (_, stderr)) in enumerate(zip(processes, results, strict=True)):
            assert process.returncode == 0, f"process {index}: {stderr}"
        applied: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
        for stdout, _ in results:
            for name, versions in applied_by_output(stdout).items():
                applied[name].update(versions)
        through_replicas = sum(bool(applied_by_output(stdout)) for stdout, _ in results[1::2])
        for name, cluster in clusters.items():
            own = [m.version for m in CATALOG.databases[name].migrations]
            assert applied[name] == collections.Counter(own), name  # each by exactly one process
            primary = cluster.primary.url
            assert remote_ledger(primary) == expected_ledger(FROZEN, name), name
            assert remote_user_version(primary) == CATALOG.databases[name].fingerprint, name
            proven = tuple(FROZEN.DATABASES[name]["schema"])
            assert remote_schema(primary) == proven, name
            for replica in cluster.replicas:  # replicas converge to the proven schema and ledger
                sqld.wait_for(functools.partial(_converged, replica.url, name, proven),
                              what=f"{name} on {replica.name} converges", timeout=15)
        assert through_replicas >= 1  # the replicas' processes did apply some, not only wait


def _converged(url: str, name: str, proven: tuple[tuple[object, ...], ...]) -> bool:
    return remote_schema(url) == proven and remote_ledger(url) == expected_ledger(FROZEN, name) and bool(
        sqld.query(url, f"SELECT count(*) FROM {LEDGER}")
    )
