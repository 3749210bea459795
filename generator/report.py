"""Printing diagnostics: text (`path:line:col: CODE message`), json, github, sarif."""

from __future__ import annotations

import json
from collections.abc import Sequence

from .diagnostics import Diagnostic


def format_diagnostics(diagnostics: Sequence[Diagnostic], fmt: str) -> str:
    if fmt == "json":
        return json.dumps([_as_dict(d) for d in diagnostics], indent=2)
    if fmt == "github":
        level = {"error": "error", "warning": "warning", "info": "notice"}
        return "\n".join(
            f"::{level[d.severity.value]} file={d.path},line={d.line},col={d.col},title={d.code}::"
            f"{_escape_github(d.message)}" for d in diagnostics)
    if fmt == "sarif":
        from .sarif import to_sarif

        return json.dumps(to_sarif(diagnostics), indent=2)
    return "\n".join(str(d) for d in diagnostics)


def _as_dict(d: Diagnostic) -> dict[str, object]:
    return {"path": d.path, "line": d.line, "col": d.col, "code": d.code, "message": d.message,
            "severity": d.severity.value}


def _escape_github(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
