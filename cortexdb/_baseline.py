"""`baseline --version N`: record migrations 1..N as applied, for a database whose schema is theirs.

For a database made without a ledger (by hand, by another tool) whose live schema equals the
schema migrations 1..N prove. That schema is computed here, not stored: the build's own steps
run on an in-memory SQLite database with the contract's `execute_steps` and are read back with
its `read_schema`, so SQLite decides what "the schema after N" is, as the build's proof does.
"""

from __future__ import annotations

import sqlite3

from ._catalog import check_steps
from ._contract import create_ledger_statement, execute_steps, fingerprint, read_schema, shown_version, shown_versions
from ._contract import record as record_statements
from ._errors import InvalidInputError, OperationRefusedError
from ._inspect import compare_schema

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._apply import Record
    from ._catalog import DatabaseSpec, Migration
    from ._contract import SchemaRow
    from ._inspect import Snapshot
    from ._operate import Work


def migrations_upto(spec: DatabaseSpec, version: int) -> list[Migration]:
    """`spec`'s migrations up to `version`, which must be one of them (else exit 2, naming them)."""
    versions = [migration.version for migration in spec.migrations]
    if version not in versions:
        raise InvalidInputError(
            None, f"migration {shown_version(version)} is not a migration of database {spec.name} "
            f"(its versions: {shown_versions(versions)})"
        )
    return [migration for migration in spec.migrations if migration.version <= version]


def schema_after(migrations: list[Migration], ledger: str, source: str,
                 seen: set[tuple[str, str]] | None = None) -> tuple[SchemaRow, ...]:
    """The schema `migrations` leave on an empty database, as SQLite reads it back; into `seen`,
    if given, every (type, name) that exists after any of their steps."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for migration in migrations:
            check_steps(migration, source)
            if seen is None:
                execute_steps(conn, migration.steps)
                continue
            for step in migration.steps:
                execute_steps(conn, [step])
                seen.update((str(row[0]), str(row[1])) for row in read_schema(conn, ledger))
        return read_schema(conn, ledger)
    finally:
        conn.close()


def describe_difference(proven: tuple[SchemaRow, ...], live: tuple[SchemaRow, ...]) -> str:
    """`missing table t, extra index i, view v differs`: what stands between `live` and `proven`."""
    missing, extra, different = compare_schema(proven, live)
    parts = [f"missing {kind} {name}" for kind, name in missing]
    parts += [f"extra {kind} {name}" for kind, name in extra]
    parts += [f"{kind} {name} differs" for kind, name in different]
    return ", ".join(parts)


def baseline_work(
    spec: DatabaseSpec, ledger: str, migrations: list[Migration], proven: tuple[SchemaRow, ...],
    rows: list[tuple[int, str]], snapshot: Snapshot,
) -> Work:
    """What `baseline` writes, decided under the lock; its refusal raised (nothing written)."""
    last = migrations[-1]
    if rows:
        raise OperationRefusedError(
            snapshot.location,
            f"the ledger already records {len(rows)} migration(s): baseline is only for a database "
            "without one (see `cortex db status`; `cortex db migrate` applies what is pending)",
        )
    assert snapshot.schema is not None
    difference = describe_difference(proven, snapshot.schema)
    if difference:
        raise OperationRefusedError(
            snapshot.location,
            f"the schema is not the one migrations up to {last.label} prove ({difference}); nothing recorded",
        )
    value = fingerprint(ledger, spec.name, [m.ledger_key for m in migrations])
    record: Record = [record_statements(ledger, m, value)[0] for m in migrations]
    record = [*record, record_statements(ledger, last, value)[1]]  # the fingerprint, once, last
    return [create_ledger_statement(ledger)], record
