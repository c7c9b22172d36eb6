"""The batch scorer behind ``voc score``: a CSV, JSONL or Parquet export in, the same rows with predictions out.

Every input row comes back, in order, with all its columns plus ``language``, one label column per task
(``themes`` a list in JSONL and Parquet, ``|``-joined in CSV), one probability column per label
(``sentiment.negative``, ...), with ``explain`` one evidence column per task (``serving.evidence_columns``),
``truncated`` and ``error`` (empty when the row scored). A row whose text
cannot be scored (missing, not a string, empty, over ``MAX_TEXT_CHARS``; in JSONL a line that is not a
JSON object) gets a message in ``error`` instead of predictions: output rows always equal input rows.

The input streams in chunks of ``CHUNK_ROWS`` rows, so memory does not grow with the file. The output
and its summary are written to temporary files and renamed into place at the end: after Ctrl-C or a
crash there is no file at the output path.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from models.errors import VocError
from models.predictor import Predictor

from .atomic import atomic_path
from .contract import add_evidence, score_texts, text_problem
from .evidence_columns import PREFIX, evidence_columns, evidence_types, to_json, with_every_label
from .summary import Summary, summary_paths

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl", ".parquet": "parquet", ".pq": "parquet"}
CHUNK_ROWS = 1024
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

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def file_format(path: Path) -> str:
    """``csv``, ``jsonl`` or ``parquet``, from the file name's extension."""
    try:
        return FORMATS[path.suffix.lower()]
    except KeyError:
        raise ScoreError(f"{path}: unknown extension {path.suffix!r}; use one of {', '.join(FORMATS)}") from None


def read_chunks(path: Path, chunk_rows: int = CHUNK_ROWS, encoding: str = "utf-8") -> Iterator[pd.DataFrame]:
    """The rows of ``path`` as DataFrames of at most ``chunk_rows`` rows (at least one, maybe empty)."""
    fmt = file_format(path)
    if fmt == "csv":
        try:
            # Text stays text: ids keep their leading zeros and an empty cell is "", not NaN.
            yield from pd.read_csv(path, dtype=str, keep_default_na=False, chunksize=chunk_rows, encoding=encoding)
        except pd.errors.EmptyDataError:
            raise ScoreError(f"{path}: the file is empty; a CSV needs a header row") from None
        except pd.errors.ParserError as e:
            raise ScoreError(f"{path}: malformed CSV ({e})") from None
    elif fmt == "jsonl":
        yield from _jsonl_chunks(path, chunk_rows, encoding)
    else:
        parquet = pq.ParquetFile(path)
        batches = parquet.iter_batches(batch_size=chunk_rows)
        first = next(batches, None)
        yield (first or parquet.schema_arrow.empty_table()).to_pandas()
        for batch in batches:
            yield batch.to_pandas()


def _jsonl_chunks(path: Path, chunk_rows: int, encoding: str) -> Iterator[pd.DataFrame]:
    """JSONL rows under the union of all lines' keys (one cheap pass finds it); bad lines become error rows."""
    columns: dict[str, None] = {}
    for record, _ in _jsonl_records(path, encoding):
        columns.update(dict.fromkeys(record))
    names = list(columns)
    rows: list[dict[str, Any]] = []
    for record, error in _jsonl_records(path, encoding):
        rows.append({**record, _READ_ERROR: error})
        if len(rows) == chunk_rows:
            yield pd.DataFrame(rows, columns=[*names, _READ_ERROR])
            rows = []
    if rows or not names:
        yield pd.DataFrame(rows, columns=[*names, _READ_ERROR])


def _jsonl_records(path: Path, encoding: str) -> Iterator[tuple[dict[str, Any], str | None]]:
    """``(record, None)`` per JSON-object line, ``({}, message)`` per unreadable one; blank lines are skipped."""
    with open(path, encoding=encoding) as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                yield {}, f"line {line_no} is not valid JSON ({e.msg})"
                continue
            if isinstance(record, dict):
                yield record, None
            else:
                yield {}, f"line {line_no} is a JSON {type(record).__name__}, not an object"


def count_rows(path: Path) -> int | None:
    """Rows in ``path`` when that is cheap to know (Parquet's footer), else ``None``."""
    return pq.ParquetFile(path).metadata.num_rows if file_format(path) == "parquet" else None


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


def score_frame(predictor: Predictor, frame: pd.DataFrame, text_column: str, explain: bool = False) -> pd.DataFrame:
    """``frame`` (RangeIndex) with the predictions appended; rows that cannot be scored get ``error`` instead."""
    read_errors = frame.pop(_READ_ERROR).tolist() if _READ_ERROR in frame else [None] * len(frame)
    texts = frame[text_column].tolist()
    errors = [e if isinstance(e, str) else text_problem(text) for e, text in zip(read_errors, texts)]
    ok = [i for i, error in enumerate(errors) if error is None]
    results = score_texts(predictor, [texts[i] for i in ok]) if ok else []
    if explain and ok:
        results = add_evidence(predictor, [texts[i] for i in ok], results)
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


class ChunkWriter:
    """Appends scored chunks to one CSV, JSONL or Parquet file."""

    def __init__(self, path: Path, fmt: str, predictor: Predictor) -> None:
        self.path, self.fmt = path, fmt
        self.multi_columns = [t.name for t in predictor.schema.tasks if t.multi]
        self.schema = predictor.schema
        self.types = added_types(predictor)
        self.parquet: pq.ParquetWriter | None = None
        self.text = open(path, "w", encoding="utf-8", newline="") if fmt != "parquet" else None
        self.header = True

    def write(self, frame: pd.DataFrame) -> None:
        if self.fmt == "csv":
            frame = frame.assign(**{c: frame[c].map(_join_labels) for c in self.multi_columns})
            frame = frame.assign(**{c: frame[c].map(to_json) for c in evidence_columns(self.schema) if c in frame})
            frame.to_csv(self.text, header=self.header, index=False)
        elif self.fmt == "jsonl":
            if len(frame):
                frame.to_json(self.text, orient="records", lines=True, force_ascii=False)
        else:
            self._write_parquet(frame)
        self.header = False

    def _write_parquet(self, frame: pd.DataFrame) -> None:
        table = pa.Table.from_pandas(with_every_label(frame, self.schema), preserve_index=False)
        if self.parquet is None:
            # The added columns have fixed types; an input column with only nulls in the first chunk is text.
            fields = [
                pa.field(f.name, self.types.get(f.name, pa.string() if pa.types.is_null(f.type) else f.type))
                for f in table.schema
            ]
            self.parquet = pq.ParquetWriter(self.path, pa.schema(fields))
        try:
            table = table.cast(self.parquet.schema)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
            raise ScoreError(f"a column changes type part-way through the input ({e}); give it one type") from None
        self.parquet.write_table(table)

    def close(self) -> None:
        if self.text is not None:
            self.text.close()
        if self.parquet is not None:
            self.parquet.close()


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
    explain: bool = False,
) -> ScoreReport:
    """Score every row of ``source`` into ``output`` (format from each extension) and write the summary beside it.

    ``progress``: show a progress bar (``None``: only on a terminal); ``explain``: add the evidence columns.
    """
    source, output = Path(source), Path(output)
    out_fmt = file_format(output)
    if not source.is_file():
        raise ScoreError(f"{source}: no such file")
    if output.resolve() == source.resolve():
        raise ScoreError(f"{output}: the output would replace the input; choose another output path")
    started, rows, errors = time.perf_counter(), 0, 0
    summary = Summary(predictor.schema)
    md_path, html_path = summary_paths(output)
    with ExitStack() as stack:
        tmp_out, tmp_md, tmp_html = (stack.enter_context(atomic_path(p)) for p in (output, md_path, html_path))
        writer = ChunkWriter(tmp_out, out_fmt, predictor)
        stack.callback(writer.close)  # runs before the renames: the ExitStack unwinds in reverse
        disable = None if progress is None else not progress  # tqdm: None = only on a terminal
        bar = stack.enter_context(tqdm(total=count_rows(source), unit="rows", desc=source.name, disable=disable))
        for n, chunk in enumerate(read_chunks(source, chunk_rows, encoding)):
            if n == 0:
                check_columns(predictor, chunk, text_column, id_column, source, explain)
            scored = score_frame(predictor, chunk.reset_index(drop=True), text_column, explain)
            summary.update(scored, rows, text_column, id_column)
            writer.write(scored)
            rows += len(scored)
            errors += int(scored["error"].notna().sum())
            bar.update(len(scored))
        tmp_md.write_text(summary.markdown(source.name), encoding="utf-8")
        tmp_html.write_text(summary.html(source.name), encoding="utf-8")
    return ScoreReport(rows, errors, time.perf_counter() - started, output, (md_path, html_path))


def check_columns(
    predictor: Predictor, chunk: pd.DataFrame, text_column: str, id_column: str | None, source: Path, explain: bool
):
    """Fail early, naming the columns found, when a named column is missing or an added one already exists."""
    found = [c for c in chunk.columns if c != _READ_ERROR]
    for role, name in (("text", text_column), ("id", id_column)):
        if name is not None and name not in found:
            raise ScoreError(f"{source}: no {role} column {name!r}; columns found: {', '.join(map(str, found))}")
    clash = [c for c in added_columns(predictor, explain) if c in found]
    if clash:
        raise ScoreError(f"{source}: already has the output columns {', '.join(clash)}; rename them or drop them")
