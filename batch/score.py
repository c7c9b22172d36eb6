"""The batch scorer behind ``voc score``: a CSV, .xlsx, JSONL or Parquet export in, the same rows with predictions out.

Every input row comes back, in order, with all its columns plus ``language``, one label column per task
(``themes`` a list in JSONL and Parquet, ``|``-joined in CSV), one probability column per label
(``sentiment.negative``, ...), with ``explain`` one evidence column per task (``voc.batch.evidence_columns``),
``truncated`` and ``error`` (empty when the row scored). A row whose text
cannot be scored (missing, not a string, empty, over ``MAX_TEXT_CHARS``; in JSONL a line that is blank, not a
JSON object or holds a key twice) gets a message in ``error`` instead of predictions: output rows always equal
input rows.

Every input column comes back as it was, read and written by ``voc.models.tables``: CSV cells as text
(duplicate names kept) written with CRLF record ends, JSONL values with their JSON text, Parquet columns with
their Arrow types (nested and binary ones written to CSV and JSONL as JSON). A JSONL column written to Parquet
keeps its JSON type when it has one, else becomes its JSON text (mixed types, integers beyond 64 bits).

The input streams in chunks (``voc.models.tables.CHUNK_ROWS`` rows or about ``CHUNK_BYTES`` of input), so
memory does not grow with the file nor with its cells. The output and its summary are written to temporary
files and renamed into place at the end: after Ctrl-C or a crash there is no file at the output path
(``voc.models.atomic``).

Spreadsheets (``voc.models.spreadsheets``): a CSV's delimiter is detected (``,``, ``;``, tab, ``|``) unless given, and
kept in CSV output; .xlsx in and out; CSV and .xlsx output are Excel-safe (no cell runs as a formula) unless
``excel_safe=False``.
"""

from __future__ import annotations

import codecs
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from voc.models.atomic import atomic_path
from voc.models.jsonvalues import plain
from voc.models.predictor import Predictor
from voc.models.results import add_evidence, score_texts, text_problem
from voc.models.spreadsheets import sniff_delimiter
from voc.models.tables import (
    CHUNK_ROWS,
    READ_ERROR,
    TableError,
    TableWriter,
    array_hint,
    decode_problem,
    file_format,
    inspect_input,
    read_chunks,
    reading_encoding,
)

from .dates import DateOptions
from .evidence_columns import PREFIX, evidence_columns, evidence_types, with_every_label
from .progress import progress_display
from .summary import Summary, summary_paths
from .summary_render import render_html, render_markdown

# A whole-input problem of voc score is the table reader's error: one except clause catches both.
ScoreError = TableError


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
        raise ScoreError(f"{path}: no line holds a JSON object with fields{array_hint(path, encoding)}")
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
    read_errors = frame.pop(READ_ERROR).tolist() if READ_ERROR in frame else [None] * len(frame)
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


class ChunkWriter(TableWriter):
    """Appends scored chunks to one CSV, .xlsx, JSONL or Parquet file (``voc.models.tables.TableWriter``): the
    added columns with their fixed types, multi-label heads joined in CSV and .xlsx, the evidence columns as
    JSON there and typed in Parquet (every label of a multi-label head present)."""

    def __init__(
        self,
        path: Path,
        fmt: str,
        predictor: Predictor,
        bom: bool = True,
        excel_safe: bool = True,
        delimiter: str = ",",
    ) -> None:
        schema = predictor.schema
        multi = [t.name for t in schema.tasks if t.multi]
        super().__init__(
            path,
            fmt,
            added_types(predictor),
            multi,
            evidence_columns(schema),
            bom=bom,
            excel_safe=excel_safe,
            delimiter=delimiter,
        )
        self.schema = schema

    def write(self, frame: pd.DataFrame) -> None:
        super().write(with_every_label(frame, self.schema) if self.fmt == "parquet" else frame)


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
    ``date_options``: how to read the dates (``voc.batch.dates``). ``bom``: start a CSV output with a UTF-8
    byte-order mark (for Excel). ``explain``: add the evidence columns. ``delimiter``: a CSV input's
    (``None``: detected); a CSV output uses the same. ``excel_safe``: see ``ChunkWriter``.
    """
    source, output = Path(source), Path(output)
    out_fmt = file_format(output)
    columns = {"text": text_column, "id": id_column, "date": date_column, "group-by": group_column}
    if file_format(source) == "csv" and delimiter is None and source.is_file():
        try:
            delimiter = sniff_delimiter(source, reading_encoding(encoding))
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
    """Fail before any model loads when ``output`` is a folder, or its folder cannot be made or written to."""
    output = Path(output)
    if output.is_dir():
        raise ScoreError(f"output {output} is a folder: name a file in it, e.g. {output / 'scored.csv'}")
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
    The loop of ``voc score``, also run per shard by ``voc.batch.distributed``."""
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
    found = [c for c in chunk.columns if c != READ_ERROR]
    clash = [c for c in added_columns(predictor, explain) if c in found]
    if clash:
        raise ScoreError(f"{source}: already has the output columns {', '.join(clash)}; rename them or drop them")
