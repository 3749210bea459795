"""The runtime's exceptions: one base class; the CLI maps `exit_code` to the process status.

`str(error)` is one line that starts with the file it is about, e.g.
`/data/cortex.db: migration 007 (007_jobs_v2.sql) was changed after it was applied: ...`.
"""

from __future__ import annotations


class CortexDBError(Exception):
    """Base class of every error the runtime raises on purpose."""

    #: 1: refusal or failure (the database is not what this build expects); 2: bad input.
    exit_code = 1
    #: True when running the same work again may succeed (a server ended the transaction).
    retryable = False

    def __init__(self, path: str | None, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}" if path else message)


class FrozenModuleError(CortexDBError):
    """The frozen migrations module is missing, of another FORMAT, or malformed."""

    exit_code = 2


class InvalidInputError(CortexDBError):
    """Bad input from the caller: an unknown database name, an unusable data directory."""

    exit_code = 2


class InvalidSessionIdError(InvalidInputError):
    """A session id that could escape `sessions/` or is otherwise unusable as a file name."""


class DataDirError(InvalidInputError):
    """The data directory (or a directory in it) cannot be created or written."""


class NotADatabaseError(InvalidInputError):
    """A file where a database should be is not an SQLite database."""


class CorruptDatabaseError(CortexDBError):
    """`PRAGMA quick_check` (or SQLite itself) reports a damaged database; nothing was applied."""


class LockTimeoutError(CortexDBError):
    """Another connection held the database's write lock longer than the busy timeout."""


class ChangedMigrationError(CortexDBError):
    """A ledger row's checksum matches neither the canonical nor the legacy checksum."""


class LedgerError(CortexDBError):
    """A ledger row that is not (integer version recorded once, text checksum): nothing was applied."""


class DatabaseNewerError(CortexDBError):
    """The ledger records versions this build does not know: the database is newer than the code."""


class MigrationFailedError(CortexDBError):
    """A migration's statement failed; its transaction was rolled back and nothing recorded."""


class ForeignKeyViolationError(MigrationFailedError):
    """A `foreign_keys_off` migration would leave rows violating a foreign key; rolled back."""


class OperationRefusedError(CortexDBError):
    """`baseline`, `repair` or `restore` refused: the database is not in a state it can change
    safely (the message says what differs and what to do); nothing was changed."""


class BackupError(CortexDBError):
    """The backup taken before applying could not be written; nothing was applied."""


# --- a database on a libSQL server (raised by `cortexdb.remote`; defined here so that catching
# them costs no import of the remote stack) ---------------------------------------------------


class RemoteError(CortexDBError):
    """A database on a libSQL server: base of its errors. `code` is sqld's error code, if it sent one."""

    def __init__(self, message: str, *, url: str = "", code: str | None = None, detail: str = "") -> None:
        super().__init__(url or None, message)
        self.url = url
        self.code = code
        self.detail = detail  # the server's text, verbatim


#: The code of a remote error for a request that got no answer in time (it may still be running).
TIMED_OUT = "TIMEOUT"


class ConnectError(RemoteError):
    """The server cannot be reached, does not answer in time, or refuses the request or token."""


class TransactionAborted(RemoteError):
    """The server ended the transaction (sqld's 5 s TRANSACTION_TIMEOUT, an expired stream): retried."""

    retryable = True


class CommitUnconfirmed(RemoteError):
    """A COMMIT got no answer: it may or may not have happened; the ledger, read again, says which."""

    retryable = True


class SQLError(RemoteError):
    """SQLite or sqld rejected a statement (syntax, constraint, missing table, bad arguments)."""

    #: In a request of several statements: the index of the one that failed, if known.
    step: int | None = None

    @property
    def is_constraint(self) -> bool:
        if self.code in ("SQLITE_CONSTRAINT", "FOREIGN_KEY_CHECK"):
            return True
        # Through a replica, the primary's error arrives as PROXY_ERROR with SQLite's text only.
        return self.code == "PROXY_ERROR" and "constraint failed" in self.message

