"""The three checksums of a migration: canonical (`c1:`), raw, and CortexPrism's legacy one."""

from __future__ import annotations

import hashlib

CANONICAL_PREFIX = "c1:"
# SQLite's whitespace (sqlite3Isspace). Not str.isspace(): U+00A0, U+2028, U+001C ... are part
# of a name to SQLite, so `x\u00a0INTEGER` is one column name, not a column and its type.
_SPACE = frozenset(" \t\n\v\f\r")
PUNCTUATION = "(),;"


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


def canonical_text(text: str) -> str:
    """The migration's meaning as text: no BOM, no comments, whitespace runs collapsed to one space
    and dropped next to `( ) , ;`.

    String literals and quoted identifiers are kept byte for byte (their content is meaning).
    A comment separates tokens like whitespace does. Written by hand, not with sqlglot, so the
    checksum never changes with the sqlglot version.
    """
    text = normalize_newlines(text.removeprefix("\ufeff"))
    out: list[str] = []
    pending_space = False
    glued = False  # the last token was punctuation: no space follows it
    i, n = 0, len(text)
    closers = {"'": "'", '"': '"', "`": "`", "[": "]"}
    while i < n:
        ch = text[i]
        if ch in _SPACE:
            pending_space = True
            i += 1
        elif ch == "-" and text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
            pending_space = True
        elif ch == "/" and text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            pending_space = True
        elif ch in closers:
            close = closers[ch]
            j = i + 1
            while j < n:
                if text[j] == close:
                    # A doubled quote is an escaped quote, except inside [brackets].
                    if close != "]" and j + 1 < n and text[j + 1] == close:
                        j += 2
                        continue
                    break
                j += 1
            if pending_space and out and not glued:
                out.append(" ")
            pending_space = False
            out.append(text[i : j + 1])
            glued = False
            i = j + 1
        elif ch in PUNCTUATION:
            # Layout around ( ) , ; is not meaning: `t(a, b)` and `t (\n  a,\n  b\n)` are one text.
            out.append(ch)
            pending_space = False
            glued = True
            i += 1
        else:
            if pending_space and out and not glued:
                out.append(" ")
            pending_space = False
            j = i + 1
            while j < n and not (text[j] in _SPACE or text[j] in closers or text[j] in PUNCTUATION
                                 or text.startswith("--", j) or text.startswith("/*", j)):
                j += 1
            out.append(text[i:j])
            glued = False
            i = j
    return "".join(out)


def canonical_checksum(text: str) -> str:
    return CANONICAL_PREFIX + hashlib.sha256(canonical_text(text).encode("utf-8")).hexdigest()


def raw_checksum(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def legacy_checksum(text: str) -> str:
    """CortexPrism's checksum: a Java-style string hash over UTF-16 code units, as `hex(abs(h))`.

    The original read files as text (a BOM is dropped by the decoder), turned CRLF/CR into LF,
    then folded `h = 31*h + unit` into a signed 32-bit integer.
    """
    data = normalize_newlines(text.removeprefix("\ufeff")).encode("utf-16-le")
    h = 0
    for index in range(0, len(data), 2):
        h = (31 * h + (data[index] | data[index + 1] << 8)) & 0xFFFFFFFF
    if h >= 0x80000000:
        h -= 0x100000000
    return format(abs(h), "x")
