"""TOML, written by hand: the strategies make structures that tomllib and the manifest then judge."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any


def toml_string(text: str) -> str:
    escapes = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
    return '"' + "".join(escapes.get(c, f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
                         for c in text) + '"'


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and abs(value) == float("inf"):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def toml_document(data: Mapping[str, Any]) -> str:
    """Tables as [headers] two levels deep, arrays of tables as [[headers]], the rest inline."""
    lines: list[str] = []

    def table(prefix: list[str], body: Mapping[str, Any], depth: int) -> None:
        def is_table(value: Any) -> bool:
            return isinstance(value, dict) and depth < 2

        def is_tables(value: Any) -> bool:
            return isinstance(value, list) and bool(value) and all(isinstance(i, dict) for i in value) and depth < 1

        for key, value in body.items():
            if not is_table(value) and not is_tables(value):
                lines.append(f"{toml_key(key)} = {toml_value(value)}")
        for key, value in body.items():
            name = ".".join(toml_key(k) for k in [*prefix, key])
            if is_table(value):
                lines.extend(["", f"[{name}]"])
                table([*prefix, key], value, depth + 1)
            elif is_tables(value):
                for item in value:
                    lines.extend(["", f"[[{name}]]"])
                    table([*prefix, key], item, depth + 1)

    table([], data, 0)
    return "\n".join(lines) + "\n"

