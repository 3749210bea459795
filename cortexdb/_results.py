"""What `migrate` returns: a `MigrateResult` of one `DatabaseResult` per database, each in a `State`.

Built on the up-to-date path too, so this module imports nothing.
"""

from __future__ import annotations

from ._targets import is_url


class State(str):
    """What `migrate` did to one database: `DatabaseResult.state`, one of the four constants below.

    A `str`, so `result.state == "migrated"` keeps working, with a closed set of values like an
    enum. Not an `enum.Enum`: importing `enum` costs more than the whole up-to-date check.
    """

    __slots__ = ()
    UP_TO_DATE: State
    MIGRATED: State
    ADOPTED: State  # nothing pending; ledger verified (e.g. written by CortexPrism), fingerprint set
    WOULD_MIGRATE: State

    def __repr__(self) -> str:
        return f"State.{self.upper().replace(' ', '_')}"


UP_TO_DATE = State.UP_TO_DATE = State("up to date")
MIGRATED = State.MIGRATED = State("migrated")
ADOPTED = State.ADOPTED = State("adopted")
WOULD_MIGRATE = State.WOULD_MIGRATE = State("would migrate")
#: Every `State`, in the order a run goes through them.
STATES = (UP_TO_DATE, ADOPTED, MIGRATED, WOULD_MIGRATE)


class DatabaseResult:
    """What `migrate` did (or, with dry_run, would do) to one database (file or server URL)."""

    __slots__ = ("backed_up", "name", "path", "pending", "session", "state", "versions")

    def __init__(
        self,
        name: str,
        path: str,
        state: State,
        versions: tuple[int, ...] = (),
        pending: tuple[int, ...] = (),
        backed_up: bool = False,
        session: bool = False,
    ) -> None:
        self.name = name  # the database's name in the manifest, e.g. "cortex" or "session"
        self.session = session  # one file of a per-session database
        self.path = path  # the file, or the URL of a database on a libSQL server
        self.state = state  # UP_TO_DATE, MIGRATED, ADOPTED or WOULD_MIGRATE
        self.versions = versions  # the migrations applied now
        self.pending = pending  # dry run: the migrations that would be applied
        self.backed_up = backed_up

    @property
    def remote(self) -> bool:
        """True for a database on a libSQL server (`path` is its URL)."""
        return is_url(self.path)

    def __repr__(self) -> str:
        return f"DatabaseResult({self.name!r}, {self.path!r}, {self.state!r}, {self.versions!r})"


class MigrateResult:
    """What one `migrate` call did."""

    __slots__ = ("backup_dir", "databases")

    def __init__(self, databases: list[DatabaseResult], backup_dir: str | None) -> None:
        self.databases = databases
        self.backup_dir = backup_dir

    @property
    def applied(self) -> int:
        """How many migrations were applied, over all databases."""
        return sum(len(result.versions) for result in self.databases)

    @property
    def up_to_date(self) -> bool:
        """True when every database already was up to date (nothing written)."""
        return all(result.state == UP_TO_DATE for result in self.databases)
