"""A scratch database in the runtime's conditions, for the proof to run migrations on.

What the runtime does around a migration (cortexdb/_apply.py), this does too, with the
runtime's own code wherever the runtime has it: foreign keys on, or off around the
transaction of a `foreign_keys_off` migration with `PRAGMA foreign_key_check` before commit;
the ledger table made by `create_ledger_statement` in the first migration's transaction;
the steps run by `execute_steps`; the ledger row and fingerprint written by `record` in the
migration's transaction. So a statement that reads or writes the ledger, or that behaves
differently with foreign keys on, meets here what it meets in production.

SQLite's authorizer tells which tables a statement touches: every write it compiles is
reported, a trigger's and a foreign key action's included, so the proof knows which
tables' rows a run can have changed without reading every table.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from cortexdb._contract import (
    RawStep,
    SchemaRow,
    Step,
    create_ledger_statement,
    execute_steps,
    exists_query,
    fingerprint,
    name_key,
    quote_identifier,
    read_schema,
    record,
)

# Actions whose table (argument 1, or 2 where SQLite puts it there) may have changed rows.
_WRITES = {sqlite3.SQLITE_INSERT: 1, sqlite3.SQLITE_UPDATE: 1, sqlite3.SQLITE_DELETE: 1,
           sqlite3.SQLITE_DROP_TABLE: 1, sqlite3.SQLITE_CREATE_TABLE: 1, sqlite3.SQLITE_ALTER_TABLE: 2,
           sqlite3.SQLITE_CREATE_INDEX: 2, sqlite3.SQLITE_DROP_INDEX: 2, sqlite3.SQLITE_CREATE_VTABLE: 1,
           sqlite3.SQLITE_DROP_VTABLE: 1}
_READ = sqlite3.SQLITE_READ


@dataclass(frozen=True)
class Failure:
    """A statement SQLite refused: its line, SQLite's reason, and the tables it works on (as
    SQLite's authorizer named them, the ones it writes first) that held rows when it ran
    (all of them when none did; only when the failures were collected)."""

    line: int
    reason: str
    tables: tuple[str, ...] = ()


@dataclass(frozen=True)
class Migration:
    """What the scratch database needs of one migration (the proof's ProofInput has it)."""

    version: int
    description: str
    checksum: str
    steps: tuple[RawStep, ...]
    foreign_keys_off: bool


@dataclass
class _Touched:
    """The tables of `main` the statements prepared since the last `clear` write and read."""

    written: list[str] = field(default_factory=list)
    read: list[str] = field(default_factory=list)
    written_in_run: set[str] = field(default_factory=set)  # name_key of every table written since run() began
    reads: bool = False  # record reads too (to name a refused statement's tables; SQLite asks per column)

    def __call__(self, action: int, first: str | None, second: str | None, database: str | None,
                 _trigger: str | None) -> int:
        where = _WRITES.get(action)
        if where is not None:
            name = first if where == 1 else second
            if name is not None and database == "main":
                self.written.append(name)
                self.written_in_run.add(name_key(name))
        elif action == _READ and self.reads and first is not None and database == "main":
            self.read.append(first)
        return sqlite3.SQLITE_OK

    def clear(self) -> None:
        self.written.clear()
        self.read.clear()

    def tables(self, *, reads: bool = True) -> tuple[str, ...]:
        """The tables touched (written ones first), each once, SQLite's own left out."""
        seen: dict[str, str] = {}
        for name in [*self.written, *(self.read if reads else [])]:
            if not name_key(name).startswith("sqlite_"):
                seen.setdefault(name_key(name), name)
        return tuple(seen.values())


class Scratch:
    """One in-memory database walking one database's migrations."""

    def __init__(self, ledger: str, database: str, *, watch: bool = True) -> None:
        self.ledger = ledger
        self.database = database
        # No statement cache: the authorizer speaks when a statement is prepared, and a second
        # run's statements must be prepared again for it to say what they write.
        self.conn = sqlite3.connect(":memory:", isolation_level=None, cached_statements=0)
        # The proof never touches the disk: no ATTACH of a file (it works inside a transaction).
        self.conn.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        self.conn.execute("PRAGMA foreign_keys=ON")  # as the runtime opens every connection
        self.applied: list[tuple[int, str]] = []
        # `watch`: on for good (a callback per table a statement names costs little beside the
        # statement); else only while a migration runs statement by statement to list failures.
        self.touched = _Touched()
        self.watch = watch
        if watch:
            self.conn.set_authorizer(self.touched)
        self._schema: tuple[SchemaRow, ...] = ()
        self._schema_at = -1  # schema_version when _schema was read

    def close(self) -> None:
        self.conn.close()

    def copy_from(self, other: Scratch) -> None:
        """Make this database a copy of `other` (both outside a transaction)."""
        other.conn.backup(self.conn)
        self.applied = list(other.applied)
        self._schema_at = -1

    def apply(self, migration: Migration) -> list[Failure]:
        """The migration's first run, committed with its ledger row as the runtime commits it.

        Every statement SQLite refuses is returned, not only the first: when one fails, the
        migration runs again with each statement in a savepoint, and what the others did is
        committed (without a ledger row), so the walk goes on from as much as the migration did.
        """
        failures = self.run(migration, keep_open=True, collect=False)
        if failures:
            failures = self.run(migration, keep_open=True, collect=True)
            self.end(migration, commit=True)
            return failures
        self.applied.append((migration.version, migration.checksum))
        value = fingerprint(self.ledger, self.database, sorted(self.applied))
        for statement, parameters in record(self.ledger, migration, value):
            self.conn.execute(statement, parameters)
        self.end(migration, commit=True)
        return []

    def run(self, migration: Migration, *, keep_open: bool, collect: bool,
            on_step: Callable[[Step], None] | None = None) -> list[Failure]:
        """Run the steps in a transaction (foreign keys as the migration wants them).

        Without `collect`, the first refused statement rolls everything back and is the one
        failure returned. With it, each statement runs in a savepoint and every refused one is
        returned. With `keep_open`, the transaction stays open for `end` (also after failures
        when `collect`). `on_step` is called after each step that ran.
        """
        self.touched.written_in_run.clear()
        self.touched.reads = collect
        if collect and not self.watch:
            self.conn.set_authorizer(self.touched)
        try:
            return self._run(migration, keep_open=keep_open, collect=collect, on_step=on_step)
        finally:
            if collect and not self.watch:
                self.conn.set_authorizer(None)

    def _run(self, migration: Migration, *, keep_open: bool, collect: bool,
             on_step: Callable[[Step], None] | None) -> list[Failure]:
        if migration.foreign_keys_off:
            self.conn.execute("PRAGMA foreign_keys=OFF")
        self.conn.execute("BEGIN IMMEDIATE")
        if not self.applied and not self._ledger_exists():  # as the runtime: in the first migration's transaction
            self.conn.execute(create_ledger_statement(self.ledger))
        failures: list[Failure] = []
        for raw in migration.steps:
            step = Step(raw)
            if collect:
                self.conn.execute("SAVEPOINT cortexdb_step")
            self.touched.clear()
            try:
                execute_steps(self.conn, [raw])
            except sqlite3.Error as exc:
                if not collect:
                    failures.append(Failure(step.line, str(exc)))
                    break
                self.conn.execute("ROLLBACK TO cortexdb_step")
                tables = self.touched.tables()
                failures.append(Failure(step.line, str(exc), tuple(t for t in tables if self._has_rows(t)) or tables))
            if not self.conn.in_transaction:  # COMMIT, END or ROLLBACK in the migration (MG008)
                failures.append(Failure(step.line, "it ends the migration's transaction; the runtime owns "
                                        "transactions"))
                self.conn.execute("BEGIN")
                if not collect:
                    break
            elif collect:
                self.conn.execute("RELEASE cortexdb_step")
            if on_step is not None:
                on_step(step)
        if migration.foreign_keys_off and (not failures or collect):
            violation = self.conn.execute("PRAGMA foreign_key_check").fetchone()
            if violation is not None:
                last = Step(migration.steps[-1]).line if migration.steps else 1
                failures.append(Failure(last, f"foreign key violation in table {violation[0]!r} after the "
                                        "migration", (str(violation[0]),)))
        if (failures and not collect) or not keep_open:
            self.end(migration, commit=not failures)
        return failures

    def end(self, migration: Migration, *, commit: bool) -> None:
        """End the open transaction and set foreign keys back on."""
        self.conn.execute("COMMIT" if commit else "ROLLBACK")
        if migration.foreign_keys_off:
            self.conn.execute("PRAGMA foreign_keys=ON")

    def schema(self) -> tuple[SchemaRow, ...]:
        """`read_schema` of the database, read again only when `schema_version` moved."""
        version = self.schema_version()
        if version != self._schema_at:
            self._schema, self._schema_at = read_schema(self.conn, self.ledger), version
        return self._schema

    def same_schema(self, schema: tuple[SchemaRow, ...]) -> None:
        """The schema now equals `schema` (compared by the caller): keep using that object."""
        self._schema, self._schema_at = schema, self.schema_version()

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA schema_version").fetchone()[0])

    def rows_digest(self, table: str) -> str | None:
        """A content hash of the table's rows in any order; None when there is no such table."""
        try:
            rows = self.conn.execute(f"SELECT * FROM {quote_identifier(table)}").fetchall()
        except sqlite3.Error:
            return None
        return hashlib.sha256("\0".join(sorted(map(repr, rows))).encode()).hexdigest()

    def _has_rows(self, table: str) -> bool:
        try:
            return self.conn.execute(f"SELECT 1 FROM {quote_identifier(table)} LIMIT 1").fetchone() is not None
        except sqlite3.Error:
            return False

    def _ledger_exists(self) -> bool:
        return self.conn.execute(exists_query(self.ledger)).fetchone() is not None
