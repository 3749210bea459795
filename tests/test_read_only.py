"""status and verify only read: they work on a data dir on read-only media, as migrate's
up-to-date path does, and never create a file there."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_support import real_frozen, run_cli, snapshot

import cortexdb

FROZEN = real_frozen()


@pytest.fixture
def read_only_data(tmp_path: Path) -> Iterator[Path]:
    """A migrated data dir on a file system mounted read-only (a tmpfs, remounted ro)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a read-only file system needs root (CI and the dev machines run as root)")
    mount = tmp_path / "ro"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
    try:
        cortexdb.migrate(mount / "data")
        cortexdb.open_session(mount / "data", "s1").close()
        shutil.rmtree(mount / "data" / "backups", ignore_errors=True)
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        yield mount / "data"
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_status_verify_and_an_up_to_date_migrate_work_on_read_only_media(read_only_data: Path) -> None:
    before = snapshot(read_only_data)
    statuses = cortexdb.status(read_only_data)
    assert statuses and all(s.up_to_date for s in statuses)
    report = cortexdb.verify(read_only_data)
    assert report.ok, [c.problems for c in report.databases if c.problems]
    assert cortexdb.migrate(read_only_data).up_to_date
    for command in ("status", "verify", "migrate"):
        proc = run_cli(command, "--data-dir", str(read_only_data))
        assert proc.returncode == 0, (command, proc.stderr)
    assert snapshot(read_only_data) == before
