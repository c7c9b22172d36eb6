"""``voc score --engine ray`` with the tiny model: a local Ray scores three shards (one with bad rows) and
the result equals ``voc score``'s row for row. Tests marked ``ray`` are skipped without the ``[ray]`` extra;
the others check the boundary (inputs, outputs, the missing-Ray message) and run everywhere."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from voc.batch import distributed
from voc.batch.distributed import SHARD, SHARD_ROW, find_shards, score_sharded
from voc.batch.score import ScoreError, score_file
from voc.batch.summary import summary_paths
from voc.models.predictor import Predictor

GOOD = pd.DataFrame({"ticket": ["007", "008", "009"], "review": ["배송이 늦어요", "the agent was kind", "환불 refund"]})
BAD_JSONL = '{"ticket": 1, "review": "fine"}\nnot json\n{"ticket": 3, "review": ""}\n{"ticket": 4}\n[1]\n'


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray with 2 CPUs for the module (started once: Ray takes seconds to start)."""
    ray = pytest.importorskip("ray")
    distributed.start_ray(ray, None, 2)
    yield ray
    ray.shutdown()


@pytest.fixture()
def shards(tmp_path):
    """Three shards of three formats; the JSONL one has bad lines, an empty text and a missing text."""
    folder = tmp_path / "export"
    folder.mkdir()
    GOOD.to_csv(folder / "a.csv", index=False)
    (folder / "b.jsonl").write_text(BAD_JSONL, encoding="utf-8")
    pd.DataFrame({"ticket": [10, 11], "review": ["좋아요", "late again"]}).to_parquet(folder / "c.parquet", index=False)
    (folder / "_SUCCESS").write_text("")
    return folder


def single_process(tiny_model_dir, source, output):
    """What ``voc score`` makes of one file."""
    predictor = Predictor.load(tiny_model_dir, tag="voc-classifier:tiny")
    return score_file(predictor, source, output, "review", "ticket", progress=False)


@pytest.mark.ray
def test_sharded_output_equals_voc_score_row_for_row(local_ray, tiny_model_dir, shards, tmp_path):
    out = tmp_path / "scored"
    model = str(tiny_model_dir)
    report = score_sharded([shards], out, "review", model, "ticket", workers=2, progress=False, group_column="ticket")
    files = find_shards([shards])
    assert [p.name for p in files] == ["a.csv", "b.jsonl", "c.parquet"]
    assert sorted(p.name for p in out.iterdir()) == [f"part-0000{i}.parquet" for i in range(3)]
    rows = errors = 0
    for i, source in enumerate(files):
        expected_report = single_process(tiny_model_dir, source, tmp_path / f"single{i}.parquet")
        expected = pd.read_parquet(tmp_path / f"single{i}.parquet")
        got = pd.read_parquet(out / f"part-0000{i}.parquet")
        assert got[SHARD].tolist() == [str(source)] * len(expected)
        assert got[SHARD_ROW].tolist() == list(range(1, len(expected) + 1))
        pd.testing.assert_frame_equal(got.drop(columns=[SHARD, SHARD_ROW]), expected)
        rows, errors = rows + expected_report.rows, errors + expected_report.errors
    assert (report.rows, report.errors, report.shards, report.workers) == (rows, errors, 3, 2)
    assert errors == 4  # two unreadable lines, an empty text, a missing text
    md = summary_paths(out)[0].read_text(encoding="utf-8")
    assert f"{rows} rows, {errors} with an error" in md
    # --group-by over the shards
    assert "## By ticket" in md and "| 008 (few rows) | 1 |" in md and "| 11 (few rows) | 1 |" in md
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.ray
def test_voc_score_engine_ray_one_file_to_one_file(local_ray, tiny_model_dir, tmp_path, capsys):
    import voc

    source = tmp_path / "in.csv"
    GOOD.to_csv(source, index=False)
    out = tmp_path / "out.csv"
    args = ["score", str(source), "--text-column", "review", "--id-column", "ticket", "--output", str(out)]
    assert voc.main([*args, "--model", str(tiny_model_dir), "--engine", "ray", "--workers", "1"]) == 0
    assert "3 rows (0 with an error) from 1 shards" in capsys.readouterr().out
    single_process(tiny_model_dir, source, tmp_path / "single.csv")
    got = pd.read_csv(out, dtype=str, keep_default_na=False)
    expected = pd.read_csv(tmp_path / "single.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(got.drop(columns=[SHARD, SHARD_ROW]), expected)


@pytest.mark.ray
def test_a_shard_without_the_text_column_fails_the_job_and_writes_nothing(local_ray, tiny_model_dir, shards, tmp_path):
    pd.DataFrame({"ticket": ["1"], "body": ["no review column"]}).to_csv(shards / "d.csv", index=False)
    out = tmp_path / "scored"
    with pytest.raises(ScoreError, match=r"d\.csv: no text column 'review'; columns found: ticket, body"):
        score_sharded([shards], out, "review", str(tiny_model_dir), workers=2, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


def test_inputs_are_files_directories_or_globs_in_name_order(shards):
    assert find_shards([shards / "c.parquet", shards]) == [shards / n for n in ("c.parquet", "a.csv", "b.jsonl")]
    assert find_shards([shards / "*.csv"]) == [shards / "a.csv"]
    (shards / "notes.txt").write_text("")
    with pytest.raises(ScoreError, match="files of unknown type notes.txt"):
        find_shards([shards])
    with pytest.raises(ScoreError, match="no such file, directory or matching files"):
        find_shards([shards / "missing*.csv"])


def test_outputs_that_cannot_be_honoured_are_refused_before_ray_starts(shards, tiny_model_dir, tmp_path):
    model = str(tiny_model_dir)
    with pytest.raises(ScoreError, match="3 input files need an output directory"):
        score_sharded([shards], tmp_path / "out.parquet", "review", model)
    (tmp_path / "done").mkdir()
    with pytest.raises(ScoreError, match="already exists"):
        score_sharded([shards], tmp_path / "done", "review", model)
    with pytest.raises(ScoreError, match="--workers must be at least 1"):
        score_sharded([shards], tmp_path / "out", "review", model, workers=0)


def test_without_ray_the_message_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(ScoreError, match=r"pip install 'voc\[ray\]'"):
        distributed.import_ray()


def test_local_engine_refuses_ray_options(tiny_model_dir, shards, tmp_path, capsys):
    import voc

    args = ["score", str(shards / "a.csv"), str(shards / "c.parquet"), "--text-column", "review"]
    assert voc.main([*args, "--output", str(tmp_path / "o"), "--model", str(tiny_model_dir)]) == 2
    assert "several inputs, --address and --workers need --engine ray" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]
