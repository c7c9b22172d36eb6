"""Stream labelled files through the scorers and keep only the per-row numbers the metrics need.

Rows are read and scored a chunk at a time; per head we keep the gold labels (int indices, or a 0/1
matrix for multi-label heads), the language code and each scorer's float32 probabilities of the rows
that carry that head's label. Texts are dropped after their chunk, except the few that enter the
worst-errors shortlist, so memory grows by a few bytes per row whatever the file size.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from voc.models.data import DataError, count_rows, iter_labelled
from voc.models.errors import VocError
from voc.models.predictor import label_thresholds, single_decisions
from voc.models.schema import LabelSchema, Task
from voc.models.text import detect_language

from .baselines import Scorer

LANGUAGES = ("ko", "en", "mixed")


class EvaluationError(VocError, ValueError):
    """An evaluation was asked for something it cannot do (an unknown benchmark, a bad label restriction)."""


@dataclass(frozen=True)
class Head:
    """A head as evaluated: its labels, restricted to a subset when a benchmark uses fewer (NSMC: no neutral)."""

    task: Task
    labels: tuple[str, ...]

    @property
    def columns(self) -> list[int]:
        return [self.task.labels.index(label) for label in self.labels]

    def restrict(self, probs: np.ndarray) -> np.ndarray:
        """Keep this head's label columns of a scorer's output, renormalised for a single-label head."""
        if self.labels == self.task.labels:
            return probs
        kept = probs[:, self.columns]
        return kept / np.clip(kept.sum(axis=1, keepdims=True), 1e-12, None)

    def encode(self, value, where: str) -> int | np.ndarray:
        """A row's gold label as an index (single) or a 0/1 vector (multi)."""
        if self.task.multi:
            return np.isin(self.labels, value).astype(np.int8)
        if value not in self.labels:
            raise DataError(f"{where}: {self.task.name} label {value!r} is outside the evaluated labels {self.labels}")
        return self.labels.index(value)


def make_heads(schema: LabelSchema, restrict: dict[str, tuple[str, ...]] | None) -> list[Head]:
    """One Head per schema task; ``restrict`` maps a single-label task to the labels a benchmark uses."""
    restrict = restrict or {}
    for name, labels in restrict.items():
        task = schema[name]
        if task.multi or not set(labels) <= set(task.labels) or len(labels) < 2:
            raise EvaluationError(f"cannot restrict {name!r} to {labels}: needs 2+ labels of a single-label head")
    return [Head(t, tuple(restrict.get(t.name, t.labels))) for t in schema.tasks]


@dataclass
class WorstErrors:
    """The ``k`` wrong predictions made with the highest confidence, kept in a bounded heap."""

    k: int
    heap: list = field(default_factory=list)
    counter: itertools.count = field(default_factory=itertools.count)

    def wants(self, confidence: float) -> bool:
        if confidence <= 0 or self.k == 0:
            return False
        return len(self.heap) < self.k or confidence > self.heap[0][0]

    def offer(self, confidence: float, record: dict) -> None:
        """Add a record if it is among the ``k`` most confident errors (call after :meth:`wants`)."""
        item = (confidence, next(self.counter), record)
        if len(self.heap) < self.k:
            heapq.heappush(self.heap, item)
        else:
            heapq.heapreplace(self.heap, item)

    def worst_first(self) -> list[dict]:
        return [{**record, "confidence": round(conf, 4)} for conf, _, record in sorted(self.heap, reverse=True)]


def error_confidence(head: Head, gold: np.ndarray, probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """How confident each row's wrong decision was (0 where the decision is right).

    Single-label: the probability of the wrongly chosen label. Multi-label: over the wrongly decided
    labels, the largest probability of a false positive or ``1 - p`` of a false negative.
    """
    if not head.task.multi:
        decided = single_decisions(probs, thresholds)
        return np.where(decided != gold, probs[np.arange(len(probs)), decided], 0.0)
    decided = probs >= thresholds[None, :]
    wrong = decided != gold.astype(bool)
    sureness = np.where(decided, probs, 1.0 - probs)
    return np.where(wrong, sureness, 0.0).max(axis=1)


@dataclass
class Collected:
    """Everything streamed, per head: gold labels, languages and each scorer's probabilities."""

    heads: list[Head]
    files: list[dict]
    gold: dict[str, np.ndarray]
    lang: dict[str, np.ndarray]
    probs: dict[str, dict[str, np.ndarray]]  # scorer name -> head name -> probabilities
    worst: dict[str, list[dict]]
    rows: int
    empty_texts: int
    seconds: dict[str, float]


def chunks(paths: list[Path], schema: LabelSchema, size: int, allow_empty: bool) -> Iterator[list[tuple[str, dict]]]:
    """Validated rows of all files, ``size`` at a time, each with its ``file:line``."""
    rows = ((f"{p}:{i}", row) for p in paths for i, row in enumerate(iter_labelled(p, schema, allow_empty), 1))
    while batch := list(itertools.islice(rows, size)):
        yield batch


def row_language(row: dict) -> str:
    """The row's ``lang`` field when it is one of ko/en/mixed, else the detected language."""
    return row["lang"] if row.get("lang") in LANGUAGES else detect_language(row["text"])


def collect(
    scorers: dict[str, Scorer],
    paths: list[Path],
    heads: list[Head],
    *,
    top_errors: int = 10,
    chunk_size: int = 512,
    allow_empty: bool = False,
    progress: bool = True,
) -> Collected:
    """Score every row with every scorer and gather what the metrics need; errors are shortlisted for ``model``."""
    schema = LabelSchema(tuple(h.task for h in heads))
    files = [{"path": str(p), "rows": count_rows(p)} for p in paths]
    gold: dict[str, list] = {h.task.name: [] for h in heads}
    lang: dict[str, list] = {h.task.name: [] for h in heads}
    probs: dict[str, dict[str, list]] = {s: {h.task.name: [] for h in heads} for s in scorers}
    worst = {h.task.name: WorstErrors(top_errors) for h in heads}
    seconds = dict.fromkeys(scorers, 0.0)
    rows = empty = 0
    bar = tqdm(total=sum(f["rows"] for f in files), unit="rows", desc="evaluate", disable=not progress)
    for batch in chunks(paths, schema, chunk_size, allow_empty):
        texts = [row["text"] for _, row in batch]
        langs = np.array([LANGUAGES.index(row_language(row)) for _, row in batch], np.int8)
        outputs = {}
        for name, scorer in scorers.items():
            started = time.perf_counter()
            outputs[name] = scorer.predict_proba(texts)
            seconds[name] += time.perf_counter() - started
        for head in heads:
            task = head.task.name
            keep = [i for i, (_, row) in enumerate(batch) if row[task] is not None]
            if not keep:
                continue
            y = np.array([head.encode(batch[i][1][task], batch[i][0]) for i in keep])
            gold[task].append(y)
            lang[task].append(langs[keep])
            for name, out in outputs.items():
                if task in out:
                    probs[name][task].append(head.restrict(out[task][keep]).astype(np.float32))
            model_probs = probs["model"][task][-1]
            thresholds = head_thresholds(scorers["model"], head)
            for j, conf in enumerate(error_confidence(head, y, model_probs, thresholds)):
                if worst[task].wants(conf):
                    where, row = batch[keep[j]]
                    worst[task].offer(float(conf), error_record(head, where, row, model_probs[j], thresholds))
        rows += len(batch)
        empty += sum(not t.strip() for t in texts)
        bar.update(len(batch))
    bar.close()
    return Collected(
        heads=heads,
        files=files,
        gold={t: np.concatenate(v) for t, v in gold.items() if v},
        lang={t: np.concatenate(v) for t, v in lang.items() if v},
        probs={s: {t: np.concatenate(v) for t, v in per.items() if v} for s, per in probs.items()},
        worst={t: w.worst_first() for t, w in worst.items()},
        rows=rows,
        empty_texts=empty,
        seconds=seconds,
    )


def head_thresholds(scorer: Scorer, head: Head) -> np.ndarray:
    """A scorer's decision thresholds for a head's labels: the schema's default where it has none (for a
    single-label head ``inf``, plain argmax, except where an operating point overrides it)."""
    chosen = scorer.thresholds.get(head.task.name, {})
    return label_thresholds(chosen, head.labels, head.task.default_threshold)


def error_record(head: Head, where: str, row: dict, probs: np.ndarray, thresholds: np.ndarray) -> dict:
    """What the report shows of one wrong prediction."""
    if head.task.multi:
        gold = row[head.task.name]
        predicted = [label for label, p, t in zip(head.labels, probs, thresholds) if p >= t]
    else:
        gold, predicted = row[head.task.name], head.labels[int(single_decisions(probs[None, :], thresholds)[0])]
    scores = {label: round(float(p), 4) for label, p in zip(head.labels, probs)}
    return {
        "where": where,
        "id": row["id"],
        "lang": row_language(row),
        "text": row["text"],
        "gold": gold,
        "predicted": predicted,
        "scores": scores,
    }
