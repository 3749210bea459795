"""README, CHANGELOG and `--help` agree with the parser's tables (issue 14): the commands and
options the README's CLI reference lists are exactly those of `COMMANDS` and `OPTIONS`, and
exactly those a real `cortex db --help` prints; what the CHANGELOG names exists."""

from __future__ import annotations

import re

from runtime_support import ROOT, run_cli

from cortexdb._cli import COMMANDS, COMMON, OPTIONS, SHORT

OPTION = re.compile(r"(?<![\w-])(--[a-z][a-z-]*|-[a-z])\b")


def _reference() -> tuple[dict[str, set[str]], set[str], dict[str, str]]:
    """({command: its own options}, the common options, {command: its argument}) from the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The runtime: `cortex db`", 1)[1].split("\n## ", 1)[0]
    block = section.split("The CLI reference", 1)[1].split("```\n", 2)[1]
    commands: dict[str, set[str]] = {}
    arguments: dict[str, str] = {}
    common: set[str] = set()
    for line in block.splitlines():
        if line.startswith("cortex db "):
            name = line.split()[2]
            commands[name] = set(OPTION.findall(line))
            arguments[name] = " ".join(w for w in line.split()[3:] if w.isupper() or w.strip("[]").isupper())
        elif line.startswith("common options:"):
            common |= set(OPTION.findall(line))
    assert commands and common, "the README's CLI reference was not found"
    return commands, common, arguments


def test_the_readme_lists_every_command_and_option_of_the_parser() -> None:
    commands, common, arguments = _reference()
    assert set(commands) == set(COMMANDS)
    for name, command in COMMANDS.items():
        assert commands[name] == set(command.options), name
        assert arguments[name] == command.arguments, name
    assert common == {*COMMON, "--help", *SHORT}
    every = {option for own in commands.values() for option in own} | common
    assert every == {*OPTIONS, "--help", *SHORT}


def test_help_lists_what_the_readme_lists() -> None:
    proc = run_cli("--help")
    assert proc.returncode == 0
    sections = {part.split(":\n", 1)[0]: part.split(":\n", 1)[1] for part in proc.stdout.split("\n\n")
                if ":\n" in part}
    listed = [line.split()[0] for line in sections["commands"].splitlines() if line.startswith("  ") and
              not line.startswith("   ")]
    assert listed == list(COMMANDS)
    commands, common, _ = _reference()
    printed = set(OPTION.findall(sections["options"]))
    assert printed == {option for own in commands.values() for option in own} | common


def test_what_the_changelog_names_of_the_runtime_cli_exists() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if "cortex db" in line or "cortex --" in line]
    named_commands = {word for line in lines for word in re.findall(r"cortex db (\w+)", line)}
    assert named_commands and named_commands <= {*COMMANDS, "COMMAND"}
    named_options = {option for line in lines for option in OPTION.findall(line.replace("python -m", ""))}
    assert "--version" in named_options and named_options <= {*OPTIONS, "--help", *SHORT}


def test_every_option_has_help_and_every_command_a_summary() -> None:
    assert all(option.help.strip() for option in OPTIONS.values())
    assert all(command.summary.strip() and callable(command.run) for command in COMMANDS.values())
    assert set(COMMON) <= set(OPTIONS) and all(set(c.options) <= set(OPTIONS) for c in COMMANDS.values())
