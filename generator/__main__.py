"""`python -m generator`: the build-time command line. Thin: every command is a few calls."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .diagnostics import Diagnostic, GeneratorError

EXIT_CODES = """exit codes:
  0  clean (warnings and info do not fail)
  1  findings: lint errors, a failed proof, a stale generated file, a refused lock
  2  bad input or usage: bad manifest, unreadable file, unknown option
  123 internal error (a bug: please report it with --debug output)"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m generator",
        description="Compile SQLite migrations listed in manifest.toml into a frozen Python module.",
        epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text, epilog=EXIT_CODES,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        sub.add_argument("--manifest", type=Path, default=Path("manifest.toml"),
                         help="the manifest (default: ./manifest.toml)")
        sub.add_argument("--format", choices=("text", "json", "github", "sarif"), default="text",
                         help="how diagnostics are printed (default: text)")
        # Also after the command (`build --debug`); SUPPRESS keeps a `--debug` given before it.
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                         help="show tracebacks instead of one-line errors")
        return sub

    command("build", "validate, lint, prove and write the frozen module (what `make migrations` runs)")
    command("check", "exit 1 with a diff when the frozen module is out of date with the sources")
    lint = command("lint", "lint SQL files for statements that cannot safely run twice")
    lint.add_argument("paths", nargs="*", type=Path, help="SQL files or folders (default: the manifest's)")
    lint.add_argument("--fix", action="store_true", help="add the missing IF [NOT] EXISTS guards in place")
    create = command("new", "create the next-numbered migration file and its manifest entry")
    create.add_argument("description", help="what the migration does, e.g. 'add job tags'")
    create.add_argument("--database", required=True, help="the manifest database it belongs to")
    drop = command("unlock", "remove a migration that never shipped from migrations.lock")
    drop.add_argument("target", metavar="NNN|FILE",
                      help="the migration number (e.g. 048), or its file name when a merge locked a number twice")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug, not a user mistake: say so, keep the traceback for --debug
        if args.debug:
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
              file=sys.stderr)
        return 123


def _print_diagnostics(diagnostics: Sequence[Diagnostic], fmt: str) -> None:
    from .report import format_diagnostics

    text = format_diagnostics(diagnostics, fmt)
    if text:
        print(text, file=sys.stderr if fmt == "text" else sys.stdout)


if __name__ == "__main__":
    sys.exit(main())
