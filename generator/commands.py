"""The commands behind `python -m generator`: each reads, calls the core, prints, returns."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable

from .build import build as build_project
from .diagnostics import Diagnostic, errors
from .outputs import stale_outputs, write_outputs
from .project import read_project
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
    result = build_project(read_project(args.manifest))
    if result.failed:
        _emit(result.diagnostics, args.format, f"build failed: {result.summary()}")
        return 1
    written = set(write_outputs(result))
    states = [f"wrote {rel}" if rel in written else f"{rel} unchanged" for rel in sorted(result.files)]
    _emit(result.diagnostics, args.format, "\n".join([result.summary(), *states]))
    return 0


def check(args: argparse.Namespace) -> int:
    """Exit 1 when a generated file (the frozen module, the lock) differs from what the sources
    give: one MG305 finding per file, and the unified diff (stdout for text, else stderr).
    Writes nothing, not even the build cache."""
    result = build_project(read_project(args.manifest))
    if result.failed:
        _emit(result.diagnostics, args.format, "check failed: the sources do not build")
        return 1
    stale = stale_outputs(result)
    if stale:
        (sys.stdout if args.format == "text" else sys.stderr).write("".join(s.diff for s in stale))
        _emit(sorted([*result.diagnostics, *(s.diagnostic for s in stale)]), args.format,
              "generated files are out of date: run `make migrations`")
        return 1
    _emit(result.diagnostics, args.format, "generated files are up to date")
    return 0


def lint(args: argparse.Namespace) -> int:
    from .lint_paths import lint_paths

    outcome = lint_paths(args.manifest, args.paths, fix=args.fix)
    for shown in outcome.fixed:
        print(f"fixed {shown}", file=sys.stderr)
    _emit(outcome.diagnostics, args.format)
    return 1 if errors(outcome.diagnostics) else 0


def new(args: argparse.Namespace) -> int:
    from .scaffold import new_migration

    _emit([], args.format, new_migration(args.manifest, args.description, args.database))
    return 0


def unlock(args: argparse.Namespace) -> int:
    from .scaffold import unlock as unlock_migration

    _emit([], args.format, unlock_migration(args.manifest, args.target))
    return 0
