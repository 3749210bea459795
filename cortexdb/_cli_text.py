"""The words of `cortex db` that only some runs print: --help, did-you-mean and --version.

Loaded only when one of them is printed, never by a command line that parses and runs: the
up-to-date `cortex db migrate` that starts every application does not pay for its text.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

DESCRIPTION = (
    "Bring CortexPrism's SQLite databases up to date with the migrations frozen into this build."
)

ENVIRONMENT = """environment:
  CORTEX_DATA_DIR             the default data directory
  CORTEX_DB_URL_<NAME>        the URL of one database, e.g. CORTEX_DB_URL_CORTEX
  CORTEX_DB_URL               a URL template with {name} for every database without
                              its own, e.g. http://{name}.db.internal:8080
  CORTEX_LIBSQL_AUTH_TOKEN    the server's auth token (per database:
                              CORTEX_LIBSQL_AUTH_TOKEN_<NAME>)
  Session databases always stay local files. On a server there is no backup and no
  quick_check before migrating (the server keeps its own snapshots).
"""

EXIT_STATUS = """exit status:
  0  success: up to date or migrated; status without changed or unknown migrations;
     verify found no drift; history, baseline, repair, restore done (or nothing to do)
  1  refusal or failure: a migration changed after it was applied, a database newer
     than the code, a corrupt or locked database, a failed migration, drift (verify),
     a server that cannot be reached or refuses the token, baseline or repair refused
     (the message says why), a database another process has open (restore)
  2  bad usage or input: unknown command or option, unknown database, unusable data
     directory, a file that is not an SQLite database, missing or wrong frozen module,
     a database URL that is not http://, https:// or libsql://, an unknown backup, a
     version this build does not have, restore of a database on a server
  3  --check: a migration is pending (nothing was changed)
"""


def columns(rows: Iterable[tuple[str, str]]) -> list[str]:
    """Help rows: the label in a 20-column gutter (on a line of its own when longer), then the text."""
    lines = []
    for label, text in rows:
        first, *rest = text.split("\n")
        if len(label) > 18:
            lines += [f"  {label}", f"{'':22}{first}"]
        else:
            lines.append(f"  {label:<18}  {first}")
        lines += [f"{'':22}{line}" for line in rest]
    return lines


def did_you_mean(word: str, choices: Iterable[str], quote: bool = True) -> str:
    """": did you mean 'migrate'?" for the nearest choice. difflib is imported only on this, the
    error path: never by a command line that parses."""
    import difflib

    choices = list(choices)
    nearest = difflib.get_close_matches(word, choices, n=1)
    if nearest:
        return f": did you mean {nearest[0]!r}?" if quote else f": did you mean {nearest[0]}?"
    return f" (choose from {', '.join(choices)})" if quote else ""


def version_text(frozen: object | None) -> str:
    """`--version`: the package's version, and what this build's frozen module carries."""
    from . import __version__
    from ._catalog import load_catalog
    from ._contract import shown_version

    catalog = load_catalog(frozen)
    lines = [f"cortexdb {__version__}", f"migrations: {catalog.source_hash}"]
    for spec in catalog.databases.values():
        highest = max((migration.version for migration in spec.migrations), default=0)
        lines.append(f"  {spec.name:<10} up to {shown_version(highest)} ({len(spec.migrations)} migrations)")
    return "\n".join(lines) + "\n"


def help_text(usage: str, command: str, commands: Mapping[str, Any], options: Mapping[str, Any],
              common: Sequence[str]) -> str:
    """`cortex db --help` (all commands, every option with the commands it is for) or
    `cortex db COMMAND --help` (its own options and the common ones), from `_cli`'s tables."""
    if command:
        chosen = commands[command]
        lines = [usage, "", *chosen.summary.split("\n"), "", "options:"]
        names = [*chosen.options, *common]
        lines += columns((options[name].label(), options[name].help) for name in names)
    else:
        lines = [usage, "", DESCRIPTION, "", "commands:"]
        lines += columns((entry.name, entry.summary) for entry in commands.values())
        lines += ["", "options:"]
        lines += columns((option.label(), _scope(option.name, commands, common) + option.help)
                         for option in options.values())
    lines += columns([("-h, --help", "show this help")])
    return "\n".join(lines) + "\n\n" + ENVIRONMENT + "\n" + EXIT_STATUS


def _scope(option: str, commands: Mapping[str, Any], common: Sequence[str]) -> str:
    """"migrate: " before the help of an option only `migrate` takes."""
    if option in common:
        return ""
    return ", ".join(name for name, command in commands.items() if option in command.options) + ": "
