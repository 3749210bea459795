"""The pre-commit hooks, with the real `pre-commit` tool: this repository as a hook repository
(`sql-guards` rejects an unguarded CREATE TABLE in another project's commit and accepts the
guarded one), and this repository's own `.pre-commit-config.yaml` (lint + `generator check`).

PRE_COMMIT_HOME is one folder per test session, so the hook environments are built once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml  # a dependency of pre-commit
from project import ROOT, copy_source_tree, generator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PRE_COMMIT = Path(sys.executable).with_name("pre-commit")


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def run(cwd: Path, home: Path, *args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env.update({"PRE_COMMIT_HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PRE_COMMIT_COLOR": "never",
                "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
                "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


def commit_all(repo: Path, home: Path, message: str) -> subprocess.CompletedProcess[str]:
    added = run(repo, home, "git", "add", "-A")
    assert added.returncode == 0, added.stderr
    return run(repo, home, "git", "commit", "-q", "-m", message)


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory, pre_commit_home: Path) -> tuple[Path, str]:
    """This project, committed as it is in the working tree, and the sha to pin as `rev:`."""
    repo = copy_source_tree(tmp_path_factory.mktemp("cortexdb"))
    assert run(repo, pre_commit_home, "git", "init", "-q", "-b", "main").returncode == 0
    assert commit_all(repo, pre_commit_home, "cortexdb").returncode == 0
    sha = run(repo, pre_commit_home, "git", "rev-parse", "HEAD").stdout.strip()
    return repo, sha


APP_MANIFEST = """\
[generator]
migrations = "migrations"
output = "app/_frozen.py"

[databases.app]
file = "app.db"
purpose = "an application that takes cortexdb's hook"

[[migration]]
file = "001_core.sql"
database = "app"
"""


def app_repo(app: Path, hook_repo: tuple[Path, str], home: Path, manifest: str) -> Path:
    """A repository that takes this one's `sql-guards` hook (installed), with `manifest`."""
    hooks, sha = hook_repo
    (app / "migrations").mkdir(parents=True)
    assert run(app, home, "git", "init", "-q", "-b", "main").returncode == 0
    (app / ".pre-commit-config.yaml").write_text(yaml.safe_dump(
        {"repos": [{"repo": str(hooks), "rev": sha, "hooks": [{"id": "sql-guards"}]}]}))
    (app / "manifest.toml").write_text(manifest)
    installed = run(app, home, PRE_COMMIT, "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return app


def test_sql_guards_hook_rejects_an_unguarded_create_table(tmp_path: Path, hook_repo: tuple[Path, str],
                                                          pre_commit_home: Path) -> None:
    app = app_repo(tmp_path / "app", hook_repo, pre_commit_home, APP_MANIFEST)

    sql = app / "migrations" / "001_core.sql"
    sql.write_text("-- core tables\nCREATE TABLE core (id INTEGER PRIMARY KEY);\n")
    rejected = commit_all(app, pre_commit_home, "core")
    output = rejected.stdout + rejected.stderr
    assert rejected.returncode != 0, output
    assert "migrations/001_core.sql:2:1: MG001 CREATE TABLE core needs IF NOT EXISTS" in output
    assert run(app, pre_commit_home, "git", "rev-list", "--all").stdout == ""  # nothing committed

    sql.write_text("-- core tables\nCREATE TABLE IF NOT EXISTS core (id INTEGER PRIMARY KEY);\n")
    accepted = commit_all(app, pre_commit_home, "core")
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr
    assert len(run(app, pre_commit_home, "git", "rev-list", "--all").stdout.split()) == 1


def test_own_config_runs_lint_and_check(hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    """This repository's `repo: local` hooks, on a committed copy of it."""
    repo, _ = hook_repo
    assert generator(repo, "build").returncode == 0  # the git-ignored module `check` compares
    clean = run(repo, pre_commit_home, PRE_COMMIT, "run", "--all-files")
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.count("Passed") == 2

    migration = repo / "migrations" / "002_memory.sql"
    migration.write_text("-- edited, not rebuilt\n" + migration.read_text())
    assert run(repo, pre_commit_home, "git", "add", migration).returncode == 0
    stale = run(repo, pre_commit_home, PRE_COMMIT, "run")
    assert stale.returncode == 1
    assert "generator-check\n- exit code: 1" in stale.stdout  # the lint hook passed: a comment is fine
    assert "cortexdb/_frozen.py:4:1: MG305 out of date" in stale.stdout
    lock_lines = (repo / "migrations.lock").read_text().splitlines()
    line_002 = next(n for n, text in enumerate(lock_lines, start=1) if text.startswith("002 "))
    assert f"migrations.lock:{line_002}:1: MG305 out of date" in stale.stdout  # 002's raw checksum


def test_hook_definitions() -> None:
    """The hook manifest validates, its script is executable, and the pins match pyproject."""
    for command, path in (("validate-manifest", ".pre-commit-hooks.yaml"),
                          ("validate-config", ".pre-commit-config.yaml")):
        proc = subprocess.run([PRE_COMMIT, command, path], cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    assert hook["id"] == "sql-guards" and hook["files"] == r"^migrations/.*\.sql$"
    assert hook["require_serial"] is True and hook["pass_filenames"] is True
    assert os.access(ROOT / hook["entry"], os.X_OK)

    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["build-system"]["requires"]
    generator_pins = [r for r in requires if not r.startswith("hatchling")]
    local = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    assert [h["id"] for h in local] == ["sql-guards", "generator-check"]
    assert all(h["additional_dependencies"] == generator_pins for h in local)
    assert local[1]["pass_filenames"] is False


def test_sql_guards_hook_and_build_report_the_same_broken_statements(
        tmp_path: Path, hook_repo: tuple[Path, str], pre_commit_home: Path) -> None:
    """The statements SQLite rejects (syntax, names earlier migrations do not give), all at once,
    from the real hook on a commit and from `build` on the same files."""
    from test_agreement import BROKEN, BROKEN_FINDINGS, findings

    manifest = APP_MANIFEST.replace('file = "001_core.sql"', 'file = "001_jobs.sql"')
    app = app_repo(tmp_path / "app", hook_repo, pre_commit_home,
                   manifest + '\n[[migration]]\nfile = "002_more.sql"\ndatabase = "app"\n')
    for name, sql in BROKEN.items():
        (app / "migrations" / name).write_text(sql)

    rejected = commit_all(app, pre_commit_home, "broken")
    assert rejected.returncode != 0
    hook_lines = [line for line in (rejected.stdout + rejected.stderr).splitlines() if " MG100 " in line]
    assert hook_lines == BROKEN_FINDINGS
    built = generator(app, "build")
    assert built.returncode == 1
    assert findings(built.stderr) == BROKEN_FINDINGS
