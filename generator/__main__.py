"""`python -m generator`: the build-time command line. Thin: every command is a few calls.

`--version` and `--help` import neither sqlglot nor jinja2: they work in any Python, and a
Python without the build dependencies is told which one has them (exit 2, not a bug).
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, GeneratorError, UsageError

PROG = "python -m generator"
COMMANDS = ("build", "check", "lint", "new", "unlock")
BUILD_DEPENDENCIES = ("sqlglot", "jinja2", "tomli")  # tomli: Python 3.10 only
EXIT_CODES = """exit codes:
  0  clean (warnings and info do not fail)
  1  findings: lint errors, a failed proof, a stale generated file, a refused lock
  2  bad input or usage: bad manifest, unreadable file, unknown option
  123 internal error (a bug: please report it with --debug output)"""
QUIET, NORMAL, VERBOSE = -1, 0, 1


def version() -> str:
    """The project's version: pyproject.toml beside the generator (the generator runs from a
    source checkout), else the installed distribution's metadata."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        import tomllib

        found = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]["version"]
        if isinstance(found, str):
            return found
    except (ImportError, OSError, ValueError, KeyError, TypeError):
        pass
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("cortexdb")
    except PackageNotFoundError:
        return "unknown"


class _NewHelp(argparse.Action):
    """`new --help`: the usual help, with the manifest's database names in `--database`'s line
    (read when asked: a `--manifest` given before `--help` is the one read)."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: Any = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest, nargs=0, default=default, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, _option_string: str | None = None) -> None:
        manifest = getattr(namespace, "manifest", Path("manifest.toml"))
        for action in parser._actions:
            if "--database" in action.option_strings:
                action.help = f"the manifest database it belongs to: {_database_names(manifest)}"
        parser.print_help()
        parser.exit()


def _database_names(manifest: Path) -> str:
    from .diagnostics import display_path
    from .project import load_manifest

    try:
        names = sorted(load_manifest(manifest).databases)
    except GeneratorError as exc:
        return f"none known ({display_path(manifest)} does not load: {exc.diagnostics[0]})"
    return f"one of {', '.join(names)} (in {display_path(manifest)})" if names else "none in the manifest"


def _add_common(parser: argparse.ArgumentParser, default: Any) -> None:
    """The options every level takes; after the command, SUPPRESS keeps one given before it."""
    parser.add_argument("--debug", action="store_true", default=default,
                        help="show tracebacks instead of one-line errors")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", dest="verbosity", action="store_const", const=QUIET, default=default,
                          help="print errors only (no warnings, info or summary)")
    loudness.add_argument("-v", "--verbose", dest="verbosity", action="store_const", const=VERBOSE,
                          default=default, help="also print info findings (such as MG009)")


def _parser() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Compile SQLite migrations listed in manifest.toml into a frozen Python module.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} (cortexdb) {version()}")
    _add_common(parser, None)
    parser.set_defaults(debug=False, verbosity=NORMAL)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    subparsers: dict[str, argparse.ArgumentParser] = {}

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES,
                                  formatter_class=argparse.RawDescriptionHelpFormatter,
                                  add_help=name != "new")
        if name == "new":
            sub.add_argument("-h", "--help", action=_NewHelp, help="show this help message and exit")
        sub.add_argument("--manifest", type=Path, default=Path("manifest.toml"), metavar="PATH",
                         help="the manifest (default: ./manifest.toml)")
        sub.add_argument("--format", choices=("text", "json", "github", "sarif"), default="text",
                         help="how diagnostics are printed (default: text)")
        _add_common(sub, argparse.SUPPRESS)
        subparsers[name] = sub
        return sub

    command("build", "validate, lint, prove and write the generated files (what `make migrations` runs)")
    command("check", "exit 1 with a diff when a generated file is out of date with the sources")
    lint = command("lint", "lint SQL files for statements that cannot safely run twice")
    lint.add_argument("paths", nargs="*", type=Path, help="SQL files or folders (default: the manifest's)")
    lint.add_argument("--fix", action="store_true", help="add the missing IF [NOT] EXISTS guards in place")
    create = command("new", "create the next-numbered migration file and its manifest entry")
    create.add_argument("description", help="what the migration does, e.g. 'add job tags'")
    create.add_argument("--database", required=True, metavar="NAME", help="the manifest database it belongs to")
    drop = command("unlock", "remove a migration that never shipped from migrations.lock")
    drop.add_argument("target", metavar="NNN|FILE",
                      help="the migration number (e.g. 048), or its file name when a merge locked a number twice")
    return parser, subparsers


def _refuse_unknown_command(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    """argparse's own message lists every choice; say which one was meant instead."""
    given = next((arg for arg in argv if not arg.startswith("-")), None)
    if given is None or given in COMMANDS:
        return
    near = difflib.get_close_matches(given, COMMANDS, n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else f" (known: {', '.join(COMMANDS)})"
    parser.error(f"unknown command {given!r}{hint}")


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser, subparsers = _parser()
    _refuse_unknown_command(parser, arguments)
    args = parser.parse_args(arguments)
    try:
        from . import commands

        run = {"build": commands.build, "check": commands.check, "lint": commands.lint,
               "new": commands.new, "unlock": commands.unlock}[args.command]
        return run(args)
    except GeneratorError as exc:
        if args.debug:
            raise
        _print_diagnostics(exc.diagnostics, args.format)
        return exc.exit_code
    except UsageError as exc:
        subparsers[args.command].error(f"argument {exc.argument}: {exc.message}")
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, not a user mistake: say so, keep the traceback for --debug
        if args.debug:
            raise
        missing = exc.name if isinstance(exc, ModuleNotFoundError) else None
        if missing is not None and missing.partition(".")[0] in BUILD_DEPENDENCIES:  # the wrong Python
            print(f"{PROG}: {missing} is not installed: use .venv/bin/python -m generator, or run make migrations",
                  file=sys.stderr)
            return 2
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 123
    return 2  # not reached: ArgumentParser.error exits


def _print_diagnostics(diagnostics: Sequence[Diagnostic], fmt: str) -> None:
    from .report import format_diagnostics

    text = format_diagnostics(diagnostics, fmt)
    if text:
        print(text, file=sys.stderr if fmt == "text" else sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
