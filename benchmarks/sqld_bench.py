"""The remote backend's speed on a local libSQL server (sqld), against the `libsql` client by hand.

One sqld per shared database on 127.0.0.1 (the pinned binary of `tools/install-sqld`, through
`tests/sqld.py`); every contender talks to the primaries. Contenders are timed alternately in
this one invocation and each fresh run gets new servers (started untimed), so only the ratios
mean anything. The baselines do the least a hand-written deployment script would:

- fresh: `libsql.connect`, then each database's statements in one `BEGIN IMMEDIATE` ...
  `COMMIT` script (`Cursor.executescript`, which raises on errors; no ledger, no fingerprint,
  one transaction and one request per database, where cortexdb runs a transaction per
  migration with its ledger row). Statement by statement the client cannot do it: inside a
  transaction, an `ALTER TABLE` of a table created earlier in it fails at random with "no
  such table" (docs/sqld-notes.md);
- fresh, the design's work by hand: per migration, a `BEGIN IMMEDIATE` ... `COMMIT` script
  with its statements, ledger row and fingerprint (one request), after a ledger read (one
  request, outside the lock: the client's scripts return no rows). cortexdb does this, with
  the read under the lock, the `ADD COLUMN` guards and exactly-once retries, in about the
  same two requests per migration;
- up to date: `libsql.connect` + `SELECT version FROM schema_migrations` per database.

Both contenders' fresh results are checked once: cortexdb's schemas equal the proven ones as
text; the libsql client rewrites DDL before sending it (docs/sqld-notes.md), so its result is
checked for the same objects by (type, name).
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import tempfile
from pathlib import Path
from types import ModuleType
from typing import Any

from .harness import Row, Sample, interleaved
from .runtime_bench import fresh_statements, frozen_module, looped, per_call

ROOT = Path(__file__).resolve().parents[1]
LEDGER_QUERY = "SELECT version FROM schema_migrations"
OBJECTS_QUERY = "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' AND name != ? ORDER BY 1, 2"


def _sqld() -> ModuleType:
    """tests/sqld.py: installs the pinned sqld on first use, starts and stops servers by PID."""
    if str(ROOT / "tests") not in sys.path:
        sys.path.insert(0, str(ROOT / "tests"))
    return importlib.import_module("sqld")


def _libsql() -> ModuleType:
    try:
        return importlib.import_module("libsql")
    except ImportError as error:
        raise RuntimeError(
            "the baseline needs the libsql client: `.venv/bin/python tools/install-sqld --venv .venv` "
            "(or `pip install -e '.[libsql]'`)"
        ) from error


class Servers:
    """A fresh sqld per database on each `next()`; the previous ones are stopped by PID."""

    def __init__(self, base: Path, names: list[str]) -> None:
        self.sqld = _sqld()
        self.base = base
        self.names = names
        self.round = 0
        self.stack = contextlib.ExitStack()
        self.urls: dict[str, str] = {}

    def next(self) -> dict[str, str]:
        self.stack.close()
        self.stack = contextlib.ExitStack()
        self.round += 1
        work = self.base / f"round{self.round:03d}"
        self.urls = {
            name: self.stack.enter_context(self.sqld.sqld_node(work, name)).url for name in self.names
        }
        return self.urls

    def close(self) -> None:
        self.stack.close()


def one_transaction_script(statements: list[str]) -> str:
    body = "\n".join(s if s.rstrip().endswith(";") else s + ";" for s in statements)
    return f"BEGIN IMMEDIATE;\n{body}\nCOMMIT;"


def libsql_fresh(libsql: Any, url: str, script: str) -> None:
    conn = libsql.connect(url, isolation_level=None)
    try:
        conn.cursor().executescript(script)  # Connection.executescript would swallow errors
    finally:
        conn.close()


LEDGER_TABLE = ("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
                "description TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT (datetime('now')), "
                "checksum TEXT NOT NULL)")


def libsql_floor(libsql: Any, url: str, migrations: list[tuple[str, list[str]]]) -> None:
    """What the design asks, by hand with the libsql client: per migration one transaction with
    its ledger row and fingerprint, one request each (the client's scripts take no parameters,
    and its reads cannot join a script: the ledger is read before each, outside the lock)."""
    conn = libsql.connect(url, isolation_level=None)
    try:
        cursor = conn.cursor()
        for number, (file, statements) in enumerate(migrations, 1):
            if number > 1:
                conn.execute(LEDGER_QUERY).fetchall()
            record = [LEDGER_TABLE, *statements,
                      f"INSERT INTO schema_migrations (version, description, checksum) "
                      f"VALUES ({number}, '{file}', 'c1:{'0' * 64}')",
                      f"PRAGMA user_version = {number}"]
            cursor.executescript(one_transaction_script(record))
    finally:
        conn.close()


def baseline_interrupted(name: str, error: Exception) -> bool:
    """The libsql client's baselines fail now and then with the server's "SQLite error:
    interrupted" (about 1 run in 120 here, with nothing in sqld's log and no other client;
    cortexdb's own client never has in the same loops). Such a run is repeated on new servers;
    cortexdb's runs never are."""
    return name != "cortexdb" and "SQLite error: interrupted" in str(error)


def libsql_up_to_date(libsql: Any, url: str) -> None:
    conn = libsql.connect(url, isolation_level=None)
    try:
        conn.execute(LEDGER_QUERY).fetchall()
    finally:
        conn.close()


def run(quick: bool = False) -> list[Row]:
    import cortexdb

    libsql = _libsql()
    frozen = frozen_module()
    sql = fresh_statements(frozen)
    shared = [name for name, spec in sorted(frozen.DATABASES.items()) if not spec["session"]]
    scripts = {name: one_transaction_script([s for _, group in sql[name] for s in group]) for name in shared}
    migrations = sum(len(sql[name]) for name in shared)
    rows: list[Row] = []

    with tempfile.TemporaryDirectory(prefix="cortexdb-bench-sqld-") as tmp:
        base = Path(tmp)
        servers = Servers(base / "sqld", shared)
        sqld = servers.sqld
        data = base / "data"  # cortexdb's data dir: only session databases would live there
        try:
            # -- checked once: each contender leaves the proven objects behind -------------
            urls = servers.next()
            result = cortexdb.migrate(data, urls=urls)
            report = cortexdb.verify(data, urls=urls)
            if result.applied != migrations or not report.ok:
                raise AssertionError(f"cortexdb on sqld: {result.applied} applied, verify ok={report.ok}")
            urls = servers.next()
            for name in shared:
                libsql_fresh(libsql, urls[name], scripts[name])
                objects = sqld.query(urls[name], OBJECTS_QUERY, (frozen.LEDGER,))
                proven = sorted((row[0], row[1]) for row in frozen.DATABASES[name]["schema"])
                if objects != proven:
                    raise AssertionError(f"libsql baseline: {name} lacks proven objects")

            # -- fresh apply ---------------------------------------------------------------
            def cortexdb_fresh() -> None:
                cortexdb.migrate(data, urls=servers.urls)

            def by_hand_fresh() -> None:
                for name in shared:
                    libsql_fresh(libsql, servers.urls[name], scripts[name])

            def floor_fresh() -> None:
                for name in shared:
                    libsql_floor(libsql, servers.urls[name], sql[name])

            fresh = interleaved({"cortexdb": cortexdb_fresh, "libsql by hand": by_hand_fresh, "floor": floor_fresh},
                                repeat=3 if quick else 7, setup=servers.next, retry=baseline_interrupted)
            what = f"sqld: fresh apply, {len(shared)} databases ({migrations} migrations), local sqld, in process"
            rows.append(Row(
                f"{what}: against one transaction per database by hand",
                fresh["cortexdb"], fresh["libsql by hand"],
                f"— (informative: {migrations} transactions vs {len(shared)})", None,
            ))
            rows.append(Row(
                f"{what}: against the design's work by hand (libsql: a transaction per migration with its "
                "ledger row and fingerprint, one request each)",
                # The same requests on the same server: equal within the noise of a shared machine.
                fresh["cortexdb"], Sample("libsql, same transactions", fresh["floor"].seconds), "<= 1.1x",
                fresh["cortexdb"].median <= 1.1 * fresh["floor"].median,
            ))

            # -- the up-to-date check --------------------------------------------------------
            urls = servers.next()
            cortexdb.migrate(data, urls=urls)

            def cortexdb_noop() -> None:
                if not cortexdb.migrate(data, urls=urls).up_to_date:
                    raise AssertionError("cortexdb on sqld: not up to date")

            def by_hand_noop() -> None:
                for name in shared:
                    libsql_up_to_date(libsql, urls[name])

            calls = 5 if quick else 20
            noop = interleaved({"cortexdb": looped(cortexdb_noop, calls), "libsql": looped(by_hand_noop, calls)},
                               repeat=5 if quick else 11)
            rows.append(Row(
                f"sqld: up-to-date check, {len(shared)} databases, local sqld, in process",
                per_call(noop["cortexdb"], calls),
                per_call(noop["libsql"], calls, "libsql connect + ledger SELECT"),
                "<= 0.5x",
                noop["cortexdb"].median <= 0.5 * noop["libsql"].median,
            ))
        finally:
            servers.close()
    return rows


if __name__ == "__main__":
    from .harness import table

    print(table(run(quick="--quick" in sys.argv)))
