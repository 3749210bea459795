"""What the generator fuzz tests draw: SQL text and bytes, and whole projects (`Spec`: a manifest,
the files beside it, the command to run) with up to three things wrong with them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from fuzz_toml import toml_document
from hypothesis import strategies as st

from generator.codes import LINT_CODES

# ---------------------------------------------------------------------------------------------
# Strategies: SQL files

STATEMENTS = [
    "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, a TEXT DEFAULT 'x;y', b REAL);",
    "CREATE TABLE u (id INTEGER PRIMARY KEY, t_id INTEGER REFERENCES t(id)) WITHOUT ROWID;",
    "CREATE TEMP TABLE tmp (x);",
    "CREATE UNIQUE INDEX IF NOT EXISTS t_a ON t (a);",
    "CREATE INDEX t_b ON t (b) WHERE b > 0;",
    "CREATE VIEW IF NOT EXISTS v AS SELECT a FROM t;",
    "CREATE VIRTUAL TABLE IF NOT EXISTS f USING fts5(body, content='t');",
    "CREATE TRIGGER IF NOT EXISTS tr AFTER INSERT ON t BEGIN UPDATE t SET a = 'END;' WHERE id = new.id; END;",
    "CREATE TRIGGER tr2 BEFORE DELETE ON t BEGIN SELECT RAISE(ABORT, 'no'); END;",
    "ALTER TABLE t ADD COLUMN IF NOT EXISTS c TEXT DEFAULT '';",
    "ALTER TABLE t ADD COLUMN d INTEGER;",
    "ALTER TABLE t RENAME TO t_old;",
    "ALTER TABLE t RENAME COLUMN a TO a2;",
    "ALTER TABLE t DROP COLUMN b;",
    "DROP TABLE IF EXISTS t_old;",
    "DROP INDEX t_b;",
    "INSERT OR IGNORE INTO t (id, a) VALUES (1, 'it''s');",
    "INSERT INTO t (id) VALUES (2) ON CONFLICT DO NOTHING;",
    "INSERT INTO t (id) VALUES (3);",
    "REPLACE INTO t (id) VALUES (4);",
    "WITH x(n) AS (SELECT 1) INSERT OR IGNORE INTO t (id) SELECT n FROM x;",
    "UPDATE t SET a = \"b\" WHERE [id] = `id`;",
    "DELETE FROM t WHERE id IN (SELECT id FROM t);",
    "PRAGMA foreign_keys = OFF;",
    "PRAGMA journal_mode = WAL;",
    "PRAGMA user_version = 3;",
    "SAVEPOINT s; RELEASE s;",
    "BEGIN;", "COMMIT;", "END;", "ROLLBACK;",
    "VACUUM;", "ATTACH DATABASE ':memory:' AS a;", "DETACH a;",
    "SELECT x'00ff', 1e5, -1, ?1, :a, @b, $c, 'a''b', \"q\"\"q\";",
]
KEYWORDS = [
    "CREATE", "TEMP", "TABLE", "UNIQUE", "INDEX", "VIEW", "TRIGGER", "VIRTUAL", "IF", "NOT", "EXISTS", "DROP",
    "ALTER", "ADD", "COLUMN", "RENAME", "TO", "INSERT", "OR", "IGNORE", "REPLACE", "INTO", "VALUES", "ON",
    "CONFLICT", "DO", "NOTHING", "UPDATE", "SET", "DELETE", "FROM", "WHERE", "SELECT", "PRAGMA", "foreign_keys",
    "journal_mode", "WITH", "AS", "BEGIN", "END", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "VACUUM", "USING",
    "fts5", "AFTER", "BEFORE", "INSTEAD", "OF", "FOR", "EACH", "ROW", "WITHOUT", "ROWID", "PRIMARY", "KEY", "CHECK",
    "DEFAULT", "NULL", "CASE", "WHEN",
]
PUNCTUATION = [
    "(", ")", ";", ";", ",", ".", "'", '"', "`", "[", "]", "--", "/*", "*/", "=", "*", "\\", "$", "?",
    " ", " ", "\n", "\n", "\r\n", "\r", "\t", "\v", "\f", "\x00", "\ufeff", "\u00a0", "\u2028", "\x85",
    "{{ 7*7 }}", "{% raw %}", "'''", '"""', "\\n",
]
NOQA = ["-- noqa: MG001 reason\n", "-- noqa\n", "-- noqa: MG999 x\n", "/* noqa: MG007,MG010 why */",
        "-- NOQA:mg006\n", "-- noqa: MG100 no\n", "/* noqa: MG001"]

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_$]{0,12}", fullmatch=True)
sql_fragment = st.one_of(
    st.sampled_from(KEYWORDS).map(lambda word: word + " "),
    st.sampled_from(PUNCTUATION),  # unbalanced quotes, comments, mixed line ends, NUL, BOM
    st.sampled_from(STATEMENTS),
    st.tuples(st.sampled_from(STATEMENTS), st.integers(0, 120)).map(lambda pair: pair[0][: pair[1]]),  # truncated
    identifiers,
    st.sampled_from(NOQA),
    st.text(max_size=6),
    st.integers(1, 400).map(lambda depth: "(" * depth + "1" + ")" * depth),  # nesting (10k deep: huge_sql)
    st.integers(1, 400).map(lambda depth: "(" * depth),  # ... never closed
    st.integers(200, 3000).map(lambda size: "x" * size),  # long names (100k: huge_sql)
)
sql_texts = st.lists(sql_fragment, max_size=20).map("".join)
DIGIT = st.integers(0, 9)
INVALID_UTF8 = [b"\xff", b"\xfe", b"\x80", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf"]


SEPARATORS = ["\n", "\n", "\r\n", "\r", " ", "\n-- c;\n", "/* ; */", "\n-- noqa: MG006 seeded rows\n"]
statement_texts = st.builds(
    lambda table, statements, separator: separator.join([*table, *statements]) + separator,
    st.sampled_from([[], [STATEMENTS[0]]]), st.lists(st.sampled_from(STATEMENTS), max_size=8),
    st.sampled_from(SEPARATORS),
)  # whole statements: these reach the proof


@st.composite
def sql_bytes(draw: st.DrawFn) -> bytes:
    """A migration file: whole statements, or SQL-ish soup, maybe with a BOM and an invalid UTF-8
    byte; or random bytes."""
    kind = draw(DIGIT)
    if kind == 0:
        return draw(st.binary(max_size=200))
    data = draw(statement_texts if kind >= 5 else sql_texts).encode("utf-8")
    if draw(st.booleans()):
        data = b"\xef\xbb\xbf" + data
    if draw(DIGIT) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from(INVALID_UTF8)) + data[at:]
    return data


lint_codes = st.one_of(st.sampled_from(sorted(LINT_CODES)), st.from_regex(r"MG\d{3}", fullmatch=True),
                       st.text(max_size=5))


# Inputs that crashed the library functions, and so whole commands (one regression test each)
NUL_SQL = "CREATE TABLE IF NOT EXISTS t (a);\nSELECT 'x\x00y';\n"
DEEP_INSERTS = ["INSERT INTO t VALUES " + "(" * 10_000 + "1" + ")" * 10_000 + ";",
                "INSERT INTO t VALUES " + "(" * 10_000 + ";"]


# ---------------------------------------------------------------------------------------------
# Strategies: manifests and projects

OUTSIDE = "\u2603OUTSIDE\u2603"  # stands for the sandbox's absolute `outside` folder
PATH_PARTS = ["..", "..", ".", "", "migrations", "cortexdb", "a", "sub", "日本", "x y", "~", "$HOME", "%2e%2e",
              "C:", "\\", "..\\..", "\x00", " ", "\u202e", "outside", ".cache", "NUL", "a" * 300]
MIGRATION_FILES = st.one_of(
    st.builds(lambda number, slug: f"{number:03d}_{slug}.sql", st.integers(0, 5), st.sampled_from(["a", "b_c", "x1"])),
    st.from_regex(r"\d{1,7}_[a-z0-9_]{0,8}\.(sql|SQL|txt)", fullmatch=True),
    st.builds(lambda number: f"{number:03d}_" + "a" * 300 + ".sql", st.integers(1, 3)),  # too long for the OS
)
ODD_FILE_NAMES = ["a\nb.sql", " .sql", "x.SQL", "-x.sql", "é.sql", "\x1b[31m.sql", "a:1:1: MG001 x.sql"]


def path_like(suffix: str) -> st.SearchStrategy[str]:
    """Relative and absolute paths, `..`, Windows forms, unicode, NUL, over-long names."""
    return st.builds(lambda prefix, parts, separator: prefix + separator.join([*parts, "f" + suffix]),
                     st.sampled_from(["", "", "", OUTSIDE + "/", "./", "C:/", "C:", "\\\\server\\share\\"]),
                     st.lists(st.sampled_from(PATH_PARTS), max_size=4), st.sampled_from(["/", "\\"]))


# Any TOML value: numbers, booleans, dates and times, arrays, tables, nested.
def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, min_size=1, max_size=3) | st.dictionaries(st.text(max_size=5), inner, min_size=1, max_size=3)


WRONG = st.recursive(
    st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(), st.booleans(), st.dates(), st.times(), st.datetimes(),
              st.datetimes(timezones=st.just(datetime.timezone.utc)), st.just([]), st.just({}), st.text(max_size=5)),
    _nested, max_leaves=6,
)
hostile_text = st.one_of(st.text(max_size=20), st.sampled_from([
    "", " ", "a\nb", "\"\"\"", "'''", "\\", "{{ x }}", "{% if %}", "__import__('os').system('id')",
    "\x00", "\r\n", "\u2028", "\x85", "é 😀", "\ud7ff\ue000", "a" * 1000,
]))
allow_tables = st.dictionaries(lint_codes, st.one_of(st.text(max_size=10), WRONG), max_size=3)
BAD = {
    "migrations": st.one_of(path_like(""), WRONG), "output": st.one_of(path_like(".py"), WRONG),
    "ledger": st.one_of(hostile_text, WRONG), "lock": st.one_of(path_like(".lock"), WRONG),
    "name": hostile_text, "file.db": st.one_of(path_like(".db"), hostile_text, WRONG),
    "purpose": WRONG, "file.sql": st.one_of(MIGRATION_FILES, path_like(".sql"), WRONG),
    "database": hostile_text, "description": WRONG, "allow": st.one_of(allow_tables, WRONG),
    "key": st.one_of(st.sampled_from(["file", "database", "generator", "databases", "migration", "allow"]),
                     st.text(max_size=6)),
}
LOCK_LINES = st.lists(st.one_of(
    st.builds(lambda version, file, digest: f"{version:03d} {file} c1:{digest} {digest}",
              st.integers(0, 6), MIGRATION_FILES, st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
    st.sampled_from(["<<<<<<< HEAD", "=======", ">>>>>>> b", "# c", "", "001 x"]),
    st.text(max_size=10)), max_size=4).map(lambda lines: "\n".join(lines).encode("utf-8"))
TEXT_EDITS = st.lists(st.tuples(
    st.sampled_from(["truncate", "insert", "crlf", "cr", "bom", "invalid", "duplicate_line"]),
    st.integers(0, 10_000),
    st.sampled_from(["[", "]", "[[migration]]", "=", '"', "'''", "\n", "\x00", "\ufeff", "[generator]", "x = 1\n", "#",
                     "é", "\\u0000", "\\"])), min_size=1, max_size=3)


@dataclass
class Spec:
    """One project: what its manifest says, the files beside it, and the command to run."""

    data: dict[str, Any]
    files: dict[str, bytes]  # paths relative to the project; only migrations/NAME are written
    symlinks: dict[str, str] = field(default_factory=dict)  # link (relative) -> OUTSIDE/..., PROJECT/..., LOOP
    lock: bytes | None = None  # migrations.lock before the run
    text_edits: list[tuple[str, int, str]] = field(default_factory=list)  # applied to the rendered manifest
    raw_manifest: bytes | None = None  # instead of the rendered manifest
    argv: list[str] = field(default_factory=list)


@st.composite
def valid_projects(draw: st.DrawFn) -> Spec:
    """A project whose manifest is valid: hostile text only where any text goes (descriptions,
    purposes, allow reasons); its SQL is anything."""
    names = ["main", "cortex", "memory"][: draw(st.integers(1, 3))]
    generator = {key: value for key, value in [("migrations", "migrations"), ("output", "cortexdb/_frozen.py"),
                                               ("ledger", "schema_migrations"), ("lock", "migrations.lock")]
                 if draw(st.booleans())}
    session = draw(st.sampled_from(names)) if draw(DIGIT) < 3 else None
    databases = {name: {"file": "sessions/{session_id}.db" if name == session else f"{name}.db",
                        "purpose": draw(hostile_text)} for name in names}
    migrations, files = [], {}
    for number in range(1, draw(st.integers(0, 4)) + 1):
        entry: dict[str, Any] = {"file": f"{number:03d}_m{number}.sql", "database": draw(st.sampled_from(names))}
        if draw(st.booleans()):
            entry["description"] = draw(hostile_text)
        if draw(DIGIT) < 2:
            entry["allow"] = draw(st.dictionaries(st.sampled_from(["MG006", "MG007", "MG010"]), hostile_text,
                                                  min_size=1, max_size=2))
        migrations.append(entry)
        files[f"migrations/{entry['file']}"] = draw(sql_bytes())
    data = {"generator": generator, "databases": databases, "migration": migrations}
    return Spec(data, files)


def _mutate(draw: st.DrawFn, spec: Spec) -> None:
    """One thing wrong with the project: a value, a key, a file, a link, the lock, the manifest text."""
    data = spec.data  # an earlier mutation may have put anything anywhere: look before using
    databases = data.get("databases") if isinstance(data.get("databases"), dict) else {}
    entries = data.get("migration") if isinstance(data.get("migration"), list) else []
    tables: list[tuple[str, dict[str, Any]]] = [("generator", data["generator"])] if isinstance(
        data.get("generator"), dict) else []
    tables += [("database", table) for table in databases.values() if isinstance(table, dict)]
    tables += [("migration", entry) for entry in entries if isinstance(entry, dict)]
    kind = draw(st.sampled_from(["value", "value", "value", "key", "name", "number", "missing", "unlisted",
                                 "symlink", "lock", "text", "raw"]))
    if kind == "value" and tables:
        where, table = draw(st.sampled_from(tables))
        keys = {"generator": ["migrations", "output", "ledger", "lock"], "database": ["file.db", "purpose"],
                "migration": ["file.sql", "database", "description", "allow"]}[where]
        key = draw(st.sampled_from(keys))
        table[key.split(".")[0]] = draw(BAD[key])
    elif kind == "key":  # an unknown key, or a known one with a value of the wrong type, anywhere
        _where, table = draw(st.sampled_from([("top", data), *tables]))
        table[draw(BAD["key"])] = draw(WRONG)
    elif kind == "name" and databases:
        old = draw(st.sampled_from(sorted(databases)))
        databases[draw(BAD["name"])] = databases.pop(old)
    elif kind == "number" and tables[-1:] and tables[-1][0] == "migration":  # a duplicate, a gap, out of range
        entry = draw(st.sampled_from([table for where, table in tables if where == "migration"]))
        entry["file"] = f"{draw(st.sampled_from([0, 1, 2, 7, 999, 1000000])):03d}_m.sql"
        spec.files[f"migrations/{entry['file']}"] = draw(sql_bytes())
    elif kind == "missing" and spec.files:
        del spec.files[draw(st.sampled_from(sorted(spec.files)))]
    elif kind == "unlisted":
        name = draw(st.one_of(MIGRATION_FILES, st.sampled_from(ODD_FILE_NAMES)))
        spec.files[f"migrations/{name}"] = draw(sql_bytes())
    elif kind == "symlink":
        link = draw(st.sampled_from(["migrations/001_m1.sql", "migrations/002_m2.sql", "migrations/009_x.sql",
                                     "migrations", "cortexdb"]))
        spec.symlinks[link] = draw(st.sampled_from(["OUTSIDE/evil.sql", "OUTSIDE", "PROJECT/migrations/001_m1.sql",
                                                    "LOOP", "PROJECT/nowhere", "PROJECT"]))
    elif kind == "lock":
        spec.lock = draw(st.one_of(st.binary(max_size=100), LOCK_LINES))
    elif kind == "text":
        spec.text_edits += draw(TEXT_EDITS)
    elif kind == "raw":
        spec.raw_manifest = draw(st.one_of(st.binary(max_size=200),
                                           st.dictionaries(st.text(max_size=8), WRONG, max_size=4)
                                           .map(lambda table: toml_document(table).encode())))


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    """A valid project with 0 to 3 things wrong with it (0 in about four cases in ten), and a command."""
    spec = draw(valid_projects())
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 1, 2, 3]))):
        _mutate(draw, spec)
    spec.argv = draw(command_lines(spec))
    return spec


@st.composite
def command_lines(draw: st.DrawFn, spec: Spec) -> list[str]:
    command = draw(st.sampled_from(["build", "build", "build", "check", "lint", "fix", "fix", "new", "unlock"]))
    fmt = "text" if command in ("new", "unlock") else draw(st.sampled_from(["text", "text", "json", "github", "sarif"]))
    head = ["lint", "--fix", "--format", fmt] if command == "fix" else [command, "--format", fmt]
    if command == "new":
        known = spec.data.get("databases")
        names = sorted(map(str, known)) if isinstance(known, dict) and known else ["main"]
        return [*head, "--database", draw(st.one_of(st.sampled_from(names), hostile_text)), "--", draw(hostile_text)]
    if command == "unlock":
        return [*head, "--", draw(st.one_of(st.sampled_from(["001", "2", "001_m1.sql"]), hostile_text))]
    if command in ("lint", "fix") and draw(st.booleans()):
        paths = draw(st.lists(st.sampled_from(["migrations", "migrations", "migrations/001_m1.sql", "nosuch.sql", "."]),
                              min_size=1, max_size=2))
        return [*head, "--", *paths]
    return head

