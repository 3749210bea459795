"""A checkout with `core.autocrlf=true` (git on Windows, by default) of this repository: the
committed lock stays up to date, and `generator check`, the wheel build and the pre-commit
hook's lint pass there with nothing edited. `.gitattributes` pins what is read byte for byte
(`*.sql`, `manifest.toml`, `migrations.lock`) to LF; everything else comes out CRLF.

It clones what is committed (HEAD), not the working tree."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from project import ROOT


def run(*args: str | Path, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update({"GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("autocrlf") / "repo"
    proc = run("git", "clone", "-q", "-c", "core.autocrlf=true", ROOT, target, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    return target


def test_the_clone_has_crlf_except_where_pinned(clone: Path) -> None:
    assert b"\r\n" in (clone / "generator" / "build.py").read_bytes()  # autocrlf took effect
    pinned = [clone / "manifest.toml", clone / "migrations.lock", *sorted((clone / "migrations").glob("*.sql"))]
    assert len(pinned) > 2 and not [p.name for p in pinned if b"\r" in p.read_bytes()]


def test_build_check_and_the_hook_pass_with_nothing_edited(clone: Path) -> None:
    lock = (clone / "migrations.lock").read_bytes()
    build = run(sys.executable, "-m", "generator", "build", cwd=clone)  # the frozen module is git-ignored
    assert build.returncode == 0 and "MG30" not in build.stderr, build.stdout + build.stderr
    assert (clone / "migrations.lock").read_bytes() == lock
    status = run("git", "status", "--porcelain", cwd=clone)
    assert status.stdout == "", status.stdout
    check = run(sys.executable, "-m", "generator", "check", cwd=clone)
    assert check.returncode == 0, check.stdout + check.stderr
    hook = run(sys.executable, "-m", "generator", "lint", *sorted(p.relative_to(clone).as_posix()
                                                                  for p in (clone / "migrations").glob("*.sql")),
               cwd=clone)
    assert hook.returncode == 0, hook.stdout + hook.stderr


def test_the_wheel_builds_in_the_clone(clone: Path) -> None:
    # Not isolated: the build dependencies of this venv (tests/test_wheel.py builds isolated).
    proc = run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", "dist", cwd=clone)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert len(list((clone / "dist").glob("*.whl"))) == 1
