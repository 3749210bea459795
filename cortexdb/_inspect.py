"""`status`, `verify` and dry runs: pure functions of a database's snapshot and the build.

A `Snapshot` is what a backend reads without changing anything (`Backend.snapshot`): whether
the database exists, its ledger rows and, for `verify`, its live schema and integrity check.
Everything here decides from that and the frozen module alone, the same for a file and for a
database on a server, so it is tested on snapshots as well as on real databases.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._contract import shown_versions
from ._plan import make_plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence

    from ._catalog import DatabaseSpec
    from ._contract import SchemaRow
    from ._plan import Plan


@dataclass(frozen=True)
class Snapshot:
    """One database as read, at one moment, by a backend that changed nothing."""

    location: str  # the file, or the server URL
    exists: bool  # a server database always exists; a missing or empty file does not
    ledger: tuple[tuple[int, str], ...]  # (version, checksum) in version order; () without a ledger
    schema: tuple[SchemaRow, ...] | None = None  # `read_schema`, when asked for
    integrity: str | None = None  # what `PRAGMA quick_check` found, in one line; None: nothing, or a server
    #: (version, description, applied_at, checksum) of every ledger row, when asked for (`history`)
    entries: tuple[tuple[int, str, str, str], ...] | None = None


@dataclass(frozen=True)
class DatabaseStatus:
    """One database's ledger against this build (versions, in order)."""

    name: str
    path: str
    exists: bool
    applied: tuple[int, ...]
    legacy: tuple[int, ...]  # applied, recorded with CortexPrism's legacy checksum
    pending: tuple[int, ...]
    changed: tuple[int, ...]
    unknown: tuple[int, ...]
    session: bool = False  # one file of a per-session database

    @property
    def up_to_date(self) -> bool:
        return self.exists and not (self.pending or self.changed or self.unknown)


@dataclass(frozen=True)
class DatabaseCheck:
    """One database's drift: empty `problems` means it matches the build."""

    name: str
    path: str
    problems: tuple[str, ...]
    missing: tuple[tuple[str, str], ...] = ()  # (type, name) proven but not in the database
    extra: tuple[tuple[str, str], ...] = ()  # in the database but not proven
    different: tuple[tuple[str, str], ...] = ()  # in both, with another definition
    session: bool = False  # one file of a per-session database

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class VerifyReport:
    databases: tuple[DatabaseCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.databases)


def database_status(spec: DatabaseSpec, snapshot: Snapshot) -> DatabaseStatus:
    """What `status` reports; a missing file has everything pending."""
    plan = make_plan(spec, snapshot.ledger)
    return DatabaseStatus(
        name=spec.name,
        path=snapshot.location,
        exists=snapshot.exists,
        applied=tuple(m.version for m in plan.applied),
        legacy=tuple(m.version for m in plan.legacy),
        pending=tuple(m.version for m in plan.pending),
        changed=tuple(m.version for m, _ in plan.changed),
        unknown=tuple(plan.unknown),
        session=spec.session,
    )


def pending_versions(spec: DatabaseSpec, snapshot: Snapshot) -> tuple[int, ...]:
    """What a dry run would apply; the refusal `migrate` would raise, raised now."""
    plan = make_plan(spec, snapshot.ledger)
    refusal = plan.refusal(snapshot.location)
    if refusal is not None:
        raise refusal
    return tuple(migration.version for migration in plan.pending)


def check_database(spec: DatabaseSpec, snapshot: Snapshot) -> DatabaseCheck:
    """What `verify` reports: the ledger first; the schema only once the ledger matches the build."""
    if not snapshot.exists:
        return DatabaseCheck(spec.name, snapshot.location, ("does not exist: run `cortex db migrate`",),
                             session=spec.session)
    problems = _ledger_problems(make_plan(spec, snapshot.ledger))
    if problems:
        return DatabaseCheck(spec.name, snapshot.location, tuple(problems), session=spec.session)
    if snapshot.integrity:
        problems.append(f"PRAGMA quick_check: {snapshot.integrity}")
    assert snapshot.schema is not None, "verify needs a snapshot with the schema"
    missing, extra, different = compare_schema(spec.schema, snapshot.schema)
    problems += [f"missing {kind} {name}" for kind, name in missing]
    problems += [f"extra {kind} {name}" for kind, name in extra]
    problems += [f"{kind} {name} differs from the proven schema" for kind, name in different]
    return DatabaseCheck(
        spec.name, snapshot.location, tuple(problems), tuple(missing), tuple(extra), tuple(different),
        spec.session,
    )


def compare_schema(
    proven: Sequence[SchemaRow], live: Sequence[SchemaRow]
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[tuple[str, str]]]:
    """(missing, extra, different) objects, each as (type, name)."""
    want = {(row[0], row[1]): row for row in proven}
    have = {(row[0], row[1]): row for row in live}
    missing = sorted(key for key in want if key not in have)
    extra = sorted(key for key in have if key not in want)
    different = sorted(key for key in want if key in have and want[key] != have[key])
    return missing, extra, different


def _ledger_problems(plan: Plan) -> list[str]:
    problems = [f"migration {m.label} is not applied" for m in plan.pending]
    problems += [
        f"migration {m.label} was changed after it was applied (ledger checksum {recorded})"
        for m, recorded in plan.changed
    ]
    if plan.unknown:
        problems.append(f"the ledger records migration {shown_versions(plan.unknown)}, unknown to this build")
    if problems:
        problems.append("schema not compared until the ledger matches")
    return problems
