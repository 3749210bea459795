"""`lint` (what the pre-commit hook runs) and `build` read the same files the same way, so they
report the same findings about them."""

from __future__ import annotations

import re
from pathlib import Path

from project import generator, write_project

FINDING = re.compile(r"^\S+:\d+:\d+: M[GF]\d{3} ", re.M)


def findings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if FINDING.match(line)]


def test_a_file_that_is_not_utf8_is_the_same_finding_for_lint_and_build(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_a.sql": "CREATE TABLE IF NOT EXISTS a (x INTEGER);\n"})
    (project / "migrations" / "001_a.sql").write_bytes(
        b"-- caf\xc3\xa9 is UTF-8\nCREATE TABLE IF NOT EXISTS a (x INTEGER);\n-- caf\xe9 is Latin-1\n")
    expected = ["migrations/001_a.sql:3:1: MG100 not UTF-8 (byte 66): save the file as UTF-8"]

    linted = generator(project, "lint")
    named = generator(project, "lint", "migrations/001_a.sql")  # as the hook passes staged files
    built = generator(project, "build")

    for proc in (linted, named, built):
        assert proc.returncode == 1, proc.stderr
        assert findings(proc.stderr) == expected
    assert not (project / "cortexdb").exists()
