"""Diagnostics: every problem the generator finds, with the place it was found."""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    def __lt__(self, other: object) -> bool:  # diagnostics sort; ties end on severity
        if not isinstance(other, Severity):
            return NotImplemented
        order = list(Severity)
        return order.index(self) < order.index(other)


@dataclass(frozen=True, order=True)
class Diagnostic:
    """One finding at `path:line:col`; `code` is an MG code or a manifest/build code."""

    path: str
    line: int
    col: int
    code: str
    message: str
    severity: Severity = Severity.ERROR

    def __post_init__(self) -> None:
        # One diagnostic, one line: a newline or escape code from a file name, an SQLite
        # message or a manifest string must not split the line or reach the terminal raw.
        object.__setattr__(self, "path", printable(self.path))
        object.__setattr__(self, "message", printable(self.message))

    def __str__(self) -> str:
        tag = "" if self.severity is Severity.ERROR else f"{self.severity.value}: "
        return f"{self.path}:{self.line}:{self.col}: {self.code} {tag}{self.message}"


def printable(text: str) -> str:
    """`text` with every non-printable character written as its Python escape."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class GeneratorError(Exception):
    """Base of every error the generator raises; carries the diagnostics that caused it."""

    def __init__(self, diagnostics: Iterable[Diagnostic], exit_code: int = 2) -> None:
        self.diagnostics = sorted(diagnostics)
        self.exit_code = exit_code
        super().__init__("\n".join(str(d) for d in self.diagnostics))

    def __reduce__(self) -> tuple[type[GeneratorError], tuple[list[Diagnostic], int]]:
        # Raised in a build's worker process, it reaches the parent pickled.
        return type(self), (self.diagnostics, self.exit_code)


def errors(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    """The diagnostics that fail a build."""
    return [d for d in diagnostics if d.severity is Severity.ERROR]


def display_path(path: Path) -> str:
    """A path as a user typed it: relative to the working directory where possible."""
    try:
        resolved = path.resolve()
    except (OSError, RuntimeError, ValueError):  # a symlink loop or a NUL: show it unresolved
        resolved = path.absolute()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
