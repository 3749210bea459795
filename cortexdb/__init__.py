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
    RemoteError,
    SQLError,
    TransactionAborted,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._inspect import DatabaseCheck, DatabaseStatus, VerifyReport


def __getattr__(name: str) -> object:
    # What status and verify return is defined with dataclasses, whose import costs more than
    # the up-to-date check: loaded on first use, not by `import cortexdb`.
    if name in ("DatabaseCheck", "DatabaseStatus", "VerifyReport"):
        from . import _inspect

        return getattr(_inspect, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "BackupError",
    "ChangedMigrationError",
    "CommitUnconfirmed",
    "ConnectError",
    "CorruptDatabaseError",
    "CortexDBError",
    "DataDirError",
    "DatabaseCheck",
    "DatabaseNewerError",
    "DatabaseResult",
    "DatabaseStatus",
    "ForeignKeyViolationError",
    "FrozenModuleError",
    "InvalidInputError",
    "InvalidSessionIdError",
    "LedgerError",
    "LockTimeoutError",
    "MigrateResult",
    "MigrationFailedError",
    "NotADatabaseError",
    "RemoteError",
    "SQLError",
    "State",
    "TransactionAborted",
    "VerifyReport",
    "migrate",
    "open_session",
    "status",
    "verify",
]
