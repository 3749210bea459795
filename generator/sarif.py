"""SARIF 2.1.0 output: one run, one rule per code, one result per diagnostic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .diagnostics import Diagnostic

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"

# Codes the lint rules do not own: the manifest, the proof and the lock.
OTHER_RULES: dict[str, tuple[str, str]] = {
    "MF001": ("manifest-unreadable", "The manifest is not valid UTF-8 TOML or cannot be read."),
    "MF002": ("manifest-unknown-key", "The manifest has a key cortexdb does not know."),
    "MF003": ("manifest-bad-value", "A manifest value is missing or of the wrong type."),
    "MF004": ("manifest-unknown-database", "A migration names a database the manifest does not define."),
    "MF005": ("manifest-bad-file-name", "A migration file is not named NNN_snake_case.sql."),
    "MF006": ("manifest-missing-file", "A listed file or folder does not exist."),
    "MF007": ("manifest-numbering", "Migration numbers are duplicated or have gaps."),
    "MF008": ("manifest-path-escape", "A path leaves the migrations folder, the project or the data dir."),
    "MF009": ("manifest-unlisted-file", "A SQL file in the migrations folder is not in the manifest."),
    "MG200": ("not-idempotent", "The proof: a second run of the migration fails or changes schema or rows."),
    "MG300": ("lock-unreadable", "migrations.lock cannot be read or has a malformed line."),
    "MG301": ("lock-number-conflict", "Two branches added a migration with the same number."),
    "MG302": ("locked-migration-changed", "A locked (shipped) migration changed meaning."),
    "MG303": ("locked-migration-cosmetic-edit", "A locked migration changed only comments or whitespace."),
    "MG304": ("locked-migration-missing", "A locked migration is no longer in the manifest."),
}
LEVELS = {"error": "error", "warning": "warning", "info": "note"}


def rule_table() -> dict[str, tuple[str, str]]:
    """Every code cortexdb can report: (short name, description)."""
    from .lint import RULES

    table = {code: (rule.name, rule.description) for code, rule in RULES.items()}
    table.update(OTHER_RULES)
    return dict(sorted(table.items()))


def to_sarif(diagnostics: Sequence[Diagnostic]) -> dict[str, Any]:
    rules = rule_table()
    codes = list(rules)
    results = []
    for d in diagnostics:
        result: dict[str, Any] = {
            "ruleId": d.code,
            "level": LEVELS[d.severity.value],
            "message": {"text": d.message},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": d.path},
                "region": {"startLine": max(d.line, 1), "startColumn": max(d.col, 1)},
            }}],
        }
        if d.code in rules:
            result["ruleIndex"] = codes.index(d.code)
        results.append(result)
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cortexdb-generator",
                "rules": [
                    {"id": code, "name": name, "shortDescription": {"text": text},
                     "fullDescription": {"text": text}}
                    for code, (name, text) in rules.items()
                ],
            }},
            "results": results,
        }],
    }
