"""`voc bench` on the tiny model: the in-process table with the sequential rate; the mixed file for `voc score`."""

from __future__ import annotations

import pandas as pd

from voc.models.samples import DEFAULT_TEXTS, MIXED_FILES, read_texts
from voc.tools.bench import mixed_file, run_bench, score_table


def test_bench_reports_sequential_and_batch_rates(tiny_model_dir):
    report = run_bench(str(tiny_model_dir), DEFAULT_TEXTS, 16, 4, 0, ["torch"], score=False)
    header, _, row = report.split("\n\n")[1].splitlines()[:3]
    assert "sequential texts/s" in header and "batch / sequential" in header
    assert row.startswith("| torch (default) |") and "100.0%" in row


def test_mixed_file_holds_every_test_text_shuffled(tmp_path):
    path, n = mixed_file(tmp_path)
    texts = [t for f in MIXED_FILES for t in read_texts(f, 10**9)]
    got = pd.read_csv(path)["text"].tolist()
    assert n == len(texts) == len(got) and sorted(got) == sorted(texts) and got != texts


def test_score_table_compares_with_torch():
    table = score_table([{"backend": "default", "rows_per_s": 150.0}, {"backend": "torch", "rows_per_s": 50.0}], 9, "x")
    assert "| default | 150 | 3.00x |" in table and "| torch | 50 | 1.00x |" in table
