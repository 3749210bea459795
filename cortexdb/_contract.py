"""The contract between the generator and the runtime: what both sides must agree on, once.

The generator (`python -m generator`) imports this module and nothing else of the runtime;
the runtime imports it on every path, the up-to-date one included, so it imports nothing at
all (no typing, no sqlite3: a connection is whatever has `execute`). It holds:

- `FORMAT`, the version of the frozen module's layout, and `SESSION_PLACEHOLDER`;
- the step layout (`Step`, `check_step`): how a migration's statements are stored;
- `fingerprint`: the number `PRAGMA user_version` holds for "these migrations are applied";
- `execute_steps`: how steps run (the proof runs them exactly as the runtime does);
- `has_column`, `COLUMN_EXISTS`, `TABLE_EXISTS`: names compared by SQLite's own rule;
- `read_schema`: the one reader of `sqlite_master` (proof, verify, remote, tests);
- `source_hash`: the frozen module's `SOURCE_HASH` over the manifest and the SQL files;
- `shown_version`, `shown_versions`: how every text of either CLI prints a version (`050`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

#: (type, name, tbl_name, sql) as in sqlite_master; the generator annotates with these too.
SchemaRow = tuple[str, str, str, "str | None"]
RawStep = tuple[object, ...]

#: The layout version of `_frozen.py` / `_frozen_index.py`: the generator writes it, the runtime
#: reads only this one. Change it with any change of the layout below.
FORMAT = 1
#: Where a per-session database's file name takes the session id.
SESSION_PLACEHOLDER = "{session_id}"

# A step as the frozen module stores it (plain tuples: the module is pure data):
#   ("sql", line, statement)
#   ("add_column", line, statement, table, column)   the statement has no IF NOT EXISTS
SQL = "sql"
ADD_COLUMN = "add_column"
_STEP_SIZES = {SQL: 3, ADD_COLUMN: 5}

_MERSENNE_61 = (1 << 61) - 1
_FINGERPRINT_BASE = 1_000_003

# Objects SQLite makes for itself (autoindexes, sqlite_sequence, sqlite_stat1) are not part of
# a schema. SQLite reserves every name that starts with `sqlite_` in any case; `_` is a LIKE
# wildcard, so it is escaped (unescaped, `SQLiteCache` or `sqlitestats` would be hidden).
# LIKE folds ASCII case, as SQLite's own check does.
SCHEMA_QUERY = (
    "SELECT type, name, tbl_name, sql FROM sqlite_master "
    "WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND name != ? COLLATE NOCASE ORDER BY type, name"
)
# Names are compared the way SQLite compares identifiers: NOCASE folds ASCII letters only, as
# SQLite's own name lookup does (`Users` is `users`; `É` is not `é`). Both backends run these
# queries, so SQLite decides, never a Python rule.
COLUMN_EXISTS = "SELECT 1 FROM pragma_table_info(?) WHERE name = ? COLLATE NOCASE"
TABLE_EXISTS = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ? COLLATE NOCASE"


class Step:
    """A typed view of one stored step, so no code reads the tuple by index."""

    __slots__ = ("column", "kind", "line", "sql", "table")

    def __init__(self, raw: RawStep) -> None:
        self.kind = str(raw[0])
        self.line = int(raw[1])  # type: ignore[call-overload]
        self.sql = str(raw[2])
        self.table = str(raw[3]) if self.kind == ADD_COLUMN else ""
        self.column = str(raw[4]) if self.kind == ADD_COLUMN else ""

    def __repr__(self) -> str:
        return f"Step({self.kind!r}, line={self.line}, {self.sql[:40]!r})"


def sql_step(line: int, statement: str) -> RawStep:
    return (SQL, line, statement)


def add_column_step(line: int, statement: str, table: str, column: str) -> RawStep:
    return (ADD_COLUMN, line, statement, table, column)


def check_step(raw: object) -> bool:
    """True when `raw` has the layout above (a malformed frozen module must not run)."""
    if not isinstance(raw, tuple) or not raw or _STEP_SIZES.get(raw[0]) != len(raw):
        return False
    line = raw[1]
    return isinstance(line, int) and not isinstance(line, bool) and all(isinstance(part, str) for part in raw[2:])


def source_hash(manifest: bytes, migrations: Iterable[tuple[str, bytes]]) -> str:
    """`SOURCE_HASH`: the manifest's bytes, then each migration's file name and bytes, by name.

    The generator writes it into the frozen module; a source checkout's `cortex db migrate`
    computes it again to tell an edited migration from a touched one.
    """
    import hashlib

    digest = hashlib.sha256(manifest)
    for name, raw in sorted(migrations):
        digest.update(b"\0" + name.encode() + b"\0" + raw)
    return "sha256:" + digest.hexdigest()


def shown_version(version: int) -> str:
    """A migration's version as every text shows it: its file's number, at least three digits
    (`003`, `050`, `1000`), so a message, a file name and the lock read alike. JSON keeps ints."""
    # A ledger edited by hand may hold 0 or a negative version: the sign stays in front.
    return f"-{-version:03d}" if version < 0 else f"{version:03d}"


def shown_versions(versions: Iterable[int]) -> str:
    """`003, 050, 1000`."""
    return ", ".join(shown_version(version) for version in versions)


def fingerprint(ledger: str, database: str, applied: Iterable[tuple[int, str]]) -> int:
    """A positive 31-bit number naming exactly this ordered list of (version, checksum).

    Stored in `PRAGMA user_version` in the same transaction as each ledger row, so "the
    header holds fingerprint(all migrations)" means "up to date" without parsing the schema.
    A polynomial hash modulo the Mersenne prime 2^61-1, folded to 31 bits: after folding any
    good hash collides by chance about equally rarely (2^-31), and this one needs no import
    (`hashlib` or `binascii` would cost a visible share of the up-to-date check).
    """
    value = 0
    parts = [f"cortexdb-fingerprint-1 {ledger} {database}"]
    parts += [f"{version} {checksum}" for version, checksum in applied]
    for part in parts:
        value = (value * _FINGERPRINT_BASE + int.from_bytes(part.encode(), "big")) % _MERSENNE_61
    return ((value ^ (value >> 31)) & 0x7FFFFFFF) or 1


#: ASCII upper case to lower case, nothing else: SQLite folds only ASCII letters in names.
_ASCII_LOWER = {code: code + 32 for code in range(ord("A"), ord("Z") + 1)}


def name_key(name: str) -> str:
    """`name` as SQLite compares identifiers (for code that must compare names without asking
    SQLite): ASCII letters case-folded, every other character as is."""
    return name.translate(_ASCII_LOWER)


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def has_column(conn: Any, table: str, column: str) -> bool:
    """SQLite's own answer to "does `table` have `column`?" (the query every backend runs)."""
    return conn.execute(COLUMN_EXISTS, (table, column)).fetchone() is not None


def execute_steps(conn: Any, steps: Iterable[RawStep]) -> None:
    """Run the steps in order on `conn`; the caller owns the transaction.

    `add_column` runs only when the column is missing: this is what makes
    `ALTER TABLE ... ADD COLUMN IF NOT EXISTS` real on stock SQLite.
    """
    for raw in steps:
        step = Step(raw)
        if step.kind == ADD_COLUMN and has_column(conn, step.table, step.column):
            continue
        conn.execute(step.sql)


def read_schema(conn: Any, ledger: str) -> tuple[SchemaRow, ...]:
    """The schema as the frozen module stores it: (type, name, tbl_name, sql), sorted; the ledger
    table and SQLite's own objects left out."""
    return tuple(
        (str(kind), str(name), str(table), None if sql is None else str(sql))
        for kind, name, table, sql in conn.execute(SCHEMA_QUERY, (ledger,)).fetchall()
    )


# --- the ledger (CortexPrism's `schema_migrations`) and the fingerprint in `user_version` ---


def exists_query(ledger: str) -> str:
    """A row when the ledger table exists, under any case of its name, as SQLite finds tables
    (the name inline: a query that travels without parameters)."""
    quoted = "'" + ledger.replace("'", "''") + "'"
    return TABLE_EXISTS.replace("?", quoted)


def create_ledger_statement(ledger: str) -> str:
    """The table exactly as CortexPrism declares it, so either system can read the other's."""
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(ledger)} ("
        "version INTEGER PRIMARY KEY, "
        "description TEXT NOT NULL, "
        "applied_at TEXT NOT NULL DEFAULT (datetime('now')), "
        "checksum TEXT NOT NULL)"
    )


def record(ledger: str, migration: Any, fingerprint: int) -> list[tuple[str, tuple[object, ...]]]:
    """The statements that record `migration` in its transaction: its ledger row, the new fingerprint."""
    return [
        (
            f"INSERT INTO {quote_identifier(ledger)} (version, description, checksum) VALUES (?, ?, ?)",
            (migration.version, migration.description, migration.checksum),
        ),
        # In the migration's transaction: the header page changes with the ledger row or not at all.
        (user_version_statement(fingerprint), ()),
    ]


def user_version_statement(value: int) -> str:
    return f"PRAGMA user_version = {int(value)}"


# --- the heal data (`HEAL`, layout in `cortexdb/_heal.py`): what a schema is, for both sides ---
# The build (`generator/healdata.py`) reads these after every compiled step on a scratch
# database; the runtime's heal reads them from the live one: one definition, so they agree.

#: A step's effect: changes the schema, renames a table, fills a table this migration created,
#: changes no schema and a second run changes nothing, changes no schema and must run once.
SCHEMA, RENAME, FRESH, RERUN, ONCE = "s", "r", "f", "=", "1"
#: A fact a step makes that is gone again by the end of its migration.
TRANSIENT = -1
_FACTS_QUERY = (
    "SELECT m.name, p.name FROM sqlite_master AS m, pragma_table_info(m.name) AS p "
    "WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND m.name != ?"
)


def _hash(text: str, length: int) -> str:
    import hashlib  # only the heal and the build need it: never imported on the up-to-date path

    return hashlib.sha256(text.encode()).hexdigest()[:length]


def schema_objects(conn: Any, ledger: str) -> dict[str, tuple[str, str]]:
    """The live schema: "type|name key" -> (name, SQL)."""
    return {f"{kind}|{name_key(name)}": (name, sql or "") for kind, name, _, sql in read_schema(conn, ledger)}


def schema_digest(rows: Iterable[str]) -> str:
    return _hash("\n".join(sorted(rows)), 12)


def objects_digest(objects: dict[str, tuple[str, str]], known: set[str]) -> str:
    """The digest of the objects whose key is in `known`."""
    return schema_digest(f"{key}|{sql}" for key, (_, sql) in objects.items() if key in known)


def digest_of(conn: Any, ledger: str) -> str:
    """The digest of the whole schema (the build's, for each step)."""
    objects = schema_objects(conn, ledger)
    return objects_digest(objects, set(objects))


def live_facts(conn: Any, ledger: str) -> set[str]:
    """Every object with its SQL ("o|type|name|hash") and every table column ("c|table|column")."""
    facts = {f"o|{key}|{_hash(sql, 8)}" for key, (_, sql) in schema_objects(conn, ledger).items()}
    facts |= {f"c|{name_key(str(t))}|{name_key(str(c))}" for t, c in conn.execute(_FACTS_QUERY, (ledger,))}
    return facts
