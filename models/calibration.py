"""Calibration: expected calibration error (ECE) and the reliability curve it is computed from.

Both take a confidence in [0, 1] and a 0/1 outcome per prediction. For a single-label head the
confidence is the top probability and the outcome whether the top label is right; for a multi-label
head every (row, label) pair counts, with the label's probability and whether the label is present.
A well-calibrated head has outcome rate equal to confidence in every bin.
"""

from __future__ import annotations

import numpy as np

N_BINS = 15


def reliability(confidence: np.ndarray, outcome: np.ndarray, n_bins: int = N_BINS) -> dict:
    """Equal-width bins over [0, 1]: per bin the count, mean confidence and outcome rate, plus the ECE.

    ECE = sum over bins of (bin count / total) * |outcome rate - mean confidence|; empty bins add
    nothing and report ``None`` for their means.
    """
    confidence = np.asarray(confidence, dtype=np.float64).ravel()
    outcome = np.asarray(outcome, dtype=np.float64).ravel()
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # right-closed bins (lo, hi], with 0 in the first
    index = np.searchsorted(edges[1:-1], confidence, side="left")
    counts = np.bincount(index, minlength=n_bins)
    conf_sum = np.bincount(index, weights=confidence, minlength=n_bins)
    out_sum = np.bincount(index, weights=outcome, minlength=n_bins)
    filled = counts > 0
    mean_conf = np.divide(conf_sum, counts, out=np.zeros(n_bins), where=filled)
    rate = np.divide(out_sum, counts, out=np.zeros(n_bins), where=filled)
    total = max(int(counts.sum()), 1)
    ece = float(np.sum(counts / total * np.abs(rate - mean_conf)))
    return {
        "ece": ece,
        "bins": {
            "edges": edges.round(6).tolist(),
            "count": counts.tolist(),
            "confidence": [float(c) if f else None for c, f in zip(mean_conf, filled)],
            "outcome_rate": [float(r) if f else None for r, f in zip(rate, filled)],
        },
    }


def expected_calibration_error(confidence: np.ndarray, outcome: np.ndarray, n_bins: int = N_BINS) -> float:
    """The ECE alone (see :func:`reliability`)."""
    return reliability(confidence, outcome, n_bins)["ece"]
