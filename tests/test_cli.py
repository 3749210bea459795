"""The `cortex db` CLI as a new user meets it (issue 14): versions, help per command, suggestions
for typos, -q/-v, and the messages for a data dir that is a file and a failing quick_check."""

from __future__ import annotations

import sqlite3
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import ROOT, child_env, real_frozen, run_cli

import cortexdb
from cortexdb._cli import COMMANDS, COMMON, OPTIONS

FROZEN = real_frozen()


def _python_m(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "cortexdb", *args], capture_output=True, text=True,
                          cwd=ROOT, env=child_env(), timeout=60, stdin=subprocess.DEVNULL)


def test_version_names_the_package_the_source_hash_and_each_databases_highest_migration() -> None:
    from importlib.metadata import version

    for args in (("--version",), ("db", "--version"), ("db", "migrate", "--version")):
        proc = _python_m(*args)
        assert proc.returncode == 0, proc.stderr
        lines = proc.stdout.splitlines()
        assert lines[0] == f"cortexdb {version('cortexdb')}" == f"cortexdb {cortexdb.__version__}"
        assert lines[1] == f"migrations: {FROZEN.SOURCE_HASH}"
        for name in FROZEN.DATABASES:
            own = [m["version"] for m in FROZEN.MIGRATIONS if m["database"] == name]
            assert f"  {name:<10} up to {max(own):03d} ({len(own)} migrations)" in lines


def test_version_is_read_lazily() -> None:
    probe = "import sys, cortexdb; assert 'importlib.metadata' not in sys.modules; print(cortexdb.__version__)"
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=child_env(),
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == cortexdb.__version__ and cortexdb.__version__[0].isdigit()


@pytest.mark.parametrize("command", [name for name in COMMANDS if name != "help"])
def test_command_help_lists_only_that_commands_options(command: str) -> None:
    for args in ((command, "--help"), ("help", command), (command, "-h")):
        proc = run_cli(*args)
        assert proc.returncode == 0 and proc.stderr == ""
        argument = f" {COMMANDS[command].arguments}" if COMMANDS[command].arguments else ""  # restore [BACKUP]
        assert proc.stdout.startswith(f"usage: cortex db {command} [options]{argument}\n")
        listed = {word for line in proc.stdout.split("\n\n")[2].splitlines()[1:]
                  for word in line.replace(",", " ").split() if word.startswith("--")}
        assert listed == {*COMMANDS[command].options, *COMMON, "--help"}
        assert "exit status:" in proc.stdout


def test_help_without_a_command_lists_every_command_and_option() -> None:
    for args in (("help",), ("--help",)):
        proc = run_cli(*args)
        assert proc.returncode == 0
        for name in (*COMMANDS, *OPTIONS, "-q, --quiet", "-v, --verbose"):
            assert name in proc.stdout, name


@pytest.mark.parametrize("args, message", [
    (("migrat",), "unknown command 'migrat': did you mean 'migrate'?"),
    (("stauts", "--format", "json"), "unknown command 'stauts': did you mean 'status'?"),
    (("help", "verfy"), "unknown command 'verfy': did you mean 'verify'?"),
    (("xyzzy",), "unknown command 'xyzzy' (choose from migrate, status, verify, history, baseline, repair, "
                 "restore, help)"),
    (("migrate", "--dry-rn"), "unknown option --dry-rn: did you mean --dry-run?"),
    (("status", "--quite"), "unknown option --quite: did you mean --quiet?"),
    (("migrate", "-x"), "unknown option -x"),
    (("migrate", "-q", "-v"), "-q/--quiet and -v/--verbose contradict each other: give one"),
])
def test_typos_are_named_with_the_nearest_choice(args: tuple[str, ...], message: str) -> None:
    proc = run_cli(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    first, second = proc.stderr.splitlines()
    assert first.startswith("usage: cortex db ") and second == f"cortex db: error: {message}"


def test_a_parsed_command_line_never_imports_difflib(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path)
    probe = ("import sys; from cortexdb._cli import main; code = main(sys.argv[1:]); "
             "assert 'difflib' not in sys.modules; sys.exit(code)")
    proc = subprocess.run([sys.executable, "-c", probe, "db", "migrate", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, env=child_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr


def test_quiet_prints_only_what_needs_attention_and_verbose_logs(tmp_path: Path) -> None:
    quiet = run_cli("migrate", "-q", "--data-dir", str(tmp_path))
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    assert (tmp_path / "cortex.db").exists()
    assert run_cli("status", "-q", "--data-dir", str(tmp_path)).stdout == ""
    assert run_cli("verify", "--quiet", "--data-dir", str(tmp_path)).stdout == ""
    conn = sqlite3.connect(tmp_path / "lens.db")
    conn.execute("CREATE TABLE scratch (x)")
    conn.close()
    drift = run_cli("verify", "-q", "--data-dir", str(tmp_path))
    assert drift.returncode == 1
    assert [line.split()[0] for line in drift.stdout.splitlines()] == ["lens", "extra"]

    verbose = run_cli("migrate", "-v", "--data-dir", str(tmp_path / "fresh"))
    assert verbose.returncode == 0
    assert f"{tmp_path / 'fresh' / 'cortex.db'}: applied 001 (001_core.sql)" in verbose.stderr  # the cortexdb logger


@pytest.mark.parametrize("command", ["migrate", "status", "verify"])
def test_a_data_dir_that_is_a_file(tmp_path: Path, command: str) -> None:
    (tmp_path / "file").write_text("x")
    proc = run_cli(command, "--data-dir", str(tmp_path / "file"))
    assert proc.returncode == 2
    assert proc.stderr == f"cortex db {command}: {tmp_path / 'file'}: is a file, not a directory\n"
    with pytest.raises(cortexdb.DataDirError, match="is a file, not a directory"):
        cortexdb.migrate(tmp_path / "file")
    assert (tmp_path / "file").read_text() == "x"


def test_a_quick_check_failure_is_one_line(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path)
    conn = sqlite3.connect(tmp_path / "lens.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode = DELETE")
    latest = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()[0]
    conn.execute("DELETE FROM schema_migrations WHERE version = ?", (latest,))  # something pending
    conn.execute("PRAGMA user_version = 0")
    conn.close()
    with open(tmp_path / "lens.db", "r+b") as file:  # the header's free-list count: a lie
        file.seek(36)
        file.write(struct.pack(">I", 3))
    rows = sqlite3.connect(tmp_path / "lens.db").execute("PRAGMA quick_check").fetchall()
    assert "\n" in rows[0][0]  # SQLite's own answer spans lines

    proc = run_cli("migrate", "--data-dir", str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "PRAGMA quick_check failed (Main freelist:" in proc.stderr
    assert rows[0][0].splitlines()[-1] in proc.stderr
