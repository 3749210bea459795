"""What SQLite says about one table: its columns, unique keys and foreign keys.

The data proof needs this twice: to fill a table with rows its constraints accept
(populate.py) and to see a unique key that is new on a table that already had rows (MG202).
Every answer comes from SQLite's own pragmas, never from reading the SQL, so a table rebuilt,
renamed or declared in a way sqlglot cannot parse is described as SQLite sees it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from cortexdb._contract import SchemaRow, name_key, quote_identifier


@dataclass(frozen=True)
class Column:
    name: str
    declared: str  # the declared type, as written ("" when none)
    not_null: bool
    has_default: bool
    primary: int  # position in the primary key, 0 when not part of it


@dataclass(frozen=True)
class UniqueKey:
    """A set of values no two rows may share: a unique index, a UNIQUE or PRIMARY KEY
    constraint (an autoindex), or the rowid alias (INTEGER PRIMARY KEY, which has no index)."""

    index: str  # the index's name; "" for the rowid alias
    parts: tuple[tuple[str | None, str], ...]  # (column, or None for an expression; collation name, lower case)
    partial: bool  # a WHERE clause: only some rows are held to it
    explicit: bool  # made by CREATE UNIQUE INDEX (not by the table's own constraints)

    @property
    def columns(self) -> frozenset[str]:
        return frozenset(name_key(column) for column, _ in self.parts if column is not None)

    def implies(self, other: UniqueKey) -> bool:
        """True when rows unique on `self` are unique on `other` too: every part of `self`, with
        its collation, is among `other`'s parts and `self` holds every row (no WHERE)."""
        theirs = {(name_key(c), coll) for c, coll in other.parts if c is not None}
        return (not self.partial and all(c is not None for c, _ in self.parts)
                and {(name_key(str(c)), coll) for c, coll in self.parts} <= theirs)


@dataclass(frozen=True)
class ForeignKey:
    parent: str
    columns: tuple[str, ...]
    parent_columns: tuple[str | None, ...]  # None: the parent's primary key


@dataclass(frozen=True)
class Table:
    name: str  # as SQLite stores it
    sql: str
    columns: tuple[Column, ...]  # the ones an INSERT can name (generated columns left out)
    uniques: tuple[UniqueKey, ...]
    foreign_keys: tuple[ForeignKey, ...]

    def unique_columns(self) -> frozenset[str]:
        """Every column (name_key) that is part of some unique key."""
        return frozenset().union(*(key.columns for key in self.uniques))


def describe(conn: sqlite3.Connection, name: str, sql: str) -> Table | None:
    """The ordinary table `name` of the main schema (as `read_schema` names it, with its
    CREATE statement `sql`), or None when there is no such table.

    The caller leaves out views, virtual tables and their shadow tables (see `ordinary`):
    `PRAGMA table_list` would tell, but after every schema change it first works out the
    columns of every view in the database, which made it the slowest part of the proof.
    """
    quoted = quote_identifier(name)
    # table_xinfo: (cid, name, type, notnull, dflt_value, pk, hidden); hidden 2 and 3 are generated.
    info = conn.execute(f"PRAGMA table_xinfo({quoted})").fetchall()
    if not info:
        return None
    columns = tuple(Column(str(r[1]), str(r[2] or ""), bool(r[3]), r[4] is not None, int(r[5]))
                    for r in info if int(r[6]) == 0)
    return Table(name, sql, columns, _unique_keys(conn, quoted, columns), _foreign_keys(conn, quoted))


def is_virtual(sql: str | None) -> bool:
    """True for the CREATE statement of a virtual table (as sqlite_master stores it)."""
    return sql is not None and sql[:20].upper().startswith("CREATE VIRTUAL")


_last_rows: tuple[tuple[SchemaRow, ...], frozenset[SchemaRow]] = ((), frozenset())


def _row_set(schema: tuple[SchemaRow, ...]) -> frozenset[SchemaRow]:
    """`frozenset(schema)`, made once for the schema both walks of a database move to."""
    global _last_rows
    if _last_rows[0] is not schema:
        _last_rows = (schema, frozenset(schema))
    return _last_rows[1]


class TableIndex:
    """The tables of a schema, kept up to date from one schema to the next through the rows
    that changed (a walk's schema grows by a few rows per migration; going over all of it per
    migration made the proof quadratic)."""

    def __init__(self) -> None:
        self.schema: tuple[SchemaRow, ...] = ()
        self.tables: dict[str, tuple[str, str]] = {}  # name_key -> (name, sql), every non-virtual table
        self.virtual: set[str] = set()  # name_key of every virtual table
        self._prefixes: tuple[str, ...] = ()
        self._rows: frozenset[SchemaRow] = frozenset()

    def update(self, schema: tuple[SchemaRow, ...]) -> set[str]:
        """Move to `schema`; the name_key of every table whose rows (its own, its indexes',
        its triggers') changed."""
        if schema is self.schema:
            return set()
        old, new = self._rows, _row_set(schema)
        for kind, name, _table, _sql in old - new:
            if kind == "table":
                self.tables.pop(name_key(name), None)
                self.virtual.discard(name_key(name))
        for kind, name, _table, sql in new - old:
            if kind == "table":
                (self.virtual.add(name_key(name)) if is_virtual(sql)
                 else self.tables.__setitem__(name_key(name), (name, sql or "")))
        self._prefixes = tuple(key + "_" for key in self.virtual)
        self.schema, self._rows = schema, new
        return {name_key(row[2]) for row in old ^ new}

    def is_shadow(self, key: str) -> bool:
        """True for a table SQLite names as a shadow table of a virtual one (`<virtual>_<suffix>`)."""
        return bool(self._prefixes) and key.startswith(self._prefixes)

    def ordinary(self, key: str) -> tuple[str, str] | None:
        """(name, sql) of the ordinary table `key`: not virtual, not a shadow table; or None."""
        found = self.tables.get(key)
        return None if found is None or self.is_shadow(key) else found


def _unique_keys(conn: sqlite3.Connection, quoted: str, columns: tuple[Column, ...]) -> tuple[UniqueKey, ...]:
    keys: list[UniqueKey] = []
    has_pk_index = False
    # index_list: (seq, name, unique, origin, partial); index_xinfo: (seqno, cid, name, desc, coll, key)
    for _seq, index, unique, origin, partial in conn.execute(f"PRAGMA index_list({quoted})").fetchall():
        has_pk_index = has_pk_index or origin == "pk"
        if not unique:
            continue
        parts = tuple((None if int(r[1]) < 0 else str(r[2]), str(r[4]).lower())
                      for r in conn.execute(f"PRAGMA index_xinfo({quote_identifier(str(index))})") if r[5])
        keys.append(UniqueKey(str(index), parts, bool(partial), origin == "c"))
    primary = [c for c in columns if c.primary]
    # (A WITHOUT ROWID table always has its primary key's index, so it never gets here.)
    if not has_pk_index and len(primary) == 1:
        # A one-column primary key with no index of its own is the rowid alias (INTEGER PRIMARY KEY).
        keys.append(UniqueKey("", ((primary[0].name, "binary"),), False, False))
    return tuple(sorted(keys, key=lambda k: (k.index, k.parts)))


def _foreign_keys(conn: sqlite3.Connection, quoted: str) -> tuple[ForeignKey, ...]:
    # foreign_key_list: (id, seq, table, from, to, on_update, on_delete, match), one row per column.
    grouped: dict[int, list[tuple[int, str, str, str | None]]] = {}
    for row in conn.execute(f"PRAGMA foreign_key_list({quoted})").fetchall():
        grouped.setdefault(int(row[0]), []).append((int(row[1]), str(row[2]), str(row[3]),
                                                    None if row[4] is None else str(row[4])))
    keys = []
    for _id, parts in sorted(grouped.items()):
        parts.sort()
        keys.append(ForeignKey(parts[0][1], tuple(p[2] for p in parts), tuple(p[3] for p in parts)))
    return tuple(keys)
