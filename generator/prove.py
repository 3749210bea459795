"""The proof: every migration, run twice in a row on a scratch database, must leave what one run left.

One in-memory database walks the migrations of one database: each runs and commits, then runs
again, and the second run must change neither the schema of what the migration names nor the
row counts of its tables. SQLite itself judges every statement here, so a statement it rejects
is an error at its line even when sqlglot parsed it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cortexdb._contract import SchemaRow, execute_steps, quote_identifier, read_schema

from .compile import FOREIGN_KEYS_OFF
from .diagnostics import Diagnostic, Severity


@dataclass(frozen=True)
class ProofInput:
    version: int
    path: str  # as shown in diagnostics
    steps: tuple[tuple[object, ...], ...]
    flags: tuple[str, ...]
    allowed: str | None  # reason when the migration's findings are allowed: it relies on running once


@dataclass(frozen=True)
class ProofResult:
    schemas: Mapping[str, tuple[SchemaRow, ...]]
    diagnostics: list[Diagnostic]
    proven: int  # migrations that passed


class _StepFailed(Exception):
    def __init__(self, line: int, error: sqlite3.Error) -> None:
        super().__init__(str(error))
        self.line = line


def _connect() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    # The proof never touches the disk: no ATTACH of a file (it works inside a transaction).
    conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def run_migration(conn: sqlite3.Connection, migration: ProofInput, *, keep_open: bool = False) -> None:
    """Apply one migration in its own transaction, as the runtime does; raise _StepFailed.

    With `keep_open`, a run that succeeds leaves its transaction open (and foreign keys as
    the migration wants them) for `end_open_run` to undo.
    """
    foreign_keys_off = FOREIGN_KEYS_OFF in migration.flags
    if foreign_keys_off:
        conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("BEGIN IMMEDIATE")
    try:
        for step in migration.steps:
            try:
                execute_steps(conn, [step])
            except sqlite3.Error as exc:
                raise _StepFailed(int(str(step[1])), exc) from None
            if not conn.in_transaction:  # COMMIT, END or ROLLBACK in the migration (MG008)
                conn.execute("BEGIN")  # so that the ROLLBACK below has something to end
                raise _StepFailed(int(str(step[1])), sqlite3.OperationalError(
                    "it ends the migration's transaction; the runtime owns transactions"))
        if foreign_keys_off:
            violation = conn.execute("PRAGMA foreign_key_check").fetchone()
            if violation is not None:
                last = int(str(migration.steps[-1][1])) if migration.steps else 1
                raise _StepFailed(last, sqlite3.IntegrityError(
                    f"foreign key violation in table {violation[0]!r} after the migration"))
        if keep_open:
            return
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        if foreign_keys_off:
            conn.execute("PRAGMA foreign_keys=ON")
        raise
    if foreign_keys_off:
        conn.execute("PRAGMA foreign_keys=ON")


def end_open_run(conn: sqlite3.Connection, migration: ProofInput) -> None:
    """Roll back a run left open by `run_migration(..., keep_open=True)`."""
    conn.execute("ROLLBACK")
    if FOREIGN_KEYS_OFF in migration.flags:
        conn.execute("PRAGMA foreign_keys=ON")


def _row_counts(conn: sqlite3.Connection, schema: Sequence[SchemaRow]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, name, _table, sql in schema:
        if kind == "table" and sql and not sql.upper().startswith("CREATE VIRTUAL"):
            counts[name] = conn.execute(f"SELECT count(*) FROM {quote_identifier(name)}").fetchone()[0]
    return counts


def _describe_difference(before: Sequence[SchemaRow], after: Sequence[SchemaRow]) -> str:
    first = {(r[0], r[1]): r for r in before}
    second = {(r[0], r[1]): r for r in after}
    changes = [f"adds {k} {n}" for (k, n) in sorted(second.keys() - first.keys())]
    changes += [f"removes {k} {n}" for (k, n) in sorted(first.keys() - second.keys())]
    changes += [f"changes {k} {n}" for (k, n) in sorted(first.keys() & second.keys())
                if first[(k, n)] != second[(k, n)]]
    return ", ".join(changes) or "reorders the schema"


def _culprit(migration: ProofInput, before: Sequence[SchemaRow], after: Sequence[SchemaRow]) -> int:
    """The line of the first statement that names an object the second run changed."""
    changed = {r[1].lower() for r in set(before) ^ set(after)}
    for step in migration.steps:
        text = str(step[2]).lower()
        if any(name in text for name in changed):
            return int(str(step[1]))
    return int(str(migration.steps[0][1])) if migration.steps else 1


def prove(databases: Mapping[str, Sequence[ProofInput]], ledger: str) -> ProofResult:
    """Prove every database's migrations, one after the other; collect every finding instead
    of stopping at one. (A build proves each database where it compiles it: see workers.py.)
    """
    names = sorted(databases)
    results = [prove_database(databases[name], ledger) for name in names]
    return ProofResult(
        schemas={name: schema for name, (schema, _found, _proven) in zip(names, results, strict=True)},
        diagnostics=[d for _schema, found, _proven in results for d in found],
        proven=sum(proven for _schema, _found, proven in results),
    )


def prove_database(migrations: Sequence[ProofInput], ledger: str
                   ) -> tuple[tuple[SchemaRow, ...], list[Diagnostic], int]:
    """One database's walk: its final schema, its findings, how many migrations passed.

    One scratch database walks the migrations: each runs and commits, then runs a second
    time; a second run that changed something is rolled back, so the walk goes on from the
    state one run of each leaves, even after a finding, and no copy of the database is
    needed (SQLite's ALTER TABLE re-reads the whole schema, so a second copy would double
    the dominant cost).
    """
    diagnostics: list[Diagnostic] = []
    proven = 0
    conn = _connect()
    try:
        for migration in migrations:
            try:
                run_migration(conn, migration)
            except _StepFailed as exc:
                diagnostics.append(Diagnostic(migration.path, exc.line, 1, "MG100",
                                              f"SQLite rejects this statement: {exc}"))
                break  # later migrations of this database build on this one
            finding = _second_run(conn, migration, ledger)
            if finding is None:
                proven += 1
                continue
            line, message = finding
            if migration.allowed is not None:
                diagnostics.append(Diagnostic(
                    migration.path, line, 1, "MG200",
                    f"{message}; allowed ({migration.allowed}): it relies on running exactly "
                    "once inside its transaction", Severity.WARNING))
                proven += 1
            else:
                diagnostics.append(Diagnostic(
                    migration.path, line, 1, "MG200",
                    f"migration {migration.version:03d} is not idempotent: {message}; guard "
                    "the statement so a second run changes nothing"))
        return read_schema(conn, ledger), diagnostics, proven
    finally:
        conn.close()


def _second_run(conn: sqlite3.Connection, migration: ProofInput, ledger: str) -> tuple[int, str] | None:
    """Run the migration again; the finding, or None when it changed nothing.

    The common case costs two pragma reads beside the run: a second run that changes no
    schema leaves `schema_version` alone, and one that changes no row leaves `total_changes`
    alone. Otherwise schema and rows are compared, only for what the migration's statements
    name (and what hangs off a named table): a second run can change nothing else. That
    keeps the proof linear in the number of statements. A second run that changed something
    is rolled back, so the walk goes on from the state one run leaves; one that did not is
    committed (rolling back a schema change makes SQLite re-read the whole schema).
    """
    names = _named(migration)
    schema = _schema_of(conn, names, ledger)
    counts = _row_counts(conn, schema)
    version, changes = _schema_version(conn), conn.total_changes
    try:
        run_migration(conn, migration, keep_open=True)
    except _StepFailed as exc:  # rolled back: the database is as one run left it
        return exc.line, f"its second run fails: {exc}"
    finding: tuple[int, str] | None = None
    try:
        if _schema_version(conn) != version or conn.total_changes != changes:
            finding = _compare(conn, migration, ledger, names, schema, counts)
    finally:
        if finding is None:
            conn.execute("COMMIT")
            if FOREIGN_KEYS_OFF in migration.flags:
                conn.execute("PRAGMA foreign_keys=ON")
        else:
            end_open_run(conn, migration)
    return finding


def _compare(conn: sqlite3.Connection, migration: ProofInput, ledger: str, names: str,
             schema: tuple[SchemaRow, ...], counts: dict[str, int]) -> tuple[int, str] | None:
    again = _schema_of(conn, names, ledger)
    if again != schema:
        return _culprit(migration, schema, again), f"its second run {_describe_difference(schema, again)}"
    again_counts = _row_counts(conn, again)
    grown = sorted(t for t in again_counts if again_counts[t] != counts.get(t))
    if grown:
        first_line = int(str(migration.steps[0][1])) if migration.steps else 1
        return first_line, f"its second run changes the rows of {', '.join(grown)}"
    return None


_WORD = re.compile(r'[A-Za-z_][A-Za-z0-9_$]*|"(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]')


def _named(migration: ProofInput) -> str:
    """Every identifier-like word in the migration's statements, as a JSON array (lower case)."""
    words: set[str] = set()
    for step in migration.steps:
        for word in _WORD.findall(str(step[2])):
            if word[0] in "\"`[":
                word = word[1:-1].replace('""', '"')
            words.add(word.lower())
    return json.dumps(sorted(words))


def _schema_of(conn: sqlite3.Connection, names: str, ledger: str) -> tuple[SchemaRow, ...]:
    """The schema rows of the named objects and of everything on a named table.

    This scans the whole of sqlite_master, twice per migration, so it is written for speed:
    `unlikely` makes SQLite test the few names first and the LIKE only on what matched;
    NOCASE compares as `lower(name) IN names` did (both fold ASCII letters only; `names` is
    lower case) without calling a function per row; and a row whose name is its tbl_name (a
    table, a view) needs one lookup in `names`, not two.
    """
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master "
        "WHERE unlikely(tbl_name COLLATE NOCASE IN (SELECT value FROM json_each(?)) "
        "OR (name != tbl_name AND name COLLATE NOCASE IN (SELECT value FROM json_each(?)))) "
        "AND name != ? AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY type, name",
        (names, names, ledger),
    )
    return tuple((str(r[0]), str(r[1]), str(r[2]), r[3]) for r in rows)


def _schema_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA schema_version").fetchone()[0])
