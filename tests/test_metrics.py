"""Metrics and calibration against hand-computed small cases."""

import numpy as np
import pytest

from voc.models.calibration import expected_calibration_error, reliability
from voc.models.metrics import headline, multi_label_metrics, single_label_metrics

LABELS = ("negative", "neutral", "positive")


def one_hot_probs(decided: list[int], k: int = 3, top: float = 0.8) -> np.ndarray:
    probs = np.full((len(decided), k), (1 - top) / (k - 1))
    probs[np.arange(len(decided)), decided] = top
    return probs


def test_single_label_metrics_by_hand():
    gold = np.array([0, 0, 1, 2])
    m = single_label_metrics(gold, one_hot_probs([0, 1, 1, 2]), LABELS)
    assert m["accuracy"] == pytest.approx(0.75)
    assert m["micro_f1"] == pytest.approx(0.75)
    # negative: P 1, R 1/2, F1 2/3; neutral: P 1/2, R 1, F1 2/3; positive: F1 1
    assert m["per_label"]["negative"] == pytest.approx(
        {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2, "predicted": 1}
    )
    assert m["per_label"]["neutral"]["precision"] == pytest.approx(0.5)
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1) / 3)
    assert m["confusion"] == [[1, 1, 0], [0, 1, 0], [0, 0, 1]]
    # every top probability is 0.8 and 3 of 4 are right: one bin, |0.75 - 0.8|
    assert m["calibration"]["ece"] == pytest.approx(0.05)


def test_macro_f1_ignores_a_label_absent_from_gold_and_decisions():
    m = single_label_metrics(np.array([0, 0, 2]), one_hot_probs([0, 0, 2]), LABELS)
    assert m["macro_f1"] == pytest.approx(1.0)
    assert m["per_label"]["neutral"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0, "predicted": 0}


def test_multi_label_metrics_by_hand_at_the_thresholds():
    gold = np.array([[1, 0], [0, 1], [1, 1]])
    probs = np.array([[0.9, 0.2], [0.6, 0.7], [0.4, 0.8]])
    m = multi_label_metrics(gold, probs, np.array([0.5, 0.5]), ("speed", "trust"))
    # decisions [[1,0],[1,1],[0,1]]: speed tp 1 fp 1 fn 1; trust tp 2
    assert m["per_label"]["speed"]["f1"] == pytest.approx(0.5)
    assert m["per_label"]["trust"]["f1"] == pytest.approx(1.0)
    assert m["micro_f1"] == pytest.approx(0.75)
    assert m["macro_f1"] == pytest.approx(0.75)
    assert m["accuracy"] == pytest.approx(1 / 3)  # exact match: only the first row
    assert m["confusion"][0] == [[0, 1], [1, 1]]
    raised = multi_label_metrics(gold, probs, np.array([0.65, 0.5]), ("speed", "trust"))
    assert raised["per_label"]["speed"]["precision"] == pytest.approx(1.0)
    assert raised["thresholds"] == {"speed": 0.65, "trust": 0.5}


def test_ece_by_hand():
    # bin (0.8, 0.9]: confidence 0.9, accuracy 0.5; bin (0.5, 0.6]: confidence 0.6, accuracy 1 -> 0.5*0.4 + 0.5*0.4
    conf, outcome = np.array([0.9, 0.9, 0.6, 0.6]), np.array([1, 0, 1, 1])
    assert expected_calibration_error(conf, outcome, n_bins=10) == pytest.approx(0.4)
    assert expected_calibration_error(np.full(4, 0.5), np.array([1, 0, 1, 0])) == pytest.approx(0.0)


def test_reliability_bins_hold_the_edges():
    bins = reliability(np.array([0.0, 0.2, 1.0]), np.array([0, 1, 1]), n_bins=5)["bins"]
    assert bins["count"] == [2, 0, 0, 0, 1]  # 0 and 0.2 in (0, 0.2], 1.0 in the last bin
    assert bins["confidence"][1] is None and bins["outcome_rate"][0] == pytest.approx(0.5)


def test_headline_picks_the_summary():
    m = single_label_metrics(np.array([0, 1]), one_hot_probs([0, 1]), LABELS)
    assert headline(m) == {"n": 2, "accuracy": 1.0, "macro_f1": 1.0, "micro_f1": 1.0, "ece": pytest.approx(0.2)}
