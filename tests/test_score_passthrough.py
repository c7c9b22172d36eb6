"""The batch scorer gives every input column back as it was: big integers, leading zeros, floats as written,
mixed types per column, keys a JSONL line lacks — in CSV, JSONL and Parquet."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from voc.batch.score import score_file
from voc.models.jsonvalues import parse_line
from voc.models.predictor import Predictor

JSONL_LINES = [
    '{"id": 9007199254740993, "n": 1, "f": 1.50, "m": "007", "review": "good"}',
    "not json at all",
    '{"id": 12345678901234567890, "n": 1.0, "f": 1e3, "m": 7, "review": "bad"}',
    '{"id": "007", "m": [1, {"k": 2.10}], "review": "ok", "extra": null}',
    '{"id": -0, "n": 2, "f": -1.25E-7, "review": ""}',
]
CSV_TEXT = "id,amount,code,review\n9007199254740993,1.50,007,good\n12345678901234567890,1e3,,bad\n1,-0,0x1F,ok\n"


@pytest.fixture(scope="module")
def predictor(tiny_model_dir) -> Predictor:
    return Predictor.load(tiny_model_dir, tag="voc-classifier:tiny", batch_size=4)


def input_columns(record: dict) -> dict:
    return {k: v for k, v in record.items() if k in {"id", "n", "f", "m", "review", "extra"}}


def test_jsonl_values_come_back_as_written(predictor, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(JSONL_LINES) + "\n", encoding="utf-8")
    out = score_file(predictor, src, tmp_path / "out.jsonl", "review", "id", chunk_rows=2, progress=False).output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(JSONL_LINES)
    for given, got in zip(JSONL_LINES, lines):
        expected = parse_line(given) if given.startswith("{") else {}
        assert input_columns(parse_line(got)) == expected  # numbers compared as their text
    assert '"id": 9007199254740993' in lines[0] and '"n": 1,' in lines[0] and '"f": 1.50' in lines[0]
    assert '"id": 12345678901234567890' in lines[2] and '"n": 1.0' in lines[2] and '"f": 1e3' in lines[2]
    assert '"m": [1, {"k": 2.10}]' in lines[3] and '"extra": null' in lines[3] and '"n"' not in lines[3]


def test_jsonl_to_csv_and_parquet_keep_the_numbers_text(predictor, tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(JSONL_LINES) + "\n", encoding="utf-8")
    csv = score_file(predictor, src, tmp_path / "out.csv", "review", progress=False).output
    got = pd.read_csv(csv, dtype=str, keep_default_na=False)
    assert got["id"].tolist() == ["9007199254740993", "", "12345678901234567890", "007", "-0"]
    assert got["f"].tolist() == ["1.50", "", "1e3", "", "-1.25E-7"]
    parquet = score_file(predictor, src, tmp_path / "out.parquet", "review", progress=False).output
    table = pq.read_table(parquet)
    # Mixed or over-64-bit columns become their JSON text; a column of one JSON type keeps it.
    assert table.column("id").to_pylist() == ["9007199254740993", None, "12345678901234567890", "007", "-0"]
    assert table.column("n").to_pylist() == ["1", None, "1.0", None, "2"]
    assert table.column("f").type == pa.float64() and table.column("f").to_pylist()[:3] == [1.5, None, 1000.0]


@pytest.mark.parametrize("out_ext", [".csv", ".jsonl", ".parquet"])
def test_csv_cells_come_back_as_text(predictor, tmp_path, out_ext):
    src = tmp_path / "in.csv"
    src.write_text(CSV_TEXT, encoding="utf-8")
    out = score_file(predictor, src, tmp_path / f"out{out_ext}", "review", "id", progress=False).output
    if out_ext == ".csv":
        got = pd.read_csv(out, dtype=str, keep_default_na=False)
    elif out_ext == ".jsonl":
        got = pd.DataFrame([json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()])
    else:
        got = pd.read_parquet(out)
    assert got["id"].tolist() == ["9007199254740993", "12345678901234567890", "1"]
    assert got["amount"].tolist() == ["1.50", "1e3", "-0"]
    assert got["code"].tolist() == ["007", "", "0x1F"]


@pytest.mark.parametrize("out_ext", [".csv", ".jsonl", ".parquet"])
def test_parquet_columns_keep_their_types_and_values(predictor, tmp_path, out_ext):
    src = tmp_path / "in.parquet"
    table = pa.table(
        {
            "id": pa.array([9007199254740993, None, 1], pa.int64()),
            "score": pa.array([1.5, None, 2.0], pa.float64()),
            "code": pa.array(["007", None, "x"]),
            "review": ["good", "bad", None],
        }
    )
    pq.write_table(table, src)
    out = score_file(predictor, src, tmp_path / f"out{out_ext}", "review", progress=False).output
    if out_ext == ".parquet":
        got = pq.read_table(out)
        for name in ("id", "score", "code"):
            assert got.column(name).type == table.column(name).type
            assert got.column(name).to_pylist() == table.column(name).to_pylist()
        assert "missing" in got.column("error").to_pylist()[2]
    elif out_ext == ".jsonl":
        lines = out.read_text(encoding="utf-8").splitlines()
        assert '"id": 9007199254740993' in lines[0] and '"id": null' in lines[1] and '"id": 1,' in lines[2]
    else:
        got = pd.read_csv(out, dtype=str, keep_default_na=False)
        assert got["id"].tolist() == ["9007199254740993", "", "1"] and got["code"].tolist() == ["007", "", "x"]
