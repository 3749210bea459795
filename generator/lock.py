"""`migrations.lock`: what every migration looked like when it was first built.

One line per migration, in version order, so that two branches adding the same number
conflict in git at merge. A semantic change of a locked migration refuses the build; a
cosmetic one (comments, whitespace, line endings) only updates the raw checksum, with a
warning. New migrations are appended by the build.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from .checksum import canonical_checksum
from .diagnostics import Diagnostic, Severity

HEADER = (
    "# migrations.lock: written by `make migrations`; commit it. Never edit a locked line:\n"
    "# add a new migration instead. `python -m generator unlock NNN` drops a migration that\n"
    "# never shipped. Fields: version, file, canonical checksum, raw sha256, and CortexPrism's\n"
    "# legacy checksum as first locked (what databases of the original system hold).\n"
)
LINE = re.compile(r"^(?P<version>\d{3,}) (?P<file>\S+) (?P<checksum>c\d+:[0-9a-f]{64}) (?P<raw>[0-9a-f]{64})"
                  r"(?: legacy:(?P<legacy>[0-9a-f]{1,8}))?$")
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

    def line(self) -> str:
        legacy = f" legacy:{self.legacy}" if self.legacy else ""
        return f"{self.version:03d} {self.file} {self.checksum} {self.raw}{legacy}"


@dataclass(frozen=True)
class Current:
    version: int
    file: str
    shown: str  # the SQL file's path in diagnostics
    checksum: str
    raw: str
    legacy: str


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
                                       "malformed lock line: expected 'NNN file c1:<sha256> <sha256>'"))
            continue
        entries.append((number, LockEntry(int(found["version"]), found["file"], found["checksum"], found["raw"],
                                          found["legacy"])))
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
                                       f"version {entry.version:03d} is locked twice ({other.file} and "
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
        entry = locked.get(item.version)
        legacy = entry.legacy if entry is not None and entry.legacy else item.legacy
        fresh = LockEntry(item.version, item.file, item.checksum, item.raw, legacy)
        if entry is None:
            if item.checksum != EMPTY:
                entries[item.version] = fresh
        elif entry.checksum != item.checksum and entry.file != item.file:
            problems.append(Diagnostic(item.shown, 1, 1, "MG301",
                                       f"version {item.version:03d} is locked as {entry.file} in {shown}: "
                                       "another branch already used this number; renumber this migration "
                                       "to the next free number"))
        elif entry.checksum != item.checksum:
            problems.append(Diagnostic(item.shown, 1, 1, "MG302",
                                       f"migration {item.version:03d} changed since it was locked in "
                                       f"{shown}: create a new migration instead of editing this one "
                                       f"(if it never shipped: python -m generator unlock {item.version:03d})"))
        elif entry.file != item.file:
            # Same meaning under a new name: the runtime keys on the version, not the file name.
            problems.append(Diagnostic(item.shown, 1, 1, "MG303",
                                       f"locked migration {item.version:03d} was renamed from {entry.file}: "
                                       "its meaning is unchanged, so only its file name in the lock changes",
                                       Severity.WARNING))
            entries[item.version] = fresh
        elif entry.raw != item.raw:
            problems.append(Diagnostic(item.shown, 1, 1, "MG303",
                                       "cosmetic edit of a locked migration (comments, whitespace or line "
                                       "endings): its meaning is unchanged, so only its raw checksum in the lock "
                                       "changes",
                                       Severity.WARNING))
            entries[item.version] = fresh
        elif entry.legacy is None:  # a line from before the legacy field: complete it
            entries[item.version] = fresh
    for version in sorted(set(locked) - seen):
        problems.append(Diagnostic(shown, 1, 1, "MG304",
                                   f"migration {version:03d} ({locked[version].file}) is locked but no longer "
                                   "in the manifest: restore it (shipped migrations are never deleted), or "
                                   f"run `python -m generator unlock {version:03d}` if it never shipped"))
    return entries, problems


def render_lock(entries: Iterable[LockEntry]) -> str:
    return HEADER + "".join(e.line() + "\n" for e in sorted(entries, key=lambda e: (e.version, e.file)))
