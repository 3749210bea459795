"""The per-file stage of a build: one migration's bytes -> its findings, steps, flags and checksums."""

from __future__ import annotations

from dataclasses import dataclass

from .analyze import StatementInfo, analyze
from .checksum import canonical_checksum, legacy_checksum, raw_checksum
from .diagnostics import Diagnostic
from .lint import LintContext, lint_report
from .manifest import Migration
from .project import decode_sql

FOREIGN_KEYS_OFF = "foreign_keys_off"
_OFF_VALUES = {"off", "0", "false", "no"}


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
    allowed: str | None  # the reasons of its allowed findings, if any


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
        legacy_checksum=legacy_checksum(text), raw_checksum=raw_checksum(raw),
        allowed="; ".join(reasons) or None,
    ), report.diagnostics


def compile_statements(infos: list[StatementInfo]) -> CompiledMigration:
    """Steps in source order; `PRAGMA foreign_keys` becomes a flag the runtime honours.

    The pragma is a no-op inside a transaction, so the runtime sets it around the migration's
    transaction instead of running it as a statement.
    """
    steps: list[tuple[object, ...]] = []
    flags: set[str] = set()
    for info in infos:
        statement = info.statement
        if info.pragma is not None and info.pragma[0] == "foreign_keys":
            value = (info.pragma[1] or "").strip().strip("'\"").lower()
            if value in _OFF_VALUES:
                flags.add(FOREIGN_KEYS_OFF)
            continue
        if info.add_column is not None:
            table, column, text = info.add_column
            steps.append(("add_column", statement.line, text, table, column))
        else:
            steps.append(("sql", statement.line, statement.text))
    return CompiledMigration(steps=tuple(steps), flags=tuple(sorted(flags)))
