"""The frozen module holds text only as data: whatever the text (descriptions, purposes, names,
literals, comments), a build writes a module of literals and it comes back exactly.

Budgets: 140 examples in `make test`, 20x in `make soak` (see tests/fuzz_support.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fuzz_strategies import Spec
from fuzz_support import check_run, fuzz, line_count, materialize, run_generator, sandbox, snapshot
from hypothesis import strategies as st
from project import assert_pure_data, load_frozen

# ---------------------------------------------------------------------------------------------
# The frozen module holds text only as data: whatever the text, it comes back exactly

HOSTILE_SAMPLES = ['"""', "'''", "\\", "\\n", "{{ 7*7 }}", "{% raw %}", "{# c #}", '"); import os; os._exit(3) #',
                   "__import__('os')._exit(4)", "\n", "\r\n", "\r", "\u2028", "\x85", "é 😀", "\t", "%(x)s", "${x}"]
no_nul = st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)))
hostile_strings = st.lists(st.one_of(st.sampled_from(HOSTILE_SAMPLES), no_nul), min_size=1, max_size=4).map("".join)



def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def sql_name(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@fuzz(
    80,
    description=hostile_strings, purpose=hostile_strings, literal=hostile_strings,
    name=hostile_strings.filter(lambda s: not s.lower().startswith(("sqlite_", "schema_migrations"))),
    # No `noqa` in a comment: a suppression without codes and a reason is rightly an error (MG000).
    comment=hostile_strings.map(lambda s: s.replace("*/", "* /")).filter(lambda s: "noqa" not in s.lower()),
    line_comment=hostile_strings.map(lambda s: re.sub(r"[\r\n]", " ", s)).filter(lambda s: "noqa" not in s.lower()),
    db_file=hostile_strings.map(lambda s: "".join(c for c in s if c.isprintable() and c not in "/\\{}:") + ".db"),
    database=st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True),
    slug=st.from_regex(r"[a-z0-9]{1,8}(_[a-z0-9]{1,8}){0,2}", fullmatch=True),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
)
def test_text_round_trips_exactly_as_data(description: str, purpose: str, literal: str, name: str, comment: str,
                                          line_comment: str, db_file: str, database: str, slug: str, newline: str,
                                          tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    create = (f"CREATE TABLE IF NOT EXISTS {sql_name(name)} (id INTEGER PRIMARY KEY, "
              f"v TEXT DEFAULT {sql_literal(literal)} /* {comment} */);")
    insert = f"INSERT OR IGNORE INTO {sql_name(name)} (id, v) VALUES (1, {sql_literal(literal)});"
    # A `--` comment ends at LF only, in SQLite as here: with CR line ends it would run on.
    head = f"/* {comment} */{newline}" if newline == "\r" else f"-- {line_comment}{newline}"
    file = f"001_{slug}.sql"
    data = {"databases": {database: {"file": db_file, "purpose": purpose}},
            "migration": [{"file": file, "database": database, "description": description}]}
    files = {f"migrations/{file}": (head + create + newline + insert + newline).encode("utf-8")}
    for base in sandbox(tmp_path):
        project = materialize(Spec(data, files), base)
        run = run_generator(["build"], project, monkeypatch, capsys)
        assert run.code == 0, run.err
        assert_pure_data(project / "cortexdb" / "_frozen.py")  # before running a line of it
        frozen = load_frozen(project / "cortexdb" / "_frozen.py")

    (migration,) = frozen.MIGRATIONS
    assert migration["description"] == (description or slug.replace("_", " "))  # "" means: from the name
    assert (migration["file"], migration["database"]) == (file, database)
    assert [step[2] for step in migration["steps"]] == [create, insert]
    first = line_count(head.encode()) + (0 if head.endswith(("\n", "\r")) else -1)
    assert [step[1] for step in migration["steps"]] == [first, first + line_count((create + newline).encode()) - 1]
    db = frozen.DATABASES[database]
    assert (db["file"], db["purpose"]) == (db_file, purpose)
    (table,) = [row for row in db["schema"] if row[0] == "table"]
    assert table[1] == name and sql_literal(literal) in table[3]


test_text_round_trips_exactly_as_data_soak = test_text_round_trips_exactly_as_data.soak_twin


@fuzz(60, description=st.one_of(hostile_strings, st.text()))
def test_new_keeps_any_description_as_data(description: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    for base in sandbox(tmp_path):
        project = materialize(Spec({"databases": {"main": {"file": "main.db"}}}, {}), base)
        before = snapshot(base)
        argv = ["new", "--database", "main", "--", description]
        run = run_generator(argv, project, monkeypatch, capsys)
        check_run(run, argv, project, base, before)
        if run.code != 0:
            return  # nothing to name the file by: refused, nothing written
        assert run_generator(["build"], project, monkeypatch, capsys).code == 0
        assert_pure_data(project / "cortexdb" / "_frozen.py")
        (migration,) = load_frozen(project / "cortexdb" / "_frozen.py").MIGRATIONS
    assert migration["description"] == " ".join(description.split())


test_new_keeps_any_description_as_data_soak = test_new_keeps_any_description_as_data.soak_twin
