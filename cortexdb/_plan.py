"""What the ledger says against what this build has: applied, pending, changed, unknown."""

from __future__ import annotations

from ._contract import shown_versions
from ._errors import ChangedMigrationError, CortexDBError, DatabaseNewerError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from ._catalog import DatabaseSpec, Migration


class Plan:
    """One database's ledger compared with its migrations in the frozen module."""

    __slots__ = ("applied", "changed", "legacy", "pending", "unknown")

    def __init__(
        self,
        applied: list[Migration],
        legacy: list[Migration],
        pending: list[Migration],
        changed: list[tuple[Migration, str]],
        unknown: list[int],
    ) -> None:
        self.applied = applied  # recorded with a matching checksum
        self.legacy = legacy  # the part of `applied` that matched only the legacy checksum
        self.pending = pending  # not recorded, in version order
        self.changed = changed  # recorded with another checksum: (migration, ledger checksum)
        self.unknown = unknown  # recorded versions this build does not have

    @property
    def up_to_date(self) -> bool:
        return not (self.pending or self.changed or self.unknown)

    def refusal(self, path: str) -> CortexDBError | None:
        """The error that forbids touching this database, if any."""
        if self.unknown:
            return DatabaseNewerError(
                path,
                f"the ledger records migration {shown_versions(self.unknown)}, which this build does not have: "
                "the database is newer than the code; run a build that includes it",
            )
        if self.changed:
            migration, recorded = self.changed[0]
            others = [m for m, _ in self.changed[1:]]
            shown = _labels(others[:3]) + (", ..." if len(others) > 3 else "")
            also = f" ({len(others)} more changed: {shown})" if others else ""
            return ChangedMigrationError(
                path,
                f"migration {migration.label} was changed after it was applied "
                f"(ledger checksum {recorded}, this build {migration.checksum}){also}: "
                "create a new migration instead of editing an applied one",
            )
        return None


def make_plan(spec: DatabaseSpec, ledger_rows: Iterable[tuple[int, str]]) -> Plan:
    """Compare (version, checksum) rows of a ledger with `spec`'s migrations."""
    recorded = dict(ledger_rows)
    known = {migration.version for migration in spec.migrations}
    applied: list[Migration] = []
    legacy: list[Migration] = []
    pending: list[Migration] = []
    changed: list[tuple[Migration, str]] = []
    for migration in spec.migrations:
        checksum = recorded.get(migration.version)
        if checksum is None:
            pending.append(migration)
        elif migration.matches(checksum):
            applied.append(migration)
            if checksum != migration.checksum:
                legacy.append(migration)
        else:
            changed.append((migration, checksum))
    unknown = sorted(version for version in recorded if version not in known)
    return Plan(applied, legacy, pending, changed, unknown)


def _labels(migrations: Iterable[Migration]) -> str:
    return ", ".join(migration.label for migration in migrations)
