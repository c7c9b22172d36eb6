"""The alert's operating point per language: is one threshold for every language the right one?

``python -m voc.research.operating_points --model voc-classifier:latest`` reads the real validation and test
files, groups their rows by the language the model detects, and prints per language the alert (the schema's
``alert``, e.g. escalation.high) on the test rows under

- ``shared``: the model's own threshold, fitted by training on every language's real validation rows;
- ``own``: a threshold fitted the same way (``voc.training.calibration.alert_threshold``, the same recall
  target and precision floor) on that language's validation rows only;
- ``bound``: the best test recall any threshold reaches at the precision floor: a ceiling on what an
  operating point can do for this model, read off the test rows, so never a choice;

with 95% bootstrap intervals and the average precision of P(label) on test (how well the model ranks).
Results: docs/training.md.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
from sklearn.metrics import average_precision_score

from voc.models.paths import DATA
from voc.models.predictor import Predictor, label_thresholds, single_decisions
from voc.models.store import DEFAULT_MODEL, resolve_model
from voc.models.text import detect_language
from voc.training.calibration import alert_threshold

SOURCES = ["airline_en", "complaints_xci_en", "shop_reviews_ko"]


def read(split: str, task: str, labels: tuple[str, ...]) -> tuple[list[str], np.ndarray]:
    """The texts of the real files of ``split`` labelled for ``task``, and their gold label indices."""
    rows = []
    for source in SOURCES:
        with open(DATA / "real" / source / f"{split}.jsonl", encoding="utf-8") as f:
            rows += [r for r in map(json.loads, f) if r.get(task) is not None]
    return [r["text"] for r in rows], np.array([labels.index(r[task]) for r in rows])


def recall_precision(flagged: np.ndarray, positive: np.ndarray) -> tuple[float, float]:
    hits = (flagged & positive).sum()
    return hits / max(positive.sum(), 1), hits / max(flagged.sum(), 1)


def with_interval(flagged: np.ndarray, positive: np.ndarray, seed: int = 13, draws: int = 1000) -> str:
    """Recall and precision with 95% bootstrap intervals over the rows."""
    rng = np.random.default_rng(seed)
    samples = rng.integers(0, len(flagged), (draws, len(flagged)))
    low, high = np.percentile([recall_precision(flagged[i], positive[i]) for i in samples], [2.5, 97.5], axis=0)
    recall, precision = recall_precision(flagged, positive)
    return (
        f"recall {100 * recall:.1f} [{100 * low[0]:.1f}, {100 * high[0]:.1f}], "
        f"precision {100 * precision:.1f} [{100 * low[1]:.1f}, {100 * high[1]:.1f}]"
    )


def bound(scores: np.ndarray, positive: np.ndarray, floor: float) -> float:
    """The best recall any threshold on ``scores`` reaches at precision >= ``floor`` (0 when none does)."""
    reached = (recall_precision(scores >= t, positive) for t in np.unique(scores))
    return max((r for r, p in reached if p >= floor), default=0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=DEFAULT_MODEL)
    parser.add_argument("--backend", default=None)
    args = parser.parse_args()
    path, tag = resolve_model(args.model)
    predictor = Predictor.load(path, backend=args.backend, tag=tag)
    task, label = predictor.schema.alert
    labels = predictor.schema[task].labels
    k = labels.index(label)
    # The recall target and precision floor the model's own alert was fitted with (voc.json's training config).
    training = predictor.meta.get("training", {})
    recall, floor = training.get("alert_recall", 0.7), training.get("alert_min_precision", 0.5)
    shared = label_thresholds(predictor.thresholds.get(task, {}), labels, predictor.schema[task].default_threshold)
    splits = {}
    for split in ("validation", "test"):
        texts, gold = read(split, task, labels)
        languages = np.array([detect_language(t) for t in texts])
        splits[split] = (languages, gold, predictor.predict_proba(texts)[task])
    print(f"{tag}: {task}.{label}; own thresholds keep {recall:.0%} validation recall at precision >= {floor:.0%}")
    for lang in ("en", "ko", "mixed"):
        (v_lang, v_gold, v_probs), (t_lang, t_gold, t_probs) = splits["validation"], splits["test"]
        v_gold, v_probs = v_gold[v_lang == lang], v_probs[v_lang == lang]
        t_gold, t_probs = t_gold[t_lang == lang], t_probs[t_lang == lang]
        positive = t_gold == k
        if not positive.any():
            continue
        own = shared.copy()
        fitted = alert_threshold(v_probs, v_gold, k, recall, floor)
        own[k] = np.inf if fitted is None else fitted  # None: no threshold, the most probable label decides
        print(
            f"\n{lang}: validation {len(v_gold)} rows ({(v_gold == k).sum()} {label}), test {len(t_gold)} rows "
            f"({positive.sum()} {label}), test average precision "
            f"{100 * average_precision_score(positive, t_probs[:, k]):.1f}"
        )
        for name, thresholds in (("shared", shared), ("own", own)):
            at = "argmax" if np.isinf(thresholds[k]) else f"{thresholds[k]:.2f}"
            print(f"  {name} ({at}): {with_interval(single_decisions(t_probs, thresholds) == k, positive)}")
        print(f"  bound: {100 * bound(t_probs[:, k], positive, floor):.1f} recall at precision >= {floor:.0%}")


if __name__ == "__main__":
    main()
