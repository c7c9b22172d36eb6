"""The Python API (``voc.load``) and the quick command-line look (``voc classify``, ``voc --version``)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

import voc


def test_load_and_call_in_two_lines(tiny_model_dir):
    clf = voc.load(str(tiny_model_dir))
    results = clf(["배송이 늦어요", "great support"])
    assert [r["language"] for r in results] == ["ko", "en"]
    for r in results:
        assert {"language", "sentiment", "themes", "escalation", "truncated"} <= set(r)
        assert r["sentiment"]["label"] in r["sentiment"]["scores"]
    assert clf("one text")[0]["language"] == "en"
    with pytest.raises(ValueError, match="text 1: text is empty"):
        clf(["fine", "   "])


def test_score_frame_keeps_every_row(tiny_model_dir):
    clf = voc.load(str(tiny_model_dir))
    frame = pd.DataFrame({"review": ["환불 해주세요", "", "ok"], "stars": [1, 2, 3]}, index=[10, 11, 12])
    scored = clf.score_frame(frame, text_column="review")
    assert len(scored) == 3 and scored["stars"].tolist() == [1, 2, 3]
    assert scored["error"].isna().tolist() == [True, False, True]
    assert "escalation.high" in scored.columns
    with pytest.raises(ValueError, match="no column 'text'"):
        clf.score_frame(frame, text_column="text")


def test_score_frame_keeps_the_frames_index_so_columns_assign_back(tiny_model_dir):
    clf = voc.load(str(tiny_model_dir))
    frame = pd.DataFrame({"review": ["환불 해주세요", "", "ok"]}, index=[1000, 1001, 1002])
    scored = clf.score_frame(frame, text_column="review")
    assert scored.index.tolist() == [1000, 1001, 1002]
    frame["sentiment"] = scored["sentiment"]  # aligned by index: row 1001 (not scored) stays empty
    assert frame["sentiment"].isna().tolist() == [False, True, False]


@pytest.fixture(scope="module")
def model_with_ngram(tiny_model_dir, tmp_path_factory):
    """The tiny model with an n-gram part, as every trained model has (the weights leave it out of the scores)."""
    import shutil

    from voc.models.ngram import NgramModel

    path = tmp_path_factory.mktemp("ngram") / "model"
    shutil.copytree(tiny_model_dir, path)
    clf = voc.load(str(path))
    texts = ["배송이 늦어요", "great support", "환불 해주세요", "the agent was kind"] * 3
    labels = {
        t.name: [[t.labels[i % 2]] if t.multi else t.labels[i % 2] for i in range(12)]
        for t in clf.predictor.schema.tasks
    }
    NgramModel(clf.predictor.schema).fit(texts, labels).save(path)
    return path


def test_no_texts_give_no_results(model_with_ngram):
    clf = voc.load(str(model_with_ngram))
    assert clf.predictor.ngram is not None
    assert clf([]) == [] and clf([], explain=True) == []


def test_explain_adds_the_evidence_the_http_service_gives(tiny_model_dir):
    clf = voc.load(str(tiny_model_dir))
    plain, explained = clf(["배송이 늦어요"]), clf(["배송이 늦어요"], explain=True)
    evidence = explained[0].pop("evidence")
    assert explained == plain and set(evidence) == set(clf.predictor.schema.names)
    scored = clf.score_frame(pd.DataFrame({"review": ["배송이 늦어요"]}), text_column="review", explain=True)
    assert [c for c in scored.columns if c.startswith("evidence.")] == [
        f"evidence.{n}" for n in clf.predictor.schema.names
    ]


def test_the_module_shows_its_public_api_its_version_and_the_models_tag(tiny_model_dir):
    from voc.models.paths import package_version

    assert dir(voc) == sorted(["Classifier", "load", "__version__"])
    assert voc.__version__ == package_version() != "unknown"
    clf = voc.load(str(tiny_model_dir))
    assert repr(clf) == f"<voc.Classifier {clf.tag} backend=torch heads=[sentiment, themes, escalation]>"


def test_classify_command_prints_json_lines(tiny_model_dir):
    run = subprocess.run(
        [sys.executable, "-m", "voc", "classify", "--model", str(tiny_model_dir), "배송 늦어요", "thanks"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [x["text"] for x in lines] == ["배송 늦어요", "thanks"] and "escalation" in lines[0]


@pytest.mark.parametrize("bad", ["   ", "x" * 4001])
def test_classify_command_names_a_bad_text_in_one_line(tiny_model_dir, bad):
    run = subprocess.run(
        [sys.executable, "-m", "voc", "classify", "--model", str(tiny_model_dir), "fine", bad],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and run.stdout == ""
    assert run.stderr.startswith("voc classify: error: text 2: ") and len(run.stderr.splitlines()) == 1


def test_version_and_help_are_quick_to_import():
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "voc", "--version"], capture_output=True, text=True)
    assert run.stdout.startswith("voc ")
    assert "torch" not in {line.split("|")[-1].strip() for line in run.stderr.splitlines()}
