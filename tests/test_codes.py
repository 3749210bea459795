"""The one registry of codes (generator/codes.py) against what users read and tools receive: the
README's tables, the SARIF rules, the codes the generator's source emits."""

from __future__ import annotations

import re
from pathlib import Path

from generator.codes import CODES, FIXABLE, LINT_CODES, UNSUPPRESSIBLE, Kind
from generator.diagnostics import Severity
from generator.sarif import to_sarif

ROOT = Path(__file__).resolve().parents[1]
ROW = re.compile(r"^\| (?P<code>M[FG]\d{3}) \| (?P<cells>.*) \|$")


def readme_tables() -> dict[str, list[str]]:
    """Every row of the README's code tables: code -> its cells after the code."""
    rows: dict[str, list[str]] = {}
    for line in (ROOT / "README.md").read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            assert match["code"] not in rows, f"{match['code']} is listed twice in the README"
            rows[match["code"]] = [cell.strip() for cell in match["cells"].split(" | ")]
    return rows


def test_the_readme_lists_every_code_with_the_registry_description() -> None:
    rows = readme_tables()
    assert len(rows) > 25  # the tables were found
    assert set(rows) == set(CODES)
    for code, cells in rows.items():
        assert cells[0] == CODES[code].description, code


def test_the_readme_fix_column_says_fix_exactly_for_the_fixable_codes() -> None:
    rows = readme_tables()
    with_fix_column = {code: cells[1] for code, cells in rows.items() if len(cells) > 1}
    assert set(with_fix_column) == {code for code in CODES if CODES[code].kind in (Kind.LINT, Kind.PROOF)}
    assert {code for code, fix in with_fix_column.items() if fix == "`--fix`"} == FIXABLE
    assert {"MG001", "MG002", "MG003", "MG004", "MG005"} == FIXABLE


def test_sarif_rules_are_the_registry() -> None:
    rules = to_sarif([])["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted(CODES)
    levels = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
    for rule in rules:
        entry = CODES[rule["id"]]
        assert rule["name"] == entry.name
        assert rule["shortDescription"] == {"text": entry.description.replace("`", ""), "markdown": entry.description}
        assert rule["defaultConfiguration"]["level"] == levels[entry.severity]


def test_every_code_the_source_emits_is_registered_and_every_registered_code_is_emitted() -> None:
    emitted: set[str] = set()
    for path in (ROOT / "generator").glob("*.py"):
        if path.name != "codes.py":
            emitted |= set(re.findall(r"\"(M[FG]\d{3})\"", path.read_text(encoding="utf-8")))
    assert emitted == set(CODES)


def test_lint_codes_are_what_noqa_and_allow_may_name() -> None:
    assert {f"MG{n:03d}" for n in range(11)} | {"MG100"} == LINT_CODES
    assert UNSUPPRESSIBLE <= LINT_CODES
    names = [entry.name for entry in CODES.values()]
    assert len(set(names)) == len(names) and all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", n) for n in names)
