"""Autofix MG001-MG005: insert the missing `IF NOT EXISTS` / `IF EXISTS`, touch nothing else."""

from __future__ import annotations

import re
from collections.abc import Mapping

from .analyze import StatementInfo, analyze
from .codes import FIXABLE
from .lint import lint_report

__all__ = ["FIXABLE", "fix_text"]
_FIRST_WORD = re.compile(r"[A-Za-z]+")


def fix_text(path: str, text: str, *, allow: Mapping[str, str] | None = None) -> str:
    """`text` with the guards added; statements whose finding is allowed are left alone.

    Every other byte (comments, layout, line endings) stays as it was, and fixing twice
    changes nothing more than fixing once.
    """
    infos = analyze(path, text)
    allowed = {
        (a.diagnostic.line, a.diagnostic.col)
        for a in lint_report(path, text, allow=allow).allowed
        if a.diagnostic.code in FIXABLE
    }
    insertions = [
        (info.guard_at, _guard(info))
        for info in infos
        if info.guard_at is not None
        and info.parse_error is None
        and (info.statement.line, info.statement.col) not in allowed
    ]
    for offset, guard in sorted(insertions, reverse=True):
        text = text[:offset] + guard + text[offset:]
    return text


def _guard(info: StatementInfo) -> str:
    """' IF EXISTS' or ' IF NOT EXISTS' in the case of the statement's first keyword."""
    guard = " IF EXISTS" if info.verb == "DROP" else " IF NOT EXISTS"
    match = _FIRST_WORD.match(info.statement.text)
    first = match.group() if match else ""
    if first.islower():
        return guard.lower()
    if first.istitle() and len(first) > 1:
        return guard.title()
    return guard
