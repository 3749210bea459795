"""SARIF 2.1.0 output: one run, one rule per code cortexdb can report, one result per diagnostic."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any
from urllib.parse import quote

from .codes import CODES
from .diagnostics import Diagnostic, Severity

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SOURCE_ROOT = "%SRCROOT%"  # relative paths are relative to where the command ran

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def rule_table() -> dict[str, tuple[str, str, Severity]]:
    """Every code cortexdb can report: (short name, description, default severity), sorted."""
    return {code: (entry.name, entry.description, entry.severity) for code, entry in sorted(CODES.items())}


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
                    {"id": code, "name": name, "shortDescription": _description(text),
                     "fullDescription": _description(text),
                     "defaultConfiguration": {"level": LEVELS[severity]}}
                    for code, (name, text, severity) in rules.items()
                ],
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    }


def _description(markdown: str) -> dict[str, str]:
    """The registry's Markdown description, and as plain text (SARIF viewers show either)."""
    return {"text": markdown.replace("`", ""), "markdown": markdown}
