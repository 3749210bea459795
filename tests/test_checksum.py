"""Checksums: the legacy one must equal CortexPrism's bit for bit; the canonical one ignores
comments, whitespace and line endings but nothing that changes meaning."""

from __future__ import annotations

import pytest

from generator.checksum import canonical_checksum, canonical_text, legacy_checksum


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
        BASE.replace("\n", "\r"),
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
    assert canonical_checksum(BASE).startswith("c1:")
