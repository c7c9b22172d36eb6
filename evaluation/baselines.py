"""Baselines the fine-tuned model must beat, built from the model's label schema (never a fixed label list).

Each baseline is a *scorer* like :class:`voc.models.predictor.Predictor`: ``predict_proba(texts)`` returns
``{task: probabilities [n, n_labels]}`` in the schema's label order for the tasks it covers, and
``thresholds`` holds the multi-label operating points (the schema's default: baselines get no tuning). A task a
baseline cannot cover is listed in its ``skipped`` with the reason.

- ``majority``: the training label distribution for every text (argmax = the majority class; per theme
  the base rate, so themes are predicted only when most rows carry them).
- ``tfidf``: TF-IDF over character n-grams within word boundaries (1-4, which handles Korean without a
  tokenizer) plus word uni/bigrams, then logistic regression; one-vs-rest for multi-label heads
  (``voc.models.tfidf``, which research's cheap model uses too).
- ``zero-shot``: cosine similarity between the backbone's sentence embedding and each label's
  description (:mod:`voc.evaluation.descriptions`), a softmax over labels for single-label heads and, per
  label of a multi-label head, a softmax between that label and "none of them".
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Protocol

import numpy as np

from voc.models.schema import LabelSchema
from voc.models.tfidf import TfidfBaseline, TrainingData, default_thresholds, no_rows

from .descriptions import describe, describe_none

# e5 was trained with an InfoNCE temperature of 0.01: cosines differ by a few hundredths.
ZERO_SHOT_TEMPERATURE = 0.01


class Scorer(Protocol):
    """What evaluation scores: the model's Predictor and every baseline."""

    thresholds: dict[str, dict[str, float]]

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]: ...


class MajorityBaseline:
    """Predicts the training distribution for every text."""

    name = "majority"

    def __init__(self, data: TrainingData):
        self.thresholds = default_thresholds(data.schema)
        self.priors: dict[str, np.ndarray] = {}
        self.skipped: dict[str, str] = {}
        for task in data.schema.tasks:
            _, ys = data.rows_for(task.name)
            if not ys:
                self.skipped[task.name] = no_rows(task)
                continue
            counts = Counter(label for y in ys for label in (y if task.multi else [y]))
            self.priors[task.name] = np.array([counts[label] / len(ys) for label in task.labels], np.float32)

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]:
        return {task: np.tile(prior, (len(texts), 1)) for task, prior in self.priors.items()}


class ZeroShotBaseline:
    """Cosine similarity between text embeddings and label-description embeddings of the pre-trained backbone."""

    name = "zero-shot"

    def __init__(self, schema: LabelSchema, backbone: str, prefix: str, max_length: int = 128):
        from voc.models.backbone import load_backbone

        self.schema = schema
        self.prefix, self.max_length = prefix, max_length
        self.thresholds = default_thresholds(schema)
        self.skipped: dict[str, str] = {}
        self.encoder, self.tokenizer = load_backbone(backbone)
        self.prototypes = {}
        for task in schema.tasks:
            groups = [describe(task.name, label) for label in task.labels]
            if task.multi:
                groups.append(describe_none(task.name))
            self.prototypes[task.name] = np.stack([self._prototype(g) for g in groups])

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Embeddings in input order, computed in length order so that batches carry little padding."""
        from voc.models.backbone import embed

        order = np.argsort([len(t) for t in texts], kind="stable")
        ordered = [texts[i] for i in order]
        vectors = embed(self.encoder, self.tokenizer, ordered, self.prefix, max_length=self.max_length)
        out = np.empty_like(vectors)
        out[order] = vectors
        return out

    def _prototype(self, descriptions: tuple[str, ...]) -> np.ndarray:
        mean = self._embed(list(descriptions)).mean(axis=0)
        return mean / np.linalg.norm(mean)

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]:
        vectors = self._embed(texts)
        out = {}
        for task in self.schema.tasks:
            logits = vectors @ self.prototypes[task.name].T / ZERO_SHOT_TEMPERATURE
            if task.multi:  # each label against "none": a two-way softmax is a sigmoid of the difference
                probs = 1.0 / (1.0 + np.exp(logits[:, -1:] - logits[:, :-1]))
            else:
                e = np.exp(logits - logits.max(axis=1, keepdims=True))
                probs = e / e.sum(axis=1, keepdims=True)
            out[task.name] = probs.astype(np.float32)
        return out


def build_baselines(
    schema: LabelSchema, train_paths: list[Path], backbone: str, prefix: str, max_length: int = 128
) -> tuple[list[Scorer], dict]:
    """Every baseline that can be built, and a record of the training source and what was skipped and why."""
    from voc.models.backbone import BackboneError

    built: list[Scorer] = []
    record: dict = {"train": None, "skipped": {}}
    if train_paths:
        data = TrainingData.load(train_paths, schema)
        record["train"] = data.summary()
        built += [MajorityBaseline(data), TfidfBaseline(data)]
    else:
        reason = "no training file (pass --train FILE)"
        record["skipped"].update({"majority": {"*": reason}, "tfidf": {"*": reason}})
    try:
        built.append(ZeroShotBaseline(schema, backbone, prefix, max_length))
    except BackboneError as e:
        record["skipped"]["zero-shot"] = {"*": f"backbone {backbone!r} unavailable: {e}"}
    for baseline in built:
        if baseline.skipped:
            record["skipped"][baseline.name] = baseline.skipped
    return built, record
