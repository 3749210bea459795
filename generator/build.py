"""The build pipeline, pure: a project's bytes -> diagnostics, the frozen module, its index and
the lock, in memory. It touches no disk: project.py read the inputs, outputs.py writes.

Per database (independent of one another, so workers.py may build them side by side):
compile its files in version order (compile.py), then prove them (prove.py). Then the lock
is reconciled and the modules rendered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import cache
from .checksum import raw_checksum
from .compile import CompiledFile, compile_file
from .diagnostics import Diagnostic, Severity, display_path, errors
from .lint import LintContext
from .manifest import Manifest, Migration
from .project import Project

if TYPE_CHECKING:
    from cortexdb._contract import SchemaRow


@dataclass
class BuildResult:
    manifest: Manifest
    files: dict[str, str] = field(default_factory=dict)  # relative path -> content
    diagnostics: list[Diagnostic] = field(default_factory=list)
    compiled: list[CompiledFile] = field(default_factory=list)
    proven: int = 0
    heal: tuple[int, int] = (0, 0)  # (crash points healed, crash points) of the heal proof
    heal_recorded: bool = False  # every heal-proven database's proof stood as its schema file records
    cached_summary: str | None = None  # set when the result came from the build cache
    cache_entry: str | None = None  # what the build cache should remember of this result, if anything

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
            + (f"; heal: {self.heal[0]}/{self.heal[1]} crash points healed"
               + (" (as schema/*.sql records)" if self.heal_recorded else "")
               if self.manifest.original_runner_through else "")
        )


@dataclass(frozen=True)
class DatabaseJob:
    """One database's share of a build: its migrations in version order and their bytes."""

    name: str
    ledger: str
    manifest_shown: str
    migrations: tuple[Migration, ...]
    sources: tuple[bytes, ...]  # each migration's bytes


@dataclass(frozen=True)
class DatabaseShare:
    """What building one database gave: its compiled files (in version order), its findings
    (lint, then proof), its final schema (None when it was not proven) and how many of its
    migrations passed the proof."""

    name: str
    compiled: list[CompiledFile]
    diagnostics: list[Diagnostic]
    schema: tuple[SchemaRow, ...] | None
    proven: int


def build(project: Project, *, use_cache: bool = True, jobs: int | None = None) -> BuildResult:
    """`generate`, or the stored result of the last successful build of the same bytes.

    A result worth remembering carries its `cache_entry`, which outputs.write_outputs stores.
    """
    if not use_cache:
        return generate(project, jobs)
    hit = cache.decode(project.cache_entry, project.cache_key())
    if hit is not None:
        return BuildResult(manifest=project.manifest, files=hit.files, diagnostics=hit.diagnostics,
                           cached_summary=hit.summary)
    result = generate(project, jobs)
    if not result.failed and not any(d.code == "MG303" for d in result.diagnostics):
        # The next build reads the lock this build writes: key the entry by that state. A
        # build that updated a locked entry warned about it; the next one will not, so it
        # is not replayed from the cache.
        key = project.cache_key(lock_text=result.files.get(project.manifest.lock))
        result.cache_entry = cache.encode(key, result.files, result.diagnostics, result.summary())
    return result


def generate(project: Project, jobs: int | None = None) -> BuildResult:
    """Lint, prove and render: the diagnostics and, unless one is an error, the generated files.

    `jobs` is how many worker processes build the databases side by side (None: chosen by the
    project's size and the cores; see workers.py); the result is the same for any number.
    """
    from .render import render_frozen, render_index
    from .workers import parallel_map

    manifest = project.manifest
    result = BuildResult(manifest=manifest)
    jobs_by_database = _database_jobs(project)
    sizes = [sum(map(len, job.sources)) for job in jobs_by_database]
    shares = parallel_map(build_database, jobs_by_database, sizes, jobs, warm_up=_warm_up)
    # Merged in manifest order, so nothing depends on where or in which order a share was built.
    compiled = {c.migration.file: c for share in shares for c in share.compiled}
    result.compiled = [compiled[m.file] for m in manifest.migrations if m.file in compiled]
    result.diagnostics = [d for share in shares for d in share.diagnostics]
    _reconcile_lock(project, result)
    schemas = {share.name: share.schema for share in shares if share.schema is not None}
    result.proven = sum(share.proven for share in shares)
    result.diagnostics.sort()
    if result.failed:
        result.files.clear()  # nothing is written from a failed build
        return result
    # Only a build without errors is heal-proven: a failed build writes nothing to heal with.
    # Only what the original runner may have applied can be left half-applied by it (the proof
    # costs a run per crash point, on every earlier state: see healproof.py).
    through = manifest.original_runner_through
    heals = parallel_map(heal_database, [HealJob(job, [c for c in share.compiled if c.migration.version <= through],
                                                 _recorded_heal(project, job.name), project.heal_code)
                                         for job, share in zip(jobs_by_database, shares, strict=True)],
                         sizes, jobs, warm_up=_warm_up)
    result.heal = (sum(h.healed for h in heals), sum(h.points for h in heals))
    result.heal_recorded = any(h.points for h in heals) and all(h.recorded for h in heals if h.points)
    result.diagnostics = sorted(result.diagnostics + [d for h in heals for d in h.diagnostics])
    if result.failed:
        result.files.clear()
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
              "source_hash": source_hash(project, result.compiled), "ledger": manifest.ledger}
    heal = {version: record for h in heals for version, record in h.heal.items()}
    result.files[manifest.output] = render_frozen(**header, databases=databases, migrations=migrations,
                                                  heal=[(version, heal[version]) for version in sorted(heal)])
    result.files[manifest.index_output] = render_index(**header, migrations=len(migrations), databases=[
        {"name": db.name, "file": db.file, "session": db.per_session,
         "fingerprint": index_fingerprint(manifest.ledger, db.name, migrations)}
        for db in sorted(manifest.databases.values(), key=lambda d: d.name)  # the frozen module's order
    ])
    _add_schema_files(result, schemas, {job.name: h for job, h in zip(jobs_by_database, heals, strict=True)})
    return result


def _add_schema_files(result: BuildResult, schemas: dict[str, tuple[SchemaRow, ...]],
                      heals: dict[str, HealShare]) -> None:
    """`schema/<database>.sql` of every database: its proven schema, for review, and the record
    of its passing heal proof (schemafile.py)."""
    from .schemafile import heal_record, render_schema, schema_path

    last = {c.migration.database: c.migration.file for c in result.compiled}  # manifest order: the last wins
    for db in result.manifest.databases.values():
        share = heals.get(db.name)
        record = None
        if share is not None and share.points and not share.diagnostics:
            record = heal_record(share.healed, share.points, share.inputs)
        result.files[schema_path(db.name)] = render_schema(db.name, db.file, schemas.get(db.name, ()),
                                                           last.get(db.name), record)


def _recorded_heal(project: Project, database: str) -> tuple[str, int, int] | None:
    from .schemafile import recorded_heal

    committed = project.schema_files.get(database)
    return None if committed is None else recorded_heal(committed)


def _database_jobs(project: Project) -> list[DatabaseJob]:
    """Every database's job, sorted by name."""
    manifest = project.manifest
    groups: dict[str, list[Migration]] = {name: [] for name in manifest.databases}
    for migration in manifest.migrations:
        groups[migration.database].append(migration)
    shown = display_path(manifest.path)
    return [DatabaseJob(name, manifest.ledger, shown, tuple(groups[name]),
                        tuple(project.source(m) for m in groups[name]))
            for name in sorted(groups)]


def build_database(job: DatabaseJob) -> DatabaseShare:
    """Compile one database's migrations in order, then prove them."""
    from .proofinput import ProofInput
    from .prove import prove_database

    context = LintContext(created_tables=set(), created_columns=set())
    diagnostics: list[Diagnostic] = []
    compiled: list[CompiledFile] = []
    for migration, source in zip(job.migrations, job.sources, strict=True):
        item, found = compile_file(migration, display_path(migration.path), source, context,
                                   (job.manifest_shown, migration.line))
        diagnostics.extend(found)
        if item is not None:
            compiled.append(item)
    # A database whose SQL does not even parse is not proven; what else SQLite rejects in it is
    # reported all at once, as `lint` reports it.
    broken = [d for d in diagnostics if d.code == "MG100"]
    if broken:
        return DatabaseShare(job.name, compiled, diagnostics + _every_rejected_statement(compiled, broken),
                             None, 0)
    plan = [ProofInput(version=c.migration.version, path=c.shown, steps=c.steps, flags=c.flags,
                       allowed=c.allowed, description=c.migration.description, checksum=c.checksum,
                       allow=c.migration.allow, noqa=c.noqa) for c in compiled]
    schema, found, proven = prove_database(plan, job.ledger, job.name)
    rejected = [d for d in found if d.code == "MG100"]
    if rejected:  # the proof stops at a database's first one: the walk finds them all
        walked = _every_rejected_statement(compiled, [])
        lines = {(d.path, d.line) for d in walked}
        found = walked + [d for d in found if d not in rejected or (d.path, d.line) not in lines]
    return DatabaseShare(job.name, compiled, diagnostics + found, schema, proven)


@dataclass(frozen=True)
class HealShare:
    """What healing one proven database needs and proved: its HEAL records, by version, and
    its heal proof (crash points healed, crash points, MG210 findings)."""

    heal: dict[int, tuple[Any, ...]]
    healed: int
    points: int
    diagnostics: list[Diagnostic]
    inputs: str  # the digest of what the proof's result depends on (`heal_inputs`)
    recorded: bool = False  # the proof did not run: its committed record stands


@dataclass(frozen=True)
class HealJob:
    """One proven database's migrations that the original runner may have run, the heal proof
    its committed schema file records (digest, healed, points), and the code the proof runs."""

    job: DatabaseJob
    compiled: list[CompiledFile]
    recorded: tuple[str, int, int] | None
    code: bytes


def heal_database(item: HealJob) -> HealShare:
    """The heal data of a proven database (`HEAL`) and its heal proof: every crash point of the
    original runner healed (healproof.py). The proof costs a run per crash point: when the
    committed schema file records a passing proof of the same inputs (the steps, their HEAL data,
    the proof's and the heal's code, SQLite's version), its result stands, as the lock's
    checksums do; any change of them runs it again. `make test` runs it in full on the shipped set."""
    from .healdata import database_heal_data
    from .healproof import HealProofInput, heal_inputs, prove_database_heal

    job, compiled = item.job, item.compiled
    entries = [{"version": c.migration.version, "file": c.migration.file, "database": job.name,
                "steps": c.steps, "flags": c.flags} for c in compiled]
    heal = database_heal_data(job.ledger, entries)
    digest = heal_inputs(job.ledger, entries, heal, item.code)
    if item.recorded is not None and item.recorded[0] == digest and item.recorded[1] == item.recorded[2]:
        return HealShare(heal, item.recorded[1], item.recorded[2], [], digest, recorded=True)
    inputs = [HealProofInput(c.migration.version, c.shown, entry, heal[c.migration.version])
              for c, entry in zip(compiled, entries, strict=True)]
    healed, points, found = prove_database_heal(inputs, job.ledger)
    return HealShare(heal, healed, points, found, digest)


def _every_rejected_statement(compiled: Sequence[CompiledFile], reported: Sequence[Diagnostic]) -> list[Diagnostic]:
    """What the schema walk (the one `lint` runs) finds in these files beyond `reported`."""
    from .analyze import analyze
    from .schemawalk import SchemaWalk

    walk = SchemaWalk()
    try:
        return [d for c in compiled for d in walk.check(
            c.shown, analyze(c.shown, c.text), skip={(r.line, r.col) for r in reported if r.path == c.shown})]
    finally:
        walk.close()


def _warm_up() -> None:
    """Import and build what every share needs before the workers fork: sqlglot's tokenizer
    and parser, the proof."""
    from . import healdata, healproof, prove  # noqa: F401
    from .analyze import analyze

    analyze("", "INSERT INTO t VALUES (1) ON CONFLICT DO NOTHING;")


def source_hash(project: Project, compiled: Sequence[CompiledFile]) -> str:
    digest = hashlib.sha256(project.manifest_bytes)
    for item in sorted(compiled, key=lambda c: c.migration.file):
        digest.update(b"\0" + item.migration.file.encode() + b"\0" + item.raw)
    return "sha256:" + digest.hexdigest()


def index_fingerprint(ledger: str, database: str, migrations: list[dict[str, Any]]) -> int:
    """The runtime's own fingerprint of `database`'s migrations (cortexdb._contract.fingerprint), so
    the index holds exactly what the runtime computes from the frozen module and stores in
    `PRAGMA user_version`."""
    from cortexdb._contract import fingerprint

    own = [(m["version"], m["checksum"]) for m in migrations if m["database"] == database]
    return fingerprint(ledger, database, own)


def _reconcile_lock(project: Project, result: BuildResult) -> None:
    from .lock import Current, read_lock, reconcile, render_lock

    manifest = project.manifest
    shown = display_path(manifest.root / manifest.lock)
    locked, problems = read_lock(project.lock, shown)
    if project.lock_problem is not None:
        problems = [project.lock_problem, *problems]
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
    if project.lock is not None:
        with suppress(UnicodeDecodeError):
            on_disk = project.lock.decode("utf-8")
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


__all__ = ["BuildResult", "build", "generate"]
