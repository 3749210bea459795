"""The frozen migrations module, loaded once and checked: databases, their migrations, fingerprints.

Two generated modules describe a build: `_frozen_index.py` (each database's file and
fingerprint: all the up-to-date check needs, a few hundred bytes) and `_frozen.py` (every
step and proven schema, 165 KB). `load_index` reads the first, `load_catalog` the second;
the slow path checks that the two agree.

This module is on the path of every application start, so it imports nothing beyond what
`sqlite3` already loaded (no typing, hashlib, pathlib, dataclasses or logging: each of those
costs more than the whole up-to-date check).
"""

from __future__ import annotations

import os

from ._contract import FORMAT, SESSION_PLACEHOLDER, check_step, fingerprint
from ._errors import FrozenModuleError, InvalidInputError, InvalidSessionIdError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import TypeVar

    from ._contract import RawStep

    Entry = TypeVar("Entry", bound="DatabaseEntry")

MAX_SESSION_ID_LENGTH = 128
_MIGRATION_KEYS = ("version", "file", "database", "description", "checksum", "legacy_checksum")
FROZEN_SOURCE = "cortexdb/_frozen.py"
INDEX_SOURCE = "cortexdb/_frozen_index.py"
#: How much of `_frozen.py` is read to find its `# Source hash:` line (line 4): one page.
_HEADER_BYTES = 4096


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
        return f"{self.version} ({self.file})"

    def matches(self, ledger_checksum: str) -> bool:
        return ledger_checksum in (self.checksum, self.legacy_checksum) or (
            bool(self.c1_checksum) and ledger_checksum == self.c1_checksum)

    def __repr__(self) -> str:
        return f"Migration({self.label}, database={self.database!r})"


class DatabaseEntry:
    """One database as the up-to-date check sees it: name, file and fingerprint, no migrations.

    What `load_index` gives; `DatabaseSpec` adds the migrations and schema. An entry has no
    `migrations` attribute at all, so code that needs them fails loudly instead of seeing none.
    """

    __slots__ = ("file", "fingerprint", "name", "session")

    def __init__(self, name: str, file: str, session: bool, fingerprint: int) -> None:
        self.name = name
        self.file = file
        self.session = session
        self.fingerprint = fingerprint

    def path(self, data_dir: str, session_id: str | None = None) -> str:
        """The database's file under `data_dir` (a session database needs its id)."""
        if not self.session:
            return os.path.join(data_dir, self.file)
        if session_id is None:
            raise InvalidInputError(None, f"database {self.name!r} is per session: give a session id")
        check_session_id(session_id)
        return os.path.join(data_dir, self.file.replace(SESSION_PLACEHOLDER, session_id))

    def session_dir_and_affixes(self, data_dir: str) -> tuple[str, str, str]:
        """(directory, prefix, suffix) of this session database's files, e.g. ("…/sessions", "", ".db")."""
        head, tail = os.path.split(self.file)
        prefix, _, suffix = tail.partition(SESSION_PLACEHOLDER)
        return os.path.join(data_dir, head), prefix, suffix

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, file={self.file!r})"


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

    __slots__ = ("databases", "ledger", "source", "source_hash")

    def __init__(
        self, ledger: str, databases: dict[str, DatabaseSpec], source: str, source_hash: object = None
    ) -> None:
        self.ledger = ledger
        self.databases = databases
        self.source = source
        self.source_hash = source_hash

    def select(self, names: Iterable[str] | None = None) -> list[DatabaseSpec]:
        """The named databases (all when `names` is None), in catalog order."""
        return _select(self.databases, names)

    def session_database(self, name: str | None = None) -> DatabaseSpec:
        """The per-session database (by name when the frozen module has more than one)."""
        return _session_database(self.databases, name)


class Index:
    """The validated content of `_frozen_index.py`: what the up-to-date check needs."""

    __slots__ = ("databases", "ledger", "source_hash")

    def __init__(self, ledger: str, databases: dict[str, DatabaseEntry], source_hash: str) -> None:
        self.ledger = ledger
        self.databases = databases
        self.source_hash = source_hash

    def select(self, names: Iterable[str] | None = None) -> list[DatabaseEntry]:
        """The named databases (all when `names` is None), in index order."""
        return _select(self.databases, names)

    def session_database(self, name: str | None = None) -> DatabaseEntry:
        """The per-session database (by name when the build has more than one)."""
        return _session_database(self.databases, name)


def _select(databases: dict[str, Entry], names: Iterable[str] | None) -> list[Entry]:
    if names is None:
        return list(databases.values())
    wanted = list(names)
    unknown = [name for name in wanted if name not in databases]
    if unknown:
        known = ", ".join(databases)
        raise InvalidInputError(None, f"unknown database {unknown[0]!r} (known: {known})")
    return [spec for name, spec in databases.items() if name in wanted]


def _session_database(databases: dict[str, Entry], name: str | None) -> Entry:
    sessions = [spec for spec in databases.values() if spec.session]
    if name is not None:
        chosen = [spec for spec in sessions if spec.name == name]
        if not chosen:
            raise InvalidInputError(None, f"{name!r} is not a per-session database")
        return chosen[0]
    if len(sessions) != 1:
        names = ", ".join(spec.name for spec in sessions) or "none"
        raise InvalidInputError(None, f"choose the per-session database (have: {names})")
    return sessions[0]


def check_session_id(session_id: str) -> None:
    """Refuse an id that is empty, too long, or could leave the sessions directory."""
    problem = None
    if not isinstance(session_id, str) or not session_id:
        problem = "is empty"
    elif len(session_id) > MAX_SESSION_ID_LENGTH:
        problem = f"is longer than {MAX_SESSION_ID_LENGTH} characters"
    elif "\x00" in session_id:
        problem = "contains a NUL character"
    elif "/" in session_id or "\\" in session_id:
        problem = "contains a path separator"
    elif ".." in session_id:
        problem = "contains '..'"
    if problem:
        shown = repr(session_id)[:60] if isinstance(session_id, str) else repr(session_id)
        raise InvalidSessionIdError(None, f"invalid session id {shown}: it {problem}")


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


_index: Index | None = None
_index_tried = False


def load_index() -> Index | None:
    """The build's index (`cortexdb._frozen_index`), loaded and checked once; None to use the catalog.

    None when the index is missing, of another FORMAT, or not of the same build as the
    `_frozen.py` beside it (its `# Source hash:` header line differs, or its source cannot be
    read: a sourceless or zipped install). An index older than the frozen module, say after a
    new `_frozen.py` was copied over an installation, must never make a database look up to
    date: then the caller uses `load_catalog()`, as without an index.
    """
    global _index, _index_tried
    if not _index_tried:
        _index = _read_index()
        _index_tried = True
    return _index


def _read_index() -> Index | None:
    try:
        import cortexdb._frozen_index as index_module  # type: ignore[import-not-found,unused-ignore]
    except ModuleNotFoundError as error:
        if error.name != "cortexdb._frozen_index":
            raise
        return None
    source_hash = getattr(index_module, "SOURCE_HASH", None)
    if getattr(index_module, "FORMAT", None) != FORMAT or not isinstance(source_hash, str):
        return None  # e.g. another build's index: the frozen module says what is wrong, if anything
    if not _frozen_beside_has(getattr(index_module, "__file__", None), source_hash):
        return None
    return _build_index(index_module, source_hash)


def _frozen_beside_has(index_file: object, source_hash: str) -> bool:
    """True when the `_frozen.py` next to `index_file` starts with this source hash's header line.

    One read of its first page; no import, no parse. Any doubt (no file, no source): False.
    """
    if not isinstance(index_file, str) or not source_hash:
        return False
    try:
        fd = os.open(os.path.join(os.path.dirname(index_file), "_frozen.py"), os.O_RDONLY)
        try:
            head = os.read(fd, _HEADER_BYTES)
        finally:
            os.close(fd)
    except OSError:
        return False
    return f"\n# Source hash: {source_hash}\n".encode() in head


def _build_index(index_module: object, source_hash: str) -> Index:
    def bad(message: str) -> FrozenModuleError:
        return FrozenModuleError(
            INDEX_SOURCE, f"{message}; regenerate it with `make migrations` (python -m generator build)"
        )

    ledger = getattr(index_module, "LEDGER", None)
    databases = getattr(index_module, "DATABASES", None)
    if not isinstance(ledger, str) or not ledger.isidentifier():
        raise bad(f"LEDGER must be a table name, got {ledger!r}")
    if not isinstance(databases, dict):
        raise bad("DATABASES must be a dict")
    entries: dict[str, DatabaseEntry] = {}
    for name, entry in databases.items():
        if not isinstance(name, str) or not isinstance(entry, dict):
            raise bad(f"DATABASES[{name!r}] must be a dict")
        file, session, value = entry.get("file"), entry.get("session"), entry.get("fingerprint")
        if not isinstance(session, bool):
            raise bad(f"DATABASES[{name!r}] session must be True or False")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 0x7FFFFFFF:
            raise bad(f"DATABASES[{name!r}] fingerprint must be a positive 31-bit int, got {value!r}")
        _check_file(name, file, session, bad)
        assert isinstance(file, str)
        entries[name] = DatabaseEntry(name, file, session, value)
    return Index(ledger, entries, source_hash)


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
        _check_file(name, file, session, bad)
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
    return Catalog(ledger, specs, source, getattr(frozen, "SOURCE_HASH", None))


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


def _check_file(
    name: object, file: object, session: bool, bad: Callable[[str], FrozenModuleError]
) -> None:
    if not isinstance(file, str) or not file:
        raise bad(f"DATABASES[{name!r}] has no file")
    parts = file.replace("\\", "/").split("/")
    if os.path.isabs(file) or ".." in parts or "" in parts:
        raise bad(f"DATABASES[{name!r}] file {file!r} leaves the data directory")
    placeholders = file.count(SESSION_PLACEHOLDER)
    if session and (placeholders != 1 or SESSION_PLACEHOLDER not in parts[-1]):
        raise bad(f"DATABASES[{name!r}] is per session: its file name needs one {{session_id}}")
    if not session and placeholders:
        raise bad(f"DATABASES[{name!r}] is not per session but its file has {{session_id}}")
