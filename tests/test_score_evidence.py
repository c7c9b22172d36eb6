"""``voc score --explain`` with the tiny model: evidence columns per format, highlighted high-escalation rows."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from test_score import ROWS, SCORED, read_output, write_input

from voc.batch.score import score_file
from voc.batch.summary import highlight, summary_paths
from voc.models.predictor import Predictor

COLUMNS = ["evidence.sentiment", "evidence.themes", "evidence.escalation"]
SPAN_KEYS = {"start", "end", "text", "weight"}


@pytest.fixture(scope="module")
def predictor(tiny_model_dir) -> Predictor:
    """The tiny model with every row escalated high and every theme predicted, so that every column has spans."""
    predictor = Predictor.load(tiny_model_dir, batch_size=8)
    predictor.thresholds = {"themes": dict.fromkeys(["speed", "empathy", "resolution", "trust"], -1.0)}
    predictor.thresholds["escalation"] = {"high": 0.0}
    return predictor


def spans_of(cell, multi: bool) -> list[dict]:
    if multi:
        return [s for spans in cell.values() if spans is not None for s in spans]
    return list(cell)


@pytest.mark.parametrize("ext", [".csv", ".jsonl", ".parquet"])
def test_explain_adds_one_evidence_column_per_task(predictor, tmp_path, ext):
    src = write_input(tmp_path / "in.csv")
    out = score_file(predictor, src, tmp_path / f"out{ext}", "review", "ticket", progress=False, explain=True).output
    got = read_output(out)
    assert list(got.columns[-5:]) == [*COLUMNS, "truncated", "error"]
    found = 0
    for row, scored in zip(got.to_dict("records"), SCORED):
        if not scored:
            assert all(row[c] in ("", None) or pd.isna(row[c]) for c in COLUMNS)
            continue
        cells = {c: json.loads(row[c]) if ext == ".csv" else row[c] for c in COLUMNS}
        themes = cells["evidence.themes"]
        assert set(themes) == {"speed", "empathy", "resolution", "trust"}
        for column, cell in cells.items():
            for span in spans_of(cell, column == "evidence.themes"):
                assert set(span) == SPAN_KEYS
                assert row["review"][span["start"] : span["end"]] == span["text"]
                found += 1
    assert found


def test_without_explain_there_are_no_evidence_columns(predictor, tmp_path):
    out = score_file(predictor, write_input(tmp_path / "in.csv"), tmp_path / "out.csv", "review", progress=False).output
    assert not set(COLUMNS) & set(read_output(out).columns)


def test_summary_marks_the_spans_of_high_escalation_rows(predictor, tmp_path):
    out = tmp_path / "out.jsonl"
    score_file(predictor, write_input(tmp_path / "in.csv", ROWS), out, "review", "ticket", progress=False, explain=True)
    spans = [s["text"] for cell in read_output(out)["evidence.escalation"].dropna() for s in cell]
    md, html = (p.read_text(encoding="utf-8") for p in summary_paths(out))
    assert spans and all(f"<mark>{s}</mark>" in html for s in spans)
    assert all(f"**{s}**" in md for s in spans)


def test_highlight_keeps_context_around_spans():
    text = "a" * 100 + " charged twice " + "b" * 200 + " <fraud> " + "c" * 100
    first, second = text.index("charged twice"), text.index("<fraud>")
    spans = ((first, first + 13), (second, second + 7))
    got = highlight(text, spans, lambda s: s.replace("<", "&lt;").replace(">", "&gt;"), ("[", "]"))
    assert (
        got == "…" + "a" * 59 + " [charged twice] " + "b" * 59 + "…" + "b" * 59 + " [&lt;fraud&gt;] " + "c" * 59 + "…"
    )
    assert highlight("short", (), str, ("[", "]")) == "short"


def test_explain_warns_of_its_cost_and_reports_progress_in_a_log(tiny_model_dir, tmp_path, capsys, monkeypatch):
    import voc
    from voc.batch import progress

    monkeypatch.setattr(progress, "EVERY_SECONDS", 0.0)  # a line per update instead of every 30 s
    src = write_input(tmp_path / "in.csv")
    argv = ["score", str(src), "--text-column", "review", "--output", str(tmp_path / "out.csv"), "--explain"]
    assert voc.main([*argv, "--model", str(tiny_model_dir)]) == 0
    err = capsys.readouterr().err  # not a terminal: no bar, lines
    assert "--explain scores each text once more per word" in err
    lines = [line for line in err.splitlines() if "rows/s" in line]
    assert lines and lines[-1].startswith(f"voc score: in.csv: {len(ROWS)} of {len(ROWS)} rows (100%)")
