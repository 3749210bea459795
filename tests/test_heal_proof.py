"""The build-time heal proof (generator/healproof.py) over the shipped set and over a project of
unguarded files allowed in its manifest, where the original runner's crashes do real damage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from project import generator, load_frozen, write_project
from runtime_support import real_frozen

from generator.diagnostics import Diagnostic
from generator.healdata import heal_data
from generator.healproof import HealProofInput, prove_database_heal

_ALLOW_ALL = {code: "adopted from CortexPrism: it ran once" for code in
              ("MG001", "MG002", "MG004", "MG005", "MG006", "MG007", "MG010")}
UNGUARDED = {
    "001_base.sql": "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
                    "CREATE TABLE notes (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), body TEXT);\n"
                    "CREATE INDEX idx_notes_user ON notes(user_id);\n",
    "002_columns.sql": "ALTER TABLE users ADD COLUMN email TEXT;\n"
                       "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'member';\n"
                       "ALTER TABLE notes ADD COLUMN created_at TEXT;\n"
                       "CREATE INDEX idx_users_email ON users(email);\n",
    "003_rebuild.sql": "PRAGMA foreign_keys=OFF;\n"
                       "CREATE TABLE notes_new (id INTEGER PRIMARY KEY, user_id INTEGER REFERENCES users(id), "
                       "body TEXT NOT NULL DEFAULT '', created_at TEXT);\n"
                       "INSERT INTO notes_new (id, user_id, body, created_at) "
                       "SELECT id, user_id, coalesce(body, ''), created_at FROM notes;\n"
                       "DROP TABLE notes;\n"
                       "ALTER TABLE notes_new RENAME TO notes;\n"
                       "CREATE INDEX idx_notes_user ON notes(user_id);\n"
                       "PRAGMA foreign_keys=ON;\n",
    "004_more.sql": "ALTER TABLE notes ADD COLUMN title TEXT;\n"
                    "CREATE INDEX idx_notes_title ON notes(title);\n"
                    "ALTER TABLE users ADD COLUMN active INTEGER NOT NULL DEFAULT 1;\n",
}


@dataclass(frozen=True)
class HealProofResult:
    healed: int
    points: int
    diagnostics: list[Diagnostic]

    def summary(self) -> str:
        """As the build summary ends (generator/build.py)."""
        return f"heal: {self.healed}/{self.points} crash points healed"


def _prove(frozen: Any) -> HealProofResult:
    heal = heal_data(frozen.LEDGER, frozen.MIGRATIONS)
    databases: dict[str, list[HealProofInput]] = {}
    for entry in frozen.MIGRATIONS:
        databases.setdefault(entry["database"], []).append(
            HealProofInput(entry["version"], f"migrations/{entry['file']}", entry, heal[entry["version"]]))
    healed = points = 0
    diagnostics: list[Diagnostic] = []
    for inputs in databases.values():
        done, total, found = prove_database_heal(inputs, frozen.LEDGER)
        healed, points, diagnostics = healed + done, points + total, diagnostics + found
    return HealProofResult(healed, points, diagnostics)


def _built(tmp_path: Path, files: Mapping[str, str]) -> Any:
    project = write_project(tmp_path / "project", files, allow={file: _ALLOW_ALL for file in files})
    build = generator(project, "build")
    assert build.returncode == 0, build.stdout + build.stderr
    return load_frozen(project / "cortexdb" / "_frozen.py")


def test_every_crash_point_of_the_shipped_set_is_healed() -> None:
    frozen = real_frozen()
    result = _prove(frozen)
    statements = sum(len(e["steps"]) for e in frozen.MIGRATIONS)
    assert result.points == 2 * statements == 754  # each statement: as left, and after a restart
    assert result.summary() == "heal: 754/754 crash points healed"
    assert result.diagnostics == []


def test_crash_points_of_an_unguarded_allowed_project_are_healed_or_refused(tmp_path: Path) -> None:
    """15 steps (the PRAGMAs are flags). A rebuild the next start recorded half-done, with 004's
    column then added to the old table, is refused (repair's job); nothing ends wrong."""
    result = _prove(_built(tmp_path, UNGUARDED))
    assert result.points == 2 * 15
    assert result.summary() == "heal: 27/30 crash points healed", "\n".join(map(str, result.diagnostics))
    for diagnostic in result.diagnostics:
        assert diagnostic.code == "MG210" and "after its next start" in diagnostic.message
        assert diagnostic.message.endswith("run `cortex db repair`")  # a refusal, not a wrong result


def test_a_crash_point_that_cannot_be_told_is_an_error_at_its_line(tmp_path: Path) -> None:
    """After `UPDATE ... SET n = n + 1` the schema is the same as before it, and running it twice
    is not harmless: the heal refuses, and the proof names the statement."""
    files = {"001_base.sql": "CREATE TABLE counters (id INTEGER PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0);\n",
             "002_bump.sql": "ALTER TABLE counters ADD COLUMN seen INTEGER;\n"
                             "UPDATE counters SET n = n + 1;\n"
                             "CREATE INDEX idx_counters_n ON counters(n);\n"}
    result = _prove(_built(tmp_path, files))
    assert result.healed < result.points
    failures = [d for d in result.diagnostics if d.code == "MG210"]
    assert failures and all(d.path == "migrations/002_bump.sql" for d in failures)
    assert any(d.line == 2 for d in failures)
    assert any("running it twice is not harmless" in d.message for d in failures)
