"""What ships is what was measured: every part of a saved model scores, after ``Predictor.load``, as it did in
memory; a damaged or foreign model is refused with a message that names the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from test_training import ROWS, write_jsonl

from voc.models.arrays import load_arrays, save_arrays
from voc.models.backbone import load_backbone
from voc.models.classifier import VocClassifier
from voc.models.errors import ModelFileError
from voc.models.ngram import NgramModel
from voc.models.predictor import Predictor
from voc.models.schema import LabelSchema
from voc.models.selfcheck import FILE as SELF_CHECK_FILE

TEXTS = [
    "배송이 2주째 안 와요 환불해 주세요",
    "상담원이 친절했어요",
    "hidden fees, calling my lawyer",
    "when will it ship?",
    "세 번째 문의입니다 진짜 지친다",
    "great taste, good size",
    "환불 refund please",
]


def fitted_ngram(schema: LabelSchema) -> NgramModel:
    texts = [r["text"] for r in ROWS] * 2
    labels = {t.name: [r[t.name] for r in ROWS] * 2 for t in schema.tasks}
    return NgramModel(schema, c=4.0).fit(texts, labels)


@pytest.fixture(scope="module")
def trained_parts(tiny_backbone):
    """A tiny model with every part set to something non-trivial: random heads, a fitted n-gram part,
    combination weights, temperatures, theme thresholds and an alert operating point."""
    torch.manual_seed(1)
    schema = LabelSchema.load()
    encoder, tokenizer = load_backbone(tiny_backbone)
    model = VocClassifier(encoder, schema).eval()
    with torch.no_grad():
        for head in model.heads.values():
            head.weight.normal_(0, 2.0)
    meta = {
        "base_model": tiny_backbone,
        "text_prefix": "query: ",
        "max_length": 32,
        "temperatures": {"sentiment": 1.7, "themes": 0.8, "escalation": 1.3},
        "ngram_weights": {"sentiment": 0.9, "themes": 1.4, "escalation": 0.6},
        "thresholds": {
            "themes": {label: 0.3 + 0.1 * i for i, label in enumerate(schema["themes"].labels)},
            "escalation": {schema["escalation"].labels[-1]: 0.25},
        },
    }
    return model, tokenizer, meta, fitted_ngram(schema)


def assert_same_scores(a: Predictor, b: Predictor, atol: float) -> None:
    pa, pb = a.predict_proba(TEXTS), b.predict_proba(TEXTS)
    assert set(pa) == set(pb)
    for task in pa:
        np.testing.assert_allclose(pa[task], pb[task], atol=atol, err_msg=task)
    for ra, rb in zip(a.predict(TEXTS), b.predict(TEXTS)):
        for task in a.schema.names:  # every decision identical
            assert {k: v for k, v in ra[task].items() if k != "scores"} == {
                k: v for k, v in rb[task].items() if k != "scores"
            }


def test_save_arrays_keeps_any_memory_order(tmp_path):
    weight = np.arange(12, dtype=np.float32).reshape(3, 4)
    fortran = weight.T.astype(np.float16)  # the layout that once shipped scrambled
    assert not fortran.flags.c_contiguous
    save_arrays({"w": fortran}, tmp_path / "a.safetensors")
    np.testing.assert_array_equal(load_arrays(tmp_path / "a.safetensors")["w"], weight.T)


def test_ngram_part_round_trip_is_exact(tmp_path):
    schema = LabelSchema.load()
    ngram = fitted_ngram(schema)
    ngram.save(tmp_path)
    loaded = NgramModel.load(tmp_path, schema)
    before, after = ngram.logits(TEXTS), loaded.logits(TEXTS)
    assert set(before) == set(after) == set(schema.names)
    for task in before:
        # the weights are held in memory exactly as stored (float16 values), so nothing moves
        np.testing.assert_allclose(before[task], after[task], atol=1e-5, err_msg=task)
        assert (before[task].argmax(1) == after[task].argmax(1)).all()


def test_every_part_survives_save_and_load(trained_parts, tmp_path):
    model, tokenizer, meta, ngram = trained_parts
    in_memory = Predictor(model, tokenizer, meta, ngram=ngram)
    in_memory.save(tmp_path / "m")
    loaded = Predictor.load(tmp_path / "m")
    assert_same_scores(in_memory, loaded, atol=1e-4)
    assert loaded.temperatures == meta["temperatures"]
    assert loaded.ngram_weights == meta["ngram_weights"]
    assert loaded.thresholds == meta["thresholds"]
    assert (loaded.prefix, loaded.max_length) == (meta["text_prefix"], meta["max_length"])
    for name, tensor in model.heads.state_dict().items():
        torch.testing.assert_close(loaded.model.heads.state_dict()[name], tensor, rtol=0, atol=0)
    for name, tensor in model.encoder.state_dict().items():
        torch.testing.assert_close(loaded.model.encoder.state_dict()[name], tensor, rtol=0, atol=0)


def test_saving_twice_gives_identical_files(trained_parts, tmp_path):
    model, tokenizer, meta, ngram = trained_parts
    for name in ("a", "b"):
        Predictor(model, tokenizer, meta, ngram=ngram).save(tmp_path / name)
    for file in ("heads.safetensors", "ngram.safetensors", SELF_CHECK_FILE, "encoder/model.safetensors"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes(), file


@pytest.fixture()
def saved(trained_parts, tmp_path):
    model, tokenizer, meta, ngram = trained_parts
    return Predictor(model, tokenizer, meta, ngram=ngram).save(tmp_path / "m")


def test_self_check_refuses_a_model_that_scores_differently(saved):
    from safetensors.numpy import save_file

    # Same shapes and dtypes, different numbers: what a wrong memory order does to a file.
    file = saved / "ngram.safetensors"
    arrays = load_arrays(file)
    arrays["sentiment.weight"] = np.ascontiguousarray(arrays["sentiment.weight"][::-1])
    save_file(arrays, str(file))
    with pytest.raises(ModelFileError, match=r"selfcheck\.json.*largest difference [0-9.]+ in 'sentiment'"):
        Predictor.load(saved)


def test_self_check_names_a_missing_check_file(saved):
    (saved / SELF_CHECK_FILE).unlink()
    with pytest.raises(ModelFileError, match="selfcheck.json: missing"):
        Predictor.load(saved)


@pytest.mark.parametrize("file", ["heads.safetensors", "ngram.safetensors", "encoder/model.safetensors"])
def test_truncated_file_is_named(saved, file):
    path = saved / file
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(ModelFileError, match=file.split("/")[0]):
        Predictor.load(saved)


def test_unknown_format_says_which_version_this_code_reads(saved):
    meta = json.loads((saved / "voc.json").read_text())
    (saved / "voc.json").write_text(json.dumps({**meta, "format": 1}))
    with pytest.raises(ModelFileError, match="model format 1, but this voc reads format 2"):
        Predictor.load(saved)


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"format": 2}'])
def test_garbage_meta_is_named(saved, content):
    (saved / "voc.json").write_text(content)
    with pytest.raises(ModelFileError, match="voc.json"):
        Predictor.load(saved)


def test_cli_scores_what_the_trained_model_scored_in_memory(tmp_path, tiny_backbone, bentoml_home):
    """As a user does it: `voc train` (tiny config, registered), then `voc score` from the store in a new
    process; its columns equal the predictions of the model that training saved and measured."""
    train = write_jsonl(tmp_path / "train.jsonl", ROWS * 3)
    test = write_jsonl(tmp_path / "test.jsonl", [{**r, "text": r["text"] + " 확인"} for r in ROWS])
    env = {**os.environ, "BENTOML_HOME": str(bentoml_home), "BENTOML_DO_NOT_TRACK": "True"}
    cmd = [sys.executable, "-m", "voc"]
    overrides = [
        f"base_model={tiny_backbone}",
        f"train=[{train}]",
        f"validation=[{train}]",
        f"test=[{test}]",
        f"ngram_train=[{train}]",
        "epochs=1",
        "batch_size=4",
        "max_length=32",
        f"output_dir={tmp_path}/model",
    ]
    run = subprocess.run(
        [*cmd, "train", *[a for o in overrides for a in ("--set", o)]], env=env, capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    assert "self-check passed" in run.stdout and "registered in the BentoML store as voc-classifier:" in run.stdout
    pd.DataFrame({"id": range(len(TEXTS)), "text": TEXTS}).to_csv(tmp_path / "in.csv", index=False)
    run = subprocess.run(
        [*cmd, "score", str(tmp_path / "in.csv"), "--text-column", "text", "--output", str(tmp_path / "out.csv")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    scored = pd.read_csv(tmp_path / "out.csv", keep_default_na=False)
    expected = Predictor.load(tmp_path / "model")
    probs = expected.predict_proba(TEXTS)
    for task in expected.schema.tasks:
        for j, label in enumerate(task.labels):
            np.testing.assert_allclose(scored[f"{task.name}.{label}"], probs[task.name][:, j], atol=1e-4)
    for i, result in enumerate(expected.predict(TEXTS)):
        assert scored["sentiment"][i] == result["sentiment"]["label"]
        assert scored["escalation"][i] == result["escalation"]["label"]
        assert scored["themes"][i] == "|".join(result["themes"]["labels"])


def test_an_interrupted_save_leaves_the_saved_model_as_it_was(trained_parts, saved, monkeypatch):
    from voc.models import artifact

    model, tokenizer, meta, ngram = trained_parts
    before = {p.relative_to(saved): p.read_bytes() for p in saved.rglob("*") if p.is_file()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(artifact.LabelSchema, "dump", interrupted)  # the files are half written by then
    with pytest.raises(KeyboardInterrupt):
        Predictor(model, tokenizer, {**meta, "max_length": 16}, ngram=ngram).save(saved)
    assert {p.relative_to(saved): p.read_bytes() for p in saved.rglob("*") if p.is_file()} == before
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]
    Predictor.load(saved)


def test_only_a_model_built_from_its_parts_can_be_saved(saved, tmp_path):
    with pytest.raises(ValueError, match="transformers tokenizer"):
        Predictor.load(saved).save(tmp_path / "copy")
