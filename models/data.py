"""Labelled files (JSONL, CSV or Parquet), every row checked against the schema.

A row needs ``text`` and may carry any subset of the schema's tasks (a public sentiment corpus has no
themes); a task it does not carry is ``None`` and its loss term is masked in training. A bad row stops
the load with an error naming the file, the line or row, and the column: nothing is dropped silently.

Formats, by extension: ``.jsonl``/``.ndjson`` (one JSON object a line; a multi-label task is a JSON
list), ``.csv`` and ``.xlsx`` (UTF-8 with a header, its delimiter detected; an empty cell means "not
labelled", a multi-label cell is ``|``-joined, ``speed|trust``, or a JSON list, ``["speed", "trust"]``;
``[]`` means "labelled: none") and ``.parquet`` (a multi-label column is a list of strings or a string as in
CSV). Tables are read by the one table reader, ``voc.models.tables``, with its one label separator.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from .errors import VocError
from .schema import LabelSchema


class DataError(VocError, ValueError):
    """A data file is missing or has a bad row; the message names the file and line."""


def check_row(row: object, schema: LabelSchema, where: str, allow_empty: bool = False) -> dict:
    """Validate one parsed row and return it reduced to id, text, lang and the schema's tasks.

    ``allow_empty`` admits empty text, for benchmark files that keep such rows for comparability.
    """
    if not isinstance(row, dict):
        raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}")
    text = row.get("text")
    if not isinstance(text, str):
        raise DataError(f"{where}: missing field 'text'" if text is None else f"{where}: 'text' must be a string")
    if not text.strip() and not allow_empty:
        raise DataError(f"{where}: empty text")
    out = {"id": str(row.get("id", "")), "text": text, "lang": row.get("lang")}
    for task in schema.tasks:
        value = row.get(task.name)
        if value is None:
            out[task.name] = None
        elif task.multi:
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise DataError(f"{where}: '{task.name}' must be a list of labels, got {value!r}")
            unknown = sorted(set(value) - set(task.labels))
            if unknown:
                allowed = list(task.labels)
                raise DataError(f"{where}: unknown {task.name} label(s) {unknown}; labels.yaml allows {allowed}")
            out[task.name] = sorted(set(value), key=task.labels.index)
        else:
            if value not in task.labels:
                raise DataError(f"{where}: unknown {task.name} label {value!r}; labels.yaml allows {list(task.labels)}")
            out[task.name] = value
    if all(out[t] is None for t in schema.names):
        raise DataError(f"{where}: the row carries none of the labels {schema.names}")
    return out


TABULAR = (".csv", ".xlsx", ".parquet", ".pq")
FORMATS = (".jsonl", ".ndjson", *TABULAR)


def iter_labelled(path: str | Path, schema: LabelSchema, allow_empty: bool = False) -> Iterator[dict]:
    """Stream validated rows from a JSONL, CSV or Parquet file (JSONL in constant memory)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{path}: unknown extension {path.suffix!r}; labelled files are {', '.join(FORMATS)}")
    if suffix in TABULAR:
        for row_no, row in enumerate(_table_records(path), 1):
            where = f"{path}:row {row_no}"
            yield check_row(_from_table(row, schema, where), schema, where, allow_empty)
        return
    with path.open("rb") as f:
        for line_no, raw in enumerate(f, 1):
            where = f"{path}:{line_no}"
            if not raw.strip():
                raise DataError(f"{where}: blank line (every line must hold one JSON object)")
            try:
                row = json.loads(raw.decode("utf-8"))
            except UnicodeDecodeError as e:
                raise DataError(f"{where}: not valid UTF-8 ({e})") from None
            except json.JSONDecodeError as e:
                raise DataError(f"{where}: bad JSON ({e.msg} at column {e.colno})") from None
            yield check_row(row, schema, where, allow_empty)


def _table_records(path: Path) -> Iterator[dict]:
    """The rows of a CSV (every cell a string, empty cells ``None``) or Parquet file as dicts, read by the one
    table reader (``voc.models.tables``), its errors as DataErrors."""
    from .tables import TableError, read_records

    try:
        for row in read_records(path):
            yield {k: (None if v == "" else v) for k, v in row.items()}
    except TableError as e:
        raise DataError(str(e)) from None


def _from_table(row: dict, schema: LabelSchema, where: str) -> dict:
    """A table row with multi-label cells turned into lists (``|``-joined or a JSON list)."""
    from .tables import split_labels

    out = dict(row)
    for task in schema.tasks:
        value = out.get(task.name)
        if task.multi and isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as e:
                    raise DataError(f"{where}: column '{task.name}' is not a valid JSON list ({e.msg})") from None
            else:
                value = split_labels(text)
        out[task.name] = value
    return out


def count_rows(path: str | Path) -> int:
    """Data rows in a labelled file (lines of a JSONL file; rows of a CSV or Parquet table)."""
    path = Path(path)
    if path.suffix.lower() in TABULAR:
        return sum(1 for _ in _table_records(path))
    with path.open("rb") as f:
        return sum(1 for _ in f)


def load_labelled(paths: str | Path | list, schema: LabelSchema):
    """Read one or more labelled files into a ``datasets.Dataset`` with columns id, text, lang and one per task."""
    from datasets import Dataset, Features, Sequence, Value

    paths = [paths] if isinstance(paths, str | Path) else list(paths)
    rows = [row for p in paths for row in iter_labelled(p, schema)]
    features = {"id": Value("string"), "text": Value("string"), "lang": Value("string")}
    for task in schema.tasks:
        features[task.name] = Sequence(Value("string")) if task.multi else Value("string")
    return Dataset.from_list(rows, features=Features(features))


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with Path(path).open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
