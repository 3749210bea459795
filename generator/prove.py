"""The proof: every migration, run twice in a row on a scratch database, must leave what one run left.

Two in-memory databases walk the migrations of one database side by side: `once` applies each
migration once, `twice` applies it twice. After each migration their schemas (and row counts)
must agree. SQLite itself judges every statement here, so a statement it rejects is an error
at its line even when sqlglot parsed it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cortexdb._steps import SchemaRow, execute_steps, quote_identifier, read_schema

from .compile import FOREIGN_KEYS_OFF
from .diagnostics import Diagnostic, Severity


@dataclass(frozen=True)
class ProofInput:
    version: int
    path: str  # as shown in diagnostics
    steps: tuple[tuple[object, ...], ...]
    flags: tuple[str, ...]
    allowed: str | None  # reason when the migration's findings are allowed: it relies on running once


@dataclass(frozen=True)
class ProofResult:
    schemas: Mapping[str, tuple[SchemaRow, ...]]
    diagnostics: list[Diagnostic]
    proven: int  # migrations that passed


class _StepFailed(Exception):
    def __init__(self, line: int, error: sqlite3.Error) -> None:
        super().__init__(str(error))
        self.line = line


def _connect() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def run_migration(conn: sqlite3.Connection, migration: ProofInput) -> None:
    """Apply one migration in its own transaction, as the runtime does; raise _StepFailed."""
    foreign_keys_off = FOREIGN_KEYS_OFF in migration.flags
    if foreign_keys_off:
        conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for step in migration.steps:
            try:
                execute_steps(conn, [step])
            except sqlite3.Error as exc:
                raise _StepFailed(int(str(step[1])), exc) from None
        if foreign_keys_off:
            violation = conn.execute("PRAGMA foreign_key_check").fetchone()
            if violation is not None:
                last = int(str(migration.steps[-1][1])) if migration.steps else 1
                raise _StepFailed(last, sqlite3.IntegrityError(
                    f"foreign key violation in table {violation[0]!r} after the migration"))
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        if foreign_keys_off:
            conn.execute("PRAGMA foreign_keys=ON")


def _row_counts(conn: sqlite3.Connection, schema: Sequence[SchemaRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, name, _table, sql in schema:
        if kind == "table" and sql and not sql.upper().startswith("CREATE VIRTUAL"):
            counts[name] = conn.execute(f"SELECT count(*) FROM {quote_identifier(name)}").fetchone()[0]
    return counts


def _describe_difference(before: Sequence[SchemaRow], after: Sequence[SchemaRow]) -> str:
    first = {(r[0], r[1]): r for r in before}
    second = {(r[0], r[1]): r for r in after}
    changes = [f"adds {k} {n}" for (k, n) in sorted(second.keys() - first.keys())]
    changes += [f"removes {k} {n}" for (k, n) in sorted(first.keys() - second.keys())]
    changes += [f"changes {k} {n}" for (k, n) in sorted(first.keys() & second.keys())
                if first[(k, n)] != second[(k, n)]]
    return ", ".join(changes) or "reorders the schema"


def _culprit(migration: ProofInput, before: Sequence[SchemaRow], after: Sequence[SchemaRow]) -> int:
    """The line of the first statement that names an object the second run changed."""
    changed = {r[1].lower() for r in set(before) ^ set(after)}
    for step in migration.steps:
        text = str(step[2]).lower()
        if any(name in text for name in changed):
            return int(str(step[1]))
    return int(str(migration.steps[0][1])) if migration.steps else 1


def prove(databases: Mapping[str, Sequence[ProofInput]], ledger: str) -> ProofResult:
    """Prove every database's migrations; collect every finding instead of stopping at one."""
    schemas: dict[str, tuple[SchemaRow, ...]] = {}
    diagnostics: list[Diagnostic] = []
    proven = 0
    for name in sorted(databases):
        once, twice = _connect(), _connect()
        try:
            for migration in databases[name]:
                try:
                    run_migration(once, migration)
                except _StepFailed as exc:
                    diagnostics.append(Diagnostic(migration.path, exc.line, 1, "MG100",
                                                  f"SQLite rejects this statement: {exc}"))
                    break  # later migrations of this database build on this one
                finding = _second_run(twice, once, migration, ledger)
                if finding is None:
                    proven += 1
                    continue
                line, message = finding
                if migration.allowed is not None:
                    diagnostics.append(Diagnostic(
                        migration.path, line, 1, "MG200",
                        f"{message}; allowed ({migration.allowed}): it relies on running exactly "
                        "once inside its transaction", Severity.WARNING))
                    proven += 1
                else:
                    diagnostics.append(Diagnostic(
                        migration.path, line, 1, "MG200",
                        f"migration {migration.version:03d} is not idempotent: {message}; guard "
                        "the statement so a second run changes nothing"))
                once.backup(twice)  # go on from the state a single run leaves
            schemas[name] = read_schema(once, ledger)
        finally:
            once.close()
            twice.close()
    return ProofResult(schemas=schemas, diagnostics=diagnostics, proven=proven)


def _second_run(twice: sqlite3.Connection, once: sqlite3.Connection, migration: ProofInput,
                ledger: str) -> tuple[int, str] | None:
    """Run the migration twice on `twice`; None when the second run changed nothing.

    The common case costs two pragma reads, not a schema snapshot: a second run that changes
    no schema leaves `PRAGMA schema_version` alone, and one that changes no row leaves
    `total_changes` alone. Only when either moved are schema and rows compared in full
    (a rebuild, say, changes both and may still end where it started). That keeps the proof
    linear in the number of statements.
    """
    first_line = int(str(migration.steps[0][1])) if migration.steps else 1
    try:
        run_migration(twice, migration)
    except _StepFailed as exc:  # `twice` drifted from `once` earlier; report at the statement
        return exc.line, f"fails on a database that ran it before: {exc}"
    version = _schema_version(twice)
    changes = twice.total_changes
    schema: tuple[SchemaRow, ...] | None = None
    counts: dict[str, int] = {}
    try:
        # Snapshots are taken lazily below, so a failing or changing run is re-run on a copy.
        run_migration(twice, migration)
    except _StepFailed as exc:
        return exc.line, f"its second run fails: {exc}"
    if _schema_version(twice) == version and twice.total_changes == changes:
        return None
    # Something moved: replay the second run from a single-run copy, comparing in full.
    once.backup(twice)
    schema = read_schema(twice, ledger)
    counts = _row_counts(twice, schema)
    run_migration(twice, migration)
    again = read_schema(twice, ledger)
    if again != schema:
        return _culprit(migration, schema, again), f"its second run {_describe_difference(schema, again)}"
    again_counts = _row_counts(twice, again)
    grown = sorted(t for t in again_counts if again_counts[t] != counts.get(t))
    if grown:
        return first_line, f"its second run changes the rows of {', '.join(grown)}"
    return None


def _schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA schema_version").fetchone()[0])
