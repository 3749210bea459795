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

import bisect
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from generator.analyze import StatementInfo, analyze
from generator.diagnostics import Diagnostic, Severity
from generator.sqlsplit import Comment, LineIndex, comments


@dataclass(frozen=True)
class RuleInfo:
    name: str
    description: str
    autofixable: bool
    severity: Severity


_E, _I = Severity.ERROR, Severity.INFO
RULES: dict[str, RuleInfo] = {
    "MG000": RuleInfo("bad-suppression", "noqa or manifest allow without a reason", False, _E),
    "MG001": RuleInfo("create-table-guard", "CREATE TABLE without IF NOT EXISTS", True, _E),
    "MG002": RuleInfo("create-index-guard", "CREATE [UNIQUE] INDEX without IF NOT EXISTS", True, _E),
    "MG003": RuleInfo(
        "create-object-guard",
        "CREATE VIEW / TRIGGER / VIRTUAL TABLE without IF NOT EXISTS",
        True,
        _E,
    ),
    "MG004": RuleInfo("add-column-guard", "ALTER TABLE ... ADD COLUMN without IF NOT EXISTS", True, _E),
    "MG005": RuleInfo("drop-guard", "DROP TABLE / INDEX / VIEW / TRIGGER without IF EXISTS", True, _E),
    "MG006": RuleInfo("insert-guard", "INSERT without OR IGNORE, OR REPLACE or ON CONFLICT DO NOTHING", False, _E),
    "MG007": RuleInfo("rename", "ALTER TABLE ... RENAME cannot run twice", False, _E),
    "MG008": RuleInfo(
        "outside-transaction",
        "statement that cannot run inside the migration's transaction",
        False,
        _E,
    ),
    "MG009": RuleInfo("foreign-keys-pragma", "PRAGMA foreign_keys is handled by the runtime", False, _I),
    "MG010": RuleInfo(
        "destructive",
        "DROP TABLE / DROP COLUMN of something an earlier migration created",
        False,
        _E,
    ),
    "MG100": RuleInfo("syntax-error", "statement that cannot be read", False, _E),
}
UNSUPPRESSIBLE = frozenset({"MG000", "MG100"})
#: Codes the proof reports (not lint rules) that a noqa or an allow may name (see datawalk.py).
PROOF_CODES = frozenset({"MG201", "MG202"})

_GUARD_RULES = {"TABLE": "MG001", "INDEX": "MG002", "VIEW": "MG003", "TRIGGER": "MG003"}
_GUARD_RULES["VIRTUAL TABLE"] = "MG003"
_NOQA = re.compile(r"noqa\b\s*(?P<colon>:?)\s*(?P<codes>(?:MG\d{3}\s*,?\s*)*)(?P<reason>.*)", re.I | re.S)
_FK_MESSAGE = (
    "PRAGMA foreign_keys is handled by the runtime: this migration runs with foreign keys off"
    " and is checked with PRAGMA foreign_key_check before commit"
)
_OUTSIDE_PRAGMAS = {
    "journal_mode": "cannot change inside the migration's transaction; the runtime sets it",
    "synchronous": "cannot change inside the migration's transaction; the runtime sets it",
    "locking_mode": "is a connection setting; the runtime owns the connection",
    "page_size": "takes effect only with VACUUM, which cannot run inside a transaction",
    "auto_vacuum": "takes effect only with VACUUM, which cannot run inside a transaction",
    "encoding": "cannot change an existing database",
}


@dataclass
class LintContext:
    """What earlier migrations of one database created, accumulated in version order."""

    created_tables: set[str] = field(default_factory=set)
    created_columns: set[tuple[str, str]] = field(default_factory=set)


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
            f"{a.diagnostic.message} (allowed: {_shown(a.reason)})",
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
    noqa, problems = _noqa_by_statement(path, text, infos, lines)
    problems += _check_allow(path, allow or {}, allow_origin)
    tracker = _Tracker(context if context is not None else LintContext())
    allowed: list[Allowed] = []
    for index, info in enumerate(infos):
        for finding in _findings(path, info, tracker):
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


def _shown(name: str) -> str:
    """A name from the SQL as a message shows it: as written, or as `repr` when it holds a
    newline or another unprintable character (a quoted identifier can), so a finding stays one line."""
    return name if name.isprintable() else repr(name)


def _diagnostic(path: str, info: StatementInfo, code: str, message: str) -> Diagnostic:
    s = info.statement
    return Diagnostic(path, s.line, s.col, code, message, RULES[code].severity)


def _findings(path: str, info: StatementInfo, tracker: _Tracker) -> list[Diagnostic]:
    if info.parse_error is not None:
        return [info.parse_error]
    found: list[tuple[str, str]] = []
    name = _shown(info.name or "?")
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
        column = _shown(info.add_column[1] if info.add_column else "?")
        message = f"ALTER TABLE {name} ADD COLUMN {column} needs IF NOT EXISTS (--fix adds it)"
        found.append(("MG004", message))
    elif info.alter_action in ("RENAME", "RENAME COLUMN"):
        what = "RENAME" if info.alter_action == "RENAME" else "RENAME COLUMN"
        message = (
            f"ALTER TABLE {name} {what} cannot run twice: allow it with a reason"
            " if it only runs once, inside this migration's transaction"
        )
        found.append(("MG007", message))
    found += _transaction_findings(info)
    destroyed = tracker.apply(info)
    if destroyed:
        message = f"{destroyed} an earlier migration created: allow it with a reason"
        found.append(("MG010", message))
    return [_diagnostic(path, info, code, message) for code, message in found]


def _transaction_findings(info: StatementInfo) -> list[tuple[str, str]]:
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
        return [("MG009", _FK_MESSAGE)]
    if pragma == "wal_checkpoint":
        return [("MG008", "PRAGMA wal_checkpoint cannot run inside the migration's transaction")]
    if pragma in _OUTSIDE_PRAGMAS and value is not None:
        return [("MG008", f"PRAGMA {pragma} {_OUTSIDE_PRAGMAS[pragma]}")]
    return []


class _Tracker:
    """Follows tables and columns through one file, against what earlier files created."""

    def __init__(self, context: LintContext) -> None:
        self.context = context
        self.local_tables: set[str] = set()  # created by this file
        self.local_columns: set[tuple[str, str]] = set()
        self.temporary: set[str] = set()  # TEMP tables: gone with the connection, never "earlier"

    def apply(self, info: StatementInfo) -> str | None:
        """Record what `info` creates or removes; describe it if it destroys earlier work."""
        if info.parse_error is not None or info.name is None:
            return None
        table = info.name.lower()
        tables, columns = self.context.created_tables, self.context.created_columns
        if info.verb == "CREATE" and info.object_type in ("TABLE", "VIRTUAL TABLE"):
            if info.temporary:
                self.temporary.add(table)
            elif table not in tables:
                tables.add(table)
                self.local_tables.add(table)
                for column in info.columns:
                    columns.add((table, column.lower()))
                    self.local_columns.add((table, column.lower()))
        elif info.verb == "DROP" and info.object_type == "TABLE":
            if table in self.temporary:  # a TEMP table shadows a main one of the same name
                self.temporary.discard(table)
                return None
            earlier = table in tables and table not in self.local_tables
            self._forget(table)
            return f"DROP TABLE {_shown(info.name)} destroys a table" if earlier else None
        elif info.alter_action == "RENAME" and info.renamed:
            self._rename_table(table, info.renamed[1].lower())
        elif info.alter_action == "RENAME COLUMN" and info.renamed:
            old, new = (table, info.renamed[0].lower()), (table, info.renamed[1].lower())
            for group in (columns, self.local_columns):
                if old in group:
                    group.discard(old)
                    group.add(new)
        elif info.alter_action == "ADD COLUMN" and info.add_column:
            added = (table, info.add_column[1].lower())
            if added not in columns:
                columns.add(added)
                self.local_columns.add(added)
        elif info.alter_action == "DROP COLUMN" and info.dropped_column:
            dropped = (table, info.dropped_column.lower())
            local = table in self.local_tables or dropped in self.local_columns
            earlier = not local and (table in tables or dropped in columns)
            columns.discard(dropped)
            self.local_columns.discard(dropped)
            if earlier:
                return f"ALTER TABLE {_shown(info.name)} DROP COLUMN {_shown(info.dropped_column)} destroys a column"
        return None

    def _forget(self, table: str) -> None:
        self.context.created_tables.discard(table)
        self.local_tables.discard(table)
        for group in (self.context.created_columns, self.local_columns):
            group.difference_update({c for c in group if c[0] == table})

    def _rename_table(self, old: str, new: str) -> None:
        for tables in (self.context.created_tables, self.local_tables):
            if old in tables:
                tables.discard(old)
                tables.add(new)
        for group in (self.context.created_columns, self.local_columns):
            moved = {c for c in group if c[0] == old}
            group.difference_update(moved)
            group.update((new, column) for _, column in moved)


def _noqa_by_statement(
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
            if code not in RULES and code not in PROOF_CODES:
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


def _check_allow(path: str, allow: Mapping[str, str], origin: tuple[str, int] | None) -> list[Diagnostic]:
    where, line = origin if origin is not None else (path, 1)
    problems: list[Diagnostic] = []
    for code, reason in sorted(allow.items()):
        if code not in RULES and code not in PROOF_CODES:
            message = f"allow names {_shown(code)}, which is not a lint code"
        elif code in UNSUPPRESSIBLE:
            message = f"{code} cannot be allowed"
        elif not reason.strip():
            message = f"allow for {code} needs a reason"
        else:
            continue
        problems.append(Diagnostic(where, line, 1, "MG000", message))
    return problems
