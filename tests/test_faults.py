"""Faults while applying, on real files and real processes: the disk fills, the data dir turns
read-only, another process holds the write lock, a database file is truncated or corrupt.

Each test checks the same four things: a one-line error naming the file with exit 1 or 2 (the
CLI) or a `CortexDBError` (the library); every database left holding exactly a prefix of its
migrations (ledger rows, schema and fingerprint agree: nothing recorded that did not happen);
and, once the fault is gone, a run that completes. Refusals also leave the bytes untouched.

The faults are real, not mocked: `RLIMIT_FSIZE` (writes past the limit fail with EFBIG), a
small tmpfs (ENOSPC) and a read-only bind mount (EROFS), the last two inside a private mount
namespace (`unshare -m`; skipped where the kernel refuses one). We run as root, so `chmod`
would not stop the runtime from writing; a read-only mount does.
"""

from __future__ import annotations

import functools
import re
import resource
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from runtime_support import (
    child_command,
    child_env,
    derived,
    expected_ledger,
    ledger_rows,
    live_schema,
    prefix_schema,
    real_frozen,
    run_cli,
    shared_databases,
    snapshot,
    synthetic_frozen,
    user_version,
    write_frozen,
)

import cortexdb
from cortexdb._catalog import load_catalog
from cortexdb._contract import fingerprint

FROZEN = real_frozen()
CATALOG = load_catalog(FROZEN)
PENDING_AFTER = 41  # migrated up to 041: 042-044 and 047 (cortex), 045 (vault), 046 (memory) pending


# ---------------------------------------------------------------- fixtures and checks


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Data dirs migrated up to 041 and to the end, built once; tests work on copies."""
    base = tmp_path_factory.mktemp("fault-templates")
    partial, complete = base / "upto041", base / "complete"
    cortexdb.migrate(partial, frozen=derived(FROZEN, upto=PENDING_AFTER), backup=False)
    cortexdb.migrate(complete, backup=False)
    return {"partial": partial, "complete": complete}


def _copy(templates: dict[str, Path], which: str, into: Path) -> Path:
    shutil.copytree(templates[which], into)
    return into


def _one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


def _database_bytes(data: Path) -> dict[str, bytes]:
    return {file: (data / file).read_bytes() for file in shared_databases(FROZEN).values()
            if (data / file).exists()}


def assert_prefixes(data: Path) -> dict[str, int]:
    """Every database holds exactly a prefix of its migrations; {name: how many}."""
    counts = {}
    for name, file in shared_databases(FROZEN).items():
        path = data / file
        if not path.exists() or path.stat().st_size == 0:
            counts[name] = 0
            continue
        rows = ledger_rows(path)
        count = len(rows)
        assert rows == expected_ledger(FROZEN, name, count), (name, rows)
        assert live_schema(path) == prefix_schema(FROZEN, name, count), (name, count)
        migrations = CATALOG.databases[name].migrations[:count]
        expected = fingerprint(CATALOG.ledger, name, [m.ledger_key for m in migrations]) if count else 0
        assert user_version(path) == expected, name
        counts[name] = count
    return counts


def assert_complete(data: Path) -> None:
    for name, count in assert_prefixes(data).items():
        assert count == len(CATALOG.databases[name].migrations), (name, count)
    verify = run_cli("verify", "--data-dir", str(data))
    assert verify.returncode == 0, verify.stdout + verify.stderr


def _recovers(data: Path) -> None:
    """The fault is gone: the next run completes and everything verifies."""
    proc = run_cli("migrate", "--data-dir", str(data))
    assert proc.returncode == 0, proc.stderr
    assert_complete(data)


@functools.cache
def _mount_namespaces() -> str | None:
    """None when `unshare -m` gives this process a private mount namespace, else why not."""
    if shutil.which("unshare") is None:
        return "no unshare(1)"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
                           capture_output=True, text=True, timeout=30)
    return None if probe.returncode == 0 else f"unshare -m: {probe.stderr.strip()}"


def _in_mount_namespace(script: str) -> subprocess.CompletedProcess[str]:
    reason = _mount_namespaces()
    if reason is not None:
        pytest.skip(f"needs a private mount namespace ({reason})")
    return subprocess.run(["unshare", "-m", "sh", "-euc", script], capture_output=True, text=True,
                          env=child_env(), stdin=subprocess.DEVNULL, timeout=120)


def _cli(data: Path, *extra: str) -> str:
    return shlex.join(child_command(["db", "migrate", "--data-dir", str(data), *extra]))


# ---------------------------------------------------------------- the disk fills


def _published_backups(data: Path) -> list[str]:
    folder = data / "backups"
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) if folder.exists() else []


def _file_size_limit(limit: int) -> None:
    # In the child, before exec: an ignored SIGXFSZ makes the write fail with EFBIG instead.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _no_aside_files(data: Path) -> list[str]:
    """What a failed creation must not leave: the files a new database is built in (`..NAME.new`)."""
    return sorted(str(p.relative_to(data)) for p in data.rglob("..*"))


def test_disk_full_while_creating_a_database_file_size_limit(tmp_path: Path, templates: dict[str, Path]) -> None:
    """RLIMIT_FSIZE well below cortex.db's final size on an empty data dir: the error names the
    migration and says it was rolled back; a new database is built aside and appears whole or
    not at all, so nothing is published and nothing is left behind."""
    data = tmp_path / "data"
    limit = (templates["complete"] / "cortex.db").stat().st_size // 3
    proc = subprocess.run(child_command(["db", "migrate", "--data-dir", str(data)]), capture_output=True,
                          text=True, env=child_env(), stdin=subprocess.DEVNULL, timeout=120,
                          preexec_fn=functools.partial(_file_size_limit, limit))

    assert proc.returncode == 1, proc.stderr
    message = _one_line(proc.stderr)
    assert str(data / "cortex.db") in message and "error" in message
    assert re.search(r"migration \d+ \(\d{3}_\w+\.sql\)", message), message
    assert "rolled back" in message, message
    assert not (data / "cortex.db").exists()
    assert _no_aside_files(data) == []
    assert set(assert_prefixes(data).values()) == {0}
    _recovers(data)


# An existing database, then two migrations: a small one that fits under the limit and one that
# writes 4 MB, which cannot.
GROW_V1 = (1, "main", "CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT);")
GROW_V2 = (2, "main", "CREATE TABLE IF NOT EXISTS tags (id INTEGER PRIMARY KEY, name TEXT);")
GROW_V3 = (3, "main", "INSERT OR IGNORE INTO notes (id, body) VALUES (1, hex(zeroblob(2000000)));")


def test_disk_full_mid_migration_of_an_existing_database(tmp_path: Path) -> None:
    """RLIMIT_FSIZE hit by a migration of an existing database: the ones before it stay committed,
    it is rolled back with nothing recorded, and the next run applies it."""
    data = tmp_path / "data"
    v1, v3 = synthetic_frozen([GROW_V1]), synthetic_frozen([GROW_V1, GROW_V2, GROW_V3])
    cortexdb.migrate(data, frozen=v1, backup=False)
    frozen_file = write_frozen(v3, tmp_path / "frozen_v3.py")
    proc = subprocess.run(child_command(["db", "migrate", "--no-backup", "--data-dir", str(data)], frozen_file),
                          capture_output=True, text=True, env=child_env(), stdin=subprocess.DEVNULL,
                          timeout=120, preexec_fn=functools.partial(_file_size_limit, 1_000_000))

    assert proc.returncode == 1, proc.stderr
    message = _one_line(proc.stderr)
    assert str(data / "main.db") in message and "migration 003 (003_m3.sql)" in message, message
    assert "rolled back" in message, message
    assert [row[0] for row in ledger_rows(data / "main.db")] == [1, 2]
    assert live_schema(data / "main.db") == tuple(synthetic_frozen([GROW_V1, GROW_V2]).DATABASES["main"]["schema"])
    catalog = load_catalog(v3)
    done = catalog.databases["main"].migrations[:2]
    assert user_version(data / "main.db") == fingerprint(catalog.ledger, "main", [m.ledger_key for m in done])

    retry = run_cli("migrate", "--data-dir", str(data), frozen_file=frozen_file)
    assert retry.returncode == 0, retry.stderr
    assert [row[0] for row in ledger_rows(data / "main.db")] == [1, 2, 3]


def test_disk_full_while_taking_the_backup(tmp_path: Path, templates: dict[str, Path]) -> None:
    """The backup of an existing database cannot be written: nothing is applied anywhere."""
    data = _copy(templates, "partial", tmp_path / "data")
    before = _database_bytes(data)
    limit = (data / "cortex.db").stat().st_size // 2
    proc = subprocess.run(child_command(["db", "migrate", "--data-dir", str(data)]), capture_output=True,
                          text=True, env=child_env(), stdin=subprocess.DEVNULL, timeout=120,
                          preexec_fn=functools.partial(_file_size_limit, limit))

    assert proc.returncode == 1, proc.stderr
    message = _one_line(proc.stderr)
    assert "cannot write the backup" in message and str(data / "cortex.db") in message
    assert _database_bytes(data) == before
    assert _published_backups(data) == []
    _recovers(data)
    assert len(_published_backups(data)) == 1


def test_disk_full_mid_migration_small_filesystem(tmp_path: Path, templates: dict[str, Path]) -> None:
    """A tmpfs a fifth the size of a migrated data dir: ENOSPC mid-run; then it grows, the run completes."""
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    out.mkdir()
    total = sum(p.stat().st_size for p in templates["complete"].iterdir() if p.is_file())
    size_kib = total // 5 // 1024
    d, o = shlex.quote(str(data)), shlex.quote(str(out))
    proc = _in_mount_namespace(f"""
        mount -t tmpfs -o size={size_kib}k tmpfs {d}
        set +e
        {_cli(data)} >{o}/full.stdout 2>{o}/full.stderr
        echo $? >{o}/full.rc
        set -e
        cp -a {d} {o}/after_fault
        mount -o remount,size=64m {d}
        {_cli(data)} >{o}/retry.stdout 2>{o}/retry.stderr
        cp -a {d} {o}/after_retry
    """)
    assert proc.returncode == 0, proc.stderr + (out / "retry.stderr").read_text()

    assert (out / "full.rc").read_text().strip() == "1"
    message = _one_line((out / "full.stderr").read_text())
    assert str(data / "cortex.db") in message and "disk is full" in message
    assert not (out / "after_fault" / "cortex.db").exists()  # a new database appears whole or not at all
    assert _no_aside_files(out / "after_fault") == []
    assert_prefixes(out / "after_fault")
    assert_complete(out / "after_retry")


# ---------------------------------------------------------------- the data dir turns read-only


@pytest.mark.parametrize("state", ["partial", "empty"])
def test_read_only_data_dir_is_refused_untouched(tmp_path: Path, templates: dict[str, Path], state: str) -> None:
    """A read-only bind mount of the data dir (EROFS, which root cannot override)."""
    data = _copy(templates, state, tmp_path / "data") if state != "empty" else tmp_path / "data"
    data.mkdir(exist_ok=True)
    before = snapshot(data)
    quoted = shlex.quote(str(data))
    proc = _in_mount_namespace(f"mount --bind {quoted} {quoted}\nmount -o remount,bind,ro {quoted}\n"
                               f"exec {_cli(data)}")

    assert proc.returncode == 2, proc.stdout + proc.stderr
    message = _one_line(proc.stderr)
    expected = "cannot open the database for writing" if state != "empty" else "cannot create the database"
    assert str(data / "cortex.db") in message and expected in message, message
    assert snapshot(data) == before
    _recovers(data)


def test_read_only_data_dir_that_is_up_to_date_still_starts(tmp_path: Path, templates: dict[str, Path]) -> None:
    """The up-to-date path writes nothing, so an application on a read-only volume starts."""
    data = _copy(templates, "complete", tmp_path / "data")
    quoted = shlex.quote(str(data))
    proc = _in_mount_namespace(f"mount --bind {quoted} {quoted}\nmount -o remount,bind,ro {quoted}\n"
                               f"exec {_cli(data)}")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("up to date")


# ---------------------------------------------------------------- another process holds the lock


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
"""


def _hold_write_lock(path: Path) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
    return holder


def _release(holder: subprocess.Popen[str]) -> None:
    holder.communicate("release\n", timeout=30)
    assert holder.returncode == 0


def test_write_lock_held_by_another_process(tmp_path: Path, templates: dict[str, Path]) -> None:
    """memory.db is locked past --busy-timeout: cortex.db (before it) completes, memory.db is
    left as it was, and once the holder lets go the next run completes."""
    data = _copy(templates, "partial", tmp_path / "data")
    memory_rows = ledger_rows(data / "memory.db")
    holder = _hold_write_lock(data / "memory.db")
    try:
        proc = run_cli("migrate", "--data-dir", str(data), "--busy-timeout", "0.2")
        assert proc.returncode == 1, proc.stderr
        message = _one_line(proc.stderr)
        assert str(data / "memory.db") in message and "locked by another connection" in message
        assert "0.2s" in message
        with pytest.raises(cortexdb.LockTimeoutError) as raised:
            cortexdb.migrate(data, busy_timeout=0.2)
        assert raised.value.path == str(data / "memory.db")
    finally:
        _release(holder)
    counts = assert_prefixes(data)
    assert counts["cortex"] == len(CATALOG.databases["cortex"].migrations)
    assert ledger_rows(data / "memory.db") == memory_rows
    _recovers(data)


# ---------------------------------------------------------------- a damaged database file


def _truncate(path: Path) -> None:
    with open(path, "r+b") as file:
        file.truncate(path.stat().st_size // 2 // 4096 * 4096)


def _overwrite_middle_pages(path: Path) -> None:
    pages = path.stat().st_size // 4096
    with open(path, "r+b") as file:
        for page in range(pages // 2 - 2, pages // 2 + 2):
            file.seek(page * 4096)
            file.write(bytes([0x5A]) * 4096)


DAMAGE = {"truncated to half": _truncate, "four middle pages overwritten": _overwrite_middle_pages}


@pytest.mark.parametrize("recovery", ["restore the copy", "remove the file"])
@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_database_is_reported_untouched_and_recovers(
    tmp_path: Path, templates: dict[str, Path], damage: str, recovery: str
) -> None:
    data = _copy(templates, "partial", tmp_path / "data")
    path = data / "cortex.db"
    saved = tmp_path / "cortex.db.saved"
    shutil.copy(path, saved)
    DAMAGE[damage](path)
    before = snapshot(data)

    proc = run_cli("migrate", "--data-dir", str(data))
    assert proc.returncode == 1, proc.stderr
    message = _one_line(proc.stderr)
    assert str(path) in message and "corrupt" in message and "nothing was applied" in message
    with pytest.raises(cortexdb.CorruptDatabaseError) as raised:
        cortexdb.migrate(data)
    assert raised.value.path == str(path)
    assert snapshot(data) == before
    assert not (data / "backups").exists()

    if recovery == "restore the copy":
        shutil.copy(saved, path)
    else:
        path.unlink()
    _recovers(data)


def test_truncated_database_that_is_up_to_date(tmp_path: Path, templates: dict[str, Path]) -> None:
    """The up-to-date path reads only the header, so it cannot see damage; it must not write
    either, and `verify` (which reads everything) reports the file."""
    data = _copy(templates, "complete", tmp_path / "data")
    _truncate(data / "cortex.db")
    before = snapshot(data)
    run_cli("migrate", "--data-dir", str(data))
    assert snapshot(data) == before
    proc = run_cli("verify", "--data-dir", str(data))
    assert proc.returncode == 1
    assert str(data / "cortex.db") in _one_line(proc.stderr)
