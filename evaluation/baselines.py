"""Baselines the fine-tuned model must beat, built from the model's label schema (never a fixed label list).

Each baseline is a *scorer* like :class:`voc.models.predictor.Predictor`: ``predict_proba(texts)`` returns
``{task: probabilities [n, n_labels]}`` in the schema's label order for the tasks it covers, and
``thresholds`` holds the multi-label operating points (the schema's default: baselines get no tuning). A task a
baseline cannot cover is listed in its ``skipped`` with the reason.

- ``majority``: the training label distribution for every text (argmax = the majority class; per theme
  the base rate, so themes are predicted only when most rows carry them).
- ``tfidf``: TF-IDF over character n-grams within word boundaries (1-4, which handles Korean without a
  tokenizer) plus word uni/bigrams, then logistic regression; one-vs-rest for multi-label heads.
- ``zero-shot``: cosine similarity between the backbone's sentence embedding and each label's
  description (:mod:`voc.evaluation.descriptions`), a softmax over labels for single-label heads and, per
  label of a multi-label head, a softmax between that label and "none of them".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from voc.models.data import iter_labelled
from voc.models.schema import LabelSchema, Task

from .descriptions import describe, describe_none

# e5 was trained with an InfoNCE temperature of 0.01: cosines differ by a few hundredths.
ZERO_SHOT_TEMPERATURE = 0.01


class Scorer(Protocol):
    """What evaluation scores: the model's Predictor and every baseline."""

    thresholds: dict[str, dict[str, float]]

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]: ...


@dataclass
class TrainingData:
    """Texts and labels of the training files, per task only the rows that carry that task."""

    schema: LabelSchema
    files: list[dict] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    labels: dict[str, list] = field(default_factory=dict)

    @classmethod
    def load(cls, paths: Iterable[str | Path], schema: LabelSchema) -> TrainingData:
        data = cls(schema, labels={t: [] for t in schema.names})
        for path in paths:
            rows = 0
            for row in iter_labelled(path, schema):
                data.texts.append(row["text"])
                for task in schema.names:
                    data.labels[task].append(row[task])
                rows += 1
            data.files.append({"path": str(path), "rows": rows})
        return data

    def rows_for(self, task: str) -> tuple[list[str], list]:
        """The texts and labels of the rows that carry ``task``."""
        pairs = [(t, y) for t, y in zip(self.texts, self.labels[task]) if y is not None]
        return [t for t, _ in pairs], [y for _, y in pairs]

    def summary(self) -> dict:
        """What the baselines were trained on, for the report."""
        counts = {t: sum(y is not None for y in ys) for t, ys in self.labels.items()}
        return {"files": self.files, "rows": len(self.texts), "rows_per_task": counts}


def _default_thresholds(schema: LabelSchema) -> dict[str, dict[str, float]]:
    return {t.name: dict.fromkeys(t.labels, t.default_threshold) for t in schema.tasks if t.multi}


def _no_rows(task: Task) -> str:
    return f"no training row is labelled for '{task.name}'"


class MajorityBaseline:
    """Predicts the training distribution for every text."""

    name = "majority"

    def __init__(self, data: TrainingData):
        self.thresholds = _default_thresholds(data.schema)
        self.priors: dict[str, np.ndarray] = {}
        self.skipped: dict[str, str] = {}
        for task in data.schema.tasks:
            _, ys = data.rows_for(task.name)
            if not ys:
                self.skipped[task.name] = _no_rows(task)
                continue
            counts = Counter(label for y in ys for label in (y if task.multi else [y]))
            self.priors[task.name] = np.array([counts[label] / len(ys) for label in task.labels], np.float32)

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]:
        return {task: np.tile(prior, (len(texts), 1)) for task, prior in self.priors.items()}


class TfidfBaseline:
    """Character and word TF-IDF with logistic regression per head, trained on the training files."""

    name = "tfidf"

    def __init__(self, data: TrainingData, seed: int = 0):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_union

        self.schema = data.schema
        self.thresholds = _default_thresholds(data.schema)
        self.skipped: dict[str, str] = {}
        self.vectorizer = make_union(
            TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), min_df=2, sublinear_tf=True),
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), min_df=2, sublinear_tf=True),
        )
        self.vectorizer.fit(data.texts)
        self.heads = {}
        for task in data.schema.tasks:
            texts, ys = data.rows_for(task.name)
            reason = self._cannot_fit(task, ys)
            if reason:
                self.skipped[task.name] = reason
                continue
            self.heads[task.name] = self._fit(task, self.vectorizer.transform(texts), ys, seed)

    @staticmethod
    def _cannot_fit(task: Task, ys: list) -> str | None:
        if not ys:
            return _no_rows(task)
        if not task.multi and len(set(ys)) < 2:
            return f"the training rows carry only one '{task.name}' label ({ys[0]!r}); a classifier needs two"
        return None

    @staticmethod
    def _fit(task: Task, features, ys: list, seed: int):
        from sklearn.linear_model import LogisticRegression
        from sklearn.multiclass import OneVsRestClassifier
        from sklearn.preprocessing import MultiLabelBinarizer

        classifier = LogisticRegression(max_iter=2000, random_state=seed)
        if task.multi:
            targets = MultiLabelBinarizer(classes=list(task.labels)).fit_transform(ys)
            return OneVsRestClassifier(classifier).fit(features, targets)
        return classifier.fit(features, ys)

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]:
        features = self.vectorizer.transform(texts)
        out = {}
        for name, head in self.heads.items():
            probs = head.predict_proba(features).astype(np.float32)
            task = self.schema[name]
            if not task.multi:  # classes_ holds only the labels seen in training: place them in schema order
                full = np.zeros((len(texts), len(task.labels)), np.float32)
                full[:, [task.labels.index(c) for c in head.classes_]] = probs
                probs = full
            out[name] = probs
        return out


class ZeroShotBaseline:
    """Cosine similarity between text embeddings and label-description embeddings of the pre-trained backbone."""

    name = "zero-shot"

    def __init__(self, schema: LabelSchema, backbone: str, prefix: str, max_length: int = 128):
        from voc.models.backbone import load_backbone

        self.schema = schema
        self.prefix, self.max_length = prefix, max_length
        self.thresholds = _default_thresholds(schema)
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
