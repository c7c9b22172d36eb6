"""Training on the tiny backbone: config and data checks fail early, runs are reproducible, models load."""

from __future__ import annotations

import json

import numpy as np
import pytest

from voc.models.predictor import Predictor
from voc.training.calibration import fit_combination, fit_language_offsets, tune_thresholds
from voc.training.cli import measure_test_file
from voc.training.config import ConfigError, load_config
from voc.training.data import IGNORE, encode_rows, length_grouped_batches

ROWS = [
    {
        "text": "배송이 2주째 안 와요 환불해 주세요",
        "sentiment": "negative",
        "themes": ["speed", "resolution"],
        "escalation": "medium",
    },
    {"text": "상담원이 친절했어요", "sentiment": "positive", "themes": ["empathy"], "escalation": "low"},
    {"text": "hidden fees, calling my lawyer", "sentiment": "negative", "themes": ["trust"], "escalation": "high"},
    {"text": "when will it ship?", "sentiment": "neutral", "themes": ["speed"], "escalation": "low"},
    {"text": "great taste, good size", "sentiment": "positive", "themes": [], "escalation": "low"},
    {"text": "세 번째 문의입니다 진짜 지친다", "sentiment": "negative", "themes": ["resolution"], "escalation": "high"},
]
SENTIMENT_ONLY = [{"text": "최고의 영화", "sentiment": "positive"}, {"text": "지루했다", "sentiment": "negative"}]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


@pytest.fixture()
def tiny_config(tmp_path, tiny_backbone):
    """Overrides for a seconds-long run on the tiny backbone."""
    train = write_jsonl(tmp_path / "train.jsonl", ROWS * 3)
    extra = write_jsonl(tmp_path / "public.jsonl", SENTIMENT_ONLY * 3)
    val = write_jsonl(tmp_path / "val.jsonl", ROWS)
    test = write_jsonl(tmp_path / "test.jsonl", [{**r, "text": r["text"] + " 확인"} for r in ROWS])
    return [
        f"base_model={tiny_backbone}",
        f"train=[{train}, {{path: {extra}, sample: 4}}]",
        f"validation=[{val}]",
        f"test=[{test}]",
        f"ngram_train=[{extra}]",
        "epochs=2",
        "batch_size=4",
        "max_length=32",
        "register=false",
        f"output_dir={tmp_path}/model",
    ]


def test_unknown_key_fails_before_training():
    with pytest.raises(ConfigError, match=r"^unknown key\(s\) \['epoch_count'\]; allowed"):
        load_config(None, ["epoch_count=3"])


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match="batch_size: expected int"):
        load_config(None, ["batch_size=lots"])


def test_missing_file_is_reported(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(None, [f"train=[{tmp_path}/nope.jsonl]"])


def test_unknown_source_key_is_reported(tmp_path):
    path = write_jsonl(tmp_path / "t.jsonl", ROWS)
    with pytest.raises(ConfigError, match=r"train\[0\]: unknown key"):
        load_config(None, [f"train=[{{path: {path}, samples: 3}}]"])


def test_bundled_configs_parse():
    for name in ("default", "full"):
        config = load_config(f"training/configs/{name}.yaml")
        assert config.name == name


def test_bad_label_fails_before_training(tmp_path, tiny_config, monkeypatch):
    from voc.models.data import DataError
    from voc.training import train, trainer

    bad = write_jsonl(tmp_path / "bad.jsonl", [*ROWS, {"text": "hmm", "sentiment": "angry"}])
    config = load_config(None, [*tiny_config, f"train=[{bad}]"])
    monkeypatch.setattr(trainer.Trainer, "fit", lambda *a: pytest.fail("training started"))
    with pytest.raises(DataError, match=r"bad.jsonl:7: unknown sentiment label 'angry'"):
        train.main(config, measure_test_file)


def test_missing_labels_are_masked(tiny_backbone):
    from transformers import AutoTokenizer

    from voc.models.schema import LabelSchema

    schema = LabelSchema.load()
    rows = [{"text": "좋아요", "sentiment": "positive", "themes": None, "escalation": None}]
    enc = encode_rows(rows, schema, AutoTokenizer.from_pretrained(tiny_backbone), "", 16)
    assert enc.labels["escalation"][0] == IGNORE and not enc.has_label["themes"][0]
    assert enc.labels["sentiment"][0] == schema["sentiment"].labels.index("positive")


def test_length_grouped_batches_cover_every_row_once():
    import random

    lengths = [random.Random(i).randint(3, 60) for i in range(103)]
    batches = length_grouped_batches(lengths, 8, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(103))
    assert max(len(b) for b in batches) == 8


def test_fit_combination_recovers_temperature():
    rng = np.random.default_rng(0)
    true = rng.normal(size=(4000, 3)) * 2
    p = np.exp(true) / np.exp(true).sum(1, keepdims=True)
    y = np.array([rng.choice(3, p=row) for row in p])
    temperature, weight = fit_combination(true * 3.0, None, y, multi=False)
    assert abs(temperature - 3.0) < 0.3 and weight == 0.0


def test_tune_thresholds_finds_the_separating_point():
    probs = np.array([[0.1], [0.2], [0.35], [0.4], [0.8], [0.9]])
    gold = np.array([[0], [0], [1], [1], [1], [1]])
    assert tune_thresholds(probs, gold, ("speed",)) == {"speed": 0.21}


def test_train_end_to_end_is_reproducible(tiny_config, tmp_path):
    from voc.training import train

    first = train.main(load_config(None, tiny_config), measure_test_file)
    meta1 = json.loads((tmp_path / "model" / "voc.json").read_text())
    second = train.main(load_config(None, [*tiny_config, f"output_dir={tmp_path}/model2"]), measure_test_file)
    meta2 = json.loads((tmp_path / "model2" / "voc.json").read_text())
    assert first.endswith("model") and second.endswith("model2")
    # Same data, config and seed: the same numbers (timings aside).
    assert meta1["metrics"]["systems"] == meta2["metrics"]["systems"]
    assert meta1["contributions"] == meta2["contributions"]
    assert meta1["seed"] == 13 and "torch" in meta1["versions"] and meta1["data"]
    assert set(meta1["temperatures"]) == {"sentiment", "themes", "escalation"}
    assert (tmp_path / "model" / "ngram.safetensors").is_file()
    assert "## Evaluation" in (tmp_path / "model" / "README.md").read_text()
    results = Predictor.load(tmp_path / "model").predict(["배송 늦어요", "great"])
    assert len(results) == 2 and "themes" in results[0]


def test_alert_threshold_reaches_the_recall_target():
    from voc.models.predictor import single_decisions
    from voc.training.calibration import alert_threshold

    # Two of four "high" rows are out-voted by "medium" under argmax.
    probs = np.array([[0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.1, 0.2, 0.7], [0.8, 0.15, 0.05]])
    gold = np.array([2, 2, 1, 2, 0])
    thr = alert_threshold(probs, gold, label=2, recall=1.0)
    assert thr == 0.3
    assert single_decisions(probs, np.array([np.inf, np.inf, thr])).tolist() == [2, 2, 2, 2, 0]
    assert alert_threshold(probs, gold, label=2, recall=0.6) is None  # argmax already recalls 2 of 3


def test_test_texts_are_never_trained_on(tiny_config, tmp_path, capsys):
    from voc.training import train

    # The test file repeats two training texts (as a public train split may hold a real-text test row).
    test = write_jsonl(tmp_path / "test2.jsonl", ROWS[:2])
    config = load_config(None, [*tiny_config, f"test=[{test}]"])
    train.main(config, measure_test_file)
    meta = json.loads((tmp_path / "model" / "voc.json").read_text())
    assert "held out: 6 training, 2 validation, 0 n-gram rows share a test text" in capsys.readouterr().out
    assert meta["train_stats"]["train_rows"] == len(ROWS) * 3 - 6 + 4
    everything = load_config(None, [*tiny_config, f"test=[{tmp_path / 'val.jsonl'}]"])
    with pytest.raises(ConfigError, match="validation: no rows left"):
        train.main(everything, measure_test_file)


def test_unknown_alert_label_fails_before_training(tiny_config, monkeypatch):
    from voc.training import train, trainer

    config = load_config(None, [*tiny_config, "alert=escalation.urgent"])
    monkeypatch.setattr(trainer.Trainer, "fit", lambda *a: pytest.fail("training started"))
    with pytest.raises(ConfigError, match="escalation.urgent"):
        train.main(config, measure_test_file)


def test_train_help_documents_every_setting():
    import dataclasses

    from voc.training.config import TrainConfig, settings_help

    text = settings_help()
    for f in dataclasses.fields(TrainConfig):
        assert f"\n  {f.name} (" in text
    assert "max_length (int, default 64) — tokens" in text


def test_alert_threshold_keeps_a_precision_floor():
    from voc.training.calibration import alert_threshold

    # P(high) per row; rows 0-3 are high. Full recall needs threshold 0.35, where 4 of 5 flags are right.
    p_high = np.array([0.9, 0.8, 0.6, 0.35, 0.45, 0.3, 0.25, 0.05])
    probs = np.stack([1 - p_high, np.zeros(8), p_high], axis=1)
    gold = np.array([2, 2, 2, 2, 0, 0, 0, 0])
    assert alert_threshold(probs, gold, label=2, recall=1.0) == 0.35
    assert alert_threshold(probs, gold, label=2, recall=1.0, min_precision=0.75) == 0.35
    # a floor of 0.8 stops the search at 0.45 (3 of 4 right) before any gain in recall: argmax stays
    assert alert_threshold(probs, gold, label=2, recall=1.0, min_precision=0.8) is None


def test_the_alert_is_fitted_on_the_named_validation_files_only(tiny_config, tmp_path, monkeypatch):
    from voc.training import train

    real = write_jsonl(tmp_path / "real_val.jsonl", [{**r, "text": r["text"] + " 실제"} for r in ROWS[:4]])
    seen = []
    monkeypatch.setattr(train, "alert_threshold", lambda probs, gold, *a: seen.append(len(gold)) or 0.5)
    overrides = [*tiny_config, f"validation=[{tmp_path / 'val.jsonl'}, {real}]", f"alert_validation=[{real}]"]
    train.main(load_config(None, overrides), measure_test_file)
    assert seen == [4]  # the real file's rows, not the other validation file's six
    with pytest.raises(ConfigError, match=r"alert_validation names files that are not validation sources"):
        load_config(None, [*tiny_config, f"alert_validation=[{tmp_path / 'train.jsonl'}]"])


def test_language_offsets_are_kept_where_they_help_held_out_rows():
    """Korean rows that are neutral a third of the time but never most probable neutral get a neutral offset;
    English rows whose probabilities are already right get none; a language with too few rows is left alone."""
    rng = np.random.default_rng(0)
    n = 300
    gold = rng.choice(3, size=n, p=[0.4, 0.3, 0.3])
    ko = np.full((n, 3), 0.05)
    ko[np.arange(n), np.where(gold == 1, 0, gold)] = 0.9  # neutral rows look negative to the model
    en = np.full((n, 3), 1 / 3)  # uninformative but calibrated to the label frequencies below
    en_gold = rng.choice(3, size=n, p=[1 / 3, 1 / 3, 1 / 3])
    probs = np.concatenate([ko / ko.sum(1, keepdims=True), en, en[:50]])
    languages = ["ko"] * n + ["en"] * n + ["mixed"] * 50
    offsets = fit_language_offsets(probs, np.concatenate([gold, en_gold, en_gold[:50]]), languages, seed=13)
    assert set(offsets) == {"ko"}
    negative, neutral, positive = offsets["ko"]
    assert neutral > 0.5 and positive == 0.0
