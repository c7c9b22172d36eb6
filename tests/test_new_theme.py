"""The researcher's loop on the tiny backbone: bring labels in CSV/Parquet, add a fifth theme, train,
evaluate and score, with no code change."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from test_training import ROWS, tiny_config, write_jsonl  # noqa: F401 (tiny_config: a fixture)

import voc
from voc.models.data import DataError, iter_labelled, sha256_file
from voc.models.predictor import Predictor
from voc.models.results import score_texts
from voc.models.schema import DEFAULT_LABELS, LabelSchema
from voc.serving.contract import response_model
from voc.training.config import ConfigError, add_data, load_config

NEW = "price"
PRICE_ROWS = [
    {"text": "too expensive, the price went up again", "sentiment": "negative", "themes": [NEW], "escalation": "low"},
    {"text": "가격이 비싸요 배송도 늦어요", "sentiment": "negative", "themes": [NEW, "speed"], "escalation": "medium"},
    {"text": "cheap and good value", "sentiment": "positive", "themes": [NEW], "escalation": "low"},
]


def as_csv(path, rows: list[dict]) -> str:
    """Rows as a CSV with themes ``|``-joined and ``[]`` for none (an empty cell would mean "not labelled")."""
    pd.DataFrame([{**r, "themes": "|".join(r["themes"]) or "[]"} for r in rows]).to_csv(path, index=False)
    return str(path)


@pytest.fixture()
def schema():
    return LabelSchema.load()


def test_csv_and_parquet_rows_are_read_like_jsonl(tmp_path, schema):
    rows = [*ROWS[:2], {**ROWS[4], "themes": []}]
    csv = as_csv(tmp_path / "a.csv", rows)
    pd.DataFrame(rows).to_parquet(tmp_path / "a.parquet")  # themes: a list column
    jsonl = list(iter_labelled(write_jsonl(tmp_path / "a.jsonl", rows), schema))
    assert list(iter_labelled(csv, schema)) == jsonl
    (tmp_path / "b.csv").write_text('text,themes\nhi,"[""speed"", ""trust""]"\n', encoding="utf-8")
    assert next(iter_labelled(tmp_path / "b.csv", schema))["themes"] == ["speed", "trust"]
    assert [r["themes"] for r in iter_labelled(tmp_path / "a.parquet", schema)] == [r["themes"] for r in jsonl]


def test_csv_errors_name_file_row_and_column(tmp_path, schema):
    bad = as_csv(tmp_path / "bad.csv", [ROWS[0], {**ROWS[1], "themes": ["empathy", "shipping"]}])
    with pytest.raises(DataError, match=r"bad.csv:row 2: unknown themes label\(s\) \['shipping'\]"):
        list(iter_labelled(bad, schema))
    (tmp_path / "json.csv").write_text('text,themes\nhello,"[""speed"",]"\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"json.csv:row 1: column 'themes' is not a valid JSON list"):
        list(iter_labelled(tmp_path / "json.csv", schema))
    (tmp_path / "x.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(DataError, match="unknown extension"):
        list(iter_labelled(tmp_path / "x.txt", schema))


def test_add_data_puts_each_file_in_its_split(tmp_path):
    path = write_jsonl(tmp_path / "mine.jsonl", ROWS)
    config = add_data(load_config(None), [path, f"{path}:validation", f"{path}:test"])
    assert config.train[-1].path == config.validation[-1].path == config.test[-1] == path
    with pytest.raises(ConfigError, match="--add-data nope.csv: file not found"):
        add_data(load_config(None), ["nope.csv"])


def test_a_fifth_theme_from_a_csv_gives_a_model_a_report_and_a_response(tmp_path, tiny_config):  # noqa: F811
    labels = yaml.safe_load(DEFAULT_LABELS.read_text(encoding="utf-8"))
    labels["tasks"]["themes"]["labels"].append(NEW)  # the only change: one line in labels.yaml
    (tmp_path / "labels.yaml").write_text(yaml.safe_dump(labels), encoding="utf-8")
    mine = as_csv(tmp_path / "mine.csv", PRICE_ROWS * 4)
    mine_val = as_csv(tmp_path / "mine_val.csv", PRICE_ROWS + ROWS)
    # a test file shares no text with training or validation (voc train would hold those rows out)
    mine_test = as_csv(tmp_path / "mine_test.csv", [{**r, "text": r["text"] + " 확인"} for r in PRICE_ROWS + ROWS])
    settings = [*tiny_config, f"labels={tmp_path / 'labels.yaml'}", "test=[]"]  # later settings win
    args = ["train", *[a for s in settings for a in ("--set", s)], "--add-data", mine]
    assert voc.main([*args, "--add-data", f"{mine_val}:validation", "--add-data", f"{mine_test}:test"]) == 0
    model = tmp_path / "model"
    meta = json.loads((model / "voc.json").read_text(encoding="utf-8"))
    assert meta["schema"]["tasks"]["themes"]["labels"][-1] == NEW and meta["alert"] == "escalation.high"
    assert meta["data"][mine] == sha256_file(mine)
    assert NEW in meta["thresholds"]["themes"]
    assert NEW in meta["metrics"]["systems"]["model"]["themes"]["per_label"]

    report = tmp_path / "report"
    assert voc.main(["evaluate", "--model", str(model), "--data", mine_val, "--report", str(report)]) == 0
    metrics = json.loads((report / "metrics.json").read_text(encoding="utf-8"))
    for system in ("model", "majority", "tfidf", "zero-shot"):
        assert NEW in metrics["systems"][system]["themes"]["per_label"], system
    assert metrics["alert"]["model"]["label"] == "high"
    assert f"| {NEW} |" in (report / "report.md").read_text(encoding="utf-8")

    predictor = Predictor.load(model, tag="voc-classifier:test")
    results = score_texts(predictor, ["the price is too high"])
    response = response_model(predictor.schema)(results=[{"id": "T-1", **r} for r in results], model=predictor.tag)
    assert NEW in response.model_dump()["results"][0]["themes"]["scores"]


def test_a_bad_added_file_stops_training_before_it_starts(tmp_path, tiny_backbone, capsys):
    bad = as_csv(tmp_path / "bad.csv", [{**ROWS[0], "escalation": "urgent"}])
    args = ["train", "--set", f"base_model={tiny_backbone}", "--set", "register=false", "--add-data", bad]
    assert voc.main(args) == 2
    assert "bad.csv:row 1: unknown escalation label 'urgent'" in capsys.readouterr().err


def test_the_alert_label_is_read_from_the_model():
    from voc.models.artifact import alert_of

    schema = LabelSchema.load().to_dict()
    assert alert_of({"alert": "escalation.high", "schema": schema}) == ("escalation", "high")
    assert alert_of({"schema": schema}) == ("escalation", "high")  # the schema the model was built from names it
    # A model saved before voc.json or its schema had "alert": its single-label operating threshold names it.
    old = {k: v for k, v in schema.items() if k != "alert"}
    assert alert_of({"thresholds": {"themes": {"speed": 0.4}, "escalation": {"high": 0.3}}, "schema": old}) == (
        "escalation",
        "high",
    )
    assert alert_of({"thresholds": {"themes": {"speed": 0.4}}, "schema": old}) is None
