"""The build cache: an unchanged input is not parsed, linted or proven again.

The key is a sha256 over everything a build reads: the manifest, every `.sql` file in the
migrations folder (names and bytes), the lock file, the generator's own source, the
runtime's contract module (`cortexdb._contract`: the proof runs its step executor, the index holds its
fingerprints) and the sqlglot version. A hit returns the stored result of the
last successful build with those inputs; any change of any byte is a miss. Stored under
`.cache/generator/` (git-ignored).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from .diagnostics import Diagnostic, Severity
from .manifest import Manifest

CACHE_DIR = Path(".cache") / "generator"
GENERATOR_DIR = Path(__file__).resolve().parent
# Read, not imported: importing cortexdb would cost a cache hit more than the rest of it.
RUNTIME_MODULES = (GENERATOR_DIR.parent / "cortexdb" / "_contract.py",)


def cache_key(manifest: Manifest, lock_text: str | None = None) -> str:
    """The key of a build's inputs; `lock_text` stands for the lock file the build will write."""
    digest = hashlib.sha256(b"cortexdb-build-cache-1\0")

    def add(label: str, data: bytes) -> None:
        digest.update(label.encode() + b"\0" + len(data).to_bytes(8, "big") + data)

    add("manifest", manifest.path.read_bytes())
    if manifest.migrations_dir.is_dir():
        for path in sorted(manifest.migrations_dir.iterdir()):
            if path.suffix == ".sql":
                add("sql:" + path.name, path.read_bytes() if path.is_file() else b"<not a file>")
    lock = manifest.root / manifest.lock
    if lock_text is not None:
        add("lock", lock_text.encode("utf-8"))
    else:
        add("lock", lock.read_bytes() if lock.is_file() else b"<none>")
    for path in sorted(GENERATOR_DIR.rglob("*")):
        if path.suffix in {".py", ".j2"}:
            add("generator:" + path.relative_to(GENERATOR_DIR).as_posix(), path.read_bytes())
    for path in RUNTIME_MODULES:
        add("runtime:" + path.name, path.read_bytes() if path.is_file() else b"<none>")
    add("sqlglot", _sqlglot_version())
    add("paths", json.dumps([manifest.output, manifest.index_output, manifest.lock, manifest.ledger]).encode())
    return digest.hexdigest()


def _sqlglot_version() -> bytes:
    """sqlglot's version file, found on sys.path without importing anything (importlib.metadata
    alone costs more than the rest of a cached build)."""
    for entry in sys.path:
        candidate = Path(entry or ".") / "sqlglot" / "_version.py"
        if candidate.is_file():
            return candidate.read_bytes()
    return b"<none>"


def _path(manifest: Manifest) -> Path:
    return manifest.root / CACHE_DIR / "build.json"


def load(manifest: Manifest, key: str) -> dict[str, Any] | None:
    """The stored build for `key`: {"files", "diagnostics", "summary"}, or None."""
    try:
        data = json.loads(_path(manifest).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    try:
        data["diagnostics"] = [
            Diagnostic(d["path"], d["line"], d["col"], d["code"], d["message"], Severity(d["severity"]))
            for d in data["diagnostics"]
        ]
        return {"files": dict(data["files"]), "diagnostics": data["diagnostics"], "summary": str(data["summary"])}
    except (KeyError, TypeError, ValueError):
        return None


def store(manifest: Manifest, key: str, files: dict[str, str], diagnostics: list[Diagnostic],
          summary: str) -> None:
    """Remember a successful build; a cache that cannot be written is only a slower next build."""
    data = {
        "key": key, "files": files, "summary": summary,
        "diagnostics": [{"path": d.path, "line": d.line, "col": d.col, "code": d.code,
                         "message": d.message, "severity": d.severity.value} for d in diagnostics],
    }
    path = _path(manifest)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".build.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, path)
    except OSError:
        return
