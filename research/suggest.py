"""``voc suggest``: from an unlabelled export, the rows whose labels would teach the model most.

The model scores every row once (one encoder pass gives both its calibrated probabilities and its
pooled embedding); ``voc.research.selection`` picks uncertain rows that are not alike. The output is a file
to label: ``id``, ``text``, one empty column per task, the model's guesses (``guess_<task>``), the row's
``uncertainty`` and the ``reason`` it was picked. Filled in, it goes back with ``voc train --add-data``.

A CSV is written as the training reader (``voc.models.data``) reads it, so that a guess copied into its label
column means what it meant: themes ``|``-joined and "no theme" as ``[]`` (an empty cell there means "not
labelled"), with a UTF-8 byte-order mark so that Excel shows Korean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import torch

from voc.models.atomic import atomic_path
from voc.models.predictor import Predictor, label_thresholds
from voc.models.results import text_problem
from voc.models.schema import Task
from voc.models.tables import NO_LABELS, TableError, TableWriter, file_format, read_chunks
from voc.models.text import clean_text, detect_language
from voc.models.tokens import pad_batch

from .selection import Pick, select, uncertainty


@dataclass
class Pool:
    """The scorable rows of an export: ids (the id column, else the 1-based row number) and texts."""

    ids: list[str]
    texts: list[str]
    skipped: int


def read_pool(source: Path, text_column: str, id_column: str | None, encoding: str = "utf-8") -> Pool:
    """Rows with a text that can be scored (``voc.models.results.text_problem``); the others are counted."""
    if not source.is_file():
        raise TableError(f"{source}: no such file")
    ids, texts, skipped, row_no = [], [], 0, 0
    for chunk in read_chunks(source, encoding=encoding):
        for name in filter(None, (text_column, id_column)):
            if name not in chunk.columns:
                found = ", ".join(str(c) for c in chunk.columns if not str(c).startswith("\0"))
                raise TableError(f"{source}: no column {name!r}; columns found: {found}")
        for i, text in enumerate(chunk[text_column].tolist()):
            row_no += 1
            if text_problem(text) is not None:
                skipped += 1
                continue
            texts.append(text)
            ids.append(str(chunk[id_column].iloc[i]) if id_column else str(row_no))
    return Pool(ids, texts, skipped)


def model_outputs(predictor: Predictor, texts: list[str]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Calibrated probabilities per task and L2-normalised pooled embeddings, from one encoder pass in PyTorch
    (an ONNX graph gives head logits only; ONNX backends are gated against these float32 probabilities)."""
    model = predictor.torch_model()
    pooled = np.zeros((len(texts), model.encoder.config.hidden_size), np.float32)
    # Read as the predictor reads: every window of a text, its pooled vector the mean over them (the heads are
    # linear, so the heads of that mean are the mean of the windows' logits the predictor uses).
    windows = predictor.tokenizer([clean_text(t) for t in texts]).windows
    flat = [(i, window) for i, text_windows in enumerate(windows) for window in text_windows]
    order = sorted(range(len(flat)), key=lambda k: len(flat[k][1]))
    with torch.inference_mode():
        for start in range(0, len(order), predictor.batch_size):
            idx = order[start : start + predictor.batch_size]
            input_ids, mask = pad_batch([flat[k][1] for k in idx], predictor.tokenizer.pad_id)
            out = model.pool(torch.from_numpy(input_ids), torch.from_numpy(mask)).float().numpy()
            for k, row in zip(idx, out):
                pooled[flat[k][0]] += row
    pooled /= np.array([len(w) for w in windows], np.float32)[:, None]
    with torch.inference_mode():
        logits = {name: head(torch.from_numpy(pooled)).numpy() for name, head in model.heads.items()}
    ngram = predictor.ngram.logits(texts) if predictor.ngram is not None else {}
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    languages = [detect_language(t) for t in texts]
    return predictor.combine(logits, ngram, languages), pooled / np.clip(norms, 1e-9, None)


def why(task: Task, probs: np.ndarray, thresholds: dict[str, float]) -> str:
    """What the head could not decide, e.g. ``sentiment: negative 0.41 vs neutral 0.38``."""
    if task.multi:
        thr = label_thresholds(thresholds, task.labels, task.default_threshold)
        j = int(np.argmin(np.abs(probs - thr)))
        return f"{task.name}: {task.labels[j]} {probs[j]:.2f} at threshold {thr[j]:.2f}"
    first, second = np.argsort(-probs)[:2]
    return f"{task.name}: {task.labels[first]} {probs[first]:.2f} vs {task.labels[second]} {probs[second]:.2f}"


def suggest(predictor: Predictor, pool: Pool, n: int, seed: int = 13) -> pd.DataFrame:
    """The ``n`` rows to label next, most uncertain first, as the columns of the file to label."""
    probs, embeddings = model_outputs(predictor, pool.texts)
    per_head = uncertainty(probs, predictor.schema, predictor.thresholds)
    heads = list(per_head)
    matrix = np.stack([per_head[h] for h in heads], axis=1)
    picks: list[Pick] = select(matrix.mean(axis=1), embeddings, n, seed)
    records = []
    for pick in picks:
        decided = predictor.decide(probs, pick.index)
        task = predictor.schema[heads[int(matrix[pick.index].argmax())]]
        reason = (
            f"{why(task, probs[task.name][pick.index], predictor.thresholds.get(task.name, {}))}; "
            f"the most uncertain of {pick.cluster_size} similar uncertain rows (cluster {pick.cluster})"
        )
        record = {"id": pool.ids[pick.index], "text": pool.texts[pick.index]}
        record.update(dict.fromkeys(predictor.schema.names))
        for t in predictor.schema.tasks:
            record[f"guess_{t.name}"] = decided[t.name]["labels"] if t.multi else decided[t.name]["label"]
        record.update(uncertainty=round(pick.score, 4), reason=reason)
        records.append(record)
    names = predictor.schema.names
    return pd.DataFrame(
        records, columns=["id", "text", *names, *[f"guess_{t}" for t in names], "uncertainty", "reason"]
    )


def write_suggestions(frame: pd.DataFrame, output: Path, predictor: Predictor) -> None:
    """JSONL (label fields ``null``), CSV (empty label cells, guessed themes ``|``-joined and ``[]`` for none, never
    an empty cell, which the training reader takes for "not labelled"; a UTF-8 BOM), .xlsx or Parquet, by the one
    table writer (``voc.models.tables``); atomic. Cells are written exactly as they are (no Excel-safe quote):
    the file goes back into training as it is."""
    schema = predictor.schema
    types = {name: pa.string() for name in ["id", "text", "reason", *schema.names]}
    types["uncertainty"] = pa.float64()
    for t in schema.tasks:
        types[f"guess_{t.name}"] = pa.list_(pa.string()) if t.multi else pa.string()
    multi = [f"guess_{t.name}" for t in schema.tasks if t.multi]
    with atomic_path(output) as tmp:
        writer = TableWriter(tmp, file_format(output), types, multi, empty=NO_LABELS, excel_safe=False)
        try:
            writer.write(frame)
        finally:
            writer.close()
