"""The build's index (`_frozen_index.py`): each database's name, file and fingerprint.

Two generated modules describe a build: `_frozen_index.py` (all the up-to-date check needs, a
few hundred bytes) and `_frozen.py` (every step and proven schema, 165 KB; `_catalog`). Every
application start reads this one; the other is loaded only for a database that needs work.

So this module imports nothing beyond what `sqlite3` already loaded (no typing, hashlib,
pathlib, dataclasses or logging: each of those costs more than the whole up-to-date check).
"""

from __future__ import annotations

import os

from ._contract import FORMAT, SESSION_PLACEHOLDER
from ._errors import FrozenModuleError, InvalidInputError, InvalidSessionIdError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import TypeVar

    Entry = TypeVar("Entry", bound="DatabaseEntry")

MAX_SESSION_ID_LENGTH = 128
FROZEN_SOURCE = "cortexdb/_frozen.py"
INDEX_SOURCE = "cortexdb/_frozen_index.py"
#: How much of `_frozen.py` is read to find its `# Source hash:` line (line 4): one page.
_HEADER_BYTES = 4096


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


class Index:
    """The validated content of `_frozen_index.py`: what the up-to-date check needs."""

    __slots__ = ("databases", "ledger", "source_hash")

    def __init__(self, ledger: str, databases: dict[str, DatabaseEntry], source_hash: str) -> None:
        self.ledger = ledger
        self.databases = databases
        self.source_hash = source_hash

    def select(self, names: Iterable[str] | None = None) -> list[DatabaseEntry]:
        """The named databases (all when `names` is None), in index order."""
        return select_named(self.databases, names)

    def session_database(self, name: str | None = None) -> DatabaseEntry:
        """The per-session database (by name when the build has more than one)."""
        return session_entry(self.databases, name)


def select_named(databases: dict[str, Entry], names: Iterable[str] | None) -> list[Entry]:
    if names is None:
        return list(databases.values())
    wanted = list(names)
    unknown = [name for name in wanted if name not in databases]
    if unknown:
        known = ", ".join(databases)
        raise InvalidInputError(None, f"unknown database {unknown[0]!r} (known: {known})")
    return [spec for name, spec in databases.items() if name in wanted]


def session_entry(databases: dict[str, Entry], name: str | None) -> Entry:
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
        check_file(name, file, session, bad)
        assert isinstance(file, str)
        entries[name] = DatabaseEntry(name, file, session, value)
    return Index(ledger, entries, source_hash)


def check_file(
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
