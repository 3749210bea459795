"""Whatever the build accepts, the runtime starts: manifests fuzzed through `build` and then
through `cortexdb.migrate` and `cortexdb.open_session` on a fresh data dir (twice, so that the
second start lists the session files the first one made). A manifest the runtime would refuse
must be refused by the build, with an MF code at its manifest line, and one mistake gives a
bounded number of findings.

Budgets: 150 examples in `make test`, 20x in `make soak` (see tests/fuzz_support.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from fuzz_support import fuzz, note, run_generator
from fuzz_toml import toml_document
from hypothesis import strategies as st
from project import load_frozen

import cortexdb
from cortexdb._contract import SESSION_PLACEHOLDER

PLACEHOLDER = SESSION_PLACEHOLDER
FOLDERS = ["", "", "sub/", "sessions/", "./", "sub//", "Sub/", f"{PLACEHOLDER}/", "a/b/", "main.db/", "x.db/"]
STEMS = ["main", "Main", "x", f"{PLACEHOLDER}", f"s_{PLACEHOLDER}", f"{PLACEHOLDER}_s", f"m{PLACEHOLDER}",
         f"{PLACEHOLDER}{PLACEHOLDER}", f"{PLACEHOLDER}.{PLACEHOLDER}", "s_main", "main_s", "ma", "in"]
SUFFIXES = [".db", ".db", ".db", "_s.db", ".x.db", "n.db"]
database_files = st.builds(lambda folder, stem, suffix: folder + stem + suffix,
                           st.sampled_from(FOLDERS), st.sampled_from(STEMS), st.sampled_from(SUFFIXES))
names = st.sampled_from(["main", "memory", "session", "s", "Session"])
numbers = st.lists(st.sampled_from([0, 1, 1, 2, 3, 5, 1000]), min_size=1, max_size=4)
ledgers = st.sampled_from(["schema_migrations", "schema_migrations", "Ledger", "t_1", "sqlite_ledger",
                           "SQLite_Ledger", "sqlitex", "x"])


def manifest_data(databases: dict[str, str], versions: list[int], owners: list[int], ledger: str,
                  widths: list[int]) -> tuple[dict[str, Any], dict[str, bytes]]:
    names = sorted(databases)
    data: dict[str, Any] = {"generator": {"ledger": ledger},
                            "databases": {name: {"file": file} for name, file in databases.items()},
                            "migration": []}
    files: dict[str, bytes] = {}
    for index, version in enumerate(versions):
        file = f"{version:0{widths[index % len(widths)]}d}_m{index}.sql"
        database = names[owners[index % len(owners)] % len(names)]
        data["migration"].append({"file": file, "database": database})
        files[file] = f"CREATE TABLE IF NOT EXISTS t_{index} (x INTEGER);\n".encode()
    return data, files


def start(project: Path, data_dir: Path) -> None:
    """What an application does on start: migrate, open a session of each per-session database,
    then start again (now there are session files to find)."""
    frozen = load_frozen(project / "cortexdb" / "_frozen.py")
    sessions = [name for name, entry in frozen.DATABASES.items() if entry["session"]]
    cortexdb.migrate(data_dir, frozen=frozen, backup=False)
    for name in sessions:
        for session_id in ("main", "s1"):
            cortexdb.open_session(data_dir, session_id, database=name, frozen=frozen, backup=False).close()
    cortexdb.migrate(data_dir, frozen=frozen, backup=False)
    report = cortexdb.verify(data_dir, frozen=frozen)
    assert report.ok, report


@fuzz(150, databases=st.dictionaries(names, database_files, min_size=1, max_size=3), versions=numbers,
      owners=st.lists(st.integers(0, 2), min_size=1, max_size=4), ledger=ledgers,
      widths=st.lists(st.sampled_from([3, 3, 4, 6]), min_size=1, max_size=2))
def test_what_builds_also_starts(databases: dict[str, str], versions: list[int], owners: list[int], ledger: str,
                                 widths: list[int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    data, files = manifest_data(databases, versions, owners, ledger, widths)
    project = tmp_path / "project"
    shutil.rmtree(project, ignore_errors=True)
    (project / "migrations").mkdir(parents=True)
    for file, sql in files.items():
        (project / "migrations" / file).write_bytes(sql)
    (project / "manifest.toml").write_text(toml_document(data), encoding="utf-8")
    note(toml_document(data))
    run = run_generator(["build"], project, monkeypatch, capsys)
    note(f"exit {run.code}\n{run.err}")
    assert run.code in (0, 1, 2), run.err
    if run.code != 0:
        # Refused: every finding names a file and line, and one mistake is not a flood.
        lines = run.err.strip().splitlines()
        assert lines and all(": M" in line for line in lines[:-1] or lines)
        assert len(lines) <= 4 * (len(databases) + len(versions)) + 2, run.err
        return
    data_dir = tmp_path / "data"
    shutil.rmtree(data_dir, ignore_errors=True)
    start(project, data_dir)


test_what_builds_also_starts_soak = test_what_builds_also_starts.soak_twin
