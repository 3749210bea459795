"""The heal proof: every crash point of the original runner is healed to the proven schema.

For every migration of every database and every statement in it, the original runner is
emulated on a scratch in-memory database (statements autocommitted one by one, no transaction,
a failure saying "already exists" / "duplicate column" swallowed and the file recorded),
killed after that statement; then both what its next start leaves (the migration recorded with
its tail skipped, later migrations run on top until one fails) and the state as the crash left
it go through the runtime's heal (`cortexdb._heal`, in a child process: the generator imports
only the contract, and the proof judges the heal the runtime ships) and the normal apply of the
rest. Each
must end with the schema of a clean run and the rows of a clean run: a few rows are written into
every table before each migration, and the clean run from the same rows is the reference, so
SQLite judges both the schema and the data.
"""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cortexdb._contract import RawStep, Step, execute_steps, quote_identifier, read_schema

from .diagnostics import Diagnostic, Severity

_SWALLOWED = ("duplicate column", "already exists")
_LITERAL = re.compile(r"'((?:[^']|'')*)'")


@dataclass(frozen=True)
class HealProofInput:
    version: int
    path: str  # as shown in diagnostics
    entry: Mapping[str, Any]  # the frozen module's MIGRATIONS entry
    record: tuple[Any, ...]  # its HEAL record


@dataclass(frozen=True)
class _Steps:
    """One migration's compiled steps, as `_apply_rest` runs them."""

    version: int
    steps: tuple[RawStep, ...]


class _Healer:
    """The runtime's heal in a child process (`python -m cortexdb._heal`), for one database:
    each crash point's database goes to it serialized (no file: the build may run where
    scratch files cannot be written), comes back healed and committed."""

    def __init__(self, ledger: str, migrations: Sequence[HealProofInput]) -> None:
        # The runtime next to this generator: the source tree (or sdist) holds both.
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")])}
        self.child = subprocess.Popen([sys.executable, "-m", "cortexdb._heal"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, env=env)
        entries = [(m.version, m.path, tuple(m.entry["steps"]), "foreign_keys_off" in m.entry["flags"], m.record)
                   for m in migrations]
        self._send(repr((ledger, entries)).encode())

    def _send(self, *frames: bytes) -> None:
        assert self.child.stdin is not None
        for frame in frames:
            self.child.stdin.write(len(frame).to_bytes(8, "big") + frame)
        self.child.stdin.flush()

    def _receive(self) -> bytes:
        assert self.child.stdout is not None
        head = self.child.stdout.read(8)
        if len(head) < 8:
            raise RuntimeError(f"the heal child process (python -m cortexdb._heal) ended: {self.child.wait()}")
        return self.child.stdout.read(int.from_bytes(head, "big"))

    def heal(self, conn: sqlite3.Connection, applied: list[int]) -> tuple[sqlite3.Connection, str | None, int | None]:
        """(`conn`'s database healed, in a new connection; the refusal or None; the resumed version)."""
        data = conn.serialize()
        conn.close()
        self._send(repr(applied).encode(), data)
        kind, value = ast.literal_eval(self._receive().decode())
        healed = sqlite3.connect(":memory:", isolation_level=None)
        healed.deserialize(self._receive())
        healed.execute("PRAGMA foreign_keys=OFF")
        return (healed, None, value) if kind == "healed" else (healed, str(value), None)

    def close(self) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        self.child.wait()


def heal_inputs(ledger: str, entries: Sequence[Mapping[str, Any]], heal: Mapping[int, Any], code: bytes) -> str:
    """The digest of everything a database's heal proof depends on: its ledger name, its
    migrations' compiled steps and flags, their HEAL records, the code (this module and the
    runtime heal it runs) and the SQLite that runs it. Equal digests, equal proofs."""
    digest = hashlib.sha256(b"cortexdb-heal-proof-1\0")
    for part in (ledger, repr([(e["version"], tuple(e["steps"]), tuple(e["flags"])) for e in entries]),
                 repr(sorted(heal.items())), sqlite3.sqlite_version):
        digest.update(part.encode("utf-8") + b"\0")
    digest.update(code)
    return "sha256:" + digest.hexdigest()


def prove_database_heal(migrations: list[HealProofInput], ledger: str) -> tuple[int, int, list[Diagnostic]]:
    """One database's heal proof: (crash points healed, crash points, MG210 findings).

    Every table holds rows before each migration; where a migration the build allowed to fail
    on rows (MG201) does fail on them, the proof runs again on tables left empty."""
    if not migrations or not hasattr(sqlite3.Connection, "serialize"):
        return 0, 0, []  # Python 3.10 has no serialize: the summary says "heal: 0/0 crash points"
    healer = _Healer(ledger, migrations)
    try:
        try:
            return _prove_with(healer, migrations, ledger, fill=True)
        except _FailsOnRows:
            return _prove_with(healer, migrations, ledger, fill=False)
    finally:
        healer.close()


class _FailsOnRows(Exception):
    """A clean run of the migrations fails on the rows the proof wrote."""


def _prove_with(healer: _Healer, migrations: list[HealProofInput], ledger: str,
                fill: bool) -> tuple[int, int, list[Diagnostic]]:
    inputs = [_Steps(m.version, tuple(m.entry["steps"])) for m in migrations]
    base = _connect(ledger)
    healed = points = 0
    diagnostics: list[Diagnostic] = []
    for index, migration in enumerate(migrations):
        if fill:
            _fill(base, ledger)
        reference = _copy(base)
        try:
            _apply_rest(reference, ledger, inputs, [m.version for m in migrations[:index]])
        except sqlite3.Error:
            raise _FailsOnRows from None
        expected = (read_schema(reference, ledger), _counts(reference, ledger))
        reference.close()
        for after in range(1, len(inputs[index].steps) + 1):
            for restart in (False, True):
                points += 1
                problem = _crash_point(healer, base, ledger, migrations, inputs, index, after, restart, expected)
                if problem is None:
                    healed += 1
                else:
                    line = Step(inputs[index].steps[after - 1]).line
                    state = "after its next start" if restart else "as the crash left it"
                    # A refusal leaves the database untouched for `cortex db repair`: a warning.
                    # A heal that ends with another schema or other rows is an error.
                    diagnostics.append(Diagnostic(migration.path, line, 1, "MG210",
                                                  f"a crash of the original runner after this statement, "
                                                  f"{state}, is not healed: {problem[0]}", problem[1]))
        _original(base, ledger, migration, len(inputs[index].steps))
    base.close()
    return healed, points, diagnostics


def _crash_point(healer: _Healer, base: sqlite3.Connection, ledger: str, migrations: list[HealProofInput],
                 inputs: list[_Steps], index: int, after: int, restart: bool,
                 expected: tuple[Any, Any]) -> tuple[str, Severity] | None:
    work = _copy(base)
    try:
        _original(work, ledger, migrations[index], after, record=False)
        if restart:
            for migration in migrations[index:]:
                if not _original(work, ledger, migration, None):
                    break
        applied = [int(row[0]) for row in work.execute(f"SELECT version FROM {quote_identifier(ledger)}")]
        handed = _counts(work, ledger)  # the rows cortexdb is handed
        work, refusal, resumed = healer.heal(work, applied)
        if refusal is not None:
            return refusal, Severity.WARNING
        if resumed is not None:
            applied.append(resumed)
        try:
            _apply_rest(work, ledger, inputs, applied)
        except sqlite3.Error as error:
            return f"applying the later migrations failed after the heal: {error}", Severity.ERROR
        schema, counts = read_schema(work, ledger), _counts(work, ledger)
        if schema != expected[0]:
            return "the healed schema differs from the proven one", Severity.ERROR
        fewer = sorted(t for t, n in expected[1].items() if counts.get(t, 0) < n)
        lost = [t for t in fewer if counts.get(t, 0) < handed.get(t, 0)]
        if lost:
            return f"fewer rows than a clean run in table(s) {', '.join(lost[:3])}", Severity.ERROR
        if fewer:
            # Every row cortexdb was handed is still there: the original runner skipped an INSERT
            # of this file after a statement that leaves no trace in the schema, which no heal can
            # tell from rows the application deleted since. A warning: check them.
            return (f"fewer rows than a clean run in table(s) {', '.join(fewer[:3])} (the original runner "
                    "skipped an INSERT; check those rows)"), Severity.WARNING
        extra = sorted(t for t, n in expected[1].items() if counts.get(t, 0) > n)
        if extra:
            # The original runner's next start ran an INSERT of this file a second time: rows
            # no heal can tell from the application's. A warning: check them by hand.
            return (f"more rows than a clean run in table(s) {', '.join(extra[:3])} (the original runner "
                    "ran an INSERT twice; check those rows)"), Severity.WARNING
        return None
    finally:
        work.close()


def _original(conn: sqlite3.Connection, ledger: str, migration: HealProofInput, upto: int | None,
              record: bool = True) -> bool:
    """The original runner on one migration: its statements one by one (autocommit, the
    `IF NOT EXISTS` of ADD COLUMN dropped as stock SQLite needs), the first `upto` of them or
    all; "already exists" records it anyway. False when another error stopped the start."""
    flagged = "foreign_keys_off" in migration.entry["flags"]
    if flagged:
        conn.execute("PRAGMA foreign_keys=OFF")  # the file's own PRAGMA
    steps = migration.entry["steps"]
    try:
        for step in steps[:upto] if upto is not None else steps:
            conn.execute(Step(step).sql)
    except sqlite3.Error as error:
        if not any(fragment in str(error).lower() for fragment in _SWALLOWED):
            return False
    if record and (upto is None or upto == len(steps)):
        conn.execute(f"INSERT OR IGNORE INTO {quote_identifier(ledger)} (version) VALUES (?)",
                     (migration.version,))
    return True


def _apply_rest(conn: sqlite3.Connection, ledger: str, inputs: Sequence[_Steps],
                applied: Sequence[int]) -> None:
    """cortexdb's normal apply of what the ledger lacks (foreign keys stay off, as in the
    reference, so both see the same rows)."""
    if not conn.in_transaction:
        conn.execute("BEGIN IMMEDIATE")
    for migration in inputs:
        if migration.version not in applied:
            execute_steps(conn, migration.steps)
            conn.execute(f"INSERT INTO {quote_identifier(ledger)} (version) VALUES (?)", (migration.version,))
    conn.execute("COMMIT")


def _connect(ledger: str) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(f"CREATE TABLE {quote_identifier(ledger)} (version INTEGER PRIMARY KEY)")
    conn.execute("PRAGMA foreign_keys=OFF")
    return conn


def _copy(conn: sqlite3.Connection) -> sqlite3.Connection:
    copy = sqlite3.connect(":memory:", isolation_level=None)
    conn.backup(copy)
    copy.execute("PRAGMA foreign_keys=OFF")
    return copy


def _counts(conn: sqlite3.Connection, ledger: str) -> dict[str, int]:
    """Rows per table; a virtual table's shadow tables are its storage, not rows."""
    schema = read_schema(conn, ledger)
    virtual = [name for kind, name, _, sql in schema if (sql or "").upper().startswith("CREATE VIRTUAL")]
    return {name: int(conn.execute(f"SELECT count(*) FROM {quote_identifier(name)}").fetchone()[0])
            for kind, name, _, sql in schema
            if kind == "table" and name not in virtual and not any(name.startswith(v + "_") for v in virtual)}


def _fill(conn: sqlite3.Connection, ledger: str) -> None:
    """Two rows into every empty ordinary table: values by declared type, string literals of
    the table's CHECK constraints tried where SQLite refuses a row."""
    schema = read_schema(conn, ledger)
    virtual = [name for kind, name, _, sql in schema if (sql or "").upper().startswith("CREATE VIRTUAL")]
    for kind, name, _, sql in schema:
        if kind != "table" or name in virtual or any(name.startswith(v + "_") for v in virtual):
            continue
        table = quote_identifier(name)
        if conn.execute(f"SELECT 1 FROM {table}").fetchone():
            continue
        literals = [m.replace("''", "'") for m in _LITERAL.findall(sql or "")]
        columns = [row for row in conn.execute(f"PRAGMA table_xinfo({table})") if int(row[6]) == 0]
        for k in (1, 2):
            _fill_row(conn, table, columns, literals, k)


def _fill_row(conn: sqlite3.Connection, table: str, columns: list[Any], literals: list[str], k: int) -> None:
    needed = [c for c in columns if (c[3] or c[5]) and c[4] is None]  # NOT NULL or key, no default
    values: dict[str, object] = {str(c[1]): _typed(str(c[2]), k) for c in needed}
    for _ in range(24):
        names = ", ".join(quote_identifier(n) for n in values)
        marks = ", ".join("?" for _ in values)
        statement = f"INSERT INTO {table} ({names}) VALUES ({marks})" if values else \
            f"INSERT INTO {table} DEFAULT VALUES"
        try:
            conn.execute(statement, list(values.values()))
            return
        except sqlite3.IntegrityError as error:
            failed = str(error).split(":", 1)[-1]
            culprit = next((n for n in values if re.search(rf"\b{re.escape(n)}\b", failed)), None)
            if culprit is None:
                return
            options = [*literals, "{}", "[]", 0, 1, f"v{k}"]
            current = options.index(values[culprit]) if values[culprit] in options else -1
            if current + 1 >= len(options):
                return
            values[culprit] = options[current + 1]
        except sqlite3.Error:
            return


def _typed(declared: str, k: int) -> object:
    upper = declared.upper()
    if "INT" in upper or "REAL" in upper or "NUM" in upper or "FLOA" in upper:
        return k
    return f"v{k}"
