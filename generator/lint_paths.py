"""The `lint` command's work (what the pre-commit hook runs): which files, read how, in which
order, with which context and `allow`; and `--fix`.

With a manifest, the files it lists are read as the build reads them (project.py) and linted
in version order per database, so MG010 knows what earlier migrations created, each file
gets its manifest `allow`, and each is checked against the schema its earlier migrations
give (schemawalk.py). Other files are linted alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .analyze import analyze
from .diagnostics import Diagnostic, display_path
from .fix import fix_text
from .lint import LintContext, lint_file, lint_report
from .manifest import Migration
from .outputs import write_if_changed
from .project import decode_sql, read_project, read_sql_file, sql_files
from .schemawalk import SchemaWalk


@dataclass
class _Target:
    path: Path
    shown: str
    text: str | Diagnostic  # the text, or why the file is not text (MG100)
    migration: Migration | None = None  # set when the manifest lists it


@dataclass(frozen=True)
class LintOutcome:
    diagnostics: list[Diagnostic]
    fixed: list[str] = field(default_factory=list)  # the files `--fix` rewrote, as shown


def lint_paths(manifest_path: Path, paths: Sequence[Path], *, fix: bool = False) -> LintOutcome:
    """Lint `paths` (files or folders; none: every file the manifest lists); with `fix`, first
    add the missing guards in place, leaving statements whose finding is allowed alone."""
    project = read_project(manifest_path, with_cache=False) if manifest_path.exists() else None
    listed = {m.path.resolve(): m for m in project.manifest.migrations} if project else {}
    chosen = sql_files(paths) if paths else sorted(m.path for m in project.manifest.migrations) if project else []
    targets: dict[Path, _Target] = {}
    for path in chosen:
        resolved = path.resolve()
        migration = listed.get(resolved)
        raw = project.source(migration) if project and migration else read_sql_file(path)
        shown = display_path(path)
        targets.setdefault(resolved, _Target(path, shown, decode_sql(shown, raw), migration))

    fixed: list[str] = []
    if fix:
        for target in targets.values():
            if isinstance(target.text, Diagnostic):
                continue  # not text: nothing to fix, its finding is below
            allow = target.migration.allow if target.migration else None
            new = fix_text(target.shown, target.text, allow=allow)
            if new != target.text:
                write_if_changed(target.path, new)
                target.text = new
                fixed.append(target.shown)

    diagnostics: list[Diagnostic] = []
    done: set[Path] = set()
    if project is not None:
        manifest_shown = display_path(project.manifest.path)
        contexts: dict[str, LintContext] = {}
        walks: dict[str, SchemaWalk] = {}  # each database's schema so far, for `no such table`
        for migration in project.manifest.migrations:
            context = contexts.setdefault(migration.database, LintContext(set(), set()))
            resolved = migration.path.resolve()
            asked = targets.get(resolved)
            if asked is None:  # not asked for, but earlier work for MG010's context
                shown = display_path(migration.path)
                target = _Target(migration.path, shown, decode_sql(shown, project.source(migration)), migration)
            else:
                target = asked
            walk = walks.get(migration.database) or walks.setdefault(migration.database, SchemaWalk())
            if isinstance(target.text, Diagnostic):
                found = [target.text]
            else:
                infos = analyze(target.shown, target.text)
                found = lint_report(target.shown, target.text, allow=migration.allow, context=context,
                                    allow_origin=(manifest_shown, migration.line), infos=infos).diagnostics
                broken = {(d.line, d.col) for d in found if d.code == "MG100"}
                found = sorted(found + walk.check(target.shown, infos, skip=broken))
            if resolved in targets:
                diagnostics.extend(found)
                done.add(resolved)
        for walk in walks.values():
            walk.close()
    loose = LintContext(set(), set())
    for resolved, target in targets.items():
        if resolved in done:
            continue
        if isinstance(target.text, Diagnostic):
            diagnostics.append(target.text)
        else:
            diagnostics.extend(lint_file(target.shown, target.text, context=loose))
    return LintOutcome(sorted(diagnostics), fixed)
