"""evaluate_files, the report, public benchmarks and ``voc evaluate`` end to end on the tiny model."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from test_eval_baselines import synthetic_rows, write_jsonl

import voc
from voc.evaluation import evaluate_files, metrics_table, run_evaluation
from voc.evaluation.benchmarks import Benchmark, run_benchmarks
from voc.evaluation.collect import EvaluationError
from voc.models.data import DataError
from voc.models.predictor import Predictor

SECTIONS = (
    "## Heads",
    "## Model against baselines",
    "## escalation = high",
    "## Head: sentiment",
    "## Head: themes",
    "## By language",
    "## Worst errors",
    "## Throughput",
)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval-data")
    sentiment_only = [{"id": r["id"], "text": r["text"], "sentiment": r["sentiment"]} for r in synthetic_rows(12)]
    return {
        "train": write_jsonl(root / "train.jsonl", synthetic_rows(48)),
        "test": write_jsonl(root / "test.jsonl", synthetic_rows(30, offset=500)),
        "sentiment": write_jsonl(root / "sentiment.jsonl", sentiment_only),
        "unlabelled": write_jsonl(root / "unlabelled.jsonl", [{"text": "no labels here", "label": 1}]),
        "no_text": write_jsonl(root / "no_text.jsonl", [{"review": "hi", "sentiment": "positive"}]),
    }


@pytest.fixture(scope="module")
def predictor(tiny_model_dir):
    return Predictor.load(tiny_model_dir)


def test_evaluate_files_returns_metrics_per_head(predictor, files):
    metrics = evaluate_files(predictor, [files["test"]], progress=False, top_errors=3)
    assert metrics["heads"] == {"evaluated": {"sentiment": 30, "themes": 30, "escalation": 30}, "skipped": {}}
    model = metrics["systems"]["model"]
    assert 0 <= model["sentiment"]["macro_f1"] <= 1 and "ece" in model["themes"]["calibration"]
    assert set(metrics["by_language"]["sentiment"]) == {"ko", "en", "mixed"}
    assert all(len(errors) <= 3 for errors in metrics["worst_errors"].values())
    confidences = [e["confidence"] for e in metrics["worst_errors"]["sentiment"]]
    assert confidences == sorted(confidences, reverse=True)
    assert metrics["alert"]["model"]["label"] == "high" and metrics["alert"]["model"]["support"] == 7
    table = metrics_table(metrics)
    assert table.startswith("| head |") and "| themes | 30 |" in table and "escalation = high" in table


def test_sentiment_only_file_evaluates_the_sentiment_head_alone(predictor, files):
    metrics = evaluate_files(predictor, [files["sentiment"]], progress=False)
    assert list(metrics["heads"]["evaluated"]) == ["sentiment"]
    assert set(metrics["heads"]["skipped"]) == {"themes", "escalation"}
    assert "no row in the data is labelled for 'themes'" in metrics["heads"]["skipped"]["themes"]
    assert metrics["alert"] == {}


def test_restricting_to_two_labels_compares_their_probabilities(predictor, tmp_path):
    rows = [{"text": "좋아요", "sentiment": "positive"}, {"text": "", "sentiment": "negative"}]
    path = write_jsonl(tmp_path / "binary.jsonl", rows)
    with pytest.raises(DataError, match="empty text"):
        evaluate_files(predictor, [path], progress=False)
    metrics = evaluate_files(
        predictor, [path], restrict={"sentiment": ("negative", "positive")}, allow_empty=True, progress=False
    )
    head = metrics["systems"]["model"]["sentiment"]
    assert head["labels"] == ["negative", "positive"] and np.array(head["confusion"]).shape == (2, 2)
    assert metrics["empty_texts"] == 1 and metrics["restricted"] == {"sentiment": ["negative", "positive"]}
    with pytest.raises(EvaluationError):
        evaluate_files(predictor, [path], restrict={"themes": ("speed", "trust")}, progress=False)


@pytest.mark.parametrize(
    ("name", "message"),
    [("unlabelled", "carries none of the labels"), ("no_text", "missing field 'text'")],
)
def test_bad_files_name_what_is_missing(predictor, files, name, message):
    with pytest.raises(DataError, match=message) as error:
        evaluate_files(predictor, [files[name]], progress=False)
    assert f"{files[name]}:1" in str(error.value)


def test_report_has_every_section(tiny_model_dir, files, tmp_path):
    out = tmp_path / "report"
    run_evaluation(tiny_model_dir, [files["test"]], out, train_paths=[files["train"]], progress=False)
    names = {p.name for p in out.iterdir()}
    assert {"metrics.json", "report.md", "report.html"} <= names
    for kind in ("confusion", "reliability"):
        assert {f"{kind}_{task}.png" for task in ("sentiment", "themes", "escalation")} <= names
    report = (out / "report.md").read_text(encoding="utf-8")
    for section in SECTIONS:
        assert section in report
    assert "(--train)" in report and str(files["train"]) in report  # the baselines' training source
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<img src='confusion_themes.png'" in html and "<table>" in html
    metrics = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    assert set(metrics["systems"]) == {"model", "majority", "tfidf", "zero-shot"}
    assert metrics["comparison"]["sentiment"]["tfidf"]["margin"] == pytest.approx(
        metrics["systems"]["model"]["sentiment"]["macro_f1"] - metrics["systems"]["tfidf"]["sentiment"]["macro_f1"]
    )


def test_cli_end_to_end(tiny_model_dir, files, tmp_path, capsys):
    out = tmp_path / "cli"
    code = voc.main(
        [
            "evaluate",
            "--model",
            str(tiny_model_dir),
            "--data",
            str(files["sentiment"]),
            "--report",
            str(out),
            "--no-baselines",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out
    assert "| sentiment | 12 |" in printed and "skipped themes" in printed
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "| themes | skipped | 0 | no row in the data is labelled for 'themes' |" in report
    assert "Baselines were not run" in report


@pytest.mark.parametrize(
    ("data", "message"),
    [("unlabelled", "carries none of the labels"), ("missing", "file not found")],
)
def test_cli_bad_input_is_one_clear_line(tiny_model_dir, files, tmp_path, capsys, data, message):
    path = files.get(data, tmp_path / "missing.jsonl")
    code = voc.main(["evaluate", "--model", str(tiny_model_dir), "--data", str(path), "--report", str(tmp_path)])
    assert code == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("voc evaluate: error:") and message in last
    assert not (tmp_path / "report.md").exists()


def test_bundled_data_paths_fall_back_to_the_checkout_from_any_directory(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the clone: data/real/... is not here
    data = "data/real/airline_en/test.jsonl"
    args = ["evaluate", "--model", str(tiny_model_dir), "--data", data, "--no-baselines", "--report", "report"]
    assert voc.main(args) == 0
    rows = sum(1 for _ in (Path(__file__).resolve().parents[1] / data).open(encoding="utf-8"))
    assert json.loads((tmp_path / "report" / "metrics.json").read_text(encoding="utf-8"))["rows"] == rows


def test_benchmarks_sit_beside_published_figures(tiny_model_dir, files, tmp_path):
    rows = [{"text": r["text"], "sentiment": r["sentiment"]} for r in synthetic_rows(8) if r["sentiment"] != "neutral"]
    bench = Benchmark(
        "tiny",
        "tiny binary set",
        write_jsonl(tmp_path / "b.jsonl", rows),
        (("paper", "90.0"),),
        {"sentiment": ("negative", "positive")},
    )
    results = run_benchmarks(
        str(tiny_model_dir), tmp_path / "bench", baselines=False, benchmarks=(bench,), progress=False
    )
    assert results[0]["published_accuracy"] == {"paper": "90.0"} and 0 <= results[0]["accuracy"]["model"] <= 1
    summary = (tmp_path / "bench" / "benchmarks.md").read_text(encoding="utf-8")
    assert "tiny binary set" in summary and "paper 90.0" in summary
    assert (tmp_path / "bench" / "tiny" / "report.md").is_file()
    with pytest.raises(EvaluationError, match="unknown benchmark"):
        run_benchmarks(str(tiny_model_dir), tmp_path, names=["nope"])


def test_evaluation_imports_no_serving_code():
    code = "import sys, evaluation; assert not [m for m in sys.modules if m.startswith('serving')]"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_report_claims_only_what_its_intervals_show():
    """Issue 22 (5): "The model beats every baseline" beside escalation vs tfidf +3.2 [-1.4, +8.4]."""
    from voc.evaluation.report import comparison_sentence

    def cmp(margin, low, high):
        return {
            "metric": "macro_f1",
            "model": 0.5,
            "baseline": 0.5 - margin,
            "margin": margin,
            "margin_ci": [low, high],
        }

    mixed = {
        "comparison": {
            "sentiment": {"tfidf": cmp(0.10, 0.05, 0.15), "majority": cmp(0.40, 0.35, 0.45)},
            "escalation": {"tfidf": cmp(0.032, -0.014, 0.084), "majority": cmp(-0.05, -0.08, -0.02)},
        }
    }
    sentence = comparison_sentence(mixed)
    assert "beats every baseline" not in sentence
    assert "Clearly better than (interval above 0): tfidf on sentiment (+10.0 [+5.0, +15.0])" in sentence
    assert "No clear difference from (interval includes 0): tfidf on escalation (+3.2 [-1.4, +8.4])" in sentence
    assert "Clearly worse than (interval below 0): majority on escalation (-5.0 [-8.0, -2.0])" in sentence
    clear = {"comparison": {"sentiment": {"tfidf": cmp(0.10, 0.05, 0.15)}}}
    assert comparison_sentence(clear).startswith("The model beats every baseline on every head")
