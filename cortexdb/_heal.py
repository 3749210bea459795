"""Healing a database the original runner left half-migrated: complete, resume, check, or refuse.

CortexPrism's runner ran each file statement by statement without a transaction, and when a
statement said "already exists" or "duplicate column" it recorded the whole file as applied.
So a crash inside a migration leaves one of two things:

- a recorded migration with its last statements never run (its next start re-ran it, an
  unguarded statement said "already exists", and the file was recorded), often with later
  migrations run on top;
- a pending migration (no ledger row) whose first statements took effect, which fails on every
  start (a rebuild interrupted after `DROP TABLE t` leaves the rows only in `t_new`).

The build runs each migration's compiled steps on a scratch database and embeds, per step, the
digest of the schema after it and the facts it makes and unmakes (`HEAL`, layout below;
`generator/healdata.py` writes it). A fact is an object with its exact SQL, or one column of a
table. `heal` then:

1. (check) compares the live schema with the one proven for the ledger's last migration; a
   live schema in that state, or partway through the first pending migration, needs no
   completion;
2. (complete) otherwise, for each recorded migration in order: a step ran when what it makes is
   there (and what it drops is gone), did not run when something it makes that no later recorded
   migration removes is missing. It runs the steps from the one after the last that ran,
   skipping those whose effects a later recorded migration undid;
3. (resume) the pending migration is resumed after the step whose proven schema equals the live
   one. Where several steps in a row have that schema (statements that change no schema), an
   `INSERT` into a table this migration created ran if that table holds rows (it was created
   empty, and one statement fills it atomically); any other such step is run again only when it
   is one whose second run changes nothing (`=`); otherwise the resume point is ambiguous: refused;
4. (check) the result must have the proven schema; a table the heal renames into (a rebuild)
   must hold at least the rows either copy held before; no foreign-key violation may be added.

The rows rule: a rebuild crashed after `DROP TABLE t` resumes at the rename, so `t_new`'s rows
become `t`'s. Crashed between `CREATE TABLE t_new` and `INSERT INTO t_new SELECT ... FROM t`:
`t_new` is empty, `t` still exists (its DROP changes the schema, so the schema says it did not
run), and the copy runs again; crashed after the copy, `t_new` has rows and the copy is not
repeated. Either way `t` is dropped only after its rows are in `t_new`, and step 4 checks it.

This module imports only the contract, whose facts and digests (`live_facts`, `digest_of`) the
build reads too: build and runtime agree on what a schema is. The build-time heal proof runs
this module in a child process (`python -m cortexdb._heal`, below): the generator imports only
the contract, and the proof judges the heal the runtime ships, not a copy.

    HEAL = {version: (names, steps)}
      names: ("type|name", ...) objects that exist at some point of this migration and not
             before it (name as `name_key` folds it); their union is what the heal compares
      steps: one per compiled step: (digest, effect, table, other, marks, removes)
        digest: `schema_digest` of the whole schema after the step
        effect: "s" changes the schema, "r" renames table `table` to `other`, "f" inserts into
                `table` which this migration created, "=" changes no schema and a second run
                changes nothing, "1" changes no schema and must run once
        marks:   ((fact, kill), ...) facts the step makes; kill 0: still there after every later
                 migration, -1: gone by the end of this migration, else the first later version
                 after which it is gone
        removes: ((fact, back), ...) facts the step unmakes that stay gone to the end of this
                 migration; back 0: never made again, else the first later version after which
                 it is there again
"""

from __future__ import annotations

from ._contract import (
    FRESH,
    ONCE,
    RENAME,
    RERUN,
    SCHEMA,
    TRANSIENT,
    execute_steps,
    live_facts,
    name_key,
    objects_digest,
    schema_digest,
    schema_objects,
    shown_version,
)
from ._heal_checks import (
    REPAIR,
    HealMigration,
    HealRefusal,
    check_rows,
    check_violations,
    count_rows,
    mismatch,
    proven_schema,
    reorder,
    violations,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence
    from typing import Any

class Healed:
    """What `heal` did. The caller records `resumed`'s migration in the same transaction."""

    __slots__ = ("completed", "resumed", "unknown")

    def __init__(self, completed: list[tuple[int, int]], resumed: tuple[int, int] | None,
                 unknown: list[str]) -> None:
        self.completed = completed  # (version, first step run) of recorded migrations completed
        self.resumed = resumed  # (version, first step run) of the pending migration finished
        self.unknown = unknown  # live objects no migration makes: left alone, not compared

    @property
    def changed(self) -> bool:
        return bool(self.completed or self.resumed)

    def describe(self) -> str:
        parts = [f"completed migration {shown_version(v)} from step {s + 1}" for v, s in self.completed]
        if self.resumed:
            parts.append(f"finished migration {shown_version(self.resumed[0])} from step {self.resumed[1] + 1}")
        return "; ".join(parts) or "schema matches the ledger"


def of_catalog(migrations: Iterable[Any], heal: Mapping[int, Any]) -> list[HealMigration] | None:
    """The HealMigrations of one database's catalog migrations (`_catalog.Migration`) that the
    build's HEAL covers: those up to the manifest's `original_runner_through`, the ones the
    original runner may have left half-applied; None when it covers none of them."""
    found = []
    for m in migrations:
        if m.version not in heal:
            break
        found.append(HealMigration(m.version, m.file, m.steps, m.foreign_keys_off, heal[m.version]))
    return found or None


def heal(conn: Any, ledger: str, migrations: Sequence[HealMigration], applied: Iterable[int],
         errors: tuple[type[BaseException], ...] = (Exception,)) -> Healed:
    """Check, complete and resume, inside the caller's write transaction; or raise HealRefusal.

    The caller turns foreign keys off first, as for a `foreign_keys_off` migration (between
    transactions: inside one the pragma is a no-op): a completion may rebuild a table, whose
    DROP would otherwise cascade into the rows that reference it. Step 4 checks that no
    foreign-key violation was added.

    `migrations` are one database's, in version order; `applied` the versions its ledger
    records. On HealRefusal the caller rolls back: steps may have run.
    """
    done = set(applied)
    recorded = _recorded(migrations, done)
    if any(m.version in done for m in migrations[recorded:]):
        gap = migrations[recorded]
        raise HealRefusal("ambiguous", f"the ledger records migrations after {gap.label} but not it: "
                          f"the build proves no schema for that state; {REPAIR}", [gap.file])
    known = {name for m in migrations for name in m.names}
    before = _after(migrations, recorded)
    pending = migrations[recorded] if recorded < len(migrations) else None
    chain = [before] + [record[0] for record in (pending.records if pending else ())]
    schema = schema_objects(conn, ledger)
    unknown = sorted(name for key, (name, _) in schema.items() if key not in known)
    live = objects_digest(schema, known)
    run = _Runner(conn, errors, migrations)
    completed: list[tuple[int, int]] = []
    facts: set[str] | None = None
    last = migrations[recorded - 1].version if recorded else 0
    # Even a proven schema may lack a recorded migration's seed rows (see `_unfilled`).
    for migration in migrations[:recorded]:
        if facts is None:
            facts = live_facts(conn, ledger)  # read again only after a completion ran steps
        start = _complete(conn, facts, migration, last, run, full=live not in chain)
        if start is not None:
            completed.append((migration.version, start))
            facts = None
    if completed or live not in chain:
        schema = schema_objects(conn, ledger)
        live = objects_digest(schema, known)
        if live not in chain and completed:
            # Columns a completion added come after those later migrations added: the table
            # has the proven columns in another order, which only a rebuild can change.
            reorder(conn, ledger, schema, proven_schema(ledger, migrations[:recorded]))
            schema = schema_objects(conn, ledger)
            live = objects_digest(schema, known)
        if live not in chain:
            raise mismatch(conn, ledger, migrations, recorded, schema, known, completed)
    resumed = None
    if pending is not None and live != before:
        start = _resume_point(conn, pending, [q for q, digest in enumerate(chain) if digest == live])
        if start < len(pending.steps):
            run(pending, range(start, len(pending.steps)), "finishing")
        if objects_digest(schema_objects(conn, ledger), known) != chain[-1]:
            raise HealRefusal("definition", f"finishing migration {pending.label} from {pending.line(start)} "
                              f"did not give its proven schema; {REPAIR}", [pending.file])
        resumed = (pending.version, start)
    if run.violations is not None:  # steps ran: check what they did
        check_rows(conn, run.counts, migrations, completed, resumed)
        check_violations(run.violations, violations(conn))
    return Healed(completed, resumed, unknown)


def check(conn: Any, ledger: str, migrations: Sequence[HealMigration], applied: Iterable[int]) -> Healed:
    """For a backend that does not complete (a database on a server): the live schema must be
    the one the build proves for the ledger (step 1 of `heal`), else HealRefusal naming what
    differs. A heal there would be a round trip per statement inside the write transaction the
    server aborts after 5 s; `cortex db repair` works there."""
    done = set(applied)
    recorded = _recorded(migrations, done)
    known = {name for m in migrations for name in m.names}
    schema = schema_objects(conn, ledger)
    if any(m.version in done for m in migrations[recorded:]) or \
            objects_digest(schema, known) != _after(migrations, recorded):
        refusal = mismatch(conn, ledger, migrations, recorded, schema, known, [])
        raise HealRefusal(refusal.kind, f"cortexdb heals local files only, and {refusal.message}", refusal.objects)
    return Healed([], None, [])


class _Runner:
    """Runs a migration's steps for the heal. Before the first, it reads what the final checks
    compare with (rows of the tables a rebuild renames, foreign-key violations): a heal that
    runs nothing reads only the schema, even on a large database."""

    def __init__(self, conn: Any, errors: tuple[type[BaseException], ...],
                 migrations: Sequence[HealMigration]) -> None:
        self.conn = conn
        self.errors = errors
        self.renamed = sorted({name_key(str(record[k])) for m in migrations for record in m.records
                               if record[1] == RENAME for k in (2, 3)})
        self.counts: dict[str, int] = {}
        self.violations: dict[tuple[str, str], int] | None = None

    def __call__(self, migration: HealMigration, indexes: Iterable[int], doing: str) -> None:
        if self.violations is None:
            self.counts = {f"table|{name}": count_rows(self.conn, name) for name in self.renamed}
            self.violations = violations(self.conn)
        _run(self.conn, migration, indexes, self.errors, doing)


def _recorded(migrations: Sequence[HealMigration], done: set[int]) -> int:
    count = 0
    while count < len(migrations) and migrations[count].version in done:
        count += 1
    return count


def _after(migrations: Sequence[HealMigration], count: int) -> str:
    """The proven digest after the first `count` migrations."""
    for migration in reversed(migrations[:count]):
        if migration.records:
            return str(migration.records[-1][0])
    return schema_digest(())


def _complete(conn: Any, facts: set[str], migration: HealMigration, last: int, run: _Runner,
              full: bool) -> int | None:
    """Run the steps of a recorded migration that did not run; the first one run, or None.

    Unless `full` (the live schema is one the ledger's state proves, or one partway through
    the pending migration, whose first steps may have removed what this one made), only its
    unfilled seed rows are looked for."""
    status: list[bool | None] = []  # per step: ran, did not run, or no evidence
    scratch = _scratch(migration)  # absent before the migration made it too: no evidence
    for _, _, _, _, marks, removes in migration.records:
        alive = [fact for fact, kill in marks if kill == 0 or kill > last]
        passing = [fact for fact, kill in marks if kill == TRANSIENT]
        gone = [fact for fact, back in removes if (back == 0 or back > last) and _owner(fact) not in scratch]
        if any(fact not in facts for fact in alive) or any(fact in facts for fact in gone):
            status.append(False)
        elif alive or gone or any(fact in facts for fact in passing):
            status.append(True)
        else:
            status.append(None)
    if False not in status:
        return _unfilled(conn, migration, status, run)
    if not full:
        return None
    absent = status.index(False)
    start = max((i + 1 for i in range(absent) if status[i]), default=0)
    start = _decide(conn, migration, start, absent)
    todo = [i for i in range(start, len(migration.steps)) if not _undone(migration.records[i], last)]
    run(migration, todo, "completing")
    return start


def _unfilled(conn: Any, migration: HealMigration, status: Sequence[bool | None], run: _Runner) -> int | None:
    """Every schema effect is there, but the crash may have come right before the INSERT that
    fills a table this migration created (its seed rows): the schema cannot show that, its rows
    can. After the last step with evidence, when only such fills and steps whose second run
    changes nothing follow, and a filled table is empty, they run (filling an empty table
    again fills it as the first run would), and so do they when a scratch table a step of the
    tail drops is still there. A table the user emptied is filled again too."""
    ran = max((i for i, seen in enumerate(status) if seen), default=-1)
    tail = migration.records[ran + 1:]
    scratch = _scratch(migration)
    if not tail or not all(record[1] in (FRESH, RERUN) or _passing(record, scratch) for record in tail):
        return None
    # A scratch object still there says its DROP (in the tail) never ran, as an empty fresh table does.
    stranded = ran >= 0 and bool(migration.records[ran][4]) and _passing(migration.records[ran], scratch)
    if not stranded and not any(record[1] == FRESH and not count_rows(conn, record[2]) for record in tail):
        return None
    run(migration, range(ran + 1, len(migration.steps)), "completing")
    return ran + 1


def _passing(record: Sequence[Any], scratch: set[str]) -> bool:
    """A schema step that only makes or drops what its migration makes and drops again (a
    scratch table: `scratch` names what is gone by the migration's end): running it again
    leaves nothing behind."""
    marks, removes = record[4], record[5]
    return record[1] == SCHEMA and bool(marks or removes) and \
        all(kill == TRANSIENT for _, kill in marks) and all(_owner(fact) in scratch for fact, _ in removes)


def _scratch(migration: HealMigration) -> set[str]:
    """What a migration makes and has removed again by its end (a scratch table, a rebuild's
    `t_new`), by name."""
    return {_owner(fact) for record in migration.records for fact, kill in record[4] if kill == TRANSIENT}


def _owner(fact: str) -> str:
    """The object a fact is about: a column's table (`c|table|column`), or the object itself
    (`o|type|name|sql`)."""
    parts = fact.split("|")
    return parts[1] if parts[0] == "c" else parts[2]


def _undone(record: Sequence[Any], last: int) -> bool:
    """A step whose every effect a later recorded migration undid: running it now would redo it."""
    marks, removes = record[4], record[5]
    effects = [kill for _, kill in marks if kill != TRANSIENT] + [back for _, back in removes]
    return bool(effects) and all(0 < version <= last for version in effects)


def _decide(conn: Any, migration: HealMigration, low: int, high: int) -> int:
    """The first step to run, between `low` (every step before it ran) and `high` (it did not).

    The schema cannot tell whether the steps in between ran: an INSERT into a table this
    migration created ran when that table holds rows (so did every step before it); a step whose
    second run changes nothing, or one that changes the schema (its effect is checked at the end),
    runs again; any other makes the resume point ambiguous.
    """
    start = low
    for i in range(low, high):
        effect, table = migration.records[i][1], migration.records[i][2]
        if effect == FRESH and count_rows(conn, table):
            start = i + 1
    for i in range(start, high):
        if migration.records[i][1] == ONCE:
            raise HealRefusal("ambiguous", f"cannot tell whether {migration.line(i)} ran before the crash (it "
                              f"changes no schema, and running it twice is not harmless); {REPAIR}",
                              [migration.file])
    return start


def _resume_point(conn: Any, pending: HealMigration, matched: list[int]) -> int:
    """`matched`: how many steps had run, for each point of the chain with the live schema."""
    # Points apart with the same schema (a scratch table made and dropped between them): the
    # steps between run again, under the same rule as those of a run of points (`_decide`).
    return _decide(conn, pending, matched[0], matched[-1])


def _run(conn: Any, migration: HealMigration, indexes: Iterable[int],
         errors: tuple[type[BaseException], ...], doing: str) -> None:
    for i in indexes:
        try:
            execute_steps(conn, [migration.steps[i]])
        except errors as error:
            raise HealRefusal("failed", f"{doing} migration {migration.label} failed at {migration.line(i)}: "
                              f"{error}; {REPAIR}", [migration.file]) from None


def _serve() -> None:
    """`python -m cortexdb._heal`, the build's heal proof asking this runtime's heal.

    Frames on stdin, each an 8-byte length and its bytes: first repr of (ledger, [(version, file,
    steps, foreign_keys_off, HEAL record)]); then per request repr of the ledger's versions and
    the database, serialized. It is healed in one write transaction, foreign keys off as the
    apply loop heals, and committed; the answer, two frames: repr of ("healed", resumed version
    or None) or ("refused", the one-line message), and the database serialized again."""
    import ast
    import sqlite3
    import sys

    def read() -> bytes | None:
        head = sys.stdin.buffer.read(8)
        return sys.stdin.buffer.read(int.from_bytes(head, "big")) if len(head) == 8 else None

    def write(frame: bytes) -> None:
        sys.stdout.buffer.write(len(frame).to_bytes(8, "big") + frame)

    first = read()
    assert first is not None
    ledger, raw = ast.literal_eval(first.decode())
    migrations = [HealMigration(*entry) for entry in raw]
    while (request := read()) is not None:
        applied, data = ast.literal_eval(request.decode()), read()
        assert data is not None
        conn = sqlite3.connect(":memory:", isolation_level=None)
        try:
            conn.deserialize(data)
            conn.execute("PRAGMA foreign_keys = OFF")  # as the apply loop heals (see `heal`)
            conn.execute("BEGIN IMMEDIATE")
            try:
                done = heal(conn, ledger, migrations, applied, (sqlite3.Error,))
                answer: tuple[str, object] = ("healed", done.resumed[0] if done.resumed else None)
                conn.execute("COMMIT")
            except HealRefusal as refusal:
                conn.execute("ROLLBACK")
                answer = ("refused", refusal.message)
            write(repr(answer).encode())
            write(conn.serialize())
        finally:
            conn.close()
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    _serve()
