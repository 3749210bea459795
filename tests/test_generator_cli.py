"""`python -m generator` as a user meets it: --version, help per command, unknown commands,
-q/-v, and a Python that lacks the build dependencies. Real processes, real exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from project import ROOT, copy_source_tree, env, generator, write_project

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

JOBS = "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY);\n"
# MG009 (info) on line 1; nothing else to report.
FOREIGN_KEYS = "PRAGMA foreign_keys = OFF;\nCREATE TABLE IF NOT EXISTS tags (id INTEGER);\n"
USAGE_PREFIX = "python -m generator: error: "


def test_version_is_the_projects_and_imports_no_build_dependency() -> None:
    expected = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    probe = ("import sys\nfrom generator.__main__ import main\n"
             "try:\n    main(['--version'])\nexcept SystemExit as exc:\n    code = exc.code\n"
             "print(code, sorted(m for m in ('sqlglot', 'jinja2') if m in sys.modules))\n")
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, env=env(), capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"python -m generator (cortexdb) {expected}", "0 []"]


@pytest.mark.parametrize(("typed", "meant"), [("biuld", "build"), ("chek", "check"), ("unlok", "unlock"),
                                              ("lnt", "lint")])
def test_unknown_command_suggests_the_nearest(tmp_path: Path, typed: str, meant: str) -> None:
    proc = generator(tmp_path, typed)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == f"{USAGE_PREFIX}unknown command {typed!r} (did you mean {meant!r}?)"


def test_unknown_command_with_nothing_near_lists_the_commands(tmp_path: Path) -> None:
    proc = generator(tmp_path, "--debug", "frobnicate")
    assert proc.returncode == 2
    assert proc.stderr.splitlines()[-1] == (f"{USAGE_PREFIX}unknown command 'frobnicate' "
                                            "(known: build, check, lint, new, unlock)")


def test_new_help_lists_the_manifests_databases(tmp_path: Path) -> None:
    names = sorted(tomllib.loads((ROOT / "manifest.toml").read_text())["databases"])
    proc = generator(ROOT, "new", "--help")
    assert proc.returncode == 0, proc.stderr
    help_text = " ".join(proc.stdout.split())  # argparse wraps the line
    assert f"--database NAME the manifest database it belongs to: one of {', '.join(names)} " \
           "(in manifest.toml)" in help_text
    assert "-q, --quiet" in help_text and "-v, --verbose" in help_text

    # Another manifest, named before --help; and one that does not load.
    project = write_project(tmp_path / "p", {"001_jobs.sql": JOBS}, database="queue")
    other = generator(tmp_path, "new", "--manifest", str(project / "manifest.toml"), "--help")
    assert other.returncode == 0 and "one of queue (in p/manifest.toml)" in " ".join(other.stdout.split())
    (tmp_path / "bad.toml").write_text("[databases\n")
    bad = generator(tmp_path, "new", "--manifest", "bad.toml", "--help")
    assert bad.returncode == 0
    assert "none known (bad.toml does not load: bad.toml:1:" in " ".join(bad.stdout.split())


@pytest.fixture
def with_info(tmp_path: Path) -> Path:
    """A project whose build reports one info finding (MG009) and nothing else."""
    project = write_project(tmp_path, {"001_jobs.sql": JOBS, "002_tags.sql": FOREIGN_KEYS})
    assert generator(project, "build").returncode == 0
    return project


INFO_LINE = "migrations/002_tags.sql:1:1: MG009 info: PRAGMA foreign_keys is handled by the runtime"


@pytest.mark.parametrize("command", ["build", "check", "lint"])
def test_info_findings_only_with_verbose(with_info: Path, command: str) -> None:
    quiet_by_default = generator(with_info, command)
    assert quiet_by_default.returncode == 0, quiet_by_default.stderr
    assert quiet_by_default.stderr == ""
    verbose = generator(with_info, command, "-v")
    assert verbose.returncode == 0
    assert verbose.stderr.startswith(INFO_LINE)
    assert verbose.stdout == quiet_by_default.stdout  # the summary is the same either way
    before = generator(with_info, "--verbose", command)  # the option also before the command
    assert before.stderr == verbose.stderr
    if command == "build":
        assert "0 errors, 0 warnings, 1 info" in quiet_by_default.stdout  # counted, even when not shown


def test_github_follows_the_level_and_json_is_always_complete(with_info: Path) -> None:
    assert generator(with_info, "build", "--format", "github").stdout == ""
    assert generator(with_info, "build", "--format", "github", "-v").stdout.startswith("::notice file=")
    for level in ("-q", "-v", "--format=json"):
        records = json.loads(generator(with_info, "build", "--format", "json", level).stdout)
        assert [r["code"] for r in records] == ["MG009"]


def test_quiet_prints_errors_only(with_info: Path) -> None:
    clean = generator(with_info, "build", "-q")
    assert (clean.returncode, clean.stdout, clean.stderr) == (0, "", "")
    # A cosmetic edit (MG303 warning) and a stale module: -q shows the MG305 errors, nothing else.
    (with_info / "migrations" / "001_jobs.sql").write_text("-- the queue\n" + JOBS)
    stale = generator(with_info, "-q", "check")
    assert stale.returncode == 1 and stale.stdout == ""
    assert stale.stderr.splitlines() and all(" MG305 " in line for line in stale.stderr.splitlines())
    assert " MG303 " in generator(with_info, "check").stderr  # shown without -q
    assert generator(with_info, "build", "-q", "-v").returncode == 2  # one or the other


def test_new_with_quiet_prints_nothing_but_creates(with_info: Path) -> None:
    proc = generator(with_info, "new", "add owner", "--database", "main", "-q")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert (with_info / "migrations" / "003_add_owner.sql").is_file()


@pytest.fixture(scope="module")
def bare_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real interpreter that cannot import sqlglot or jinja2: a fresh venv with nothing installed."""
    target = tmp_path_factory.mktemp("bare")
    venv.create(target, with_pip=False, system_site_packages=False)
    python = target / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    probe = subprocess.run([python, "-c", "import sqlglot"], capture_output=True, timeout=60)
    assert probe.returncode != 0
    return python


@pytest.mark.parametrize("command", ["build", "check", "lint"])
def test_a_python_without_sqlglot_is_told_which_python_to_use(
        with_info: Path, bare_python: Path, command: str) -> None:
    proc = subprocess.run([bare_python, "-m", "generator", command], cwd=with_info,
                          env={**env(), "VIRTUAL_ENV": ""}, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == ("python -m generator: sqlglot is not installed: use .venv/bin/python -m generator, "
                           "or run make migrations\n")


def test_a_python_without_sqlglot_still_has_version_help_and_new(with_info: Path, bare_python: Path) -> None:
    def bare(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([bare_python, "-m", "generator", *args], cwd=with_info, env=env(),
                              capture_output=True, text=True, timeout=60)

    assert bare("--version").stdout.startswith("python -m generator (cortexdb) ")
    assert "one of main" in " ".join(bare("new", "--help").stdout.split())
    created = bare("new", "add owner", "--database", "main")
    assert created.returncode == 0, created.stderr
    assert created.stdout == "created migrations/003_add_owner.sql and its entry in manifest.toml\n"


def test_the_readmes_fresh_clone_output_is_what_a_fresh_clone_prints(tmp_path: Path) -> None:
    """The README's sample `make migrations` output, against a real build of a clone's files."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("fresh clone, the generator prints", 1)[1].split("```\n", 2)[1]
    echoed, *printed = block.splitlines()
    assert echoed == ".venv/bin/python -m generator build"  # make's echo of the recipe
    clone = copy_source_tree(tmp_path / "clone")
    proc = generator(clone, "build")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert proc.stdout.splitlines() == printed

