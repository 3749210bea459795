"""What an up-to-date start loads: when every database's header answers (WAL, no `-wal`
beside it: the state after every clean shutdown), `cortex db migrate` never loads SQLite, nor
the frozen module or the slow path; where a header cannot answer, SQLite is asked."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from runtime_support import ROOT

import cortexdb

CHILD = (
    "import sys\n"
    "from cortexdb._cli import main\n"
    "code = main(['db', 'migrate', '-q', '--data-dir', sys.argv[1]])\n"
    "print(code, sorted(m for m in ('sqlite3', 'cortexdb._frozen', 'cortexdb._run', 'cortexdb._apply')"
    " if m in sys.modules))\n"
)


def _loaded(data: Path) -> str:
    return subprocess.run([sys.executable, "-c", CHILD, str(data)], cwd=ROOT, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_an_up_to_date_start_loads_neither_sqlite_nor_the_build(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path)
    assert _loaded(tmp_path) == "0 []"


def test_a_header_that_cannot_answer_is_asked_of_sqlite(tmp_path: Path) -> None:
    cortexdb.migrate(tmp_path)
    reader = sqlite3.connect(tmp_path / "vault.db")  # open: its -wal exists, the header may be stale
    reader.execute("SELECT 1 FROM sqlite_master").fetchone()
    try:
        assert _loaded(tmp_path) == "0 ['sqlite3']"
    finally:
        reader.close()


def test_applying_to_an_empty_data_dir_loads_no_dataclasses(tmp_path: Path) -> None:
    """The slow path of a start with work (creating every database) never needs what status and
    verify return (`_inspect`'s dataclasses import `inspect`, `ast` and `dis`: about 10 ms), nor
    `logging` (about 6 ms) when nothing could see a record (`_log`)."""
    code = ("import sys\nfrom cortexdb._cli import main\n"
            "code = main(['db', 'migrate', '-q', '--data-dir', sys.argv[1]])\n"
            "print(code, sorted(m for m in ('dataclasses', 'inspect', 'cortexdb._inspect', 'logging')"
            " if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    assert result == "0 []"
