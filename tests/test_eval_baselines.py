"""Baselines on a tiny synthetic dataset, built from whatever schema the model has."""

import json

import numpy as np
import pytest

from voc.evaluation.baselines import MajorityBaseline, ZeroShotBaseline, build_baselines
from voc.evaluation.run import PUBLIC_DATA, VOC_TRAIN, default_train_files
from voc.models.schema import LabelSchema
from voc.models.tfidf import TfidfBaseline, TrainingData

# (Korean, English, sentiment, themes, escalation): words that give each label away
TEMPLATES = [
    ("배송이 늦어요 환불 해주세요", "late delivery, refund me", "negative", ["speed", "resolution"], "medium"),
    ("상담원이 친절해요 좋아요", "the agent was kind, great", "positive", ["empathy"], "low"),
    ("언제 발송되나요", "when will it ship", "neutral", ["speed"], "low"),
    ("개인정보 유출 소송 하겠습니다", "data leak, I will sue", "negative", ["trust"], "high"),
]


def synthetic_rows(n: int, offset: int = 0) -> list[dict]:
    """Rows cycling through the templates and through ko, en and mixed text."""
    rows = []
    for i in range(offset, offset + n):
        ko, en, sentiment, themes, escalation = TEMPLATES[i % len(TEMPLATES)]
        lang = ("ko", "en", "mixed")[(i // len(TEMPLATES)) % 3]
        text = {"ko": ko, "en": en, "mixed": f"{ko} {en}"}[lang]
        rows.append(
            {
                "id": f"s{i}",
                "text": f"{text} {i}",
                "lang": lang,
                "sentiment": sentiment,
                "themes": themes,
                "escalation": escalation,
            }
        )
    return rows


def write_jsonl(path, rows: list[dict]):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture()
def schema():
    return LabelSchema.load()


@pytest.fixture()
def train_data(tmp_path, schema):
    return TrainingData.load([write_jsonl(tmp_path / "train.jsonl", synthetic_rows(96))], schema)


def test_training_data_keeps_rows_per_task(tmp_path, schema):
    rows = synthetic_rows(8) + [{"text": "only sentiment", "sentiment": "neutral"}]
    data = TrainingData.load([write_jsonl(tmp_path / "t.jsonl", rows)], schema)
    assert data.summary()["rows_per_task"] == {"sentiment": 9, "themes": 8, "escalation": 8}
    assert data.rows_for("themes")[1][0] == ["speed", "resolution"]


def test_majority_predicts_the_training_distribution(train_data):
    probs = MajorityBaseline(train_data).predict_proba(["anything", "else"])
    np.testing.assert_allclose(probs["sentiment"], [[0.5, 0.25, 0.25]] * 2)
    np.testing.assert_allclose(probs["themes"][0], [0.5, 0.25, 0.25, 0.25])  # base rate per theme


def test_tfidf_learns_the_synthetic_labels(train_data, schema):
    baseline = TfidfBaseline(train_data)
    test = synthetic_rows(24, offset=1000)
    probs = baseline.predict_proba([r["text"] for r in test])
    sentiment = [schema["sentiment"].labels[i] for i in probs["sentiment"].argmax(axis=1)]
    assert np.mean([p == r["sentiment"] for p, r in zip(sentiment, test)]) >= 0.9
    assert probs["themes"].shape == (24, 4) and baseline.skipped == {}


def test_tfidf_skips_a_head_with_one_class_and_places_unseen_labels(tmp_path, schema):
    rows = [{**r, "escalation": "low"} for r in synthetic_rows(24)]
    rows = [{**r, "sentiment": "positive" if r["sentiment"] == "neutral" else r["sentiment"]} for r in rows]
    baseline = TfidfBaseline(TrainingData.load([write_jsonl(tmp_path / "t.jsonl", rows)], schema))
    assert "escalation" in baseline.skipped and "only one" in baseline.skipped["escalation"]
    probs = baseline.predict_proba(["late delivery"])
    assert probs["sentiment"][0, schema["sentiment"].labels.index("neutral")] == 0.0
    assert "escalation" not in probs


def test_zero_shot_follows_a_schema_with_a_new_theme(tiny_backbone):
    schema = LabelSchema.from_dict(
        {
            "tasks": {
                "sentiment": {"type": "single", "labels": ["negative", "neutral", "positive"]},
                "themes": {"type": "multi", "labels": ["speed", "price"]},  # price has no description
            }
        }
    )
    probs = ZeroShotBaseline(schema, tiny_backbone, prefix="").predict_proba(["배송 늦어요", "great"])
    assert probs["themes"].shape == (2, 2) and ((probs["themes"] > 0) & (probs["themes"] < 1)).all()
    np.testing.assert_allclose(probs["sentiment"].sum(axis=1), 1.0, rtol=1e-5)


def test_build_baselines_records_the_training_source_and_skips(tmp_path, schema, tiny_backbone):
    built, record = build_baselines(schema, [], tiny_backbone, "")
    assert [b.name for b in built] == ["zero-shot"]
    assert "--train" in record["skipped"]["tfidf"]["*"]
    path = write_jsonl(tmp_path / "train.jsonl", synthetic_rows(24))
    built, record = build_baselines(schema, [path], "/no/such/backbone", "")
    assert [b.name for b in built] == ["majority", "tfidf"]
    assert record["train"]["files"] == [{"path": str(path), "rows": 24}]
    assert "unavailable" in record["skipped"]["zero-shot"]["*"]


def test_default_train_files_pair_a_public_test_set_with_its_train_split(tmp_path):
    nsmc = PUBLIC_DATA / "nsmc_ko"
    expected = ([VOC_TRAIN] if VOC_TRAIN.is_file() else []) + [nsmc / "train.jsonl"]
    assert default_train_files([nsmc / "test_full.jsonl"]) == expected
    assert nsmc / "train.jsonl" not in default_train_files([nsmc / "train.jsonl"])  # never train on the test file
    assert PUBLIC_DATA / "airline_tweets_en" / "train.jsonl" not in default_train_files([tmp_path / "x.jsonl"])
