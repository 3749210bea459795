"""The per-file stage of a build: one migration's bytes -> its findings, steps, flags and checksums."""

from __future__ import annotations

from dataclasses import dataclass, field

from cortexdb._contract import add_column_step, sql_step

from .analyze import StatementInfo, analyze
from .checksum import c1_checksum, canonical_checksum, legacy_checksum, raw_checksum
from .diagnostics import Diagnostic
from .lint import LintContext, lint_report
from .manifest import Migration
from .project import decode_sql
from .sqlcheck import is_foreign_keys_pragma, turns_foreign_keys_off

FOREIGN_KEYS_OFF = "foreign_keys_off"


@dataclass(frozen=True)
class CompiledMigration:
    steps: tuple[tuple[object, ...], ...]
    flags: tuple[str, ...]


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


def compile_file(migration: Migration, shown: str, raw: bytes, context: LintContext,
                 allow_origin: tuple[str, int]) -> tuple[CompiledFile | None, list[Diagnostic]]:
    """Decode, analyse, lint and compile one migration (`context`: what earlier ones created).

    None when the file cannot become text; its findings say why.
    """
    text = decode_sql(shown, raw)
    if isinstance(text, Diagnostic):
        return None, [text]
    infos = analyze(shown, text)
    report = lint_report(shown, text, allow=migration.allow, context=context, allow_origin=allow_origin,
                         infos=infos)
    compiled = compile_statements(infos)
    # Findings allowed with a reason mean the migration may rely on running exactly once.
    reasons = sorted({f"{a.diagnostic.code}: {a.reason}" for a in report.allowed})
    return CompiledFile(
        migration=migration, shown=shown, raw=raw, text=text, statements=len(infos),
        steps=compiled.steps, flags=compiled.flags, checksum=canonical_checksum(text),
        legacy_checksum=legacy_checksum(text), raw_checksum=raw_checksum(raw), c1_checksum=c1_checksum(text),
        allowed="; ".join(reasons) or None, noqa=report.noqa,
    ), report.diagnostics


def compile_statements(infos: list[StatementInfo]) -> CompiledMigration:
    """Steps in source order; `PRAGMA foreign_keys` becomes a flag the runtime honours.

    The pragma is a no-op inside a transaction, so the runtime sets it around the migration's
    transaction instead of running it as a statement.
    """
    steps = tuple(step for step in map(step_of, infos) if step is not None)
    flags = (FOREIGN_KEYS_OFF,) if turns_foreign_keys_off(infos) else ()
    return CompiledMigration(steps=steps, flags=flags)


def step_of(info: StatementInfo) -> tuple[object, ...] | None:
    """The runtime's step for one statement; None for `PRAGMA foreign_keys` (a flag instead)."""
    if is_foreign_keys_pragma(info):
        return None
    line = info.statement.line
    if info.add_column is not None:
        table, column, text = info.add_column
        return add_column_step(line, text, table, column)
    return sql_step(line, info.statement.text)
