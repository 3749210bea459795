"""What `cortex db migrate|status|verify` print: a line per shared database, one summary line per
session database, and JSON streamed database by database.

A data dir may hold tens of thousands of session databases. Without `-v` they are counted, not
listed: one line per session database name, with counts per state, after the ones that need
attention (a failure, a changed or unknown migration, drift), each of which is still named.
JSON is always complete, and is written as each database is read, never held whole in memory.
"""

from __future__ import annotations

import os
import sys

from ._api import ADOPTED, FAILED, MIGRATED, UP_TO_DATE, WOULD_MIGRATE
from ._contract import shown_versions
from ._targets import is_url

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from ._api import DatabaseResult, MigrateResult
    from ._inspect import DatabaseCheck, DatabaseStatus

QUIET, NORMAL, VERBOSE = -1, 0, 1
#: The exit status of `status --check` and `migrate --check` when a migration is pending.
PENDING = 3


def row(name: str, location: str, data_dir: str, text: str) -> str:
    """One database's line: its name, its file relative to the data dir (or its URL), the text."""
    return f"{name:<10} {shown(location, data_dir):<28} {text}"


def shown(location: str, data_dir: str) -> str:
    """A file relative to the data dir; a server database by its URL."""
    return location if is_url(location) else os.path.relpath(location, data_dir)


class Tally:
    """The session files of one database name: how many are in each state, in first-seen order."""

    __slots__ = ("counts", "name")

    def __init__(self, name: str) -> None:
        self.name = name
        self.counts: dict[str, int] = {}

    def add(self, state: str) -> None:
        self.counts[state] = self.counts.get(state, 0) + 1

    def line(self) -> str:
        total = sum(self.counts.values())
        if list(self.counts) == [UP_TO_DATE]:
            text = f"{total} session database(s) up to date"
        else:
            text = f"{total} session database(s): " + ", ".join(
                f"{count} {state}" for state, count in self.counts.items())
        return f"{self.name:<10} {'(per session)':<28} {text}"


class Tallies:
    """One `Tally` per session database name; the CLI prints their lines at the end."""

    def __init__(self) -> None:
        self.by_name: dict[str, Tally] = {}

    def add(self, name: str, state: str) -> None:
        tally = self.by_name.get(name)
        if tally is None:
            tally = self.by_name[name] = Tally(name)
        tally.add(state)

    def lines(self) -> list[str]:
        return [tally.line() for tally in self.by_name.values()]


def migrate_lines(result: MigrateResult, data_dir: str, verbosity: int, dry_run: bool) -> list[str]:
    """What `migrate` prints on stdout (failures go to stderr: `failure_lines`)."""
    if verbosity == QUIET:
        return []
    lines: list[str] = []
    tallies = Tallies()
    for database in result.databases:
        if database.session and verbosity == NORMAL:
            tallies.add(database.name, _session_state(database))
        elif database.state != FAILED:  # listed on stderr
            lines.append(row(database.name, database.path, data_dir, _migrate_text(database)))
    lines += tallies.lines()
    if dry_run:
        count = sum(len(database.pending) for database in result.databases)
        lines.append(f"dry run: {count} migration(s) would be applied; nothing was changed")
    elif result.applied:
        lines.append(f"applied {result.applied} migration(s)")
        if result.backup_dir:
            lines.append(f"backup: {result.backup_dir}")
    else:
        lines.append("up to date")
    return lines


def _migrate_text(database: DatabaseResult) -> str:
    text = _state_text(database)
    return f"healed on adoption ({database.healed}); {text}" if database.healed else text


def _state_text(database: DatabaseResult) -> str:
    if database.state == MIGRATED:
        return f"applied {shown_versions(database.versions)}"
    if database.state == WOULD_MIGRATE:
        return f"would apply {shown_versions(database.pending)}"
    if database.state == ADOPTED:
        return "up to date (ledger verified, fingerprint written)"
    return "up to date"


def _session_state(database: DatabaseResult) -> str:
    if database.state == MIGRATED:
        return f"migrated ({shown_versions(database.versions)})"
    if database.state == WOULD_MIGRATE:
        return f"would migrate ({shown_versions(database.pending)})"
    return "failed (listed on stderr)" if database.state == FAILED else str(database.state)


def failure_lines(prog: str, result: MigrateResult) -> list[str]:
    """What `migrate` prints on stderr for the session databases it could not migrate."""
    failures = result.failures
    if not failures:
        return []
    migrated = sum(1 for database in result.databases if database.session) - len(failures)
    return [f"{prog} migrate: {failure.error}" for failure in failures] + [
        f"{prog} migrate: {len(failures)} session database(s) not migrated (listed above); "
        f"the other {migrated} are up to date"
    ]


def status_text(status: DatabaseStatus) -> str:
    if not status.exists:
        return f"missing: {len(status.pending)} pending"
    parts = [f"applied {len(status.applied)}" + (f" ({len(status.legacy)} legacy)" if status.legacy else "")]
    for label, numbers in (("pending", status.pending), ("changed", status.changed),
                           ("unknown", status.unknown)):
        if numbers:
            parts.append(f"{label} {shown_versions(numbers)}")
    if status.up_to_date:
        parts.append("up to date")
    return ", ".join(parts)


def status_attention(status: DatabaseStatus) -> bool:
    """A changed or unknown migration: what makes `status` exit 1."""
    return bool(status.changed or status.unknown)


def status_state(status: DatabaseStatus) -> str:
    if status_attention(status):
        return "changed or unknown (listed above)"
    return "up to date" if status.up_to_date else "pending"


def status_json(status: DatabaseStatus) -> dict[str, object]:
    return {
        "name": status.name,
        "path": absolute(status.path),
        "exists": status.exists,
        "up_to_date": status.up_to_date,
        "applied": list(status.applied),
        "legacy": list(status.legacy),
        "pending": list(status.pending),
        "changed": list(status.changed),
        "unknown": list(status.unknown),
    }


def check_lines(check: DatabaseCheck, data_dir: str) -> list[str]:
    return [row(check.name, check.path, data_dir, "ok" if check.ok else "DRIFT")] + [
        f"    {problem}" for problem in check.problems]


def check_json(check: DatabaseCheck) -> dict[str, object]:
    return {"name": check.name, "path": absolute(check.path), "ok": check.ok,
            "problems": list(check.problems), "missing": [list(key) for key in check.missing],
            "extra": [list(key) for key in check.extra],
            "different": [list(key) for key in check.different]}


def absolute(location: str) -> str:
    """JSON names files absolutely, whatever --data-dir was relative to; a URL stays as it is."""
    return location if is_url(location) else os.path.abspath(location)


class JsonStream:
    """`{"data_dir": ..., "databases": [...], ...}` written one database at a time.

    The same document `json.dumps(..., indent=2)` would give, without holding it: each item is
    written as it comes; the keys known only at the end (`ok`) come after the list.
    """

    def __init__(self, head: Mapping[str, object]) -> None:
        import json

        self._dumps = json.dumps
        self._count = 0
        out = sys.stdout
        out.write("{\n")
        for key, value in head.items():
            out.write(f"  {self._dumps(key)}: {self._dumps(value)},\n")
        out.write('  "databases": [')

    def add(self, item: Mapping[str, object]) -> None:
        text = self._dumps(item, indent=2).replace("\n", "\n    ")
        sys.stdout.write(("," if self._count else "") + "\n    " + text)
        self._count += 1

    def close(self, tail: Mapping[str, object] | None = None) -> None:
        out = sys.stdout
        out.write("\n  ]" if self._count else "]")
        for key, value in (tail or {}).items():
            out.write(f",\n  {self._dumps(key)}: {self._dumps(value)}")
        out.write("\n}\n")


def progress(live: bool) -> Callable[[int, int, str], None]:
    """Progress on stderr: a line rewritten in place on a terminal, else every tenth."""

    def show(done: int, total: int, path: str) -> None:
        if live:
            if done == total or done % max(1, total // 100) == 0:
                sys.stderr.write(f"\rmigrated {done}/{total} databases" + ("\n" if done == total else ""))
                sys.stderr.flush()
        elif total >= 10 and (done == total or done % max(1, total // 10) == 0):
            print(f"migrated {done}/{total} databases ({path})", file=sys.stderr)

    return show
