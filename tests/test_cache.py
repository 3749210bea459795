"""The build cache: unchanged inputs are not parsed again; any changed byte is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from project import env, write_project

# Runs `python -m generator build` with sqlglot unimportable: only a cache hit can succeed.
NO_SQLGLOT = """
import runpy, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] == 'sqlglot':
            raise ImportError('sqlglot is blocked in this test')
sys.meta_path.insert(0, Block())
sys.argv = ['generator', 'build']
runpy.run_module('generator', run_name='__main__')
"""


def build_without_sqlglot(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", NO_SQLGLOT], cwd=project, env=env(),
                          capture_output=True, text=True, timeout=60)


def test_unchanged_inputs_are_not_parsed_again(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_a.sql": "CREATE TABLE IF NOT EXISTS a (x INTEGER);\n"})
    first = subprocess.run([sys.executable, "-m", "generator", "build"], cwd=project, env=env(),
                           capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr

    hit = build_without_sqlglot(project)
    assert hit.returncode == 0, hit.stderr
    assert hit.stdout.splitlines()[0] == first.stdout.splitlines()[0]  # the same summary
    assert "cortexdb/_frozen.py unchanged" in hit.stdout

    sql = project / "migrations" / "001_a.sql"
    sql.write_text(sql.read_text() + "-- a comment is a change of bytes\n")
    miss = build_without_sqlglot(project)
    assert miss.returncode != 0  # it had to parse again


def test_a_hand_edited_output_is_rewritten_on_a_cache_hit(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_a.sql": "CREATE TABLE IF NOT EXISTS a (x INTEGER);\n"})
    build = [sys.executable, "-m", "generator", "build"]
    assert subprocess.run(build, cwd=project, env=env(), timeout=60).returncode == 0
    output = project / "cortexdb" / "_frozen.py"
    good = output.read_bytes()
    output.write_bytes(good + b"# edited by hand\n")

    again = build_without_sqlglot(project)

    assert again.returncode == 0, again.stderr
    assert "wrote cortexdb/_frozen.py" in again.stdout
    assert output.read_bytes() == good


def test_a_missing_or_edited_index_is_rewritten_on_a_cache_hit(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_a.sql": "CREATE TABLE IF NOT EXISTS a (x INTEGER);\n"})
    build = [sys.executable, "-m", "generator", "build"]
    assert subprocess.run(build, cwd=project, env=env(), timeout=60).returncode == 0
    index = project / "cortexdb" / "_frozen_index.py"
    good = index.read_bytes()

    index.unlink()
    again = build_without_sqlglot(project)
    assert again.returncode == 0, again.stderr
    assert "wrote cortexdb/_frozen_index.py" in again.stdout and "cortexdb/_frozen.py unchanged" in again.stdout
    assert index.read_bytes() == good

    index.write_bytes(good.replace(b'"fingerprint": ', b'"fingerprint": 1'))
    again = build_without_sqlglot(project)
    assert again.returncode == 0, again.stderr
    assert "wrote cortexdb/_frozen_index.py" in again.stdout
    assert index.read_bytes() == good


def test_the_key_covers_the_runtime_code_the_build_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The index's fingerprints and the proof's step executor come from cortexdb._contract: a
    change there must rebuild, though no generator file changed."""
    from generator import cache
    from generator.project import read_project

    project = write_project(tmp_path / "p", {"001_a.sql": "CREATE TABLE IF NOT EXISTS a (x INTEGER);\n"})
    copies = []
    for path in cache.RUNTIME_MODULES:
        copy = tmp_path / path.name
        copy.write_bytes(path.read_bytes())
        copies.append(copy)
    monkeypatch.setattr(cache, "RUNTIME_MODULES", tuple(copies))

    def key() -> str:
        return read_project(project / "manifest.toml").cache_key()

    first = key()
    assert key() == first
    for copy in copies:
        copy.write_bytes(copy.read_bytes() + b"\n# changed\n")
        assert key() != first
        first = key()
