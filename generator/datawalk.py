"""The proof on data: the migrations again, on a database whose tables hold rows.

An empty database hides every migration that fails only on existing rows (`ADD COLUMN ...
DEFAULT CURRENT_TIMESTAMP`, `NOT NULL` without a default, a UNIQUE index over duplicates, a
CHECK the old rows break after a rebuild), yet every database in production has rows. So a
second scratch database walks the same migrations, and after each one every table that is
new or changed (its CREATE statement, an index, a trigger on it) is given a few synthetic
rows its constraints accept (populate.py). A statement that fails here but not on the empty
database is MG201, at its line, naming the tables that hold rows and SQLite's reason.

After such a failure the walk starts again from a copy of the empty walk's database, filled
afresh, so one mistake gives one finding rather than one per later migration.

MG202 is the warning synthetic rows cannot make reliable: a unique key new on a table an
earlier migration made (real rows may repeat where synthetic ones happen not to).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cortexdb._contract import Step, name_key

from .diagnostics import Diagnostic, Severity
from .populate import Populator
from .scratch import Failure, Scratch
from .tables import Table, TableIndex, UniqueKey, describe

if TYPE_CHECKING:
    from .proofinput import ProofInput


class DataWalk:
    def __init__(self, scratch: Scratch) -> None:
        self.scratch = scratch
        self.populator = Populator(scratch.conn)
        self.index = TableIndex()  # the schema at the last fill
        self.tables: dict[str, Table] = {}  # name_key -> the table as last described

    def close(self) -> None:
        self.scratch.close()

    def step(self, proof: ProofInput, failed: set[int], empty: Scratch) -> list[Diagnostic]:
        """Run `proof` on the populated database; its findings. `failed` are the lines that
        failed on the empty database too (reported there), `empty` that database."""
        earlier = dict(self.tables)
        failures = [f for f in self.scratch.apply(proof.migration) if f.line not in failed]
        found = [d for f in failures if (d := self._failure(proof, f)) is not None]
        if failures:
            self.scratch.copy_from(empty)
            self.index, self.tables = TableIndex(), {}
            self._fill(empty)
            return found
        return found + self._new_unique_keys(proof, earlier, self._fill(empty))

    def _failure(self, proof: ProofInput, failure: Failure) -> Diagnostic | None:
        if proof.allowance(failure.line, "MG201") is not None:
            return None
        where = f" (table {', '.join(failure.tables)})" if failure.tables else ""
        return Diagnostic(proof.path, failure.line, 1, "MG201",
                          f"fails on a database that holds rows{where}: {failure.reason}; an empty database "
                          "hides this: give existing rows what the statement needs (a constant DEFAULT, an "
                          "UPDATE before it, the rows removed or fixed first), or allow MG201 with a reason")

    def _fill(self, empty: Scratch) -> list[Table]:
        """Give synthetic rows to every table whose schema rows (its own, its indexes' and
        triggers') changed since the last fill; those tables, as SQLite describes them now.

        Both walks ran the same statements from the same schema, and no schema change depends
        on rows (a statement that fails only here makes the walk start again from a copy of
        the empty walk's database), so the empty walk's schema, already read, is this one's:
        one read of sqlite_master per migration, not two.
        """
        changed = self.index.update(empty.schema())
        for key in changed:
            if self.index.ordinary(key) is None:
                self.tables.pop(key, None)
        described = [t for key in sorted(changed) if (found := self.index.ordinary(key)) is not None
                     and (t := describe(self.scratch.conn, *found)) is not None]
        self.tables.update((name_key(t.name), t) for t in described)
        self.populator.fill(described)
        return described

    def _new_unique_keys(self, proof: ProofInput, earlier: dict[str, Table], changed: list[Table]
                         ) -> list[Diagnostic]:
        """MG202 for each unique key on a table an earlier migration made that no earlier key implies."""
        found = []
        for table in changed:
            before = earlier.get(name_key(table.name))
            if before is None:
                continue
            for key in table.uniques:
                if key in before.uniques or any(old.implies(key) for old in before.uniques):
                    continue
                line = _line_naming(proof, [key.index, table.name])
                if proof.allowance(line, "MG202") is not None:
                    continue
                found.append(Diagnostic(proof.path, line, 1, "MG202", _unique_message(table, key), Severity.WARNING))
        return found


def _unique_message(table: Table, key: UniqueKey) -> str:
    columns = ", ".join(c if c is not None else "<expression>" for c, _ in key.parts)
    what = f"UNIQUE index {key.index}" if key.explicit else "a UNIQUE or PRIMARY KEY constraint"
    return (f"{what} on {table.name} ({columns}), a table an earlier migration made: a database whose rows "
            "repeat these values fails here; remove the duplicates first, or allow MG202 with a reason")


def _line_naming(proof: ProofInput, names: list[str]) -> int:
    """The line of the first statement that names one of `names` (tried in order)."""
    steps = [Step(raw) for raw in proof.steps]
    for name in names:
        if name and not name_key(name).startswith("sqlite_"):
            for step in steps:
                if name_key(name) in name_key(step.sql):
                    return int(step.line)
    return int(steps[0].line) if steps else 1
