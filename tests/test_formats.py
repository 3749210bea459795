"""`--format text|json|github|sarif` for lint, build and check: JSON carries every field of
the text line, github is one workflow command per finding, SARIF validates against the
official 2.1.0 schema and describes every code the generator can report."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from project import ROOT, generator, write_project

from generator.diagnostics import Diagnostic, Severity
from generator.report import format_diagnostics

SCHEMA = json.loads((Path(__file__).parent / "schemas" / "sarif-schema-2.1.0.json").read_text())
JOBS = "CREATE TABLE IF NOT EXISTS jobs (id INTEGER PRIMARY KEY);\n"
BROKEN = ("PRAGMA foreign_keys = OFF;\n"
          "CREATE TABLE tags (id INTEGER, job_id INTEGER REFERENCES jobs (id));\n"
          "INSERT INTO tags (id) VALUES (1);\n")


def make(path: Path, state: str) -> Path:
    """A project in one of the states the commands report on."""
    project = write_project(path, {"001_jobs.sql": JOBS})
    assert generator(project, "build").returncode == 0
    (project / "migrations" / "001_jobs.sql").write_text("-- the queue\n" + JOBS)  # MG303 warning
    if state == "findings":  # errors, a warning and info
        write_project(project, {"001_jobs.sql": "-- the queue\n" + JOBS, "002_tags.sql": BROKEN})
    elif state == "bad manifest":
        write_project(project, {"001_jobs.sql": JOBS}, database="main")
        manifest = project / "manifest.toml"
        manifest.write_text(manifest.read_text().replace('database = "main"', 'database = "nope"'))
    return project


CASES = [
    ("lint", "findings"), ("build", "findings"), ("check", "findings"),
    ("check", "stale"), ("build", "bad manifest"), ("lint", "bad manifest"),
]


def run(tmp_path: Path, command: str, state: str, fmt: str) -> subprocess.CompletedProcess[str]:
    """The command on a fresh copy of the state: `build` writes when it succeeds."""
    template = tmp_path / "template"
    if not template.exists():
        make(template, state)
    copy = tmp_path / fmt
    shutil.copytree(template, copy)
    return generator(copy, command, "--format", fmt)


def as_text(record: dict[str, Any]) -> str:
    tag = "" if record["severity"] == "error" else f"{record['severity']}: "
    return f"{record['path']}:{record['line']}:{record['col']}: {record['code']} {tag}{record['message']}"


@pytest.mark.parametrize(("command", "state"), CASES)
def test_json_round_trips_the_text_output(tmp_path: Path, command: str, state: str) -> None:
    text = run(tmp_path, command, state, "text")
    machine = run(tmp_path, command, state, "json")

    assert machine.returncode == text.returncode
    records = json.loads(machine.stdout)
    assert records, "the case must report something"
    for record in records:
        assert set(record) == {"path", "line", "col", "code", "severity", "message"}
        assert record["severity"] in {"error", "warning", "info"}
    assert [as_text(r) for r in records] == text.stderr.splitlines()
    if state == "findings":  # lint does not read the lock: no MG303 warning there
        expected = {"error", "info"} if command == "lint" else {"error", "warning", "info"}
        assert {r["severity"] for r in records} == expected


@pytest.mark.parametrize(("command", "state"), CASES)
def test_github_annotations(tmp_path: Path, command: str, state: str) -> None:
    records = json.loads(run(tmp_path, command, state, "json").stdout)
    github = run(tmp_path, command, state, "github")
    lines = github.stdout.splitlines()
    assert len(lines) == len(records)
    level = {"error": "error", "warning": "warning", "info": "notice"}
    for line, record in zip(lines, records, strict=True):
        assert line == (f"::{level[record['severity']]} file={record['path']},line={record['line']},"
                        f"col={record['col']},title={record['code']}::{record['message']}")


def test_github_escapes_properties_and_data() -> None:
    found = Diagnostic("db/a,b:c%.sql", 3, 7, "MG001", "100% sure", Severity.WARNING)
    assert format_diagnostics([found], "github") == (
        "::warning file=db/a%2Cb%3Ac%25.sql,line=3,col=7,title=MG001::100%25 sure")


def test_a_diagnostic_is_always_one_printable_line() -> None:
    """A newline or an escape code from a file name or an SQLite message is written escaped."""
    found = Diagnostic("a\nb.sql", 1, 1, "MG100", "SQLite says \x1b[2J\nnext", Severity.ERROR)
    assert str(found) == "a\\nb.sql:1:1: MG100 SQLite says \\x1b[2J\\nnext"
    for fmt in ("text", "github"):
        (line,) = format_diagnostics([found], fmt).splitlines()
        assert line.isprintable()


def validate_sarif(document: dict[str, Any]) -> None:
    validator = jsonschema.Draft4Validator(SCHEMA, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


@pytest.mark.parametrize(("command", "state"), CASES)
def test_sarif_validates_against_the_official_schema(tmp_path: Path, command: str, state: str) -> None:
    records = json.loads(run(tmp_path, command, state, "json").stdout)
    sarif = run(tmp_path, command, state, "sarif")
    document = json.loads(sarif.stdout)
    validate_sarif(document)

    (sarif_run,) = document["runs"]
    rules = sarif_run["tool"]["driver"]["rules"]
    results = sarif_run["results"]
    assert len(results) == len(records)
    level = {"error": "error", "warning": "warning", "info": "note"}
    for result, record in zip(results, records, strict=True):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"] == record["code"]
        assert result["level"] == level[record["severity"]]
        assert result["message"]["text"] == record["message"]
        location = result["locations"][0]["physicalLocation"]
        assert location["artifactLocation"] == {"uri": record["path"], "uriBaseId": "%SRCROOT%"}
        assert location["region"] == {"startLine": record["line"], "startColumn": record["col"]}


def test_sarif_uris_for_absolute_and_unusual_paths(tmp_path: Path) -> None:
    odd = tmp_path / "a dir" / "x#1 é.sql"
    odd.parent.mkdir()
    odd.write_text("CREATE TABLE t (id INTEGER);\n")
    outside = tmp_path / "outside.sql"
    outside.write_text("DROP TABLE t;\n")
    proc = generator(tmp_path / "a dir", "lint", str(odd), str(outside), "--format", "sarif")
    assert proc.returncode == 1, proc.stderr
    document = json.loads(proc.stdout)
    validate_sarif(document)
    uris = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in document["runs"][0]["results"]]
    assert {"uri": "x%231%20%C3%A9.sql", "uriBaseId": "%SRCROOT%"} in uris
    assert {"uri": outside.as_uri()} in uris


def test_sarif_has_rule_metadata_for_every_code() -> None:
    """Every code the generator's source can emit, and every lint rule, is a SARIF rule."""
    from generator.codes import CODES
    from generator.sarif import rule_table, to_sarif

    emitted = set()
    for path in (ROOT / "generator").glob("*.py"):
        emitted |= set(re.findall(r"\"(M[FG]\d{3})\"", path.read_text(encoding="utf-8")))
    assert len(emitted) > 25  # the grep found the codes
    document = to_sarif([])
    validate_sarif(document)
    rules = document["runs"][0]["tool"]["driver"]["rules"]
    ids = [rule["id"] for rule in rules]
    assert ids == sorted(ids) and set(ids) == set(rule_table())
    assert emitted | set(CODES) <= set(ids)
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}


def test_machine_formats_print_one_document_when_clean(tmp_path: Path) -> None:
    project = write_project(tmp_path, {"001_jobs.sql": JOBS})
    assert json.loads(generator(project, "lint", "--format", "json").stdout) == []
    assert generator(project, "lint", "--format", "github").stdout == ""
    built = generator(project, "build", "--format", "sarif")
    assert built.returncode == 0
    validate_sarif(json.loads(built.stdout))
    assert "wrote cortexdb/_frozen.py" in built.stderr  # the summary moves out of stdout's way
    checked = generator(project, "check", "--format", "json")
    assert (checked.returncode, json.loads(checked.stdout)) == (0, [])


@pytest.mark.parametrize("fmt", ["text", "json", "github", "sarif"])
def test_new_and_unlock_print_what_the_other_commands_print(tmp_path: Path, fmt: str) -> None:
    """`new` and `unlock` succeed with no findings: in a machine format stdout is that one
    (empty) document and the message moves to stderr, as `build`'s summary does."""
    project = write_project(tmp_path, {"001_jobs.sql": JOBS})
    assert generator(project, "build").returncode == 0
    created = generator(project, "new", "add job tags", "--database", "main", "--format", fmt)
    assert created.returncode == 0, created.stderr
    assert (project / "migrations" / "002_add_job_tags.sql").is_file()
    (project / "migrations" / "002_add_job_tags.sql").write_text(JOBS.replace("jobs", "tags"))
    assert generator(project, "build").returncode == 0
    unlocked = generator(project, "unlock", "002", "--format", fmt)
    assert unlocked.returncode == 0, unlocked.stderr
    assert "002_add_job_tags.sql" not in (project / "migrations.lock").read_text()

    messages = {"new": "created migrations/002_add_job_tags.sql and its entry in manifest.toml",
                "unlock": "unlocked 002 002_add_job_tags.sql; run `make migrations` to lock it anew"}
    for command, proc in (("new", created), ("unlock", unlocked)):
        if fmt == "text":
            assert (proc.stdout, proc.stderr) == (messages[command] + "\n", "")
            continue
        assert proc.stderr == messages[command] + "\n"
        if fmt == "json":
            assert json.loads(proc.stdout) == []
        elif fmt == "github":
            assert proc.stdout == ""
        else:
            document = json.loads(proc.stdout)
            validate_sarif(document)
            assert document["runs"][0]["results"] == []


@pytest.mark.parametrize("command", [["new", "x", "--database", "nope"], ["unlock", "007"]])
def test_new_and_unlock_refusals_are_one_json_document(tmp_path: Path, command: list[str]) -> None:
    project = write_project(tmp_path, {"001_jobs.sql": JOBS})
    assert generator(project, "build").returncode == 0
    proc = generator(project, *command, "--format", "json")
    assert proc.returncode == 2
    (record,) = json.loads(proc.stdout)
    assert record["code"] in {"MF004", "MG304"} and record["severity"] == "error"
