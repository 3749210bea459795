"""cortexdb: applies the migrations frozen into this build to CortexPrism's SQLite databases.

Standard library only, and cheap to import: the application calls `migrate(data_dir)` on
every start, and an up-to-date data directory costs one header read per database.
"""

from ._api import (
    DatabaseResult,
    MigrateResult,
    State,
    migrate,
    open_session,
    status,
    verify,
)
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
    LockTimeoutError,
    MigrationFailedError,
    NotADatabaseError,
    RemoteError,
    SQLError,
    TransactionAborted,
)

__all__ = [
    "BackupError",
    "ChangedMigrationError",
    "CommitUnconfirmed",
    "ConnectError",
    "CorruptDatabaseError",
    "CortexDBError",
    "DataDirError",
    "DatabaseNewerError",
    "DatabaseResult",
    "ForeignKeyViolationError",
    "FrozenModuleError",
    "InvalidInputError",
    "InvalidSessionIdError",
    "LockTimeoutError",
    "MigrateResult",
    "MigrationFailedError",
    "NotADatabaseError",
    "RemoteError",
    "SQLError",
    "State",
    "TransactionAborted",
    "migrate",
    "open_session",
    "status",
    "verify",
]
