"""The three checksums of a migration: canonical (`c1:`), raw, and CortexPrism's legacy one."""

from __future__ import annotations

import functools
import hashlib
import operator
import re
import sys
from array import array

CANONICAL_PREFIX = "c1:"
# SQLite's whitespace (sqlite3Isspace). Not str.isspace(): U+00A0, U+2028, U+001C ... are part
# of a name to SQLite, so `x\u00a0INTEGER` is one column name, not a column and its type.
_SPACE = frozenset(" \t\n\v\f\r")
PUNCTUATION = "(),;"


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# What the canonical text rewrites: a quoted literal, kept as is ('' "" `` escape their quote;
# [...] has no escape; an unterminated one runs to the end), or a run of layout: whitespace,
# `--` comments (to the newline) and `/* */` comments (to the end when unterminated). Words and
# punctuation between them are copied as they are.
_QUOTED_OR_LAYOUT = re.compile(
    r"""(?P<quoted>'(?:[^']+|'')*'?|"(?:[^"]+|"")*"?|`(?:[^`]+|``)*`?|\[[^\]]*\]?)"""
    # Not one blank between two tokens that are not punctuation: it stays as it is.
    r"""|(?!(?<=[^(),;]) (?![ \t\n\v\f\r(),;]|--|/\*|\Z))"""
    r"""(?:[ \t\n\v\f\r]+|--[^\n]*|/\*.*?(?:\*/|\Z))+""",
    re.S,
)


def canonical_text(text: str) -> str:
    """The migration's meaning as text: no BOM, no comments, whitespace runs collapsed to one space
    and dropped next to `( ) , ;`.

    String literals and quoted identifiers are kept byte for byte (their content is meaning).
    A comment separates tokens like whitespace does. Written by hand, not with sqlglot, so the
    checksum never changes with the sqlglot version.
    """
    text = normalize_newlines(text.removeprefix("\ufeff"))
    size = len(text)

    def rewrite(match: re.Match[str]) -> str:
        if match.lastgroup == "quoted":
            return match.group()
        # Layout around ( ) , ; is not meaning: `t(a, b)` and `t (\n  a,\n  b\n)` are one
        # text. The character before a layout run ends a token, the one after starts one.
        start, end = match.span()
        if start == 0 or end == size or text[start - 1] in PUNCTUATION or text[end] in PUNCTUATION:
            return ""
        return " "

    return _QUOTED_OR_LAYOUT.sub(rewrite, text)


def canonical_checksum(text: str) -> str:
    return CANONICAL_PREFIX + hashlib.sha256(canonical_text(text).encode("utf-8")).hexdigest()


def raw_checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def legacy_checksum(text: str) -> str:
    """CortexPrism's checksum: a Java-style string hash over UTF-16 code units, as `hex(abs(h))`.

    The original read files as text (a BOM is dropped by the decoder), turned CRLF/CR into LF,
    then folded `h = 31*h + unit` into a signed 32-bit integer.
    """
    units = array("H", normalize_newlines(text.removeprefix("\ufeff")).encode("utf-16-le"))
    if sys.byteorder == "big":
        units.byteswap()
    # h = sum(unit_i * 31**(n-1-i)) mod 2**32, the fold unrolled: a block of units at a time,
    # its sum of products taken in C instead of one Python step per unit.
    h = 0
    powers = _powers()
    for start in range(0, len(units), _BLOCK):
        block = units[start : start + _BLOCK]
        h = (h * powers[len(block)] + sum(map(operator.mul, block, powers[len(block) - 1 :: -1]))) & 0xFFFFFFFF
    if h >= 0x80000000:
        h -= 0x100000000
    return format(abs(h), "x")


_BLOCK = 4096


@functools.cache
def _powers() -> list[int]:
    """31**k mod 2**32 for k = 0 .. _BLOCK (made on first use: importing stays cheap)."""
    powers = [1]
    for _ in range(_BLOCK):
        powers.append(powers[-1] * 31 & 0xFFFFFFFF)
    return powers
