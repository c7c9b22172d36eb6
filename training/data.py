"""Assemble the training rows from several sources and turn them into length-grouped tensor batches.

Sources carry different subsets of the tasks (public sentiment sets have no themes); a missing label
becomes a mask, so each loss term sees only the rows that carry it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
import torch

from voc.models.data import iter_labelled
from voc.models.schema import LabelSchema
from voc.models.text import clean_text

from .config import Source, TrainConfig

IGNORE = -100  # cross-entropy's ignore_index: the row has no label for this task


def read_sources(config: TrainConfig, sources: list[Source], schema: LabelSchema) -> list[dict]:
    """Validated rows from each source (``file``: its path), ``sample`` of them drawn with the config's seed."""
    rows = []
    for i, source in enumerate(sources):
        part = [{**row, "file": source.path} for row in iter_labelled(config.resolve(source.path), schema)]
        if source.sample is not None and source.sample < len(part):
            part = random.Random(f"{config.seed}:{i}:{source.path}").sample(part, source.sample)
        rows.extend(part)
    return rows


def without_texts(rows: list[dict], held_out: set[str]) -> tuple[list[dict], int]:
    """``rows`` minus those whose normalised text is in ``held_out`` (the test files' texts: a test row is
    never trained on, even when a public training split also holds it), and how many were dropped."""
    kept = [r for r in rows if text_key(r["text"]) not in held_out]
    return kept, len(rows) - len(kept)


def held_out_texts(config: TrainConfig, schema: LabelSchema) -> set[str]:
    """The normalised texts of the config's test files: held out of every other source."""
    return {text_key(r["text"]) for path in config.test for r in iter_labelled(config.resolve(path), schema)}


def text_key(text: str) -> str:
    """The form under which two texts count as the same (case, spacing and Unicode form aside)."""
    return " ".join(clean_text(text).lower().split())


def label_columns(rows: list[dict], schema: LabelSchema) -> dict[str, list]:
    return {name: [r[name] for r in rows] for name in schema.names}


@dataclass
class Encoded:
    """Token ids per row plus per-task label arrays (``IGNORE`` / an all-False mask where missing)."""

    input_ids: list[list[int]]
    labels: dict[str, np.ndarray]
    has_label: dict[str, np.ndarray]


def encode_rows(rows: list[dict], schema: LabelSchema, tokenizer, prefix: str, max_length: int) -> Encoded:
    texts = [prefix + clean_text(r["text"]) for r in rows]
    ids = tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    labels, has = {}, {}
    for task in schema.tasks:
        values = [r[task.name] for r in rows]
        has[task.name] = np.array([v is not None for v in values])
        if task.multi:
            labels[task.name] = np.array(
                [[float(label in (v or ())) for label in task.labels] for v in values], dtype=np.float32
            )
        else:
            labels[task.name] = np.array([task.labels.index(v) if v is not None else IGNORE for v in values])
    return Encoded(ids, labels, has)


def length_grouped_batches(lengths: list[int], batch_size: int, rng: random.Random) -> list[list[int]]:
    """Shuffle, sort by length inside windows of 50 batches, cut batches, shuffle their order.

    Rows of similar length share a batch, so dynamic padding adds few tokens, while the order
    stays random from epoch to epoch.
    """
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = batch_size * 50
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[j : j + batch_size] for j in range(0, len(chunk), batch_size)]
    rng.shuffle(batches)
    return batches


def collate(data: Encoded, idx: list[int], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad one batch to its longest row and gather its labels and masks."""
    width = max(len(data.input_ids[i]) for i in idx)
    ids = torch.full((len(idx), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(idx), width), dtype=torch.long)
    for row, i in enumerate(idx):
        seq = data.input_ids[i]
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
    batch = {"input_ids": ids, "attention_mask": mask}
    for name in data.labels:
        batch[f"label.{name}"] = torch.from_numpy(data.labels[name][idx])
        batch[f"has.{name}"] = torch.from_numpy(data.has_label[name][idx])
    return batch
