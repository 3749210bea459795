"""SARIF 2.1.0 output: one run, one rule per code cortexdb can report, one result per diagnostic."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from .diagnostics import Diagnostic, Severity

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SOURCE_ROOT = "%SRCROOT%"  # relative paths are relative to where the command ran

# Codes the lint rules do not own: the manifest, the proof, the lock and `check`.
OTHER_RULES: dict[str, tuple[str, str, Severity]] = {
    "MF001": ("manifest-unreadable", "The manifest is not valid UTF-8 TOML or cannot be read.", Severity.ERROR),
    "MF002": ("manifest-unknown-key", "The manifest has a key cortexdb does not know.", Severity.ERROR),
    "MF003": ("manifest-bad-value", "A manifest value is missing or of the wrong type.", Severity.ERROR),
    "MF004": ("manifest-unknown-database", "A migration names a database the manifest does not define.",
              Severity.ERROR),
    "MF005": ("manifest-bad-file-name", "A migration file is not named NNN_snake_case.sql.", Severity.ERROR),
    "MF006": ("manifest-missing-file", "A listed file or folder does not exist.", Severity.ERROR),
    "MF007": ("manifest-numbering", "Migration numbers are duplicated or have gaps.", Severity.ERROR),
    "MF008": ("manifest-path-escape", "A path leaves the migrations folder, the project or the data dir.",
              Severity.ERROR),
    "MF009": ("manifest-unlisted-file", "A SQL file in the migrations folder is not in the manifest.",
              Severity.ERROR),
    "MF010": ("output-unwritable", "A generated file cannot be written (its folder is a file, no permission).",
              Severity.ERROR),
    "MG200": ("not-idempotent", "The proof: a second run of the migration fails or changes schema or rows.",
              Severity.ERROR),
    "MG201": ("fails-on-rows", "The proof on data: a statement fails on a database whose tables hold rows.",
              Severity.ERROR),
    "MG202": ("new-unique-key", "A UNIQUE index or constraint new on a table an earlier migration made.",
              Severity.WARNING),
    "MG300": ("lock-unreadable", "migrations.lock cannot be read or has a malformed line.", Severity.ERROR),
    "MG301": ("lock-number-conflict", "Two branches added a migration with the same number.", Severity.ERROR),
    "MG302": ("locked-migration-changed", "A locked (shipped) migration changed meaning.", Severity.ERROR),
    "MG303": ("locked-migration-cosmetic-edit",
              "A locked migration changed only comments, whitespace, line endings or its file name.",
              Severity.WARNING),
    "MG304": ("locked-migration-missing", "A locked migration is no longer in the manifest, or an unlock "
              "names a migration that is not locked.", Severity.ERROR),
    "MG305": ("stale-generated-file", "A generated file (the frozen module, migrations.lock) differs from "
              "what the sources give.", Severity.ERROR),
    "MG306": ("locked-migration-moved", "A locked migration is listed under another database than it was locked "
              "for.", Severity.ERROR),
}
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def rule_table() -> dict[str, tuple[str, str, Severity]]:
    """Every code cortexdb can report: (short name, description, default severity)."""
    from .lint import RULES

    table = {code: (rule.name, rule.description, rule.severity) for code, rule in RULES.items()}
    table.update(OTHER_RULES)
    return dict(sorted(table.items()))


def artifact_location(path: str) -> dict[str, str]:
    """A SARIF artifactLocation: a `file:` URI for an absolute path, else a relative reference."""
    for pure in (PurePosixPath(path), PureWindowsPath(path)):
        if pure.is_absolute():
            return {"uri": pure.as_uri()}
    return {"uri": quote(PureWindowsPath(path).as_posix()), "uriBaseId": SOURCE_ROOT}


def to_sarif(diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    rules = rule_table()
    index = {code: position for position, code in enumerate(rules)}
    results = []
    for d in diagnostics:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "level": LEVELS[d.severity],
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": artifact_location(d.path),
                "region": {"startLine": max(d.line, 1), "startColumn": max(d.col, 1)},
            }}],
        }
        if d.code in index:
            result["ruleIndex"] = index[d.code]
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cortexdb-generator",
                "rules": [
                    {"id": code, "name": name, "shortDescription": {"text": text},
                     "fullDescription": {"text": text},
                     "defaultConfiguration": {"level": LEVELS[severity]}}
                    for code, (name, text, severity) in rules.items()
                ],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }
