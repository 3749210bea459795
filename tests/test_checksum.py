"""Checksums: the legacy one must equal CortexPrism's bit for bit; the canonical one ignores
comments, whitespace and line endings between tokens but nothing that changes meaning, as SQLite
reads the text (tests/test_checksum_sqlite.py lets SQLite judge generated pairs)."""

from __future__ import annotations

import sqlite3

import pytest

from generator.checksum import c1_checksum, canonical_checksum, canonical_text, legacy_checksum


def java_string_hash(text: str) -> int:
    """An independent reference: Java's String.hashCode over UTF-16 code units."""
    units = []
    for ch in text:
        point = ord(ch)
        if point > 0xFFFF:
            point -= 0x10000
            units += [0xD800 + (point >> 10), 0xDC00 + (point & 0x3FF)]
        else:
            units.append(point)
    h = 0
    for unit in units:
        h = (31 * h + unit) % 2**32
    return h - 2**32 if h >= 2**31 else h


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", "5e918d2"),  # Java: "hello".hashCode() == 99162322
        ("", "0"),
        ("pollinating sandboxes", "0"),  # a well-known Java string whose hash is 0
        ("polygenelubricants", "80000000"),  # hashCode() == Integer.MIN_VALUE: abs(-2^31) == 2^31
        ("minusaeylkqgy", "1"),  # hash -1
    ],
)
def test_legacy_known_vectors(text: str, expected: str) -> None:
    assert legacy_checksum(text) == expected


def test_legacy_special_hashes_are_what_they_claim() -> None:
    assert java_string_hash("polygenelubricants") == -(2**31)
    assert java_string_hash("minusaeylkqgy") == -1
    assert java_string_hash("pollinating sandboxes") == 0


@pytest.mark.parametrize(
    "text",
    [
        "CREATE TABLE IF NOT EXISTS t (id INTEGER);\n",
        "INSERT OR IGNORE INTO t VALUES ('né', 'ø', '日本語');\n",
        "SELECT '😀 astral: 𝄞';\n",  # surrogate pairs: two code units each
        "x" * 5000,
    ],
)
def test_legacy_matches_reference(text: str) -> None:
    assert legacy_checksum(text) == format(abs(java_string_hash(text)), "x")


def test_legacy_line_endings_and_bom() -> None:
    lf = "CREATE TABLE a (x);\nCREATE TABLE b (y);\n"
    assert legacy_checksum(lf.replace("\n", "\r\n")) == legacy_checksum(lf)
    assert legacy_checksum(lf.replace("\n", "\r")) == legacy_checksum(lf)
    assert legacy_checksum("\ufeff" + lf) == legacy_checksum(lf)
    assert legacy_checksum(lf) == format(abs(java_string_hash(lf)), "x")


BASE = "CREATE TABLE IF NOT EXISTS t (\n  id INTEGER PRIMARY KEY, -- the key\n  name TEXT DEFAULT 'a  b'\n);\n"


@pytest.mark.parametrize(
    "cosmetic",
    [
        BASE.replace("\n", "\r\n"),
        BASE.replace("-- the key", "/* the key */").replace("\n", "\r"),  # CR ends no `--` comment
        "\ufeff" + BASE,
        "-- a new header comment\n" + BASE,
        BASE.replace("-- the key", "/* another\ncomment */"),
        BASE.replace("  id", "\tid").replace(" (", "   ("),
        BASE + "\n\n",
        BASE.replace("t (\n  id", "t(id").replace(",", " ,"),  # reflowed around ( and ,
    ],
)
def test_canonical_ignores_cosmetic_changes(cosmetic: str) -> None:
    assert canonical_checksum(cosmetic) == canonical_checksum(BASE)


@pytest.mark.parametrize(
    "meaningful",
    [
        BASE.replace("'a  b'", "'a b'"),  # whitespace inside a string literal is data
        BASE.replace("name", '"na  me"'),
        BASE.replace("INTEGER PRIMARY", "TEXT PRIMARY"),
        BASE.replace("t (", "t2 ("),
        BASE.replace("'a  b'", "'a -- b'"),  # a comment marker inside a string is data
        # To SQLite a `--` comment ends only at LF: with CR line endings the rest is comment.
        BASE.replace("\n", "\r"),
        BASE.replace("'a  b'", "'a\nb'"),  # a line ending inside a literal is data ...
        BASE.replace("'a  b'", "'a\r\nb'"),
    ],
)
def test_canonical_sees_changes_of_meaning(meaningful: str) -> None:
    assert canonical_checksum(meaningful) != canonical_checksum(BASE)


def test_canonical_text_shape() -> None:
    assert canonical_text("a/*x*/b") == "a b"
    assert canonical_text("SELECT 'it''s -- not a comment' -- but this is\n;") == \
        "SELECT 'it''s -- not a comment';"
    assert canonical_text("CREATE TABLE t (\n  id INTEGER, -- key\n  name TEXT\n) ;") == \
        canonical_text("CREATE TABLE t(id INTEGER,name TEXT);") == "CREATE TABLE t(id INTEGER,name TEXT);"
    assert canonical_checksum(BASE).startswith("c2:")


def test_comment_text_after_a_cr_is_no_cosmetic_edit() -> None:
    """MG303 passed this as cosmetic: c1 turned CR into LF before removing comments, so the
    `DROP TABLE` after a CR was live to c1 in both texts, while SQLite reads it as comment text
    in the first one and runs it in the second."""
    before = "CREATE TABLE IF NOT EXISTS t (x);\r-- keep t\rDROP TABLE t;\n"
    after = "CREATE TABLE IF NOT EXISTS t (x);\n-- keep t\nDROP TABLE t;\n"
    assert c1_checksum(before) == c1_checksum(after)  # the bug, kept for ledgers that hold c1
    assert canonical_checksum(before) != canonical_checksum(after)
    tables = []
    for text in (before, after):
        db = sqlite3.connect(":memory:")
        db.executescript(text)
        tables.append(db.execute("SELECT name FROM sqlite_master").fetchall())
    assert tables == [[("t",)], []]  # SQLite agrees: two different migrations


def test_a_line_ending_inside_a_literal_is_data() -> None:
    """c1 normalised line endings inside literals: an edit of the data inserted passed as cosmetic."""
    lf = "INSERT INTO t VALUES ('one\ntwo');\n"
    crlf = lf.replace("\n", "\r\n")
    assert c1_checksum(lf) == c1_checksum(crlf)
    assert canonical_checksum(lf) != canonical_checksum(crlf)
    assert "'one\r\ntwo'" in canonical_text(crlf)
    # ... while line endings outside literals are layout
    assert canonical_checksum(lf) == canonical_checksum(lf.replace("\n;", "\r\n;").replace(";\n", ";\r\n"))


@pytest.mark.parametrize(("text", "same"), [
    ("SELECT * FROM t WHERE n >=/* min */0;", "SELECT * FROM t WHERE n >= 0;"),
    ("SELECT * FROM t WHERE n>=0;", "SELECT * FROM t WHERE n >= 0;"),
    ("SELECT a/**/,b FROM t;", "SELECT a, b FROM t;"),
    ("SELECT 1;/* to the end", "SELECT 1;"),  # an unterminated block comment ends at the end
])
def test_removing_a_comment_between_tokens_is_cosmetic(text: str, same: str) -> None:
    """c1 refused `n >=/* min */0` -> `n >= 0` as semantic: a comment is just a separator."""
    assert canonical_checksum(text) == canonical_checksum(same)


@pytest.mark.parametrize(("text", "other"), [
    ("SELECT a/**/b FROM t;", "SELECT ab FROM t;"),  # two tokens (an alias), not one name
    ("SELECT 1 - -1;", "SELECT 1 --1;"),  # the second is `SELECT 1` and a comment
    ("SELECT 1/ *2;", "SELECT 1/*2;"),
    ('SELECT "a" "b";', 'SELECT "a""b";'),  # two names, or one with a quote in it
    ("SELECT x'00';", "SELECT x '00';"),  # a blob, or a column x aliased '00'
    ("SELECT 1.5;", "SELECT 1 .5;"),
])
def test_gluing_or_splitting_tokens_is_a_change(text: str, other: str) -> None:
    assert canonical_checksum(text) != canonical_checksum(other)


@pytest.mark.parametrize(("text", "other"), [
    # A declared type is its text: its affinity and PRAGMA table_info read it as written.
    ("CREATE TABLE w (x DOUBLE /*INT*/ PRECISION);", "CREATE TABLE w (x DOUBLE PRECISION);"),
    # A result column without an alias is named after its text.
    ("CREATE VIEW v AS SELECT a+1 FROM t;", "CREATE VIEW v AS SELECT a + 1 FROM t;"),
    ("CREATE TABLE u AS SELECT a+0 /* c */ FROM t;", "CREATE TABLE u AS SELECT a+0 FROM t;"),
])
def test_text_sqlite_keeps_between_tokens_is_meaning(text: str, other: str) -> None:
    assert canonical_checksum(text) != canonical_checksum(other)
    schemas = []
    for sql in (text, other):
        db = sqlite3.connect(":memory:")
        db.executescript("CREATE TABLE IF NOT EXISTS t (a);" + sql)
        name = sql.split()[2]
        schemas.append(db.execute(f"SELECT name, type FROM pragma_table_info('{name}')").fetchall())
    assert schemas[0] != schemas[1]  # SQLite agrees


@pytest.mark.parametrize(("text", "same"), [
    ("CREATE VIEW v AS SELECT a+1 AS b FROM t;", "CREATE VIEW v AS SELECT a + 1 AS b FROM t;"),  # named
    ("INSERT INTO t SELECT a+1 FROM t;", "INSERT INTO t SELECT a + 1 FROM t;"),  # names never read
    ("CREATE TABLE t (x INTEGER /* id */ PRIMARY KEY);", "CREATE TABLE t (x INTEGER PRIMARY KEY);"),
])
def test_layout_outside_those_places_stays_cosmetic(text: str, same: str) -> None:
    assert canonical_checksum(text) == canonical_checksum(same)
