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


def test_classify_command_prints_json_lines(tiny_model_dir):
    run = subprocess.run(
        [sys.executable, "-m", "voc", "classify", "--model", str(tiny_model_dir), "배송 늦어요", "thanks"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert [x["text"] for x in lines] == ["배송 늦어요", "thanks"] and "escalation" in lines[0]


def test_version_and_help_are_quick_to_import():
    run = subprocess.run([sys.executable, "-X", "importtime", "-m", "voc", "--version"], capture_output=True, text=True)
    assert run.stdout.startswith("voc ")
    assert "torch" not in {line.split("|")[-1].strip() for line in run.stderr.splitlines()}
