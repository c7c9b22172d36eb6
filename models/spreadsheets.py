"""What spreadsheets need of ``voc score``: the CSV delimiter, .xlsx in and out, and Excel-safe text cells.

- **Delimiter**: a CSV may be separated by ``,``, ``;`` (Excel in many European locales), tab or ``|``;
  :func:`sniff_delimiter` picks the one that splits the header record into the most fields (``--delimiter``
  overrides it). CSV output keeps the input's delimiter.
- **.xlsx**: the first and only worksheet is read (a workbook with several is refused: say which to score by
  saving it alone), its first row the header, values as Excel stores them (numbers, dates, text; formulas as
  their last computed value). Output is one worksheet, ``scored``.
- **Excel-safe**: a text cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is a formula
  to Excel (formula injection). By default CSV output prefixes such a cell with ``'`` (which Excel hides) and
  .xlsx output marks it as text (Excel's own "quote prefix", the value unchanged); cells that read as numbers
  (``-5``, ``+3.2``) are left alone. ``--no-excel-safe`` writes CSV cells exactly as they are.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from voc.models.errors import VocError

DELIMITERS = (",", ";", "\t", "|")
SNIFF_CHARS = 64 * 1024  # the header record must start within this much text
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_MAX_ROWS = 1_048_576  # Excel's limits, header included
XLSX_MAX_CELL = 32_767
XLSX_SHEET = "scored"


class FormatError(VocError, ValueError):
    """A spreadsheet that cannot be read or written as asked; the message says what to do."""


def sniff_delimiter(path: Path, encoding: str) -> str:
    """The delimiter of ``DELIMITERS`` that splits the file's header record into the most fields (``,`` on a tie
    or a one-column file): a header rarely holds a delimiter, quoted ones are handled by the csv module."""
    with open(path, encoding=encoding, newline="") as f:
        sample = f.read(SNIFF_CHARS)
    best, best_fields = ",", 1
    for delimiter in DELIMITERS:
        header = next(csv.reader(io.StringIO(sample), delimiter=delimiter), [])
        if len(header) > best_fields:
            best, best_fields = delimiter, len(header)
    return best


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def needs_quote(value: object) -> bool:
    """A text cell that Excel would take for a formula (and not a number such as ``-5``)."""
    return isinstance(value, str) and value.startswith(FORMULA_START) and not _is_number(value)


def excel_safe(value: Any) -> Any:
    """``value`` with a leading ``'`` when Excel would run it as a formula (CSV output)."""
    return "'" + value if needs_quote(value) else value


# --- .xlsx in ---------------------------------------------------------------------------------------------


def _open_sheet(path: Path):
    """The workbook (read-only, computed values) and its one worksheet."""
    from openpyxl import load_workbook

    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # zipfile.BadZipFile, KeyError, InvalidFileException: all "not a workbook"
        raise FormatError(f"{path}: not a readable .xlsx workbook ({type(e).__name__}: {e}); save it again") from None
    sheets = book.worksheets
    if len(sheets) != 1:
        book.close()
        names = ", ".join(repr(s.title) for s in sheets)
        raise FormatError(
            f"{path}: has {len(sheets)} worksheets ({names}); voc score reads one: save the sheet to score on its own"
        )
    return book, sheets[0]


def _header(path: Path, first: tuple | None) -> list[str]:
    if first is None:
        raise FormatError(f"{path}: the worksheet is empty; the first row must name the columns")
    cells = list(first)
    while cells and cells[-1] is None:  # Excel's used range often runs past the last named column
        cells.pop()
    names = [f"column {i + 1}" if c is None else str(c) for i, c in enumerate(cells)]
    if not names:
        raise FormatError(f"{path}: the first row is empty; it must name the columns")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise FormatError(f"{path}: two columns are named {name!r}; give each column its own name")
        seen.add(name)
    return names


def _records(path: Path, sheet) -> Iterator[tuple[int, list[str], tuple]]:
    """``(row number, header, values)`` per non-empty data row, values cut to the header's width."""
    rows = sheet.iter_rows(values_only=True)
    header = _header(path, next(rows, None))
    for number, values in enumerate(rows, 2):
        if all(v is None or v == "" for v in values):
            continue  # an empty row, as pandas skips a blank CSV line
        extra = [i for i, v in enumerate(values[len(header) :], len(header)) if v is not None]
        if extra:
            raise FormatError(
                f"{path}: row {number} has a value in column {extra[0] + 1}, past the header's {len(header)} "
                "named columns; name that column or clear the cell"
            )
        yield number, header, tuple(values[: len(header)]) + (None,) * (len(header) - len(values))


def xlsx_columns(path: Path) -> tuple[list[str], int]:
    """The header and the number of non-empty data rows of a workbook's one worksheet."""
    book, sheet = _open_sheet(path)
    try:
        header = _header(path, next(sheet.iter_rows(values_only=True, max_row=1), None))
        return header, sum(1 for _ in _records(path, sheet))
    finally:
        book.close()


def xlsx_chunks(path: Path, chunk_rows: int, chunk_chars: int | None = None) -> Iterator[pd.DataFrame]:
    """The worksheet's rows as object DataFrames of at most ``chunk_rows`` rows and about ``chunk_chars``
    characters of text (at least one row a chunk; at least one chunk, maybe empty); an empty cell is ``None``,
    other values as openpyxl reads them (str, int, float, bool, datetime)."""
    book, sheet = _open_sheet(path)
    try:
        header = _header(path, next(sheet.iter_rows(values_only=True, max_row=1), None))
        batch: list[tuple] = []
        size, yielded = 0, False
        for _, _, values in _records(path, sheet):
            batch.append(values)
            size += sum(len(v) for v in values if isinstance(v, str))
            if len(batch) == chunk_rows or (chunk_chars is not None and size >= chunk_chars):
                yield _frame(batch, header)
                batch, size, yielded = [], 0, True
        if batch or not yielded:
            yield _frame(batch, header)
    finally:
        book.close()


def _frame(rows: list[tuple], header: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series([r[i] for r in rows], dtype=object) for i, name in enumerate(header)})


# --- .xlsx out --------------------------------------------------------------------------------------------


class XlsxWriter:
    """Rows appended to one worksheet of a streamed (write-only) workbook, saved to ``path`` on ``close``."""

    def __init__(self, path: Path, excel_safe: bool = True) -> None:
        from openpyxl import Workbook

        self.path, self.excel_safe = path, excel_safe
        self.book = Workbook(write_only=True)
        self.sheet = self.book.create_sheet(XLSX_SHEET)
        self.rows = 0

    def append(self, frame: pd.DataFrame, header: bool) -> None:
        """``frame``'s rows (cells already plain: text, numbers, bools, dates or None), after its header."""
        names = [str(c) for c in frame.columns]
        if header:
            self._row(names, names)
        for values in frame.itertuples(index=False, name=None):
            self._row(list(values), names)

    def _row(self, values: list[Any], names: list[str]) -> None:
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

        self.rows += 1
        if self.rows > XLSX_MAX_ROWS:
            raise FormatError(f"more than {XLSX_MAX_ROWS:,} rows do not fit one Excel sheet: write .csv or .parquet")
        cells = []
        for name, value in zip(names, values):
            value = _cell_value(value)
            if isinstance(value, str):
                if len(value) > XLSX_MAX_CELL:
                    raise FormatError(
                        f"row {self.rows - 1}, column {name!r}: {len(value):,} characters, over Excel's "
                        f"{XLSX_MAX_CELL:,} a cell; write .csv or .parquet instead"
                    )
                # Control characters are not allowed in the file format: written as \x01-style escapes.
                value = ILLEGAL_CHARACTERS_RE.sub(lambda m: f"\\x{ord(m.group()):02x}", value)
                cell = WriteOnlyCell(self.sheet, value=value)
                cell.data_type = "s"  # text stays text: openpyxl would store "=..." as a formula
                cell.quotePrefix = self.excel_safe and needs_quote(value)
                cells.append(cell)
            else:
                cells.append(value)
        self.sheet.append(cells)

    def close(self) -> None:
        self.book.save(self.path)


def _cell_value(value: Any) -> Any:
    """A value openpyxl can store: missing as empty, numpy scalars as Python, time zones as ISO text."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):  # numpy scalar
        value = value.item()
    if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
        return value.isoformat()  # Excel has no time zones; the text keeps the offset as written
    if isinstance(value, str | int | float | bool | dt.date | dt.time):
        return value
    return str(value)
