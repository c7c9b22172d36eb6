"""The accuracy gate for faster backends: each one scores the validation split beside PyTorch float32.

Per backend it records the decision agreement with the reference (per head, and all heads at once), every
headline metric (macro-F1 for single-label heads, micro-F1 for multi-label ones) with its change in points,
and its throughput on that split. A backend that loses more than :data:`MAX_DROP_POINTS` on any headline
metric fails the gate and is never the default; the default is the fastest backend that passes.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from models.predictor import label_thresholds, single_decisions

from .metrics import MAIN_METRIC
from .run import evaluate_files

MAX_DROP_POINTS = 0.5
REFERENCE = "torch"


class _Recording:
    """A predictor as evaluation sees it, keeping every probability it hands out (in row order)."""

    def __init__(self, predictor) -> None:
        self.predictor, self.schema, self.thresholds = predictor, predictor.schema, predictor.thresholds
        self.tag, self.probs, self.seconds = predictor.tag, [], 0.0

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]:
        started = time.perf_counter()
        probs = self.predictor.predict_proba(texts)
        self.seconds += time.perf_counter() - started
        self.probs.append(probs)
        return probs


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
    """Headline metrics, decisions and throughput of one backend on a labelled file."""
    recording = _Recording(predictor)
    metrics = evaluate_files(recording, [file], progress=False)
    probs = {t: np.concatenate([p[t] for p in recording.probs]) for t in predictor.schema.names}
    headline = {task: round(m[MAIN_METRIC[m["type"]]], 4) for task, m in metrics["systems"]["model"].items()}
    rows = metrics["rows"]
    return {
        "metrics": headline,
        "decisions": decisions(predictor, probs),
        "rows": rows,
        "texts_per_s": round(rows / recording.seconds, 1),
    }


def run_gate(predictors: dict, file: Path) -> dict:
    """Score ``file`` with each backend (``predictors``: backend name -> Predictor, ``torch`` among them) and
    judge each against ``torch``; returns ``{"file", "max_drop_points", "default", "backends": {...}}``."""
    scored = {name: score(p, file) for name, p in predictors.items()}
    ref = scored[REFERENCE]
    backends = {}
    for name, s in scored.items():
        agree = {t: float(np.mean(_same(s["decisions"][t], ref["decisions"][t]))) for t in ref["decisions"]}
        every = np.all([_same(s["decisions"][t], ref["decisions"][t]) for t in ref["decisions"]], axis=0)
        delta = {t: round(100 * (s["metrics"][t] - ref["metrics"][t]), 2) for t in ref["metrics"]}
        backends[name] = {
            "metrics": s["metrics"],
            "delta_points": delta,
            "agreement": {**{t: round(a, 4) for t, a in agree.items()}, "all": round(float(every.mean()), 4)},
            "texts_per_s": s["texts_per_s"],
            "passes": all(d >= -MAX_DROP_POINTS for d in delta.values()),
        }
    passing = [n for n, b in backends.items() if b["passes"]]
    default = max(passing, key=lambda n: backends[n]["texts_per_s"])
    return {
        "file": str(file),
        "rows": ref["rows"],
        "max_drop_points": MAX_DROP_POINTS,
        "default": default,
        "backends": backends,
    }


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Row-wise equality of decisions (all labels equal, for multi-label heads)."""
    return (a == b).all(axis=1) if a.ndim == 2 else a == b


def gate_table(gate: dict) -> str:
    """The gate as a Markdown table (the model card and ``voc export`` print it)."""
    tasks = list(gate["backends"][REFERENCE]["metrics"])
    head = ["backend", *[f"{t} (Δ pts)" for t in tasks], "agreement (all heads)", "texts/s", "gate"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, b in gate["backends"].items():
        cells = [f"{b['metrics'][t]:.3f} ({b['delta_points'][t]:+.2f})" for t in tasks]
        verdict = "reference" if name == REFERENCE else "passes" if b["passes"] else "**fails**: not used by default"
        lines.append(
            f"| {name}{' (default)' if name == gate['default'] else ''} | "
            + " | ".join(cells)
            + f" | {b['agreement']['all']:.3f} | {b['texts_per_s']:.0f} | {verdict} |"
        )
    return "\n".join(lines)
