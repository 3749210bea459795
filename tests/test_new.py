"""`python -m generator new`: the next-numbered file from the template, and a manifest entry
appended without touching a single existing byte of the manifest."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from project import ROOT, generator, write_project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def entry(file: str, database: str, description: str, newline: str = "\n") -> bytes:
    lines = ["", "[[migration]]", f'file = "{file}"', f'database = "{database}"', f'description = "{description}"', ""]
    return newline.join(lines).encode()


def test_new_on_the_shipped_manifest(tmp_path: Path) -> None:
    """The real manifest (comments, allow tables and all): byte-identical plus the entry."""
    shutil.copy(ROOT / "manifest.toml", tmp_path / "manifest.toml")
    if (ROOT / "migrations.lock").exists():
        shutil.copy(ROOT / "migrations.lock", tmp_path / "migrations.lock")
    shutil.copytree(ROOT / "migrations", tmp_path / "migrations")
    old = (tmp_path / "manifest.toml").read_bytes()
    number = len(list((tmp_path / "migrations").glob("*.sql"))) + 1

    proc = generator(tmp_path, "new", "add job tags", "--database", "cortex")

    assert proc.returncode == 0, proc.stderr
    file = f"{number:03d}_add_job_tags.sql"
    assert proc.stdout == f"created migrations/{file} and its entry in manifest.toml\n"
    assert (tmp_path / "manifest.toml").read_bytes() == old + entry(file, "cortex", "add job tags")
    assert (tmp_path / "migrations" / file).read_text().startswith(f"-- {number:03d} add job tags\n")

    lint = generator(tmp_path, "lint", f"migrations/{file}")
    assert (lint.returncode, lint.stdout, lint.stderr) == (0, "", "")
    build = generator(tmp_path, "build")
    assert build.returncode == 0, build.stderr
    assert f"{number} migrations" in build.stdout and "0 errors" in build.stdout


@pytest.mark.parametrize(("shape", "newline"), [
    ("crlf", "\r\n"),
    ("no final newline", "\n"),
    ("bom and comments", "\n"),
])
def test_new_keeps_every_existing_byte(tmp_path: Path, shape: str, newline: str) -> None:
    write_project(tmp_path, {"001_jobs.sql": "CREATE TABLE IF NOT EXISTS jobs (id INTEGER);\n"})
    manifest = tmp_path / "manifest.toml"
    text = manifest.read_text()
    if shape == "crlf":
        text = text.replace("\n", "\r\n")
    elif shape == "no final newline":
        text = text.rstrip("\n")
    else:
        text = "\ufeff# the one list  \n" + text.replace('purpose = "test"', 'purpose = "test"   # é, kept')
    manifest.write_bytes(text.encode())
    old = manifest.read_bytes()

    proc = generator(tmp_path, "new", "Add job tags!", "--database", "main")

    assert proc.returncode == 0, proc.stderr
    added = entry("002_add_job_tags.sql", "main", "Add job tags!", newline)
    if shape == "no final newline":
        added = b"\n" + added
    assert manifest.read_bytes() == old + added
    assert generator(tmp_path, "build").returncode == 0


def test_description_is_written_as_a_toml_string(tmp_path: Path) -> None:
    write_project(tmp_path, {"001_jobs.sql": "CREATE TABLE IF NOT EXISTS jobs (id INTEGER);\n"})
    description = 'tags "quoted" \\ back\x7fslash, é 😀'
    proc = generator(tmp_path, "new", description, "--database", "main")
    assert proc.returncode == 0, proc.stderr
    data = tomllib.loads((tmp_path / "manifest.toml").read_text())
    assert data["migration"][-1] == {"file": "002_tags_quoted_back_slash_e.sql", "database": "main",
                                     "description": description}


@pytest.mark.parametrize(("args", "message"), [
    (["add tags", "--database", "nope"],
     "python -m generator new: error: argument --database: unknown database 'nope' (known: main)"),
    (["!!!", "--database", "main"],
     "python -m generator new: error: argument description: '!!!' has no letters or digits to name the file"),
])
def test_new_refuses_bad_input_and_changes_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    write_project(tmp_path, {"001_jobs.sql": "CREATE TABLE IF NOT EXISTS jobs (id INTEGER);\n"})
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    proc = generator(tmp_path, "new", *args)
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == message  # a usage error naming the argument
    assert proc.stderr.startswith("usage: python -m generator new ") and "manifest.toml:1:1" not in proc.stderr
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before
