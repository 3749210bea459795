"""migrations.lock across line endings, databases and checksum algorithms: a CRLF checkout is no
edit; a migration moved to another database is refused at its manifest line; a lock written
before `c2:` upgrades itself, and databases whose ledger holds `c1:` keep starting."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from project import generator, load_frozen, write_project
from runtime_support import run_cli

from generator.checksum import c1_checksum

ONE = "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY, name TEXT NOT NULL);\n"
DATA = "INSERT OR IGNORE INTO jobs (id, name) VALUES (1, 'first\nline');\n"


def lock_lines(project: Path) -> list[str]:
    text = (project / "migrations.lock").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def to_crlf(path: Path) -> None:
    path.write_bytes(path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))


def built(tmp_path: Path, migrations: dict[str, str]) -> Path:
    project = write_project(tmp_path, migrations)
    proc = generator(project, "build")
    assert proc.returncode == 0, proc.stderr
    return project


def test_a_crlf_checkout_leaves_the_lock_as_committed(tmp_path: Path) -> None:
    index = "-- two\nCREATE INDEX IF NOT EXISTS j ON jobs (name);\n"
    project = built(tmp_path, {"001_jobs.sql": ONE, "002_more.sql": index})
    lock = (project / "migrations.lock").read_bytes()
    for path in [project / "manifest.toml", project / "migrations.lock", *(project / "migrations").glob("*.sql")]:
        to_crlf(path)

    proc = generator(project, "build")  # the frozen module is git-ignored: each checkout builds its own
    assert proc.returncode == 0 and "MG303" not in proc.stderr, proc.stderr
    assert "migrations.lock unchanged" in proc.stdout
    assert (project / "migrations.lock").read_bytes() == lock.replace(b"\n", b"\r\n")  # as checked out
    check = generator(project, "check")
    assert check.returncode == 0, check.stdout + check.stderr


def test_crlf_inside_a_literal_is_data_and_the_message_says_so(tmp_path: Path) -> None:
    project = built(tmp_path, {"001_jobs.sql": ONE, "002_data.sql": DATA})
    to_crlf(project / "migrations" / "002_data.sql")

    proc = generator(project, "build")
    assert proc.returncode == 1
    (line,) = [line for line in proc.stderr.splitlines() if "MG302" in line]
    assert line.startswith("migrations/002_data.sql:1:1: MG302") and "eol=lf" in line


def test_moving_a_locked_migration_to_another_database_is_refused_at_its_manifest_line(tmp_path: Path) -> None:
    project = built(tmp_path, {"001_jobs.sql": ONE})
    manifest = project / "manifest.toml"
    text = manifest.read_text()
    manifest.write_text(text.replace('[[migration]]', '[databases.other]\nfile = "other.db"\npurpose = "t"\n\n'
                                     '[[migration]]').replace('database = "main"', 'database = "other"'))
    line = manifest.read_text().splitlines().index("[[migration]]") + 1
    before = (project / "migrations.lock").read_bytes()

    proc = generator(project, "build")
    assert proc.returncode == 1
    (finding,) = [f for f in proc.stderr.splitlines() if "MG306" in f]
    assert finding.startswith(f"manifest.toml:{line}:1: MG306 migration 001 is locked for database 'main' "
                              "(migrations.lock line 5) but the manifest lists it under 'other'")
    assert (project / "migrations.lock").read_bytes() == before


def _as_c1_lock(project: Path) -> None:
    """The lock as a build before `c2:` wrote it: c1 checksums, no database field."""
    lines = []
    for line in (project / "migrations.lock").read_text().splitlines():
        if line and not line.startswith("#"):
            version, file, _database, _c2, raw, *rest = line.split(" ")
            c1 = c1_checksum((project / "migrations" / file).read_text())
            line = " ".join([version, file, c1, raw, *(r for r in rest if r.startswith("legacy:"))])
        lines.append(line)
    (project / "migrations.lock").write_text("\n".join(lines) + "\n")


def test_a_c1_lock_upgrades_itself_and_c1_ledgers_keep_starting(tmp_path: Path) -> None:
    project = built(tmp_path / "p", {"001_jobs.sql": ONE, "002_data.sql": DATA})
    c2_lock = lock_lines(project)
    _as_c1_lock(project)
    assert generator(project, "check").returncode == 0  # not stale: the build upgrades it by itself

    proc = generator(project, "build")
    assert proc.returncode == 0 and not proc.stderr, proc.stderr
    upgraded = lock_lines(project)
    c1 = [c1_checksum((project / "migrations" / f).read_text()) for f in ("001_jobs.sql", "002_data.sql")]
    assert upgraded == [f"{line} {checksum}" for line, checksum in zip(c2_lock, c1, strict=True)]
    frozen = load_frozen(project / "cortexdb" / "_frozen.py")
    assert [m["c1_checksum"] for m in frozen.MIGRATIONS] == c1

    # A database migrated by the older build: its ledger holds c1, its fingerprint the old one.
    data = tmp_path / "data"
    frozen_file = project / "cortexdb" / "_frozen.py"
    assert run_cli("migrate", "--data-dir", str(data), frozen_file=frozen_file).returncode == 0
    with sqlite3.connect(data / "main.db") as conn:
        for version, checksum in enumerate(c1, start=1):
            conn.execute("UPDATE schema_migrations SET checksum = ? WHERE version = ?", (checksum, version))
        conn.execute("PRAGMA user_version = 12345")
    conn.close()
    proc = run_cli("migrate", "--data-dir", str(data), frozen_file=frozen_file)
    assert proc.returncode == 0, proc.stderr
    verify = run_cli("verify", "--data-dir", str(data), frozen_file=frozen_file)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_an_edit_c1_calls_cosmetic_is_not_taken_on_c1_s_word(tmp_path: Path) -> None:
    """MG303 let this pass: c1 read the DROP TABLE after a CR as live in both texts; to SQLite
    the locked file keeps the table and the edited one drops it."""
    locked = "CREATE TABLE IF NOT EXISTS t (x);\r-- keep t\rDROP TABLE IF EXISTS t;\n"
    project = built(tmp_path, {"001_t.sql": locked})
    _as_c1_lock(project)
    edited = locked.replace("\r", "\n")
    assert c1_checksum(edited) == c1_checksum(locked)
    (project / "migrations" / "001_t.sql").write_bytes(edited.encode())
    before = (project / "migrations.lock").read_bytes()

    proc = generator(project, "build")
    assert proc.returncode == 1
    assert "MG302 migration 001 was edited since it was locked" in proc.stderr
    assert "restore the locked file" in proc.stderr
    assert (project / "migrations.lock").read_bytes() == before
    # Restored, it upgrades; the same edit is then refused under c2 as a change of meaning.
    (project / "migrations" / "001_t.sql").write_bytes(locked.encode())
    assert generator(project, "build").returncode == 0
    assert hashlib.sha256(locked.encode()).hexdigest() in lock_lines(project)[0]
    (project / "migrations" / "001_t.sql").write_bytes(edited.encode())
    again = generator(project, "build")
    assert again.returncode == 1 and "MG302 migration 001 changed since it was locked" in again.stderr
