"""Helpers for the runtime tests: frozen modules to test with, reading databases, running the CLI.

Synthetic frozen modules are built here in-process (split with `sqlite3.complete_statement`,
schema proven on `:memory:` through the runtime's own `execute_steps`), so a test can hold
a migration the real generator would reject, such as one that breaks foreign keys only on
real data. Acceptance tests use the real, generated `cortexdb._frozen`.
"""

from __future__ import annotations

import copy
import hashlib
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from legacy import legacy_checksum

from cortexdb._contract import SCHEMA_QUERY, execute_steps, fingerprint

ROOT = Path(__file__).resolve().parents[1]
LEDGER = "schema_migrations"
SHARED_DATABASES = {"main": "main.db", "session": "sessions/{session_id}.db"}
_ADD_COLUMN = re.compile(
    r"^\s*ALTER\s+TABLE\s+(\w+)\s+ADD\s+COLUMN\s+IF\s+NOT\s+EXISTS\s+(\w+)", re.IGNORECASE
)
_FOREIGN_KEYS = re.compile(r"^\s*PRAGMA\s+foreign_keys\s*=\s*(ON|OFF)\s*;\s*$", re.IGNORECASE)


# ---------------------------------------------------------------- frozen modules


def real_frozen() -> ModuleType:
    import cortexdb._frozen

    return cortexdb._frozen


def split_statements(text: str) -> list[tuple[int, str]]:
    """(first line, statement) pairs; the test SQL keeps one statement per line group."""
    statements: list[tuple[int, str]] = []
    buffer: list[str] = []
    start = 0
    for number, line in enumerate(text.replace("\r\n", "\n").split("\n"), 1):
        if not buffer and (not line.strip() or line.strip().startswith("--")):
            continue
        if not buffer:
            start = number
        buffer.append(line)
        if sqlite3.complete_statement("\n".join(buffer)):
            statements.append((start, "\n".join(buffer).strip()))
            buffer = []
    assert not buffer, f"incomplete statement at line {start}"
    return statements


def compile_migration(version: int, database: str, text: str, file: str | None = None,
                      description: str | None = None) -> dict[str, Any]:
    """A frozen-module migration entry, as the generator shapes it."""
    steps: list[tuple[object, ...]] = []
    flags: tuple[str, ...] = ()
    for line, statement in split_statements(text):
        if _FOREIGN_KEYS.match(statement):
            flags = ("foreign_keys_off",)
            continue
        add = _ADD_COLUMN.match(statement)
        if add:
            unguarded = re.sub(r"\s+IF\s+NOT\s+EXISTS", "", statement, count=1, flags=re.IGNORECASE)
            steps.append(("add_column", line, unguarded, add.group(1), add.group(2)))
        else:
            steps.append(("sql", line, statement))
    normalized = text.replace("\r\n", "\n").replace("\r", "\n")
    return {
        "version": version,
        "file": file or f"{version:03d}_m{version}.sql",
        "database": database,
        "description": description or f"migration {version}",
        "checksum": "c1:" + hashlib.sha256(normalized.encode()).hexdigest(),
        "legacy_checksum": legacy_checksum(text),
        "flags": flags,
        "steps": tuple(steps),
    }


def synthetic_frozen(migrations: Iterable[tuple[int, str, str]],
                     databases: Mapping[str, str] = SHARED_DATABASES) -> SimpleNamespace:
    """A frozen module from (version, database, sql) triples; the schema is proven here."""
    entries = tuple(compile_migration(v, db, sql) for v, db, sql in sorted(migrations))
    return assemble(entries, databases)


def assemble(entries: Iterable[dict[str, Any]], databases: Mapping[str, str],
             ledger: str = LEDGER) -> SimpleNamespace:
    entries = tuple(sorted(entries, key=lambda e: e["version"]))
    dbs: dict[str, dict[str, Any]] = {}
    for name, file in sorted(databases.items()):
        own = [e for e in entries if e["database"] == name]
        dbs[name] = {"file": file, "purpose": f"test {name}", "session": "{session_id}" in file,
                     "schema": proven_schema(own, ledger)}
    return SimpleNamespace(FORMAT=1, SOURCE_HASH="sha256:test", LEDGER=ledger, DATABASES=dbs,
                           MIGRATIONS=entries)


def proven_schema(entries: Iterable[Mapping[str, Any]], ledger: str = LEDGER) -> tuple[tuple[Any, ...], ...]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        for entry in entries:
            execute_steps(conn, entry["steps"])
        return tuple(conn.execute(SCHEMA_QUERY, (ledger,)).fetchall())
    finally:
        conn.close()


def derived(frozen: Any, *, upto: int | None = None, without: Iterable[int] = (),
            change: Mapping[int, Mapping[str, Any]] | None = None) -> SimpleNamespace:
    """A copy of `frozen` keeping migrations <= `upto`, dropping `without`, editing `change`.

    Schemas are re-proven so the copy is what the generator would emit for those sources.
    """
    dropped = set(without)
    entries = []
    for entry in frozen.MIGRATIONS:
        if (upto is not None and entry["version"] > upto) or entry["version"] in dropped:
            continue
        entry = dict(entry)
        entry.update((change or {}).get(entry["version"], {}))
        entries.append(entry)
    files = {name: spec["file"] for name, spec in frozen.DATABASES.items()}
    return assemble(entries, files, frozen.LEDGER)


def write_frozen(frozen: Any, path: Path) -> Path:
    """The frozen data as a module file, for child processes (`--frozen-file` of the runner)."""
    path.write_text(
        "".join(f"{name} = {getattr(frozen, name)!r}\n"
                for name in ("FORMAT", "SOURCE_HASH", "LEDGER", "DATABASES", "MIGRATIONS")),
        encoding="utf-8",
    )
    return path


_PREFIX_SCHEMAS: dict[tuple[str, ...], tuple[tuple[Any, ...], ...]] = {}


def prefix_schema(frozen: Any, database: str, count: int) -> tuple[tuple[Any, ...], ...]:
    """The proven schema after the first `count` migrations of `database` (cached)."""
    own = [e for e in frozen.MIGRATIONS if e["database"] == database][:count]
    key = (frozen.LEDGER, database, *(e["checksum"] for e in own))
    if key not in _PREFIX_SCHEMAS:
        _PREFIX_SCHEMAS[key] = proven_schema(own, frozen.LEDGER)
    return _PREFIX_SCHEMAS[key]


def versions_of(frozen: Any, database: str) -> list[int]:
    return [e["version"] for e in frozen.MIGRATIONS if e["database"] == database]


def shared_databases(frozen: Any) -> dict[str, str]:
    return {n: s["file"] for n, s in frozen.DATABASES.items() if not s["session"]}


# ---------------------------------------------------------------- reading databases


def live_schema(path: Path, ledger: str = LEDGER) -> tuple[tuple[Any, ...], ...]:
    conn = sqlite3.connect(path)
    try:
        return tuple(conn.execute(SCHEMA_QUERY, (ledger,)).fetchall())
    finally:
        conn.close()


def ledger_rows(path: Path, ledger: str = LEDGER) -> list[tuple[Any, ...]]:
    """(version, description, checksum) rows; [] when there is no ledger table."""
    conn = sqlite3.connect(path)
    try:
        exists = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (ledger,)).fetchone()
        if not exists:
            return []
        return conn.execute(
            f"SELECT version, description, checksum FROM {ledger} ORDER BY version"
        ).fetchall()
    finally:
        conn.close()


def user_version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def expected_ledger(frozen: Any, database: str, count: int | None = None) -> list[tuple[Any, ...]]:
    own = [e for e in frozen.MIGRATIONS if e["database"] == database]
    return [(e["version"], e["description"], e["checksum"]) for e in own[:count]]


def expected_fingerprint(frozen: Any, database: str, count: int) -> int:
    """`PRAGMA user_version` after the first `count` migrations of `database` (0: none yet)."""
    own = [e for e in frozen.MIGRATIONS if e["database"] == database][:count]
    return fingerprint(frozen.LEDGER, database, [(e["version"], e["checksum"]) for e in own]) if count else 0


def assert_prefix(path: Path, frozen: Any, database: str) -> int:
    """The file holds exactly a prefix of `database`'s migrations: its ledger rows, schema and
    fingerprint agree on how many (returned). A missing or empty file holds none."""
    if not path.exists() or path.stat().st_size == 0:
        return 0
    rows = ledger_rows(path, frozen.LEDGER)
    count = len(rows)
    assert rows == expected_ledger(frozen, database, count), (path, database, rows)
    assert live_schema(path, frozen.LEDGER) == prefix_schema(frozen, database, count), (path, database, count)
    assert user_version(path) == expected_fingerprint(frozen, database, count), (path, database, count)
    return count


def snapshot(directory: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under `directory`: (bytes, mtime in ns). Equal snapshots = nothing written."""
    result = {}
    for folder, _, names in os.walk(directory):
        for name in names:
            path = Path(folder) / name
            result[str(path.relative_to(directory))] = (path.read_bytes(), path.stat().st_mtime_ns)
    return result


# ---------------------------------------------------------------- running the CLI in a child


# The child: loads an optional frozen module file, optionally waits for one line on stdin
# (the start barrier of the concurrency tests), then runs the real CLI.
CHILD = """
import sys
frozen_file, barrier, args = sys.argv[1], sys.argv[2], sys.argv[3:]
frozen = None
if frozen_file != "-":
    import importlib.util
    spec = importlib.util.spec_from_file_location("frozen_under_test", frozen_file)
    frozen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(frozen)
from cortexdb._cli import main
if barrier == "barrier":
    from cortexdb._catalog import load_catalog
    load_catalog(frozen)
    print("ready", file=sys.stderr, flush=True)
    sys.stdin.readline()
sys.exit(main(args, frozen=frozen))
"""


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("CORTEX_DATA_DIR", None)
    return env


def child_command(args: Iterable[str], frozen_file: Path | None = None,
                  barrier: bool = False) -> list[str]:
    return [sys.executable, "-c", CHILD, str(frozen_file) if frozen_file else "-",
            "barrier" if barrier else "go", *args]


def run_cli(*args: str, frozen_file: Path | None = None, timeout: float = 120,
            env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`cortex db ARGS` in a child process (the real CLI; the real frozen module by default)."""
    return subprocess.run(child_command(["db", *args], frozen_file), capture_output=True,
                          text=True, timeout=timeout, env=dict(env) if env else child_env(),
                          stdin=subprocess.DEVNULL)


def spawn_cli(*args: str, frozen_file: Path | None = None, barrier: bool = False,
              **popen: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(child_command(["db", *args], frozen_file, barrier), text=True,
                            env=child_env(), **popen)


def start_together(arg_lists: Iterable[Sequence[str]], frozen_file: Path) -> list[subprocess.Popen[str]]:
    """One `cortex db ARGS` process per argument list, released together: each imports
    everything and says "ready", then all are told "go" at once. No sleeps, no timing."""
    processes = [spawn_cli(*args, frozen_file=frozen_file, barrier=True, stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE) for args in arg_lists]
    for process in processes:
        assert process.stderr is not None
        assert process.stderr.readline() == "ready\n"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.close()
        process.stdin = None  # communicate() must not flush it again
    return processes


def applied_by_output(stdout: str) -> dict[str, list[int]]:
    """{database: versions} a `cortex db migrate` run says it applied."""
    applied: dict[str, list[int]] = {}
    for line in stdout.splitlines():
        match = re.match(r"^(\w+)\s+\S+\s+applied ([\d, ]+)$", line)
        if match:
            applied.setdefault(match.group(1), []).extend(
                int(v) for v in match.group(2).split(", "))
    return applied


def deep_copy(frozen: Any) -> SimpleNamespace:
    return SimpleNamespace(**{name: copy.deepcopy(getattr(frozen, name))
                              for name in ("FORMAT", "SOURCE_HASH", "LEDGER", "DATABASES",
                                           "MIGRATIONS")})
