"""The build cache: an unchanged input is not parsed, linted or proven again.

The key is a sha256 over everything a build reads: the manifest, every `.sql` file in the
migrations folder (names and bytes), the lock file, the generator's own source, the
runtime's contract module (`cortexdb._contract`: the proof runs its step executor, the index holds its
fingerprints) and the sqlglot version. A hit returns the stored result of the
last successful build with those inputs; any change of any byte is a miss. Stored in
`.cache/generator/build.json` (git-ignored).

This module only computes: project.py reads the bytes the key covers and the stored entry,
outputs.py writes the entry (never `check`: it writes nothing).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import Diagnostic, Severity

CACHE_FILE = Path(".cache") / "generator" / "build.json"  # relative to the project root
GENERATOR_DIR = Path(__file__).resolve().parent
# Read, not imported: importing cortexdb would cost a cache hit more than the rest of it.
# `_heal.py`, `_heal_checks.py`: the heal proof runs them (in a child process), so a change of
# them is a cache miss.
RUNTIME_MODULES = tuple(GENERATOR_DIR.parent / "cortexdb" / name
                        for name in ("_contract.py", "_heal.py", "_heal_checks.py"))


@dataclass(frozen=True)
class CachedBuild:
    files: dict[str, str]
    diagnostics: list[Diagnostic]
    summary: str


def cache_key(manifest: bytes, sql: Mapping[str, bytes | None], lock: bytes | None,
              toolchain: Sequence[tuple[str, bytes]], paths: Sequence[str]) -> str:
    """The key of a build's inputs: `sql` maps every `*.sql` name of the migrations folder to its
    bytes (None: not a readable file); `toolchain` is (label, bytes) of the code that builds."""
    digest = hashlib.sha256(b"cortexdb-build-cache-1\0")

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + len(data).to_bytes(8, "big") + data)

    add("manifest", manifest)
    for name in sorted(sql):
        data = sql[name]
        add("sql:" + name, b"<not a file>" if data is None else data)
    add("lock", b"<none>" if lock is None else lock)
    for label, data in toolchain:
        add(label, data)
    add("paths", json.dumps(list(paths)).encode())
    return digest.hexdigest()


def decode(entry: bytes | None, key: str) -> CachedBuild | None:
    """The stored build if `entry` holds the one for `key`, else None."""
    if entry is None:
        return None
    try:
        data = json.loads(entry.decode("utf-8"))
    except ValueError:  # UnicodeDecodeError included
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    try:
        diagnostics = [
            Diagnostic(d["path"], d["line"], d["col"], d["code"], d["message"], Severity(d["severity"]))
            for d in data["diagnostics"]
        ]
        return CachedBuild(dict(data["files"]), diagnostics, str(data["summary"]))
    except (KeyError, TypeError, ValueError):
        return None


def encode(key: str, files: Mapping[str, str], diagnostics: Sequence[Diagnostic], summary: str) -> str:
    """The entry that remembers a successful build."""
    return json.dumps({
        "key": key, "files": dict(files), "summary": summary,
        "diagnostics": [{"path": d.path, "line": d.line, "col": d.col, "code": d.code,
                         "message": d.message, "severity": d.severity.value} for d in diagnostics],
    })
