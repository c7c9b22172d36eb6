"""One reader and writer of tables: CSV, .xlsx, JSONL and Parquet files in and out, for ``voc score``
(``voc.batch``), the training data reader (``voc.models.data``) and the research tools' outputs.

One separator, :data:`SEPARATOR`, joins a multi-label cell (``speed|trust``) in every CSV and .xlsx written
and splits it in every one read. pandas and pyarrow are imported here at the top: the HTTP service never
imports this module.

Reading (:func:`read_chunks`): CSV cells are read as text by Python's csv module (any size; CR, LF, quotes and
NUL inside quoted cells kept; duplicate names kept; the delimiter detected, ``voc.models.spreadsheets``), JSONL
values keep their JSON text (``voc.models.jsonvalues``: big integers, ``1`` vs ``1.0``, a key a line lacks),
Parquet columns keep their Arrow types. A file streams in chunks of ``CHUNK_ROWS`` rows or about
``CHUNK_BYTES`` of input, whichever comes first, so memory does not grow with the file nor with its cells.

Writing (:class:`TableWriter`): CSV with CRLF record ends (and a UTF-8 byte-order mark for Excel, unless
``bom=False``), JSONL values as they were read, Parquet with fixed types for the columns the caller adds;
nested and binary values written to CSV and JSONL as JSON. CSV and .xlsx output are Excel-safe (no cell runs
as a formula) unless ``excel_safe=False``.
"""

from __future__ import annotations

import codecs
import csv
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .errors import VocError
from .jsonvalues import ABSENT, arrow_column, json_key, parse_line, text_cell, to_json
from .spreadsheets import XlsxWriter, excel_safe, sniff_delimiter, xlsx_chunks, xlsx_columns

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
SEPARATOR = "|"  # joins the labels of a multi-label cell in CSV and .xlsx, in and out
NO_LABELS = "[]"  # a multi-label cell that says "labelled: none" where an empty cell means "not labelled"
# A JSONL line that cannot be read travels to the scorer in this column, which never reaches the output.
READ_ERROR = "\0read_error"


class TableError(VocError, ValueError):
    """A table that cannot be read or written as asked; the message says what to fix."""


def reading_encoding(encoding: str) -> str:
    """UTF-8 input may start with a byte-order mark (Excel writes one, and so does ``voc score``): skip it."""
    return "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding


def file_format(path: Path) -> str:
    """``csv``, ``jsonl`` or ``parquet``, from the file name's extension."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise TableError(f"{path}: unknown extension {path.suffix!r}; use one of {', '.join(FORMATS)}") from None


def read_chunks(
    path: Path,
    chunk_rows: int = CHUNK_ROWS,
    encoding: str = "utf-8",
    delimiter: str | None = None,
    chunk_bytes: int = CHUNK_BYTES,
) -> Iterator[pd.DataFrame]:
    """The rows of ``path`` as DataFrames of at most ``chunk_rows`` rows and about ``chunk_bytes`` of input
    (at least one row a chunk; at least one chunk, maybe empty); ``delimiter``: a CSV's (``None``:
    ``voc.models.spreadsheets.sniff_delimiter``)."""
    fmt, reading = file_format(path), reading_encoding(encoding)  # ``encoding`` as given names it in messages
    if fmt == "xlsx":
        yield from xlsx_chunks(path, chunk_rows, chunk_bytes)
    elif fmt == "csv":
        try:
            sep = delimiter or sniff_delimiter(path, reading)
            yield from _csv_chunks(path, chunk_rows, reading, chunk_bytes, sep)
        except UnicodeDecodeError as e:
            raise TableError(decode_problem(path, encoding, e)) from None
    elif fmt == "jsonl":
        try:
            yield from _jsonl_chunks(path, chunk_rows, encoding, chunk_bytes)
        except UnicodeDecodeError as e:
            raise TableError(decode_problem(path, encoding, e)) from None
    else:
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise TableError(f"{path}: not a readable Parquet file ({e}); export it again") from None
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
                raise TableError(f"{path}: the file is empty; a CSV needs a header row")
            rows: list[list[str | None]] = []
            size, sent = 0, False
            for record in records:
                if not record:
                    continue
                if len(record) > len(header):
                    raise TableError(
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
            raise TableError(f"{path}: malformed CSV (line {records.line_num}: {e}); check its quotes") from None


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
        rows.append({**record, READ_ERROR: error})
        size += length
        if len(rows) == chunk_rows or size >= chunk_bytes:
            yield _object_frame(rows, [*names, READ_ERROR])
            rows, size = [], 0
    if rows or not names:
        yield _object_frame(rows, [*names, READ_ERROR])


def _object_frame(rows: list[dict[str, Any]], names: list[str]) -> pd.DataFrame:
    """The rows as object columns, values untouched (no type inference), ABSENT where a row lacks a key."""
    return pd.DataFrame({name: pd.Series([row.get(name, ABSENT) for row in rows], dtype=object) for name in names})


def _jsonl_records(path: Path, encoding: str) -> Iterator[tuple[dict[str, Any], str | None, int]]:
    """``(record, None, size)`` per JSON-object line, ``(record, message, size)`` per line that cannot be
    scored as it is: a blank line, one that is not a JSON object (record ``{}``), one with a key twice (its
    record as ``json`` reads it, the last value kept, and not scored). Every line is a row: none is dropped."""
    with open(path, encoding=reading_encoding(encoding)) as f:
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
    delimiter = delimiter or sniff_delimiter(path, reading_encoding(encoding))
    with open(path, encoding=reading_encoding(encoding), newline="") as f:
        records = _csv_reader(f, delimiter)
        try:
            header = next(records, None)
            if header is None:
                raise TableError(f"{path}: the file is empty; a CSV needs a header row")
            return header, sum(1 for record in records if record)  # blank lines hold no record
        except csv.Error as e:
            raise TableError(f"{path}: malformed CSV (line {records.line_num}: {e}); check its quotes") from None


def read_records(path: Path, encoding: str = "utf-8") -> Iterator[dict[str, Any]]:
    """The rows of a CSV, .xlsx or Parquet file as dicts, streamed: CSV cells as text (a missing cell ``None``),
    Parquet values as Python values (lists stay lists). Duplicate column names keep the last."""
    if file_format(path) == "parquet":
        try:
            parquet = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as e:
            raise TableError(f"{path}: not a readable Parquet file ({e}); export it again") from None
        for batch in parquet.iter_batches(batch_size=CHUNK_ROWS):
            yield from batch.to_pylist()
        return
    for chunk in read_chunks(path, encoding=encoding):
        names = [str(c) for c in chunk.columns]
        for values in chunk.itertuples(index=False, name=None):
            yield dict(zip(names, values))


def array_hint(path: Path, encoding: str) -> str:
    """For a file that holds one JSON array instead of one object per line: how to fix it."""
    with open(path, encoding=reading_encoding(encoding)) as f:
        start = f.read(4096).lstrip()
    if start.startswith("["):
        return " (it holds a JSON array): write one JSON object per line, e.g. with jq -c '.[]'"
    return ": write one JSON object per line"


def join_labels(labels: str | Sequence[str] | None, empty: str = "") -> str | None:
    """A multi-label cell for CSV and .xlsx: ``speed|trust``; ``empty`` for no label; a single label as it is."""
    if labels is None or isinstance(labels, str):
        return labels
    return SEPARATOR.join(labels) or empty


def split_labels(cell: str) -> list[str]:
    """The labels of a multi-label cell as :func:`join_labels` writes it (blanks around them dropped)."""
    return [label.strip() for label in cell.split(SEPARATOR) if label.strip()]


def json_cell(value: Any) -> str | None:
    """A nested value (a dict or list the caller added) as a CSV or .xlsx cell: JSON text, empty for none."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


class TableWriter:
    """Appends frames to one CSV, .xlsx, JSONL or Parquet file (``fmt``, as :func:`file_format` names it).

    ``types``: Arrow types of the columns the caller adds (Parquet keeps them; CSV and JSONL write their values
    as they are); ``list_columns``: multi-label columns, joined with :data:`SEPARATOR` in CSV and .xlsx (``empty``
    for no label); ``json_columns``: nested columns, JSON text in CSV and .xlsx, built with their type in
    Parquet. A CSV starts with a UTF-8 byte-order mark when ``bom`` is set, so that Excel reads Korean text as
    UTF-8, and is separated by ``delimiter``. ``excel_safe``: CSV and .xlsx text cells that Excel would run as
    formulas are kept text (``voc.models.spreadsheets``)."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        types: dict[str, pa.DataType] | None = None,
        list_columns: Sequence[str] = (),
        json_columns: Sequence[str] = (),
        empty: str = "",
        bom: bool = True,
        excel_safe: bool = True,
        delimiter: str = ",",
    ) -> None:
        self.path, self.fmt = path, fmt
        self.excel_safe, self.delimiter = excel_safe, delimiter
        self.xlsx = XlsxWriter(path, excel_safe) if fmt == "xlsx" else None
        self.list_columns, self.json_columns, self.empty = list(list_columns), list(json_columns), empty
        self.types = dict(types or {})
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
            frame = frame.assign(**{c: frame[c].map(self._label_cell) for c in self.list_columns})
            frame = frame.assign(**{c: frame[c].map(json_cell) for c in self.json_columns if c in frame})
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

    def _label_cell(self, labels: str | Sequence[str] | None) -> str | None:
        return join_labels(labels, self.empty)

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
        objects = self._passed_objects(frame)
        arrays = [
            arrow_column(frame[c].tolist())
            if c in objects
            else pa.array(frame[c].tolist(), type=self.types[c])
            if c in self.json_columns
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
            raise TableError(f"a column changes type part-way through the input ({e}); give it one type") from None
        self.parquet.write_table(table)

    def close(self) -> None:
        if self.xlsx is not None:
            self.xlsx.close()
        if self.text is not None:
            self.text.close()
        if self.parquet is not None:
            self.parquet.close()


def _excel_safe_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that Excel would run as a formula made safe (``spreadsheets.excel_safe``),
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
