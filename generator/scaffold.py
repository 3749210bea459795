"""The commands that edit a project's sources: `new` (the next migration and its manifest entry)
and `unlock` (drop a lock line that never shipped). Each returns what it did, in words."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from cortexdb._contract import shown_version

from .diagnostics import Diagnostic, GeneratorError, UsageError, display_path
from .outputs import create, write_if_changed
from .project import load_manifest, read_if_exists, read_manifest

MIGRATION_TEMPLATE = """\
-- {version} {description}
--
-- Every statement must be safe to run twice: CREATE ... IF NOT EXISTS, DROP ... IF EXISTS,
-- INSERT OR IGNORE, ALTER TABLE t ADD COLUMN IF NOT EXISTS c .... `make migrations` proves it.
"""


def toml_string(text: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped, the rest as is."""
    escapes = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    out = []
    for char in text:
        if char in escapes:
            out.append(escapes[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def slug(description: str) -> str:
    """The snake_case part of a migration's file name: ASCII letters and digits of `description`."""
    ascii_text = unicodedata.normalize("NFKD", description).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:60].strip("_")


def new_migration(manifest_path: Path, given: str, database: str) -> str:
    """Create the next-numbered migration (described by `given`) and append its entry to the
    manifest: every byte already in the manifest stays as it is (comments, order, line endings)."""
    manifest, old = read_manifest(manifest_path)
    shown = display_path(manifest_path)
    description = " ".join(given.split())
    name = slug(description)
    # The arguments are wrong, not the manifest: usage errors naming the argument.
    if database not in manifest.databases:
        known = ", ".join(sorted(manifest.databases)) or f"none in {shown}"
        raise UsageError("--database", f"unknown database {database!r} (known: {known})")
    if not name:
        raise UsageError("description", f"{given!r} has no letters or digits to name the file")
    version = max((m.version for m in manifest.migrations), default=0) + 1
    file = f"{shown_version(version)}_{name}.sql"
    path = manifest.migrations_dir / file
    newline = b"\r\n" if old.split(b"\n", 1)[0].endswith(b"\r") else b"\n"  # keep its line endings
    block = "\n".join(["", "[[migration]]", f"file = {toml_string(file)}", f"database = {toml_string(database)}",
                       f"description = {toml_string(description)}", ""])
    entry = block.replace("\n", newline.decode()).encode("utf-8")
    if old and not old.endswith(b"\n"):
        entry = newline + entry
    create(path, MIGRATION_TEMPLATE.format(version=shown_version(version), description=description))
    try:
        write_if_changed(manifest_path, (old + entry).decode("utf-8"))
        load_manifest(manifest_path)  # the appended entry must leave a valid manifest
    except BaseException:
        write_if_changed(manifest_path, old.decode("utf-8"))  # keep the project as it was
        path.unlink(missing_ok=True)
        raise
    return f"created {display_path(path)} and its entry in {shown}"


def unlock(manifest_path: Path, target: str) -> str:
    """Drop a lock entry (by number, or by file name when a merge locked a number twice):
    only for a migration that never shipped."""
    from .lock import LockEntry, parse_lock, render_lock

    manifest = load_manifest(manifest_path)
    path = manifest.root / manifest.lock
    shown = display_path(path)
    try:
        text = (read_if_exists(path) or b"").decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise GeneratorError([Diagnostic(shown, 1, 1, "MG300", f"cannot read the lock file: {exc}")]) from None
    parsed, problems = parse_lock(text, shown)
    if problems:
        raise GeneratorError(problems)

    def chosen(entry: LockEntry) -> bool:
        return entry.file == target if not target.isdigit() else entry.version == int(target)
    removed = [entry for _, entry in parsed if chosen(entry)]
    if not removed:
        asked = shown_version(int(target)) if target.isdigit() else target
        versions = sorted({entry.version for _, entry in parsed})
        ends = dict.fromkeys(shown_version(v) for v in versions[:1] + versions[-1:])  # "001", or "001 to 047"
        locked = " to ".join(ends) or "none"
        raise UsageError("NNN|FILE", f"{asked} is not locked in {shown} (locked: {locked}): nothing to unlock")
    write_if_changed(path, render_lock(entry for _, entry in parsed if not chosen(entry)))
    return "\n".join(f"unlocked {shown_version(entry.version)} {entry.file}; run `make migrations` to lock it anew"
                     for entry in removed)
