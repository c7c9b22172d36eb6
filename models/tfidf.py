"""A character/word TF-IDF model with logistic regression per head, fitted in seconds on labelled files.

Evaluation compares the fine-tuned model with it (the ``tfidf`` baseline, ``voc.evaluation.baselines``) and
research averages it into its cheap stand-in for the fine-tuned model (``voc.research.features``). TF-IDF runs
over character n-grams within word boundaries (1-4, which handles Korean without a tokenizer) plus word
uni/bigrams; one-vs-rest for multi-label heads.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .data import iter_labelled
from .schema import LabelSchema, Task


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


def default_thresholds(schema: LabelSchema) -> dict[str, dict[str, float]]:
    """The schema's default operating points of the multi-label heads (a model fitted here gets no tuning)."""
    return {t.name: dict.fromkeys(t.labels, t.default_threshold) for t in schema.tasks if t.multi}


def no_rows(task: Task) -> str:
    """Why a head was left out: no training row carries it."""
    return f"no training row is labelled for '{task.name}'"


class TfidfBaseline:
    """Character and word TF-IDF with logistic regression per head, trained on the training files."""

    name = "tfidf"

    def __init__(self, data: TrainingData, seed: int = 0):
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.pipeline import make_union

        self.schema = data.schema
        self.thresholds = default_thresholds(data.schema)
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
            return no_rows(task)
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
