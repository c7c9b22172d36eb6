"""The accuracy gate for faster backends: each one scores the validation files beside PyTorch float32.

The files are the written validation split and the real-text ones (:data:`VALIDATION_FILES`): a backend must
keep its accuracy on real customer text too. Per backend it records the decision agreement with the reference
(per head, and all heads at once, over all files), every headline metric (macro-F1 for single-label heads,
micro-F1 for multi-label ones) per file with its change in points, and its throughput. A backend that loses
more than :data:`MAX_DROP_POINTS` on any headline metric of any file fails the gate and is never the default;
the default is the first backend that passes in :data:`PREFERENCE`, the order of their speed as ``voc bench``
measures it on a quiet machine: the gate's own texts/s are printed but do not choose, since a busy machine
(``voc train`` runs beside other jobs) ranked torch above ONNX once (36 against 26 texts/s) and made the
1.4 GB PyTorch path the service's default.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .data import DataError, iter_labelled
from .metrics import MAIN_METRIC, gold_arrays, head_metrics
from .paths import DATA
from .predictor import label_thresholds, single_decisions

MAX_DROP_POINTS = 0.5
REFERENCE = "torch"
PREFERENCE = ("onnx-int8", "onnx", "torch-int8", "torch")  # fastest first (docs/performance.md)
VALIDATION_FILES = (
    DATA / "voc" / "validation.jsonl",
    DATA / "real" / "airline_en" / "validation.jsonl",
    DATA / "real" / "shop_reviews_ko" / "validation.jsonl",
)
CHUNK_ROWS = 512  # rows per predict_proba call: voc.evaluation.collect's chunk


def decisions(predictor, probs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Per head, each row's decision: a label index, or the 0/1 vector of labels over their thresholds."""
    out = {}
    for task in predictor.schema.tasks:
        thresholds = label_thresholds(predictor.thresholds.get(task.name, {}), task.labels, task.default_threshold)
        if task.multi:
            out[task.name] = probs[task.name] >= thresholds[None, :]
        else:
            out[task.name] = single_decisions(probs[task.name], thresholds)
    return out


def score(predictor, file: Path) -> dict:
    """Headline metrics, decisions and throughput of one backend on a labelled file. Scored in chunks of
    :data:`CHUNK_ROWS` rows as ``voc evaluate`` scores them (dynamic int8 quantises activations per pass, so the
    chunks decide which texts share one), so that its figures are ``voc evaluate``'s."""
    rows = list(iter_labelled(file, predictor.schema))
    if not rows:
        raise DataError(f"{file}: no rows")
    parts, seconds = [], 0.0
    for start in range(0, len(rows), CHUNK_ROWS):
        started = time.perf_counter()
        parts.append(predictor.predict_proba([r["text"] for r in rows[start : start + CHUNK_ROWS]]))
        seconds += time.perf_counter() - started
    probs = {t: np.concatenate([p[t] for p in parts]) for t in predictor.schema.names}
    headline = {}
    for task, (has, gold) in gold_arrays(rows, predictor.schema).items():
        if has.any():
            head = predictor.schema[task]
            thresholds = label_thresholds(predictor.thresholds.get(task, {}), head.labels, head.default_threshold)
            metrics = head_metrics(head, gold, probs[task][has].astype(np.float32), thresholds)
            headline[task] = round(metrics[MAIN_METRIC[head.type]], 4)
    return {
        "metrics": headline,
        "decisions": decisions(predictor, probs),
        "rows": len(rows),
        "texts_per_s": round(len(rows) / seconds, 1),
    }


def run_gate(loaders: dict[str, Callable[[], Any]], files: Sequence[Path]) -> dict:
    """Score each file with each backend and judge each against ``torch`` on every file and head.

    ``loaders``: backend name -> a function that loads its Predictor (``torch`` among them). Backends are
    loaded one at a time and released once scored, so that the gate holds one model, not all of them.
    Returns ``{"files", "rows", "max_drop_points", "default", "backends": {name: {"metrics", "delta_points",
    "agreement", "texts_per_s", "passes"}}}``, metrics and deltas per file then per head."""
    scored = {}
    for name, load in loaders.items():
        predictor = load()
        scored[name] = {str(file): score(predictor, file) for file in files}
        del predictor  # the next backend's model should not sit beside this one
    ref, keys = scored[REFERENCE], [str(file) for file in files]

    def decided(name: str, task: str) -> np.ndarray:  # one backend's decisions on all files, in file order
        return np.concatenate([scored[name][f]["decisions"][task] for f in keys])

    backends = {}
    for name, per_file in scored.items():
        same = {t: _same(decided(name, t), decided(REFERENCE, t)) for t in ref[keys[0]]["decisions"]}
        delta = {
            f: {t: round(100 * (s["metrics"][t] - ref[f]["metrics"][t]), 2) for t in ref[f]["metrics"]}
            for f, s in per_file.items()
        }
        seconds = sum(s["rows"] / s["texts_per_s"] for s in per_file.values())
        every = np.all(list(same.values()), axis=0)
        backends[name] = {
            "metrics": {f: s["metrics"] for f, s in per_file.items()},
            "delta_points": delta,
            "agreement": {
                **{t: round(float(a.mean()), 4) for t, a in same.items()},
                "all": round(float(every.mean()), 4),
            },
            "texts_per_s": round(sum(s["rows"] for s in per_file.values()) / seconds, 1),
            "passes": all(d >= -MAX_DROP_POINTS for per_head in delta.values() for d in per_head.values()),
        }
    ranked = [n for n in PREFERENCE if n in backends] + [n for n in backends if n not in PREFERENCE]
    default = next(n for n in ranked if backends[n]["passes"])
    return {
        "files": [str(f) for f in files],
        "rows": {f: s["rows"] for f, s in ref.items()},
        "max_drop_points": MAX_DROP_POINTS,
        "default": default,
        "backends": backends,
    }


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise equality of decisions (all labels equal, for multi-label heads)."""
    return (a == b).all(axis=1) if a.ndim == 2 else a == b


def gate_table(gate: dict) -> str:
    """The gate as a Markdown table, a row per backend and file (the model card and ``voc export`` print it)."""
    first = gate["files"][0]
    tasks = list(gate["backends"][REFERENCE]["metrics"][first])
    head = ["backend", "data", *[f"{t} (Δ pts)" for t in tasks], "agreement (all heads)", "texts/s", "gate"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, b in gate["backends"].items():
        verdict = "reference" if name == REFERENCE else "passes" if b["passes"] else "**fails**: not used by default"
        for file in gate["files"]:
            cells = [f"{b['metrics'][file][t]:.3f} ({b['delta_points'][file][t]:+.2f})" for t in tasks]
            label = f"{name}{' (default)' if name == gate['default'] else ''}" if file == first else ""
            totals = [f"{b['agreement']['all']:.3f}", f"{b['texts_per_s']:.0f}", verdict] if file == first else [""] * 3
            lines.append(
                f"| {label} | {short_name(file)} ({gate['rows'][file]}) | " + " | ".join(cells + totals) + " |"
            )
    return "\n".join(lines)


def short_name(file: str) -> str:
    """``data/real/airline_en/validation.jsonl`` -> ``airline_en/validation``."""
    return f"{Path(file).parent.name}/{Path(file).stem}"
