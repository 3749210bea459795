"""`verify`: a database's ledger and live schema against the build's proven schema."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ._contract import read_schema
from ._plan import make_plan
from ._status import read_plan
from .local import sqlite as _connect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._catalog import DatabaseSpec
    from ._contract import SchemaRow
    from ._plan import Plan



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
    problems = _ledger_problems(plan)
    if problems:
        return DatabaseCheck(spec.name, path, tuple(problems))
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            integrity = [str(row[0]) for row in conn.execute("PRAGMA quick_check").fetchall()]
            live = list(read_schema(conn, ledger))
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise _connect.as_cortexdb_error(error, path, busy_timeout) from None
    if integrity != ["ok"]:
        problems.append(f"PRAGMA quick_check: {integrity[0]}")
    return _schema_check(spec, path, problems, live)


def verify_remote(spec: DatabaseSpec, url: str, ledger: str, busy_timeout: float) -> DatabaseCheck:
    """As `verify_file`, for a database on sqld: ledger and schema read under the primary's lock.

    No `PRAGMA quick_check`: the server owns its storage's integrity.
    """
    from .remote.backend import read_ledger

    rows, live = read_ledger(spec.name, url, ledger, busy_timeout, schema=True)
    problems = _ledger_problems(make_plan(spec, rows))
    if problems:
        return DatabaseCheck(spec.name, url, tuple(problems))
    assert live is not None
    return _schema_check(spec, url, problems, live)


def _ledger_problems(plan: Plan) -> list[str]:
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
    return problems


def _schema_check(spec: DatabaseSpec, location: str, problems: list[str], live: list[SchemaRow]) -> DatabaseCheck:
    missing, extra, different = compare_schema(spec.schema, live)
    problems += [f"missing {kind} {name}" for kind, name in missing]
    problems += [f"extra {kind} {name}" for kind, name in extra]
    problems += [f"{kind} {name} differs from the proven schema" for kind, name in different]
    return DatabaseCheck(
        spec.name, location, tuple(problems), tuple(missing), tuple(extra), tuple(different)
    )
