"""Synthetic rows for the data proof: a few rows per table that its constraints accept.

SQLite judges every row: a value is tried, and when SQLite refuses the row (a CHECK, NOT NULL,
UNIQUE, a foreign key, a STRICT type, a trigger's RAISE) the columns its message names are
given their next candidate, until SQLite accepts the row or the candidates run out (then the
table has fewer rows; nothing is reported). Nothing here models a constraint.

Three rows per fill, chosen to expose the migrations that fail on existing rows:

- "typical": edge values first (0, '', -1): a CHECK added later by a rebuild meets them;
- "twin": equal to "typical" in every column outside the unique keys, so a UNIQUE index added
  later over those columns meets duplicates;
- "sparse": NULL where the column allows it, the default where it has one: a later NOT NULL
  (a rebuild, an ADD COLUMN) meets them.

Unique columns get values from a counter far from the small numbers migrations seed with, so
a later `INSERT ... VALUES (1, ...)` does not collide with a synthetic row.
"""

from __future__ import annotations

import functools
import itertools
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from cortexdb._contract import name_key, quote_identifier

from .tables import Column, ForeignKey, Table

ROWS = ("typical", "twin", "sparse")
MAX_ATTEMPTS = 48  # inserts tried per row before giving up on it
FIRST_SERIAL = 1_000_001
_DEFAULT = object()  # the column is left out of the INSERT: its DEFAULT applies
_SELF = object()  # a foreign key to the row's own table: the row's own key values

_EDGE_VALUES: dict[str, list[object]] = {
    "INTEGER": [0, 1, -1, 2, 100, 1_700_000_000],
    "REAL": [0.0, 1.5, -1.5, 100.25],
    "NUMERIC": [0, 1, -1, 1.5, "2024-01-01 00:00:00"],
    "TEXT": ["", "a", "synthetic text", "{}", "[]", "2024-01-01 00:00:00", "0"],
    "BLOB": [b"", b"\x00\x01", "", 0, "a"],
}
# Literals in the table's SQL (CHECK lists, defaults): 'pending' is what `status IN (...)` wants.
_LITERAL = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|`[^`]*`|\[[^\]]*\]|--[^\n]*|/\*.*?(?:\*/|$)"
                      r"|(?<![\w$])-?\d+(?:\.\d+)?(?![\w$])", re.S)
_WORD = re.compile(r"[^\W\d][\w$]*")


def affinity(declared: str) -> str:
    """The column affinity of a declared type, by SQLite's documented rule (datatype3.html, 3.1)."""
    upper = declared.upper()
    if "INT" in upper:
        return "INTEGER"
    if any(word in upper for word in ("CHAR", "CLOB", "TEXT")):
        return "TEXT"
    if "BLOB" in upper or not upper:
        return "BLOB"
    if any(word in upper for word in ("REAL", "FLOA", "DOUB")):
        return "REAL"
    return "NUMERIC"


@functools.lru_cache(maxsize=1024)
def literals(sql: str) -> tuple[object, ...]:
    """String and number literals of `sql`, in order, without repeats (at most 24)."""
    found: list[object] = []
    for match in _LITERAL.finditer(sql):
        token = match.group()
        if token.startswith("'"):
            value: object = token[1:-1].replace("''", "'")
        elif token[0].isdigit() or (token[0] == "-" and token[1:2].isdigit()):
            value = float(token) if "." in token else int(token)
        else:
            continue  # a quoted identifier or a comment
        if value not in found:
            found.append(value)
    return tuple(found[:24])


@dataclass
class _Slot:
    """What one choice sets: one column, or the columns of one foreign key together."""

    columns: tuple[Column, ...]
    candidates: list[object]  # a value, or a tuple of values for a foreign key, or _DEFAULT / _SELF
    parent_columns: tuple[str, ...] | None = None  # set for a foreign key: the parent's columns


class Populator:
    """Fills tables with synthetic rows; one per data walk, so the counter spans every table."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.serial = itertools.count(FIRST_SERIAL)

    def fill(self, tables: Sequence[Table]) -> dict[str, int]:
        """Add rows to each of `tables` (parents before children) in one transaction; the
        number of rows each got."""
        added: dict[str, int] = {}
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            for table in _parents_first(tables):
                added[table.name] = self._fill_table(table)
                if not self.conn.in_transaction:  # a trigger's RAISE(ROLLBACK) ended it
                    return {}
            self.conn.execute("COMMIT")
        finally:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
        return added

    def _fill_table(self, table: Table) -> int:
        self.conn.execute("SAVEPOINT cortexdb_fill")
        typical: dict[str, object] | None = None
        rows = 0
        for kind in ROWS:
            if kind == "twin" and typical is None:
                continue
            values = self._insert(table, kind, typical or {})
            if values is not None:
                rows += 1
                typical = typical if typical is not None else values
            if not self.conn.in_transaction:
                return rows
        # A deferred foreign key accepts the INSERT and refuses the COMMIT: check now instead.
        if table.foreign_keys and self.conn.execute(
                f"PRAGMA foreign_key_check({quote_identifier(table.name)})").fetchone() is not None:
            self.conn.execute("ROLLBACK TO cortexdb_fill")
            rows = 0
        self.conn.execute("RELEASE cortexdb_fill")
        return rows

    def _insert(self, table: Table, kind: str, typical: dict[str, object]) -> dict[str, object] | None:
        """Insert one row of `kind`; the values it was inserted with, or None."""
        slots = self._slots(table, kind, typical)
        if any(not slot.candidates for slot in slots):
            return None  # e.g. a NOT NULL foreign key whose parent has no rows
        chosen = [0] * len(slots)
        for _attempt in range(MAX_ATTEMPTS):
            values = _values(table, slots, chosen)
            named = [(quote_identifier(c), v) for c, v in values.items() if v is not _DEFAULT]
            if named:
                sql = (f"INSERT INTO {quote_identifier(table.name)} ({', '.join(c for c, _ in named)}) "
                       f"VALUES ({', '.join('?' * len(named))})")
            else:
                sql = f"INSERT INTO {quote_identifier(table.name)} DEFAULT VALUES"
            try:
                self.conn.execute(sql, [v for _, v in named])
            except sqlite3.Error as exc:
                if not self.conn.in_transaction or not _advance(chosen, slots, _to_vary(str(exc), slots)):
                    return None
                continue
            return values
        return None

    def _slots(self, table: Table, kind: str, typical: dict[str, object]) -> list[_Slot]:
        unique, found = table.unique_columns(), literals(table.sql)
        slots: list[_Slot] = []
        in_foreign_key: set[str] = set()
        for key in table.foreign_keys:
            columns = tuple(c for c in table.columns if name_key(c.name) in {name_key(n) for n in key.columns})
            if len(columns) != len(key.columns) or in_foreign_key & {name_key(c.name) for c in columns}:
                continue  # a key over a generated column, or a column already set by another key
            in_foreign_key.update(name_key(c.name) for c in columns)
            parent_columns = _parent_key(self.conn, key)
            if parent_columns is not None and len(parent_columns) != len(columns):
                parent_columns = None  # SQLite refuses every row of this table ("foreign key mismatch")
            candidates = self._parent_values(table, key, parent_columns, columns, kind, typical)
            slots.append(_Slot(columns, candidates, parent_columns or ()))
        for column in table.columns:
            if name_key(column.name) in in_foreign_key:
                continue
            column_key = name_key(column.name)
            if kind == "twin" and column_key not in unique and column.name in typical:
                candidates = [typical[column.name]]
            else:
                candidates = self._candidates(column, kind, column_key in unique, found)
            slots.append(_Slot((column,), candidates))
        return slots

    def _candidates(self, column: Column, kind: str, unique: bool, found: Sequence[object]) -> list[object]:
        kind_of = affinity(column.declared)
        edge = _EDGE_VALUES[kind_of]
        # A number in the SQL may be a length a CHECK wants (`length(nonce) = 12`): text and
        # blobs of that length are tried after the rest.
        lengths = [n for n in found if type(n) is int and 0 < n <= 256] if kind_of in ("TEXT", "BLOB") else []
        if unique:
            serial = next(self.serial)
            fresh = {"INTEGER": serial, "REAL": serial + 0.25, "NUMERIC": serial, "TEXT": f"synthetic-{serial}",
                     "BLOB": f"synthetic-{serial}".encode()}[kind_of]
            sized = [_sized(str(serial), n, kind_of) for n in lengths]
            ordered = [fresh, f"synthetic-{serial}", *found, *edge, *sized]
        else:
            sized = [_sized("", n, kind_of) for n in lengths]
            ordered = [*found, *edge[1:], edge[0], *sized] if kind == "sparse" else [*edge, *found, *sized]
        first: list[object] = []
        if kind == "sparse":
            if not column.not_null and not column.primary:
                first.append(None)
            if column.has_default:
                first.append(_DEFAULT)
        return _unique_in_order([*first, *ordered])

    def _parent_values(self, table: Table, key: ForeignKey, parent_columns: tuple[str, ...] | None,
                       columns: tuple[Column, ...], kind: str, typical: dict[str, object]) -> list[object]:
        """Candidate tuples for a foreign key: rows its parent holds (NULL first in a sparse row)."""
        nullable = all(not c.not_null for c in columns)
        candidates: list[object] = [None] if nullable and kind == "sparse" else []
        if kind == "twin" and all(c.name in typical for c in columns):
            candidates.append(tuple(typical[c.name] for c in columns))
        if parent_columns is not None:
            select = ", ".join(quote_identifier(c) for c in parent_columns)
            try:
                rows = self.conn.execute(f"SELECT DISTINCT {select} FROM {quote_identifier(key.parent)} "
                                         "LIMIT 4").fetchall()
            except sqlite3.Error:  # no such parent table: no row can reference it
                rows = []
            candidates += [tuple(row) for row in rows]
            if name_key(key.parent) == name_key(table.name):
                candidates.append(_SELF)
        if nullable and None not in candidates:
            candidates.append(None)
        return _unique_in_order(candidates)


def _sized(seed: str, length: int, kind_of: str) -> object:
    """A value of exactly `length` characters (bytes for a blob) that ends in `seed`."""
    text = seed.rjust(length, "x")[-length:]
    return text.encode() if kind_of == "BLOB" else text


def _parent_key(conn: sqlite3.Connection, key: ForeignKey) -> tuple[str, ...] | None:
    """The parent columns a foreign key refers to (its primary key when the key names none)."""
    if all(c is not None for c in key.parent_columns):
        return tuple(str(c) for c in key.parent_columns)
    try:
        info = conn.execute(f"PRAGMA table_info({quote_identifier(key.parent)})").fetchall()
    except sqlite3.Error:
        return None
    primary = [str(r[1]) for r in sorted(info, key=lambda r: int(r[5])) if int(r[5])]
    return tuple(primary) if primary else ("rowid",)


def _values(table: Table, slots: list[_Slot], chosen: list[int]) -> dict[str, object]:
    values: dict[str, object] = {}
    deferred: list[_Slot] = []
    for slot, index in zip(slots, chosen, strict=True):
        candidate = slot.candidates[index]
        if candidate is _SELF:
            deferred.append(slot)
        elif slot.parent_columns is not None:
            parts = candidate if isinstance(candidate, tuple) else (None,) * len(slot.columns)
            values.update((c.name, v) for c, v in zip(slot.columns, parts, strict=True))
        else:
            values[slot.columns[0].name] = candidate
    for slot in deferred:  # the row refers to itself: copy its own parent-key values
        parents = [next((v for c, v in values.items() if name_key(c) == name_key(p)), None)
                   for p in slot.parent_columns or ()]
        values.update((c.name, v) for c, v in zip(slot.columns, parents, strict=True))
    return values


def _to_vary(message: str, slots: list[_Slot]) -> list[int]:
    """The slots SQLite's message points at: the columns it names, the foreign keys for a
    foreign key failure, else every slot."""
    if "FOREIGN KEY" in message.upper():
        keys = [i for i, slot in enumerate(slots) if slot.parent_columns is not None]
        if keys:
            return keys
    words = {name_key(w) for w in _WORD.findall(message.partition(":")[2] or message)}
    named = [i for i, slot in enumerate(slots) if any(name_key(c.name) in words for c in slot.columns)]
    return named or list(range(len(slots)))


def _advance(chosen: list[int], slots: list[_Slot], vary: list[int]) -> bool:
    """The next combination of candidates for the slots in `vary` (an odometer); False when
    every combination was tried."""
    for i in vary:
        if chosen[i] + 1 < len(slots[i].candidates):
            chosen[i] += 1
            return True
        chosen[i] = 0
    return False


def _unique_in_order(values: list[object]) -> list[object]:
    """`values` without repeats; 1 and 1.0 and True are three values here (SQLite stores them apart)."""
    seen: set[tuple[type, object]] = set()
    kept: list[object] = []
    for value in values:
        key = (type(value), value)
        if key not in seen:
            seen.add(key)
            kept.append(value)
    return kept


def _parents_first(tables: Sequence[Table]) -> Iterator[Table]:
    """`tables` with each one after the tables of the list it references (cycles: as listed)."""
    pending = {name_key(t.name): t for t in tables}
    done: set[str] = set()
    while pending:
        ready = [k for k, t in pending.items()
                 if all(name_key(f.parent) in done or name_key(f.parent) not in pending or name_key(f.parent) == k
                        for f in t.foreign_keys)]
        for key in ready or [next(iter(pending))]:
            done.add(key)
            yield pending.pop(key)
