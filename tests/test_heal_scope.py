"""What healing on adoption covers: the migrations up to the manifest's
`original_runner_through` (the ones CortexPrism's runner may have left half-applied). Their
HEAL data and heal proof are built; the migrations after them are applied only by cortexdb, one
transaction each, and cost the build nothing more."""

from __future__ import annotations

import sys
from pathlib import Path

from project import generator, load_frozen, write_project

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from benchmarks.synthetic import write_project as write_synthetic  # noqa: E402

FILES = {"001_base.sql": "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
                         "CREATE INDEX IF NOT EXISTS idx_users_name ON users(name);\n",
         "002_more.sql": "ALTER TABLE users ADD COLUMN IF NOT EXISTS email TEXT;\n"
                         "CREATE INDEX IF NOT EXISTS idx_users_email ON users(email);\n"}


def _summary(build_stdout: str) -> str:
    return next(line for line in build_stdout.splitlines() if " databases, " in line)


def test_a_project_the_original_runner_never_ran_builds_no_heal_data_and_no_heal_proof(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", FILES)
    build = generator(project, "build")
    assert build.returncode == 0, build.stdout + build.stderr
    assert "heal:" not in _summary(build.stdout)
    assert load_frozen(project / "cortexdb" / "_frozen.py").HEAL == {}


def test_heal_data_and_proof_cover_the_migrations_through_original_runner_through(tmp_path: Path) -> None:
    project = write_project(tmp_path / "p", FILES, original_runner_through=1)
    build = generator(project, "build")
    assert build.returncode == 0, build.stdout + build.stderr
    assert _summary(build.stdout).endswith("; heal: 4/4 crash points healed")  # 2 statements x 2 states
    assert sorted(load_frozen(project / "cortexdb" / "_frozen.py").HEAL) == [1]


def test_every_crash_point_of_a_guarded_set_heals_or_is_a_warning(tmp_path: Path) -> None:
    """The synthetic statements of the generator benchmark (every kind, all guarded): none is an
    error of the heal proof. The warnings are the original runner's own loss: after an unguarded
    ADD COLUMN said "duplicate column", its next start skipped the file's later INSERTs, which no
    heal can tell from rows the application deleted."""
    project = write_synthetic(tmp_path / "p", 4, databases=2, original_runner_through=4)
    build = generator(project, "build")
    assert build.returncode == 0, build.stdout + build.stderr
    summary = _summary(build.stdout)
    assert "findings: 0 errors, " in summary
    warnings = [line for line in build.stdout.splitlines() + build.stderr.splitlines() if " MG210 " in line]
    assert all("the original runner skipped an INSERT" in line for line in warnings), warnings


def test_a_committed_heal_proof_record_stands_for_the_same_inputs_only(tmp_path: Path) -> None:
    """The schema file records a passing proof with the digest of its inputs; a build with the
    same inputs (the build cache gone, as on a fresh clone) takes it; a record of other inputs
    (a migration edited, or the record tampered with) runs the proof again and is rewritten."""
    import shutil

    project = write_project(tmp_path / "p", FILES, original_runner_through=2)
    first = generator(project, "build")
    assert first.returncode == 0, first.stdout + first.stderr
    assert _summary(first.stdout).endswith("; heal: 8/8 crash points healed")
    schema_file = project / "schema" / "main.sql"
    record = next(line for line in schema_file.read_text().splitlines() if line.startswith("-- Heal proof: "))
    assert record.startswith("-- Heal proof: 8/8 crash points healed; its inputs: sha256:")

    shutil.rmtree(project / ".cache")
    again = generator(project, "build")
    assert _summary(again.stdout).endswith("; heal: 8/8 crash points healed (as schema/*.sql records)")

    shutil.rmtree(project / ".cache")
    schema_file.write_text(schema_file.read_text().replace(record, record[:-10] + "0000000000"))
    tampered = generator(project, "build")
    assert _summary(tampered.stdout).endswith("; heal: 8/8 crash points healed"), tampered.stdout
    assert record in schema_file.read_text().splitlines()  # the proof ran again and recorded itself

    shutil.rmtree(project / ".cache")
    migration = project / "migrations" / "002_more.sql"
    migration.write_text(migration.read_text() + "CREATE INDEX IF NOT EXISTS idx_users_both ON users(name, email);\n")
    generator(project, "unlock", "2")
    edited = generator(project, "build")
    assert edited.returncode == 0, edited.stdout + edited.stderr
    assert _summary(edited.stdout).endswith("; heal: 10/10 crash points healed")
