"""Versions are printed one way everywhere (issue 14): the file's number, at least three digits
(`012`, `050`, `1000`), in every text `cortex db` prints and every error it reports; JSON keeps
integers.

The property runs the real CLI in child processes on real files, over frozen modules whose
versions hypothesis draws. Every version is 10 or more and every count the scenario prints
(migrations, databases, statements) is below 10, so a standalone number in the output that
equals a version can only be that version, and must be printed padded.
"""

from __future__ import annotations

import json
import re
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from runtime_support import SHARED_DATABASES, assemble, compile_migration, derived, run_cli, write_frozen

# A number standing alone: not part of a file name, path, time, checksum or table name.
NUMBER = re.compile(r"(?<![\w.:/+-])\d+(?![\w.:/+-])")


def padded(version: int) -> str:
    """The rule, written out here rather than imported: the number, zero-padded to three digits."""
    return str(version).zfill(3)


def misprinted(text: str, versions: set[int]) -> list[str]:
    """The standalone numbers in `text` that are a version but not in its padded form."""
    return [token for token in NUMBER.findall(text) if int(token) in versions and token != padded(int(token))]


@st.composite
def projects(draw: st.DrawFn) -> list[tuple[int, str]]:
    """(version, database) in version order: the first and last on `main`, the others anywhere."""
    versions = sorted(draw(st.lists(st.integers(10, 1500), min_size=3, max_size=4, unique=True)))
    middle = [draw(st.sampled_from(["main", "session"])) for _ in versions[1:-1]]
    return list(zip(versions, ["main", *middle, "main"], strict=True))


def frozen_of(project: list[tuple[int, str]]) -> Any:
    # Descriptions without numbers: what the scenario checks is how versions are printed.
    entries = [compile_migration(v, db, f"CREATE TABLE IF NOT EXISTS t{v} (x);", description="adds a table")
               for v, db in project]
    return assemble(entries, SHARED_DATABASES)


class Scenario:
    """One data dir and the frozen modules of one project; every command's output is kept."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.outputs: list[tuple[str, str]] = []  # (command line, what it printed)

    def frozen(self, name: str, frozen: Any) -> Path:
        return write_frozen(frozen, self.root / f"{name}.py")

    def run(self, frozen_file: Path, *args: str, code: int | None = 0, text: bool = True) -> str:
        """The command's stdout and stderr, kept for the final check unless not `text` (JSON)."""
        proc = run_cli(*args, "--data-dir", str(self.data), frozen_file=frozen_file)
        assert code is None or proc.returncode == code, (args, proc.returncode, proc.stdout, proc.stderr)
        if not text:
            return proc.stdout
        shown = proc.stdout + proc.stderr
        if "--sql" in args:  # the statements are SQL, where a version is an integer literal
            shown = "\n".join(line for line in shown.splitlines() if line.startswith("-- "))
        self.outputs.append((" ".join(args), shown))
        return shown


@settings(max_examples=10, deadline=None)
@given(projects())
def test_every_text_prints_every_version_zero_padded(project: list[tuple[int, str]]) -> None:
    versions = {v for v, _ in project}
    first, last = project[0][0], project[-1][0]
    pending = [v for v, _ in project[1:]]
    full = frozen_of(project)
    with tempfile.TemporaryDirectory() as tmp:
        case = Scenario(Path(tmp))
        whole = case.frozen("full", full)
        assert padded(first) in case.run(case.frozen("first", derived(full, upto=first)), "migrate")
        (case.data / "sessions").mkdir()
        sqlite3.connect(case.data / "sessions" / "s1.db").close()  # a session database to migrate

        for args in (("migrate", "--dry-run"), ("migrate", "--dry-run", "--sql"), ("history",)):
            text = case.run(whole, *args)
            assert all(padded(v) in text for v in pending), (args, text)
        # The session file is still empty: status and verify count it missing, main lists its own.
        main_pending = [v for v, db in project[1:] if db == "main"]
        assert f"pending {', '.join(map(padded, main_pending))}" in case.run(whole, "status", "-v")
        text = case.run(whole, "verify", "-v", code=1)
        assert all(f"migration {padded(v)} (" in text for v in main_pending), text
        assert f"up to {padded(last)} " in case.run(whole, "--version")
        status = json.loads(case.run(whole, "status", "--format", "json", text=False))
        listed = [v for row in status["databases"] for v in row["pending"]]
        assert sorted(listed) == pending and all(type(v) is int for v in listed)  # JSON keeps integers
        case.run(whole, "migrate")

        changed = case.frozen("changed", derived(full, change={first: {"checksum": "c1:" + "0" * 64}}))
        for args, code in ((("migrate",), 1), (("status", "-v"), 1), (("verify", "-v"), 1), (("history",), 0),
                           (("repair", "--dry-run"), 0)):
            assert padded(first) in case.run(changed, *args, code=code), args

        newer = case.frozen("newer", derived(full, without=[last]))
        for args, code in ((("migrate",), 1), (("status", "-v"), 1), (("verify", "-v"), 1), (("history",), 0)):
            assert padded(last) in case.run(newer, *args, code=code), args

        absent = last + 1
        assert padded(absent) in case.run(whole, "baseline", "--version", str(absent), code=2)
        session = next((v for v, db in project if db == "session"), None)
        if session is not None:
            text = case.run(whole, "baseline", "--version", str(session), "--database", "main", code=2)
            assert f"migration {padded(session)} belongs to database session" in text
        versions.add(absent)
        wrong = [(args, misprinted(text, versions)) for args, text in case.outputs if misprinted(text, versions)]
        assert not wrong, wrong
        shutil.rmtree(case.data)


def test_the_ledger_row_error_shows_its_integer_version_padded(tmp_path: Path) -> None:
    """A ledger with a version recorded twice cannot be read: the message shows that version padded."""
    frozen = frozen_of([(12, "main"), (13, "main")])
    frozen_file = write_frozen(frozen, tmp_path / "frozen.py")
    conn = sqlite3.connect(tmp_path / "main.db")
    conn.execute("CREATE TABLE schema_migrations (version INTEGER, description TEXT NOT NULL, "
                 "applied_at TEXT NOT NULL DEFAULT (datetime('now')), checksum TEXT NOT NULL)")
    conn.executemany("INSERT INTO schema_migrations (version, description, checksum) VALUES (12, 'x', ?)",
                     [("a",), ("b",)])
    conn.commit()
    conn.close()
    proc = run_cli("status", "--data-dir", str(tmp_path), frozen_file=frozen_file)
    assert proc.returncode != 0 and "the ledger row (version 012, checksum 'b') is malformed" in proc.stderr, proc
