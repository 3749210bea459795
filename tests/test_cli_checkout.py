"""A source checkout whose migrations changed since the last `make migrations` (issue 14): `cortex
db migrate` warns once on stderr. A touched but unchanged file, or an installed package (no
manifest.toml beside it), does not warn. Real copies of the package, real processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import ROOT

WARNING = "migrations changed since the last `make migrations`"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    root = tmp_path / "checkout"
    shutil.copytree(ROOT / "cortexdb", root / "cortexdb", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "migrations", root / "migrations")
    shutil.copy(ROOT / "manifest.toml", root / "manifest.toml")
    built = (root / "cortexdb" / "_frozen.py").stat().st_mtime_ns
    for source in [root / "manifest.toml", root / "migrations", *(root / "migrations").iterdir()]:
        os.utime(source, ns=(built - 10**9, built - 10**9))  # built after its sources, as make leaves it
    return root


def _migrate(root: Path, data: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    env.pop("CORTEX_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "cortexdb", "db", "migrate", "--data-dir", str(data)],
                          capture_output=True, text=True, cwd=root, env=env, timeout=120)


def _touch_newer(root: Path, path: Path) -> None:
    built = (root / "cortexdb" / "_frozen.py").stat().st_mtime_ns
    os.utime(path, ns=(built + 10**9, built + 10**9))


def test_an_edited_migration_warns_once(checkout: Path, tmp_path: Path) -> None:
    assert WARNING not in _migrate(checkout, tmp_path / "d").stderr
    migration = sorted((checkout / "migrations").glob("*.sql"))[-1]
    migration.write_text(migration.read_text() + "\nCREATE TABLE IF NOT EXISTS edited (x);\n")
    _touch_newer(checkout, migration)
    proc = _migrate(checkout, tmp_path / "d")
    assert proc.returncode == 0 and proc.stderr.count(WARNING) == 1
    assert proc.stderr.startswith("cortex db migrate: warning: ")


def test_a_touched_unchanged_file_does_not_warn(checkout: Path, tmp_path: Path) -> None:
    _touch_newer(checkout, checkout / "manifest.toml")
    _touch_newer(checkout, sorted((checkout / "migrations").glob("*.sql"))[0])
    assert WARNING not in _migrate(checkout, tmp_path / "d").stderr


def test_an_installed_package_never_looks(checkout: Path, tmp_path: Path) -> None:
    migration = sorted((checkout / "migrations").glob("*.sql"))[-1]
    migration.write_text(migration.read_text() + "\n-- edited\nSELECT 1;\n")
    _touch_newer(checkout, migration)
    assert WARNING in _migrate(checkout, tmp_path / "d").stderr
    (checkout / "manifest.toml").unlink()  # as in site-packages: nothing beside the package
    proc = _migrate(checkout, tmp_path / "d")
    assert proc.returncode == 0 and WARNING not in proc.stderr
