"""A data directory written the way CortexPrism's TypeScript migrator wrote it.

What the original did (packages/core/src/db/migrate.ts, as its wiki describes it):
- each database opened in WAL mode, its `schema_migrations` ledger created first, before
  001-005 ran;
- each migration file executed with one multi-statement exec (statements autocommit one by
  one, so a failure leaves the earlier ones applied);
- a failure saying "duplicate column" or "already exists" (two processes starting at once)
  was swallowed and the migration recorded as applied anyway (`INSERT OR IGNORE`);
- the ledger row's checksum is CortexPrism's own (`legacy_checksum` below) of the file text.

libSQL accepted `ALTER TABLE ... ADD COLUMN IF NOT EXISTS`; the stock SQLite here does not,
so the fixture runs that statement without the guard. The resulting columns are the same.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LEDGER = "schema_migrations"
LEDGER_DDL = (
    f"CREATE TABLE IF NOT EXISTS {LEDGER} ("
    "version INTEGER PRIMARY KEY, description TEXT NOT NULL, "
    "applied_at TEXT NOT NULL DEFAULT (datetime('now')), checksum TEXT NOT NULL)"
)
_ADD_COLUMN_GUARD = re.compile(r"(ADD\s+COLUMN\s+)IF\s+NOT\s+EXISTS\s+", re.IGNORECASE)
_SWALLOWED = ("duplicate column", "already exists")


@dataclass(frozen=True)
class LegacyMigration:
    version: int
    database: str  # a key of the databases mapping given to build_legacy_data_dir
    description: str
    text: str  # the file as CortexPrism read it


def legacy_checksum(text: str) -> str:
    """CortexPrism's checksum, written here independently of the generator's.

    CRLF/CR to LF; h = 0; for each UTF-16 code unit c: h = 31*h + c wrapped to a signed
    32-bit integer; lower-case hex of abs(h), no prefix.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    h = 0
    units = text.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h = (31 * h + int.from_bytes(units[i : i + 2], "little")) & 0xFFFFFFFF
    signed = h - (1 << 32) if h & 0x80000000 else h
    return format(abs(signed), "x")


def open_legacy(path: Path) -> sqlite3.Connection:
    """Open as the original did: autocommit, WAL, ledger created up front."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(LEDGER_DDL)
    return conn


def apply_legacy(conn: sqlite3.Connection, migration: LegacyMigration) -> None:
    """One migration the original way: multi-statement exec, swallow "already exists", record."""
    try:
        conn.executescript(_ADD_COLUMN_GUARD.sub(r"\1", migration.text))
    except sqlite3.OperationalError as error:
        if not any(fragment in str(error).lower() for fragment in _SWALLOWED):
            raise
    conn.execute(
        f"INSERT OR IGNORE INTO {LEDGER} (version, description, checksum) VALUES (?, ?, ?)",
        (migration.version, migration.description, legacy_checksum(migration.text)),
    )


def build_legacy_data_dir(
    data_dir: Path,
    databases: Mapping[str, str],
    migrations: Iterable[LegacyMigration],
    *,
    session_ids: Iterable[str] = (),
) -> None:
    """Write `data_dir` as CortexPrism would have after running `migrations` in order.

    `databases` maps a database name to its file, `{session_id}` marking per-session ones;
    each of `session_ids` gets its own per-session database.
    """
    todo = sorted(migrations, key=lambda m: m.version)
    connections: dict[str, sqlite3.Connection] = {}
    try:
        # Startup: every shared database opened and its ledger created before 001 runs.
        for name, file in databases.items():
            if "{session_id}" not in file:
                connections[name] = open_legacy(data_dir / file)
        for migration in todo:
            if migration.database in connections:
                apply_legacy(connections[migration.database], migration)
        for session_id in session_ids:
            for name, file in databases.items():
                if "{session_id}" not in file:
                    continue
                conn = open_legacy(data_dir / file.replace("{session_id}", session_id))
                try:
                    for migration in todo:
                        if migration.database == name:
                            apply_legacy(conn, migration)
                finally:
                    conn.close()
    finally:
        for conn in connections.values():
            conn.close()


def migrations_of(frozen: Any, root: Path, upto: int | None = None) -> list[LegacyMigration]:
    """The legacy migrations behind a frozen module: its entries, with file text from disk."""
    chosen = []
    for entry in frozen.MIGRATIONS:
        if upto is not None and entry["version"] > upto:
            continue
        text = (root / entry["file"]).read_bytes().decode("utf-8-sig")
        chosen.append(LegacyMigration(entry["version"], entry["database"], entry["description"], text))
    return chosen


def databases_of(frozen: Any) -> dict[str, str]:
    return {name: spec["file"] for name, spec in frozen.DATABASES.items()}



# Crashes: the original runner killed after statement `after` of a migration, then started again.

def legacy_statements(text: str) -> list[str]:
    """The statements of a file in the order the original's exec ran them (SQLite decides where
    one ends: `sqlite3.complete_statement`, so a trigger body's `;` does not end it)."""
    statements, pending = [], ""
    for piece in _ADD_COLUMN_GUARD.sub(r"\1", text).split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if _has_code(pending):
                statements.append(pending.strip())
            pending = ""
    return statements


def _has_code(sql: str) -> bool:
    without = re.sub(r"--[^\n]*|/\*.*?\*/", "", sql, flags=re.DOTALL)
    return bool(without.replace(";", "").strip())


@dataclass(frozen=True)
class Crash:
    """The original killed after running the first `after` statements of migration `version`."""

    version: int
    after: int


def run_pending(conns: Mapping[str, sqlite3.Connection], migrations: Iterable[LegacyMigration]) -> str | None:
    """One start of the original: every migration its ledger lacks, in order; the first error
    that is not swallowed aborts the start (returned), later migrations are not tried."""
    for migration in sorted(migrations, key=lambda m: m.version):
        conn = conns[migration.database]
        if conn.execute(f"SELECT 1 FROM {LEDGER} WHERE version = ?", (migration.version,)).fetchone():
            continue
        try:
            apply_legacy(conn, migration)
        except sqlite3.Error as error:
            return f"{migration.version}: {error}"
    return None


def build_crashed_data_dir(data_dir: Path, databases: Mapping[str, str], migrations: Iterable[LegacyMigration],
                           crash: Crash, *, restarts: int = 1,
                           seed: Callable[[Mapping[str, sqlite3.Connection]], None] | None = None,
                           ) -> list[str | None]:
    """A data dir (shared databases only) as the original left it: migrations before
    `crash.version` applied, `seed` given the connections (to write rows), that migration cut
    after `crash.after` statements (each autocommitted; the kill loses nothing committed), then
    `restarts` normal starts. Returns each start's error (None: it succeeded)."""
    todo = sorted(migrations, key=lambda m: m.version)
    shared = {name: file for name, file in databases.items() if "{session_id}" not in file}
    conns = {name: open_legacy(data_dir / file) for name, file in shared.items()}
    try:
        for migration in todo:
            if migration.database not in conns:
                continue
            if migration.version < crash.version:
                apply_legacy(conns[migration.database], migration)
            elif migration.version == crash.version:
                if seed is not None:
                    seed(conns)
                for statement in legacy_statements(migration.text)[: crash.after]:
                    conns[migration.database].execute(statement)
                break
    finally:
        for conn in conns.values():
            conn.close()
    outcomes = []
    for _ in range(restarts):
        conns = {name: open_legacy(data_dir / file) for name, file in shared.items()}
        try:
            outcomes.append(run_pending(conns, [m for m in todo if m.database in conns]))
        finally:
            for conn in conns.values():
                conn.close()
    return outcomes
