"""Classification metrics for one head, from gold labels and probabilities (scikit-learn underneath).

Single-label heads decide by argmax unless the model sets an operating threshold for a label (escalation
"high", tuned for recall); multi-label heads decide each label by its threshold (the model's
tuned operating point). Both return the same shape of dict, so reports and comparisons treat heads
alike:

``{"type", "labels", "n", "accuracy", "macro_f1", "micro_f1", "per_label": {label: {precision, recall,
f1, support, predicted}}, "confusion", "calibration": {"ece", "bins"}}``

For multi-label heads ``accuracy`` is exact-match (every label of the row right) and ``confusion`` holds
one ``[[tn, fp], [fn, tp]]`` per label. Macro F1 averages over the labels that occur in the gold data
or in the decisions (scikit-learn's rule for single-label data), so a label absent from a small test
set does not count as a zero.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score, multilabel_confusion_matrix
from sklearn.metrics import precision_recall_fscore_support as prfs

from .calibration import reliability
from .predictor import single_decisions
from .schema import LabelSchema, Task

# The number a head is judged by: macro F1 weighs every sentiment/escalation class equally; themes are
# many sparse binary decisions, where micro F1 is the stable summary.
MAIN_METRIC = {"single": "macro_f1", "multi": "micro_f1"}
HEADLINE = ("accuracy", "macro_f1", "micro_f1")


def _label_table(labels: tuple[str, ...], gold, decided, predicted: np.ndarray) -> tuple[dict, float]:
    """Per-label precision/recall/F1/support/predicted and the macro F1 over labels seen in gold or decisions."""
    index = list(range(len(labels)))
    precision, recall, f1, support = prfs(gold, decided, labels=index, zero_division=0)
    seen = (support + predicted) > 0
    table = {
        label: {
            "precision": float(precision[i]),
            "recall": float(recall[i]),
            "f1": float(f1[i]),
            "support": int(support[i]),
            "predicted": int(predicted[i]),
        }
        for i, label in enumerate(labels)
    }
    return table, float(f1[seen].mean()) if seen.any() else 0.0


def single_label_metrics(
    gold: np.ndarray, probs: np.ndarray, labels: tuple[str, ...], overrides: np.ndarray | None = None
) -> dict:
    """Metrics of a softmax head: ``gold`` holds label indices [n], ``probs`` is [n, len(labels)];
    ``overrides`` are the model's per-label operating thresholds (``voc.models.predictor.single_decisions``)."""
    decided = single_decisions(probs, overrides if overrides is not None else np.full(len(labels), np.inf))
    per_label, macro = _label_table(labels, gold, decided, np.bincount(decided, minlength=len(labels)))
    return {
        "type": "single",
        "labels": list(labels),
        "n": int(len(gold)),
        "accuracy": float(accuracy_score(gold, decided)),
        "macro_f1": macro,
        "micro_f1": float(f1_score(gold, decided, average="micro", labels=list(range(len(labels))))),
        "per_label": per_label,
        "confusion": confusion_matrix(gold, decided, labels=list(range(len(labels)))).tolist(),
        "calibration": reliability(probs.max(axis=1), decided == gold),
    }


def multi_label_metrics(gold: np.ndarray, probs: np.ndarray, thresholds: np.ndarray, labels: tuple[str, ...]) -> dict:
    """Metrics of a sigmoid head: ``gold`` is a 0/1 matrix [n, k], a label is decided when prob >= its threshold."""
    decided = (probs >= thresholds[None, :]).astype(np.int8)
    per_label, macro = _label_table(labels, gold, decided, decided.sum(axis=0))
    return {
        "type": "multi",
        "labels": list(labels),
        "n": int(len(gold)),
        "accuracy": float(accuracy_score(gold, decided)),
        "macro_f1": macro,
        "micro_f1": float(f1_score(gold, decided, average="micro", zero_division=0)),
        "per_label": per_label,
        "thresholds": {label: float(t) for label, t in zip(labels, thresholds)},
        "confusion": multilabel_confusion_matrix(gold, decided).tolist(),
        "calibration": reliability(probs, gold),
    }


def headline(task_metrics: dict) -> dict:
    """The summary numbers of a head's metrics: n, accuracy, macro and micro F1, ECE."""
    return {
        "n": task_metrics["n"],
        **{k: task_metrics[k] for k in HEADLINE},
        "ece": task_metrics["calibration"]["ece"],
    }


def head_metrics(task: Task, gold: np.ndarray, probs: np.ndarray, thresholds: np.ndarray) -> dict:
    """A head's metrics at its decision thresholds (``voc.models.predictor.label_thresholds``): ``gold`` as
    :func:`gold_arrays` gives it."""
    if task.multi:
        return multi_label_metrics(gold.astype(int), probs, thresholds, task.labels)
    return single_label_metrics(gold, probs, task.labels, thresholds)


def gold_arrays(rows: list[dict], schema: LabelSchema) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per task: (mask of rows that carry it, gold of those rows as class indices or a 0/1 matrix)."""
    out = {}
    for task in schema.tasks:
        has = np.array([r[task.name] is not None for r in rows])
        values = [r[task.name] for r in rows if r[task.name] is not None]
        if task.multi:
            gold = np.array([[label in v for label in task.labels] for v in values], dtype=np.float32)
        else:
            gold = np.array([task.labels.index(v) for v in values])
        out[task.name] = (has, gold.reshape(len(values), -1) if task.multi else gold)
    return out
