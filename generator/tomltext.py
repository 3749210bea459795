"""Where things are in the manifest's TOML text: tomllib gives values, not positions, so the
lines of tables and keys, of git's conflict markers and of a parse error are found here; and
how a key or a path is spelled back in a message."""

from __future__ import annotations

import re


class Locator:
    """Finds the manifest line of a table or key; tomllib gives values, not positions."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")  # TOML's line breaks only: splitlines() also breaks at U+2028, \f, ...
        self.migration_headers: list[int] = []
        self.table_lines: dict[str, int] = {}
        for number, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            if stripped.startswith("[[") and stripped[2:].split("]", 1)[0].strip() == "migration":
                self.migration_headers.append(number)
            elif stripped.startswith("[") and not stripped.startswith("[["):
                self.table_lines.setdefault(stripped[1:].split("]", 1)[0].strip(), number)

    def key(self, start: int, key: str) -> int:
        """The line of `key = ...` in the table whose header is at `start`, else `start`."""
        pattern = re.compile(rf"^\s*\"?{re.escape(key)}\"?\s*=")
        for number in range(start + 1, len(self.lines) + 1):
            text = self.lines[number - 1].strip()
            if text.startswith("["):
                break
            if pattern.match(text):
                return number
        return start

    def table(self, name: str) -> int:
        return self.table_lines.get(name, 1)

    def migration(self, index: int) -> int:
        if index < len(self.migration_headers):
            return self.migration_headers[index]
        return 1


def conflict_markers(raw: bytes) -> list[int]:
    """The lines of git's `<<<<<<<` / `>>>>>>>` conflict markers."""
    return [number for number, line in enumerate(raw.split(b"\n"), start=1)
            if line.startswith((b"<<<<<<< ", b">>>>>>> ")) or line.rstrip(b"\r") in (b"<<<<<<<", b">>>>>>>")]


def toml_position(exc: Exception) -> tuple[int, int]:
    lineno = getattr(exc, "lineno", None)
    colno = getattr(exc, "colno", None)
    if isinstance(lineno, int) and isinstance(colno, int):
        return lineno, colno
    found = re.search(r"line (\d+), column (\d+)", str(exc))
    return (int(found.group(1)), int(found.group(2))) if found else (1, 1)


def printable(text: str) -> str:
    """`text` with control and other unprintable characters escaped as `repr` does: one
    diagnostic stays one line, and a file name cannot send escape codes to a terminal."""
    return text if text.isprintable() else "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def toml_key(name: str) -> str:
    """A TOML key as the manifest would spell it: bare, or quoted with escapes."""
    if re.fullmatch(r"[A-Za-z0-9_-]+", name):
        return name
    return '"' + printable(name.replace("\\", "\\\\").replace('"', '\\"')) + '"'
