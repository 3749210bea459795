"""The operator commands' public functions: history, pending_sql, baseline, backups, restore, repair.

Each reads a snapshot through the database's backend and decides with a pure function of it
(`_history`, `_baseline`, `_repair`); the ones that write do so under the lock `migrate` takes
(`_operate`, `local.restore`). Re-exported by `cortexdb`; loaded only when called.
"""

from __future__ import annotations

import os

from ._api import DEFAULT_BUSY_TIMEOUT, migrate
from ._index import check_session_id
from ._targets import is_url, resolve

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

    from ._api import DatabaseResult, StrPath
    from ._catalog import Catalog, DatabaseSpec
    from ._history import DatabaseHistory
    from ._inspect import Snapshot
    from ._operate import Work as Write
    from ._repair import ReadRows, RepairWork
    from ._targets import Target
    from .local.backups import BackupRun
    from .local.restore import Backup


def history(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> list[DatabaseHistory]:
    """Per database: every ledger row (version, file, description, applied_at, checksum kind),
    then the pending migrations. Reads only."""
    from ._catalog import load_catalog
    from ._history import database_history

    catalog = load_catalog(frozen)
    return [
        database_history(catalog.databases[target.name],
                         target.backend(busy_timeout).snapshot(catalog.ledger, entries=True))
        for target in resolve(catalog, os.fspath(data_dir), databases, urls)
    ]


def pending_sql(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> list[tuple[DatabaseResult, list[tuple[str, list[str]]]]]:
    """A dry run with its SQL: per database, (its result, [(migration label, the statements
    `migrate` would run for it, in order)]). Reads only; raises the refusal `migrate` would."""
    from ._catalog import load_catalog
    from ._history import pending_sql as statements

    catalog = load_catalog(frozen)
    result = migrate(data_dir, databases=databases, urls=urls, dry_run=True, busy_timeout=busy_timeout,
                     frozen=frozen)
    return [
        (database, [(m.label, sql) for m, sql in statements(catalog.ledger, catalog.databases[database.name],
                                                           database.pending)])
        for database in result.databases
    ]


def baseline(
    data_dir: StrPath,
    version: int,
    *,
    database: str | None = None,
    urls: Mapping[str, str] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> list[str]:
    """Record migrations up to `version` as applied, without running them, in a database that has
    no ledger and whose live schema is the one they prove; the locations written.

    The database is the one migration `version` belongs to (`database` may name it, and must
    agree). Refuses (`OperationRefusedError`, naming the difference) otherwise."""
    from ._baseline import baseline_work, migrations_upto, schema_after
    from ._catalog import load_catalog
    from ._operate import write_under_lock

    catalog = load_catalog(frozen)
    spec = _database_of(catalog, version, database)
    migrations = migrations_upto(spec, version)
    proven = schema_after(migrations, catalog.ledger, catalog.source)
    written = []
    for target in resolve(catalog, os.fspath(data_dir), [spec.name], urls):
        def decide(rows: list[tuple[int, str]], snapshot: Snapshot) -> Write:
            return baseline_work(spec, catalog.ledger, migrations, proven, rows, snapshot)

        if write_under_lock(target, catalog.ledger, busy_timeout, "baseline", decide):
            written.append(target.location)
    return written


def _database_of(catalog: Catalog, version: int, database: str | None) -> DatabaseSpec:
    """The database migration `version` belongs to; `database`, when given, must be it."""
    from ._contract import shown_version
    from ._errors import InvalidInputError

    owner = next((spec for spec in catalog.databases.values()
                  if any(m.version == version for m in spec.migrations)), None)
    if database is not None:
        named = catalog.select([database])[0]
        if owner is not None and owner is not named:
            raise InvalidInputError(None, f"migration {shown_version(version)} belongs to database {owner.name}, "
                                           f"not {database}")
        return named
    if owner is None:
        every = [m.version for spec in catalog.databases.values() for m in spec.migrations]
        span = f"{shown_version(min(every))} to {shown_version(max(every))}" if every else "none"
        raise InvalidInputError(None, f"this build has no migration {shown_version(version)} (its versions: {span})")
    return owner


class RestoreResult:
    """What `restore` did: the files put back (under the data dir), and the folder the replaced
    databases were saved into (None when none existed)."""

    __slots__ = ("kept", "restored")

    def __init__(self, restored: list[str], kept: str | None) -> None:
        self.restored = restored
        self.kept = kept

    def __repr__(self) -> str:
        return f"RestoreResult({self.restored!r}, kept={self.kept!r})"


def backups(data_dir: StrPath) -> list[Backup]:
    """The backups `migrate` (and `restore`) took under `data_dir`, newest first."""
    from .local.restore import list_backups

    return list_backups(os.fspath(data_dir))


def restore(
    data_dir: StrPath,
    backup: str,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> RestoreResult:
    """Put back every database file the backup folder `backup` holds (or only those of `databases`),
    each atomically, under the lock `migrate` takes, after a `quick_check` of the copy; each
    database it replaces is saved as a new backup first. A database on a libSQL server cannot be
    restored from here (`InvalidInputError`): the server keeps its own snapshots."""
    from ._catalog import load_catalog
    from ._errors import InvalidInputError
    from ._targets import database_urls
    from .local.backups import BackupRun
    from .local.restore import find_backup, restore_file

    catalog = load_catalog(frozen)
    root = os.fspath(data_dir)
    chosen = catalog.select(databases)
    remote = [spec.name for spec in chosen if spec.name in database_urls(catalog, urls)]
    if remote:
        raise InvalidInputError(
            None, f"database {remote[0]} is on a libSQL server: restore works on local files only; "
            "restore it with the server's own snapshots (sqld keeps them), or give it no URL",
        )
    found = find_backup(root, backup)
    names = {spec.name for spec in chosen}
    files = [(relative, _database_of_file(catalog, relative)) for relative in found.files]
    files = [(relative, name) for relative, name in files if name in names]
    if databases is not None:
        missing = sorted(names - {name for _, name in files})
        if missing:
            raise InvalidInputError(
                found.path, f"holds no copy of database {missing[0]} (it holds: {', '.join(found.files) or 'nothing'})"
            )
    keep = BackupRun(root)
    restored = []
    try:
        for relative, _ in files:
            restore_file(os.path.join(found.path, relative), os.path.join(root, relative), relative, busy_timeout,
                         keep)
            restored.append(relative)
    finally:
        kept = keep.finish()
    return RestoreResult(restored, kept)


def _database_of_file(catalog: Catalog, relative: str) -> str | None:
    """The database a file under the data dir belongs to (`vault.db`, `sessions/abc.db`), if any."""
    from ._errors import InvalidSessionIdError

    for spec in catalog.databases.values():
        if not spec.session:
            if spec.file == relative:
                return spec.name
            continue
        head, _, tail = spec.file.rpartition("/")
        prefix, _, suffix = tail.partition("{session_id}")
        directory, _, name = relative.rpartition("/")
        if directory == head and name.startswith(prefix) and name.endswith(suffix):
            try:
                check_session_id(name[len(prefix): len(name) - len(suffix)])
            except InvalidSessionIdError:
                continue
            return spec.name
    return None


class RepairResult:
    """What `repair` did (or, with dry_run, would do) to one database."""

    __slots__ = ("backup_dir", "exists", "name", "path", "realigned", "repaired", "statements")

    def __init__(self, name: str, path: str, statements: list[str], realigned: list[int], repaired: bool,
                 exists: bool = True) -> None:
        self.exists = exists  # False: no such file yet (`migrate` creates it); nothing to repair
        self.name = name
        self.path = path
        self.statements = statements  # in order, in one transaction with foreign keys off; [] when none
        self.realigned = realigned  # versions whose ledger checksum becomes this build's
        self.repaired = repaired  # False for a dry run and for a database that needed nothing
        self.backup_dir: str | None = None  # where the file was saved before its repair

    def __repr__(self) -> str:
        return f"RepairResult({self.name!r}, {len(self.statements)} statement(s), repaired={self.repaired})"


def repair(
    data_dir: StrPath,
    *,
    databases: Iterable[str] | None = None,
    urls: Mapping[str, str] | None = None,
    dry_run: bool = False,
    backup: bool = True,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    frozen: object | None = None,
) -> list[RepairResult]:
    """Make each database's schema the proven one (tables rebuilt, indexes, views and triggers made
    again) and realign the ledger of migrations changed after `generator unlock` when the schema
    already is the proven one; in one transaction per database, after a backup. Refusals
    (`OperationRefusedError`) name what stands in the way (rows, pending migrations)."""
    from ._catalog import load_catalog
    from .local.backups import BackupRun

    catalog = load_catalog(frozen)
    root = os.fspath(data_dir)
    keep = BackupRun(root) if backup and not dry_run else None  # publishes a folder only if it saved a file
    try:
        results = [_repair_one(catalog, target, busy_timeout, dry_run, keep)
                   for target in resolve(catalog, root, databases, urls)]
    finally:
        saved = keep.finish() if keep is not None else None
    for result in results:
        if result.repaired and not is_url(result.path):
            result.backup_dir = saved
    return results


def _repair_one(catalog: Catalog, target: Target, busy_timeout: float, dry_run: bool,
                keep: BackupRun | None) -> RepairResult:
    from ._operate import write_under_lock
    from ._repair import repair_work

    spec = catalog.databases[target.name]
    read_rows = _row_reader(target, busy_timeout)
    decided: list[RepairWork | None] = [None]

    def decide(rows: list[tuple[int, str]], snapshot: Snapshot) -> Write:
        work = decided[0] = repair_work(spec, catalog.ledger, snapshot, read_rows, catalog.source)
        return None if work is None else (work.statements, work.record)

    first = target.backend(busy_timeout).snapshot(catalog.ledger, schema=True)
    if not first.exists:
        return RepairResult(target.name, target.location, [], [], False, exists=False)
    wrote = False
    if dry_run:
        decide([], first)
    else:
        wrote = write_under_lock(target, catalog.ledger, busy_timeout, "repair", decide, foreign_keys_off=True,
                                 backups=None if target.remote else keep)
    work = decided[0]
    if work is None:
        return RepairResult(target.name, target.location, [], [], wrote)
    return RepairResult(target.name, target.location, work.statements, work.realigned, wrote)


def _row_reader(target: Target, busy_timeout: float) -> ReadRows:
    """Reads a live table's rows on a connection of its own: for a file, read-only beside the one
    holding the write lock (it sees the same committed state); on a server, one autocommit read
    (through a replica it may lag: the repair's own transaction stays the judge)."""
    import sqlite3

    from ._contract import quote_identifier
    from ._errors import SQLError

    def read(table: str, columns: Sequence[str]) -> list[tuple[int | None, Sequence[Any]]]:
        listed = ", ".join(quote_identifier(column) for column in columns) or "NULL"
        source = f"FROM {quote_identifier(table)}"
        conn = _reading_connection(target, busy_timeout)
        try:
            try:
                rows = [tuple(row) for row in conn.execute(f"SELECT rowid, {listed} {source}").fetchall()]
            except (sqlite3.OperationalError, SQLError):  # a WITHOUT ROWID table
                rows = [(None, *row) for row in conn.execute(f"SELECT {listed} {source}").fetchall()]
        except sqlite3.Error as error:
            from .local.sqlite import as_cortexdb_error

            raise as_cortexdb_error(error, target.location, busy_timeout) from None
        finally:
            conn.close()
        return [(row[0], row[1:]) for row in rows]

    return read


def _reading_connection(target: Target, busy_timeout: float) -> Any:
    if target.remote:
        from ._targets import auth_token
        from .remote.backend import connect

        return connect(target.location, auth_token(target.name), busy_timeout)
    from .local.sqlite import connect_read_only

    return connect_read_only(target.location, busy_timeout)
