"""restore on real files: listing, putting a backup back atomically, the refusals and bad input."""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import sys
from pathlib import Path

from runtime_support import ROOT, child_env, derived, ledger_rows, real_frozen, run_cli

import cortexdb
from cortexdb._catalog import load_catalog

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
VAULT = [m.version for m in CATALOG.databases["vault"].migrations]


def _run(path: Path, sql: str) -> list[tuple[object, ...]]:
    """One statement on its own connection, closed after (restore refuses while one is open)."""
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(sql).fetchall()


def _with_a_backup(data: Path) -> str:
    """A data dir migrated by an older build, one row written, then migrated by this build (which
    backs up what it changes): the backup's name."""
    cortexdb.migrate(data, frozen=derived(FROZEN, upto=VAULT[0]))
    _run(data / "vault.db", "INSERT INTO vault_entries (id, name, ciphertext, nonce) "
                            "VALUES ('kept', 'n', randomblob(16), randomblob(12))")
    result = cortexdb.migrate(data)
    assert result.backup_dir is not None
    return Path(result.backup_dir).name


def test_restore_lists_backups_and_puts_one_back_keeping_the_replaced_database(tmp_path: Path) -> None:
    name = _with_a_backup(tmp_path)
    listed = run_cli("restore", "--data-dir", str(tmp_path))
    assert listed.returncode == 0 and name in listed.stdout and "vault.db" in listed.stdout
    _run(tmp_path / "vault.db", "INSERT INTO vault_entries (id, name, ciphertext, nonce, scope) "
                                "VALUES ('after', 'm', randomblob(16), randomblob(12), 'user')")
    migrated = ledger_rows(tmp_path / "vault.db")
    by_path = str(tmp_path / "backups" / name)  # a backup is named by its folder name or its path
    done = run_cli("restore", by_path, "--database", "vault", "--data-dir", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert [row[0] for row in ledger_rows(tmp_path / "vault.db")] == VAULT[:1]
    assert _run(tmp_path / "vault.db", "SELECT id FROM vault_entries") == [("kept",)]
    assert _run(tmp_path / "vault.db", "PRAGMA quick_check") == [("ok",)]
    assert not (tmp_path / "vault.db-wal").exists() or (tmp_path / "vault.db-wal").stat().st_size == 0
    # What it replaced is itself a backup, the newest, and restoring that undoes the restore.
    newest = cortexdb.backups(tmp_path)[0]
    assert newest.name != name and newest.files == ("vault.db",)
    assert ledger_rows(Path(newest.path) / "vault.db") == migrated
    assert [s.pending for s in cortexdb.status(tmp_path) if s.name == "vault"] == [tuple(VAULT[1:])]
    cortexdb.restore(tmp_path, newest.name)
    assert sorted(_run(tmp_path / "vault.db", "SELECT id FROM vault_entries")) == [("after",), ("kept",)]
    assert cortexdb.verify(tmp_path).ok


def test_restore_waits_for_the_migrate_lock_and_refuses_while_the_database_is_open(tmp_path: Path) -> None:
    name = _with_a_backup(tmp_path)
    before = (tmp_path / "vault.db").read_bytes()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
         "c.execute('SELECT count(*) FROM vault_entries').fetchall(); print('open', flush=True); sys.stdin.read()",
         str(tmp_path / "vault.db")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env(),
        cwd=ROOT)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "open\n"
        done = run_cli("restore", name, "--database", "vault", "--busy-timeout", "0.3", "--data-dir", str(tmp_path))
    finally:
        assert holder.stdin is not None
        holder.stdin.close()
        holder.wait(timeout=30)
    assert done.returncode == 1 and "open in another process" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert (tmp_path / "vault.db").read_bytes() == before


def test_restore_refuses_a_damaged_backup_and_touches_nothing(tmp_path: Path) -> None:
    name = _with_a_backup(tmp_path)
    copy = tmp_path / "backups" / name / "vault.db"
    data = bytearray(copy.read_bytes())
    page = 4096
    data[page + 8: page * 2] = b"\xff" * (page - 8)  # a b-tree page overwritten
    copy.write_bytes(bytes(data))
    before = (tmp_path / "vault.db").read_bytes()
    done = run_cli("restore", name, "--database", "vault", "--data-dir", str(tmp_path))
    assert done.returncode == 1, done.stderr
    assert "quick_check" in done.stderr or "corrupt" in done.stderr
    assert (tmp_path / "vault.db").read_bytes() == before
    assert [b.name for b in cortexdb.backups(tmp_path)] == [name]


def test_restore_bad_input_is_exit_2_in_one_line(tmp_path: Path) -> None:
    name = _with_a_backup(tmp_path)
    cases = [
        ["20000101T000000Z"],  # unknown backup
        [str(tmp_path / "elsewhere" / name)],  # its name, but not its folder
        [name, "--database", "plugins"],  # the backup holds no copy of it (created new)
        [name, "--database", "nope"],  # unknown database
        [name, "--database", "vault", "--database-url", "vault=http://127.0.0.1:9"],  # on a server
    ]
    for args in cases:
        done = run_cli("restore", *args, "--data-dir", str(tmp_path))
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr
    assert "libSQL server" in done.stderr


def test_restore_puts_back_session_databases_by_their_name(tmp_path: Path) -> None:
    sessions = tmp_path / "sessions"
    sessions.mkdir()
    _run(sessions / "abc.db", "CREATE TABLE notes (body TEXT)")  # made by the application, no ledger
    _run(sessions / "abc.db", "INSERT INTO notes VALUES ('before')")
    result = cortexdb.migrate(tmp_path, databases=["session"], backup="all")  # the default copies no session
    assert result.backup_dir is not None
    name = Path(result.backup_dir).name
    assert cortexdb.backups(tmp_path)[0].files == ("sessions/abc.db",)
    restored = cortexdb.restore(tmp_path, name, databases=["session"])
    assert restored.restored == ["sessions/abc.db"]
    assert ledger_rows(sessions / "abc.db") == [] and _run(sessions / "abc.db", "SELECT body FROM notes") == [
        ("before",)]
