"""Whole projects under hostile input, through every command: any project ends in diagnostics,
the manifest loader raises only GeneratorError, huge names and deep nesting end in diagnostics;
and the smallest example of each bug these properties found, in this suite's files and outside.

Budgets: 1,212 examples in `make test`, 20x in `make soak` (see tests/fuzz_support.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fuzz_strategies import DEEP_INSERTS, NUL_SQL, Spec, specs
from fuzz_support import (
    DIAGNOSTIC,
    Run,
    check_run,
    fuzz,
    lines_of,
    materialize,
    render_manifest,
    run_generator,
    run_spec,
    snapshot,
)
from hypothesis import strategies as st

from generator.diagnostics import GeneratorError
from generator.project import load_manifest

# ---------------------------------------------------------------------------------------------
# Whole projects, every command


@fuzz(800, spec=specs())
def test_any_project_ends_in_diagnostics(spec: Spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    run_spec(spec, tmp_path, monkeypatch, capsys)


test_any_project_ends_in_diagnostics_soak = test_any_project_ends_in_diagnostics.soak_twin


@fuzz(400, data=st.one_of(st.binary(max_size=300),
                          st.builds(lambda spec: render_manifest(spec, Path("/x")), specs())))
def test_load_manifest_raises_only_generator_error(data: bytes, tmp_path: Path) -> None:
    (tmp_path / "migrations").mkdir(exist_ok=True)
    (tmp_path / "manifest.toml").write_bytes(data)
    try:
        load_manifest(tmp_path / "manifest.toml")
    except GeneratorError as exc:
        assert exc.exit_code == 2 and exc.diagnostics
        assert all(str(d).isprintable() and d.line >= 1 for d in exc.diagnostics), exc


test_load_manifest_raises_only_generator_error_soak = test_load_manifest_raises_only_generator_error.soak_twin


# ---------------------------------------------------------------------------------------------
# Huge input: 100k-character names and literals, parentheses 10k deep, through whole commands

HUGE_TEMPLATES = [
    "CREATE TABLE IF NOT EXISTS {name} (a);",
    "CREATE TABLE IF NOT EXISTS t ({name} INTEGER);",
    'CREATE TABLE IF NOT EXISTS "{name}" (a);',
    "CREATE INDEX IF NOT EXISTS {name} ON t (a);",
    "ALTER TABLE t ADD COLUMN IF NOT EXISTS {name} TEXT;",
    "INSERT OR IGNORE INTO t VALUES ('{name}');",
    "INSERT INTO {name} VALUES (1);",
    "-- {name}\nSELECT 1;",
    "/* {name} */ SELECT 1;",
    "SELECT {open}1{close};",
    "INSERT INTO t VALUES {open}1{close};",
    "INSERT OR IGNORE INTO t SELECT {open}1{close};",
    "CREATE TABLE IF NOT EXISTS t (a CHECK {open}a{close});",
    "CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN SELECT {open}1{close}; END;",
    "CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t {begins}SELECT 1;",
    "SELECT {open}1;",
    "SELECT 1{close};",
    "SELECT '{name};",
    'SELECT "{name};',
]


@st.composite
def huge_sql(draw: st.DrawFn) -> str:
    unit = draw(st.sampled_from(["x", "é", "_9", "日"]))
    name = unit * (draw(st.integers(10_000, 100_000)) // len(unit))
    depth = draw(st.integers(1_000, 10_000))
    statement = draw(st.sampled_from(HUGE_TEMPLATES)).format(name=name, open="(" * depth, close=")" * depth,
                                                              begins="BEGIN " * depth)
    before = draw(st.sampled_from(["", "CREATE TABLE IF NOT EXISTS t (a);\n"]))
    return before + statement + draw(st.sampled_from(["\n", "", "\r\n"]))


@fuzz(12, sql=huge_sql(), command=st.sampled_from(["build", "lint", "fix"]))
def test_huge_names_and_deep_nesting_end_in_diagnostics(sql: str, command: str, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    data = {"databases": {"main": {"file": "main.db"}}, "migration": [{"file": "001_huge.sql", "database": "main"}]}
    argv = ["lint", "--fix"] if command == "fix" else [command]
    run_spec(Spec(data, {"migrations/001_huge.sql": sql.encode("utf-8")}, argv=argv), tmp_path, monkeypatch, capsys)


test_huge_names_and_deep_nesting_end_in_diagnostics_soak = (
    test_huge_names_and_deep_nesting_end_in_diagnostics.soak_twin)


# ---------------------------------------------------------------------------------------------
# Regressions through whole commands: the smallest example of each bug the properties found

ONE_DB: dict[str, Any] = {"databases": {"main": {"file": "main.db"}},
                          "migration": [{"file": "001_a.sql", "database": "main"}]}
GOOD = b"CREATE TABLE IF NOT EXISTS t (a INTEGER);\n"

_counter = itertools.count()  # a fresh folder for each project built


@dataclass
class Outcome:
    run: Run
    project: Path
    base: Path


def build_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                  data: Mapping[str, Any] | bytes, files: Mapping[str, bytes], argv: tuple[str, ...] = ("build",),
                  lock: bytes | None = None, contract: bool = True) -> Outcome:
    """Run `argv` on a project made of `data` (or raw manifest bytes) and `files`; with `contract`,
    also check what every run must satisfy."""
    spec = Spec(dict(data) if isinstance(data, Mapping) else {}, dict(files), lock=lock, argv=list(argv),
                raw_manifest=data if isinstance(data, bytes) else None)
    base = tmp_path / f"e{next(_counter)}"  # kept: the caller looks at it after the run
    project = materialize(spec, base)
    before = snapshot(base)
    run = run_generator(spec.argv, project, monkeypatch, capsys)
    if contract:
        check_run(run, spec.argv, project, base, before)
    return Outcome(run, project, base)


def test_nul_in_sql_fails_the_build_at_its_place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": NUL_SQL.encode()})
    assert outcome.run.code == 1
    assert "migrations/001_a.sql:2:10: MG100 NUL character" in outcome.run.err


@pytest.mark.parametrize("sql", DEEP_INSERTS)
def test_deep_nesting_fails_the_build_with_findings(sql: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": b"CREATE TABLE IF NOT EXISTS t (a);\n" + sql.encode()}
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, files)
    assert outcome.run.code == 1 and " MG006 " in outcome.run.err


@pytest.mark.parametrize(("data", "links", "code"), [
    pytest.param(ONE_DB, {"migrations/001_a.sql": "LOOP"}, "MF008", id="listed-file-in-a-loop"),
    pytest.param(ONE_DB, {"migrations/009_x.sql": "LOOP"}, "MF009", id="unlisted-file-in-a-loop"),
])
def test_a_symlink_loop_is_refused_not_a_crash(data: dict[str, Any], links: dict[str, str], code: str,
                                               tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Path.resolve() raises RuntimeError on a loop: _leaves and display_path crashed (exit 123)."""
    spec = Spec(data, {"migrations/001_a.sql": GOOD}, symlinks=links, argv=["build"])
    run = run_spec(spec, tmp_path, monkeypatch, capsys)
    assert run.code == 2 and f" {code} " in run.err


@pytest.mark.parametrize(("change", "code"), [
    pytest.param({"generator": {"output": "a\x00.py"}}, "MF008", id="nul-in-output"),
    pytest.param({"generator": {"migrations": "m\x00"}}, "MF008", id="nul-in-folder"),
    pytest.param({"migration": [{"file": "001_" + "a" * 300 + ".sql", "database": "main"}]}, "MF006",
                 id="file-name-too-long"),
    pytest.param({"generator": {"migrations": "a" * 300}}, "MF006", id="folder-name-too-long"),
    pytest.param({"migration": [{"file": "001_a.sql", "database": ""}]}, "MF004", id="empty-database"),
    pytest.param({"migration": [{"file": "", "database": "main"}, {"file": "001_a.sql", "database": "main"}]},
                 "MF005", id="empty-file"),
    pytest.param({"databases": {"main": {"file": ""}}}, "MF008", id="empty-database-file"),
    pytest.param({"databases": {"main": {"file": "x.db"}, "b": {"file": "./x.db"}}}, "MF003", id="same-file-dot"),
    pytest.param({"databases": {"main": {"file": "x.db"}, "b": {"file": "X.db"}}}, "MF003", id="same-file-case"),
    pytest.param({"migration": [{"file": "001_a.sql\n", "database": "main"}]}, "MF005", id="name-then-newline"),
    pytest.param({"migration": [{"file": "\u0661\u0662\u0663_a.sql", "database": "main"}]}, "MF005",
                 id="arabic-digits"),
    pytest.param({"generator": {"ledger": "schema_migrations\n"}}, "MF003", id="ledger-then-newline"),
    pytest.param({"databases": {"main\n": {"file": "main.db"}}}, "MF003", id="database-name-then-newline"),
    pytest.param({"migration": [{"file": "001_a.sql", "database": "main", "allow": {"MG007\n": "why"}}]}, "MF003",
                 id="allow-code-then-newline"),
    pytest.param({"generator": {"lock": "\u202e/f.lock"}}, "MF003", id="right-to-left-override-in-lock"),
    pytest.param({"generator": {"output": "a\nb.py"}}, "MF003", id="newline-in-output"),
    pytest.param({"databases": {"main": {"file": "a\tb.db"}}}, "MF003", id="tab-in-database-file"),
])
def test_manifest_values_that_crashed_or_slipped_through(change: dict[str, Any], code: str, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = {**ONE_DB, **change}
    outcome = build_project(tmp_path, monkeypatch, capsys, data, {"migrations/001_a.sql": GOOD})
    assert outcome.run.code == 2, outcome.run.err
    assert f" {code} " in outcome.run.err


def test_a_key_with_a_newline_stays_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = {**ONE_DB, "a\nb": 1, "databases": {"main": {"file": "main.db", "c\rd": 2}}}
    outcome = build_project(tmp_path, monkeypatch, capsys, data, {"migrations/001_a.sql": GOOD})
    assert "unknown key '\"a\\nb\"'" in outcome.run.err
    assert "unknown key 'databases.main.\"c\\rd\"'" in outcome.run.err


def test_an_unlisted_file_with_a_newline_in_its_name_stays_on_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": GOOD, "migrations/a\nb.sql": GOOD}
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, files)
    assert "migrations/a\\nb.sql:1:1: MF009 " in outcome.run.err


def test_manifest_lines_are_toml_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """U+2028 (and \\f, \\x85, ...) end a line for str.splitlines() but not for TOML: the lines were off."""
    text = ('# a\u2028b\x85c\n[databases.main]\nfile = "main.db"\n\n[[migration]]\nfile = "001_a.sql"\n'
            'database = "main"\ncolour = 1\n')
    outcome = build_project(tmp_path, monkeypatch, capsys, text.encode(), {"migrations/001_a.sql": GOOD})
    assert outcome.run.err.startswith("manifest.toml:8:1: MF002 unknown key 'colour'"), outcome.run.err


# ---------------------------------------------------------------------------------------------
# Regressions: bugs this suite found outside the files it owned, each the smallest reproducer.


@pytest.mark.parametrize("statement", ["COMMIT;", "END;", "ROLLBACK;", "COMMIT;\nSELECT * FROM nosuch;"])
def test_transaction_control_in_a_migration_is_not_a_crash(statement: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": statement.encode()}
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, files, contract=False)
    assert outcome.run.code == 1 and " MG008 " in outcome.run.err, outcome.run.err


def test_the_proof_writes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    sql = (b"CREATE TABLE IF NOT EXISTS t (x);\nCOMMIT;\nATTACH DATABASE 'pwned.db' AS p;\n"
           b"CREATE TABLE IF NOT EXISTS p.t (x);\nDETACH p;\nBEGIN;\n")
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": sql}, contract=False)
    assert outcome.run.code == 1
    assert not (outcome.project / "pwned.db").exists()


@pytest.mark.parametrize("output", ["manifest.toml/x.py", "a" * 300 + "/x.py"])
def test_an_output_that_cannot_be_written_is_a_diagnostic(output: str, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    data = {**ONE_DB, "generator": {"output": output}}
    outcome = build_project(tmp_path, monkeypatch, capsys, data, {"migrations/001_a.sql": GOOD}, contract=False)
    assert outcome.run.code == 2 and "internal error" not in outcome.run.err, outcome.run.err


def test_a_lock_file_that_is_not_utf8_is_a_diagnostic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": GOOD}, lock=b"\xff\n",
                            contract=False)
    assert outcome.run.code == 1 and " MG300 " in outcome.run.err, outcome.run.err


def test_an_allow_reason_with_a_newline_keeps_mg200_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    data = {**ONE_DB, "migration": [{"file": "001_a.sql", "database": "main", "allow": {"MG007": "one\ntwo"}}]}
    sql = b"CREATE TABLE IF NOT EXISTS t (x);\nALTER TABLE t RENAME TO u;\n"
    outcome = build_project(tmp_path, monkeypatch, capsys, data, {"migrations/001_a.sql": sql}, contract=False)
    assert outcome.run.code == 0
    assert all(DIAGNOSTIC.match(line) for line in lines_of(outcome.run.err)), outcome.run.err


def test_lint_of_a_folder_keeps_odd_file_names_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": GOOD, "migrations/a\nb.sql": b"CREATE TABLE t (x);\n"}
    argv = ("lint", "--manifest", "none.toml", "migrations")  # no manifest: lint the folder alone
    outcome = build_project(tmp_path, monkeypatch, capsys, b"", files, argv=argv, contract=False)
    assert outcome.run.code == 1
    assert all(DIAGNOSTIC.match(line) for line in lines_of(outcome.run.err)), outcome.run.err


def test_unlock_keeps_an_odd_target_on_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": GOOD},
                            argv=("unlock", "--", "\x1b[2J"), contract=False)
    assert outcome.run.code == 2
    assert all(line.isprintable() for line in lines_of(outcome.run.err)), outcome.run.err


def test_lock_lines_are_the_lines_of_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, {"migrations/001_a.sql": GOOD}, lock=b"# c\x0by\n",
                            contract=False)
    assert "migrations.lock:2:" not in outcome.run.err, outcome.run.err  # one line, a comment


def test_sqlite_error_messages_stay_printable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    files = {"migrations/001_a.sql": b"\x1bCREATE TABLE IF NOT EXISTS t (a);\n"}
    outcome = build_project(tmp_path, monkeypatch, capsys, ONE_DB, files, contract=False)
    assert outcome.run.code == 1 and " MG100 " in outcome.run.err
    assert all(line.isprintable() for line in lines_of(outcome.run.err)), outcome.run.err
