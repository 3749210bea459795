"""cortexdb: applies the migrations frozen into this build to CortexPrism's SQLite databases.

Standard library only, and cheap to import: the application calls `migrate(data_dir)` on
every start, and an up-to-date data directory costs one header read per database.
"""

from ._api import (
    DatabaseResult,
    MigrateResult,
    migrate,
    open_session,
    status,
    verify,
)
from ._errors import (
    BackupError,
    ChangedMigrationError,
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
)

__all__ = [
    "BackupError",
    "ChangedMigrationError",
    "CorruptDatabaseError",
    "CortexDBError",
    "DataDirError",
    "DatabaseNewerError",
    "DatabaseResult",
    "ForeignKeyViolationError",
    "FrozenModuleError",
    "InvalidInputError",
    "InvalidSessionIdError",
    "LedgerError",
    "LockTimeoutError",
    "MigrateResult",
    "MigrationFailedError",
    "NotADatabaseError",
    "migrate",
    "open_session",
    "status",
    "verify",
]
