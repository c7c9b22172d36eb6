"""voc suggest, voc audit, voc models and the active-learning simulation, on the tiny backbone."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from test_eval_baselines import synthetic_rows, write_jsonl

import voc
from voc.models.data import iter_labelled
from voc.models.schema import LabelSchema
from voc.research.selection import head_uncertainty, select

SCHEMA = LabelSchema.load()


@pytest.fixture(autouse=True)
def embedding_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VOC_HOME", str(tmp_path / "voc-home"))


def test_uncertainty_is_high_where_the_head_cannot_decide():
    single, multi = SCHEMA["sentiment"], SCHEMA["themes"]
    probs = np.array([[0.45, 0.45, 0.1], [0.98, 0.01, 0.01]])
    assert head_uncertainty(single, probs, np.zeros(3)).tolist() == pytest.approx([1.0, 0.03])
    thr = np.full(len(multi.labels), 0.4)
    themes = np.array([[0.4] + [0.0] * (len(multi.labels) - 1), [1.0] + [0.0] * (len(multi.labels) - 1)])
    assert head_uncertainty(multi, themes, thr).tolist() == pytest.approx([1.0, 0.0])


def test_select_takes_the_most_uncertain_row_of_each_cluster():
    rng = np.random.default_rng(0)
    # Two tight groups; the first holds the six most uncertain rows: pure top-2 would pick both from it.
    emb = np.vstack([rng.normal(0, 0.01, (6, 4)) + [1, 0, 0, 0], rng.normal(0, 0.01, (20, 4)) + [0, 1, 0, 0]])
    scores = np.r_[np.linspace(0.99, 0.9, 6), np.linspace(0.6, 0.5, 20)]
    picks = select(scores, emb, 2)  # candidates: the 10 most uncertain, 6 + 4
    assert [(p.index, p.cluster_size) for p in picks] == [(0, 6), (6, 4)]


def test_voc_suggest_writes_a_file_ready_to_label(tiny_model_dir, tmp_path, capsys):
    rows = [{"ticket": f"T{i}", "body": r["text"]} for i, r in enumerate(synthetic_rows(40))]
    rows[3]["body"] = "  "  # unscorable rows are skipped, not picked
    src = tmp_path / "export.csv"
    pd.DataFrame(rows).to_csv(src, index=False)
    out = tmp_path / "to_label.jsonl"
    args = ["suggest", str(src), "--text-column", "body", "--id-column", "ticket", "--n", "5"]
    assert voc.main([*args, "--output", str(out), "--model", str(tiny_model_dir)]) == 0
    assert "5 of 39 rows picked (1 without a usable text)" in capsys.readouterr().out
    picked = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(picked) == 5 and len({p["id"] for p in picked}) == 5 and "T3" not in {p["id"] for p in picked}
    assert [p["uncertainty"] for p in picked] == sorted((p["uncertainty"] for p in picked), reverse=True)
    for p in picked:
        assert all(p[t] is None for t in SCHEMA.names) and "similar uncertain rows" in p["reason"]
        assert p["guess_sentiment"] in SCHEMA["sentiment"].labels and isinstance(p["guess_themes"], list)
    # Filled in with the guesses, the file is training data for `voc train --add-data`.
    filled = [{**p, **{t: p[f"guess_{t}"] for t in SCHEMA.names}} for p in picked]
    assert len(list(iter_labelled(write_jsonl(tmp_path / "labelled.jsonl", filled), SCHEMA))) == 5
    assert voc.main([*args, "--output", str(tmp_path / "x.csv"), "--model", str(tmp_path / "none")]) == 2


def test_voc_audit_ranks_flipped_labels_first(tiny_backbone, tmp_path):
    from voc.research.audit import audit, write_audit

    rows = synthetic_rows(80)
    flipped = {4: "positive", 21: "negative", 42: "positive"}  # each differs from its template
    for i, label in flipped.items():
        rows[i]["sentiment"] = label
    rows[10]["themes"] = []  # a missing theme
    path = write_jsonl(tmp_path / "train.jsonl", rows)
    issues, audited = audit([path], SCHEMA, folds=4, backbone=tiny_backbone)
    assert audited == dict.fromkeys(SCHEMA.names, 80)
    top = {i.id for i in issues if i.head == "sentiment"}
    assert {f"s{i}" for i in flipped} <= top
    first = next(i for i in issues if i.id == "s4" and i.head == "sentiment")
    assert first.given == "positive" and first.suggested != "positive" and first.where.endswith("train.jsonl:5")
    assert any(i.id == "s10" and i.head == "themes" and i.suggested for i in issues)
    md = write_audit(issues, audited, tmp_path / "audit.csv", top=5)
    assert "| sentiment | 80 |" in md.read_text(encoding="utf-8")
    assert len(pd.read_csv(tmp_path / "audit.csv")) == len(issues)


def test_voc_models_lists_versions_and_diffs_two(tiny_model_dir, tmp_path, capsys):
    from voc.models.store import register

    other = tmp_path / "other"
    shutil.copytree(tiny_model_dir, other)
    meta = json.loads((other / "voc.json").read_text(encoding="utf-8"))
    meta.update(
        name="mine",
        seed=7,
        training={"epochs": 3},
        data={"mine.csv": "ab" * 32},
        metrics={
            "data": [{"path": "/elsewhere/data/mine_test.csv", "rows": 12}],
            "systems": {"model": {"themes": {"type": "multi", "micro_f1": 0.5}}},
        },
        test_metrics={"data/mine_test.csv": {}, "data/other_test.csv": {}},
    )
    (other / "voc.json").write_text(json.dumps(meta), encoding="utf-8")
    tags = [register(tiny_model_dir), register(other)]
    assert voc.main(["models"]) == 0
    out = capsys.readouterr().out
    assert out.index(tags[1]) < out.index(tags[0]) and "| mine | 7 |" in out and "0.500" in out
    assert "| data/mine_test.csv (12 rows) | 0.500 |" in out and "on the version's test set" in out
    assert voc.main(["models", "--diff", str(tiny_model_dir), tags[1].split(":")[1]]) == 0
    out = capsys.readouterr().out
    assert "metrics (test set: ? -> data/mine_test.csv (12 rows)):" in out
    assert "training.epochs" not in out and "epochs: None -> 3" in out and "+ mine.csv (abababab)" in out
    assert voc.main(["models", "--diff", "nope", str(other)]) == 2


def test_simulation_prints_a_table_and_writes_a_curve(tiny_backbone, tmp_path, capsys):
    from voc.research import simulate

    pool = write_jsonl(tmp_path / "pool.jsonl", synthetic_rows(60))
    measure = write_jsonl(tmp_path / "measure.jsonl", synthetic_rows(24, offset=100))
    argv = ["--pool", str(pool), "--measure", str(measure), "--seed-size", "8", "--step", "8", "--rounds", "2"]
    argv += ["--seeds", "2", "--backbone", tiny_backbone, "--out", str(tmp_path / "al")]
    assert simulate.main(argv) == 0
    out = capsys.readouterr().out
    assert "| 8 |" in out and "| 24 |" in out and "random" in out
    result = json.loads((tmp_path / "al.json").read_text())
    assert result["sizes"] == [8, 16, 24] and len(result["curves"]["suggest"]) == 2
    assert (tmp_path / "al.png").stat().st_size > 1000


def test_suggest_on_an_onnx_predictor_loads_pytorch_on_first_use(exported_model_dir):
    from voc.models.predictor import Predictor
    from voc.research.suggest import Pool, suggest

    predictor = Predictor.load(exported_model_dir)  # the exported model's default: an ONNX graph, no PyTorch module
    backend = predictor.backend
    assert predictor.model is None and backend.startswith("onnx")
    texts = [r["text"] for r in synthetic_rows(12)]
    frame = suggest(predictor, Pool([str(i) for i in range(12)], texts, 0), 3)
    assert len(frame) == 3 and predictor.torch_model() is predictor.torch_model()  # loaded once
    assert predictor.backend == backend  # scoring stays on the backend it was loaded on


def test_a_suggest_csv_says_no_theme_as_the_training_reader_does(tmp_path):
    """An empty guess is written [] (the reader's "labelled: none"), never an empty cell ("not labelled"), so a
    labeller who copies the guesses keeps the row's theme signal; the file starts with a BOM for Excel."""
    from types import SimpleNamespace

    from voc.research.suggest import write_suggestions

    guesses = {"guess_sentiment": ["neutral", "negative"], "guess_themes": [[], ["speed", "trust"]]}
    guesses["guess_escalation"] = ["low", "high"]
    rows = {"id": ["a", "b"], "text": ["배송 문의", "환불 늦어요"], **dict.fromkeys(SCHEMA.names)}
    frame = pd.DataFrame({**rows, **guesses})
    out = tmp_path / "to_label.csv"
    write_suggestions(frame, out, SimpleNamespace(schema=SCHEMA))
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert written["guess_themes"].tolist() == ["[]", "speed|trust"] and written["themes"].tolist() == ["", ""]
    written.assign(**{t: written[f"guess_{t}"] for t in SCHEMA.names}).to_csv(tmp_path / "filled.csv", index=False)
    assert [r["themes"] for r in iter_labelled(tmp_path / "filled.csv", SCHEMA)] == [[], ["speed", "trust"]]
