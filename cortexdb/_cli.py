"""`cortex db migrate|status|verify|history|baseline|repair|restore|help`: a thin layer that
parses, calls the API, prints, exits (the operator commands print through `_cli_ops`).

The parser is written out by hand: `argparse` (with `re` and `gettext`) costs more to import
than the whole up-to-date check that `cortex db migrate` runs on every application start.
It is driven by two tables at the end of this module: `OPTIONS` (every option, its value and
help) and `COMMANDS` (every command, the options it takes, its help and the function that runs
it). Adding a command is one `Command` entry and one function `(options, frozen) -> exit code`.
"""

from __future__ import annotations

import os
import sys

from . import _api, _report
from ._errors import CortexDBError
from ._targets import BACKUP_POLICIES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._targets import BackupPolicy

    Run = Callable[["Options", object], int]

PROG = "cortex db"
PENDING = _report.PENDING

class UsageError(Exception):
    command = ""  # the command being parsed, for the usage line


class Options:
    """What the command line asked for: one attribute per option's `dest`, plus the command."""

    def __init__(self) -> None:
        self.command = ""
        self.arguments: list[str] = []  # the command's positional arguments
        self.help = False
        self.version = False
        self.data_dir = ""
        self.databases: list[str] = []
        self.urls: dict[str, str] = {}  # --database-url NAME=URL
        self.busy_timeout = _api.DEFAULT_BUSY_TIMEOUT
        self.dry_run = False
        self.no_backup = False
        self.backup: BackupPolicy | None = None  # migrate --backup; None: the library's default
        self.format = "text"
        self.quiet = False
        self.verbose = False
        self.debug = False
        self.check = False  # status, migrate: exit 3 when anything is pending
        self.sql = False  # migrate --dry-run --sql
        self.baseline_version: int | None = None  # baseline --version N

    @property
    def backup_policy(self) -> bool | BackupPolicy:
        """What `migrate` is given: `--no-backup` is `--backup none`; neither: the default (True)."""
        return "none" if self.no_backup else self.backup or True

    @property
    def verbosity(self) -> int:
        return _report.QUIET if self.quiet else _report.VERBOSE if self.verbose else _report.NORMAL


class Option:
    """One option: `store(options, value)` takes its value (None: a flag, set `dest` to True)."""

    __slots__ = ("dest", "help", "metavar", "name", "short", "store")

    def __init__(self, name: str, help: str, metavar: str = "",
                 store: Callable[[Options, str], None] | None = None, short: str = "") -> None:
        self.name = name  # "--data-dir"
        self.short = short  # "-q", or ""
        self.metavar = metavar  # "DIR"; "" for a flag
        self.help = help  # may span lines: each continuation line is indented under the first
        self.store = store
        self.dest = name.lstrip("-").replace("-", "_")

    def label(self) -> str:
        names = f"{self.short}, {self.name}" if self.short else self.name
        return f"{names} {self.metavar}" if self.metavar else names


class Command:
    """One command: its one-line summary, the options it takes beyond `COMMON`, what it runs."""

    __slots__ = ("arguments", "name", "options", "run", "summary")

    def __init__(self, name: str, summary: str, run: Run, options: tuple[str, ...] = (),
                 arguments: str = "") -> None:
        self.name = name
        self.summary = summary  # "\n" continues it on the next line of --help
        self.run = run
        self.options = options  # names in `OPTIONS`, besides `COMMON`
        self.arguments = arguments  # its one optional positional argument, e.g. "[COMMAND]"


def default_data_dir() -> str:
    return os.environ.get("CORTEX_DATA_DIR") or os.path.join(
        os.path.expanduser("~"), ".cortex", "data"
    )


def usage(command: str = "") -> str:
    if command:
        arguments = COMMANDS[command].arguments
        return f"usage: {PROG} {command} [options]" + (f" {arguments}" if arguments else "")
    return f"usage: {PROG} {{{','.join(COMMANDS)}}} [options]"


def parse(argv: list[str]) -> Options:
    options = Options()
    try:
        return _parse(argv, options)
    except UsageError as error:
        error.command = options.command
        raise


def _parse(argv: list[str], options: Options) -> Options:
    words = list(argv)
    if words and words[0] == "db":  # `cortex db migrate` and `python -m cortexdb db migrate`
        words.pop(0)
    given: list[str] = []
    while words:
        word = words.pop(0)
        word = SHORT.get(word, word)
        if word == "--help":
            options.help = True
        elif word.startswith("-"):
            name, has_value, value = word.partition("=")
            if name == "--version" and options.command == "baseline":
                # `baseline --version N` (Flyway's baselineVersion): there it names the migration;
                # everywhere else --version is the flag that prints the package's.
                if not has_value:
                    if not words:
                        raise UsageError("baseline --version needs a migration number")
                    value = words.pop(0)
                _store_baseline_version(options, value)
                given.append(name)
                continue
            option = OPTIONS.get(name)
            if option is None or (option.store is None and has_value):
                known = [*OPTIONS, "--help"]
                raise UsageError(f"unknown option {word}{_suggest(name, known, quote=False)}")
            if option.store is None:
                setattr(options, option.dest, True)
            else:
                if not has_value:
                    if not words:
                        raise UsageError(f"{name} needs a value")
                    value = words.pop(0)
                option.store(options, value)
            given.append(name)
        elif not options.command:
            if word not in COMMANDS:
                raise UsageError(f"unknown command {word!r}{_suggest(word, COMMANDS)}")
            options.command = word
        elif COMMANDS[options.command].arguments and not options.arguments:
            options.arguments.append(word)
        else:
            raise UsageError(f"unexpected argument {word!r}")
    if options.help or options.version:
        return options
    if not options.command:
        *most, last = COMMANDS
        raise UsageError(f"choose a command: {', '.join(most)} or {last}")
    command = COMMANDS[options.command]
    for name in given:
        if name not in COMMON and name not in command.options:
            raise UsageError(f"{name} does not apply to {options.command}")
    if options.no_backup and options.backup not in (None, "none"):
        raise UsageError(f"--no-backup and --backup {options.backup} contradict each other: give one")
    if options.quiet and options.verbose:
        raise UsageError("-q/--quiet and -v/--verbose contradict each other: give one")
    if options.sql and not (options.dry_run or options.check):
        raise UsageError("--sql needs --dry-run (or --check)")
    if options.command == "baseline" and options.baseline_version is None:
        raise UsageError("baseline needs --version N")
    if options.command == "baseline" and len(options.databases) > 1:
        raise UsageError("baseline takes one --database (the one migration N belongs to)")
    options.data_dir = options.data_dir or default_data_dir()
    return options


def _suggest(word: str, choices: Iterable[str], quote: bool = True) -> str:
    from ._cli_text import did_you_mean  # the error path only

    return did_you_mean(word, choices, quote)


def _store_data_dir(options: Options, value: str) -> None:
    if not value:
        raise UsageError("--data-dir needs a directory")
    options.data_dir = value


def _store_database(options: Options, value: str) -> None:
    options.databases.append(value)


def _store_database_url(options: Options, value: str) -> None:
    database, has_url, url = value.partition("=")
    if not database or not has_url:
        raise UsageError(f"--database-url needs NAME=URL, not {value!r}")
    options.urls[database] = url


def _store_format(options: Options, value: str) -> None:
    if value not in ("text", "json"):
        raise UsageError(f"--format must be text or json, not {value!r}")
    options.format = value


def _store_backup(options: Options, value: str) -> None:
    for policy in BACKUP_POLICIES:
        if value == policy:
            options.backup = policy
            return
    raise UsageError(f"--backup must be shared, all or none, not {value!r}")


def _store_baseline_version(options: Options, value: str) -> None:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise UsageError(f"--version needs a migration number, not {value!r}")
    options.baseline_version = int(value)


def _store_busy_timeout(options: Options, value: str) -> None:
    try:
        options.busy_timeout = float(value)
    except ValueError:
        raise UsageError(f"--busy-timeout needs seconds, not {value!r}") from None
    if not options.busy_timeout >= 0:
        raise UsageError("--busy-timeout must not be negative")


def help_text(command: str = "") -> str:
    """`--help`: of one command (its own options and `COMMON`), or of all (every option)."""
    from . import _cli_text

    return _cli_text.help_text(usage(command), command, COMMANDS, OPTIONS, COMMON)


def main(argv: list[str] | None = None, *, frozen: object | None = None) -> int:
    """The `cortex` console script; returns the exit status (0, 1, 2 or 3; see --help)."""
    args = sys.argv[1:] if argv is None else argv
    options = Options()
    try:
        options = parse(args)
        if options.help:
            print(help_text(options.command), end="")
            return 0
        if options.version:
            from ._cli_text import version_text

            print(version_text(frozen), end="")
            return 0
        _logging(options)
        return COMMANDS[options.command].run(options, frozen)
    except UsageError as error:
        print(f"{usage(error.command or options.command)}\n{PROG}: error: {error}", file=sys.stderr)
        return 2
    except CortexDBError as error:
        if options.debug:
            raise
        print(f"{PROG} {options.command or 'version'}: {error}", file=sys.stderr)
        return error.exit_code
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, as other CLI tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _logging(options: Options) -> None:
    """--debug: every step of every module; -v: the `cortexdb` logger's info (what was applied,
    backed up, pruned). Neither imports logging on the default path."""
    if options.debug:
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(message)s")
    elif options.verbose:
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = logging.getLogger("cortexdb")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def _migrate(options: Options, frozen: object | None) -> int:
    if options.sql or options.format == "json":
        from . import _cli_ops

        return _cli_ops.migrate(options, frozen)
    if frozen is None and not options.quiet and _source_checkout_changed():
        print(f"{PROG} migrate: warning: migrations changed since the last `make migrations`; "
              "this run applies the migrations of that build", file=sys.stderr)
    result = _api.migrate(
        options.data_dir,
        databases=options.databases or None,
        dry_run=options.dry_run or options.check,
        backup=options.backup_policy,
        urls=options.urls or None,
        busy_timeout=options.busy_timeout,
        frozen=frozen,
        progress=None if options.quiet else _report.progress(live=sys.stderr.isatty()),
    )
    dry_run = options.dry_run or options.check
    for line in _report.migrate_lines(result, options.data_dir, options.verbosity, dry_run):
        print(line)
    failures = _report.failure_lines(PROG, result)
    for line in failures:
        print(line, file=sys.stderr)
    if failures:
        return 1
    return PENDING if options.check and any(database.pending for database in result.databases) else 0


def _source_checkout_changed() -> bool:
    """Only a source checkout has manifest.toml beside the package: an installed one pays this
    one failed stat, not the import of `_checkout`."""
    package = os.path.dirname(os.path.abspath(__file__))
    if not os.path.exists(os.path.join(os.path.dirname(package), "manifest.toml")):
        return False
    from ._checkout import sources_changed

    return sources_changed(package)


def _read(options: Options, frozen: object | None) -> int:
    """status and verify (`_cli_read`), loaded only for them."""
    from . import _cli_read

    return _cli_read.run(options, frozen)


def _operator(options: Options, frozen: object | None) -> int:
    """history, baseline, repair, restore: in `_cli_ops`, loaded only for them."""
    from . import _cli_ops

    return _cli_ops.run(options, frozen)


def _help(options: Options, frozen: object | None) -> int:
    topic = options.arguments[0] if options.arguments else ""
    if topic and topic not in COMMANDS:
        raise UsageError(f"unknown command {topic!r}{_suggest(topic, COMMANDS)}")
    print(help_text(topic), end="")
    return 0


# The tables. An option's help text is what `--help` prints beside it ("\n" continues it on
# the next line); `COMMON` options apply to every command, the others to the commands that
# list them.
OPTIONS: dict[str, Option] = {option.name: option for option in (
    Option("--data-dir", "the data directory (default: $CORTEX_DATA_DIR, else ~/.cortex/data)",
           "DIR", _store_data_dir),
    Option("--database", "only this database, e.g. cortex or session (may be repeated)",
           "NAME", _store_database),
    Option("--database-url", "keep database NAME on a libSQL server (sqld), e.g.\n"
           "cortex=http://10.0.0.5:8080 (libsql:// means TLS); overrides the\n"
           "environment; NAME= keeps it a local file (may be repeated)",
           "NAME=URL", _store_database_url),
    Option("--busy-timeout", "how long to wait for another process's write lock (default: 30);\n"
           "on a server: for each answer, at least 1 s", "SEC", _store_busy_timeout),
    Option("--dry-run", "print what would be done and change nothing"),
    Option("--check", "exit 3 when a migration is pending, 0 when none is\n(changes nothing)"),
    Option("--sql", "in a dry run, print the statements that would run, in order"),
    Option("--backup", "which existing databases to copy into <data-dir>/backups/ before\n"
           "changing them: shared (default: the five shared ones, not the\n"
           "session databases), all, or none (as --no-backup does)", "shared|all|none",
           _store_backup),
    Option("--no-backup", "skip the backup into <data-dir>/backups/ before changing\n"
           "an existing database"),
    Option("--format", "output format (default: text); json lists every database", "text|json",
           _store_format),
    Option("--quiet", "print only errors and what needs attention (JSON stays complete)",
           short="-q"),
    Option("--verbose", "a line for each session database, not one for all of them;\n"
           "log what is applied, backed up and pruned to stderr", short="-v"),
    Option("--debug", "log each step to stderr and show tracebacks"),
    Option("--version", "the package's version and the migrations this build carries;\n"
           "baseline --version N: the last migration to record"),
)}

COMMON = ("--data-dir", "--database", "--database-url", "--busy-timeout", "--quiet", "--verbose",
          "--debug", "--version")
SHORT = {"-h": "--help", **{option.short: option.name for option in OPTIONS.values() if option.short}}

COMMANDS: dict[str, Command] = {command.name: command for command in (
    Command("migrate", "apply every pending migration, each in its own transaction with its\n"
            "ledger row; also migrates existing session databases", _migrate,
            ("--dry-run", "--backup", "--no-backup", "--check", "--sql", "--format")),
    Command("status", "per database: applied, pending, changed and unknown migrations", _read,
            ("--format", "--check")),
    Command("verify", "compare each database's ledger and live schema with the proven schema",
            _read, ("--format",)),
    Command("history", "per database: every ledger row (version, file, description, applied_at,\n"
            "checksum kind: canonical, legacy, changed, unknown), then what is pending", _operator,
            ("--format",)),
    Command("baseline", "record migrations up to --version N as applied without running them,\n"
            "in the database N belongs to: one with no ledger whose schema is the\n"
            "one they prove",
            _operator, ("--version",)),
    Command("repair", "make a drifted schema the one the build proves for the ledger (tables\n"
            "rebuilt, indexes, views and triggers made again), after a backup; realign\n"
            "the ledger of migrations changed after `generator unlock` when the schema\n"
            "already is the proven one", _operator, ("--dry-run", "--no-backup")),
    Command("restore", "without BACKUP: list the backups; with it: put its database files back\n"
            "(--database: only those), saving the files it replaces as a new backup", _operator,
            arguments="[BACKUP]"),
    Command("help", "this help, or one command's (cortex db help migrate)", _help,
            arguments="[COMMAND]"),
)}
