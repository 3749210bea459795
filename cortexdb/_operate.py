"""One write of an operator command (baseline, repair), under the lock `migrate` takes.

The work is decided under the lock, from the ledger read by `BEGIN IMMEDIATE` and the schema as
it stands then, and runs through the same backend port as a migration (`_apply.Backend.apply`):
one transaction, a file switched to WAL and `quick_check`ed first, a backup before the first
change when `backups` is given, `PRAGMA foreign_key_check` for work that runs with foreign keys
off. Nothing here knows what a file or a server is.
"""

from __future__ import annotations

from ._catalog import Migration
from ._contract import SQL
from ._errors import InvalidInputError, MigrationFailedError, OperationRefusedError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any

    from ._apply import Record
    from ._inspect import Snapshot
    from ._targets import Target
    from .local.backups import BackupRun

    #: (the statements, in order; the ledger statements with their parameters), or None: nothing to do.
    Work = tuple[Sequence[str], Record] | None
    Decide = Callable[[list[tuple[int, str]], Snapshot], Work]


def write_under_lock(
    target: Target, ledger: str, busy_timeout: float, command: str, decide: Decide, *,
    foreign_keys_off: bool = False, backups: BackupRun | None = None,
) -> bool:
    """Run what `decide(ledger rows, snapshot)` returns in one locked transaction; True if it wrote.

    `decide` raises its refusal, or returns None when there is nothing to do. For a file, the
    snapshot is read while this process holds the write lock, so nothing can change between the
    decision and the commit; a server's is read just before the lock (a second connection
    would wait for this one's lock).
    """
    backend = target.backend(busy_timeout, backups)
    snapshot = backend.snapshot(ledger, schema=True)
    if not snapshot.exists:
        raise InvalidInputError(target.location, f"does not exist: nothing to {command}; run `cortex db migrate`")
    try:
        backend.open()
        if foreign_keys_off:
            backend.set_foreign_keys(False)
        while True:
            rows = backend.lock(ledger, False)
            if not target.remote:
                snapshot = backend.snapshot(ledger, schema=True)
            work = decide(rows, snapshot)
            if work is None:
                return False
            statements, record = work
            try:
                if backend.apply(_operation(command, statements, foreign_keys_off), (), record):
                    return True
            except MigrationFailedError as error:
                raise OperationRefusedError(
                    target.location, f"{command} failed and was rolled back, nothing changed: {_reason(error)}"
                ) from None
    finally:
        backend.close()


def _operation(command: str, statements: Sequence[str], foreign_keys_off: bool) -> Migration:
    """The work as the port takes a migration: its statements as steps, numbered from 1."""
    steps: tuple[tuple[Any, ...], ...] = tuple((SQL, number, sql) for number, sql in enumerate(statements, 1))
    flags = ("foreign_keys_off",) if foreign_keys_off else ()
    return Migration(0, f"cortex db {command}", "", command, "", "", flags, steps)


def _reason(error: MigrationFailedError) -> str:
    # The port words it as a migration's failure ("migration 000 (cortex db repair) failed at ...").
    return error.message.split(": ", 1)[-1].removesuffix("; rolled back, nothing recorded")
