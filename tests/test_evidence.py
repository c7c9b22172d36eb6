"""Occlusion evidence with the tiny model: offsets into the text as sent, the unit cap, predictions untouched."""

from __future__ import annotations

import unicodedata

import numpy as np
import pytest

from voc.models import evidence
from voc.models.evidence import MAX_UNITS, delete, explain, top_spans, units
from voc.models.predictor import Predictor
from voc.models.results import add_evidence, score_texts

TEXTS = [
    unicodedata.normalize("NFD", "개인정보보호위원회에 신고하겠습니다. 배송이 늦어요"),
    "  I was charged twice 😡😡 and nobody helps!!",
    "<s> refund </s> please <mask> now",
    "\t배송\n늦어요\t\trefund  please  ",
    "좋아요",
]


@pytest.fixture(scope="module")
def predictor(tiny_model_dir) -> Predictor:
    return Predictor.load(tiny_model_dir, batch_size=16)


def all_spans(ev: dict) -> list[dict]:
    """Every span of one text's evidence, whatever its task."""
    out = []
    for value in ev.values():
        out += [s for spans in value.values() for s in spans] if isinstance(value, dict) else value
    return out


def test_units_index_the_original_text():
    for text in TEXTS:
        spans = units(text)
        assert spans and all(not text[a:b].isspace() and text[a:b].strip() == text[a:b] for a, b in spans)
        assert "".join(text[a:b] for a, b in spans) == "".join(text.split())


def test_long_texts_are_cut_into_capped_contiguous_groups():
    text = " ".join(f"w{i}" for i in range(130))
    spans = units(text)
    assert len(spans) == MAX_UNITS
    assert spans[0][0] == 0 and spans[-1][1] == len(text)
    assert all(a[1] < b[0] for a, b in zip(spans, spans[1:]))


@pytest.mark.parametrize(
    ("text", "span", "expected"),
    [("a bb c", (2, 4), "a c"), ("a bb", (2, 4), "a"), ("bb c", (0, 2), "c"), ("x\n\tbb\t y", (3, 5), "x\n\ty")],
)
def test_delete_removes_a_unit_and_its_whitespace(text, span, expected):
    assert delete(text, *span) == expected


def test_top_spans_merge_adjacent_heavy_units_and_trim_punctuation():
    text = "I was charged twice, sadly."
    spans = units(text)
    got = top_spans(text, spans, np.array([0.0, 0.01, 0.3, 0.2, 0.0]))
    assert [(s["text"], s["weight"]) for s in got] == [("charged twice", 0.5)]
    assert top_spans(text, spans, np.array([0.0, 0.0, 0.3, 0.2, 0.0]), ceiling=0.4)[0]["weight"] == 0.4
    assert top_spans(text, spans, np.zeros(len(spans))) == []


def test_offsets_index_the_text_as_sent(predictor):
    results = predictor.predict(TEXTS)
    found = 0
    for text, ev in zip(TEXTS, explain(predictor, TEXTS, results)):
        for span in all_spans(ev):
            assert 0 <= span["start"] < span["end"] <= len(text)
            assert text[span["start"] : span["end"]] == span["text"]
            assert span["weight"] > 0
            found += 1
        assert len(ev["sentiment"]) <= evidence.MAX_SPANS
    assert found  # the random model still leans on some words


def test_labels_explained_follow_the_prediction(predictor, monkeypatch):
    never = dict.fromkeys(["speed", "empathy", "resolution", "trust"], 2.0)
    monkeypatch.setattr(predictor, "thresholds", {"themes": never, "escalation": {"low": 0.0}})
    results = predictor.predict(TEXTS)
    assert all(r["themes"]["labels"] == [] and r["escalation"]["label"] == "low" for r in results)
    assert all(ev["themes"] == {} and ev["escalation"] == [] for ev in explain(predictor, TEXTS, results))
    thresholds = {"themes": {**never, "speed": -1.0, "empathy": -1.0}, "escalation": {"high": 0.0}}
    monkeypatch.setattr(predictor, "thresholds", thresholds)
    evs = explain(predictor, TEXTS, predictor.predict(TEXTS))
    assert all(set(ev["themes"]) == {"speed", "empathy"} for ev in evs)
    assert any(ev["escalation"] for ev in evs)


def test_one_scoring_call_of_units_plus_one_texts_per_text(predictor, monkeypatch):
    texts = ["배송 " * 200, "ok fine"]
    results = predictor.predict(texts)
    seen = []
    original = predictor.predict_proba
    monkeypatch.setattr(predictor, "predict_proba", lambda batch: seen.append(len(batch)) or original(batch))
    explain(predictor, texts, results)
    assert seen == [MAX_UNITS + 1, 3]  # one text's copies in memory at a time


def test_explaining_never_changes_the_prediction(predictor):
    before = score_texts(predictor, TEXTS)
    explained = add_evidence(predictor, TEXTS, score_texts(predictor, TEXTS))
    assert [{k: v for k, v in r.items() if k != "evidence"} for r in explained] == before
    assert all("evidence" not in r for r in before)


def test_the_cost_of_a_text_is_one_pass_plus_one_per_unit():
    assert evidence.cost("배송이 늦어요") == 3
    assert evidence.cost(" ".join(["w"] * 500)) == MAX_UNITS + 1


def test_explaining_reports_each_text_and_stops_once_cancelled(predictor):
    import threading

    results = predictor.predict(TEXTS)
    cancelled, done = threading.Event(), []

    def progress(n: int) -> None:
        done.append(n)
        if len(done) == 2:
            cancelled.set()  # the caller gives up after the second text

    with pytest.raises(evidence.Cancelled, match="after 2 of 5"):
        explain(predictor, TEXTS, results, cancelled=cancelled, progress=progress)
    assert done == [1, 1]
