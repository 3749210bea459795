"""Reading a database's ledger without changing anything: `status` and `migrate --dry-run`."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from . import _ledger
from ._plan import Plan, make_plan
from .local import sqlite as _connect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._catalog import DatabaseSpec


@dataclass(frozen=True)
class DatabaseStatus:
    """One database file's ledger against this build (versions, in order)."""

    name: str
    path: str
    exists: bool
    applied: tuple[int, ...]
    legacy: tuple[int, ...]  # applied, recorded with CortexPrism's legacy checksum
    pending: tuple[int, ...]
    changed: tuple[int, ...]
    unknown: tuple[int, ...]

    @property
    def up_to_date(self) -> bool:
        return self.exists and not (self.pending or self.changed or self.unknown)


def read_plan(spec: DatabaseSpec, path: str, ledger: str, busy_timeout: float) -> tuple[bool, Plan]:
    """(exists, plan) for the file at `path`; a missing file has everything pending."""
    if not _connect.check_database_file(path):
        return False, make_plan(spec, [])
    try:
        conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        try:
            rows = _ledger.read_ledger(conn, ledger)
        finally:
            conn.close()
    except sqlite3.Error as error:
        raise _connect.as_cortexdb_error(error, path, busy_timeout) from None
    return True, make_plan(spec, rows)


def read_remote_plan(spec: DatabaseSpec, url: str, ledger: str, busy_timeout: float) -> tuple[bool, Plan]:
    """(True, plan) for the database at `url`, read under the primary's lock (fresh, also via a replica)."""
    from .remote.backend import read_ledger

    rows, _ = read_ledger(spec.name, url, ledger, busy_timeout)
    return True, make_plan(spec, rows)


def database_status(
    spec: DatabaseSpec, path: str, ledger: str, busy_timeout: float, remote: bool = False
) -> DatabaseStatus:
    """`path` is the file, or the server URL when `remote` (a server database always exists)."""
    exists, plan = (read_remote_plan if remote else read_plan)(spec, path, ledger, busy_timeout)
    return DatabaseStatus(
        name=spec.name,
        path=path,
        exists=exists,
        applied=tuple(m.version for m in plan.applied),
        legacy=tuple(m.version for m in plan.legacy),
        pending=tuple(m.version for m in plan.pending),
        changed=tuple(m.version for m, _ in plan.changed),
        unknown=tuple(plan.unknown),
    )
