"""`cortex db migrate|status|verify`: a thin layer that parses, calls the API, prints, exits.

The parser is written out by hand: `argparse` (with `re` and `gettext`) costs more to import
than the whole up-to-date check that `cortex db migrate` runs on every application start.
"""

from __future__ import annotations

import os
import sys

from . import _api
from ._api import State
from ._errors import CortexDBError
from ._targets import is_url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._inspect import DatabaseStatus, VerifyReport

PROG = "cortex db"
COMMANDS = ("migrate", "status", "verify")

USAGE = f"usage: {PROG} {{migrate,status,verify}} [options]"

HELP = f"""{USAGE}

Bring CortexPrism's SQLite databases up to date with the migrations frozen into this build.

commands:
  migrate             apply every pending migration, each in its own transaction with its
                      ledger row; also migrates existing session databases
  status              per database: applied, pending, changed and unknown migrations
  verify              compare each database's ledger and live schema with the proven schema

options:
  --data-dir DIR      the data directory (default: $CORTEX_DATA_DIR, else ~/.cortex/data)
  --database NAME     only this database, e.g. cortex or session (may be repeated)
  --database-url NAME=URL
                      keep database NAME on a libSQL server (sqld), e.g.
                      cortex=http://10.0.0.5:8080 (libsql:// means TLS); overrides the
                      environment; NAME= keeps it a local file (may be repeated)
  --busy-timeout SEC  how long to wait for another process's write lock (default: 30);
                      on a server: for each answer, at least 1 s
  --dry-run           migrate: print what would be applied and change nothing
  --no-backup         migrate: skip the backup into <data-dir>/backups/ before changing
                      an existing database
  --format text|json  status, verify: output format (default: text)
  --debug             log each step to stderr and show tracebacks
  -h, --help          show this help

environment:
  CORTEX_DATA_DIR             the default data directory
  CORTEX_DB_URL_<NAME>        the URL of one database, e.g. CORTEX_DB_URL_CORTEX
  CORTEX_DB_URL               a URL template with {{name}} for every database without
                              its own, e.g. http://{{name}}.db.internal:8080
  CORTEX_LIBSQL_AUTH_TOKEN    the server's auth token (per database:
                              CORTEX_LIBSQL_AUTH_TOKEN_<NAME>)
  Session databases always stay local files. On a server there is no backup and no
  quick_check before migrating (the server keeps its own snapshots).

exit status:
  0  success: up to date or migrated; status without changed or unknown migrations;
     verify found no drift
  1  refusal or failure: a migration changed after it was applied, a database newer
     than the code, a corrupt or locked database, a failed migration, drift (verify),
     a server that cannot be reached or refuses the token
  2  bad usage or input: unknown command or option, unknown database, unusable data
     directory, a file that is not an SQLite database, missing or wrong frozen module,
     a database URL that is not http://, https:// or libsql://
"""

_VALUE_OPTIONS = {"--data-dir", "--database", "--database-url", "--busy-timeout", "--format"}
_FLAG_OPTIONS = {"--dry-run", "--no-backup", "--debug"}
_ONLY_FOR = {"--dry-run": "migrate", "--no-backup": "migrate", "--format": "status verify"}


class UsageError(Exception):
    pass


class Options:
    __slots__ = ("busy_timeout", "command", "data_dir", "databases", "debug", "dry_run", "format",
                 "help", "no_backup", "urls")

    def __init__(self) -> None:
        self.command = ""
        self.data_dir = ""
        self.databases: list[str] = []
        self.urls: dict[str, str] = {}  # --database-url NAME=URL
        self.busy_timeout = _api.DEFAULT_BUSY_TIMEOUT
        self.dry_run = False
        self.no_backup = False
        self.format = "text"
        self.debug = False
        self.help = False


def default_data_dir() -> str:
    return os.environ.get("CORTEX_DATA_DIR") or os.path.join(
        os.path.expanduser("~"), ".cortex", "data"
    )


def parse(argv: list[str]) -> Options:
    options = Options()
    words = list(argv)
    if words and words[0] == "db":  # `cortex db migrate` and `python -m cortexdb db migrate`
        words.pop(0)
    given: list[str] = []
    while words:
        word = words.pop(0)
        if word in ("-h", "--help"):
            options.help = True
        elif word.startswith("--"):
            name, has_value, value = word.partition("=")
            if name in _FLAG_OPTIONS and not has_value:
                setattr(options, name[2:].replace("-", "_"), True)
            elif name in _VALUE_OPTIONS:
                if not has_value:
                    if not words:
                        raise UsageError(f"{name} needs a value")
                    value = words.pop(0)
                _set_value(options, name, value)
            else:
                raise UsageError(f"unknown option {word}")
            given.append(name)
        elif not options.command and word in COMMANDS:
            options.command = word
        else:
            raise UsageError(f"unexpected argument {word!r}")
    if options.help:
        return options
    if not options.command:
        raise UsageError("choose a command: migrate, status or verify")
    for name in given:
        allowed = _ONLY_FOR.get(name)
        if allowed and options.command not in allowed.split():
            raise UsageError(f"{name} does not apply to {options.command}")
    options.data_dir = options.data_dir or default_data_dir()
    return options


def _set_value(options: Options, name: str, value: str) -> None:
    if name == "--data-dir":
        if not value:
            raise UsageError("--data-dir needs a directory")
        options.data_dir = value
    elif name == "--database":
        options.databases.append(value)
    elif name == "--database-url":
        database, has_url, url = value.partition("=")
        if not database or not has_url:
            raise UsageError(f"--database-url needs NAME=URL, not {value!r}")
        options.urls[database] = url
    elif name == "--format":
        if value not in ("text", "json"):
            raise UsageError(f"--format must be text or json, not {value!r}")
        options.format = value
    else:
        try:
            options.busy_timeout = float(value)
        except ValueError:
            raise UsageError(f"--busy-timeout needs seconds, not {value!r}") from None
        if not options.busy_timeout >= 0:
            raise UsageError("--busy-timeout must not be negative")


def main(argv: list[str] | None = None, *, frozen: object | None = None) -> int:
    """The `cortex` console script; returns the exit status (0, 1 or 2; see --help)."""
    args = sys.argv[1:] if argv is None else argv
    try:
        options = parse(args)
    except UsageError as error:
        print(f"{USAGE}\n{PROG}: error: {error}", file=sys.stderr)
        return 2
    if options.help:
        print(HELP, end="")
        return 0
    if options.debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(message)s")
    try:
        if options.command == "migrate":
            return _migrate(options, frozen)
        if options.command == "status":
            return _status(options, frozen)
        return _verify(options, frozen)
    except CortexDBError as error:
        if options.debug:
            raise
        print(f"{PROG} {options.command}: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as other CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _migrate(options: Options, frozen: object | None) -> int:
    result = _api.migrate(
        options.data_dir,
        databases=options.databases or None,
        dry_run=options.dry_run,
        backup=not options.no_backup,
        urls=options.urls or None,
        busy_timeout=options.busy_timeout,
        frozen=frozen,
        progress=_progress,
    )
    up_to_date_sessions: dict[str, int] = {}  # many session files: one line for those up to date
    for database in result.databases:
        shown = _shown(database.path, options.data_dir)
        if database.state == State.UP_TO_DATE and database.session:
            up_to_date_sessions[database.name] = up_to_date_sessions.get(database.name, 0) + 1
            continue
        if database.state == State.MIGRATED:
            what = f"applied {_versions(database.versions)}"
        elif database.state == State.WOULD_MIGRATE:
            what = f"would apply {_versions(database.pending)}"
        elif database.state == State.ADOPTED:
            what = "up to date (ledger verified, fingerprint written)"
        elif database.state == _api.FAILED:
            continue  # listed at the end
        else:
            what = "up to date"
        print(f"{database.name:<10} {shown:<28} {what}")
    for name, count in up_to_date_sessions.items():
        print(f"{name:<10} {'(per session)':<28} {count} session database(s) up to date")
    if options.dry_run:
        count = sum(len(database.pending) for database in result.databases)
        print(f"dry run: {count} migration(s) would be applied; nothing was changed")
    elif result.applied:
        print(f"applied {result.applied} migration(s)")
        if result.backup_dir:
            print(f"backup: {result.backup_dir}")
    else:
        print("up to date")
    failures = result.failures
    for failure in failures:
        print(f"{PROG} migrate: {failure.error}", file=sys.stderr)
    if failures:
        migrated = sum(1 for database in result.databases if database.session) - len(failures)
        print(f"{PROG} migrate: {len(failures)} session database(s) not migrated (listed above); "
              f"the other {migrated} are up to date", file=sys.stderr)
        return 1
    return 0


def _shown(location: str, data_dir: str) -> str:
    """A file relative to the data dir; a server database by its URL."""
    return location if is_url(location) else os.path.relpath(location, data_dir)


def _versions(versions: tuple[int, ...]) -> str:
    return ", ".join(f"{version:03d}" for version in versions)


def _progress(done: int, total: int, path: str) -> None:
    if total >= 10 and (done == total or done % max(1, total // 10) == 0):
        print(f"migrated {done}/{total} databases ({path})", file=sys.stderr)


def _status(options: Options, frozen: object | None) -> int:
    rows = _api.status(
        options.data_dir,
        databases=options.databases or None,
        urls=options.urls or None,
        busy_timeout=options.busy_timeout,
        frozen=frozen,
    )
    if options.format == "json":
        _print_json({"data_dir": options.data_dir, "databases": [_status_json(r) for r in rows]})
    else:
        for row in rows:
            shown = _shown(row.path, options.data_dir)
            print(f"{row.name:<10} {shown:<28} {_status_text(row)}")
    return 1 if any(row.changed or row.unknown for row in rows) else 0


def _status_text(row: DatabaseStatus) -> str:
    if not row.exists:
        return f"missing: {len(row.pending)} pending"
    parts = [f"applied {len(row.applied)}" + (f" ({len(row.legacy)} legacy)" if row.legacy else "")]
    for label, versions in (("pending", row.pending), ("changed", row.changed),
                            ("unknown", row.unknown)):
        if versions:
            parts.append(f"{label} {_versions(versions)}")
    if row.up_to_date:
        parts.append("up to date")
    return ", ".join(parts)


def _status_json(row: DatabaseStatus) -> dict[str, object]:
    return {
        "name": row.name,
        "path": row.path,
        "exists": row.exists,
        "up_to_date": row.up_to_date,
        "applied": list(row.applied),
        "legacy": list(row.legacy),
        "pending": list(row.pending),
        "changed": list(row.changed),
        "unknown": list(row.unknown),
    }


def _verify(options: Options, frozen: object | None) -> int:
    report: VerifyReport = _api.verify(
        options.data_dir,
        databases=options.databases or None,
        urls=options.urls or None,
        busy_timeout=options.busy_timeout,
        frozen=frozen,
    )
    if options.format == "json":
        _print_json({
            "data_dir": options.data_dir,
            "ok": report.ok,
            "databases": [
                {"name": c.name, "path": c.path, "ok": c.ok, "problems": list(c.problems),
                 "missing": [list(k) for k in c.missing], "extra": [list(k) for k in c.extra],
                 "different": [list(k) for k in c.different]}
                for c in report.databases
            ],
        })
    else:
        for check in report.databases:
            shown = _shown(check.path, options.data_dir)
            print(f"{check.name:<10} {shown:<28} {'ok' if check.ok else 'DRIFT'}")
            for problem in check.problems:
                print(f"    {problem}")
        drifted = sum(not check.ok for check in report.databases)
        print("no drift" if report.ok else f"drift in {drifted} database(s)")
    return 0 if report.ok else 1


def _print_json(data: object) -> None:
    import json

    print(json.dumps(data, indent=2))
