"""What a heal is checked against, and what it says when it refuses (`_heal`): the schema the
build proves (and the rebuild that puts completed columns in their proven order), the rows of
tables a rebuild renames, the foreign-key violations, and the refusal naming what differs."""

from __future__ import annotations

from ._contract import (
    RENAME,
    TRANSIENT,
    execute_steps,
    live_facts,
    name_key,
    quote_identifier,
    read_schema,
    shown_version,
    shown_versions,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from typing import Any

REPAIR = "run `cortex db repair`"


class HealRefusal(Exception):
    """What cannot be healed. `kind`: definition, data, ambiguous or failed; `objects` named."""

    def __init__(self, kind: str, message: str, objects: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.objects = tuple(objects)


class HealMigration:
    """One migration as the heal needs it: its compiled steps and its `HEAL` record."""

    __slots__ = ("file", "foreign_keys_off", "names", "records", "steps", "version")

    def __init__(self, version: int, file: str, steps: Sequence[Any], foreign_keys_off: bool,
                 record: Sequence[Any]) -> None:
        names, records = record
        if len(records) != len(steps):
            raise HealRefusal("failed", f"HEAL[{version}] does not match the migration's steps: "
                              "regenerate with `make migrations`", [file])
        self.version = version
        self.file = file
        self.steps = tuple(steps)
        self.foreign_keys_off = foreign_keys_off
        self.names = tuple(names)
        self.records = tuple(records)

    @property
    def label(self) -> str:
        return f"{shown_version(self.version)} ({self.file})"

    def line(self, index: int) -> str:
        return f"{self.file}:{self.steps[index][1]}"


def proven_schema(ledger: str, migrations: Sequence[HealMigration]) -> dict[str, tuple[str, str, str]]:
    """The schema after `migrations`, by running their steps on a scratch in-memory database:
    "type|name key" -> (name, tbl_name, SQL). Only the heal's reorder needs whole definitions."""
    import sqlite3

    scratch = sqlite3.connect(":memory:", isolation_level=None)
    try:
        scratch.execute(f"CREATE TABLE {quote_identifier(ledger)} (version INTEGER PRIMARY KEY)")
        for migration in migrations:
            execute_steps(scratch, migration.steps)
        return {f"{kind}|{name_key(name)}": (name, table, sql or "")
                for kind, name, table, sql in read_schema(scratch, ledger)}
    finally:
        scratch.close()


def reorder(conn: Any, ledger: str, schema: Mapping[str, tuple[str, str]],
             proven: Mapping[str, tuple[str, str, str]]) -> None:
    """Rebuild each table whose columns are the proven ones in another order to its proven
    definition (foreign keys are off): rows kept with their rowids, then its indexes and
    triggers recreated as proven. SQLite's procedure, except that the table is created under
    its own name (a rename would rewrite its SQL text), its rows parked in a temp table."""
    for key, (name, sql) in schema.items():
        if not key.startswith("table|") or key not in proven or proven[key][2] == sql:
            continue
        if sql.upper().startswith("CREATE VIRTUAL") or _columns(conn, name) is None:
            continue
        columns = _columns(conn, name)
        assert columns is not None
        scratch = _columns_of_sql(proven[key][2])
        if scratch is None or sorted(map(name_key, scratch)) != sorted(map(name_key, columns)):
            continue  # not only an order: left for the final check to refuse
        rowid = "WITHOUT ROWID" not in " ".join(proven[key][2].upper().split())
        listed = ", ".join(quote_identifier(c) for c in columns)
        park = quote_identifier("cortexdb_heal_rows")
        table = quote_identifier(name)
        sequence = _sequence(conn, name)
        conn.execute(f"CREATE TEMP TABLE {park} AS SELECT {'rowid AS cortexdb_rowid, ' if rowid else ''}"
                     f"{listed} FROM main.{table}")
        conn.execute(f"DROP TABLE main.{table}")
        conn.execute(proven[key][2])
        conn.execute(f"INSERT INTO main.{table} ({'rowid, ' if rowid else ''}{listed}) "
                     f"SELECT {'cortexdb_rowid, ' if rowid else ''}{listed} FROM temp.{park}")
        conn.execute(f"DROP TABLE temp.{park}")
        if sequence is not None:
            conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = ?", (sequence, name))
            if not conn.execute("SELECT 1 FROM sqlite_sequence WHERE name = ?", (name,)).fetchone():
                conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (name, sequence))
        for other, (_, owner, definition) in sorted(proven.items()):
            if other.split("|")[0] in ("index", "trigger") and name_key(owner) == name_key(name) and definition:
                conn.execute(definition)


def _columns(conn: Any, table: str) -> list[str] | None:
    """Stored columns (generated ones left out: they cannot be inserted), or None if any is hidden."""
    rows = conn.execute(f"PRAGMA table_xinfo({quote_identifier(table)})").fetchall()
    if any(int(row[6]) == 1 for row in rows):
        return None
    return [str(row[1]) for row in rows if int(row[6]) == 0]


def _columns_of_sql(sql: str) -> list[str] | None:
    import sqlite3

    scratch = sqlite3.connect(":memory:")
    try:
        scratch.execute(sql)
        name = scratch.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchone()[0]
        return _columns(scratch, name)
    except sqlite3.Error:
        return None  # it needs objects the scratch lacks (a REFERENCES is fine; a CHECK is too)
    finally:
        scratch.close()


def _sequence(conn: Any, table: str) -> int | None:
    if not conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        return None
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)).fetchone()
    return None if row is None else int(row[0])


def check_rows(conn: Any, counts: Mapping[str, int], migrations: Sequence[HealMigration],
                completed: list[tuple[int, int]], resumed: tuple[int, int] | None) -> None:
    """A table the heal renamed into holds at least the rows either copy held before."""
    starts = dict(completed)
    if resumed:
        starts[resumed[0]] = resumed[1]
    for migration in migrations:
        for record in migration.records[starts.get(migration.version, len(migration.records)):]:
            if record[1] != RENAME:
                continue
            old, new = record[2], record[3]
            had = max(counts.get(f"table|{name_key(old)}", 0), counts.get(f"table|{name_key(new)}", 0))
            has = count_rows(conn, new)
            if has < had:
                raise HealRefusal("data", f"healing table {new} would keep {has} of its {had} rows; {REPAIR}",
                                  [new])


def count_rows(conn: Any, table: str) -> int:
    found = conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE",
                         (table,)).fetchone()
    if found is None:
        return 0
    return int(conn.execute(f"SELECT count(*) FROM {quote_identifier(str(found[0]))}").fetchone()[0])


def violations(conn: Any) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for row in conn.execute("PRAGMA foreign_key_check").fetchall():
        key = (str(row[0]), str(row[2]))
        found[key] = found.get(key, 0) + 1
    return found


def check_violations(before: Mapping[tuple[str, str], int], after: Mapping[tuple[str, str], int]) -> None:
    new = sorted(key for key, count in after.items() if count > before.get(key, 0))
    if new:
        table, parent = new[0]
        raise HealRefusal("data", f"healing would leave rows of table {table} without their {parent} row; "
                          f"{REPAIR}", [table for table, _ in new])


def mismatch(conn: Any, ledger: str, migrations: Sequence[HealMigration], recorded: int,
              schema: Mapping[str, tuple[str, str]], known: set[str],
              completed: list[tuple[int, int]]) -> HealRefusal:
    """The refusal when the live schema is not one the build proves: the facts that differ."""
    at = f"after migration {migrations[recorded - 1].label}" if recorded else "before any migration"
    expected = set()
    for migration in migrations[:recorded]:
        for record in migration.records:
            expected |= {fact for fact, kill in record[4] if fact not in expected}
            expected -= {fact for fact, _ in record[5]}
            expected -= {fact for fact, kill in record[4] if kill == TRANSIENT}
    facts = {fact for fact in live_facts(conn, ledger) if _fact_name(fact) in known}
    # A table is told by its columns (any ADD COLUMN changes its SQL), not by its SQL's hash.
    by_columns = {fact.split("|")[1] for fact in expected | facts if fact.startswith("c|")}
    expected = {fact for fact in expected if not _table_sql(fact, by_columns)}
    facts = {fact for fact in facts if not _table_sql(fact, by_columns)}
    missing = sorted(_describe(fact) for fact in expected - facts)
    extra = sorted(_describe(fact) for fact in facts - expected)
    changed = sorted(set(missing) & set(extra))  # there, with another definition
    problems = [f"another definition of {c}" for c in changed]
    problems += [f"missing {m}" for m in missing if m not in changed]
    problems += [f"unexpected {e}" for e in extra if e not in changed]
    shown = "; ".join(problems[:4]) + ("; ..." if len(problems) > 4 else "")
    tried = f" (after completing {shown_versions(v for v, _ in completed)})" if completed else ""
    return HealRefusal("definition", f"the schema is not one the build proves {at}{tried}: "
                       f"{shown or 'it differs'}; {REPAIR}", [p.rsplit(" ", 1)[-1] for p in problems])


def _table_sql(fact: str, tables: set[str]) -> bool:
    parts = fact.split("|")
    return parts[0] == "o" and parts[1] == "table" and parts[2] in tables


def _fact_name(fact: str) -> str:
    kind, a, b = fact.split("|", 3)[:3]
    return f"{a}|{b}" if kind == "o" else f"table|{a}"


def _describe(fact: str) -> str:
    parts = fact.split("|")
    return f"{parts[1]} {parts[2]}" if parts[0] == "o" else f"column {parts[1]}.{parts[2]}"
