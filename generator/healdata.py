"""The heal data the build embeds (`HEAL` in the frozen module; layout in `cortexdb/_heal.py`,
its facts and digests in `cortexdb/_contract.py`).

Each database's compiled steps run, one at a time, with `execute_steps` on a scratch in-memory
database (its ledger table present, foreign keys off as in a rebuild); after each step the
schema's digest and its facts (objects with their SQL, table columns) are read with the same
functions the runtime's heal uses, so build and runtime cannot disagree on what a schema is.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

from cortexdb._contract import (
    FRESH,
    ONCE,
    RENAME,
    RERUN,
    SCHEMA,
    TRANSIENT,
    digest_of,
    execute_steps,
    live_facts,
    name_key,
    quote_identifier,
)

_NAME = r'("(?:[^"]|"")+"|`[^`]+`|\[[^\]]+\]|[\w$]+)'
_RENAME = re.compile(rf"^\s*ALTER\s+TABLE\s+{_NAME}\s+RENAME\s+TO\s+{_NAME}", re.IGNORECASE)
_INSERT = re.compile(rf"^\s*(?:INSERT|REPLACE)\s+(?:OR\s+(\w+)\s+)?INTO\s+{_NAME}", re.IGNORECASE)
_UPDATE = re.compile(r"^\s*UPDATE\s+.*?\bSET\b(.*?)\bWHERE\b(.*)$", re.IGNORECASE | re.DOTALL)
_ASSIGNED = re.compile(r'(?:^|,)\s*"?(\w+)"?\s*=')
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+(?:TEMP\w*\s+)?TABLE\b", re.IGNORECASE)
_DO_NOTHING = re.compile(r"\bON\s+CONFLICT\b[^;]*\bDO\s+NOTHING\s*;?\s*$", re.IGNORECASE)


def heal_data(ledger: str, migrations: Sequence[Mapping[str, Any]]) -> dict[int, tuple[Any, ...]]:
    """`HEAL` for the frozen module's `MIGRATIONS` entries (every database, in version order)."""
    result: dict[int, tuple[Any, ...]] = {}
    for database in dict.fromkeys(str(m["database"]) for m in migrations):
        mine = [m for m in migrations if m["database"] == database]
        result.update(database_heal_data(ledger, mine))
    return result


def database_heal_data(ledger: str, migrations: Sequence[Mapping[str, Any]]) -> dict[int, tuple[Any, ...]]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute(f"CREATE TABLE {quote_identifier(ledger)} (version INTEGER PRIMARY KEY)")
    conn.execute("PRAGMA foreign_keys=OFF")
    # Per migration: the facts before it, after each step, the digests, the object names.
    runs: list[tuple[set[str], list[set[str]], list[str]]] = []
    for migration in migrations:
        before = live_facts(conn, ledger)
        facts, digests = [], []
        for step in migration["steps"]:
            execute_steps(conn, [step])
            facts.append(live_facts(conn, ledger))
            digests.append(digest_of(conn, ledger))
        runs.append((before, facts, digests))
    ends = [facts[-1] if facts else before for before, facts, _ in runs]
    result: dict[int, tuple[Any, ...]] = {}
    for index, migration in enumerate(migrations):
        before, facts, digests = runs[index]
        later = [(int(m["version"]), ends[j]) for j, m in enumerate(migrations) if j > index]
        seen = {_object(f) for f in before if f.startswith("o|")}
        names = sorted({_object(f) for state in facts for f in state if f.startswith("o|")} - seen)
        records = []
        created: set[str] = set()
        for i, step in enumerate(migration["steps"]):
            prior = facts[i - 1] if i else before
            made, unmade = _evidence(facts[i] - prior, prior - facts[i])
            end = facts[-1]
            marks = tuple(sorted((f, TRANSIENT if f not in end else _first(later, lambda s, f=f: f not in s))
                                 for f in made))
            removes = tuple(sorted((f, _first(later, lambda s, f=f: f in s)) for f in unmade if f not in end))
            effect, table, other = _effect(str(step[2]), prior != facts[i], created)
            if _CREATE_TABLE.match(str(step[2])):
                # Created empty by this step: until a first INSERT fills it, rows tell that it ran.
                created |= {_object(f).split("|", 1)[1] for f in facts[i] - prior if f.startswith("o|table|")}
            created.discard(name_key(table))
            records.append((digests[i], effect, table, other, marks, removes))
        result[int(migration["version"])] = (tuple(names), tuple(records))
    conn.close()
    return result


def _evidence(made: set[str], unmade: set[str]) -> tuple[set[str], set[str]]:
    """What a step makes and unmakes, as evidence: a step that makes columns (CREATE TABLE, ADD
    COLUMN, a rename into a table) shows in them, not in its table's SQL, which any other
    migration's ADD COLUMN (a later one, the half-run pending one, a completion) changes too."""
    widened = {f"table|{f.split('|')[1]}" for f in made if f.startswith("c|")}
    return ({f for f in made if _object(f) not in widened or f.startswith("c|")},
            {f for f in unmade if _object(f) not in widened or f.startswith("c|")})


def _first(later: Sequence[tuple[int, set[str]]], test: Any) -> int:
    return next((version for version, state in later if test(state)), 0)


def _object(fact: str) -> str:
    return "|".join(fact.split("|")[1:3])


def _unquote(name: str) -> str:
    if name[0] in "\"`[":
        return name[1:-1].replace('""', '"')
    return name


def _effect(sql: str, changes_schema: bool, created: set[str]) -> tuple[str, str, str]:
    """(effect, table, other) of one step; see HEAL's layout."""
    rename = _RENAME.match(sql)
    if changes_schema:
        if rename:
            return RENAME, _unquote(rename.group(1)), _unquote(rename.group(2))
        return SCHEMA, "", ""
    insert = _INSERT.match(sql)
    if insert:
        target = _unquote(insert.group(2))
        if name_key(target) in created:
            return FRESH, target, ""
        if (insert.group(1) or "").upper() in ("IGNORE", "REPLACE") or sql.lstrip()[:7].upper() == "REPLACE" \
                or _DO_NOTHING.search(sql):
            return RERUN, "", ""
        return ONCE, "", ""
    head = sql.lstrip()[:6].upper()
    if head in ("PRAGMA", "DELETE") or sql.lstrip()[:4].upper() == "DROP":
        return RERUN, "", ""  # deletes what a condition selects: a second run finds nothing more
    update = _UPDATE.match(sql)
    assigned = _ASSIGNED.findall(update.group(1)) if update else []
    if update and any(re.search(rf"\b{re.escape(c)}\b", update.group(2), re.IGNORECASE) for c in assigned):
        # The WHERE clause tests a column SET assigns (`SET c = ... WHERE c IS NULL`): the
        # rows the first run changed no longer match. The heal proof checks this with rows.
        return RERUN, "", ""
    return ONCE, "", ""
