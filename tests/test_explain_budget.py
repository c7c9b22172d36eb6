"""The per-request explain budget: counted in forward passes per text, refused with how many items fit."""

from __future__ import annotations

from voc.models.evidence import MAX_UNITS
from voc.serving.contract import LIMITS
from voc.serving.explain_budget import MAX_EXPLAIN_PASSES, explain_problem

LONG = " ".join(["단어"] * 2000)  # 4,000 characters, far more words than MAX_UNITS


def test_the_largest_texts_fit_two_to_a_request():
    assert explain_problem([LONG] * 2) is None
    problem = explain_problem([LONG] * 64)
    assert problem is not None
    assert f"64 texts costs {64 * (MAX_UNITS + 1):,} forward passes" in problem
    assert f"limit of {MAX_EXPLAIN_PASSES}" in problem and "send the first 2" in problem


def test_short_texts_cost_less():
    assert explain_problem(["배송이 늦어요 환불 해주세요"] * 25) is None  # 5 passes each
    assert "send the first 25" in explain_problem(["배송이 늦어요 환불 해주세요"] * 64)


def test_the_budget_is_in_the_limits_the_pages_show():
    assert f"at most {MAX_EXPLAIN_PASSES} forward passes" in LIMITS
