"""Loading and validating `manifest.toml`: the one list of databases and migrations.

Every problem is collected and reported at once, each at the manifest line that causes it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Protocol

from cortexdb._contract import SESSION_PLACEHOLDER, shown_version

from .diagnostics import Diagnostic, GeneratorError, display_path
from .paths import clashes, file_problem
from .tomltext import Locator, conflict_markers, printable, toml_key, toml_position

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

# fullmatch, never `$` (which also matches before a final newline); ASCII digits only.
MIGRATION_NAME = re.compile(r"(?P<number>[0-9]{3,6})_(?P<slug>[a-z0-9]+(?:_[a-z0-9]+)*)\.sql")
IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LINT_CODE = re.compile(r"MG[0-9]{3}")

GENERATOR_KEYS = {"migrations", "output", "ledger", "lock", "original_runner_through"}
DATABASE_KEYS = {"file", "purpose"}
MIGRATION_KEYS = {"file", "database", "description", "allow"}
TOP_KEYS = {"generator", "databases", "migration"}


class Disk(Protocol):
    """What validating a manifest needs to know of the file system (project.py answers)."""

    def leaves(self, base: Path, relative: str) -> bool:
        """True when `relative` is absolute or resolves (symlinks too) outside `base`."""

    def is_file(self, path: Path) -> bool:
        """Whether `path` is a file; OSError when that cannot be told (a name too long)."""

    def listing(self, folder: Path) -> list[Path] | None:
        """The entries of `folder`, sorted; None when it is not a folder; OSError when unreadable."""


@dataclass(frozen=True)
class Database:
    name: str
    file: str  # relative to the data dir; may hold `{session_id}`
    purpose: str
    line: int

    @property
    def per_session(self) -> bool:
        return SESSION_PLACEHOLDER in self.file


@dataclass(frozen=True)
class Migration:
    version: int
    file: str  # file name inside the migrations folder
    path: Path
    database: str
    description: str
    line: int  # line of its `[[migration]]` header in the manifest
    allow: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    path: Path
    root: Path
    migrations_dir: Path
    output: str  # relative to root, POSIX
    ledger: str
    lock: str  # relative to root, POSIX
    # The last version CortexPrism's original runner may have applied: healing on adoption (and
    # its proof) covers the migrations up to it; 0: none (a project that never ran the original).
    original_runner_through: int
    databases: Mapping[str, Database]
    migrations: tuple[Migration, ...]

    @property
    def index_output(self) -> str:
        """The index of the frozen module: `<stem>_index.py` beside `output` (relative, POSIX)."""
        return index_path(self.output)

    def display(self, path: Path) -> str:
        """A path as diagnostics show it: relative to the project root where possible."""
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


def index_path(output: str) -> str:
    """`cortexdb/_frozen.py` -> `cortexdb/_frozen_index.py`: the small module the runtime reads first."""
    pure = PurePosixPath(output)
    return pure.with_name(f"{pure.stem}_index.py").as_posix()


def parse_manifest(path: Path, raw: bytes, disk: Disk) -> Manifest:
    """Validate the manifest `raw` (the bytes of `path`); raise GeneratorError listing every problem.

    What the rules need of the file system (where a symlink leads, which files exist) comes
    from `disk`: project.py, the one reader of the project, hands it in.
    """
    shown = display_path(path)
    try:
        text = raw.decode("utf-8-sig")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise GeneratorError(
            [Diagnostic(shown, 1, 1, "MF001", f"manifest is not UTF-8 (byte {exc.start})")]
        ) from None
    except tomllib.TOMLDecodeError as exc:
        conflicts = conflict_markers(raw)
        if conflicts:  # say what happened, not what the TOML parser makes of it
            raise GeneratorError([
                Diagnostic(shown, line, 1, "MF001", "unresolved merge conflict: two branches changed the "
                           "manifest; keep both [[migration]] entries, give yours the next free number "
                           "(rename its file), then rebuild")
                for line in conflicts]) from None
        line, col = toml_position(exc)
        message = str(exc).split(" (at ", 1)[0]
        raise GeneratorError([Diagnostic(shown, line, col, "MF001", f"bad TOML: {message}")]) from None
    return _validate(path, shown, text, data, disk)


def _validate(path: Path, shown: str, text: str, data: dict[str, Any], disk: Disk) -> Manifest:
    where = Locator(text)
    leaves = disk.leaves
    problems: list[Diagnostic] = []

    def report(line: int, code: str, message: str) -> None:
        problems.append(Diagnostic(shown, line, 1, code, message))

    root = path.parent.resolve()
    for key in sorted(set(data) - TOP_KEYS):
        report(where.table(key), "MF002", f"unknown key '{toml_key(key)}' (known: generator, databases, migration)")

    generator = data.get("generator", {})
    if not isinstance(generator, dict):
        report(1, "MF002", "'generator' must be a table")
        generator = {}
    gen_line = where.table("generator")
    for key in sorted(set(generator) - GENERATOR_KEYS):
        report(where.key(gen_line, key), "MF002",
               f"unknown key 'generator.{toml_key(key)}' "
               "(known: ledger, lock, migrations, original_runner_through, output)")
    migrations_rel = _string(generator, "migrations", "migrations", gen_line, where, report, "generator")
    output = _string(generator, "output", "cortexdb/_frozen.py", gen_line, where, report, "generator")
    ledger = _string(generator, "ledger", "schema_migrations", gen_line, where, report, "generator")
    lock = _string(generator, "lock", "migrations.lock", gen_line, where, report, "generator")
    if leaves(root, lock):
        report(where.key(gen_line, "lock"), "MF008", f"'generator.lock' = {lock!r} leaves the project folder")
    if not IDENTIFIER.fullmatch(ledger):
        report(where.key(gen_line, "ledger"), "MF003",
               f"'generator.ledger' must be a plain SQL identifier, not {ledger!r}")
    elif ledger.lower().startswith("sqlite_"):  # SQLite refuses to create such a table
        report(where.key(gen_line, "ledger"), "MF003",
               f"'generator.ledger' = {ledger!r}: SQLite reserves the names that start with sqlite_")
    if leaves(root, migrations_rel):
        report(where.key(gen_line, "migrations"), "MF008",
               f"'generator.migrations' = {migrations_rel!r} leaves the project folder")
    output_is_file = not leaves(root, output) and output.endswith(".py") and PurePosixPath(output).name != ""
    if not output_is_file:
        report(where.key(gen_line, "output"), "MF008",
               f"'generator.output' = {output!r} must be a .py file inside the project folder")
    elif leaves(root, index_path(output)):  # e.g. a symlink where the index goes
        report(where.key(gen_line, "output"), "MF008",
               f"'generator.output' = {output!r}: its index {index_path(output)!r} leaves the project folder")
    # (An output that is no file name has no index to compare: `output = ""` is reported above.)
    if output_is_file and PurePosixPath(lock) == PurePosixPath(index_path(output)):
        report(where.key(gen_line, "lock"), "MF008",
               f"'generator.lock' = {lock!r} is where the build writes the index of 'generator.output'")
    for key, value in (("migrations", migrations_rel), ("output", output), ("lock", lock)):
        if not value.isprintable():  # a newline, an escape code, a right-to-left override
            report(where.key(gen_line, key), "MF003",
                   f"'generator.{key}' = {value!r} holds a control or other unprintable character")
    migrations_dir = root / migrations_rel
    through = generator.get("original_runner_through", 0)
    if isinstance(through, bool) or not isinstance(through, int) or through < 0:
        report(where.key(gen_line, "original_runner_through"), "MF003",
               f"'generator.original_runner_through' must be a version number (0 or more), not {through!r}")
        through = 0

    databases = _databases(data.get("databases", {}), where, report)
    listed: set[str] = set()
    migrations = _migrations(data.get("migration", []), where, report, databases, migrations_dir, root, listed,
                             disk)
    _check_numbers(migrations, where, report)
    _check_unlisted(listed, migrations_dir, migrations_rel, shown, problems, disk)

    if problems:
        raise GeneratorError(problems)
    return Manifest(
        path=path,
        root=root,
        migrations_dir=migrations_dir,
        output=PurePosixPath(output).as_posix(),
        ledger=ledger,
        lock=PurePosixPath(lock).as_posix(),
        original_runner_through=through,
        databases=databases,
        migrations=tuple(sorted(migrations, key=lambda m: m.version)),
    )


def _string(table: Mapping[str, Any], key: str, default: str | None, header: int, where: Locator,
            report: Any, prefix: str) -> str:
    value = table.get(key, default)
    if value is None:
        report(header, "MF003", f"'{prefix}' needs '{key}'")
        return ""
    if not isinstance(value, str):
        report(where.key(header, key), "MF003",
               f"'{prefix}.{toml_key(key)}' must be a string, not {type(value).__name__}")
        return str(default or "")
    return value


def _databases(raw: Any, where: Locator, report: Any) -> dict[str, Database]:
    if not isinstance(raw, dict) or not raw:
        report(where.table("databases"), "MF003", "the manifest needs at least one [databases.NAME] table")
        return {}
    found: dict[str, Database] = {}
    for name, table in raw.items():
        line = where.table(f"databases.{name}")
        if not isinstance(table, dict):
            report(line, "MF003", f"'databases.{toml_key(name)}' must be a table")
            continue
        if not IDENTIFIER.fullmatch(name):
            report(line, "MF003", f"database name {name!r} must be a plain identifier")
        for key in sorted(set(table) - DATABASE_KEYS):
            report(where.key(line, key), "MF002",
                   f"unknown key 'databases.{toml_key(name)}.{toml_key(key)}' (known: file, purpose)")
        file = _string(table, "file", None, line, where, report, f"databases.{toml_key(name)}")
        purpose = _string(table, "purpose", "", line, where, report, f"databases.{toml_key(name)}")
        problem = file_problem(file) if isinstance(table.get("file"), str) else None  # "" too
        if problem is not None:
            code, why = problem
            report(where.key(line, "file"), code, f"'databases.{toml_key(name)}.file' = {file!r} {why}")
        found[name] = Database(name=name, file=file, purpose=purpose, line=line)
    # `x.db`, `./x.db` and `X.db` are one file (the last on case-insensitive file systems).
    files = [PurePosixPath(db.file).as_posix().casefold() for db in found.values()]
    for db in found.values():
        if files.count(PurePosixPath(db.file).as_posix().casefold()) > 1:
            report(db.line, "MF003", f"'databases.{toml_key(db.name)}.file' = {db.file!r} is used by another database")
    valid = {db.name: db.file for db in found.values() if isinstance(raw[db.name].get("file"), str)
             and file_problem(db.file) is None}
    for name, why in clashes(valid).items():
        db = found[name]
        report(where.key(db.line, "file"), "MF003", f"'databases.{toml_key(name)}.file' = {db.file!r} {why}")
    return found


def _migrations(raw: Any, where: Locator, report: Any, databases: Mapping[str, Database],
                migrations_dir: Path, root: Path, listed: set[str], disk: Disk) -> list[Migration]:
    if not isinstance(raw, list):
        report(1, "MF003", "'migration' must be an array of tables: [[migration]]")
        return []
    found: list[Migration] = []
    for index, entry in enumerate(raw):
        line = where.migration(index)
        if not isinstance(entry, dict):
            report(line, "MF003", "each [[migration]] must be a table")
            continue
        for key in sorted(set(entry) - MIGRATION_KEYS):
            report(where.key(line, key), "MF002",
                   f"unknown key '{toml_key(key)}' in [[migration]] (known: allow, database, description, file)")
        file = _string(entry, "file", None, line, where, report, "migration")
        database = _string(entry, "database", None, line, where, report, "migration")
        description = _string(entry, "description", "", line, where, report, "migration")
        if isinstance(entry.get("database"), str) and database not in databases:  # "" too
            known = ", ".join(toml_key(name) for name in sorted(databases)) or "none"
            report(where.key(line, "database"), "MF004", f"unknown database {database!r} (known: {known})")
        allow = _allow(entry.get("allow", {}), where.key(line, "allow"), report)
        if not isinstance(entry.get("file"), str):  # missing or not a string: reported above
            continue
        listed.add(file)
        file_line = where.key(line, "file")
        if disk.leaves(migrations_dir, file) or "/" in file:
            report(file_line, "MF008",
                   f"migration file {file!r} must be a file name inside {_rel(migrations_dir, root)}/")
            continue
        name = MIGRATION_NAME.fullmatch(file)
        if not name:
            report(file_line, "MF005", f"migration file {file!r} is not named NNN_snake_case.sql")
            continue
        path = migrations_dir / file
        try:
            exists = disk.is_file(path)
        except OSError as exc:  # e.g. a name longer than the file system allows
            report(file_line, "MF006", f"migration file {file!r} cannot be read: {exc.strerror}")
            continue
        if not exists:
            report(file_line, "MF006", f"migration file {file!r} does not exist in {_rel(migrations_dir, root)}/")
        if not description:
            description = name.group("slug").replace("_", " ")
        found.append(Migration(
            version=int(name.group("number")), file=file, path=path, database=database,
            description=description, line=line, allow=allow,
        ))
    return found


def _allow(raw: Any, line: int, report: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        report(line, "MF003", "'allow' must be an inline table like { MG007 = \"reason\" }")
        return {}
    allow: dict[str, str] = {}
    for code, reason in raw.items():
        if not LINT_CODE.fullmatch(code):
            report(line, "MF003", f"'allow' key {code!r} is not a lint code like MG007")
        elif not isinstance(reason, str) or not reason.strip():
            report(line, "MG000", f"'allow' of {code} needs a reason: {{ {code} = \"why this is safe\" }}")
        else:
            allow[code] = reason
    return allow


def _check_numbers(migrations: list[Migration], where: Locator, report: Any) -> None:
    seen: dict[int, Migration] = {}
    for migration in migrations:
        if migration.version in seen:
            first = seen[migration.version]
            report(migration.line, "MF007",
                   f"duplicate migration number {shown_version(migration.version)}: {migration.file} and {first.file} "
                   f"(line {first.line})")
        else:
            seen[migration.version] = migration
        if migration.version == 0:
            report(migration.line, "MF007", f"migration number 000 ({migration.file}): numbers start at 001")
    numbers = sorted(seen)
    # A few missing numbers one finding each; a wider gap one finding: a migration numbered
    # 1000 alone is one mistake, not 999.
    for low, high in zip([0, *numbers], numbers, strict=False):
        after = seen.get(low)
        gap = [f"number {shown_version(n)}" for n in range(low + 1, high)] if high - low <= 4 else [
            f"numbers {shown_version(low + 1)} to {shown_version(high - 1)}"]
        for missing in gap:
            report(after.line if after else 1, "MF007",
                   f"missing migration {missing}: numbers must run 001, 002, ... without gaps")


def _check_unlisted(listed: set[str], migrations_dir: Path, migrations_rel: str, shown: str,
                    problems: list[Diagnostic], disk: Disk) -> None:
    try:
        found = disk.listing(migrations_dir)
    except OSError as exc:  # e.g. a name longer than the file system allows, or no permission
        problems.append(Diagnostic(shown, 1, 1, "MF006", f"migrations folder {migrations_rel!r} cannot be read: "
                                   f"{exc.strerror}"))
        return
    if found is None:
        problems.append(Diagnostic(shown, 1, 1, "MF006", f"migrations folder {migrations_rel!r} does not exist"))
        return
    for path in found:
        if path.suffix == ".sql" and path.name not in listed:
            problems.append(Diagnostic(printable(display_path(path)), 1, 1, "MF009",
                                       f"not listed in {shown}: add a [[migration]] entry for it or remove the file"))


def _rel(path: Path, root: Path) -> str:
    try:
        return printable(path.relative_to(root).as_posix())
    except ValueError:
        return printable(str(path))
