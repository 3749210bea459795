"""The checksums of a migration: canonical (`c2:`, and the older `c1:`), raw, and CortexPrism's legacy one."""

from __future__ import annotations

import functools
import hashlib
import operator
import re
import sys
from array import array

from .sqltokens import ILLEGAL, QUOTED, SQLITE_SPACE, VARIABLE, WORD, significant, tokenize
from .verbatim import verbatim_gaps

CANONICAL_PREFIX = "c2:"
C1_PREFIX = "c1:"
# SQLite's whitespace (sqlite3Isspace). Not str.isspace(): U+00A0, U+2028, U+001C ... are part
# of a name to SQLite, so `x\u00a0INTEGER` is one column name, not a column and its type.
_SPACE = frozenset(" \t\n\v\f\r")
PUNCTUATION = "(),;"
_PUNCTUATION = frozenset(PUNCTUATION)
# Tokens a following `(` `)` `,` `;` could be glued to: `$v` + `(x)` is one variable, and `$v(x`
# (illegal, it ended at a space) + `)` would be one too.
_GLUES = frozenset({VARIABLE, ILLEGAL})
_NAMES = frozenset({WORD, QUOTED})


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def canonical_text(text: str) -> str:
    """The migration's meaning as text: the tokens SQLite reads (tokenize.c), nothing else.

    Comments and whitespace between tokens are dropped: two tokens are written with one space
    between them, or none next to `( ) , ;`, however they were separated or not. Whether a
    space was there never matters to SQLite once the tokens are known (`n>=0`, `n >= 0` and
    `n >=/* min */0` are one text; `a/**/b` is two tokens, `ab` one). Tokens are kept byte for
    byte: literals and quoted identifiers with their line endings, keywords with their case.
    Where SQLite itself keeps the text between tokens (a declared type, a result column named
    after its text, a virtual table's arguments: generator/verbatim.py), that text is kept as
    it is. A BOM or any whitespace before the first token or after the last is not meaning.

    Written by hand, not with sqlglot, so the checksum never changes with the sqlglot version.
    """
    tokens = significant(tokenize(text))
    if not tokens:
        return ""
    raw, tails = verbatim_gaps(text, tokens)
    pieces: list[str] = []
    append = pieces.append
    previous_kind, previous_end, previous_text = "", 0, ""
    for index, (kind, start, end) in enumerate(tokens):
        token = text[start:end]
        if index:
            if index in raw:
                append(text[previous_end:start])
            else:
                tail = text[previous_end:start].rstrip(SQLITE_SPACE) if index in tails else ""
                if tail:
                    append(tail)  # part of a column's name, as SQLite trims it
                    previous_kind, previous_text = "comment", ""
                    if _ends_in_line_comment(tail):
                        append("\n")
                        previous_kind = ""
                if previous_kind and (previous_kind in _GLUES or (
                        previous_text not in _PUNCTUATION and token not in _PUNCTUATION
                        and not _dotted(previous_kind, previous_text, kind, token))):
                    append(" ")
        append(token)
        previous_kind, previous_end, previous_text = kind, end, token
    return "".join(pieces)


def _dotted(left_kind: str, left: str, right_kind: str, right: str) -> bool:
    """`t.c`, `"s"."t"`, `t.*`: a dot between names needs no space (a dot after or before a
    number does: `1 . 5` is not `1.5`)."""
    if left == ".":
        return right_kind in _NAMES or right == "*"
    return right == "." and left_kind in _NAMES


def _ends_in_line_comment(trivia: str) -> bool:
    last = tokenize(trivia)[-1]
    return trivia.startswith("--", last[1])


# c1, the first canonical text (kept so that ledgers and locks holding `c1:` checksums still
# match): a quoted literal kept as is ('' "" `` escape their quote; [...] has no escape; an
# unterminated one runs to the end), or a run of layout: whitespace, `--` comments (to the
# newline) and `/* */` comments (to the end when unterminated), after CR/CRLF became LF. It
# was not SQLite's reading: a CR does not end a `--` comment to SQLite, and a line ending in a
# literal is data.
_QUOTED_OR_LAYOUT = re.compile(
    r"""(?P<quoted>'(?:[^']+|'')*'?|"(?:[^"]+|"")*"?|`(?:[^`]+|``)*`?|\[[^\]]*\]?)"""
    # Not one blank between two tokens that are not punctuation: it stays as it is.
    r"""|(?!(?<=[^(),;]) (?![ \t\n\v\f\r(),;]|--|/\*|\Z))"""
    r"""(?:[ \t\n\v\f\r]+|--[^\n]*|/\*.*?(?:\*/|\Z))+""",
    re.S,
)


def canonical_text_c1(text: str) -> str:
    """The `c1:` canonical text: no BOM, no comments, whitespace runs collapsed to one space
    and dropped next to `( ) , ;`, line endings normalised everywhere."""
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
    """`c2:` + sha256 of `canonical_text`: what the lock and the ledger compare."""
    return CANONICAL_PREFIX + hashlib.sha256(canonical_text(text).encode("utf-8", "surrogatepass")).hexdigest()


def c1_checksum(text: str) -> str:
    """The older `c1:` checksum, for ledgers and locks written before `c2:`."""
    return C1_PREFIX + hashlib.sha256(canonical_text_c1(text).encode("utf-8", "surrogatepass")).hexdigest()


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
