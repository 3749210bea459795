"""The commands behind `python -m generator`: each reads, calls the pure core, prints, returns."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

from .build import generate, stale_outputs, write_if_changed, write_outputs
from .diagnostics import Diagnostic, GeneratorError, errors
from .manifest import Manifest, display_path, load_manifest
from .report import format_diagnostics


def _emit(diagnostics: Iterable[Diagnostic], fmt: str, summary: str = "") -> None:
    """Diagnostics go to stderr as text, or as one document on stdout for machines; the
    summary goes to the other stream, so stdout stays one parseable document. Every command
    ends here, `new` and `unlock` too (with no findings: `[]` in json, nothing in github)."""
    items = list(diagnostics)
    text = format_diagnostics(items, fmt)
    if fmt == "text":
        if text:
            print(text, file=sys.stderr)
        if summary:
            print(summary)
        return
    if text or fmt != "github":
        print(text)
    if summary:
        print(summary, file=sys.stderr)


def build(args: argparse.Namespace) -> int:
    result = generate(args.manifest)
    if result.failed:
        _emit(result.diagnostics, args.format, f"build failed: {result.summary()}")
        return 1
    written = set(write_outputs(result))
    states = [f"wrote {rel}" if rel in written else f"{rel} unchanged" for rel in sorted(result.files)]
    _emit(result.diagnostics, args.format, "\n".join([result.summary(), *states]))
    return 0


def check(args: argparse.Namespace) -> int:
    """Exit 1 when a generated file (the frozen module, the lock) differs from what the sources
    give: one MG305 finding per file, and the unified diff (stdout for text, else stderr)."""
    result = generate(args.manifest)
    if result.failed:
        _emit(result.diagnostics, args.format, "check failed: the sources do not build")
        return 1
    stale: list[Diagnostic] = []
    diffs: list[str] = []
    for rel, content in sorted(result.files.items()):
        found = stale_outputs(replace(result, files={rel: content}))
        if found:
            path = result.manifest.root / rel
            line, why = _first_difference(path, content)
            stale.append(Diagnostic(display_path(path), line, 1, "MG305", f"{why}: run `make migrations`"))
            diffs.extend(found)
    if stale:
        if args.format == "text":
            sys.stdout.write("".join(diffs))
        else:
            sys.stderr.write("".join(diffs))
        _emit(sorted([*result.diagnostics, *stale]), args.format,
              "generated files are out of date: run `make migrations`")
        return 1
    _emit(result.diagnostics, args.format, "generated files are up to date")
    return 0


def _first_difference(path: Path, expected: str) -> tuple[int, str]:
    """The first line where the file on disk differs from `expected`, and why it is stale."""
    try:
        current = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        return 1, "missing"
    except (OSError, UnicodeDecodeError) as exc:
        return 1, f"unreadable ({exc})"
    ours, theirs = current.splitlines(keepends=True), expected.splitlines(keepends=True)
    for number, (a, b) in enumerate(zip(ours, theirs, strict=False), start=1):
        if a != b:
            return number, f"out of date from line {number} (edited by hand, or the sources changed)"
    return min(len(ours), len(theirs)) + 1, "out of date at its end (edited by hand, or the sources changed)"


def _collect(paths: list[Path]) -> list[Path]:
    found: list[Path] = []
    missing: list[Diagnostic] = []
    for path in paths:
        if path.is_dir():
            found.extend(sorted(p for p in path.iterdir() if p.suffix == ".sql" and p.is_file()))
        elif path.is_file():
            found.append(path)
        else:
            missing.append(Diagnostic(str(path), 1, 1, "MF006", "no such file or folder"))
    if missing:
        raise GeneratorError(missing)
    return found


def lint(args: argparse.Namespace) -> int:
    from .fix import fix_text
    from .lint import LintContext, lint_file

    manifest: Manifest | None = None
    if args.manifest.exists():
        manifest = load_manifest(args.manifest)
    targets = _collect(args.paths) if args.paths else (
        sorted(m.path for m in manifest.migrations) if manifest else [])
    wanted = {p.resolve() for p in targets}

    if args.fix:
        for path in targets:
            text = _read(path)
            fixed = fix_text(display_path(path), text)
            if fixed != text:
                write_if_changed(path, fixed)
                print(f"fixed {display_path(path)}", file=sys.stderr)

    diagnostics: list[Diagnostic] = []
    done: set[Path] = set()
    if manifest is not None:
        # Files the manifest lists are linted in version order per database, so MG010 knows
        # what earlier migrations created, and with the manifest's `allow`.
        contexts: dict[str, LintContext] = {}
        for migration in manifest.migrations:
            resolved = migration.path.resolve()
            context = contexts.setdefault(migration.database, LintContext(set(), set()))
            if not migration.path.is_file():
                continue
            found = lint_file(display_path(migration.path), _read(migration.path), allow=migration.allow,
                              context=context, allow_origin=(display_path(manifest.path), migration.line))
            if resolved in wanted:
                diagnostics.extend(found)
                done.add(resolved)
    loose = LintContext(set(), set())
    for path in targets:
        if path.resolve() not in done:
            diagnostics.extend(lint_file(display_path(path), _read(path), context=loose))
    diagnostics.sort()
    _emit(diagnostics, args.format)
    return 1 if errors(diagnostics) else 0


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8")
    except OSError as exc:
        raise GeneratorError([Diagnostic(display_path(path), 1, 1, "MF006", f"cannot read: {exc.strerror}")]) from None
    except UnicodeDecodeError as exc:
        raise GeneratorError([Diagnostic(display_path(path), 1, 1, "MG100",
                                         f"not UTF-8 (byte {exc.start}): save the file as UTF-8")]) from None


MIGRATION_TEMPLATE = """\
-- {version:03d} {description}
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


def new(args: argparse.Namespace) -> int:
    """Create the next-numbered migration and append its entry to the manifest: every byte
    already in the manifest stays as it is (comments, order, line endings)."""
    import re
    import unicodedata

    manifest = load_manifest(args.manifest)
    shown = display_path(args.manifest)
    description = " ".join(args.description.split())
    ascii_text = unicodedata.normalize("NFKD", description).encode("ascii", "ignore").decode().lower()
    slug = re.sub(r"[^a-z0-9]+", "_", ascii_text).strip("_")[:60].strip("_")
    problems = []
    if not slug:
        problems.append(Diagnostic(shown, 1, 1, "MF003",
                                   f"description {args.description!r} has no letters or digits to name the file"))
    if args.database not in manifest.databases:
        known = ", ".join(sorted(manifest.databases))
        problems.append(Diagnostic(shown, 1, 1, "MF004", f"unknown database {args.database!r} (known: {known})"))
    if problems:
        raise GeneratorError(problems)
    version = max((m.version for m in manifest.migrations), default=0) + 1
    file = f"{version:03d}_{slug}.sql"
    path = manifest.migrations_dir / file
    old = args.manifest.read_bytes()
    newline = b"\r\n" if old.split(b"\n", 1)[0].endswith(b"\r") else b"\n"  # keep its line endings
    block = "\n".join(["", "[[migration]]", f"file = {toml_string(file)}",
                       f"database = {toml_string(args.database)}",
                       f"description = {toml_string(description)}", ""])
    entry = block.replace("\n", newline.decode()).encode("utf-8")
    if old and not old.endswith(b"\n"):
        entry = newline + entry
    try:
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(MIGRATION_TEMPLATE.format(version=version, description=description))
    except FileExistsError:
        raise GeneratorError([Diagnostic(display_path(path), 1, 1, "MF007", "already exists")]) from None
    try:
        write_if_changed(args.manifest, (old + entry).decode("utf-8"))
        load_manifest(args.manifest)  # the appended entry must leave a valid manifest
    except BaseException:
        write_if_changed(args.manifest, old.decode("utf-8"))  # keep the project as it was
        path.unlink(missing_ok=True)
        raise
    _emit([], args.format, f"created {display_path(path)} and its entry in {shown}")
    return 0


def unlock(args: argparse.Namespace) -> int:
    """Drop a lock entry (by number, or by file name when a merge locked a number twice):
    only for a migration that never shipped."""
    from .lock import LockEntry, parse_lock, render_lock

    manifest = load_manifest(args.manifest)
    path = manifest.root / manifest.lock
    shown = display_path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        text = ""
    except (OSError, UnicodeDecodeError) as exc:
        raise GeneratorError([Diagnostic(shown, 1, 1, "MG300", f"cannot read the lock file: {exc}")]) from None
    parsed, problems = parse_lock(text, shown)
    if problems:
        raise GeneratorError(problems)
    target: str = args.target

    def chosen(entry: LockEntry) -> bool:
        return entry.file == target if not target.isdigit() else entry.version == int(target)
    removed = [entry for _, entry in parsed if chosen(entry)]
    if not removed:
        raise GeneratorError([Diagnostic(shown, 1, 1, "MG304", f"{target} is not locked")])
    write_if_changed(path, render_lock(entry for _, entry in parsed if not chosen(entry)))
    _emit([], args.format, "\n".join(f"unlocked {entry.version:03d} {entry.file}; run `make migrations` to lock it anew"
                                      for entry in removed))
    return 0
