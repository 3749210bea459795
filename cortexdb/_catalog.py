"""The frozen migrations module (`_frozen.py`), loaded once and checked: databases, migrations, schemas.

Loaded only when a database needs work, or for status, verify and dry runs: the up-to-date
check reads the build's small index instead (`_index`). `load_catalog_for` checks that the two
are of the same build before the slow path trusts either.
"""

from __future__ import annotations

from ._contract import FORMAT, check_step, fingerprint, shown_version
from ._errors import FrozenModuleError
from ._index import FROZEN_SOURCE, INDEX_SOURCE, DatabaseEntry, check_file, select_named, session_entry

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._contract import RawStep
    from ._index import Index

_MIGRATION_KEYS = ("version", "file", "database", "description", "checksum", "legacy_checksum")


class Migration:
    """One migration of the frozen module."""

    __slots__ = (
        "c1_checksum",
        "checksum",
        "database",
        "description",
        "file",
        "flags",
        "legacy_checksum",
        "steps",
        "version",
    )

    def __init__(
        self,
        version: int,
        file: str,
        database: str,
        description: str,
        checksum: str,
        legacy_checksum: str,
        flags: tuple[str, ...],
        steps: tuple[RawStep, ...],
        c1_checksum: str = "",
    ) -> None:
        self.version = version
        self.file = file
        self.database = database
        self.description = description
        self.checksum = checksum
        self.legacy_checksum = legacy_checksum
        self.c1_checksum = c1_checksum  # what ledgers written before `c2:` checksums hold
        self.flags = flags
        self.steps = steps

    @property
    def foreign_keys_off(self) -> bool:
        return "foreign_keys_off" in self.flags

    @property
    def ledger_key(self) -> tuple[int, str]:
        """(version, checksum) as the fingerprint names it."""
        return (self.version, self.checksum)

    @property
    def label(self) -> str:
        """`7 (007_jobs_v2.sql)`: how messages name a migration."""
        return f"{shown_version(self.version)} ({self.file})"

    def matches(self, ledger_checksum: str) -> bool:
        return ledger_checksum in (self.checksum, self.legacy_checksum) or (
            bool(self.c1_checksum) and ledger_checksum == self.c1_checksum)

    def __repr__(self) -> str:
        return f"Migration({self.label}, database={self.database!r})"


class DatabaseSpec(DatabaseEntry):
    """One database of the frozen module, with its migrations in version order."""

    __slots__ = ("migrations", "purpose", "schema")

    def __init__(
        self,
        name: str,
        file: str,
        purpose: str,
        session: bool,
        schema: tuple[tuple[str, str, str, str | None], ...],
        migrations: tuple[Migration, ...],
        fingerprint: int,
    ) -> None:
        super().__init__(name, file, session, fingerprint)
        self.purpose = purpose
        self.schema = schema
        self.migrations = migrations


class Catalog:
    """The validated content of a frozen module."""

    __slots__ = ("databases", "heal", "ledger", "source", "source_hash")

    def __init__(
        self, ledger: str, databases: dict[str, DatabaseSpec], source: str, source_hash: object = None,
        heal: object = None,
    ) -> None:
        self.ledger = ledger
        self.databases = databases
        self.source = source
        self.source_hash = source_hash
        # The build's heal data (`HEAL`, layout in `_heal`), read only when a ledger cortexdb did
        # not write is adopted; a module built without it (or a hand-made one) heals nothing.
        self.heal = heal if isinstance(heal, dict) else None

    def select(self, names: Iterable[str] | None = None) -> list[DatabaseSpec]:
        """The named databases (all when `names` is None), in catalog order."""
        return select_named(self.databases, names)

    def session_database(self, name: str | None = None) -> DatabaseSpec:
        """The per-session database (by name when the frozen module has more than one)."""
        return session_entry(self.databases, name)


_default: Catalog | None = None


def load_catalog(frozen: object | None = None) -> Catalog:
    """Check and index `frozen` (default: `cortexdb._frozen`, loaded and checked once)."""
    global _default
    if frozen is not None:
        return _build(frozen, _source_of(frozen))
    if _default is None:
        try:
            # Absolute on purpose: a missing submodule then raises ModuleNotFoundError naming
            # it, where `from . import _frozen` raises a bare ImportError.
            import cortexdb._frozen as frozen_module  # type: ignore[import-not-found,unused-ignore]
        except ModuleNotFoundError as error:
            if error.name != "cortexdb._frozen":
                raise
            raise FrozenModuleError(
                None, f"{FROZEN_SOURCE} is missing: run `make migrations`"
            ) from None
        _default = _build(frozen_module, FROZEN_SOURCE)
    return _default


def load_catalog_for(index: Index) -> Catalog:
    """The default catalog, checked to be of the same build as `index` (which the caller trusted)."""
    catalog = load_catalog()
    same = catalog.source_hash == index.source_hash and catalog.ledger == index.ledger
    same = same and [
        (spec.name, spec.file, spec.session, spec.fingerprint) for spec in catalog.databases.values()
    ] == [(entry.name, entry.file, entry.session, entry.fingerprint) for entry in index.databases.values()]
    if not same:
        raise FrozenModuleError(
            None, f"{INDEX_SOURCE} does not match {FROZEN_SOURCE}: run `make migrations`"
        )
    return catalog


def _source_of(frozen: object) -> str:
    return str(getattr(frozen, "__file__", None) or getattr(frozen, "__name__", "frozen data"))


def _build(frozen: object, source: str) -> Catalog:
    def bad(message: str) -> FrozenModuleError:
        return FrozenModuleError(
            source, f"{message}; regenerate it with `make migrations` (python -m generator build)"
        )

    found = getattr(frozen, "FORMAT", None)
    if found != FORMAT:
        raise bad(f"frozen module FORMAT {found!r}, this runtime reads FORMAT {FORMAT}")
    ledger = getattr(frozen, "LEDGER", None)
    databases = getattr(frozen, "DATABASES", None)
    migrations = getattr(frozen, "MIGRATIONS", None)
    if not isinstance(ledger, str) or not ledger.isidentifier():
        raise bad(f"LEDGER must be a table name, got {ledger!r}")
    if not isinstance(databases, dict) or not isinstance(migrations, (tuple, list)):
        raise bad("DATABASES must be a dict and MIGRATIONS a tuple")

    by_database: dict[str, list[Migration]] = {name: [] for name in databases}
    last = 0
    for entry in migrations:
        migration = _migration(entry, bad)
        if migration.version <= last:
            raise bad(f"MIGRATIONS not in increasing version order at {migration.label}")
        last = migration.version
        if migration.database not in by_database:
            raise bad(f"migration {migration.label} names unknown database {migration.database!r}")
        by_database[migration.database].append(migration)

    specs: dict[str, DatabaseSpec] = {}
    for name, entry in databases.items():
        if not isinstance(entry, dict):
            raise bad(f"DATABASES[{name!r}] must be a dict")
        file, session = entry.get("file"), bool(entry.get("session", False))
        check_file(name, file, session, bad)
        assert isinstance(file, str)
        own = tuple(by_database[name])
        specs[name] = DatabaseSpec(
            name=str(name),
            file=file,
            purpose=str(entry.get("purpose", "")),
            session=session,
            schema=tuple(entry.get("schema", ())),
            migrations=own,
            fingerprint=fingerprint(ledger, name, [m.ledger_key for m in own]),
        )
    return Catalog(ledger, specs, source, getattr(frozen, "SOURCE_HASH", None), getattr(frozen, "HEAL", None))


def _migration(entry: object, bad: Callable[[str], FrozenModuleError]) -> Migration:
    if not isinstance(entry, dict) or any(key not in entry for key in _MIGRATION_KEYS):
        raise bad(f"a MIGRATIONS entry lacks one of {', '.join(_MIGRATION_KEYS)}: {entry!r:.80}")
    version = entry["version"]
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise bad(f"migration version must be a positive int, got {version!r}")
    return Migration(
        version=version,
        file=str(entry["file"]),
        database=str(entry["database"]),
        description=str(entry["description"]),
        checksum=str(entry["checksum"]),
        legacy_checksum=str(entry["legacy_checksum"]),
        flags=tuple(str(flag) for flag in entry.get("flags", ())),
        steps=tuple(entry.get("steps", ())),  # checked by check_steps() before they run
        c1_checksum=str(entry.get("c1_checksum", "")),  # absent in modules built before c2
    )


def check_steps(migration: Migration, source: str) -> None:
    """Refuse malformed steps; run on the slow path only, just before the steps are used."""
    for step in migration.steps:
        if not check_step(step):
            raise FrozenModuleError(
                source, f"migration {migration.label} has a malformed step {step!r:.80}"
            )


