"""Where a build meets the disk on its way out: write the generated files (only when changed,
atomically), or compare them with what is on disk (`check`): one result, two thin commands.
Every file the generator writes goes through `write_if_changed` or `create`.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Collection
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from .build import BuildResult
from .cache import CACHE_FILE
from .diagnostics import Diagnostic, GeneratorError, display_path
from .lock import same_lock


@dataclass(frozen=True)
class Stale:
    """A generated file that differs from what the sources give: MG305 and the unified diff."""

    rel: str
    diagnostic: Diagnostic
    diff: str


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


def create(path: Path, content: str) -> None:
    """Create a new file (`new`'s migration); GeneratorError MF007 when it already exists."""
    try:
        with path.open("x", encoding="utf-8", newline="\n") as handle:
            handle.write(content)
    except FileExistsError:
        raise GeneratorError([Diagnostic(display_path(path), 1, 1, "MF007", "already exists")]) from None


def write_order(result: BuildResult) -> list[str]:
    """The generated files in the order they are written: the index first, then the rest sorted.

    A crash between the index and the frozen module leaves a new index beside an old frozen
    module, which the runtime notices (the source hashes differ) and answers by reading the
    frozen module; never an old index beside a new frozen module.
    """
    index = result.manifest.index_output
    return sorted(result.files, key=lambda rel: (rel != index, rel))


def write_outputs(result: BuildResult, only: Collection[str] | None = None) -> list[str]:
    """Write every generated file that changed (in `write_order`; `only` these, if given), then
    the build cache's entry; the relative paths written.

    A file that cannot be written is bad input (its folder is a file, no permission):
    GeneratorError, exit 2; what was written before it is complete, never half-written.
    """
    written = []
    for rel in write_order(result):
        if only is not None and rel not in only:
            continue
        path = result.manifest.root / rel
        try:
            if write_if_changed(path, result.files[rel]):
                written.append(rel)
        except OSError as exc:
            raise GeneratorError([Diagnostic(display_path(path), 1, 1, "MF010",
                                             f"cannot write: {exc.strerror or exc}")]) from None
    if result.cache_entry is not None and only is None:
        with suppress(OSError):  # a cache that cannot be written is only a slower next build
            write_if_changed(result.manifest.root / CACHE_FILE, result.cache_entry)
    return written


def stale_outputs(result: BuildResult, only: Collection[str] | None = None) -> list[Stale]:
    """Every generated file (`only` these, if given) whose disk content differs; [] when up to date."""
    found: list[Stale] = []
    for rel, content in sorted(result.files.items()):
        if only is not None and rel not in only:
            continue
        path = result.manifest.root / rel
        try:
            current = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            found.append(_stale(rel, path, 1, "missing", f"{rel}: missing: run `make migrations`\n"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            found.append(_stale(rel, path, 1, f"unreadable ({exc})",
                                f"{rel}: unreadable ({exc}): run `make migrations`\n"))
            continue
        # Compared as text read with universal newlines (open()'s default), as it always was.
        seen = current.replace("\r\n", "\n").replace("\r", "\n")
        # A lock the build only upgrades by itself (CRLF, lines from before `c2:`) is not stale.
        if seen != content and not (rel == result.manifest.lock and same_lock(current, content)):
            line, why = _first_difference(current, content)
            diff = "".join(difflib.unified_diff(
                seen.splitlines(keepends=True), content.splitlines(keepends=True),
                fromfile=f"{rel} (on disk)", tofile=f"{rel} (from sources)"))
            found.append(_stale(rel, path, line, why, diff))
    return found


def _stale(rel: str, path: Path, line: int, why: str, diff: str) -> Stale:
    return Stale(rel, Diagnostic(display_path(path), line, 1, "MG305", f"{why}: run `make migrations`"), diff)


def _first_difference(current: str, expected: str) -> tuple[int, str]:
    """The first line where the file on disk differs from `expected`, and why it is stale."""
    ours, theirs = current.splitlines(keepends=True), expected.splitlines(keepends=True)
    for number, (a, b) in enumerate(zip(ours, theirs, strict=False), start=1):
        if a != b:
            return number, f"out of date from line {number} (edited by hand, or the sources changed)"
    return min(len(ours), len(theirs)) + 1, "out of date at its end (edited by hand, or the sources changed)"
