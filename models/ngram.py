"""A character and word n-gram model (hashed TF-IDF + logistic regression, one per task).

On Korean, character n-grams start ahead of a small multilingual encoder; the saved model holds this
part beside the encoder and combines their logits (weights fitted on validation). It is stored as plain
arrays in safetensors — no pickle — and its features are hashed, so there is no vocabulary to store.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy import sparse

from .arrays import load_arrays, save_arrays
from .errors import ModelFileError
from .schema import LabelSchema
from .text import clean_text

N_FEATURES = 2**19  # per analyser; collisions cost little at this size and the file stays small
FILE = "ngram.safetensors"


def _vectorizers():
    from sklearn.feature_extraction.text import HashingVectorizer

    # float32 features: the product with the float32 weights then needs no upcast copy of the weights
    common = {"n_features": N_FEATURES, "alternate_sign": False, "norm": None, "lowercase": True, "dtype": np.float32}
    return (
        HashingVectorizer(analyzer="char_wb", ngram_range=(1, 4), **common),
        HashingVectorizer(analyzer="word", ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b", **common),
    )


class NgramModel:
    """``fit(texts, labels)`` then ``logits(texts)``: per task an array [n, n_labels] of decision values."""

    def __init__(self, schema: LabelSchema, c: float = 4.0):
        self.schema, self.c = schema, c
        self.idf: np.ndarray | None = None
        # Per task a contiguous [features, labels] matrix: a sparse batch times it copies no weights.
        self.weight: dict[str, np.ndarray] = {}
        self.intercept: dict[str, np.ndarray] = {}

    def _counts(self, texts: list[str], cleaned: bool = False) -> sparse.csr_matrix:
        chars, words = _vectorizers()
        if not cleaned:
            texts = [clean_text(t) for t in texts]
        return sparse.hstack([chars.transform(texts), words.transform(texts)], format="csr")

    def _features(self, texts: list[str], cleaned: bool = False) -> sparse.csr_matrix:
        from sklearn.preprocessing import normalize

        x = self._counts(texts, cleaned)
        x.data = (1.0 + np.log(x.data)) * self.idf[x.indices]  # sublinear tf times idf
        return normalize(x, norm="l2", copy=False)

    def fit(self, texts: list[str], labels: dict[str, list]) -> NgramModel:
        """Fit on ``texts`` with per-task label lists (``None`` where a row lacks that task)."""
        from sklearn.linear_model import LogisticRegression

        counts = self._counts(texts)
        df = np.bincount(counts.indices, minlength=counts.shape[1])
        self.idf = (np.log((1 + len(texts)) / (1 + df)) + 1.0).astype(np.float32)
        x = self._features(texts)
        for task in self.schema.tasks:
            rows = [i for i, y in enumerate(labels[task.name]) if y is not None]
            if not rows:
                continue
            ys = [labels[task.name][i] for i in rows]
            if task.multi:
                coefs, bias = [], []
                for label in task.labels:
                    y = np.array([label in v for v in ys], dtype=int)
                    coef, intercept = _fit_lr(LogisticRegression, x[rows], y, self.c)
                    coefs.append(coef[0])
                    bias.append(intercept[0])
                self.weight[task.name] = _as_float16_exact(np.stack(coefs).T)
                self.intercept[task.name] = np.array(bias)
            else:
                y = np.array([task.labels.index(v) for v in ys])
                coef, self.intercept[task.name] = _fit_multiclass(
                    LogisticRegression, x[rows], y, len(task.labels), self.c
                )
                self.weight[task.name] = _as_float16_exact(coef.T)
        return self

    def logits(self, texts: list[str], cleaned: bool = False) -> dict[str, np.ndarray]:
        """Decision values per task; ``cleaned``: the texts already went through ``clean_text`` (the
        predictor cleans each text once for both parts)."""
        x = self._features(texts, cleaned)
        return {name: np.asarray(x @ weight) + self.intercept[name] for name, weight in self.weight.items()}

    def save(self, path: str | Path) -> None:
        arrays = {"idf": self.idf}
        for name in self.weight:  # stored as used: [features, labels]
            arrays[f"{name}.weight"] = self.weight[name].astype(np.float16)
            arrays[f"{name}.intercept"] = self.intercept[name].astype(np.float32)
        meta = {"params": json.dumps({"c": self.c, "n": N_FEATURES})}
        save_arrays(arrays, Path(path) / FILE, metadata=meta)

    @classmethod
    def load(cls, path: str | Path, schema: LabelSchema) -> NgramModel | None:
        """The n-gram part of a model directory, or None if the model has none."""
        file = Path(path) / FILE
        if not file.is_file():
            return None
        arrays = load_arrays(file)
        model = cls(schema)
        model.idf = arrays["idf"]
        for task in schema.tasks:
            if f"{task.name}.weight" in arrays:
                weight, intercept = arrays[f"{task.name}.weight"], arrays[f"{task.name}.intercept"]
                if weight.shape != (2 * N_FEATURES, len(task.labels)) or intercept.shape != (len(task.labels),):
                    raise ModelFileError(
                        f"{file}: '{task.name}' has shape {weight.shape}, expected {(2 * N_FEATURES, len(task.labels))}"
                        " for the labels in voc.json; the file belongs to another model: retrain or restore it"
                    )
                model.weight[task.name] = weight.astype(np.float32)
                model.intercept[task.name] = intercept
        return model


def _as_float16_exact(weight: np.ndarray) -> np.ndarray:
    """The weights as stored (float16), held in float32: the model in memory is exactly the saved one."""
    return np.ascontiguousarray(weight.astype(np.float16).astype(np.float32))


def _fit_lr(lr_class, x, y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Binary logistic regression -> (coef [1, d], intercept [1]); a constant label gives a constant logit."""
    if y.min() == y.max():
        return np.zeros((1, x.shape[1]), np.float32), np.array([10.0 if y[0] else -10.0], np.float32)
    clf = lr_class(C=c, max_iter=2000, solver="liblinear").fit(x, y)
    return clf.coef_.astype(np.float32), clf.intercept_.astype(np.float32)


def _fit_multiclass(lr_class, x, y: np.ndarray, n_labels: int, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Multinomial logistic regression over the labels present; absent labels get a very low logit."""
    coef = np.zeros((n_labels, x.shape[1]), np.float32)
    intercept = np.full(n_labels, -10.0, np.float32)
    present = np.unique(y)
    if len(present) == 1:
        intercept[present[0]] = 10.0
        return coef, intercept
    clf = lr_class(C=c, max_iter=2000).fit(x, y)
    if len(present) == 2:  # sklearn returns one row for two classes: logit of the second vs the first
        coef[present[1]], intercept[present[1]] = clf.coef_[0], clf.intercept_[0]
        intercept[present[0]] = 0.0
    else:
        coef[present], intercept[present] = clf.coef_, clf.intercept_
    return coef, intercept
