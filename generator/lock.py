"""`migrations.lock`: what every migration looked like when it was first built.

One line per migration, in version order, so that two branches adding the same number
conflict in git at merge. A semantic change of a locked migration refuses the build; a
cosmetic one (comments, whitespace, line endings between tokens) only updates the raw
checksum, with a warning. New migrations are appended by the build.

Each line also names the migration's database: a shipped migration moved to another database
is refused (every database that applied it would refuse to start). Line endings alone are no
edit: a checkout with CRLF (`core.autocrlf`) leaves the lock as committed, as long as the
canonical text is equal (a line ending inside a literal is data, so it is not). Lines written
before `c2:` (with a `c1:` checksum, or without the database) are upgraded by the build, with
no finding, when the file's bytes are the ones locked; they are not stale for `check` or the
wheel build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from cortexdb._contract import shown_version

from .checksum import C1_PREFIX, CANONICAL_PREFIX, canonical_checksum
from .diagnostics import Diagnostic, Severity

HEADER = (
    "# migrations.lock: written by `make migrations`; commit it. Never edit a locked line:\n"
    "# add a new migration instead. `python -m generator unlock NNN` drops a migration that\n"
    "# never shipped. Fields: version, file, database, canonical checksum, raw sha256, and the\n"
    "# checksums as first locked that databases may hold: CortexPrism's legacy one, and c1.\n"
)
LINE = re.compile(r"^(?P<version>\d{3,}) (?P<file>\S+)(?: (?P<database>(?!c\d+:)\S+))?"
                  r" (?P<checksum>c\d+:[0-9a-f]{64}) (?P<raw>[0-9a-f]{64})"
                  r"(?: legacy:(?P<legacy>[0-9a-f]{1,8}))?(?: (?P<c1>c1:[0-9a-f]{64}))?$")
CONFLICT_MARKERS = ("<<<<<<<", "|||||||", "=======", ">>>>>>>")
# A migration with no statements yet (the file `generator new` writes) is not locked: locking
# it would refuse the very edit that gives it content.
EMPTY = canonical_checksum("")
MERGE_ADVICE = ("keep the lock of the branch you merge into (`git checkout --ours migrations.lock`), "
                "renumber the other branch's migration to the next free number, then rebuild")


@dataclass(frozen=True)
class LockEntry:
    version: int
    file: str
    checksum: str
    raw: str
    legacy: str | None = None  # None in lines written before the field existed
    database: str | None = None  # None in lines written before the field existed
    c1: str | None = None  # the `c1:` checksum as first locked, for lines locked before `c2:`
    line_number: int = field(default=0, compare=False)

    def line(self) -> str:
        database = f" {self.database}" if self.database else ""
        legacy = f" legacy:{self.legacy}" if self.legacy else ""
        c1 = f" {self.c1}" if self.c1 else ""
        return f"{shown_version(self.version)} {self.file}{database} {self.checksum} {self.raw}{legacy}{c1}"


@dataclass(frozen=True)
class Current:
    version: int
    file: str
    shown: str  # the SQL file's path in diagnostics
    checksum: str
    raw: str
    legacy: str
    database: str = ""
    c1: str = ""  # the file's `c1:` checksum
    raw_lf: str = ""  # sha256 of its bytes with CRLF as LF: what a CRLF checkout of the locked bytes gives
    origin: tuple[str, int] = ("", 1)  # the manifest and the line of its entry


def parse_lock(text: str, shown: str) -> tuple[list[tuple[int, LockEntry]], list[Diagnostic]]:
    """Every well-formed entry with its line number, duplicates included, and the lines that
    are not entries: merge conflict markers (MG301) and malformed lines (MG300)."""
    entries: list[tuple[int, LockEntry]] = []
    problems: list[Diagnostic] = []
    # The file's own lines, as git and editors count them (str.splitlines also breaks at
    # \v, \f, U+2028 and more).
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        if line.startswith(CONFLICT_MARKERS):
            problems.append(Diagnostic(shown, number, 1, "MG301",
                                       f"unresolved merge conflict: two branches added migrations; {MERGE_ADVICE}"))
            continue
        found = LINE.match(line)
        if not found:
            problems.append(Diagnostic(shown, number, 1, "MG300",
                                       "malformed lock line: expected 'NNN file database c2:<sha256> <sha256>'"))
            continue
        entries.append((number, LockEntry(int(found["version"]), found["file"], found["checksum"], found["raw"],
                                          found["legacy"], found["database"], found["c1"], number)))
    return entries, problems


def read_lock(data: bytes | None, shown: str) -> tuple[dict[int, LockEntry], list[Diagnostic]]:
    """The entries of the lock file's bytes ({} when there is none) and any problem with them."""
    if data is None:
        return {}, []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {}, [Diagnostic(shown, 1, 1, "MG300", f"cannot read the lock file: {exc}")]
    parsed, problems = parse_lock(text, shown)
    entries: dict[int, LockEntry] = {}
    for number, entry in parsed:
        other = entries.get(entry.version)
        if other is None:
            entries[entry.version] = entry
        elif other != entry:
            problems.append(Diagnostic(shown, number, 1, "MG301",
                                       f"version {shown_version(entry.version)} is locked twice ({other.file} and "
                                       f"{entry.file}): two branches added the same number; {MERGE_ADVICE} (or "
                                       f"drop the one that never shipped: python -m generator unlock {entry.file})"))
    return entries, sorted(problems)


def reconcile(locked: dict[int, LockEntry], current: Iterable[Current], shown: str,
              uncompiled: Iterable[int] = ()) -> tuple[dict[int, LockEntry], list[Diagnostic]]:
    """The new lock entries, and the findings: refusals (errors) and cosmetic edits (warnings).

    The legacy checksum is kept as first locked: a database the original system made holds
    that value, and a cosmetic edit must not make it look changed.

    `uncompiled` are versions the manifest lists whose files could not be read: their lock
    entries stay as they are.
    """
    problems: list[Diagnostic] = []
    entries = dict(locked)
    seen: set[int] = set(uncompiled)
    for item in current:
        seen.add(item.version)
        number = shown_version(item.version)
        entry = locked.get(item.version)
        legacy = entry.legacy if entry is not None and entry.legacy else item.legacy
        fresh = LockEntry(item.version, item.file, item.checksum, item.raw, legacy, item.database or None)
        if entry is None:
            if item.checksum != EMPTY:
                entries[item.version] = fresh
            continue
        fresh = replace(fresh, c1=entry.c1)
        same_bytes = item.raw == entry.raw or item.raw_lf == entry.raw  # a CRLF checkout is no edit
        if entry.checksum.startswith(C1_PREFIX) and entry.checksum == item.c1 and same_bytes:
            # Locked before c2, unchanged since: the lock moves to c2 by itself, keeping c1 for
            # ledgers that hold it.
            entry = replace(entry, checksum=item.checksum, c1=entry.checksum)
            entries[item.version] = entry
            fresh = replace(fresh, c1=entry.c1)
        if entry.database and item.database and entry.database != item.database:
            problems.append(Diagnostic(item.origin[0], item.origin[1], 1, "MG306",
                                       f"migration {number} is locked for database {entry.database!r} "
                                       f"({shown} line {entry.line_number}) but the manifest lists it under "
                                       f"{item.database!r}: a shipped migration never moves; put it back under "
                                       f"{entry.database!r} and add a new migration to {item.database!r}"))
        elif entry.checksum != item.checksum and entry.file != item.file:
            problems.append(Diagnostic(item.shown, 1, 1, "MG301",
                                       f"version {number} is locked as {entry.file} in {shown}: "
                                       "another branch already used this number; renumber this migration "
                                       "to the next free number"))
        elif entry.checksum != item.checksum:
            problems.append(Diagnostic(item.shown, 1, 1, "MG302", _changed(entry, item, shown)))
        elif entry.file != item.file:
            # Same meaning under a new name: the runtime keys on the version, not the file name.
            problems.append(Diagnostic(item.shown, 1, 1, "MG303",
                                       f"locked migration {number} was renamed from {entry.file}: "
                                       "its meaning is unchanged, so only its file name in the lock changes",
                                       Severity.WARNING))
            entries[item.version] = fresh
        elif not same_bytes:
            problems.append(Diagnostic(item.shown, 1, 1, "MG303",
                                       "cosmetic edit of a locked migration (comments, whitespace or line "
                                       "endings between tokens): its meaning is unchanged, so only its raw "
                                       "checksum in the lock changes",
                                       Severity.WARNING))
            entries[item.version] = fresh
        elif entry.legacy is None or entry.database is None:  # a line from before these fields: complete it
            entries[item.version] = replace(fresh, raw=entry.raw)
    for version in sorted(set(locked) - seen):
        number = shown_version(version)
        problems.append(Diagnostic(shown, locked[version].line_number or 1, 1, "MG304",
                                   f"migration {number} ({locked[version].file}) is locked but no longer "
                                   "in the manifest: restore it (shipped migrations are never deleted), or "
                                   f"run `python -m generator unlock {number}` if it never shipped"))
    return entries, problems


def _changed(entry: LockEntry, item: Current, shown: str) -> str:
    number = shown_version(item.version)
    unlock = f"(if it never shipped: python -m generator unlock {number})"
    if entry.checksum.startswith(C1_PREFIX) and entry.checksum == item.c1:
        return (f"migration {number} was edited since it was locked in {shown} with a c1 checksum, "
                "which cannot tell whether the edit is cosmetic: restore the locked file (the build then "
                f"moves its lock to c2 by itself) and edit it after that, or create a new migration {unlock}")
    if item.raw_lf == entry.raw or item.raw == entry.raw:
        return (f"migration {number} has the locked bytes with CRLF line endings, and some are inside a "
                "string literal or quoted name, where they are data: check it out with LF line endings "
                "(`*.sql text eol=lf` in .gitattributes, then `git checkout -- migrations`)")
    return (f"migration {number} changed since it was locked in {shown}: create a new migration "
            f"instead of editing this one {unlock}")


def same_lock(on_disk: str, rendered: str) -> bool:
    """Whether the lock on disk says what `rendered` says, but for what the build upgrades by
    itself (CRLF line endings, lines from before `c2:` or the database field): such a lock is
    not stale."""
    if on_disk == rendered:
        return True
    old, problems = parse_lock(on_disk, "")
    new, _ = parse_lock(rendered, "")
    if problems or len(old) != len(new):
        return False
    for (_, was), (_, now) in zip(old, new, strict=True):
        if was.checksum.startswith(C1_PREFIX) and now.checksum.startswith(CANONICAL_PREFIX):
            was = replace(was, checksum=now.checksum, c1=was.checksum)
        if was.database is None:
            was = replace(was, database=now.database)
        if was != now:
            return False
    return True


def render_lock(entries: Iterable[LockEntry]) -> str:
    return HEADER + "".join(e.line() + "\n" for e in sorted(entries, key=lambda e: (e.version, e.file)))
