"""`repair`: bring a drifted schema back to the proven one, or realign a ledger after `generator unlock`.

Pure: from a database's snapshot (ledger and live schema) and the build, the statements to run
in one transaction (with foreign keys off), or the refusal. SQLite is the judge of every
definition: table columns are read by creating the live and the proven definitions on
`:memory:`, and the rows a rebuild would copy are tried against the proven table there first.

A table that differs is rebuilt by SQLite's procedure for changes ALTER TABLE cannot make
(https://www.sqlite.org/lang_altertable.html#otheralter: foreign keys off, one transaction, the
rows copied, indexes and triggers made again, `foreign_key_check` before commit), with no
RENAME: the rows are copied aside, the table dropped and created again from the proven text,
and the rows copied back. A RENAME would leave drift or break references: renaming the new
table into place stores `CREATE TABLE "t" (...)`, not the proven text; renaming the old one
aside rewrites every foreign key, trigger and view that names it (unless
`legacy_alter_table=ON`, which sqld refuses). Copying twice costs time, never a reference.
"""

from __future__ import annotations

import sqlite3

from ._baseline import schema_after
from ._contract import execute_steps, fingerprint, quote_identifier, user_version_statement
from ._errors import OperationRefusedError
from ._inspect import compare_schema
from ._plan import make_plan

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence
    from typing import Any

    from ._apply import Record
    from ._catalog import DatabaseSpec, Migration
    from ._contract import SchemaRow
    from ._inspect import Snapshot

    #: Reads the rows of one live table: (rowid, None without one; the values of the given columns).
    ReadRows = Callable[[str, Sequence[str]], Sequence[tuple[int | None, Sequence[Any]]]]

ASIDE_PREFIX = "__cortexdb_repair_"
SHOWN_ROWS = 5


class RepairWork:
    """What makes one database the build's: schema statements, then the ledger's updates."""

    __slots__ = ("realigned", "record", "statements")

    def __init__(self, statements: list[str], record: Record, realigned: list[int]) -> None:
        self.statements = statements  # in order, in one transaction with foreign keys off
        self.record = record  # ledger checksums realigned, then the fingerprint
        self.realigned = realigned  # the versions whose checksum becomes this build's


def repair_work(spec: DatabaseSpec, ledger: str, snapshot: Snapshot, read_rows: ReadRows | None,
                source: str) -> RepairWork | None:
    """What makes the database what this build proves for its ledger; None when it already is.

    With nothing pending that is the build's final schema; with migrations pending (a data dir
    the original runner half-applied, which `migrate` refuses to heal), the schema the recorded
    migrations prove, computed from their steps on `:memory:`, so that `migrate` can then apply
    the rest. Refusals raised."""
    plan = make_plan(spec, snapshot.ledger)
    refusal = plan.refusal(snapshot.location) if plan.unknown else None
    if refusal is not None:
        raise refusal
    recorded = sorted([*plan.applied, *(migration for migration, _ in plan.changed)], key=lambda m: m.version)
    made: set[tuple[str, str]] = set()  # every object the recorded migrations make on the way
    proven = _proven_for(recorded, ledger, source, snapshot.location, made)
    if not plan.pending:
        proven = spec.schema
    assert snapshot.schema is not None
    statements = schema_statements(proven, snapshot.schema, snapshot.location, read_rows, made)
    record: Record = []
    if plan.changed:
        if statements:
            raise OperationRefusedError(
                snapshot.location,
                f"migration {plan.changed[0][0].label} was changed after it was applied and the schema is not "
                "the one this build proves: the ledger is realigned only for a schema that already is",
            )
        record = [(f"UPDATE {quote_identifier(ledger)} SET checksum = ? WHERE version = ?",
                   (migration.checksum, migration.version)) for migration, _ in plan.changed]
    if not statements and not record:
        return None
    # As `migrate` writes it after the last of these migrations: the next start is fast, or applies the rest.
    value = fingerprint(ledger, spec.name, [m.ledger_key for m in recorded])
    record = [*record, (user_version_statement(value), ())]
    return RepairWork(statements, record, [migration.version for migration, _ in plan.changed])


def _proven_for(recorded: list[Migration], ledger: str, source: str, location: str,
                made: set[tuple[str, str]]) -> tuple[SchemaRow, ...]:
    """The schema the recorded migrations prove, in version order, as SQLite leaves it."""
    try:
        return schema_after(recorded, ledger, source, made)
    except sqlite3.Error as error:
        raise OperationRefusedError(
            location,
            f"the migrations the ledger records do not run without the ones it lacks ({error}): "
            "restore a backup (`cortex db restore`) or repair the ledger by hand",
        ) from None


def schema_statements(
    proven: Sequence[SchemaRow], live: Sequence[SchemaRow], location: str, read_rows: ReadRows | None,
    made: Collection[tuple[str, str]] = (),
) -> list[str]:
    """What turns `live` into `proven`: tables rebuilt or created, indexes, triggers and views
    created or replaced, and dropped where the migrations `made` them and a later one dropped
    them (a crash left the old unique index that a later migration replaced). Other objects only
    the live schema has (the application's own; a table, which holds rows) are left as they are."""
    missing, extra, different = compare_schema(proven, live)
    gone = [(kind, name) for kind, name in extra if kind in ("index", "trigger", "view") and (kind, name) in made]
    retired = [f"DROP {kind.upper()} IF EXISTS {quote_identifier(name)}" for kind, name in gone]
    want = {(row[0], row[1]): row for row in proven}
    have = {(row[0], row[1]): row for row in live}
    rebuilt = [name for kind, name in different if kind == "table"]
    for name in rebuilt:
        if _is_virtual(want[("table", name)]) or _is_virtual(have[("table", name)]):
            raise OperationRefusedError(location, f"virtual table {name} differs from the proven one: "
                                                  "rebuild it by hand (its content lives in its module)")
    statements: list[str] = []
    for name in rebuilt:
        indexes = [_sql(row) for row in proven if row[0] == "index" and row[2] == name and row[3]]
        statements += _rebuild(want[("table", name)], have[("table", name)], indexes, location, read_rows)
    statements += [_sql(want[key]) for key in missing if key[0] == "table"]
    # Indexes and triggers of a rebuilt table went with the old one: all of them are made again,
    # the live schema's own ones too (by their live definition: repair removes nothing).
    again = [key for key, row in want.items() if key[0] in ("index", "trigger") and row[2] in rebuilt]
    again += [key for key, row in have.items() if key not in want and key not in gone and row[2] in rebuilt and row[3]]
    for key in sorted(set(missing) | set(different) | set(again)):
        kind, name = key
        if kind == "table":
            continue
        if key in have and key not in again:
            statements.append(f"DROP {kind.upper()} IF EXISTS {quote_identifier(name)}")
        statements.append(_sql(want.get(key) or have[key]))
    return retired + statements


def _rebuild(proven: SchemaRow, live: SchemaRow, indexes: list[str], location: str,
             read_rows: ReadRows | None) -> list[str]:
    name = proven[1]
    aside = quote_identifier(ASIDE_PREFIX + name)
    new_columns, old_columns = _columns(_sql(proven)), _columns(_sql(live))
    kept = [column for column in new_columns if column in old_columns]
    if read_rows is not None:
        _check_rows(proven, indexes, kept, read_rows(name, kept), location)
    listed = ", ".join(quote_identifier(column) for column in kept)
    return [
        f"CREATE TABLE {aside} AS SELECT {listed} FROM {quote_identifier(name)}",
        f"DROP TABLE {quote_identifier(name)}",
        _sql(proven),
        f"INSERT INTO {quote_identifier(name)} ({listed}) SELECT {listed} FROM {aside}",
        f"DROP TABLE {aside}",
    ]


def _columns(create_table: str) -> list[str]:
    """The stored columns of a table definition, as SQLite reads it (generated ones left out)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(create_table)
        name = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        rows = conn.execute("SELECT name, hidden FROM pragma_table_xinfo(?)", (name,)).fetchall()
        return [str(column) for column, hidden in rows if hidden == 0]
    finally:
        conn.close()


def _check_rows(proven: SchemaRow, indexes: list[str], kept: list[str],
                rows: Sequence[tuple[int | None, Sequence[Any]]], location: str) -> None:
    """Refuse, naming the rows, when rows of the live table break the proven table's constraints
    (NOT NULL, CHECK, UNIQUE, types of a STRICT table): each is tried on `:memory:` first."""
    conn = sqlite3.connect(":memory:", isolation_level=None)
    failures: list[str] = []
    try:
        execute_steps(conn, [("sql", 1, sql) for sql in (_sql(proven), *indexes)])
        listed = ", ".join(quote_identifier(column) for column in kept)
        insert = f"INSERT INTO {quote_identifier(proven[1])} ({listed}) VALUES ({', '.join('?' * len(kept))})"
        for number, (rowid, values) in enumerate(rows, 1):
            try:
                conn.execute(insert, tuple(values))
            except sqlite3.IntegrityError as error:
                failures.append(f"{'rowid ' + str(rowid) if rowid is not None else 'row ' + str(number)} ({error})")
    finally:
        conn.close()
    if failures:
        more = f" and {len(failures) - SHOWN_ROWS} more" if len(failures) > SHOWN_ROWS else ""
        raise OperationRefusedError(
            location,
            f"table {proven[1]} cannot be rebuilt to its proven definition: {len(failures)} row(s) would violate "
            f"it: {', '.join(failures[:SHOWN_ROWS])}{more}; fix or delete those rows, then run repair again",
        )


def _is_virtual(row: SchemaRow) -> bool:
    return (row[3] or "").lstrip()[:20].upper().replace(" ", "").startswith("CREATEVIRTUAL")


def _sql(row: SchemaRow) -> str:
    assert row[3] is not None, row
    return row[3]
