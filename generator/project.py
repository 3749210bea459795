"""The one reader of a project: the manifest, its SQL files, the lock, and what the build cache
keys on, each read once.

The build, its cache key, `lint` and `check` all work on the bytes read here, so the key
and the build can never see two versions of a file, and `lint` and `build` turn a file's
bytes into text the same way (`decode_sql`). The writes live in outputs.py.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from . import cache
from .diagnostics import Diagnostic, GeneratorError, display_path
from .manifest import Manifest, Migration, parse_manifest
from .paths import lexically_leaves
from .schemafile import schema_path


class FileSystem:
    """The answers `parse_manifest` needs of the disk (see manifest.Disk)."""

    def leaves(self, base: Path, relative: str) -> bool:
        if lexically_leaves(relative):
            return True
        try:
            (base / relative).resolve().relative_to(base.resolve())
        except ValueError:  # outside `base`
            return True
        except (OSError, RuntimeError):  # a symlink loop: it cannot be shown to stay inside
            return True
        return False

    def is_file(self, path: Path) -> bool:
        return path.is_file()

    def listing(self, folder: Path) -> list[Path] | None:
        return sorted(folder.iterdir()) if folder.is_dir() else None


@dataclass(frozen=True)
class Project:
    """Everything a build reads, as bytes."""

    manifest: Manifest
    manifest_bytes: bytes
    sql: Mapping[str, bytes]  # every readable `*.sql` file of the migrations folder, by name
    unreadable: Mapping[str, str]  # the other `*.sql` entries there: name -> why
    lock: bytes | None  # None: there is no lock file (yet)
    lock_problem: Diagnostic | None  # the lock exists but cannot be read
    toolchain: tuple[tuple[str, bytes], ...]  # what the cache keys on besides the project; () unread
    cache_entry: bytes | None  # the stored build cache, if read and there
    # The committed `schema/<database>.sql` files, by database: their heal proof records let a
    # build with the same heal inputs skip the proof (schemafile.py, build.heal_database).
    schema_files: Mapping[str, bytes] = field(default_factory=dict)
    heal_code: bytes = b""  # the code the heal proof runs: part of the inputs it records

    def source(self, migration: Migration) -> bytes:
        """A listed migration's bytes (read_project made sure every one was read)."""
        return self.sql[migration.file]

    def cache_key(self, lock_text: str | None = None) -> str:
        """The build cache's key of these bytes; `lock_text` stands for the lock the build will write."""
        lock = self.lock if lock_text is None else lock_text.encode("utf-8")
        entries: dict[str, bytes | None] = dict(self.sql)
        entries.update({name: None for name in self.unreadable})
        m = self.manifest
        return cache.cache_key(self.manifest_bytes, entries, lock, self.toolchain,
                               (m.output, m.index_output, m.lock, m.ledger))


def load_manifest(path: Path) -> Manifest:
    """Read and validate the manifest at `path`; GeneratorError (exit 2) lists every problem."""
    return read_manifest(path)[0]


def read_manifest(path: Path) -> tuple[Manifest, bytes]:
    """The manifest at `path` and the bytes it was read from (`new` appends to exactly those)."""
    raw = _manifest_bytes(path)
    return parse_manifest(path, raw, FileSystem()), raw


def read_project(path: Path, *, with_cache: bool = True) -> Project:
    """Read the project whose manifest is `path`; with `with_cache`, also the build cache's
    stored entry and the toolchain bytes its key covers."""
    manifest, raw = read_manifest(path)
    sql: dict[str, bytes] = {}
    unreadable: dict[str, str] = {}
    folder = manifest.migrations_dir
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        if entry.suffix != ".sql":
            continue
        try:
            sql[entry.name] = entry.read_bytes()
        except IsADirectoryError:
            unreadable[entry.name] = "not a file"
        except OSError as exc:
            unreadable[entry.name] = exc.strerror or str(exc)
    problems = [Diagnostic(display_path(m.path), 1, 1, "MF006",
                           f"cannot read: {unreadable.get(m.file, 'no such file')}")
                for m in manifest.migrations if m.file not in sql]
    if problems:  # a listed file that vanished since the manifest was checked, or no permission
        raise GeneratorError(problems)
    lock_path = manifest.root / manifest.lock
    lock: bytes | None = None
    problem = None
    try:
        lock = lock_path.read_bytes()
    except FileNotFoundError:
        pass
    except OSError as exc:
        problem = Diagnostic(display_path(lock_path), 1, 1, "MG300", f"cannot read the lock file: {exc}")
    toolchain: tuple[tuple[str, bytes], ...] = ()
    entry_bytes = None
    if with_cache:
        toolchain = _toolchain()
        try:
            entry_bytes = (manifest.root / cache.CACHE_FILE).read_bytes()
        except OSError:
            entry_bytes = None
    schema_files = {}
    if manifest.original_runner_through:
        for name in manifest.databases:
            # None yet, or unreadable: the proof runs, and the build writes the file.
            with contextlib.suppress(OSError):
                schema_files[name] = (manifest.root / schema_path(name)).read_bytes()
    return Project(manifest, raw, sql, unreadable, lock, problem, toolchain, entry_bytes, schema_files,
                   _heal_code() if manifest.original_runner_through else b"")


def sql_files(paths: Iterable[Path]) -> list[Path]:
    """The SQL files `lint PATHS` names: each file as given, each folder's `*.sql` files sorted."""
    found: list[Path] = []
    missing: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix == ".sql" and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            missing.append(Diagnostic(str(path), 1, 1, "MF006", "no such file or folder"))
    if missing:
        raise GeneratorError(missing)
    return found


def read_sql_file(path: Path) -> bytes:
    """The bytes of a SQL file named on the command line; GeneratorError (exit 2) when unreadable."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise GeneratorError([Diagnostic(display_path(path), 1, 1, "MF006",
                                         f"cannot read: {exc.strerror}")]) from None


def read_if_exists(path: Path) -> bytes | None:
    """A file's bytes for an edit (the lock for `unlock`); None when it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def decode_sql(shown: str, raw: bytes) -> str | Diagnostic:
    """A SQL file's text, or the MG100 finding at the line of its first byte that is not UTF-8.

    The one decoding of SQL: `build` and `lint` must give the same finding for one file.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return Diagnostic(shown, line, 1, "MG100", f"not UTF-8 (byte {exc.start}): save the file as UTF-8")


def _manifest_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise GeneratorError([Diagnostic(display_path(path), 1, 1, "MF001",
                                         f"cannot read manifest: {exc.strerror}")]) from None


def _toolchain() -> tuple[tuple[str, bytes], ...]:
    """The bytes besides the project that a build's result depends on (see cache.py)."""
    found: list[tuple[str, bytes]] = []
    for path in sorted(cache.GENERATOR_DIR.rglob("*")):
        if path.suffix in {".py", ".j2"}:
            found.append(("generator:" + path.relative_to(cache.GENERATOR_DIR).as_posix(), path.read_bytes()))
    for path in cache.RUNTIME_MODULES:
        found.append(("runtime:" + path.name, path.read_bytes() if path.is_file() else b"<none>"))
    found.append(("sqlglot", _sqlglot_version()))
    return tuple(found)


def _heal_code() -> bytes:
    """The heal proof's own code and the runtime heal it runs, as one byte string; with LF line
    ends, so that a checkout with CRLF (git's core.autocrlf) takes the committed record."""
    return b"\0".join(path.read_bytes().replace(b"\r\n", b"\n")
                       for path in (cache.GENERATOR_DIR / "healproof.py", *cache.RUNTIME_MODULES))


def _sqlglot_version() -> bytes:
    """sqlglot's version file, found on sys.path without importing anything (importlib.metadata
    alone costs more than the rest of a cached build)."""
    for entry in sys.path:
        candidate = Path(entry or ".") / "sqlglot" / "_version.py"
        if candidate.is_file():
            return candidate.read_bytes()
    return b"<none>"
