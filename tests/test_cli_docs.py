"""README, CHANGELOG and `--help` agree with the parsers of both CLIs (issue 14).

`cortex db`: the commands, options and option values the README's CLI reference lists are
exactly those of `COMMANDS` and `OPTIONS`, and those a real `cortex db --help` prints.
`python -m generator`: the README's command table and its "Every command takes" paragraph give
exactly each command's options, values and arguments of the argparse parser, and of each real
`--help`. What the CHANGELOG names of either exists."""

from __future__ import annotations

import argparse
import re

from project import generator
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


def test_the_readme_gives_each_option_its_value_as_the_parser_names_it() -> None:
    """`--data-dir DIR`, `--format text|json`, `-q|--quiet`: as `--help` labels them."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text.split("The CLI reference", 1)[1].split("```\n", 2)[1]
    for option in OPTIONS.values():
        if option.metavar:
            assert f"{option.name} {option.metavar}" in block, option.name
        if option.short:
            assert f"{option.short}|{option.name}" in block, option.name
    assert re.search(r"^cortex db baseline +--version=N ", block, re.MULTILINE)


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


# ---------------------------------------------------------------- python -m generator

Spec = tuple[set[str], dict[str, str], list[str]]  # options, {option: its value}, arguments


def _words(text: str) -> Spec:
    """`new DESCRIPTION --database NAME` -> ({--database}, {--database: NAME}, [DESCRIPTION])."""
    options: set[str] = set()
    values: dict[str, str] = {}
    arguments: list[str] = []
    last = ""
    for word in (w.strip("[]") for w in text.split()):
        if word.startswith("-"):
            options.add(word)
            last = word
        elif last:
            values[last] = word
            last = ""
        else:
            arguments.append(word)
    return options, values, arguments


def _generator_reference() -> tuple[dict[str, Spec], Spec]:
    """({command: what its table row names}, what "Every command takes" names) from the README."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## The generator: `python -m generator`", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        if line.startswith("| `"):
            name, _, rest = line.split("`")[1].replace("\\|", "|").partition(" ")
            rows[name] = _words(rest)
    common = section.split("Every command takes", 1)[1].split("\n\n", 1)[0]
    spans = re.findall(r"`(-[^`]+)`", common)
    assert rows and spans, "the README's generator command table was not found"
    return rows, _words(" ".join(spans))


def _parsed(parser: argparse.ArgumentParser) -> Spec:
    """What a parser takes, spelt as its --help spells it, -h/--help left out."""
    options: set[str] = set()
    values: dict[str, str] = {}
    arguments: list[str] = []
    for action in parser._actions:
        if "--help" in action.option_strings or isinstance(action, argparse._SubParsersAction):
            continue
        if not action.option_strings:
            arguments.append(action.metavar or action.dest.upper())
            continue
        options |= set(action.option_strings)
        if action.nargs != 0:
            value = "|".join(action.choices) if action.choices else action.metavar or action.dest.upper()
            values.update(dict.fromkeys(action.option_strings, str(value)))
    return options, values, arguments


def test_the_readme_lists_the_commands_and_options_the_parser_has() -> None:
    """The README's command table and option list against the real parser, both ways: every
    command, every option, the value each option takes and each command's arguments."""
    from generator.__main__ import _parser

    rows, (common, common_values, _) = _generator_reference()
    parser, subparsers = _parser()
    assert sorted(rows) == sorted(subparsers)
    for name, sub in subparsers.items():
        options, values, arguments = _parsed(sub)
        own, own_values, own_arguments = rows[name]
        assert options == own | common, name
        assert values == {**common_values, **own_values}, name
        assert arguments == own_arguments, name
    assert common == set.intersection(*(_parsed(sub)[0] for sub in subparsers.values()))
    top = _parsed(parser)[0]
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## The generator", 1)[1]
    assert top == (common & top) | {"--version"} and "`python -m generator --version`" in section


def _help_options(text: str) -> set[str]:
    listed = text.split("\noptions:\n", 1)[1].split("\n\n", 1)[0]
    return {option for line in listed.splitlines() if line.startswith("  -")
            for option in OPTION.findall(line.split("  ")[1])}


def test_each_generator_help_lists_what_the_readme_lists() -> None:
    rows, (common, _, _) = _generator_reference()
    top = generator(ROOT, "--help")
    assert top.returncode == 0, top.stderr
    assert _help_options(top.stdout) - {"-h", "--help"} == (common & {"--debug", "-q", "--quiet", "-v", "--verbose"}
                                                          ) | {"--version"}
    for name, (own, values, arguments) in rows.items():
        proc = generator(ROOT, name, "--help")
        assert proc.returncode == 0, proc.stderr
        assert _help_options(proc.stdout) == own | common | {"-h", "--help"}, name
        usage = " ".join(proc.stdout.split("\n\n", 1)[0].split())
        assert all(f"{option} {value}" in usage or option not in own for option, value in values.items()), usage
        assert all(argument in usage or argument.lower() in usage for argument in arguments), usage


def test_what_the_changelog_names_of_the_generator_exists() -> None:
    from generator.__main__ import _parser

    parser, subparsers = _parser()
    every = set.union(_parsed(parser)[0], *(_parsed(sub)[0] for sub in subparsers.values()))
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    bullets = [" ".join(b.split()) for b in text.split("\n- ") if "enerator" in b and "cortex db" not in b]
    named = {option for bullet in bullets for option in OPTION.findall(bullet.replace("python -m", ""))}
    assert "--version" in named and named <= every | {"--help"}
    listed = next(re.search(r"Commands ((?:`[^`]+`(?:, | and )?)+)", b) for b in bullets if "Commands `" in b)
    assert listed is not None
    assert {span.split()[0] for span in re.findall(r"`([^`]+)`", listed[1])} == set(subparsers)
