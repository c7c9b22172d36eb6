"""Batch input and output that must survive every byte: CR/LF/quotes/NUL and huge cells, duplicate column
names, nested and null-typed Parquet, blank and duplicate-key JSONL lines, unwritable outputs, chunks
bounded by bytes, and a model whose labels.yaml was edited."""

from __future__ import annotations

import csv
import io
import json
import shutil

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from openpyxl import Workbook, load_workbook

import voc
from voc.batch import score as batch
from voc.batch.score import ScoreError, score_file
from voc.models import tables
from voc.models.errors import ModelFileError
from voc.models.predictor import Predictor

HOSTILE = {
    "bare CR": "a\rb",
    "LF": "first line\nsecond line",
    "CRLF": "one\r\ntwo",
    "quotes": 'he said "refund", then ""nothing""',
    "NUL": "x\x00y",
    "delimiter": "a, b, c",
    "leading space": "  padded  ",
}
HUGE = "w" * 200_000  # over the csv module's default field limit of 131,072 characters


@pytest.fixture(scope="module")
def predictor(tiny_model_dir) -> Predictor:
    return Predictor.load(tiny_model_dir, tag="voc-classifier:tiny", batch_size=4)


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows([header, *rows])  # as the issue sent it
    return out.getvalue()


def read_back(path) -> tuple[list[list[str]], pd.DataFrame]:
    """The output's records by the csv module, and the output as pandas reads it."""
    with open(path, encoding="utf-8-sig", newline="") as f:
        records = list(csv.reader(f))
    return records, pd.read_csv(path, dtype=str, keep_default_na=False)


def test_every_hostile_cell_round_trips_through_the_csv_module_and_pandas(predictor, tmp_path):
    rows = [[str(i), f"배송 {text}", text, HUGE if i == 0 else "small"] for i, text in enumerate(HOSTILE.values())]
    src = tmp_path / "in.csv"
    src.write_text(csv_text(["id", "review", "note", "attachment"], rows), encoding="utf-8", newline="")
    out = score_file(predictor, src, tmp_path / "out.csv", "review", progress=False).output
    records, frame = read_back(out)
    assert len(records) == len(rows) + 1 and len(frame) == len(rows)  # no row split, none merged
    assert [r[:4] for r in records[1:]] == rows  # every cell byte for byte, through the csv module
    assert frame[["id", "review", "note", "attachment"]].values.tolist() == rows  # and through pandas
    assert frame["error"].tolist() == [""] * len(rows)


def test_a_carriage_return_in_a_jsonl_text_stays_in_its_csv_row(predictor, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps({"id": i, "review": f"a\rb {i}"}) + "\n" for i in range(3)), encoding="utf-8")
    out = score_file(predictor, src, tmp_path / "out.csv", "review", progress=False).output
    records, frame = read_back(out)
    assert len(records) == 4 and frame["review"].tolist() == [f"a\rb {i}" for i in range(3)]


def test_duplicate_column_names_come_back_exactly_as_they_were_in_csv(predictor, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(csv_text(["id", "id", "review", "note", "note"], [["1", "A", "좋아요", "x", "y"]]), encoding="utf-8")
    out = score_file(predictor, src, tmp_path / "out.csv", "review", progress=False).output
    records, _ = read_back(out)
    assert records[0][:5] == ["id", "id", "review", "note", "note"] and records[1][:5] == ["1", "A", "좋아요", "x", "y"]


@pytest.mark.parametrize(
    ("text_column", "output", "words"),
    [
        ("review", "out.jsonl", "jsonl output cannot hold two columns of one name"),
        ("review", "out.parquet", "parquet output cannot hold"),
        ("note", "out.csv", "columns 4, 5 are all named 'note'"),
    ],
)
def test_duplicate_names_that_cannot_survive_are_refused_before_scoring(tmp_path, text_column, output, words):
    src = tmp_path / "in.csv"
    src.write_text(csv_text(["id", "id", "review", "note", "note"], [["1", "A", "좋아요", "x", "y"]]), encoding="utf-8")
    with pytest.raises(ScoreError, match=words):
        batch.check_input(src, "utf-8", tables.file_format(tmp_path / output), text=text_column)


def test_a_row_wider_than_its_header_is_one_line_that_names_the_line(tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("id,review\n1,ok\n2,a,b,c\n", encoding="utf-8")
    with pytest.raises(ScoreError) as e:
        list(tables.read_chunks(src))
    assert "\n" not in str(e.value) and "line 3 has 4 fields, the header 2" in str(e.value)


def test_an_unwritable_output_is_one_line_with_status_2(tiny_model_dir, tmp_path, capsys, monkeypatch):
    src = tmp_path / "in.csv"
    src.write_text("id,review\n1,ok\n", encoding="utf-8")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    argv = ["score", str(src), "--text-column", "review", "--model", str(tiny_model_dir), "--output"]
    assert voc.main([*argv, str(blocker / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write there" in err and "Traceback" not in err

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(batch.tempfile, "mkstemp", denied)  # a folder without write permission (tests run as root)
    assert voc.main([*argv, str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert "cannot write there (Permission denied)" in err and err.count("\n") == 1


def test_chunks_are_bounded_by_bytes_not_only_rows(tmp_path):
    big = "x" * 100_000
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps({"review": big}) + "\n" for _ in range(10)), encoding="utf-8")
    src = tmp_path / "in.csv"
    src.write_text(csv_text(["review"], [[big]] * 10), encoding="utf-8")
    parquet = tmp_path / "in.parquet"
    pq.write_table(pa.table({"review": [chr(65 + i) * 100_000 for i in range(10)]}), parquet)  # no dictionary
    for path in (jsonl, src, parquet):
        sizes = [len(chunk) for chunk in tables.read_chunks(path, chunk_rows=1024, chunk_bytes=250_000)]
        assert sum(sizes) == 10 and max(sizes) <= 3, (path.suffix, sizes)


def test_parquet_null_typed_and_nested_columns(predictor, tmp_path):
    table = pa.table(
        {
            "review": ["좋아요", "환불 해주세요"],
            "nothing": pa.nulls(2),
            "tags": pa.array([["a", "b"], []], pa.list_(pa.string())),
            "counts": pa.array([[1, None], [3]], pa.list_(pa.int64())),
            "blob": pa.array([b"\x00\xff", None], pa.binary()),
            "meta": pa.array([{"k": 1}, {"k": 2}], pa.struct([("k", pa.int64())])),
        }
    )
    src = tmp_path / "in.parquet"
    pq.write_table(table, src)
    out = score_file(predictor, src, tmp_path / "out.parquet", "review", progress=False).output
    assert pq.read_schema(out).field("nothing").type == pa.null()
    jsonl = score_file(predictor, src, tmp_path / "out.jsonl", "review", progress=False).output
    first = json.loads(jsonl.read_text(encoding="utf-8").splitlines()[0])
    assert first["tags"] == ["a", "b"] and first["counts"] == [1, None] and first["meta"] == {"k": 1}
    assert first["blob"] == "AP8="  # base64: JSON has no bytes
    _, frame = read_back(score_file(predictor, src, tmp_path / "out.csv", "review", progress=False).output)
    assert frame["tags"].tolist() == ['["a", "b"]', "[]"] and frame["counts"][0] == "[1, null]"
    assert frame["blob"].tolist() == ["AP8=", ""] and frame["meta"][0] == '{"k": 1}'


def test_a_jsonl_line_with_a_key_twice_is_an_error_row(predictor, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"review": "good", "review": "bad"}\n{"review": "ok"}\n', encoding="utf-8")
    out = score_file(predictor, src, tmp_path / "out.jsonl", "review", progress=False).output
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert "line 1 has the key 'review' more than once" in rows[0]["error"] and rows[1]["error"] is None


def test_a_jsonl_file_holding_one_array_says_so(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('[{"review": "good"}, {"review": "bad"}]\n', encoding="utf-8")
    with pytest.raises(ScoreError, match=r"it holds a JSON array\): write one JSON object per line"):
        batch.check_input(src, text="review")


def test_a_model_whose_labels_yaml_was_edited_is_refused(tiny_model_dir, tmp_path):
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    labels = model / "labels.yaml"
    labels.write_text(labels.read_text(encoding="utf-8").replace("- trust", "- trust\n    - price"), encoding="utf-8")
    with pytest.raises(
        ModelFileError, match=r"labels.yaml was edited \(themes: speed, empathy, resolution, trust, price\)"
    ):
        Predictor.load(model)


# With analyst's spreadsheet work (models/spreadsheets.py): a detected delimiter, Excel-safe cells and .xlsx.


def test_a_semicolon_csv_keeps_its_delimiter_and_every_hostile_cell(predictor, tmp_path):
    rows = [[str(i), f"배송 {text}", text] for i, text in enumerate(HOSTILE.values())]
    sent = io.StringIO()
    csv.writer(sent, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(
        [["id", "review", "note"], *rows]
    )
    src = tmp_path / "in.csv"
    src.write_text(sent.getvalue(), encoding="utf-8", newline="")
    out = score_file(predictor, src, tmp_path / "out.csv", "review", progress=False).output
    with open(out, encoding="utf-8-sig", newline="") as f:
        records = list(csv.reader(f, delimiter=";"))
    assert len(records) == len(rows) + 1 and [r[:3] for r in records[1:]] == rows
    assert out.read_bytes().count(b"\r\n") >= len(rows) + 1  # CRLF record ends


def test_duplicate_column_names_are_each_excel_safe_and_kept_in_xlsx(predictor, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(csv_text(["note", "review", "note"], [["=1+1", "좋아요", "@x"]]), encoding="utf-8")
    records, _ = read_back(score_file(predictor, src, tmp_path / "out.csv", "review", progress=False).output)
    assert records[0][:3] == ["note", "review", "note"] and records[1][:3] == ["'=1+1", "좋아요", "'@x"]
    out = score_file(predictor, src, tmp_path / "out.xlsx", "review", progress=False).output
    header, first = list(load_workbook(out).worksheets[0].iter_rows())[:2]
    assert [c.value for c in header[:3]] == ["note", "review", "note"]
    assert [c.value for c in first[:3]] == ["=1+1", "좋아요", "@x"] and first[0].quotePrefix and first[2].quotePrefix


def test_nested_parquet_columns_reach_xlsx_as_json_text(predictor, tmp_path):
    table = pa.table(
        {
            "review": ["좋아요", "환불 해주세요"],
            "tags": pa.array([["a", "b"], []], pa.list_(pa.string())),
            "blob": pa.array([b"\x00\xff", None], pa.binary()),
        }
    )
    src = tmp_path / "in.parquet"
    pq.write_table(table, src)
    out = score_file(predictor, src, tmp_path / "out.xlsx", "review", progress=False).output
    rows = list(load_workbook(out).worksheets[0].iter_rows(values_only=True))
    assert [row[1:3] for row in rows[1:]] == [('["a", "b"]', "AP8="), ("[]", None)]


def test_xlsx_chunks_are_bounded_by_characters_too(tmp_path):
    book = Workbook()
    book.active.append(["review"])
    for i in range(10):
        book.active.append([chr(65 + i) * 30_000])
    src = tmp_path / "in.xlsx"
    book.save(src)
    sizes = [len(chunk) for chunk in tables.read_chunks(src, chunk_rows=1024, chunk_bytes=70_000)]
    assert sum(sizes) == 10 and max(sizes) <= 3, sizes
