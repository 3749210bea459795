"""The build pipeline: manifest + SQL files -> diagnostics, the frozen module and its index, in memory.

`generate` touches no disk but to read its inputs; `write_outputs` writes, `stale_outputs`
compares with disk. One function, thin commands (as sqlc does it).
"""

from __future__ import annotations

import difflib
import hashlib
import os
import tempfile
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .checksum import c1_checksum, canonical_checksum, legacy_checksum, raw_checksum
from .diagnostics import Diagnostic, GeneratorError, Severity, errors
from .manifest import Manifest, Migration, display_path, load_manifest


@dataclass(frozen=True)
class CompiledFile:
    migration: Migration
    shown: str  # the path as diagnostics show it
    raw: bytes
    text: str
    statements: int
    steps: tuple[tuple[object, ...], ...]
    flags: tuple[str, ...]
    checksum: str
    legacy_checksum: str
    raw_checksum: str
    c1_checksum: str  # the checksum before c2, which ledgers written by older builds hold
    allowed: str | None  # the reasons of its allowed findings, if any
    noqa: dict[int, dict[str, str]] = field(default_factory=dict)  # statement line -> code -> reason (for the proof)


@dataclass
class BuildResult:
    manifest: Manifest
    files: dict[str, str] = field(default_factory=dict)  # relative path -> content
    diagnostics: list[Diagnostic] = field(default_factory=list)
    compiled: list[CompiledFile] = field(default_factory=list)
    proven: int = 0
    cached_summary: str | None = None  # set when the result came from the build cache

    @property
    def failed(self) -> bool:
        return bool(errors(self.diagnostics))

    def summary(self) -> str:
        if self.cached_summary is not None:
            return self.cached_summary
        counts = {s: sum(1 for d in self.diagnostics if d.severity is s) for s in Severity}
        statements = sum(c.statements for c in self.compiled)
        return (
            f"{len(self.manifest.databases)} databases, {len(self.compiled)} migrations, "
            f"{statements} statements; findings: {counts[Severity.ERROR]} errors, "
            f"{counts[Severity.WARNING]} warnings, {counts[Severity.INFO]} info; "
            f"proof: {self.proven}/{len(self.compiled)} migrations run twice unchanged"
        )


def source_hash(manifest: Manifest, compiled: list[CompiledFile]) -> str:
    digest = hashlib.sha256(manifest.path.read_bytes())
    for item in sorted(compiled, key=lambda c: c.migration.file):
        digest.update(b"\0" + item.migration.file.encode() + b"\0" + item.raw)
    return "sha256:" + digest.hexdigest()


def compile_file(manifest: Manifest, migration: Migration, context: Any,
                 diagnostics: list[Diagnostic]) -> CompiledFile | None:
    from .analyze import analyze
    from .compile import compile_statements
    from .lint import lint_report

    shown = display_path(migration.path)
    raw = migration.path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        diagnostics.append(Diagnostic(shown, line, 1, "MG100", f"not UTF-8 (byte {exc.start}): save the file as UTF-8"))
        return None
    infos = analyze(shown, text)
    report = lint_report(shown, text, allow=migration.allow, context=context,
                         allow_origin=(display_path(manifest.path), migration.line), infos=infos)
    diagnostics.extend(report.diagnostics)
    compiled = compile_statements(infos)
    # Findings allowed with a reason mean the migration may rely on running exactly once.
    reasons = sorted({f"{a.diagnostic.code}: {a.reason}" for a in report.allowed})
    return CompiledFile(
        migration=migration, shown=shown, raw=raw, text=text, statements=len(infos),
        steps=compiled.steps, flags=compiled.flags, checksum=canonical_checksum(text),
        legacy_checksum=legacy_checksum(text), raw_checksum=raw_checksum(raw), c1_checksum=c1_checksum(text),
        allowed="; ".join(reasons) or None, noqa=report.noqa,
    )


def generate(manifest_path: Path, *, use_cache: bool = True, jobs: int | None = None) -> BuildResult:
    """Validate, lint, prove and render; raise GeneratorError (exit 2) on a bad manifest.

    With `use_cache`, inputs identical to the last successful build return its result
    without parsing anything (see cache.py). `jobs` is how many worker processes build the
    databases side by side (None: chosen by the project's size and the cores; see workers.py);
    the result is the same for any number.
    """
    from . import cache

    manifest = load_manifest(manifest_path)
    key = cache.cache_key(manifest) if use_cache else ""
    hit = cache.load(manifest, key) if use_cache else None
    if hit is not None:
        return BuildResult(manifest=manifest, files=hit["files"], diagnostics=hit["diagnostics"],
                           cached_summary=hit["summary"])
    result = _generate(manifest, jobs)
    if use_cache and not result.failed and not any(d.code == "MG303" for d in result.diagnostics):
        # The next build reads the lock this build writes: key the entry by that state. A
        # build that updated a locked entry warned about it; the next one will not, so it
        # is not replayed from the cache.
        key = cache.cache_key(manifest, lock_text=result.files.get(manifest.lock))
        cache.store(manifest, key, result.files, result.diagnostics, result.summary())
    return result


def _generate(manifest: Manifest, jobs: int | None = None) -> BuildResult:
    from .render import render_frozen, render_index
    from .workers import build_databases

    result = BuildResult(manifest=manifest)
    shares = build_databases(manifest, jobs)
    # Merged in manifest order, so nothing depends on where or in which order a share was built.
    compiled = {c.migration.file: c for share in shares for c in share.compiled}
    result.compiled = [compiled[m.file] for m in manifest.migrations if m.file in compiled]
    result.diagnostics = [d for share in shares for d in share.diagnostics]
    _reconcile_lock(manifest, result)
    schemas = {share.name: share.schema for share in shares if share.schema is not None}
    result.proven = sum(share.proven for share in shares)
    result.diagnostics.sort()
    if result.failed:
        result.files.clear()  # nothing is written from a failed build
        return result

    by_file = {c.migration.file: c for c in result.compiled}
    databases = [
        {"name": db.name, "file": db.file, "purpose": db.purpose, "session": db.per_session,
         "schema": schemas.get(db.name, ())}
        for db in sorted(manifest.databases.values(), key=lambda d: d.name)
    ]
    migrations = [
        {"version": m.version, "file": m.file, "database": m.database, "description": m.description,
         "checksum": by_file[m.file].checksum, "legacy_checksum": by_file[m.file].legacy_checksum,
         "c1_checksum": by_file[m.file].c1_checksum,
         "flags": by_file[m.file].flags, "steps": by_file[m.file].steps}
        for m in manifest.migrations
    ]
    header = {"manifest": manifest.path.name, "migrations_dir": _relative(manifest.migrations_dir, manifest.root),
              "source_hash": source_hash(manifest, result.compiled), "ledger": manifest.ledger}
    result.files[manifest.output] = render_frozen(**header, databases=databases, migrations=migrations)
    result.files[manifest.index_output] = render_index(**header, migrations=len(migrations), databases=[
        {"name": db.name, "file": db.file, "session": db.per_session,
         "fingerprint": index_fingerprint(manifest.ledger, db.name, migrations)}
        for db in sorted(manifest.databases.values(), key=lambda d: d.name)  # the frozen module's order
    ])
    return result


def index_fingerprint(ledger: str, database: str, migrations: list[dict[str, Any]]) -> int:
    """The runtime's own fingerprint of `database`'s migrations (cortexdb._contract.fingerprint), so
    the index holds exactly what the runtime computes from the frozen module and stores in
    `PRAGMA user_version`."""
    from cortexdb._contract import fingerprint

    own = [(m["version"], m["checksum"]) for m in migrations if m["database"] == database]
    return fingerprint(ledger, database, own)


def _reconcile_lock(manifest: Manifest, result: BuildResult) -> None:
    from .lock import Current, read_lock, reconcile, render_lock

    path = manifest.root / manifest.lock
    shown = display_path(path)
    locked, problems = read_lock(path, shown)
    compiled = {c.migration.version for c in result.compiled}
    origin = display_path(manifest.path)
    entries, found = reconcile(locked, [
        Current(c.migration.version, c.migration.file, c.shown, c.checksum, c.raw_checksum, c.legacy_checksum,
                c.migration.database, c.c1_checksum, raw_checksum(c.raw.replace(b"\r\n", b"\n")),
                (origin, c.migration.line))
        for c in result.compiled], shown,
        # A listed migration that did not compile (say, not UTF-8) has its own error; it is not missing.
        uncompiled={m.version for m in manifest.migrations} - compiled)
    result.diagnostics.extend(problems + found)
    rendered = render_lock(entries.values())
    with suppress(OSError, UnicodeDecodeError):
        on_disk = path.read_bytes().decode("utf-8")
        if on_disk.replace("\r\n", "\n") == rendered:  # a CRLF checkout: left as it is
            rendered = on_disk
    result.files[manifest.lock] = rendered
    # The frozen module carries the legacy and c1 checksums as locked, not as the file now hashes.
    result.compiled = [
        replace(c, legacy_checksum=entries[c.migration.version].legacy or c.legacy_checksum,
                c1_checksum=entries[c.migration.version].c1 or c.c1_checksum)
        if c.migration.version in entries else c
        for c in result.compiled
    ]


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.name


def write_if_changed(path: Path, content: str) -> bool:
    """Write atomically (temp file + os.replace), and only when the bytes differ."""
    data = content.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return False
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = path.stat().st_mode & 0o7777  # an edited file keeps its mode
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask  # a new file gets what open() would give it, not mkstemp's 0600
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


def write_order(result: BuildResult) -> list[str]:
    """The generated files in the order they are written: the index first, then the rest sorted.

    A crash between the index and the frozen module leaves a new index beside an old frozen
    module, which the runtime notices (the source hashes differ) and answers by reading the
    frozen module; never an old index beside a new frozen module.
    """
    index = result.manifest.index_output
    return sorted(result.files, key=lambda rel: (rel != index, rel))


def write_outputs(result: BuildResult) -> list[str]:
    """Write every generated file that changed (in `write_order`); the relative paths written.

    A file that cannot be written is bad input (its folder is a file, no permission):
    GeneratorError, exit 2; what was written before it is complete, never half-written.
    """
    written = []
    for rel in write_order(result):
        content = result.files[rel]
        path = result.manifest.root / rel
        try:
            if write_if_changed(path, content):
                written.append(rel)
        except OSError as exc:
            raise GeneratorError([Diagnostic(display_path(path), 1, 1, "MF010",
                                             f"cannot write: {exc.strerror or exc}")]) from None
    return written


def stale_outputs(result: BuildResult) -> list[str]:
    """A unified diff for every generated file whose disk content differs; [] when up to date
    (a lock the build only upgrades by itself, generator/lock.py `same_lock`, is up to date)."""
    from .lock import same_lock

    diffs: list[str] = []
    for rel, content in sorted(result.files.items()):
        path = result.manifest.root / rel
        try:
            current = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            diffs.append(f"{rel}: missing: run `make migrations`\n")
            continue
        except (OSError, UnicodeDecodeError) as exc:
            diffs.append(f"{rel}: unreadable ({exc}): run `make migrations`\n")
            continue
        if current != content and not (rel == result.manifest.lock and same_lock(current, content)):
            diffs.append("".join(difflib.unified_diff(
                current.splitlines(keepends=True), content.splitlines(keepends=True),
                fromfile=f"{rel} (on disk)", tofile=f"{rel} (from sources)")))
    return diffs


__all__ = ["BuildResult", "GeneratorError", "generate", "stale_outputs", "write_outputs"]
