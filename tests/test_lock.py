"""migrations.lock: appended by the build, refusing semantic edits, warning on cosmetic ones,
conflicting in git when two branches add the same number, and `unlock` for unshipped entries."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from project import generator, write_project

ONE = "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
TWO = "CREATE INDEX IF NOT EXISTS jobs_name ON jobs (name);\n"


def lock_entries(project: Path) -> list[list[str]]:
    """The lock's entry lines, split into fields (version, file, database, checksum, raw, ...)."""
    text = (project / "migrations.lock").read_text(encoding="utf-8")
    return [line.split(" ") for line in text.splitlines() if line and not line.startswith("#")]


def snapshot(project: Path) -> dict[str, tuple[bytes, int]]:
    return {name: ((project / name).read_bytes(), (project / name).stat().st_mtime_ns)
            for name in ("migrations.lock", "cortexdb/_frozen.py")}


def test_build_appends_a_new_migration(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_jobs.sql": ONE})
    first = generator(project, "build")
    assert first.returncode == 0, first.stderr
    assert "wrote migrations.lock" in first.stdout
    (entry,) = lock_entries(project)
    assert entry[:3] == ["001", "001_jobs.sql", "main"] and entry[3].startswith("c2:") and len(entry[4]) == 64

    write_project(tmp_path, {"001_jobs.sql": ONE, "002_job_names.sql": TWO})
    second = generator(project, "build")
    assert second.returncode == 0, second.stderr
    assert [e[:2] for e in lock_entries(project)] == [["001", "001_jobs.sql"], ["002", "002_job_names.sql"]]
    assert lock_entries(project)[0] == entry  # the locked line is untouched


def test_semantic_edit_of_a_locked_migration_is_refused(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_jobs.sql": ONE, "002_job_names.sql": TWO})
    assert generator(project, "build").returncode == 0
    before = snapshot(project)

    (project / "migrations" / "001_jobs.sql").write_text(ONE.replace("name TEXT NOT NULL", "name TEXT"))
    proc = generator(project, "build")

    assert proc.returncode == 1
    assert "migrations/001_jobs.sql:1:1: MG302 migration 001 changed since it was locked in migrations.lock: " \
           "create a new migration instead of editing this one" in proc.stderr
    assert "build failed" in proc.stdout
    assert snapshot(project) == before  # nothing written: neither the lock nor the module


@pytest.mark.parametrize("edit", [
    pytest.param(lambda sql: "-- why: the jobs queue\n" + sql, id="comment"),
    pytest.param(lambda sql: sql.replace(", ", ",\n    ").replace(" (", "\t("), id="whitespace"),
    pytest.param(lambda sql: sql.replace("\n", "\r"), id="cr"),  # CRLF alone is no edit: test_lock_eol.py
])
def test_cosmetic_edit_warns_and_updates_only_the_raw_checksum(tmp_path: Path, edit: object) -> None:
    assert callable(edit)
    project = write_project(tmp_path, {"001_jobs.sql": ONE, "002_job_names.sql": TWO})
    assert generator(project, "build").returncode == 0
    before = lock_entries(project)

    edited = edit(ONE)
    assert edited != ONE
    (project / "migrations" / "001_jobs.sql").write_bytes(edited.encode())
    proc = generator(project, "build")

    assert proc.returncode == 0, proc.stderr
    assert "migrations/001_jobs.sql:1:1: MG303 warning: cosmetic edit of a locked migration" in proc.stderr
    assert "wrote migrations.lock" in proc.stdout
    after = lock_entries(project)
    assert after[1] == before[1]
    assert after[0][:4] == before[0][:4] and after[0][4] != before[0][4]  # only the raw sha256 moved


def test_renamed_locked_migration_warns(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_jobs.sql": ONE})
    assert generator(project, "build").returncode == 0
    (project / "migrations" / "001_jobs.sql").unlink()
    write_project(tmp_path, {"001_job_queue.sql": ONE})
    proc = generator(project, "build")
    assert proc.returncode == 0, proc.stderr
    assert "MG303 warning: locked migration 001 was renamed from 001_jobs.sql" in proc.stderr
    assert [e[:2] for e in lock_entries(project)] == [["001", "001_job_queue.sql"]]


def test_unlock_removes_an_unshipped_entry(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_jobs.sql": ONE, "002_job_names.sql": TWO})
    assert generator(project, "build").returncode == 0
    (project / "migrations" / "002_job_names.sql").write_text(TWO.replace("(name)", "(name, id)"))
    assert generator(project, "build").returncode == 1  # locked: refused

    proc = generator(project, "unlock", "002")
    assert proc.returncode == 0, proc.stderr
    assert "unlocked 002 002_job_names.sql" in proc.stdout
    assert [e[0] for e in lock_entries(project)] == ["001"]

    rebuilt = generator(project, "build")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert [e[0] for e in lock_entries(project)] == ["001", "002"]

    unknown = generator(project, "unlock", "007")
    assert unknown.returncode == 2
    assert "migrations.lock:1:1: MG304 007 is not locked" in unknown.stderr


def test_a_migration_with_no_statements_yet_is_not_locked(tmp_path: Path) -> None:
    """`generator new` writes comments only; locking that would refuse the edit that fills it."""
    project = write_project(tmp_path, {"001_jobs.sql": ONE, "002_job_names.sql": "-- to do\n"})
    assert generator(project, "build").returncode == 0
    assert [e[0] for e in lock_entries(project)] == ["001"]
    (project / "migrations" / "002_job_names.sql").write_text(TWO)
    assert generator(project, "build").returncode == 0
    assert [e[0] for e in lock_entries(project)] == ["001", "002"]


# -- two branches add the same number: merged with real git ---------------------------------


def git(repo: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    proc = subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, timeout=60)
    if check:
        assert proc.returncode == 0, f"git {' '.join(args)}: {proc.stdout}{proc.stderr}"
    return proc


def add_migration_on_branch(repo: Path, branch: str, description: str, sql: str) -> str:
    """What a developer does: `generator new`, write the SQL, `make migrations`, commit."""
    git(repo, "checkout", "-q", "-b", branch, "main")
    created = generator(repo, "new", description, "--database", "main")
    assert created.returncode == 0, created.stderr
    file = created.stdout.split()[1]  # "created migrations/002_....sql and its entry in manifest.toml"
    with (repo / file).open("a", encoding="utf-8") as handle:
        handle.write(sql)
    built = generator(repo, "build")
    assert built.returncode == 0, built.stderr
    git(repo, "add", "manifest.toml", "migrations.lock", file)
    git(repo, "commit", "-q", "-m", description)
    return Path(file).name


def keep_both_sides(path: Path, separator: str = "") -> None:
    """Resolve a text conflict by keeping every line of both sides; `separator` replaces the
    `=======` line (a TOML manifest needs a second `[[migration]]` header there)."""
    kept = []
    for line in path.read_text(encoding="utf-8").splitlines(keepends=True):
        if line.startswith("======="):
            kept.append(separator)
        elif not line.startswith(("<<<<<<<", ">>>>>>>")):
            kept.append(line)
    path.write_text("".join(kept))


def test_two_branches_adding_the_same_number_conflict_and_are_refused(tmp_path: Path) -> None:
    repo = write_project(tmp_path / "repo", {"001_jobs.sql": ONE})
    (repo / ".gitignore").write_text("/cortexdb/_frozen.py\n")
    assert generator(repo, "build").returncode == 0
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "001")

    tags = add_migration_on_branch(repo, "tags", "add job tags",
                                   "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS tags TEXT;\n")
    notes = add_migration_on_branch(repo, "notes", "add job notes",
                                    "CREATE TABLE IF NOT EXISTS job_notes (job_id INTEGER, note TEXT);\n")
    assert tags == "002_add_job_tags.sql" and notes == "002_add_job_notes.sql"

    git(repo, "checkout", "-q", "tags")
    merge = git(repo, "merge", "--no-edit", "notes", check=False)
    assert merge.returncode != 0
    assert "CONFLICT" in merge.stdout
    conflicted = git(repo, "diff", "--name-only", "--diff-filter=U").stdout.split()
    assert sorted(conflicted) == ["manifest.toml", "migrations.lock"]  # never a silent overwrite

    # Left unresolved, the build says so.
    unresolved = generator(repo, "build")
    assert unresolved.returncode == 2
    assert "manifest.toml:15:1: MF001 unresolved merge conflict" in unresolved.stderr

    # Resolved by keeping both sides: without a header of its own the second entry is refused
    # as a TOML error; with one, as two migrations numbered 002.
    manifest = (repo / "manifest.toml").read_text()
    keep_both_sides(repo / "manifest.toml")
    careless = generator(repo, "build")
    assert careless.returncode == 2
    assert "manifest.toml:18:31: MF001 bad TOML: Cannot overwrite a value" in careless.stderr
    (repo / "manifest.toml").write_text(manifest)
    keep_both_sides(repo / "manifest.toml", separator="\n[[migration]]\n")
    keep_both_sides(repo / "migrations.lock")
    both = generator(repo, "build")
    assert both.returncode == 2
    assert "MF007 duplicate migration number 002: 002_add_job_notes.sql and 002_add_job_tags.sql" in both.stderr

    # Renumbering the manifest is not enough while the lock holds 002 twice ...
    (repo / "migrations" / notes).rename(repo / "migrations" / "003_add_job_notes.sql")
    manifest = (repo / "manifest.toml").read_text()
    (repo / "manifest.toml").write_text(manifest.replace(notes, "003_add_job_notes.sql"))
    twice = generator(repo, "build")
    assert twice.returncode == 1
    assert "MG301 version 002 is locked twice (002_add_job_tags.sql and 002_add_job_notes.sql)" in twice.stderr
    assert "python -m generator unlock 002_add_job_notes.sql" in twice.stderr

    # ... the entry that never shipped is dropped by name, and the build locks 003.
    assert generator(repo, "unlock", notes).returncode == 0
    fixed = generator(repo, "build")
    assert fixed.returncode == 0, fixed.stderr
    assert [e[:2] for e in lock_entries(repo)] == [
        ["001", "001_jobs.sql"], ["002", "002_add_job_tags.sql"], ["003", "003_add_job_notes.sql"]]


def test_unresolved_conflict_markers_in_the_lock_are_refused(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_jobs.sql": ONE})
    assert generator(project, "build").returncode == 0
    lock = project / "migrations.lock"
    lines = lock.read_text().splitlines(keepends=True)
    lock.write_text("".join([*lines[:-1], "<<<<<<< HEAD\n", lines[-1], "=======\n", ">>>>>>> other\n"]))
    proc = generator(project, "build")
    assert proc.returncode == 1
    assert f"migrations.lock:{len(lines)}:1: MG301 unresolved merge conflict" in proc.stderr
    assert "git checkout --ours migrations.lock" in proc.stderr


def test_cosmetic_edit_keeps_the_legacy_checksum_databases_hold(tmp_path: Path) -> None:
    """Databases of the original system hold the legacy checksum of the text they ran: the
    frozen module must keep offering that value after a comment is added to the file."""
    from project import load_frozen

    from generator.checksum import legacy_checksum

    project = write_project(tmp_path, {"001_jobs.sql": ONE})
    assert generator(project, "build").returncode == 0
    original = legacy_checksum(ONE)
    assert lock_entries(project)[0][5] == f"legacy:{original}"

    (project / "migrations" / "001_jobs.sql").write_text("-- the jobs queue\n" + ONE)
    proc = generator(project, "build")

    assert proc.returncode == 0, proc.stderr
    assert legacy_checksum("-- the jobs queue\n" + ONE) != original
    (migration,) = load_frozen(project / "cortexdb" / "_frozen.py").MIGRATIONS
    assert migration["legacy_checksum"] == original
    assert lock_entries(project)[0][5] == f"legacy:{original}"
