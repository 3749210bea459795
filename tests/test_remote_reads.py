"""Remote reads that decide nothing take no lock: `status`, `verify` and `migrate --dry-run`
beside an application's open write transaction on a real sqld.

sqld takes the write lock back from a transaction that holds it while another client waits
for it (after about 5 s), and the transaction's writes are lost. A read under `BEGIN
IMMEDIATE` is such a waiting client, so a `cortex db status` run while the application writes
used to cost the application its transaction. Reads that only report need no lock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqld
from runtime_support import real_frozen, run_cli

from cortexdb.remote.session import connect

FROZEN = real_frozen()


@pytest.mark.parametrize("command", [["status"], ["verify"], ["migrate", "--dry-run"]])
def test_a_read_beside_an_open_write_transaction_waits_for_nothing_and_costs_it_nothing(
        tmp_path: Path, command: list[str]) -> None:
    with sqld.sqld_node(tmp_path / "sqld", "vault") as node:
        url = f"--database-url=vault={node.url}"
        migrated = run_cli("migrate", "--data-dir", str(tmp_path / "data"), "--database", "vault", url)
        assert migrated.returncode == 0, migrated.stderr
        app = connect(node.url)
        try:
            app.execute("BEGIN IMMEDIATE")
            app.execute("CREATE TABLE IF NOT EXISTS app_notes (n INTEGER)")
            app.execute("INSERT INTO app_notes (n) VALUES (7)")
            # With the application's write lock held, the read must neither wait for it (the
            # busy timeout is long) nor make the server take it back.
            read = run_cli(*command, "--data-dir", str(tmp_path / "data"), "--database", "vault", url,
                           "--busy-timeout", "60", timeout=30)
            assert read.returncode == 0, read.stdout + read.stderr
            app.execute("COMMIT")  # the application's transaction survived the read
        finally:
            app.close()
        assert sqld.query(node.url, "SELECT n FROM app_notes") == [(7,)]
