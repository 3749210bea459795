"""cortexdb: applies the migrations frozen into this build to CortexPrism's SQLite databases.

Standard library only, and cheap to import: the application calls `migrate(data_dir)` on
every start, and an up-to-date data directory costs one header read per database.
"""

from ._api import DatabaseResult, MigrateResult, State, migrate, open_session, status, verify
from ._errors import (
    BackupError,
    ChangedMigrationError,
    CommitUnconfirmed,
    ConnectError,
    CorruptDatabaseError,
    CortexDBError,
    DatabaseNewerError,
    DataDirError,
    ForeignKeyViolationError,
    FrozenModuleError,
    InvalidInputError,
    InvalidSessionIdError,
    LedgerError,
    LockTimeoutError,
    MigrationFailedError,
    NotADatabaseError,
    OperationRefusedError,
    RemoteError,
    SQLError,
    TransactionAborted,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._history import DatabaseHistory, HistoryEntry
    from ._inspect import DatabaseCheck, DatabaseStatus, VerifyReport
    from ._ops import RepairResult, RestoreResult, backups, baseline, history, pending_sql, repair, restore
    from .local.restore import Backup


#: The operator commands' functions (`_ops`), loaded on first use like the result types below.
_OPERATOR = ("RepairResult", "RestoreResult", "backups", "baseline", "history", "pending_sql", "repair", "restore")


def __getattr__(name: str) -> object:
    # What status and verify return is defined with dataclasses, whose import costs more than
    # the up-to-date check: loaded on first use, not by `import cortexdb`.
    if name in ("DatabaseCheck", "DatabaseStatus", "VerifyReport"):
        from . import _inspect

        return getattr(_inspect, name)
    if name in ("DatabaseHistory", "HistoryEntry"):
        from . import _history

        return getattr(_history, name)
    if name == "Backup":
        from .local.restore import Backup

        return Backup
    if name in _OPERATOR:
        from . import _ops

        return getattr(_ops, name)
    if name == "__version__":
        # From the installed package's metadata (pyproject.toml is the one source), read on
        # first use: importlib.metadata costs more than the up-to-date check.
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(__name__)
        except PackageNotFoundError:  # imported from a source tree that was never installed
            return "0+unknown"
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Backup",
    "BackupError",
    "ChangedMigrationError",
    "CommitUnconfirmed",
    "ConnectError",
    "CorruptDatabaseError",
    "CortexDBError",
    "DataDirError",
    "DatabaseCheck",
    "DatabaseHistory",
    "DatabaseNewerError",
    "DatabaseResult",
    "DatabaseStatus",
    "ForeignKeyViolationError",
    "FrozenModuleError",
    "HistoryEntry",
    "InvalidInputError",
    "InvalidSessionIdError",
    "LedgerError",
    "LockTimeoutError",
    "MigrateResult",
    "MigrationFailedError",
    "NotADatabaseError",
    "OperationRefusedError",
    "RemoteError",
    "RepairResult",
    "RestoreResult",
    "SQLError",
    "State",
    "TransactionAborted",
    "VerifyReport",
    "__version__",
    "backups",
    "baseline",
    "history",
    "migrate",
    "open_session",
    "pending_sql",
    "repair",
    "restore",
    "status",
    "verify",
]
