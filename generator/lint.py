"""Lint rules: can every statement of a migration safely run twice?

Suppression, decided here:

* `-- noqa: MG007,MG010 reason` (or `/* noqa: ... */`) belongs to exactly one statement:
  the one it sits inside (any line of a multi-line statement), else the one whose `;` ends
  earlier on the same line (a trailing comment), else the next statement when that starts
  on the comment's last line or the line below it. A noqa that belongs to no statement,
  names no code, names an unknown code, or gives no reason is an MG000 error.
* `allow` (from the manifest) maps code -> reason and allows that code in the whole file;
  an empty reason is an MG000 error at `allow_origin`.
* A suppression without a reason suppresses nothing: the finding stays, beside its MG000.
* Allowed findings are not returned by `lint_file`; `lint_report` returns them apart
  (`LintReport.allowed`, with their reasons), and `keep_suppressed=True` returns them as
  INFO diagnostics whose message ends in " (allowed: reason)".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .analyze import StatementInfo, analyze
from .codes import UNSUPPRESSIBLE, severity
from .diagnostics import Diagnostic, Severity
from .sqlcheck import REJECTED, parse_problems, turns_foreign_keys_off
from .sqlsplit import LineIndex
from .suppress import check_allow, noqa_by_statement
from .tracking import LintContext, Tracker, shown

_GUARD_RULES = {"TABLE": "MG001", "INDEX": "MG002", "VIEW": "MG003", "TRIGGER": "MG003"}
_GUARD_RULES["VIRTUAL TABLE"] = "MG003"
_FK_MESSAGES = {
    True: "PRAGMA foreign_keys is handled by the runtime: this migration runs with foreign keys off"
          " and is checked with PRAGMA foreign_key_check before commit",
    False: "PRAGMA foreign_keys is handled by the runtime: it does not run, and no statement of this migration"
           " turns foreign keys off (as SQLite reads the values), so the migration runs with them on",
}
_OUTSIDE_PRAGMAS = {
    "journal_mode": "cannot change inside the migration's transaction; the runtime sets it",
    "synchronous": "cannot change inside the migration's transaction; the runtime sets it",
    "locking_mode": "is a connection setting; the runtime owns the connection",
    "page_size": "takes effect only with VACUUM, which cannot run inside a transaction",
    "auto_vacuum": "takes effect only with VACUUM, which cannot run inside a transaction",
    "encoding": "cannot change an existing database",
}


@dataclass(frozen=True)
class Allowed:
    """A finding suppressed with a reason; `origin` is 'noqa' or 'manifest'."""

    diagnostic: Diagnostic
    reason: str
    origin: str


@dataclass(frozen=True)
class LintReport:
    diagnostics: list[Diagnostic]  # what to report, MG000 included, sorted by position
    allowed: list[Allowed]  # findings suppressed with a reason
    noqa: dict[int, dict[str, str]] = field(default_factory=dict)  # statement line -> code -> reason


def lint_file(
    path: str,
    text: str,
    *,
    allow: Mapping[str, str] | None = None,
    context: LintContext | None = None,
    allow_origin: tuple[str, int] | None = None,
    keep_suppressed: bool = False,
) -> list[Diagnostic]:
    """Lint one migration file; allowed findings are dropped unless `keep_suppressed`."""
    report = lint_report(path, text, allow=allow, context=context, allow_origin=allow_origin)
    if not keep_suppressed:
        return report.diagnostics
    kept = [
        Diagnostic(
            a.diagnostic.path,
            a.diagnostic.line,
            a.diagnostic.col,
            a.diagnostic.code,
            f"{a.diagnostic.message} (allowed: {shown(a.reason)})",
            Severity.INFO,
        )
        for a in report.allowed
    ]
    return _sorted(report.diagnostics + kept)


def lint_report(
    path: str,
    text: str,
    *,
    allow: Mapping[str, str] | None = None,
    context: LintContext | None = None,
    allow_origin: tuple[str, int] | None = None,
    infos: list[StatementInfo] | None = None,
) -> LintReport:
    """Lint one migration file, keeping the allowed findings apart with their reasons.

    `infos` is `analyze(path, text)` when the caller has it already (the build does).
    """
    if infos is None:
        infos = analyze(path, text)
    lines = LineIndex(text)
    noqa, problems = noqa_by_statement(path, text, infos, lines)
    problems += check_allow(path, allow or {}, allow_origin)
    tracker = Tracker(context if context is not None else LintContext())
    rejected = parse_problems(infos)
    foreign_keys_off = turns_foreign_keys_off(infos)
    allowed: list[Allowed] = []
    for index, info in enumerate(infos):
        for finding in _findings(path, info, tracker, rejected.get(index), foreign_keys_off):
            reason = noqa.get(index, {}).get(finding.code, "").strip()
            origin = "noqa"
            if not reason:
                reason, origin = (allow or {}).get(finding.code, "").strip(), "manifest"
            if reason and finding.code not in UNSUPPRESSIBLE:
                allowed.append(Allowed(finding, reason, origin))
            else:
                problems.append(finding)
    return LintReport(_sorted(problems), allowed, {infos[i].statement.line: codes for i, codes in noqa.items()})


def _sorted(diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    return sorted(diagnostics, key=lambda d: (d.path, d.line, d.col, d.code, d.message))


def _diagnostic(path: str, info: StatementInfo, code: str, message: str) -> Diagnostic:
    s = info.statement
    return Diagnostic(path, s.line, s.col, code, message, severity(code))


def _findings(path: str, info: StatementInfo, tracker: Tracker, rejected: str | None,
              foreign_keys_off: bool) -> list[Diagnostic]:
    if info.parse_error is not None:
        return [info.parse_error]
    found: list[tuple[str, str]] = []
    name = shown(info.name or "?")
    if info.verb == "CREATE" and info.object_type and not info.guarded:
        what = "UNIQUE INDEX" if info.unique else info.object_type
        code = _GUARD_RULES[info.object_type]
        found.append((code, f"CREATE {what} {name} needs IF NOT EXISTS (--fix adds it)"))
    elif info.verb == "DROP" and info.object_type and not info.guarded:
        found.append(("MG005", f"DROP {info.object_type} {name} needs IF EXISTS (--fix adds it)"))
    elif info.verb == "INSERT" and not info.guarded:
        message = (
            f"INSERT INTO {name} fails or duplicates rows when run twice:"
            " use INSERT OR IGNORE, INSERT OR REPLACE or ON CONFLICT DO NOTHING"
        )
        found.append(("MG006", message))
    elif info.alter_action == "ADD COLUMN" and not info.guarded:
        column = shown(info.add_column[1] if info.add_column else "?")
        message = f"ALTER TABLE {name} ADD COLUMN {column} needs IF NOT EXISTS (--fix adds it)"
        found.append(("MG004", message))
    elif info.alter_action in ("RENAME", "RENAME COLUMN"):
        what = "RENAME" if info.alter_action == "RENAME" else "RENAME COLUMN"
        message = (
            f"ALTER TABLE {name} {what} cannot run twice: allow it with a reason"
            " if it only runs once, inside this migration's transaction"
        )
        found.append(("MG007", message))
    found += _transaction_findings(info, foreign_keys_off)
    destroyed = tracker.apply(info)
    if destroyed:
        message = f"{destroyed} an earlier migration created: allow it with a reason"
        found.append(("MG010", message))
    if rejected is not None:  # beside what else is wrong with it: every problem at once
        found.append(("MG100", REJECTED + rejected))
    return [_diagnostic(path, info, code, message) for code, message in found]


def _transaction_findings(info: StatementInfo, foreign_keys_off: bool) -> list[tuple[str, str]]:
    if info.transaction_control:
        return [("MG008", f"{info.verb} here breaks the transaction the runtime runs this in")]
    if info.verb == "VACUUM":
        return [("MG008", "VACUUM cannot run inside the migration's transaction")]
    if info.verb in ("ATTACH", "DETACH"):
        return [("MG008", f"{info.verb} cannot run inside the migration's transaction")]
    if info.pragma is None:
        return []
    pragma, value = info.pragma
    if pragma == "foreign_keys":
        return [("MG009", _FK_MESSAGES[foreign_keys_off])]
    if pragma == "wal_checkpoint":
        return [("MG008", "PRAGMA wal_checkpoint cannot run inside the migration's transaction")]
    if pragma in _OUTSIDE_PRAGMAS and value is not None:
        return [("MG008", f"PRAGMA {pragma} {_OUTSIDE_PRAGMAS[pragma]}")]
    return []


__all__ = ["Allowed", "LintContext", "LintReport", "lint_file", "lint_report"]
