"""`verify`: a database's ledger and live schema against the build's proven schema."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from . import _connect
from ._status import read_plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._catalog import DatabaseSpec

SchemaRow = tuple[str, str, str, "str | None"]  # (type, name, tbl_name, sql) as in sqlite_master


@dataclass(frozen=True)
class DatabaseCheck:
    """One database file's drift: empty `problems` means it matches the build."""

    name: str
    path: str
    problems: tuple[str, ...]
    missing: tuple[tuple[str, str], ...] = ()  # (type, name) proven but not in the file
    extra: tuple[tuple[str, str], ...] = ()  # in the file but not proven
    different: tuple[tuple[str, str], ...] = ()  # in both, with another definition

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class VerifyReport:
    databases: tuple[DatabaseCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.databases)


def live_schema(conn: sqlite3.Connection, ledger: str) -> list[SchemaRow]:
    """The schema the way the generator's proof records it (FTS5 shadow tables included)."""
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE name NOT LIKE 'sqlite_%' AND name != ? ORDER BY type, name",
        (ledger,),
    ).fetchall()
    return [(str(t), str(n), str(tbl), None if sql is None else str(sql)) for t, n, tbl, sql in rows]


def compare_schema(
    proven: tuple[SchemaRow, ...] | list[SchemaRow], live: list[SchemaRow]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(missing, extra, different) objects, each as (type, name)."""
    want = {(row[0], row[1]): row for row in proven}
    have = {(row[0], row[1]): row for row in live}
    missing = sorted(key for key in want if key not in have)
    extra = sorted(key for key in have if key not in want)
    different = sorted(key for key in want if key in have and want[key] != have[key])
    return missing, extra, different


def verify_file(spec: DatabaseSpec, path: str, ledger: str, busy_timeout: float) -> DatabaseCheck:
    exists, plan = read_plan(spec, path, ledger, busy_timeout)
    if not exists:
        return DatabaseCheck(spec.name, path, ("does not exist: run `cortex db migrate`",))
    problems = [f"migration {m.label} is not applied" for m in plan.pending]
    problems += [
        f"migration {m.label} was changed after it was applied (ledger checksum {recorded})"
        for m, recorded in plan.changed
    ]
    if plan.unknown:
        versions = ", ".join(str(v) for v in plan.unknown)
        problems.append(f"the ledger records migration {versions}, unknown to this build")
    if problems:
        problems.append("schema not compared until the ledger matches")
        return DatabaseCheck(spec.name, path, tuple(problems))
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            integrity = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
            live = live_schema(conn, ledger)
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise _connect.as_cortexdb_error(error, path, busy_timeout) from None
    if integrity != ["ok"]:
        problems.append(f"PRAGMA quick_check: {integrity[0]}")
    missing, extra, different = compare_schema(spec.schema, live)
    problems += [f"missing {kind} {name}" for kind, name in missing]
    problems += [f"extra {kind} {name}" for kind, name in extra]
    problems += [f"{kind} {name} differs from the proven schema" for kind, name in different]
    return DatabaseCheck(
        spec.name, path, tuple(problems), tuple(missing), tuple(extra), tuple(different)
    )
