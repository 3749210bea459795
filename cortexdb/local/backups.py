"""Backups before applying: SQLite's online backup API into `<data-dir>/backups/<UTC time>/`.

One run of `migrate` writes every backup it takes into one folder. The folder is filled
under a private name and renamed into place when the run ends, so pruning by another
process never deletes a backup that is still being written. Kept: the run's own backup,
always, and the newest others up to five runs and 2 GiB in all.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sqlite3
import time

from .._errors import BackupError
from .._log import log

KEEP = 5
#: Older runs are kept only while all kept backups together stay within this size; the
#: newest run is always kept, whatever its size (at 50,000 session databases one run alone
#: can be gigabytes: five of those would fill a disk the application needs).
MAX_BYTES = 2 * 1024**3
BACKUPS_DIR = "backups"
_PUBLISHED = re.compile(r"^(\d{8}T\d{6}Z)(?:-(\d+))?$")
_STAGING = re.compile(r"^\.incomplete-(\d+)-[0-9a-f]+$")


class BackupRun:
    """The backups of one migrate run."""

    def __init__(self, data_dir: str, keep: int = KEEP, max_bytes: int = MAX_BYTES) -> None:
        self.root = os.path.join(data_dir, BACKUPS_DIR)
        self.keep = keep
        self.max_bytes = max_bytes
        self.stamp = ""
        self.staging: str | None = None
        self.saved: list[str] = []  # relative paths of the databases saved
        self.published: str | None = None

    def save(self, source_path: str, relative: str) -> None:
        """Copy the database at `source_path` (a consistent snapshot) to `<run>/<relative>`.

        Called while the migrating connection holds the write lock, so the copy is exactly
        the state the migrations will start from; it reads through its own connection
        because the backup API cannot read through one with an open write transaction.
        """
        staging = self._staging()
        target = os.path.join(staging, relative)
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            source = sqlite3.connect(source_path)
            try:
                destination = sqlite3.connect(target)
                try:
                    source.backup(destination)
                finally:
                    destination.close()
            finally:
                source.close()
        except (OSError, sqlite3.Error) as error:
            _remove(target)
            raise BackupError(target, f"cannot write the backup of {source_path} ({error})") from None
        self.saved.append(relative)
        log.info("%s: backed up before migrating", source_path)

    def finish(self) -> str | None:
        """Move this run's backups into place, prune old ones; the folder's path, if any."""
        if self.staging is None:
            return None
        if not self.saved:
            shutil.rmtree(self.staging, ignore_errors=True)
            return None
        while True:
            final = os.path.join(self.root, self._next_name())
            try:
                os.rename(self.staging, final)  # atomic; fails if another run just took the name
                break
            except OSError:
                if not os.path.isdir(self.staging):
                    raise
        self.published = final
        self._prune()
        return final

    def _next_name(self) -> str:
        """`<stamp>`, or `<stamp>-N` after the highest N taken: names sort in creation order."""
        taken = [0]
        for name in _listdir(self.root):
            match = _PUBLISHED.match(name)
            if match and match.group(1) == self.stamp:
                taken.append(int(match.group(2) or 1))
        suffix = max(taken) + 1
        return self.stamp if suffix == 1 else f"{self.stamp}-{suffix}"

    def _staging(self) -> str:
        if self.staging is None:
            self.stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
            staging = os.path.join(self.root, f".incomplete-{os.getpid()}-{os.urandom(4).hex()}")
            try:
                os.makedirs(staging)
            except OSError as error:
                raise BackupError(staging, f"cannot create the backup folder ({error.strerror})") from None
            self.staging = staging
        return self.staging

    def _prune(self) -> None:
        published = []
        for name in _listdir(self.root):
            match = _PUBLISHED.match(name)
            if match:
                published.append(((match.group(1), int(match.group(2) or 1)), name))
            staging = _STAGING.match(name)
            if staging and not _alive(int(staging.group(1))):
                shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
        # The backup this run just took is kept whatever the clock said when it was named
        # (a clock set back gives it the oldest name); the newest others fill the rest, up to
        # `keep` runs and `max_bytes` in all.
        own = os.path.basename(self.published or "")
        total = _size(os.path.join(self.root, own)) if own else 0
        kept = 1 if own else 0
        for _, name in sorted((entry for entry in published if entry[1] != own), reverse=True):
            folder = os.path.join(self.root, name)
            size = _size(folder)
            if kept < self.keep and total + size <= self.max_bytes:
                kept += 1
                total += size
                continue
            log.info("removing old backup %s", name)
            shutil.rmtree(folder, ignore_errors=True)


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


def _size(folder: str) -> int:
    total = 0
    for directory, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
