"""Features and a cheap model for research loops that must retrain many times in seconds.

``embed_texts`` gives the frozen backbone's mean-pooled, L2-normalised sentence embeddings, cached on
disk by content so that an audit or a simulation rerun pays for the encoder once. ``CheapModel`` is
logistic regression per head on those embeddings, optionally averaged with the character/word TF-IDF
baseline (``voc.models.tfidf.TfidfBaseline``), so its probabilities are a fast stand-in for the
fine-tuned model's.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np

from voc.models.backbone import DEFAULT_BACKBONE, embed, load_backbone, text_prefix, voc_home
from voc.models.ngram import _fit_lr, _fit_multiclass
from voc.models.predictor import calibrated_probs
from voc.models.schema import LabelSchema
from voc.models.tfidf import TfidfBaseline, TrainingData

EMBED_MAX_LENGTH = 128


def embed_texts(texts: list[str], backbone: str = DEFAULT_BACKBONE, cache: bool = True) -> np.ndarray:
    """Frozen-encoder embeddings [n, hidden] (float32, L2-normalised), from ``$VOC_HOME/embeddings`` when
    the same texts were embedded with the same backbone before."""
    key = hashlib.sha256("\0".join([backbone, str(EMBED_MAX_LENGTH), *texts]).encode("utf-8")).hexdigest()[:24]
    path = voc_home() / "embeddings" / f"{key}.npy"
    if cache and path.is_file():
        return np.load(path)
    encoder, tokenizer = load_backbone(backbone)
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # batches of similar length pad little
    vectors = embed(encoder, tokenizer, [texts[i] for i in order], text_prefix(backbone), max_length=EMBED_MAX_LENGTH)
    out = np.empty_like(vectors)
    out[order] = vectors
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, out)
    return out


@dataclass
class CheapModel:
    """Per head: logistic regression on embeddings (softmax for single-label heads, one sigmoid per label
    for multi-label ones), averaged with the TF-IDF baseline's probabilities when ``ngrams`` is on."""

    schema: LabelSchema
    ngrams: bool = False
    c: float = 10.0  # on unit-length embeddings a weaker penalty fits far better (validation: C=1 0.70, C=10 0.75)
    weights: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)
    ngram: TfidfBaseline | None = None

    def fit(self, texts: list[str], embeddings: np.ndarray, labels: dict[str, list]) -> CheapModel:
        """Fit on rows with per-task label lists (``None`` where a row lacks that task)."""
        from sklearn.linear_model import LogisticRegression as LR

        for task in self.schema.tasks:
            rows = [i for i, y in enumerate(labels[task.name]) if y is not None]
            if not rows:
                continue
            x, ys = embeddings[rows], [labels[task.name][i] for i in rows]
            if task.multi:
                fitted = [_fit_lr(LR, x, np.array([label in y for y in ys], int), self.c) for label in task.labels]
                self.weights[task.name] = (
                    np.concatenate([w for w, _ in fitted]),
                    np.concatenate([b for _, b in fitted]),
                )
            else:
                y = np.array([task.labels.index(v) for v in ys])
                self.weights[task.name] = _fit_multiclass(LR, x, y, len(task.labels), self.c)
        if self.ngrams:
            self.ngram = TfidfBaseline(TrainingData(self.schema, texts=list(texts), labels=labels))
        return self

    def predict_proba(self, texts: list[str], embeddings: np.ndarray) -> dict[str, np.ndarray]:
        """Probabilities per fitted task, [n, n_labels] in the schema's label order."""
        ngram = self.ngram.predict_proba(texts) if self.ngram is not None else {}
        out = {}
        for task in self.schema.tasks:
            if task.name not in self.weights:
                continue
            coef, bias = self.weights[task.name]
            probs = calibrated_probs(embeddings @ coef.T + bias, task.multi, 1.0)
            if task.name in ngram:
                probs = (probs + ngram[task.name]) / 2
            out[task.name] = probs
        return out


def out_of_fold(
    texts: list[str],
    embeddings: np.ndarray,
    labels: dict[str, list],
    schema: LabelSchema,
    folds: int = 5,
    seed: int = 13,
    ngrams: bool = True,
) -> dict[str, np.ndarray]:
    """Each row's probabilities from a CheapModel that never saw it (k-fold); NaN for a task it lacks."""
    from sklearn.model_selection import KFold

    out = {t.name: np.full((len(texts), len(t.labels)), np.nan) for t in schema.tasks}
    for train, held in KFold(folds, shuffle=True, random_state=seed).split(texts):
        model = CheapModel(schema, ngrams=ngrams).fit(
            [texts[i] for i in train], embeddings[train], {t: [labels[t][i] for i in train] for t in labels}
        )
        for task, probs in model.predict_proba([texts[i] for i in held], embeddings[held]).items():
            out[task][held] = probs
    for task in schema.tasks:
        out[task.name][[y is None for y in labels[task.name]]] = np.nan
    return out
