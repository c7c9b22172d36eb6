"""The batch scorer behind ``voc score``: a CSV, .xlsx, JSONL or Parquet export in, the same rows with predictions out.

Every input row comes back, in order, with all its columns plus ``language``, one label column per task
(``themes`` a list in JSONL and Parquet, ``|``-joined in CSV), one probability column per label
(``sentiment.negative``, ...), with ``explain`` one evidence column per task (``voc.serving.evidence_columns``),
``truncated`` and ``error`` (empty when the row scored). A row whose text
cannot be scored (missing, not a string, empty, over ``MAX_TEXT_CHARS``; in JSONL a line that is blank, not a
JSON object or holds a key twice) gets a message in ``error`` instead of predictions: output rows always equal
input rows.

Every input column comes back as it was: CSV cells are read as text by Python's csv module (any size; CR, LF,
quotes and NUL inside quoted cells kept; duplicate names kept) and written with CRLF record ends, JSONL values
keep their JSON text (``voc.serving.jsonvalues``: big integers, ``1`` vs ``1.0``, a key a line lacks), Parquet
columns keep their Arrow types (nested and binary ones written to CSV and JSONL as JSON). A JSONL column
written to Parquet keeps its JSON type when it has one, else becomes its JSON text (mixed types, integers
beyond 64 bits).

The input streams in chunks of ``CHUNK_ROWS`` rows or about ``CHUNK_BYTES`` of input, whichever comes first,
so memory does not grow with the file nor with its cells. The output
and its summary are written to temporary files and renamed into place at the end: after Ctrl-C or a
crash there is no file at the output path (``voc.models.atomic``).

Spreadsheets (``voc.serving.formats``): a CSV's delimiter is detected (``,``, ``;``, tab, ``|``) unless given, and
kept in CSV output; .xlsx in and out; CSV and .xlsx output are Excel-safe (no cell runs as a formula) unless
``excel_safe=False``.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from voc.models.atomic import atomic_path
from voc.models.errors import VocError
from voc.models.predictor import Predictor

from .contract import add_evidence, score_texts, text_problem
from .dates import DateOptions
from .evidence_columns import PREFIX, evidence_columns, evidence_types, with_every_label
from .evidence_columns import to_json as evidence_json
from .formats import XlsxWriter, excel_safe, sniff_delimiter, xlsx_chunks, xlsx_columns
from .jsonvalues import ABSENT, arrow_column, json_key, parse_line, plain, text_cell, to_json
from .progress import progress_display
from .summary import Summary, summary_paths
from .summary_render import render_html, render_markdown

FORMATS = {
    ".csv": "csv",
    ".xlsx": "xlsx",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".parquet": "parquet",
    ".pq": "parquet",
}
CHUNK_ROWS = 1024
# Input per chunk, so that memory follows the bytes in flight: 1,024 rows of 1 MB each would be a 1 GB chunk.
CHUNK_BYTES = 16 * 2**20
THEME_SEPARATOR = "|"
# A JSONL line that cannot be read travels to the scorer in this column, which never reaches the output.
_READ_ERROR = "\0read_error"


class ScoreError(VocError, ValueError):
    """The input cannot be scored as a whole; the message says what to fix."""


@dataclass
class ScoreReport:
    """What a scoring run did."""

    rows: int
    errors: int
    seconds: float
    output: Path
    summaries: tuple[Path, Path]
    # The CLI's counts of truncated rows and unreadable dates (keyword-only: subclasses add positional fields).
    summary: Summary | None = field(default=None, kw_only=True)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def file_format(path: Path) -> str:
    """``csv``, ``jsonl`` or ``parquet``, from the file name's extension."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ScoreError(f"{path}: unknown extension {path.suffix!r}; use one of {', '.join(FORMATS)}") from None


def _reading(encoding: str) -> str:
    """UTF-8 input may start with a byte-order mark (Excel writes one, and so does ``voc score``): skip it."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def read_chunks(
    path: Path,
    chunk_rows: int = CHUNK_ROWS,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[pd.DataFrame]:
    """The rows of ``path`` as DataFrames of at most ``chunk_rows`` rows and about ``chunk_bytes`` of input
    (at least one row a chunk; at least one chunk, maybe empty); ``delimiter``: a CSV's (``None``:
    ``voc.serving.formats.sniff_delimiter``)."""
    fmt, encoding = file_format(path), _reading(encoding)
    if fmt == "xlsx":
        yield from xlsx_chunks(path, chunk_rows, chunk_bytes)
    elif fmt == "csv":
        try:
            sep = delimiter or sniff_delimiter(path, encoding)
            yield from _csv_chunks(path, chunk_rows, encoding, chunk_bytes, sep)
        except UnicodeDecodeError as e:
            raise ScoreError(decode_problem(path, encoding, e)) from None
    elif fmt == "jsonl":
        try:
            yield from _jsonl_chunks(path, chunk_rows, encoding, chunk_bytes)
        except UnicodeDecodeError as e:
            raise ScoreError(decode_problem(path, encoding, e)) from None
    else:
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise ScoreError(f"{path}: not a readable Parquet file ({e}); export it again") from None
        batches = parquet.iter_batches(batch_size=_parquet_batch_rows(parquet, chunk_rows, chunk_bytes))
        first = next(batches, None)
        # Arrow types kept (pd.ArrowDtype): an int column with nulls stays int, not float.
        yield (first or parquet.schema_arrow.empty_table()).to_pandas(types_mapper=pd.ArrowDtype)
        for batch in batches:
            yield batch.to_pandas(types_mapper=pd.ArrowDtype)


def _parquet_batch_rows(parquet: pq.ParquetFile, chunk_rows: int, chunk_bytes: int) -> int:
    """Rows per chunk so that the largest row group's rows, at their average size, fill about ``chunk_bytes``."""
    meta = parquet.metadata
    per_row = max(
        (meta.row_group(i).total_byte_size / max(meta.row_group(i).num_rows, 1) for i in range(meta.num_row_groups)),
        default=0,
    )
    return max(1, min(chunk_rows, int(chunk_bytes // per_row) if per_row else chunk_rows))


def _csv_reader(f: Iterable[str], delimiter: str) -> Iterator[list[str]]:
    """Python's csv reader for any field size (a cell may hold a whole e-mail thread) and strict about quotes
    (an unclosed quote is an error, not a cell that runs to the end of the file)."""
    csv.field_size_limit(sys.maxsize)
    return csv.reader(f, delimiter=delimiter, strict=True)


def _csv_chunks(path: Path, chunk_rows: int, encoding: str, chunk_bytes: int, delimiter: str) -> Iterator[pd.DataFrame]:
    """CSV records as DataFrames of text, read by Python's csv module: CR, LF, quotes and NUL inside quoted
    cells stay in them, no field is too large, and the header's names stay exactly as written (duplicates
    too: pandas would rename them ``x.1``). Blank lines are skipped (they hold no record); a record with
    fewer fields than the header gets missing cells, one with more is an error."""
    with open(path, encoding=encoding, newline="") as f:
        records = _csv_reader(f, delimiter)
        try:
            header = next(records, None)
            if header is None:
                raise ScoreError(f"{path}: the file is empty; a CSV needs a header row")
            rows: list[list[str | None]] = []
            size, sent = 0, False
            for record in records:
                if not record:
                    continue
                if len(record) > len(header):
                    raise ScoreError(
                        f"{path}: malformed CSV: the record ending on line {records.line_num} has {len(record)} "
                        f"fields, the header {len(header)}; quote fields that hold the delimiter"
                    )
                rows.append(record + [None] * (len(header) - len(record)))
                size += sum(map(len, record))
                if len(rows) >= chunk_rows or size >= chunk_bytes:
                    yield _text_frame(rows, header)
                    rows, size, sent = [], 0, True
            if rows or not sent:
                yield _text_frame(rows, header)
        except csv.Error as e:
            raise ScoreError(f"{path}: malformed CSV (line {records.line_num}: {e}); check its quotes") from None


def _text_frame(rows: list[list[str | None]], header: list[str]) -> pd.DataFrame:
    """Rows of text cells under ``header``, names kept as they are (duplicates included)."""
    frame = pd.DataFrame(rows, columns=range(len(header)), dtype=object)
    frame.columns = header
    return frame


def decode_problem(path: Path, encoding: str, error: UnicodeDecodeError) -> str:
    """What to do when ``path`` is not ``encoding`` text, naming the first bad byte."""
    bad = error.object[error.start : error.start + 1].hex()
    hint = "add --encoding cp949 if it is Korean Windows text (Excel), or re-save it as UTF-8"
    if codecs.lookup(encoding).name != "utf-8":
        hint = "give its real encoding with --encoding, or re-save it as UTF-8"
    return f"{path}: not {encoding} text (byte 0x{bad} in a block starting near byte {error.start}); {hint}"


def _jsonl_chunks(path: Path, chunk_rows: int, encoding: str, chunk_bytes: int) -> Iterator[pd.DataFrame]:
    """JSONL rows under the union of all lines' keys (one cheap pass finds it); bad lines become error rows.
    A chunk holds at most ``chunk_rows`` rows and about ``chunk_bytes`` of lines."""
    columns: dict[str, None] = {}
    for record, _, _ in _jsonl_records(path, encoding):
        columns.update(dict.fromkeys(record))
    names = list(columns)
    rows: list[dict[str, Any]] = []
    size = 0
    for record, error, length in _jsonl_records(path, encoding):
        rows.append({**record, _READ_ERROR: error})
        size += length
        if len(rows) == chunk_rows or size >= chunk_bytes:
            yield _object_frame(rows, [*names, _READ_ERROR])
            rows, size = [], 0
    if rows or not names:
        yield _object_frame(rows, [*names, _READ_ERROR])


def _object_frame(rows: list[dict[str, Any]], names: list[str]) -> pd.DataFrame:
    """The rows as object columns, values untouched (no type inference), ABSENT where a row lacks a key."""
    return pd.DataFrame({name: pd.Series([row.get(name, ABSENT) for row in rows], dtype=object) for name in names})


def _jsonl_records(path: Path, encoding: str) -> Iterator[tuple[dict[str, Any], str | None, int]]:
    """``(record, None, size)`` per JSON-object line, ``(record, message, size)`` per line that cannot be
    scored as it is: a blank line, one that is not a JSON object (record ``{}``), one with a key twice (its
    record as ``json`` reads it, the last value kept, and not scored). Every line is a row: none is dropped."""
    with open(path, encoding=_reading(encoding)) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                yield {}, f"line {line_no} is blank: remove it or give the row its JSON object", len(line)
                continue
            twice: list[str] = []
            try:
                record = parse_line(line, twice)
            except json.JSONDecodeError as e:
                yield {}, f"line {line_no} is not valid JSON ({e.msg})", len(line)
                continue
            if isinstance(record, dict) and twice:
                keys = ", ".join(map(repr, dict.fromkeys(twice)))
                yield (
                    record,
                    f"line {line_no} has the key {keys} more than once (the last value was read): keep one",
                    len(line),
                )
            elif isinstance(record, dict):
                yield record, None, len(line)
            else:
                yield {}, f"line {line_no} is a JSON {type(record).__name__}, not an object", len(line)


def inspect_input(path: Path, encoding: str = "utf-8", delimiter: str | None = None) -> tuple[list[str], int]:
    """The column names and row count of ``path`` without scoring it: Parquet's footer, one pass over
    JSONL (the union of the lines' keys, as ``read_chunks`` reads it), over CSV records (Python's csv) or
    over the .xlsx worksheet."""
    fmt = file_format(path)
    if fmt == "xlsx":
        return xlsx_columns(path)
    if fmt == "parquet":
        parquet = pq.ParquetFile(path)
        return parquet.schema_arrow.names, parquet.metadata.num_rows
    if fmt == "jsonl":
        columns: dict[str, None] = {}
        rows = 0
        for record, _, _ in _jsonl_records(path, encoding):
            columns.update(dict.fromkeys(record))
            rows += 1
        return list(columns), rows
    delimiter = delimiter or sniff_delimiter(path, _reading(encoding))
    with open(path, encoding=_reading(encoding), newline="") as f:
        records = _csv_reader(f, delimiter)
        try:
            header = next(records, None)
            if header is None:
                raise ScoreError(f"{path}: the file is empty; a CSV needs a header row")
            return header, sum(1 for record in records if record)  # blank lines hold no record
        except csv.Error as e:
            raise ScoreError(f"{path}: malformed CSV (line {records.line_num}: {e}); check its quotes") from None


def check_input(
    path: Path,
    encoding: str = "utf-8",
    out_fmt: str | None = None,
    delimiter: str | None = None,
    **columns: str | None,
) -> int:
    """Fail before any model loads when a named column is missing (naming the columns found) or named twice,
    or when ``out_fmt`` cannot hold the input's columns; the row count.

    ``columns``: role -> column name, e.g. ``text="review", id=None`` (``None``: not asked for). Duplicate
    column names are kept as they are in CSV and .xlsx output; JSONL and Parquet cannot hold them.
    ``delimiter``: a CSV's (``None``: detected).
    """
    path = Path(path)
    if not path.is_file():
        raise ScoreError(f"{path}: no such file")
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ScoreError(f"unknown encoding {encoding!r}: use e.g. utf-8, cp949 or euc-kr") from None
    try:
        found, rows = inspect_input(path, encoding, delimiter)
    except UnicodeDecodeError as e:
        raise ScoreError(decode_problem(path, encoding, e)) from None
    except (pa.ArrowInvalid, OSError) as e:
        raise ScoreError(f"{path}: not a readable Parquet file ({e}); export it again") from None
    if file_format(path) == "jsonl" and not found and rows:
        raise ScoreError(f"{path}: no line holds a JSON object with fields{_array_hint(path, encoding)}")
    for role, name in columns.items():
        if name is not None and name not in found:
            raise ScoreError(f"{path}: no {role} column {name!r}; columns found: {', '.join(map(str, found))}")
        if name is not None and found.count(name) > 1:
            where = ", ".join(str(i + 1) for i, c in enumerate(found) if c == name)
            raise ScoreError(f"{path}: columns {where} are all named {name!r}; rename all but the {role} column")
    if out_fmt in ("jsonl", "parquet") and (twice := sorted({c for c in found if found.count(c) > 1}, key=str)):
        raise ScoreError(
            f"{path}: more than one column is named {', '.join(map(repr, twice))}; {out_fmt} output cannot hold "
            "two columns of one name: write .csv (it keeps them as they are) or rename them"
        )
    return rows


def _array_hint(path: Path, encoding: str) -> str:
    """For a file that holds one JSON array instead of one object per line: how to fix it."""
    with open(path, encoding=_reading(encoding)) as f:
        start = f.read(4096).lstrip()
    if start.startswith("["):
        return " (it holds a JSON array): write one JSON object per line, e.g. with jq -c '.[]'"
    return ": write one JSON object per line"


def added_columns(predictor: Predictor, explain: bool = False) -> list[str]:
    """The columns the scorer appends, in order."""
    tasks = predictor.schema.tasks
    probs = [f"{t.name}.{label}" for t in tasks for label in t.labels]
    evidence = evidence_columns(predictor.schema) if explain else []
    return ["language", *[t.name for t in tasks], *probs, *evidence, "truncated", "error"]


def added_types(predictor: Predictor) -> dict[str, pa.DataType]:
    """Arrow types of the added columns (for Parquet output)."""
    types = {name: pa.float64() for name in added_columns(predictor)}
    types.update({"language": pa.string(), "truncated": pa.bool_(), "error": pa.string()})
    types.update(evidence_types(predictor.schema))
    for task in predictor.schema.tasks:
        types[task.name] = pa.list_(pa.string()) if task.multi else pa.string()
    return types


def score_frame(
    predictor: Predictor,
    frame: pd.DataFrame,
    text_column: str,
    progress: Callable[[int], object] = lambda n: None,
    explain: bool = False,
) -> pd.DataFrame:
    """``frame`` (RangeIndex) with the predictions appended; rows that cannot be scored get ``error`` instead.

    ``progress(n)`` is called as rows are done: once per forward batch and once for the error rows.
    ``explain``: add the ``evidence.<task>`` columns (``voc.models.evidence``).
    """
    read_errors = frame.pop(_READ_ERROR).tolist() if _READ_ERROR in frame else [None] * len(frame)
    texts = [plain(t) for t in frame[text_column].tolist()]
    errors = [e if isinstance(e, str) else text_problem(text) for e, text in zip(read_errors, texts)]
    ok = [i for i, error in enumerate(errors) if error is None]
    progress(len(frame) - len(ok))
    explaining = explain and bool(ok)  # then a row is done once explained, by far the longer part
    results = score_in_batches(predictor, [texts[i] for i in ok], (lambda n: None) if explaining else progress)
    if explaining:
        results = add_evidence(predictor, [texts[i] for i in ok], results, progress=progress)
    added: dict[str, list[Any]] = {name: [None] * len(frame) for name in added_columns(predictor, explain)}
    added["error"] = errors
    for i, result in zip(ok, results):
        added["language"][i] = result["language"]
        added["truncated"][i] = result["truncated"]
        for task in predictor.schema.tasks:
            head = result[task.name]
            added[task.name][i] = head["labels"] if task.multi else head["label"]
            for label, p in head["scores"].items():
                added[f"{task.name}.{label}"][i] = p
            if explain:
                added[PREFIX + task.name][i] = result["evidence"][task.name]
    for task in predictor.schema.tasks:
        for label in task.labels:
            added[f"{task.name}.{label}"] = np.array(added[f"{task.name}.{label}"], dtype=float)
    return pd.concat([frame, pd.DataFrame(added, index=frame.index)], axis=1)


def score_in_batches(predictor: Predictor, texts: list[str], progress: Callable[[int], object]) -> list[dict]:
    """``score_texts`` one forward batch at a time, reporting each to ``progress``.

    The texts are sorted by length first, as the predictor sorts them, so the batches and their padding
    (and so the scores) are the ones a single call would give.
    """
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    results: list[dict] = [{}] * len(texts)
    for start in range(0, len(order), predictor.batch_size):
        idx = order[start : start + predictor.batch_size]
        for i, result in zip(idx, score_texts(predictor, [texts[i] for i in idx])):
            results[i] = result
        progress(len(idx))
    return results


class ChunkWriter:
    """Appends scored chunks to one CSV, .xlsx, JSONL or Parquet file; a CSV starts with a UTF-8 byte-order mark
    when ``bom`` is set, so that Excel reads Korean text as UTF-8, and is separated by ``delimiter``.
    ``excel_safe``: CSV and .xlsx text cells that Excel would run as formulas are kept text
    (``voc.serving.formats``)."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        predictor: Predictor,
        bom: bool = True,
        excel_safe: bool = True,
        delimiter: str = ",",
    ) -> None:
        self.path, self.fmt = path, fmt
        self.excel_safe, self.delimiter = excel_safe, delimiter
        self.xlsx = XlsxWriter(path, excel_safe) if fmt == "xlsx" else None
        self.multi_columns = [t.name for t in predictor.schema.tasks if t.multi]
        self.schema = predictor.schema
        self.evidence = evidence_columns(predictor.schema)
        self.types = added_types(predictor)
        self.parquet: pq.ParquetWriter | None = None
        encoding = "utf-8-sig" if fmt == "csv" and bom else "utf-8"
        # backslashreplace: a JSONL value may hold a lone surrogate, which UTF-8 cannot encode
        self.text = (
            open(path, "w", encoding=encoding, errors="backslashreplace", newline="")
            if fmt in ("csv", "jsonl")
            else None
        )
        self.header = True

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt in ("csv", "xlsx"):
            frame = frame.assign(**{c: frame[c].map(_join_labels) for c in self.multi_columns})
            frame = frame.assign(**{c: frame[c].map(evidence_json) for c in self.evidence if c in frame})
            frame = self._text_cells(frame)
        if self.fmt == "xlsx":
            self.xlsx.append(frame, self.header)
        elif self.fmt == "csv":
            if self.excel_safe:
                frame = _excel_safe_cells(frame)
            # CRLF ends a record, as RFC 4180 and Excel have it: the csv module then quotes every cell that holds
            # a CR or LF of its own (with LF alone, a bare CR was written unquoted and split the row on reading).
            frame.to_csv(self.text, header=self.header, index=False, sep=self.delimiter, lineterminator="\r\n")
        elif self.fmt == "jsonl":
            self._write_jsonl(python_values(frame, self.types))
        else:
            self._write_parquet(frame)
        self.header = False

    def _passed_objects(self, frame: pd.DataFrame) -> list[str]:
        """Input columns of Python objects (JSONL values), which need converting for CSV and Parquet."""
        return [c for c in frame.columns if c not in self.types and frame[c].dtype == object]

    def _text_cells(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with every input column of Python objects or nested Arrow values as CSV cells (``text_cell``),
        column by position: a CSV may have two columns of one name."""
        frame = python_values(frame, self.types)
        for i, name in enumerate(frame.columns):
            if name not in self.types and pd.api.types.is_object_dtype(frame.dtypes.iloc[i]):
                frame.isetitem(i, frame.iloc[:, i].map(text_cell))
        return frame

    def _write_jsonl(self, frame: pd.DataFrame) -> None:
        """One JSON object per row; input values as they were read, keys a line lacked left out."""
        names = [json_key(c) for c in frame.columns]
        lines = [
            "{" + ", ".join(f"{k}: {to_json(v)}" for k, v in zip(names, row) if v is not ABSENT) + "}\n"
            for row in frame.itertuples(index=False, name=None)
        ]
        self.text.write("".join(lines))

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        frame = with_every_label(frame, self.schema)
        objects = self._passed_objects(frame)
        arrays = [
            arrow_column(frame[c].tolist())
            if c in objects
            else pa.array(frame[c].tolist(), type=self.types[c])
            if c in self.evidence
            else pa.array(frame[c])
            for c in frame.columns
        ]
        table = pa.Table.from_arrays(arrays, names=[str(c) for c in frame.columns])
        if self.parquet is None:
            # The added columns have fixed types; a JSONL column with only nulls in the first chunk is text (a
            # Parquet input's null-typed column stays null-typed).
            fields = [
                pa.field(
                    f.name,
                    self.types.get(f.name, pa.string() if pa.types.is_null(f.type) and f.name in objects else f.type),
                )
                for f in table.schema
            ]
            self.parquet = pq.ParquetWriter(self.path, pa.schema(fields))
        try:
            table = table.cast(self.parquet.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise ScoreError(f"a column changes type part-way through the input ({e}); give it one type") from None
        self.parquet.write_table(table)

    def close(self) -> None:
        if self.xlsx is not None:
            self.xlsx.close()
        if self.text is not None:
            self.text.close()
        if self.parquet is not None:
            self.parquet.close()


def _excel_safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that Excel would run as a formula made safe (``voc.serving.formats.excel_safe``),
    in the columns that may hold text (object or string dtype); by position: a CSV may have two of one name."""
    frame = frame.copy()
    for i, dtype in enumerate(frame.dtypes):
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            frame.isetitem(i, frame.iloc[:, i].map(excel_safe))
    return frame


def python_values(frame: pd.DataFrame, added: dict[str, Any]) -> pd.DataFrame:
    """``frame`` with its nested or binary Arrow input columns (Parquet lists, structs, maps, bytes) as Python
    values (lists, dicts, bytes; ``None`` for null), so that CSV and JSONL write them as JSON, not as numpy
    reprs (``['a' 'b']``, an int as ``1.0``). Columns by position: a CSV may have two columns of one name."""
    nested = [
        i
        for i, (name, dtype) in enumerate(zip(frame.columns, frame.dtypes))
        if name not in added and isinstance(dtype, pd.ArrowDtype) and _nested(dtype.pyarrow_dtype)
    ]
    if not nested:
        return frame
    frame = frame.copy()
    for i in nested:
        column = frame.iloc[:, i]
        frame.isetitem(i, pd.Series(pa.array(column).to_pylist(), index=frame.index, dtype=object))
    return frame


def _nested(kind: pa.DataType) -> bool:
    return pa.types.is_nested(kind) or pa.types.is_binary(kind) or pa.types.is_large_binary(kind)


def _join_labels(labels: list[str] | None) -> str | None:
    return None if labels is None else THEME_SEPARATOR.join(labels)


def score_file(
    predictor: Predictor,
    source: Path,
    output: Path,
    text_column: str,
    id_column: str | None = None,
    chunk_rows: int = CHUNK_ROWS,
    encoding: str = "utf-8",
    progress: bool | None = None,
    date_column: str | None = None,
    group_column: str | None = None,
    bom: bool = True,
    explain: bool = False,
    delimiter: str | None = None,
    excel_safe: bool = True,
    date_options: DateOptions | None = None,
) -> ScoreReport:
    """Score every row of ``source`` into ``output`` (format from each extension) and write the summary beside it.

    ``progress``: show a progress bar (``None``: only on a terminal; with ``explain``, elsewhere a line on
    stderr every 30 s). ``date_column`` / ``group_column``: the summary's trend and breakdown;
    ``date_options``: how to read the dates (``voc.serving.dates``). ``bom``: start a CSV output with a UTF-8
    byte-order mark (for Excel). ``explain``: add the evidence columns. ``delimiter``: a CSV input's
    (``None``: detected); a CSV output uses the same. ``excel_safe``: see ``ChunkWriter``.
    """
    source, output = Path(source), Path(output)
    out_fmt = file_format(output)
    columns = {"text": text_column, "id": id_column, "date": date_column, "group-by": group_column}
    if file_format(source) == "csv" and delimiter is None and source.is_file():
        try:
            delimiter = sniff_delimiter(source, _reading(encoding))
        except (UnicodeDecodeError, LookupError):
            pass  # check_input says what is wrong with the encoding
    total = check_input(source, encoding, out_fmt, delimiter, **columns)
    if output.resolve() == source.resolve():
        raise ScoreError(f"{output}: the output would replace the input; choose another output path")
    started = time.perf_counter()
    md_path, html_path = summary_paths(output)
    with ExitStack() as stack:
        try:
            tmp_out, tmp_md, tmp_html = (stack.enter_context(atomic_path(p)) for p in (output, md_path, html_path))
        except OSError as e:
            raise ScoreError(unwritable(output, e)) from None
        writer = ChunkWriter(tmp_out, out_fmt, predictor, bom=bom, excel_safe=excel_safe, delimiter=delimiter or ",")
        stack.callback(writer.close)  # runs before the renames: the ExitStack unwinds in reverse
        bar = stack.enter_context(progress_display(total, source.name, progress, explain))
        chunks = read_chunks(source, chunk_rows, encoding, delimiter)
        summary = score_chunks(
            predictor,
            chunks,
            writer,
            source,
            text_column,
            id_column,
            date_column,
            group_column,
            bar.update,
            explain,
            date_options,
        )
        write_summaries(summary, source.name, tmp_md, tmp_html)
    seconds = time.perf_counter() - started
    return ScoreReport(summary.rows, summary.errors, seconds, output, (md_path, html_path), summary=summary)


def unwritable(output: Path, error: OSError) -> str:
    """What to do when nothing can be written at ``output`` (a folder without write permission, a file where
    a folder should be, a read-only disk)."""
    return f"{output}: cannot write there ({error.strerror or error}): choose an --output in a folder you can write to"


def check_output(output: Path) -> None:
    """Fail before any model loads when ``output``'s folder cannot be made or written to."""
    output = Path(output)
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".probe", dir=output.parent)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ScoreError(unwritable(Path(output), e)) from None


def score_chunks(
    predictor: Predictor,
    chunks: Iterable[pd.DataFrame],
    writer: ChunkWriter,
    source: Path,
    text_column: str,
    id_column: str | None = None,
    date_column: str | None = None,
    group_column: str | None = None,
    progress: Callable[[int], object] = lambda n: None,
    explain: bool = False,
    date_options: DateOptions | None = None,
) -> Summary:
    """Score ``chunks`` (one file's, in order, its columns already checked by ``check_input``) into ``writer``;
    the summary of them, with their row and error counts. ``progress(n)`` and ``explain`` as in ``score_frame``.
    The loop of ``voc score``, also run per shard by ``voc.serving.distributed``."""
    summary = Summary.for_predictor(
        predictor,
        text_column=text_column,
        id_column=id_column,
        date_column=date_column,
        group_column=group_column,
        date_options=date_options or DateOptions(),
    )
    for n, chunk in enumerate(chunks):
        if n == 0:
            check_added_columns(predictor, chunk, source, explain)
        scored = score_frame(predictor, chunk.reset_index(drop=True), text_column, progress, explain)
        summary.update(scored, summary.rows)
        writer.write(scored)
    return summary


def write_summaries(summary: Summary, title: str, md_path: Path, html_path: Path) -> None:
    """The summary as Markdown and HTML."""
    # backslashreplace: a JSONL value may hold a lone surrogate, which UTF-8 cannot encode
    md_path.write_text(render_markdown(summary, title), encoding="utf-8", errors="backslashreplace")
    html_path.write_text(render_html(summary, title), encoding="utf-8", errors="backslashreplace")


def check_added_columns(predictor: Predictor, chunk: pd.DataFrame, source: Path, explain: bool = False) -> None:
    """Fail early when the input already has a column the scorer adds (it was scored before)."""
    found = [c for c in chunk.columns if c != _READ_ERROR]
    clash = [c for c in added_columns(predictor, explain) if c in found]
    if clash:
        raise ScoreError(f"{source}: already has the output columns {', '.join(clash)}; rename them or drop them")
