"""The batch scorer with the tiny model: formats, per-row errors, row counts, summary, atomic output."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from voc.batch import score as batch
from voc.batch.score import ScoreError, score_file
from voc.batch.summary import summary_paths
from voc.models import tables
from voc.models.predictor import Predictor
from voc.models.results import MAX_TEXT_CHARS

ROWS = [
    {"ticket": "007", "review": "배송이 2주째 안 와요. 환불해 주세요", "stars": "1"},
    {"ticket": "008", "review": "the agent was kind and fixed it", "stars": "5"},
    {"ticket": "009", "review": "   ", "stars": "3"},
    {"ticket": "010", "review": "", "stars": "2"},
    {"ticket": "011", "review": "x" * (MAX_TEXT_CHARS + 1), "stars": "2"},
    {"ticket": "012", "review": "환불 refund please | asap", "stars": "2"},
]
SCORED = [True, True, False, False, False, True]
PROB_COLUMNS = ["sentiment.negative", "themes.speed", "escalation.high"]


@pytest.fixture(scope="module")
def predictor(tiny_model_dir) -> Predictor:
    return Predictor.load(tiny_model_dir, tag="voc-classifier:tiny", batch_size=2)


def write_input(path, rows=ROWS):
    frame = pd.DataFrame(rows)
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)
    return path


def read_output(path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True, dtype=False)
    return pd.read_parquet(path)


@pytest.mark.parametrize("src_ext", [".csv", ".jsonl", ".parquet"])
@pytest.mark.parametrize("out_ext", [".csv", ".jsonl", ".parquet"])
def test_every_row_comes_back_with_its_columns_and_predictions(predictor, tmp_path, src_ext, out_ext):
    src = write_input(tmp_path / f"in{src_ext}")
    out = tmp_path / f"out{out_ext}"
    report = score_file(predictor, src, out, "review", "ticket", chunk_rows=4, progress=False)
    assert (report.rows, report.errors) == (len(ROWS), SCORED.count(False))
    got = read_output(out)
    assert len(got) == len(ROWS)
    assert [str(v) for v in got["review"]] == [r["review"] for r in ROWS]
    assert [str(v).zfill(3) for v in got["ticket"]] == [r["ticket"] for r in ROWS]
    for col in ["language", "sentiment", "themes", "escalation", "truncated", "error", *PROB_COLUMNS]:
        assert col in got.columns
    errors = got["error"].replace("", None)
    assert [e is None or pd.isna(e) for e in errors] == SCORED
    assert "empty" in errors[2] and "empty" in errors[3] and "over the limit" in errors[4]
    scored = got[SCORED]
    for task in predictor.schema.tasks:
        if not task.multi:
            assert scored[task.name].isin(task.labels).all()
    assert scored["sentiment.negative"].astype(float).between(0, 1).all()
    themes = scored["themes"].iloc[0]
    known = set(predictor.schema["themes"].labels)
    assert set(themes.split("|") if out_ext == ".csv" else themes) - {""} <= known
    failed = got[[not s for s in SCORED]]
    assert (failed["sentiment"].replace("", None).isna()).all()
    assert all(p.is_file() for p in summary_paths(out))


def test_predictions_match_the_predictor(predictor, tmp_path):
    src = write_input(tmp_path / "in.jsonl")
    got = read_output(score_file(predictor, src, tmp_path / "out.jsonl", "review", progress=False).output)
    expected = predictor.predict([ROWS[0]["review"]])[0]
    assert got["sentiment"][0] == expected["sentiment"]["label"]
    assert got["escalation.high"][0] == pytest.approx(expected["escalation"]["scores"]["high"])


def test_non_string_and_missing_text_and_bad_jsonl_lines_are_row_errors(predictor, tmp_path):
    src = tmp_path / "in.jsonl"
    lines = ['{"review": "good"}', '{"review": 5}', '{"other": 1}', "not json", "[1, 2]", "", '{"review": null}']
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = score_file(predictor, src, tmp_path / "out.jsonl", "review", progress=False).output
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert records[0]["error"] is None and records[0]["sentiment"] in predictor.schema["sentiment"].labels
    got = pd.DataFrame(records)
    assert len(got) == 7  # every line is a row: the blank one too, with an error that says so
    assert "not int" in got["error"][1].replace("string, ", "")
    assert "missing" in got["error"][2] and "missing" in got["error"][6]
    assert "line 6 is blank" in got["error"][5]
    assert "line 4 is not valid JSON" in got["error"][3] and "line 5 is a JSON list" in got["error"][4]
    assert list(records[2])[0] == "other" and "other" not in records[0]  # a key a line lacks stays absent


def test_missing_text_column_names_the_columns_found(predictor, tmp_path):
    src = write_input(tmp_path / "in.csv")
    with pytest.raises(ScoreError, match="no text column 'text'; columns found: ticket, review, stars"):
        score_file(predictor, src, tmp_path / "out.csv", "text", progress=False)
    with pytest.raises(ScoreError, match="no id column 'id'"):
        score_file(predictor, src, tmp_path / "out.csv", "review", "id", progress=False)
    assert list(tmp_path.iterdir()) == [src]


def test_unknown_extension_and_already_scored_input_are_refused(predictor, tmp_path):
    src = write_input(tmp_path / "in.csv")
    with pytest.raises(ScoreError, match="unknown extension '.xls'"):
        score_file(predictor, src, tmp_path / "out.xls", "review", progress=False)
    scored = score_file(predictor, src, tmp_path / "out.csv", "review", progress=False).output
    with pytest.raises(ScoreError, match="already has the output columns language"):
        score_file(predictor, scored, tmp_path / "again.csv", "review", progress=False)


def test_a_crash_part_way_leaves_no_file(predictor, tmp_path, monkeypatch):
    src = write_input(tmp_path / "in.parquet", ROWS * 5)
    calls = []

    def flaky(predictor, texts):
        calls.append(len(texts))
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(predictor, texts)

    real = batch.score_texts
    monkeypatch.setattr(batch, "score_texts", flaky)
    for ext in (".csv", ".jsonl", ".parquet"):
        calls.clear()
        with pytest.raises(KeyboardInterrupt):
            score_file(predictor, src, tmp_path / f"out{ext}", "review", chunk_rows=4, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.parquet"]


def test_summary_counts_and_lists_high_escalation_first(predictor, tmp_path, monkeypatch):
    def refund_is_high(predictor, texts):
        results = real(predictor, texts)
        for text, result in zip(texts, results):
            if "환불" in text:
                p_high = 0.9 if "asap" in text else 0.8
                result["escalation"] = {"label": "high", "scores": {"low": 0.0, "medium": 1 - p_high, "high": p_high}}
        return results

    real = batch.score_texts
    monkeypatch.setattr(batch, "score_texts", refund_is_high)
    out = tmp_path / "out.csv"
    score_file(predictor, write_input(tmp_path / "in.csv"), out, "review", "ticket", chunk_rows=2, progress=False)
    got = read_output(out)
    md, html = (p.read_text(encoding="utf-8") for p in summary_paths(out))
    assert md.index("## Needs a human first: escalation = high") < md.index("## sentiment")
    assert f"{len(ROWS)} rows, {SCORED.count(False)} with an error" in md
    assert md.index("| 6 | 012 | 0.900 |") < md.index("| 1 | 007 | 0.800 |")
    for label, n in got["sentiment"][SCORED].value_counts().items():
        assert f"| {label} | {n} |" in md
    assert "| high | 2 |" in md and "| ko | 1 |" in md
    assert "| 3 | 009 | text is empty" in md  # error rows, by row and id
    assert "data:image/png;base64," not in html  # no date column: no trend chart, and counts are tables


def test_csv_output_starts_with_a_bom_and_reads_back(predictor, tmp_path):
    src = write_input(tmp_path / "in.csv")
    out = score_file(predictor, src, tmp_path / "out.csv", "review", "ticket", progress=False).output
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert list(read_output(out).columns[:2]) == ["ticket", "review"]  # pandas drops the BOM
    assert [c for _, c in zip(range(2), tables.read_chunks(out))][0].columns[0] == "ticket"
    plain = score_file(predictor, src, tmp_path / "plain.csv", "review", bom=False, progress=False).output
    assert plain.read_bytes().startswith(b"ticket,")


def test_trend_and_group_by_reach_the_summary(predictor, tmp_path):
    rows = [{**r, "day": f"2026-10-0{i + 1}", "channel": "app" if i % 2 else "email"} for i, r in enumerate(ROWS)]
    src = write_input(tmp_path / "in.jsonl", rows)
    out = tmp_path / "out.parquet"
    score_file(predictor, src, out, "review", date_column="day", group_column="channel", progress=False)
    md, html = (p.read_text(encoding="utf-8") for p in summary_paths(out))
    assert "## Trend per day (day)" in md and "| 2026-10-06 (few rows) | 1 |" in md
    assert "## By channel" in md and "| app (few rows) | 2 |" in md  # rows 2, 4, 6 are app; row 4 has an error
    assert html.count("data:image/png;base64,") == 1
    with pytest.raises(ScoreError, match="no group-by column 'shop'"):
        score_file(predictor, src, tmp_path / "x.csv", "review", group_column="shop", progress=False)


def test_progress_moves_per_forward_batch_with_a_total(predictor, tmp_path, monkeypatch):
    updates, totals = [], []

    class Bar:
        def __init__(self, total, **kwargs):
            totals.append(total)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def update(self, n):
            updates.append(n)

    monkeypatch.setattr("voc.batch.progress.tqdm", Bar)  # the bar progress_display shows
    src = write_input(tmp_path / "in.csv", ROWS * 3)
    score_file(predictor, src, tmp_path / "out.csv", "review", chunk_rows=100, progress=True)
    assert totals == [len(ROWS) * 3] and sum(updates) == len(ROWS) * 3
    assert len([n for n in updates if n]) >= 9 // predictor.batch_size + 1  # 9 scorable rows, batches of 2


def test_voc_score_command(tiny_model_dir, tmp_path, capsys):
    import voc

    src = write_input(tmp_path / "in.csv")
    out = tmp_path / "out.jsonl"
    args = ["score", str(src), "--text-column", "review", "--output", str(out), "--model", str(tiny_model_dir)]
    assert voc.main(args) == 0
    assert f"{len(ROWS)} rows" in capsys.readouterr().out and out.is_file()
    assert voc.main([*args[:3], "body", *args[4:]]) == 2
    assert "columns found: ticket, review, stars" in capsys.readouterr().err


def test_a_wrong_column_is_reported_before_the_model_loads(tmp_path, capsys, monkeypatch):
    import voc

    def no_load(*args, **kwargs):
        pytest.fail("the model was loaded before the columns were checked")

    monkeypatch.setattr(Predictor, "load", no_load)
    src = write_input(tmp_path / "in.csv")
    args = ["score", str(src), "--text-column", "body", "--output", str(tmp_path / "o.csv"), "--model", "nowhere"]
    assert voc.main(args) == 2
    assert "no text column 'body'; columns found: ticket, review, stars" in capsys.readouterr().err
    assert voc.main([*args[:3], "review", *args[4:], "--date-column", "when"]) == 2
    assert "no date column 'when'" in capsys.readouterr().err


def test_an_output_that_is_a_folder_is_refused_before_the_model_loads(tmp_path, capsys, monkeypatch):
    import voc

    monkeypatch.setattr(Predictor, "load", lambda *a, **k: pytest.fail("the model was loaded"))
    src = write_input(tmp_path / "in.csv")
    (tmp_path / "out.csv").mkdir()
    args = ["score", str(src), "--text-column", "review", "--output", str(tmp_path / "out.csv"), "--model", "nowhere"]
    assert voc.main(args) == 2
    assert f"output {tmp_path / 'out.csv'} is a folder: name a file in it" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir() if p.name != "in.csv"] == ["out.csv"]  # no summary left behind
