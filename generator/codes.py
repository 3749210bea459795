"""Every code the generator reports, once: its name, severity, whether `lint --fix` fixes it,
and the description the README's tables show (a test compares them, row by row).

The lint, the SARIF rule table, `noqa` and `allow` all read this registry; nothing else
lists codes.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .diagnostics import Severity


class Kind(enum.Enum):
    """Which part of the build reports a code; also which README table lists it."""

    MANIFEST = "manifest"
    LINT = "lint"  # can be suppressed with a reason (noqa, allow), unless listed in UNSUPPRESSIBLE
    PROOF = "proof"
    LOCK = "lock"


@dataclass(frozen=True)
class Code:
    code: str
    name: str  # a short kebab-case name (SARIF's rule name)
    severity: Severity  # the default; a finding may carry another (MG200 allowed: a warning)
    fixable: bool  # `lint --fix` rewrites the statement
    description: str  # Markdown, as the README's table shows it
    kind: Kind


_E, _W, _I = Severity.ERROR, Severity.WARNING, Severity.INFO
_M, _L, _P, _K = Kind.MANIFEST, Kind.LINT, Kind.PROOF, Kind.LOCK

CODES: dict[str, Code] = {c.code: c for c in (
    Code("MF001", "manifest-unreadable", _E, False, "the manifest is not valid TOML / not readable / not UTF-8", _M),
    Code("MF002", "manifest-unknown-key", _E, False, "an unknown key", _M),
    Code("MF003", "manifest-bad-value", _E, False,
         "a missing or mistyped value (a ledger name SQLite reserves; a database file the runtime could not "
         "tell from another's: a session pattern that matches another database's file)", _M),
    Code("MF004", "manifest-unknown-database", _E, False, "a migration names an unknown database", _M),
    Code("MF005", "manifest-bad-file-name", _E, False, "a file name not of the form `NNN_snake_case.sql`", _M),
    Code("MF006", "manifest-missing-file", _E, False,
         "a listed file (or the migrations folder) does not exist", _M),
    Code("MF007", "manifest-numbering", _E, False,
         "duplicate or missing migration numbers, or the number 000", _M),
    Code("MF008", "manifest-path-escape", _E, False,
         "a path that leaves the migrations folder, the project, or the data dir (or a generated file's path "
         "that is another output's, or a `{session_id}` in a folder name)", _M),
    Code("MF009", "manifest-unlisted-file", _E, False,
         "a `.sql` file in the migrations folder that the manifest does not list", _M),
    Code("MF010", "output-unwritable", _E, False,
         "a generated file cannot be written (its folder is a file, no permission)", _M),
    Code("MG000", "bad-suppression", _E, False, "a suppression (`noqa` or `allow`) without a reason", _L),
    Code("MG001", "create-table-guard", _E, True, "`CREATE TABLE` without `IF NOT EXISTS`", _L),
    Code("MG002", "create-index-guard", _E, True, "`CREATE [UNIQUE] INDEX` without `IF NOT EXISTS`", _L),
    Code("MG003", "create-object-guard", _E, True,
         "`CREATE VIEW / TRIGGER / VIRTUAL TABLE` without `IF NOT EXISTS`", _L),
    Code("MG004", "add-column-guard", _E, True, "`ALTER TABLE ... ADD COLUMN` without `IF NOT EXISTS`", _L),
    Code("MG005", "drop-guard", _E, True, "`DROP TABLE / INDEX / VIEW / TRIGGER` without `IF EXISTS`", _L),
    Code("MG006", "insert-guard", _E, False,
         "`INSERT` without `OR IGNORE`, `OR REPLACE` or `ON CONFLICT DO NOTHING`", _L),
    Code("MG007", "rename", _E, False, "`ALTER TABLE ... RENAME` (cannot run twice)", _L),
    Code("MG008", "outside-transaction", _E, False,
         "a statement that cannot run inside the migration's transaction (`BEGIN`, `COMMIT`, `VACUUM`, "
         "`ATTACH`, `PRAGMA journal_mode`, ...)", _L),
    Code("MG009", "foreign-keys-pragma", _I, False,
         "`PRAGMA foreign_keys` (info: the runtime runs the migration with foreign keys off when SQLite reads "
         "one of its values as off)", _L),
    Code("MG010", "destructive", _E, False,
         "`DROP TABLE` / `DROP COLUMN` of something an earlier migration created (`main.` and `temp.` and TEMP "
         "tables of the same name resolved as SQLite resolves them)", _L),
    Code("MG100", "syntax-error", _E, False,
         "SQLite rejects the statement: it does not parse (each statement judged alone), or, with a manifest, "
         "it names a table or column its earlier migrations do not give", _L),
    Code("MG200", "not-idempotent", _E, False,
         "the proof: a second run of the migration fails or changes the schema or rows", _P),
    Code("MG201", "fails-on-rows", _E, False,
         "the proof on data: a statement fails on a database whose tables hold rows", _P),
    Code("MG202", "new-unique-key", _W, False,
         "warning: a UNIQUE index or constraint new on a table an earlier migration made", _P),
    Code("MG203", "rows-lost", _E, False,
         "the proof on data: a table holds fewer rows after the migration, and no DELETE of it names it (an "
         "`INSERT OR IGNORE` copy that skips the rows a rebuilt table refuses, a cascade)", _P),
    Code("MG210", "heal-crash-point", _W, False,
         "the heal proof: a crash of the original runner after this statement (as left, or after its next "
         "start) is refused by the heal or left with rows the original runner inserted twice (warning: "
         "`cortex db repair` is the way), or healed to another schema or with rows lost (error)", _P),
    Code("MG300", "lock-unreadable", _E, False, "the lock cannot be read or has a malformed line", _K),
    Code("MG301", "lock-number-conflict", _E, False,
         "two branches added the same number: conflict markers left in the lock, a version locked twice, or a "
         "version locked under another file", _K),
    Code("MG302", "locked-migration-changed", _E, False,
         "a locked migration changed meaning: refused, \"create a new migration instead\"", _K),
    Code("MG303", "locked-migration-cosmetic-edit", _W, False,
         "warning: a locked migration changed only comments, whitespace, line endings or its file name; the "
         "build updates its line", _K),
    Code("MG304", "locked-migration-missing", _E, False,
         "a locked migration is gone from the manifest (shipped migrations are never deleted)", _K),
    Code("MG305", "stale-generated-file", _E, False, "`check`: a generated file is out of date", _K),
    Code("MG306", "locked-migration-moved", _E, False,
         "a locked migration is listed under another database than it was locked for (at its manifest line): "
         "every database that applied it would refuse to start; put it back and add a new migration to the "
         "other database", _K),
)}

LINT_CODES = frozenset(code for code, entry in CODES.items() if entry.kind is Kind.LINT)
#: Codes a `noqa` or an `allow` may name: the lint's, and the proof-on-data findings (datawalk.py).
ALLOWABLE = LINT_CODES | {"MG201", "MG202", "MG203"}
#: Lint codes no reason can suppress: a bad suppression, a statement SQLite cannot run.
UNSUPPRESSIBLE = frozenset({"MG000", "MG100"})
FIXABLE = frozenset(code for code, entry in CODES.items() if entry.fixable)


def severity(code: str) -> Severity:
    return CODES[code].severity
