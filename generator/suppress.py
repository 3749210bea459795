"""Suppressions: the `noqa` comments of a file, each bound to one statement, and the manifest's
`allow`; a suppression without a reason, or naming no lint code, is an MG000 error."""

from __future__ import annotations

import bisect
import re
from collections.abc import Mapping

from .analyze import StatementInfo
from .codes import ALLOWABLE, UNSUPPRESSIBLE
from .diagnostics import Diagnostic
from .sqlsplit import Comment, LineIndex, comments
from .tracking import shown

_NOQA = re.compile(r"noqa\b\s*(?P<colon>:?)\s*(?P<codes>(?:MG\d{3}\s*,?\s*)*)(?P<reason>.*)", re.I | re.S)


def noqa_by_statement(
    path: str, text: str, infos: list[StatementInfo], lines: LineIndex
) -> tuple[dict[int, dict[str, str]], list[Diagnostic]]:
    """The codes each statement's noqa comments allow, with reasons; MG000 for bad ones."""
    starts = [i.statement.start for i in infos]
    by_statement: dict[int, dict[str, str]] = {}
    problems: list[Diagnostic] = []
    for comment in comments(text):
        body = _comment_body(comment)
        if not body.lower().startswith("noqa"):
            continue
        line, col = lines.position(comment.start)

        def problem(message: str, line: int = line, col: int = col) -> None:
            problems.append(Diagnostic(path, line, col, "MG000", message))

        match = _NOQA.match(body)
        codes = re.findall(r"MG\d{3}", match["codes"].upper()) if match else []
        if not match or not match["colon"] or not codes:
            problem("noqa must name codes and a reason, e.g. '-- noqa: MG007 reason'")
            continue
        owner = _owner(comment, infos, starts, lines)
        if owner is None:
            problem("noqa belongs to no statement: put it on the statement's line or just above")
            continue
        reason = match["reason"].strip().lstrip("-:").strip()
        for code in codes:
            if code not in ALLOWABLE:
                problem(f"noqa names {code}, which is not a lint code")
            elif code in UNSUPPRESSIBLE:
                problem(f"{code} cannot be allowed")
            elif not reason:
                problem(f"noqa for {code} needs a reason")
            else:
                by_statement.setdefault(owner, {})[code] = reason
    return by_statement, problems


def _comment_body(comment: Comment) -> str:
    body = comment.text[2:]
    if comment.text.startswith("/*") and body.endswith("*/"):
        body = body[:-2]
    return body.strip()


def _owner(comment: Comment, infos: list[StatementInfo], starts: list[int], lines: LineIndex) -> int | None:
    """The index of the statement a comment belongs to (see the module docstring)."""
    after = bisect.bisect_right(starts, comment.start)  # first statement starting after it
    before = after - 1
    if before >= 0:
        previous = infos[before].statement
        if comment.start < previous.end:
            return before
        if lines.line_of(previous.end - 1) == lines.line_of(comment.start):
            return before
    if after < len(infos):
        following = infos[after].statement
        if following.line - lines.line_of(max(comment.end - 1, comment.start)) <= 1:
            return after
    return None


def check_allow(path: str, allow: Mapping[str, str], origin: tuple[str, int] | None) -> list[Diagnostic]:
    where, line = origin if origin is not None else (path, 1)
    problems: list[Diagnostic] = []
    for code, reason in sorted(allow.items()):
        if code not in ALLOWABLE:
            message = f"allow names {shown(code)}, which is not a lint code"
        elif code in UNSUPPRESSIBLE:
            message = f"{code} cannot be allowed"
        elif not reason.strip():
            message = f"allow for {code} needs a reason"
        else:
            continue
        problems.append(Diagnostic(where, line, 1, "MG000", message))
    return problems
