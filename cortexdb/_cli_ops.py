"""The operator commands of `cortex db` (history, baseline, repair, restore) and `migrate` as JSON
or SQL: each a few lines over `_ops`/`_api`, printing through `_report`. Loaded only for them."""

from __future__ import annotations

import os

from . import _api, _ops, _report
from ._contract import shown_version, shown_versions
from ._report import PENDING

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Protocol

    from ._api import DatabaseResult
    from ._targets import BackupPolicy

    class Options(Protocol):
        """What these commands read of `_cli.Options` (not imported: `_cli` imports this module)."""

        command: str
        arguments: list[str]
        data_dir: str
        databases: list[str]
        urls: dict[str, str]
        busy_timeout: float
        dry_run: bool
        no_backup: bool
        format: str
        check: bool
        sql: bool
        baseline_version: int | None

        @property
        def backup_policy(self) -> bool | BackupPolicy: ...


def run(options: Options, frozen: object | None) -> int:
    command = {"history": _history, "baseline": _baseline, "repair": _repair, "restore": _restore}
    return command[options.command](options, frozen)


def migrate(options: Options, frozen: object | None) -> int:
    """`migrate --format json` (one document) and `migrate --dry-run --sql` (the statements)."""
    common = {"databases": options.databases or None, "urls": options.urls or None,
              "busy_timeout": options.busy_timeout, "frozen": frozen}
    dry_run = options.dry_run or options.check
    sql: dict[int, list[tuple[str, list[str]]]] = {}
    backup_dir = None
    if options.sql:
        planned = _ops.pending_sql(options.data_dir, **common)  # type: ignore[arg-type]
        databases = [database for database, _ in planned]
        sql = {index: statements for index, (_, statements) in enumerate(planned)}
    else:
        result = _api.migrate(options.data_dir, dry_run=dry_run, backup=options.backup_policy,
                              **common)  # type: ignore[arg-type]
        databases, backup_dir = result.databases, result.backup_dir
    if options.format == "json":
        stream = _report.JsonStream({"data_dir": _report.absolute(options.data_dir), "dry_run": dry_run})
        for index, database in enumerate(databases):
            stream.add(_migrated_json(database, sql.get(index)))
        stream.close({"applied": sum(len(database.versions) for database in databases),
                      "backup_dir": backup_dir and _report.absolute(backup_dir)})
    else:
        for index, database in enumerate(databases):
            for label, statements in sql.get(index, []):
                print(f"-- {database.name} ({_report.shown(database.path, options.data_dir)}): migration {label}")
                for statement in statements:
                    print(statement if statement.rstrip().endswith(";") else statement + ";")
        count = sum(len(database.pending) for database in databases)
        print(f"-- {count} migration(s) would be applied; nothing was changed")
    if any(database.error is not None for database in databases):
        return 1
    return PENDING if options.check and any(database.pending for database in databases) else 0


def _migrated_json(database: DatabaseResult, sql: list[tuple[str, list[str]]] | None) -> dict[str, object]:
    shown: dict[str, object] = {
        "name": database.name, "path": _report.absolute(database.path), "state": str(database.state),
        "session": database.session, "applied": list(database.versions), "pending": list(database.pending),
        "backed_up": database.backed_up, "healed": database.healed or None,
        "error": None if database.error is None else str(database.error),
    }
    if sql is not None:
        shown["sql"] = [{"migration": label, "statements": statements} for label, statements in sql]
    return shown


def _history(options: Options, frozen: object | None) -> int:
    histories = _ops.history(options.data_dir, databases=options.databases or None, urls=options.urls or None,
                             busy_timeout=options.busy_timeout, frozen=frozen)
    if options.format == "json":
        stream = _report.JsonStream({"data_dir": _report.absolute(options.data_dir)})
        for history in histories:
            stream.add({"name": history.name, "path": _report.absolute(history.path), "exists": history.exists,
                        "migrations": [{"version": e.version, "file": e.file, "description": e.description,
                                        "applied_at": e.applied_at, "checksum": e.checksum, "kind": e.kind}
                                       for e in history.entries]})
        stream.close()
        return 0
    for history in histories:
        missing = "" if history.exists else ": missing"
        print(f"{history.name} ({_report.shown(history.path, options.data_dir)}){missing}")
        for entry in history.entries:
            number, when, file = shown_version(entry.version), entry.applied_at or "pending", entry.file or "?"
            print(f"  {number}  {entry.kind:<9}  {when:<19}  {file:<36} {entry.description}")
    return 0


def _baseline(options: Options, frozen: object | None) -> int:
    version = options.baseline_version
    assert version is not None
    written = _ops.baseline(options.data_dir, version, database=options.databases[0] if options.databases else None,
                            urls=options.urls or None, busy_timeout=options.busy_timeout, frozen=frozen)
    for location in written:
        shown = _report.shown(location, options.data_dir)
        print(f"{shown}: migrations up to {shown_version(version)} recorded as applied")
    if not written:
        print("nothing recorded")
    return 0


def _repair(options: Options, frozen: object | None) -> int:
    results = _ops.repair(options.data_dir, databases=options.databases or None, urls=options.urls or None,
                          dry_run=options.dry_run, backup=not options.no_backup,
                          busy_timeout=options.busy_timeout, frozen=frozen)
    for result in results:
        if not result.exists:
            what = "missing: nothing to repair"
        elif not result.statements and not result.realigned:
            what = "matches the build: nothing to repair"
        else:
            realigned = f"; ledger realigned for {shown_versions(result.realigned)}" if result.realigned else ""
            what = f"{'repaired' if result.repaired else 'would run'}: {len(result.statements)} statement(s){realigned}"
        print(_report.row(result.name, result.path, options.data_dir, what))
        if options.dry_run:
            for statement in result.statements:
                print(statement + ";")
    saved = next((result.backup_dir for result in results if result.backup_dir), None)
    if saved:
        print(f"backup: {saved}")
    return 0


def _restore(options: Options, frozen: object | None) -> int:
    if not options.arguments:
        backups = _ops.backups(options.data_dir)
        for backup in backups:
            print(f"{backup.name:<22} {', '.join(backup.files)}")
        if not backups:
            print(f"no backups in {os.path.join(options.data_dir, 'backups')}")
        return 0
    [name] = options.arguments
    result = _ops.restore(options.data_dir, name, databases=options.databases or None,
                          urls=options.urls or None, busy_timeout=options.busy_timeout, frozen=frozen)
    for relative in result.restored:
        print(f"restored {relative} from {name}")
    if result.kept:
        print(f"the databases it replaced: {result.kept}")
    print(f"restored {len(result.restored)} database(s); `cortex db migrate` applies what is pending again")
    return 0
