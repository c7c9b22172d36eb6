"""Bootstrap intervals: with every row counted once they reproduce the metrics exactly; intervals are
seeded, contain the point estimate and narrow with more rows; paired differences see shared noise."""

from __future__ import annotations

import numpy as np
import pytest

from voc.evaluation.bootstrap import HeadStats, intervals
from voc.models.metrics import multi_label_metrics, single_label_metrics

LABELS3 = ("low", "medium", "high")
THEMES = ("speed", "empathy", "resolution", "trust")


def single_case(n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    gold = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 2.0 * np.eye(3)[gold]
    probs = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    return gold, probs


def test_unit_weights_reproduce_the_metrics():
    gold, probs = single_case(300)
    overrides = np.array([np.inf, np.inf, 0.3])
    expected = single_label_metrics(gold, probs, LABELS3, overrides)
    got = HeadStats(False, gold, probs, overrides).scores(np.ones(len(gold)))
    for metric in ("accuracy", "macro_f1", "micro_f1"):
        assert got[metric] == pytest.approx(expected[metric], abs=1e-12), metric
    assert got["ece"] == pytest.approx(expected["calibration"]["ece"], abs=1e-12)

    rng = np.random.default_rng(1)
    mgold = rng.integers(0, 2, (200, 4))
    mprobs = np.clip(mgold * 0.6 + rng.uniform(0, 0.5, (200, 4)), 0, 1)
    thresholds = np.array([0.5, 0.4, 0.6, 0.5])
    expected = multi_label_metrics(mgold, mprobs, thresholds, THEMES)
    got = HeadStats(True, mgold, mprobs, thresholds).scores(np.ones(200))
    for metric in ("accuracy", "macro_f1", "micro_f1"):
        assert got[metric] == pytest.approx(expected[metric], abs=1e-12), metric
    assert got["ece"] == pytest.approx(expected["calibration"]["ece"], abs=1e-12)


def test_intervals_are_seeded_contain_the_estimate_and_narrow_with_rows():
    def width(n: int) -> tuple[float, dict]:
        gold, probs = single_case(n)
        stats = {"model": HeadStats(False, gold, probs, np.full(3, np.inf))}
        per_system, _ = intervals(stats, "macro_f1", n=300)
        low, high = per_system["model"]["macro_f1"]
        estimate = stats["model"].scores(np.ones(n))["macro_f1"]
        assert low <= estimate <= high
        return high - low, per_system

    small, first = width(200)
    large, _ = width(5000)
    assert large < small / 3
    assert width(200)[1] == first  # same seed, same numbers


def test_paired_difference_of_identical_systems_is_zero_and_of_a_better_one_positive():
    gold, probs = single_case(400)
    worse = 0.5 * probs + 0.5 / 3  # flatter, same decisions for most rows
    rng = np.random.default_rng(3)
    noisy = probs.copy()
    flip = rng.random(400) < 0.3
    noisy[flip] = noisy[flip][:, ::-1]
    none = np.full(3, np.inf)
    stats = {
        "model": HeadStats(False, gold, probs, none),
        "same": HeadStats(False, gold, worse, none),
        "noisy": HeadStats(False, gold, noisy, none),
    }
    _, paired = intervals(stats, "macro_f1", n=300)
    assert paired["same"] == [0.0, 0.0]
    assert paired["noisy"][0] > 0
