"""A migration slower than the per-request timeout on an idle sqld: a timeout, not a server abort.

No answer within `--busy-timeout` says nothing about the server ending the transaction; the
migration may still be running. Before, the runtime took it for an abort and ran the
migration again and again (each retry's wait for the lock made sqld end the previous run),
and after five attempts blamed the server. Now the ledger, read under the next lock, settles
it once: applied, or a one-line error that says to raise `--busy-timeout`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import sqld
from runtime_support import LEDGER, synthetic_frozen

import cortexdb
from cortexdb import MigrationFailedError

# Seconds of work for SQLite: far beyond a 1 s timeout on any machine that runs the suite.
SLOW = ("CREATE TABLE IF NOT EXISTS slow AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
        "WHERE x < 40000000) SELECT count(*) AS n FROM c;")
FROZEN = synthetic_frozen([(1, "main", "CREATE TABLE IF NOT EXISTS t (x);"), (2, "main", SLOW)], {"main": "main.db"})


def test_a_migration_slower_than_the_timeout_is_reported_once_as_too_slow(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="cortexdb")
    with sqld.sqld_node(tmp_path / "sqld", "main") as node:
        with pytest.raises(MigrationFailedError) as failed:
            cortexdb.migrate(tmp_path / "data", urls={"main": node.url}, frozen=FROZEN, busy_timeout=1)
        message = str(failed.value)
        assert "migration 002 (002_m2.sql) not applied" in message and "raise --busy-timeout" in message
        assert "the server ended the transaction" not in message
        retries = [r.getMessage() for r in caplog.records if "retrying" in r.getMessage()]
        assert len(retries) == 1, retries  # one look at the ledger, not five runs
        assert sqld.query(node.url, f"SELECT version FROM {LEDGER}") == [(1,)]

        # With a timeout above its running time it applies, once.
        result = cortexdb.migrate(tmp_path / "data", urls={"main": node.url}, frozen=FROZEN, busy_timeout=120)
        assert [r.versions for r in result.databases] == [(2,)]
        assert sqld.query(node.url, f"SELECT version FROM {LEDGER}") == [(1,), (2,)]
        assert sqld.query(node.url, "SELECT n FROM slow") == [(40000000,)]
