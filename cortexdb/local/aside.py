"""A database that does not exist yet is built aside and linked into place whole.

Its migrations run in `..NAME.new` beside its place (the leading `..` keeps it out of every
session listing: a session id cannot contain `..`), which is then synced once and hard-linked
to `NAME`: the database appears with every migration applied, or not at all. Processes
creating the same file take turns on an `flock` of the aside file, so each migration runs
once. One that waited and finds the file created meanwhile has nothing to build.

This module is what such a waiting process runs, so it imports only what that needs (no
logging, no applier): on a fresh data dir, all processes but one only wait. A process killed
while building leaves the aside file; the next one removes it and builds a new one. It never
truncates a file: the one left may be a second name of a database that is still in use.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time

from .._errors import DataDirError, LockTimeoutError
from .._log import log

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: new files are migrated in place
    fcntl = None  # type: ignore[assignment]

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from .._apply import Outcome

#: False once this process found a file system without hard links (then: in place).
hard_links = True

# What `link` fails with where the file system has no hard links (e.g. vfat: EPERM).
_NO_LINKS = {getattr(errno, name) for name in ("EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV")
             if hasattr(errno, name)}
_FIRST_DELAY, _MAX_DELAY = 0.0005, 0.008  # seconds between tries of a lock another process holds


def aside_path(path: str) -> str:
    """Where the database at `path` is built before it exists."""
    directory, name = os.path.split(path)
    return os.path.join(directory, f"..{name}.new")


class Busy(Exception):
    """Another process is creating the database (raised only by `create(..., wait=False)`)."""


def create(path: str, busy_timeout: float, build: Callable[[str], Outcome], *, wait: bool = True) -> Outcome | None:
    """Create the database at `path` whole: `build(aside)` migrates the aside file, then it is
    linked into place. None, with nothing built, when `path` exists by the time this process
    gets its turn, or where this cannot work (no `fcntl`, no hard links): the caller then
    treats `path` as an existing (or still missing) database and migrates it in place.
    `wait=False`: `Busy` at once, nothing done, if another process is creating it.
    """
    if fcntl is None or not hard_links:
        return None
    aside = aside_path(path)
    fd = _claim(path, aside, busy_timeout, wait)
    if fd is None:
        return None
    try:
        _remove(aside, also_file=False)  # a killed build's journal or WAL must not be replayed
        outcome = build(aside)
        os.fsync(fd)
        set_aside_leftovers(path)
        if not _publish(aside, path):
            return None
        _sync_directory(os.path.dirname(path))
        return outcome
    except OSError as error:  # e.g. EIO from fsync: nothing was published
        _remove(aside)
        raise DataDirError(path, f"cannot create the database ({error.strerror or error})") from None
    except BaseException:
        _remove(aside)
        raise
    finally:
        os.close(fd)  # only after SQLite closed its own: closing any descriptor drops the process's locks


def _claim(path: str, aside: str, busy_timeout: float, wait: bool) -> int | None:
    """A descriptor holding the lock of `aside`, or None once `path` exists (created meanwhile)."""
    assert fcntl is not None
    deadline = time.monotonic() + busy_timeout
    delay = _FIRST_DELAY
    while not os.path.lexists(path):
        try:
            fd = os.open(aside, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except OSError as error:
            raise DataDirError(path, f"cannot create the database ({error.strerror})") from None
        locked = False
        try:
            # Another process holding the lock is creating the database: wait for its turn to
            # end (it links the file into place, then lets go), trying the same descriptor.
            while not _try_lock(fd):
                if os.path.lexists(path):
                    return None
                if not wait:
                    raise Busy(path)
                if delay == _FIRST_DELAY:
                    _debug("%s: another process is creating it; waiting", path)
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(
                        path,
                        f"another process is creating the database; gave up after {busy_timeout:g}s "
                        "(raise --busy-timeout or stop the other process)",
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, _MAX_DELAY)
            try:
                current = os.path.samestat(os.fstat(fd), os.stat(aside, follow_symlinks=False))
            except FileNotFoundError:
                current = False  # its builder removed it (published, or failed): look again
            if current and not os.path.lexists(path) and os.fstat(fd).st_size == 0:
                locked = True
                return fd
            if current:
                # Created while we opened this file (nobody will build in it), or what a killed
                # builder left: a partial build, or (killed between link and unlink) a second
                # name of a database that was later deleted at `path` but may still be open.
                # Only the name goes; a new, empty file is built. Never truncate: the inode may
                # be someone's data.
                _remove(aside)
        finally:
            if not locked:
                os.close(fd)
    return None


#: What SQLite reads beside a database file when it opens it: a WAL it replays over the file, a
#: hot journal it plays back into it. Left over from a deleted database, either would make a
#: new database at the same name come up holding the old one's pages.
COMPANIONS = ("-wal", "-journal", "-shm")


def set_aside_leftovers(path: str) -> list[str]:
    """Rename the companions of a database that no longer exists at `path` out of SQLite's way
    (to `<name>-wal.orphaned-<UTC time>`, kept for whoever wants the old data); their new names.

    Called just before a new database appears at `path`; a warning names each one moved.
    """
    moved = []
    for suffix in COMPANIONS:
        leftover = path + suffix
        if not os.path.lexists(leftover):
            continue
        target = f"{leftover}.orphaned-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.urandom(3).hex()}"
        try:
            os.rename(leftover, target)
        except FileNotFoundError:
            continue  # removed meanwhile
        except OSError as error:
            raise DataDirError(
                leftover, f"a leftover of a deleted database cannot be moved aside ({error.strerror}): remove it"
            ) from None
        moved.append(target)
    if moved:
        log.warning(
            "%s: moved aside what a deleted database left beside it, so the new database does not "
            "read it: %s", path, ", ".join(moved))
    return moved


def _try_lock(fd: int) -> bool:
    assert fcntl is not None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _publish(aside: str, path: str) -> bool:
    """Link the built file into place; False (nothing published) if that cannot be done."""
    global hard_links
    try:
        os.link(aside, path, follow_symlinks=False)
    except FileExistsError:  # created meanwhile, by a process outside this protocol
        _remove(aside)
        return False
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise DataDirError(path, f"cannot create the database ({error.strerror})") from None
        hard_links = False
        _debug("%s: no hard links on this file system; migrating in place", path)
        _remove(aside)
        return False
    os.unlink(aside)
    return True


def _remove(aside: str, also_file: bool = True) -> None:
    """Remove what a build of `aside` leaves (journal, WAL, shared memory), and the file itself.

    Best effort: what cannot be removed now is removed by the next build."""
    for suffix in ("-journal", "-wal", "-shm", *([""] if also_file else [])):
        with contextlib.suppress(OSError):
            os.unlink(aside + suffix)


def _sync_directory(directory: str) -> None:
    """Make a new name in `directory` durable (nothing where directories cannot be opened)."""
    try:
        fd = os.open(directory or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def _debug(message: str, *args: object) -> None:
    log.debug(message, *args)
