"""The Hrana 3 messages: typed values, statements, batch steps with their conditions, and
what the server answers for each (`hrana.py` sends them)."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Value = int | float | str | bytes | None
Row = tuple[Value, ...]
Condition = dict[str, Any]

_INT64 = range(-(2**63), 2**63)


# --- values ----------------------------------------------------------------------------------


def encode_value(value: object) -> dict[str, Any]:
    """One Hrana value; `ValueError` for what SQLite cannot bind (non-finite floats, > 64-bit ints)."""
    if value is None:
        return {"type": "null"}
    if isinstance(value, bool | int):
        number = int(value)
        if number not in _INT64:
            raise ValueError(f"integer out of SQLite's 64-bit range: {number}")
        return {"type": "integer", "value": str(number)}
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"JSON cannot carry the float {value!r}")
        return {"type": "float", "value": value}
    if isinstance(value, str):
        return {"type": "text", "value": value}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "blob", "base64": base64.b64encode(bytes(value)).decode("ascii")}
    raise ValueError(f"cannot bind a value of type {type(value).__name__}")


def decode_value(cell: Any) -> Value:
    """The Python value of one Hrana value from an answer."""
    kind = cell.get("type") if isinstance(cell, dict) else None
    if kind == "null":
        return None
    if kind == "integer":
        return int(cell["value"])
    if kind == "float":
        return float(cell["value"])
    if kind == "text":
        return str(cell["value"])
    if kind == "blob":
        text = str(cell["base64"])
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)  # sqld omits the padding
    raise ValueError(f"unknown Hrana value {cell!r}")


# --- statements, steps and their outcomes ----------------------------------------------------


@dataclass(frozen=True)
class Statement:
    sql: str
    args: Sequence[object] = ()

    def to_json(self) -> dict[str, Any]:
        return {"sql": self.sql, "args": [encode_value(arg) for arg in self.args], "want_rows": True}


@dataclass(frozen=True)
class Step:
    """A statement in a batch; it runs only when `condition` (if any) holds."""

    statement: Statement
    condition: Condition | None = None


def ok(step: int) -> Condition:
    """Holds when step `step` of the same batch ran and succeeded."""
    return {"type": "ok", "step": step}


def error(step: int) -> Condition:
    """Holds when step `step` of the same batch ran and failed."""
    return {"type": "error", "step": step}


def not_(condition: Condition) -> Condition:
    return {"type": "not", "cond": condition}


def all_of(*conditions: Condition) -> Condition:
    return {"type": "and", "conds": list(conditions)}


def any_of(*conditions: Condition) -> Condition:
    return {"type": "or", "conds": list(conditions)}


def is_autocommit() -> Condition:
    """Holds when the stream has no open transaction (Hrana 3)."""
    return {"type": "is_autocommit"}


@dataclass(frozen=True)
class ServerError:
    """An error the server reports for one request or step: SQLite's or sqld's."""

    message: str
    code: str | None


@dataclass(frozen=True)
class StatementResult:
    columns: tuple[str, ...]
    rows: list[Row]
    affected_row_count: int
    last_insert_rowid: int | None


@dataclass(frozen=True)
class StepOutcome:
    """What happened to one step: a result, an error, or neither (its condition did not hold)."""

    result: StatementResult | None
    error: ServerError | None

    @property
    def skipped(self) -> bool:
        return self.result is None and self.error is None


@dataclass(frozen=True)
class BatchAnswer:
    steps: list[StepOutcome]
    autocommit: bool  # the stream's state after the batch: False while a transaction is open
