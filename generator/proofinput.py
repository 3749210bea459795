"""What the proof is given of each migration: its steps, flags and what is allowed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from cortexdb._contract import RawStep

from .compile import FOREIGN_KEYS_OFF
from .scratch import Migration


@dataclass(frozen=True)
class ProofInput:
    version: int
    path: str  # as shown in diagnostics
    steps: tuple[RawStep, ...]
    flags: tuple[str, ...]
    allowed: str | None  # reason when the migration's findings are allowed: it relies on running once
    description: str = ""
    checksum: str = ""
    allow: Mapping[str, str] = field(default_factory=dict)  # the manifest's allow (code -> reason)
    noqa: Mapping[int, Mapping[str, str]] = field(default_factory=dict)  # statement line -> code -> reason

    @cached_property
    def migration(self) -> Migration:
        return Migration(self.version, self.description, self.checksum, self.steps, FOREIGN_KEYS_OFF in self.flags)

    def allowance(self, line: int, code: str) -> str | None:
        """The reason `code` is allowed at the statement of `line`, if it is."""
        reason = (self.noqa.get(line, {}).get(code) or self.allow.get(code) or "").strip()
        return reason or None
