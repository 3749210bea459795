"""Printing diagnostics: text (`path:line:col: CODE message`), json, github, sarif.

`json` carries every field of the text line (path, line, col, code, severity, message), so a
tool can rebuild the text exactly; `github` is workflow-command annotations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from .diagnostics import Diagnostic

FORMATS = ("text", "json", "github", "sarif")
GITHUB_LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def format_diagnostics(diagnostics: Sequence[Diagnostic], fmt: str) -> str:
    """The diagnostics as one text in `fmt`; "" for text/github when there are none."""
    if fmt == "json":
        return json.dumps([as_dict(d) for d in diagnostics], indent=2)
    if fmt == "github":
        return "\n".join(_github(d) for d in diagnostics)
    if fmt == "sarif":
        from .sarif import to_sarif

        return json.dumps(to_sarif(diagnostics), indent=2)
    if fmt != "text":
        raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    return "\n".join(str(d) for d in diagnostics)


def as_dict(d: Diagnostic) -> dict[str, object]:
    return {"path": d.path, "line": d.line, "col": d.col, "code": d.code, "severity": d.severity.value,
            "message": d.message}


def _github(d: Diagnostic) -> str:
    # https://docs.github.com/actions/reference/workflow-commands-for-github-actions
    properties = {"file": d.path, "line": str(d.line), "col": str(d.col), "title": d.code}
    joined = ",".join(f"{key}={_escape_property(value)}" for key, value in properties.items())
    return f"::{GITHUB_LEVELS[d.severity.value]} {joined}::{_escape_data(d.message)}"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")
