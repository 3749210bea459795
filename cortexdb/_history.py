"""`history` and `migrate --dry-run --sql`: pure functions of a snapshot and the build.

`history` lists every ledger row with what this build makes of its checksum, then the
migrations still pending; the SQL of a dry run is exactly what the transaction loop (`_apply`)
would send, statement by statement, with each `add_column` step shown with its guard.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._contract import ADD_COLUMN, Step, create_ledger_statement, fingerprint, quote_identifier
from ._contract import record as record_statements
from ._plan import make_plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ._catalog import DatabaseSpec, Migration
    from ._inspect import Snapshot

#: What a ledger row's checksum is to this build.
CANONICAL = "canonical"  # this build's checksum (or its earlier canonical algorithm's)
LEGACY = "legacy"  # CortexPrism's own checksum of the same file
CHANGED = "changed"  # neither: the file was edited after it was applied
UNKNOWN = "unknown"  # a version this build does not have (the database is newer)


@dataclass(frozen=True)
class HistoryEntry:
    """One migration of a database's history: a ledger row, or (`applied_at` None) a pending one."""

    version: int
    file: str  # "" for a version this build does not know
    description: str
    applied_at: str | None  # None: pending
    checksum: str  # as the ledger holds it; this build's for a pending migration
    kind: str  # CANONICAL, LEGACY, CHANGED, UNKNOWN, or "pending"

    @property
    def pending(self) -> bool:
        return self.applied_at is None


@dataclass(frozen=True)
class DatabaseHistory:
    name: str
    path: str
    exists: bool
    entries: tuple[HistoryEntry, ...]  # the ledger rows in version order, then the pending migrations


def database_history(spec: DatabaseSpec, snapshot: Snapshot) -> DatabaseHistory:
    """What `history` shows for one database (a snapshot read with `entries=True`)."""
    entries = snapshot.entries if snapshot.exists else ()
    assert entries is not None, "history needs a snapshot with the ledger's entries"
    known = {migration.version: migration for migration in spec.migrations}
    rows: list[HistoryEntry] = []
    for version, description, applied_at, checksum in entries:
        migration = known.get(version)
        if migration is None:
            kind, file = UNKNOWN, ""
        elif not migration.matches(checksum):
            kind, file = CHANGED, migration.file
        else:
            kind, file = (LEGACY if checksum == migration.legacy_checksum else CANONICAL), migration.file
        rows.append(HistoryEntry(version, file, description, applied_at, checksum, kind))
    for migration in make_plan(spec, snapshot.ledger).pending:
        rows.append(HistoryEntry(migration.version, migration.file, migration.description, None,
                                 migration.checksum, "pending"))
    return DatabaseHistory(spec.name, snapshot.location, snapshot.exists, tuple(rows))


def pending_sql(ledger: str, spec: DatabaseSpec, pending: Iterable[int]) -> list[tuple[Migration, list[str]]]:
    """The statements `migrate` would run for `pending` (a dry run's versions, which it did not
    refuse: every other migration of `spec` is recorded), per migration, in order."""
    wanted = set(pending)
    done = [m for m in spec.migrations if m.version not in wanted]
    # Without a recorded migration the ledger may not exist yet: the loop creates it first.
    first = [create_ledger_statement(ledger)] if not done else []
    result = []
    for migration in spec.migrations:
        if migration.version not in wanted:
            continue
        done.append(migration)
        value = fingerprint(ledger, spec.name, [m.ledger_key for m in sorted(done, key=lambda m: m.version)])
        statements = [*first, *(_shown_step(Step(raw)) for raw in migration.steps)]
        statements += [_inline(sql, params) for sql, params in record_statements(ledger, migration, value)]
        first = []
        if migration.foreign_keys_off:
            statements = ["PRAGMA foreign_keys = OFF", "BEGIN IMMEDIATE", *statements[:-2],
                          "PRAGMA foreign_key_check  -- no new violation, or ROLLBACK", *statements[-2:],
                          "COMMIT", "PRAGMA foreign_keys = ON"]
        else:
            statements = ["BEGIN IMMEDIATE", *statements, "COMMIT"]
        result.append((migration, statements))
    return result


def _shown_step(step: Step) -> str:
    if step.kind == ADD_COLUMN:
        guard = f"-- only when {quote_identifier(step.table)} has no column {quote_identifier(step.column)}:\n"
        return guard + step.sql
    return step.sql


def _inline(sql: str, params: Sequence[object]) -> str:
    """`sql` with its `?` parameters written as SQL literals (the ledger statements hold no other `?`)."""
    parts = sql.split("?")
    assert len(parts) == len(params) + 1, sql
    literals = [str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"
                for value in params]
    return parts[0] + "".join(literal + part for literal, part in zip(literals, parts[1:], strict=True))
