"""Which unlabelled rows would teach the model most: uncertainty per head, then diversity.

Uncertainty of a single-label head is one minus the margin between its two most probable labels; of a
multi-label head, the closest any label comes to its decision threshold (1 at the threshold, 0 at 0 or
1). A row's score is the mean over heads. Picking the top rows by score alone would pick near-copies of
one confusing case, so the ``pool_factor * n`` most uncertain rows are clustered (k-means on the
embeddings, ``n`` clusters) and the most uncertain row of each cluster is taken.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voc.models.predictor import label_thresholds
from voc.models.schema import LabelSchema, Task

POOL_FACTOR = 5


def head_uncertainty(task: Task, probs: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """Per row in [0, 1]: 1 where the head cannot decide, 0 where it is sure."""
    if task.multi:
        span = np.where(probs >= thresholds, 1.0 - thresholds, thresholds)
        return (1.0 - np.abs(probs - thresholds) / np.clip(span, 1e-6, None)).max(axis=1)
    top2 = np.sort(probs, axis=1)[:, -2:]
    return 1.0 - (top2[:, 1] - top2[:, 0])


def uncertainty(
    probs: dict[str, np.ndarray], schema: LabelSchema, thresholds: dict[str, dict[str, float]]
) -> dict[str, np.ndarray]:
    """``head_uncertainty`` per task (multi-label thresholds from ``thresholds``, the schema's default where unset)."""
    out = {}
    for task in schema.tasks:
        if task.name in probs:
            chosen = thresholds.get(task.name, {}) if task.multi else {}
            thr = label_thresholds(chosen, task.labels, task.default_threshold)
            out[task.name] = head_uncertainty(task, probs[task.name], thr)
    return out


@dataclass(frozen=True)
class Pick:
    """A chosen row: its index, its score, its cluster and how many candidate rows that cluster holds."""

    index: int
    score: float
    cluster: int
    cluster_size: int


def select(scores: np.ndarray, embeddings: np.ndarray, n: int, seed: int = 13) -> list[Pick]:
    """The most uncertain row of each of ``n`` clusters among the ``POOL_FACTOR * n`` most uncertain rows,
    most uncertain first."""
    from sklearn.cluster import KMeans

    if n <= 0 or len(scores) == 0:
        return []
    candidates = np.argsort(-scores, kind="stable")[: POOL_FACTOR * n]
    k = min(n, len(candidates))
    clusters = KMeans(k, n_init=1, random_state=seed).fit_predict(embeddings[candidates])
    sizes = np.bincount(clusters, minlength=k)
    best: dict[int, int] = {}
    for i, c in zip(candidates, clusters):  # candidates are in score order: the first of a cluster wins
        best.setdefault(int(c), int(i))
    picks = [Pick(i, float(scores[i]), c, int(sizes[c])) for c, i in best.items()]
    return sorted(picks, key=lambda p: -p.score)
