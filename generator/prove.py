"""The proof: every migration, run twice in a row on a scratch database, must leave what one run left.

One in-memory database (scratch.py: the runtime's conditions, the ledger table and the
runtime's step executor included) walks the migrations of one database: each runs and
commits, then runs again, and the second run must change nothing in the whole database:
neither any object in `sqlite_master` nor the rows of any table. SQLite itself judges every
statement here, so a statement it rejects is an error at its line even when sqlglot parsed
it; every refused statement is reported, and the walk goes on with the next migration.

A second walk runs the same migrations on a database whose tables hold synthetic rows
(datawalk.py): a statement that fails only there is MG201.
"""

from __future__ import annotations

from collections.abc import Sequence

from cortexdb._contract import RawStep, SchemaRow, Step, name_key, read_schema, shown_version

from .diagnostics import Diagnostic, Severity
from .proofinput import ProofInput
from .scratch import Failure, Scratch
from .tables import TableIndex


def prove_database(migrations: Sequence[ProofInput], ledger: str, database: str = ""
                   ) -> tuple[tuple[SchemaRow, ...], list[Diagnostic], int]:
    """One database's walks: its final schema, its findings, how many migrations passed.

    Each migration runs and commits, then runs a second time; a second run that changed
    something is rolled back, so the walk goes on from the state one run of each leaves,
    even after a finding, and no copy of the database is needed (SQLite's ALTER TABLE re-reads
    the whole schema, so a second copy would double the dominant cost). (A build proves each
    database where it compiles it: see workers.py.)
    """
    from .datawalk import DataWalk

    diagnostics: list[Diagnostic] = []
    proven = 0
    # After a statement SQLite refuses, later migrations are still run and their findings
    # reported, but not counted as proven: they ran on a state production never has.
    intact = True
    empty = _EmptyWalk(Scratch(ledger, database))
    data = DataWalk(Scratch(ledger, database))  # watched: MG203 counts the tables it saw written
    try:
        for migration in migrations:
            failures = empty.first_run(migration)
            diagnostics += [Diagnostic(migration.path, f.line, 1, "MG100", f"SQLite rejects this statement: {f.reason}")
                            for f in failures]
            intact = intact and not failures
            if not failures:
                found = empty.second_run(migration)
                diagnostics += [_not_idempotent(migration, line, message) for line, message in found]
                proven += intact and (not found or migration.allowed is not None)
            diagnostics += data.step(migration, {f.line for f in failures}, empty.scratch)
        return empty.scratch.schema(), diagnostics, proven
    finally:
        empty.scratch.close()
        data.close()


def _not_idempotent(migration: ProofInput, line: int, message: str) -> Diagnostic:
    if migration.allowed is not None:
        return Diagnostic(migration.path, line, 1, "MG200",
                          f"{message}; allowed ({migration.allowed}): it relies on running exactly "
                          "once inside its transaction", Severity.WARNING)
    return Diagnostic(migration.path, line, 1, "MG200",
                      f"migration {shown_version(migration.version)} is not idempotent: {message}; guard "
                      "the statement so a second run changes nothing")


class _EmptyWalk:
    """The walk on the empty database, with a content hash of every table's rows kept up to
    date: after a first run, only the tables SQLite's authorizer saw it write (a trigger's and
    a foreign key action's writes included) and the new ones are hashed again, so comparing
    the whole database after a second run costs what the run wrote, not what the database holds."""

    def __init__(self, scratch: Scratch) -> None:
        self.scratch = scratch
        self.digests: dict[str, str | None] = {}  # name_key of a table -> hash of its rows
        self.index = TableIndex()  # the tables the digests are of

    def first_run(self, proof: ProofInput) -> list[Failure]:
        failures = self.scratch.apply(proof.migration)
        changed = self.index.update(self.scratch.schema())
        for key in changed - set(self.index.tables):
            self.digests.pop(key, None)
        stale = self._written(changed | self.scratch.touched.written_in_run)
        self.digests.update((key, self.scratch.rows_digest(name)) for key, name in stale.items())
        return failures

    def _written(self, keys: set[str]) -> dict[str, str]:
        """name_key -> name of the tables whose rows a run that wrote the tables `keys` may have
        changed: those, the shadow tables of the virtual ones among them, the ledger and
        sqlite_sequence (AUTOINCREMENT's counters)."""
        tables = self.index.tables
        found = {key: tables[key][0] for key in keys if key in tables}
        prefixes = tuple(key + "_" for key in keys & self.index.virtual)
        if prefixes:
            found.update((key, name) for key, (name, _sql) in tables.items() if key.startswith(prefixes))
        found.update((name_key(name), name) for name in (self.scratch.ledger, "sqlite_sequence"))
        return found

    def second_run(self, proof: ProofInput) -> list[tuple[int, str]]:
        """Run the migration again; (line, finding) for each thing it changed, [] when nothing.

        The common case costs two pragma reads beside the run: a second run that changes no
        schema leaves `schema_version` alone, and one that changes no row leaves `total_changes`
        alone (a trigger's and a foreign key action's changes count too). Otherwise the whole
        schema and the rows of every table the run wrote are compared with what one run left.
        A second run that changed something is rolled back; one that changed nothing is
        committed (rolling back a schema change makes SQLite re-read the whole schema).
        """
        scratch, migration = self.scratch, proof.migration
        schema = scratch.schema()
        version, changes = scratch.schema_version(), scratch.conn.total_changes
        written: list[tuple[int, set[str]]] = []

        def note(step: Step) -> None:
            written.append((step.line, {name_key(t) for t in scratch.touched.tables(reads=False)}))

        failures = scratch.run(migration, keep_open=True, collect=False, on_step=note)
        if failures:  # rolled back. (Only the first: the later ones mostly fail because of it.)
            return [(failures[0].line, f"its second run fails: {failures[0].reason}")]
        finding: tuple[int, str] | None = None
        if scratch.schema_version() != version:
            again = read_schema(scratch.conn, scratch.ledger)
            if again != schema:
                finding = (_culprit(migration.steps, schema, again),
                           f"its second run {_describe_difference(schema, again)}")
            else:
                scratch.same_schema(schema)
        if finding is None and scratch.conn.total_changes != changes:
            tables = self._written(scratch.touched.written_in_run)
            changed = sorted(name for key, name in tables.items() if scratch.rows_digest(name) != self.digests.get(key))
            if changed:
                keys = {name_key(t) for t in changed}
                line = next((line for line, touched in written if touched & keys), Step(migration.steps[0]).line)
                finding = line, f"its second run changes the rows of {', '.join(changed)}"
        scratch.end(migration, commit=finding is None)
        return [] if finding is None else [finding]


def _describe_difference(before: Sequence[SchemaRow], after: Sequence[SchemaRow]) -> str:
    first = {(r[0], r[1]): r for r in before}
    second = {(r[0], r[1]): r for r in after}
    changes = [f"adds {k} {n}" for (k, n) in sorted(second.keys() - first.keys())]
    changes += [f"removes {k} {n}" for (k, n) in sorted(first.keys() - second.keys())]
    changes += [f"changes {k} {n}" for (k, n) in sorted(first.keys() & second.keys())
                if first[(k, n)] != second[(k, n)]]
    return ", ".join(changes) or "reorders the schema"


def _culprit(steps: Sequence[RawStep], before: Sequence[SchemaRow], after: Sequence[SchemaRow]) -> int:
    """The line of the first statement that names an object the second run changed."""
    changed = {r[1].lower() for r in set(before) ^ set(after)}
    for raw in steps:
        step = Step(raw)
        if any(name in step.sql.lower() for name in changed):
            return int(step.line)
    return int(Step(steps[0]).line) if steps else 1
