"""What analysts' spreadsheets need of ``voc score`` (issue 22: 1, 2, 11): .xlsx in and out, a detected CSV
delimiter, Excel-safe cells, date options, and a last line that counts truncated rows and unreadable dates."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook

from voc.batch import score as batch
from voc.batch.score import score_file
from voc.batch.summary import summary_paths
from voc.models.predictor import Predictor
from voc.models.spreadsheets import FormatError, excel_safe, sniff_delimiter

ROWS = [  # ticket, review, channel, created (a cell Excel would run as a formula in the review)
    ("007", "배송이 2주째 안 와요. 환불해 주세요", "app", "05/11/2026"),
    ("008", "@support the agent was kind; fixed it, thanks", "email", "25/11/2026"),
    ("009", '=HYPERLINK("http://x","click")', "app", "06/11/2026"),
    ("010", "-5 stars, never again", "chat", "later"),
]


@pytest.fixture(scope="module")
def predictor(tiny_model_dir) -> Predictor:
    return Predictor.load(tiny_model_dir, tag="voc-classifier:tiny", batch_size=2)


def write_xlsx(path, header, rows, sheets=1):
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append(list(row))
    for line in sheet.iter_rows():
        for cell in line:
            if isinstance(cell.value, str):
                cell.data_type = "s"  # text as typed with a leading ', not a formula
    for n in range(1, sheets):
        book.create_sheet(f"other {n}")
    book.save(path)
    return path


def xlsx_cells(path):
    sheet = load_workbook(path).worksheets[0]
    return [[cell for cell in row] for row in sheet.iter_rows()]


def test_xlsx_in_and_out_keeps_values_and_types_and_runs_no_formula(predictor, tmp_path):
    when = dt.datetime(2026, 11, 5, 21, 3)
    rows = [(*row[:3], when, 4.5 if i else 3) for i, row in enumerate(ROWS)]
    src = write_xlsx(tmp_path / "in.xlsx", ["ticket", "review", "channel", "created", "stars"], rows)
    out = tmp_path / "out.xlsx"
    report = score_file(predictor, src, out, "review", "ticket", date_column="created", progress=False, chunk_rows=3)
    assert (report.rows, report.errors) == (4, 0)
    cells = xlsx_cells(out)
    header = [c.value for c in cells[0]]
    assert header[:5] == ["ticket", "review", "channel", "created", "stars"]
    assert {"language", "sentiment", "escalation.high", "truncated", "error"} <= set(header)
    body = cells[1:]
    assert [c[0].value for c in body] == ["007", "008", "009", "010"]
    assert body[0][3].value == when and body[0][4].value == 3 and body[1][4].value == 4.5
    formula = body[2][1]
    assert formula.value == ROWS[2][1] and formula.data_type == "s" and formula.quotePrefix  # text, not a formula
    assert body[1][1].quotePrefix and not body[0][1].quotePrefix  # "@..." too; plain text untouched
    assert isinstance(body[0][header.index("escalation.high")].value, float)
    md = summary_paths(out)[0].read_text(encoding="utf-8")
    assert "## Trend per day (created)" in md and "2026-11-05" in md  # dates read as Excel stores them


def test_xlsx_input_problems_are_named(predictor, tmp_path):
    two = write_xlsx(tmp_path / "two.xlsx", ["review"], [("hi",)], sheets=2)
    with pytest.raises(FormatError, match="has 2 worksheets .* save the sheet to score on its own"):
        score_file(predictor, two, tmp_path / "o.csv", "review", progress=False)
    wide = write_xlsx(tmp_path / "wide.xlsx", ["review"], [("hi", "stray")])
    with pytest.raises(FormatError, match="row 2 has a value in column 2, past the header's 1 named columns"):
        score_file(predictor, wide, tmp_path / "o.csv", "review", progress=False)
    (tmp_path / "fake.xlsx").write_text("ticket,review\n")
    with pytest.raises(FormatError, match="not a readable .xlsx workbook"):
        score_file(predictor, tmp_path / "fake.xlsx", tmp_path / "o.csv", "review", progress=False)
    assert not (tmp_path / "o.csv").exists()


@pytest.mark.parametrize("delimiter", [";", "\t", ","])
def test_the_csv_delimiter_is_detected_and_kept(predictor, tmp_path, delimiter):
    src = tmp_path / "in.csv"
    pd.DataFrame(ROWS, columns=["ticket", "review", "channel", "created"]).to_csv(src, sep=delimiter, index=False)
    assert sniff_delimiter(src, "utf-8") == delimiter
    out = tmp_path / "out.csv"
    score_file(predictor, src, out, "review", "ticket", progress=False, excel_safe=False)
    got = pd.read_csv(out, sep=delimiter, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert got["review"].tolist() == [r[1] for r in ROWS] and got["ticket"].tolist() == ["007", "008", "009", "010"]
    assert got["error"].tolist() == [""] * 4


def test_csv_output_is_excel_safe_by_default_and_can_be_turned_off(predictor, tmp_path):
    src = tmp_path / "in.csv"
    frame = pd.DataFrame(ROWS, columns=["ticket", "review", "channel", "created"]).assign(
        delta=["-5", "+3.2", "1", "@x"]
    )
    frame.to_csv(src, index=False)
    safe, raw = tmp_path / "safe.csv", tmp_path / "raw.csv"
    score_file(predictor, src, safe, "review", progress=False)
    score_file(predictor, src, raw, "review", progress=False, excel_safe=False)
    got = pd.read_csv(safe, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert got["review"].tolist() == [ROWS[0][1], "'" + ROWS[1][1], "'" + ROWS[2][1], "'" + ROWS[3][1]]
    assert got["delta"].tolist() == ["-5", "+3.2", "1", "'@x"]  # numbers stay numbers
    assert pd.read_csv(raw, dtype=str, keep_default_na=False, encoding="utf-8-sig")["review"].tolist() == [
        r[1] for r in ROWS
    ]


@pytest.mark.parametrize(
    ("value", "safe"),
    [("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("-cmd", "'-cmd"), ("-12", "-12"), ("1e5", "1e5"), (3, 3)],
)
def test_excel_safe_only_touches_text_that_would_run(value, safe):
    assert excel_safe(value) == safe


def _cli(tiny_model_dir, src, out, *extra):
    args = ["score", str(src), "--text-column", "review", "--id-column", "ticket", "--output", str(out)]
    return [*args, "--model", str(tiny_model_dir), "--date-column", "created", "--group-by", "channel", *extra]


def test_the_last_line_counts_truncated_rows_and_unreadable_dates(tiny_model_dir, tmp_path, capsys, monkeypatch):
    """Issue 22 (1, 2): 87 of 364 rows truncated and dates misread, and the last line said neither."""
    import voc

    real = batch.score_texts

    def marked(predictor, texts):  # `truncated` as the predictor would set it for long texts
        return [{**r, "truncated": "환불" in t} for r, t in zip(real(predictor, texts), texts)]

    monkeypatch.setattr(batch, "score_texts", marked)
    src = tmp_path / "in.csv"
    pd.DataFrame(ROWS, columns=["ticket", "review", "channel", "created"]).to_csv(src, sep=";", index=False)
    out = tmp_path / "out.csv"
    assert voc.main(_cli(tiny_model_dir, src, out)) == 0
    captured = capsys.readouterr()
    last = captured.out.strip().splitlines()[-1]
    assert "4 rows (0 with an error; 1 truncated: ko 1; 1 without a readable date)" in last
    assert "1 of 4 scored rows truncated" in captured.err
    assert "3 dates such as 05/11/2026 in created read as day/month: 1 of them can only be read that way" in (
        captured.err
    )
    assert "1 scored row has a date in created that could not be read ('later')" in captured.err
    html = summary_paths(out)[1].read_text(encoding="utf-8")
    assert "1 of 4 scored rows truncated" in html

    # All dates ambiguous: read month-first, and said so; --day-first settles it without a warning.
    ambiguous = [(*r[:3], d) for r, d in zip(ROWS, ["05/11/2026", "06/11/2026", "07/11/2026", "08/11/2026"])]
    pd.DataFrame(ambiguous, columns=["ticket", "review", "channel", "created"]).to_csv(src, index=False)
    assert voc.main(_cli(tiny_model_dir, src, out)) == 0
    assert "could be day/month or month/day" in capsys.readouterr().err
    assert voc.main(_cli(tiny_model_dir, src, out, "--day-first")) == 0
    err = capsys.readouterr().err
    assert "day/month" not in err and "2026-11-05" in summary_paths(out)[0].read_text(encoding="utf-8")
    assert voc.main(_cli(tiny_model_dir, src, out, "--date-format", "%m/%d/%Y", "--delimiter", ",")) == 0
    assert "2026-05-11" in summary_paths(out)[0].read_text(encoding="utf-8")
    with pytest.raises(SystemExit):  # one or the other
        voc.main(_cli(tiny_model_dir, src, out, "--day-first", "--month-first"))
