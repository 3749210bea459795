"""The slow path of `migrate`: the databases the up-to-date check did not pass, one by one.

A missing file is created aside and linked into place whole (`local.aside`); an existing one,
or one on a server, is migrated in place (`_apply`), after a backup of a file that held
anything when the backup policy covers it (`_targets.backs_up`). A database another process
is creating is left for later: meanwhile this process can create the next one (databases are
independent), so processes starting together on an empty data dir share the work instead of
queueing behind one of them.
"""

from __future__ import annotations

import os

from ._errors import CortexDBError, FrozenModuleError
from ._targets import backs_up

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable

    from ._apply import Outcome
    from ._catalog import Catalog, DatabaseSpec
    from ._targets import BackupPolicy, Target
    from .local.backups import BackupRun

    Progress = Callable[[int, int, str], None]
    #: (where its result goes, the database with its migrations, where it lives)
    Work = list[tuple[int, DatabaseSpec, Target]]


def migrate_slow(
    catalog: Catalog, slow: Work, policy: BackupPolicy, busy_timeout: float, progress: Progress | None,
    *, isolate_sessions: bool = True,
) -> tuple[dict[int, Outcome | CortexDBError | None], str | None]:
    """Bring each of `slow` up to date: ({its index: what applying did, None if another process
    did it meanwhile}, the backup directory if one was made).

    Each existing file that `backs_up(policy, target)` is copied into this run's one backup
    folder before its first change; the others are changed without a copy.

    One bad session database never blocks the fleet: with `isolate_sessions`, the error of a
    session database (corrupt, locked past the timeout, a failing migration) is its result and
    the others go on. A shared database stops the run (the application cannot start without
    it), and so does a build that cannot be read at all."""
    # Imported only once there is work: a process that finds every missing database being
    # created by another one only waits for it (`local.aside`), and never needs the applier.
    from .local.aside import Busy

    backups: BackupRun | None = None
    results: dict[int, Outcome | CortexDBError | None] = {}
    deferred: Work = []
    done = 0
    try:
        for wait, items in ((False, slow), (True, deferred)):
            for index, spec, target in items:
                path = target.location
                outcome = None
                try:
                    if not target.remote and not os.path.lexists(path):
                        try:
                            outcome = _create(catalog, spec, path, busy_timeout, wait)
                        except Busy:
                            deferred.append((index, spec, target))
                            continue
                    current = outcome is None and not target.remote and os.path.lexists(path)
                    if current and target.is_current(busy_timeout):
                        # Created (or brought up to date) by another process since this run looked.
                        results[index] = None
                    else:
                        if outcome is None:
                            keep = None
                            if backs_up(policy, target):
                                if backups is None:
                                    from .local.backups import BackupRun

                                    backups = BackupRun(target.root)
                                keep = backups
                            outcome = _apply_in_place(catalog, spec, target, busy_timeout, keep)
                        results[index] = outcome
                except CortexDBError as error:
                    if not (isolate_sessions and spec.session) or isinstance(error, FrozenModuleError):
                        raise
                    results[index] = error
                done += 1
                if progress is not None:
                    progress(done, len(slow), path)
    finally:
        backup_dir = backups.finish() if backups is not None else None
    return results, backup_dir


def dry_run(catalog: Catalog, slow: Work, busy_timeout: float) -> dict[int, tuple[int, ...]]:
    """What `migrate` would apply to each of `slow`, read from a snapshot; its refusal, raised."""
    from ._inspect import pending_versions

    return {
        index: pending_versions(spec, target.backend(busy_timeout).snapshot(catalog.ledger))
        for index, spec, target in slow
    }


def _create(
    catalog: Catalog, spec: DatabaseSpec, path: str, busy_timeout: float, wait: bool
) -> Outcome | None:
    """A database that does not exist yet, built aside and linked into place whole (`local.aside`);
    `aside.Busy` when another process is creating it and `wait` is False."""
    from .local.aside import create
    from .local.sqlite import make_parent_dir

    def build(aside: str) -> Outcome:
        from ._apply import apply_pending
        from .local.port import AsideFile

        return apply_pending(catalog, spec, AsideFile(path, aside, busy_timeout))

    make_parent_dir(path)
    return create(path, busy_timeout, build, wait=wait)


def _apply_in_place(
    catalog: Catalog, spec: DatabaseSpec, target: Target, busy_timeout: float, backups: BackupRun | None
) -> Outcome:
    from ._apply import apply_pending

    return apply_pending(catalog, spec, target.backend(busy_timeout, backups))
