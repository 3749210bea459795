"""Fleet-scale output (issue 14): with thousands of session databases, migrate, status and verify
print one summary line for them (counts per state, and each one that needs attention by name)
unless -v; JSON stays complete, with absolute paths."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from runtime_support import run_cli, synthetic_frozen, write_frozen

import cortexdb

DATABASES = {"main": "main.db", "session": "sessions/{session_id}.db"}
V1 = [(1, "main", "CREATE TABLE IF NOT EXISTS a (x);"), (2, "session", "CREATE TABLE IF NOT EXISTS s (y);")]
V2 = [*V1, (3, "session", "CREATE INDEX IF NOT EXISTS s_y ON s (y);")]
OLD, NEW = synthetic_frozen(V1, DATABASES), synthetic_frozen(V2, DATABASES)
SESSIONS = 2000


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("cli-fleet") / "data"
    cortexdb.migrate(data, frozen=OLD)
    cortexdb.open_session(data, "s0000", frozen=OLD).close()
    first = data / "sessions" / "s0000.db"
    assert not Path(f"{first}-wal").exists()  # the file alone is the whole database
    for number in range(1, SESSIONS):
        shutil.copyfile(first, data / "sessions" / f"s{number:04d}.db")
    return data


@pytest.fixture
def data(fleet: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "data"
    shutil.copytree(fleet, copy)
    return copy


def _frozen(tmp_path: Path, frozen: object) -> Path:
    return write_frozen(frozen, tmp_path / "frozen.py")


def test_status_and_verify_print_one_line_for_the_sessions(data: Path, tmp_path: Path) -> None:
    old = _frozen(tmp_path, OLD)
    status = run_cli("status", "--data-dir", str(data), frozen_file=old)
    assert status.returncode == 0, status.stderr
    assert status.stdout.splitlines() == [
        "main       main.db                      applied 1, up to date",
        f"session    (per session)                {SESSIONS} session database(s) up to date",
    ]
    verify = run_cli("verify", "--data-dir", str(data), frozen_file=old)
    assert verify.returncode == 0, verify.stdout
    assert verify.stdout.splitlines()[1:] == [
        f"session    (per session)                {SESSIONS} session database(s): {SESSIONS} ok", "no drift"]
    every = run_cli("status", "-v", "--data-dir", str(data), frozen_file=old)
    assert len(every.stdout.splitlines()) == SESSIONS + 1


def test_the_ones_that_need_attention_are_named(data: Path, tmp_path: Path) -> None:
    old = _frozen(tmp_path, OLD)
    conn = sqlite3.connect(data / "sessions" / "s0777.db")
    conn.execute("CREATE TABLE scratch (z)")  # drift
    conn.execute("UPDATE schema_migrations SET checksum = 'c1:edited'")  # a changed migration
    conn.commit()
    conn.close()
    status = run_cli("status", "--data-dir", str(data), frozen_file=old)
    assert status.returncode == 1
    lines = status.stdout.splitlines()
    assert len(lines) == 3 and lines[1].startswith("session    sessions/s0777.db") and "changed 002" in lines[1]
    assert lines[2].endswith(f"{SESSIONS} session database(s): {SESSIONS - 1} up to date, "
                             "1 changed or unknown (listed above)")
    verify = run_cli("verify", "--data-dir", str(data), frozen_file=old)
    assert verify.returncode == 1
    assert "session    sessions/s0777.db            DRIFT" in verify.stdout
    assert verify.stdout.splitlines()[-2].endswith(f"{SESSIONS - 1} ok, 1 DRIFT (listed above)")
    assert len(verify.stdout.splitlines()) <= 7


def test_migrate_counts_the_sessions_it_migrated_and_names_the_failures(data: Path, tmp_path: Path) -> None:
    (data / "sessions" / "s1234.db").write_bytes(b"not a database at all" * 300)
    new = _frozen(tmp_path, NEW)
    proc = run_cli("migrate", "--data-dir", str(data), "--no-backup", frozen_file=new, timeout=600)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == [
        "main       main.db                      up to date",
        f"session    (per session)                {SESSIONS} session database(s): "
        f"{SESSIONS - 1} migrated (003), 1 failed (listed on stderr)",
        f"applied {SESSIONS - 1} migration(s)",
    ]
    assert f"{data / 'sessions' / 's1234.db'}: is not an SQLite database" in proc.stderr
    assert len(proc.stderr.splitlines()) <= 12  # ten progress lines, the failure, the count
    again = run_cli("migrate", "--data-dir", str(data), frozen_file=new)
    assert f"{SESSIONS} session database(s): {SESSIONS - 1} up to date, 1 failed" in again.stdout


@pytest.mark.parametrize("command", ["status", "verify"])
def test_json_is_complete_with_absolute_paths(data: Path, tmp_path: Path, command: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(data.parent)  # --data-dir relative to the working directory
    proc = run_cli(command, "--data-dir", "data", "--format", "json", frozen_file=_frozen(tmp_path, NEW))
    document = json.loads(proc.stdout)
    assert document["data_dir"] == str(data)
    paths = [entry["path"] for entry in document["databases"]]
    expected = [str(data / "main.db"), *sorted(str(path) for path in (data / "sessions").glob("*.db"))]
    assert paths == expected and len(paths) == SESSIONS + 1
    assert all(os.path.isabs(path) for path in paths)
    if command == "verify":
        assert document["ok"] is False and proc.returncode == 1  # s_y is not applied yet
        assert sum(not entry["ok"] for entry in document["databases"]) == SESSIONS
    else:
        assert proc.returncode == 0
        assert [entry["pending"] for entry in document["databases"]][1:] == [[3]] * SESSIONS


def test_empty_json_list_is_valid(tmp_path: Path) -> None:
    proc = run_cli("status", "--data-dir", str(tmp_path), "--database", "session", "--format", "json",
                   frozen_file=_frozen(tmp_path, OLD))
    assert json.loads(proc.stdout) == {"data_dir": str(tmp_path), "databases": []}


AUDIT = """
import collections, sys
opened = collections.Counter()
def hook(event, args):
    if event in ("open", "sqlite3.connect") and "sessions" in str(args[0]):
        opened[event, str(args[0]).split("?")[0].removeprefix("file:")] += 1
sys.addaudithook(hook)
from cortexdb._cli import main
code = main(sys.argv[1:])
print({f"{event} {path}": count for (event, path), count in opened.items()}, file=sys.stderr)
sys.exit(code)
"""


def test_verify_opens_each_session_file_once(data: Path, tmp_path: Path) -> None:
    """Python's audit hooks see every open() and sqlite3.connect: one connect per file, no open()."""
    import ast
    import subprocess
    import sys

    from runtime_support import child_env

    for extra in ("s0001.db", "s0002.db"):
        shutil.copyfile(data / "sessions" / "s0000.db", data / "sessions" / extra)
    for name in (data / "sessions").iterdir():
        if name.name not in ("s0000.db", "s0001.db", "s0002.db"):
            name.unlink()
    proc = subprocess.run([sys.executable, "-c", AUDIT, "db", "verify", "--database", "session", "--data-dir",
                           str(data)], capture_output=True, text=True, env=child_env(), timeout=60)
    opened = ast.literal_eval(proc.stderr.strip().splitlines()[-1])
    files = sorted(str(path) for path in (data / "sessions").glob("*.db"))
    assert opened == {f"sqlite3.connect {path}": 1 for path in files}, opened


def test_progress_is_one_live_line_on_a_terminal(data: Path, tmp_path: Path) -> None:
    """stderr on a real pseudo-terminal: progress rewrites one line (\\r), ending with a newline."""
    import pty
    import subprocess

    from runtime_support import child_command, child_env

    frozen_file = _frozen(tmp_path, NEW)
    leader, follower = pty.openpty()
    with subprocess.Popen(child_command(["db", "migrate", "--no-backup", "--data-dir", str(data)], frozen_file),
                          stdout=subprocess.PIPE, stderr=follower, stdin=subprocess.DEVNULL, env=child_env()) as proc:
        os.close(follower)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal: EIO
                break
            if not chunk:
                break
            seen += chunk
        stdout, _ = proc.communicate(timeout=600)
    os.close(leader)
    assert proc.returncode == 0, seen
    text = seen.decode()
    assert text.count("\r") >= 10 and text.endswith(f"\rmigrated {SESSIONS}/{SESSIONS} databases\r\n")
    assert text.count("\n") == 1  # one line on the terminal, however many databases
    assert b"applied" in stdout
