"""ONNX backends on the tiny model: export, equality with PyTorch, the gate's bookkeeping, backend choice."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from voc.models.backends import ONNX_FILES
from voc.models.errors import ModelFileError
from voc.models.gate import MAX_DROP_POINTS, PREFERENCE, gate_table, run_gate
from voc.models.predictor import Predictor

REPO = Path(__file__).resolve().parents[1]
TEXTS = ["배송이 늦어요", "great support, thanks", "환불 해주세요 refund please", "ok", "a " * 200]


@pytest.fixture(scope="module")
def validation(tmp_path_factory) -> Path:
    """The first 40 rows of the validation split: enough for the gate's bookkeeping, fast on the tiny model."""
    lines = (REPO / "data" / "voc" / "validation.jsonl").read_text(encoding="utf-8").splitlines()[:40]
    path = tmp_path_factory.mktemp("gate") / "validation.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    real = (REPO / "data" / "real" / "shop_reviews_ko" / "validation.jsonl").read_text(encoding="utf-8")
    path.with_name("real.jsonl").write_text("\n".join(real.splitlines()[:30]) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def exported(tiny_model_dir, validation, tmp_path_factory) -> Path:
    from voc.training.export import export_model

    path = tmp_path_factory.mktemp("exported") / "tiny"
    shutil.copytree(tiny_model_dir, path)
    export_model(path, [validation, validation.with_name("real.jsonl")])
    return path


def test_export_writes_both_graphs_and_records_them(exported):
    meta = json.loads((exported / "voc.json").read_text())
    backends = meta["backends"]
    assert set(backends["variants"]) == set(ONNX_FILES)
    for name, file in ONNX_FILES.items():
        assert (exported / file).stat().st_size == backends["variants"][name]["bytes"]
    assert backends["variants"]["onnx"]["fused"].get("Attention") == 2  # the optimiser fused both layers
    assert backends["default"] in backends["gate"]["backends"]
    assert "## Inference backends" in (exported / "README.md").read_text()
    check = json.loads((exported / "selfcheck.json").read_text())
    assert set(check["backends"]) == {"onnx-int8"}  # fp32 ONNX is held to the PyTorch probabilities


def test_onnx_logits_equal_torch(exported):
    torch_p = Predictor.load(exported, backend="torch")
    onnx_p = Predictor.load(exported, backend="onnx")
    assert onnx_p.backend == "onnx" and onnx_p.model is None
    ref, got = torch_p.part_logits(TEXTS)[0], onnx_p.part_logits(TEXTS)[0]
    for task in ref:
        np.testing.assert_allclose(got[task], ref[task], atol=1e-4, rtol=0)


def test_onnx_length_bucketing_and_windows_leave_probabilities_as_they_were(exported):
    texts = TEXTS * 4 + ["환불 " * 60, "b"]
    bucketed = Predictor.load(exported, backend="onnx", batch_size=32).predict_proba(texts)
    alone = Predictor.load(exported, backend="onnx", batch_size=1).predict_proba(texts)
    reference = Predictor.load(exported, backend="torch").predict_proba(texts)
    for task in bucketed:
        np.testing.assert_allclose(bucketed[task], alone[task], atol=1e-5)
        np.testing.assert_allclose(bucketed[task], reference[task], atol=1e-5)


def test_int8_is_verified_against_its_own_record(exported, tmp_path):
    assert Predictor.load(exported, backend="onnx-int8").backend == "onnx-int8"
    one = Predictor.load(exported, backend="onnx-int8", batch_size=1)  # replayed in the record's passes
    assert (one.batch_size, one.pass_cost) == (1, Predictor.load(exported, backend="onnx").pass_cost)
    damaged = tmp_path / "m"
    shutil.copytree(exported, damaged)
    check = json.loads((damaged / "selfcheck.json").read_text())
    probs = check["backends"]["onnx-int8"]["probs"]["sentiment"]
    probs[0] = [p + 0.1 for p in probs[0]]
    (damaged / "selfcheck.json").write_text(json.dumps(check))
    with pytest.raises(ModelFileError, match="onnx-int8"):
        Predictor.load(damaged, backend="onnx-int8")


def test_gate_bookkeeping(exported, validation):
    meta = json.loads((exported / "voc.json").read_text())
    gate = meta["backends"]["gate"]
    ref = gate["backends"]["torch"]
    files = [str(validation), str(validation.with_name("real.jsonl"))]
    assert gate["files"] == files and gate["rows"] == dict(zip(files, [40, 30]))
    assert gate["max_drop_points"] == MAX_DROP_POINTS
    assert {d for f in files for d in ref["delta_points"][f].values()} == {0.0} and ref["agreement"]["all"] == 1.0
    for b in gate["backends"].values():
        assert set(b["delta_points"]) == set(files)  # every head on every file
        assert b["passes"] == all(d >= -MAX_DROP_POINTS for f in files for d in b["delta_points"][f].values())
        assert set(b["agreement"]) == {"sentiment", "themes", "escalation", "all"}
    first = next(n for n in PREFERENCE if gate["backends"][n]["passes"])  # by speed order, not a noisy timing
    assert meta["backends"]["default"] == first
    table = gate_table(gate)
    assert "/real (30) |" in table and "/validation (40) |" in table  # a row per backend and file
    assert len(table.splitlines()) == 2 + 2 * len(gate["backends"])


class Inverted(Predictor):
    """Every probability turned around: a backend that gets most decisions wrong."""

    def predict_proba(self, texts):
        return {t: p[:, ::-1].copy() for t, p in super().predict_proba(texts).items()}


def test_a_backend_that_loses_accuracy_fails_the_gate(tiny_model_dir, validation):
    reference = Predictor.load(tiny_model_dir, backend="torch")
    worse = Inverted(reference.model, reference.tokenizer, reference.meta)
    real = validation.with_name("real.jsonl")
    gate = run_gate({"torch": lambda: reference, "worse": lambda: worse}, [validation, real])
    bad = gate["backends"]["worse"]
    assert bad["agreement"]["all"] < 1.0
    drops = [d for per_file in bad["delta_points"].values() for d in per_file.values()]
    assert bad["passes"] == (min(drops) >= -MAX_DROP_POINTS)
    if not bad["passes"]:
        assert gate["default"] == "torch"


def test_backend_choice_and_fallback(exported, tiny_model_dir, tmp_path, monkeypatch):
    default = json.loads((exported / "voc.json").read_text())["backends"]["default"]
    assert Predictor.load(exported).backend == default
    monkeypatch.setenv("VOC_BACKEND", "onnx")
    assert Predictor.load(exported).backend == "onnx"
    monkeypatch.delenv("VOC_BACKEND")
    assert Predictor.load(tiny_model_dir).backend == "torch"  # never exported
    stripped = tmp_path / "no-onnx"
    shutil.copytree(exported, stripped)
    shutil.rmtree(stripped / "onnx")
    assert Predictor.load(stripped).backend == "torch"  # the recorded default's files are gone: torch
    with pytest.raises(ModelFileError, match="voc export"):
        Predictor.load(stripped, backend="onnx-int8")
    with pytest.raises(ModelFileError, match="unknown backend"):
        Predictor.load(exported, backend="tensorrt")


def test_the_gate_measures_as_voc_evaluate_does(tiny_model_dir, validation):
    from voc.evaluation import evaluate_files
    from voc.models.gate import score
    from voc.models.metrics import MAIN_METRIC

    predictor = Predictor.load(tiny_model_dir, backend="torch")
    gated = score(predictor, validation)
    metrics = evaluate_files(predictor, [validation], progress=False)
    model = metrics["systems"]["model"]
    assert gated["metrics"] == {t: round(m[MAIN_METRIC[m["type"]]], 4) for t, m in model.items()}
    assert gated["rows"] == metrics["rows"] == 40
