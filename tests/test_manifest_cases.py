"""Every manifest error of DESIGN.md: exit 2, a message naming file and line, output untouched.

Each folder of tests/cases/manifest holds a project (manifest.toml, migrations/) and
`expected.txt`, the exact stderr of `python -m generator build` run in that folder.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CASES = sorted(p for p in (Path(__file__).parent / "cases" / "manifest").iterdir() if p.is_dir())
SENTINEL = "# hand-made output: a failed build must leave this byte-identical\n"


def test_cases_were_found() -> None:
    assert len(CASES) >= 12


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_manifest_error(case: Path, tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(case, project, symlinks=True)
    output = project / "cortexdb" / "_frozen.py"
    output.parent.mkdir()
    output.write_text(SENTINEL)
    before = output.stat().st_mtime_ns

    proc = subprocess.run([sys.executable, "-m", "generator", "build"], cwd=project,
                          capture_output=True, text=True, env=_env(), timeout=60)

    expected = (case / "expected.txt").read_text()
    assert proc.stderr == expected
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert output.read_text() == SENTINEL and output.stat().st_mtime_ns == before


def test_symlink_out_of_migrations_is_refused(tmp_path: Path) -> None:
    project = tmp_path / "project"
    shutil.copytree(CASES[0].parent / "unknown_database", project)
    manifest = project / "manifest.toml"
    manifest.write_text(manifest.read_text().replace('"nosuch"', '"main"'))
    outside = tmp_path / "outside.sql"
    outside.write_text("CREATE TABLE IF NOT EXISTS x (id INTEGER);\n")
    (project / "migrations" / "001_a.sql").unlink()
    (project / "migrations" / "001_a.sql").symlink_to(outside)

    proc = subprocess.run([sys.executable, "-m", "generator", "build"], cwd=project,
                          capture_output=True, text=True, env=_env(), timeout=60)

    assert proc.returncode == 2
    assert proc.stderr.startswith("manifest.toml:11:1: MF008 migration file '001_a.sql' must be a file")


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    return env
