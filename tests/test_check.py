"""`python -m generator check`: exit 1 with the difference whenever the generated files (the
frozen module, its index, migrations.lock) disagree with the sources; exit 0 once rebuilt."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from project import ROOT, generator, write_project

MIGRATIONS = {
    "001_jobs.sql": "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n",
    "002_job_names.sql": "CREATE INDEX IF NOT EXISTS jobs_name ON jobs (name);\n",
}


@pytest.fixture
def built(tmp_path: Path) -> Path:
    project = write_project(tmp_path, MIGRATIONS)
    assert generator(project, "build").returncode == 0
    proc = generator(project, "check")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout == "generated files are up to date\n"
    return project


def edit_sql_without_rebuilding(project: Path) -> None:
    path = project / "migrations" / "002_job_names.sql"
    path.write_text("-- look-ups by name\n" + path.read_text())


def add_migration_without_rebuilding(project: Path) -> None:
    write_project(project, {**MIGRATIONS, "003_job_state.sql":
                            "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS state TEXT;\n"})


def edit_module_by_hand(project: Path) -> None:
    path = project / "cortexdb" / "_frozen.py"
    path.write_text(path.read_text().replace('"description": \'job names\'', '"description": \'tweaked\''))


def delete_module(project: Path) -> None:
    (project / "cortexdb" / "_frozen.py").unlink()


def edit_index_by_hand(project: Path) -> None:
    path = project / "cortexdb" / "_frozen_index.py"
    text = path.read_text()
    fingerprint = text.split('"fingerprint": ', 1)[1].split("}", 1)[0]
    path.write_text(text.replace(f'"fingerprint": {fingerprint}', '"fingerprint": 12345'))


def delete_index(project: Path) -> None:
    (project / "cortexdb" / "_frozen_index.py").unlink()


def keep_an_old_index(project: Path) -> None:
    """The index of the previous build beside a rebuilt frozen module."""
    index = project / "cortexdb" / "_frozen_index.py"
    old = index.read_bytes()
    add_migration_without_rebuilding(project)
    assert generator(project, "build").returncode == 0
    index.write_bytes(old)


@pytest.mark.parametrize(("change", "stale", "shown"), [
    (edit_sql_without_rebuilding, ["cortexdb/_frozen.py", "cortexdb/_frozen_index.py", "migrations.lock"],
     "-# Source hash: sha256:"),
    (add_migration_without_rebuilding, ["cortexdb/_frozen.py", "cortexdb/_frozen_index.py", "migrations.lock"],
     "+003 003_job_state.sql main c2:"),
    (edit_module_by_hand, ["cortexdb/_frozen.py"], "-        \"description\": 'tweaked',\n"
                                                   "+        \"description\": 'job names',"),
    (delete_module, ["cortexdb/_frozen.py"], ""),
    (edit_index_by_hand, ["cortexdb/_frozen_index.py"], '"fingerprint": 12345}'),
    (delete_index, ["cortexdb/_frozen_index.py"], ""),
    (keep_an_old_index, ["cortexdb/_frozen_index.py"], "-# Sources: manifest.toml and 2 migrations in migrations/\n"
                                                       "+# Sources: manifest.toml and 3 migrations in migrations/"),
])
def test_check_fails_with_a_diff_then_passes_after_a_rebuild(
        built: Path, change: Callable[[Path], None], stale: list[str], shown: str) -> None:
    change(built)
    proc = generator(built, "check")

    assert proc.returncode == 1
    assert [line.split(":")[0] for line in proc.stderr.splitlines() if " MG305 " in line] == stale
    assert "run `make migrations`" in proc.stderr
    for rel in stale:
        if (built / rel).exists():
            assert f"--- {rel} (on disk)\n+++ {rel} (from sources)\n" in proc.stdout
        else:
            assert f"{rel}: missing: run `make migrations`" in proc.stdout
            assert f"{rel}:1:1: MG305 missing" in proc.stderr
    assert shown in proc.stdout

    assert generator(built, "build").returncode == 0
    after = generator(built, "check")
    assert after.returncode == 0, after.stdout + after.stderr


def test_check_after_deleting_a_migration(built: Path) -> None:
    """Deleting a built migration (file and manifest entry): the lock still holds it."""
    (built / "migrations" / "002_job_names.sql").unlink()
    write_project(built, {"001_jobs.sql": MIGRATIONS["001_jobs.sql"]})

    proc = generator(built, "check")
    assert proc.returncode == 1
    assert "migrations.lock:1:1: MG304 migration 002 (002_job_names.sql) is locked but no longer in the " \
           "manifest: restore it (shipped migrations are never deleted)" in proc.stderr

    # Never shipped: unlocked, the frozen module still holds it, and check shows that.
    assert generator(built, "unlock", "002").returncode == 0
    unlocked = generator(built, "check")
    assert unlocked.returncode == 1
    assert "cortexdb/_frozen.py:2:1: MG305" in unlocked.stderr
    assert "-        \"file\": '002_job_names.sql'," in unlocked.stdout

    assert generator(built, "build").returncode == 0
    assert generator(built, "check").returncode == 0


def test_check_refuses_a_semantic_edit_of_a_locked_migration(built: Path) -> None:
    (built / "migrations" / "002_job_names.sql").write_text(
        "CREATE INDEX IF NOT EXISTS jobs_name ON jobs (name, id);\n")
    proc = generator(built, "check")
    assert proc.returncode == 1
    assert "migrations/002_job_names.sql:1:1: MG302 migration 002 changed since it was locked" in proc.stderr
    assert proc.stdout == "check failed: the sources do not build\n"


def test_check_writes_nothing(built: Path) -> None:
    edit_sql_without_rebuilding(built)
    before = {p: p.read_bytes() for p in built.rglob("*") if p.is_file()}
    assert generator(built, "check").returncode == 1
    assert {p: p.read_bytes() for p in built.rglob("*") if p.is_file()} == before


def _tree(root: Path) -> dict[str, bytes | None]:
    """Every file (its bytes) and folder (None) under `root`."""
    return {p.relative_to(root).as_posix(): (p.read_bytes() if p.is_file() else None) for p in root.rglob("*")}


def test_check_writes_nothing_anywhere_in_a_read_only_copy_of_the_project(tmp_path: Path) -> None:
    """`check` runs in CI on checkouts it must not change: not even the build cache is written
    (it used to be, on every check that parsed)."""
    project = tmp_path / "project"
    shutil.copytree(ROOT / "migrations", project / "migrations")
    for name in ("manifest.toml", "migrations.lock"):
        shutil.copy(ROOT / name, project / name)
    assert generator(project, "build").returncode == 0
    shutil.rmtree(project / ".cache")  # so check must parse, and would store what it parsed
    before = _tree(project)
    for path in [project, *project.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)
    try:
        proc = generator(project, "check")
        assert (proc.returncode, proc.stdout) == (0, "generated files are up to date\n"), proc.stderr
        assert _tree(project) == before
        assert not (project / ".cache").exists()
    finally:
        for path in [project, *project.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)
