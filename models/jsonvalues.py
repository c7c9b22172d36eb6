"""JSON values that come back exactly as they were read: the batch scorer's pass-through columns.

Read through pandas, a JSONL column of ids with a gap turns into floats (``9007199254740993`` ->
``9007199254740992.0``, ``1`` -> ``1.0``). Here every number keeps its text (:class:`JsonNumber`), a key
that a line does not have stays absent (:data:`ABSENT`), and :func:`to_json` writes both back as they were.
"""

from __future__ import annotations

import base64
import datetime
import decimal
import json
import math
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from .text import first_surrogate


class JsonNumber:
    """A JSON number as its original text (``007`` cannot occur; ``1.50``, ``1e3``, big integers can)."""

    __slots__ = ("raw",)

    def __init__(self, raw: str) -> None:
        self.raw = raw

    def __str__(self) -> str:
        return self.raw

    def __repr__(self) -> str:
        return self.raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonNumber) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def value(self) -> int | float:
        """The number as Python reads it (an exact int when it is one)."""
        try:
            return int(self.raw)
        except ValueError:
            return float(self.raw)


class _Absent:
    """The value of a key that a JSONL line does not have (written back as no key, an empty CSV cell)."""

    def __str__(self) -> str:
        return ""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT = _Absent()


def parse_line(line: str, duplicates: list[str] | None = None) -> Any:
    """``json.loads`` with every number kept as :class:`JsonNumber`; a key that an object holds more than once
    (``json`` keeps its last value) is appended to ``duplicates``."""

    def pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        record = dict(pairs)
        if duplicates is not None and len(record) < len(pairs):
            seen: set[str] = set()
            duplicates.extend(k for k, _ in pairs if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        return record

    return json.loads(
        line, parse_int=JsonNumber, parse_float=JsonNumber, parse_constant=JsonNumber, object_pairs_hook=pairs_hook
    )


def is_missing(value: Any) -> bool:
    """Whether a cell holds no value: absent, null, a pandas NA or a float NaN."""
    return value is None or value is ABSENT or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def plain(value: Any) -> Any:
    """The value as Python reads it: ``None`` when missing, a number for a :class:`JsonNumber`."""
    return None if is_missing(value) else value.value() if isinstance(value, JsonNumber) else value


def json_key(key: Any) -> str:
    """An object key as JSON text."""
    return json.dumps(str(key), ensure_ascii=False)


def to_json(value: Any) -> str:
    """One value as JSON text: numbers as they were read, NaN and NA as ``null``, dates as ISO strings."""
    if isinstance(value, np.ndarray | np.generic):
        value = value.tolist()  # numpy scalars and arrays (Parquet lists) as Python values
    if isinstance(value, JsonNumber):
        return value.raw
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json_key(k)}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(map(to_json, value)) + "]"
    if is_missing(value):
        return "null"
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, bytes):  # Parquet binary: JSON has no bytes, base64 is how JSON carries them
        return json.dumps(base64.b64encode(value).decode("ascii"))
    if isinstance(value, datetime.date | datetime.time):  # pandas Timestamps included
        return json.dumps(value.isoformat())
    return json.dumps(value, ensure_ascii=isinstance(value, str) and not utf8_safe(value), default=str)


def utf8_safe(text: str) -> bool:
    """Whether ``text`` can be written as UTF-8 (JSON may carry lone surrogates such as ``\\ud800``)."""
    return first_surrogate(text) is None


def _writable(value: Any) -> Any:
    """A string made writable as UTF-8 (lone surrogates as ``\\ud800`` text); other values as they are."""
    if isinstance(value, str) and not utf8_safe(value):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def text_cell(value: Any) -> Any:
    """A pass-through value for a CSV cell: numbers as read, nested values as JSON, bytes as base64, absent as
    empty."""
    if value is ABSENT or isinstance(value, JsonNumber):
        return str(value)
    if isinstance(value, dict | list | bytes):
        return to_json(value) if not isinstance(value, bytes) else base64.b64encode(value).decode("ascii")
    return _writable(value)


def arrow_column(values: list[Any]) -> pa.Array:
    """A pass-through column for Parquet: its JSON type when it has one (ints stay exact), else its JSON text."""
    plains = [_writable(plain(v)) for v in values]
    if len({type(v) for v in plains if v is not None}) <= 1:  # one JSON type (1 and 1.0 are two)
        try:
            return pa.array(plains)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):  # ragged nesting, an int beyond 64 bits
            pass
    return pa.array([None if is_missing(v) else _writable(v) if isinstance(v, str) else to_json(v) for v in values])
