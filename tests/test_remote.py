"""Fine-tuning elsewhere (training/remote.py): pack, fit on the trimmed backbone, put the weights back exactly."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file
from test_training import tiny_config  # noqa: F401  (the fixture: a seconds-long run on the tiny backbone)

from voc.models.predictor import Predictor
from voc.training import remote, train
from voc.training.cli import measure_test_file
from voc.training.config import ConfigError, load_config


@pytest.fixture()
def fitted(tiny_config, tmp_path):  # noqa: F811
    """A pack of the tiny config, fitted on the CPU as the GPU machine would; returns (config, pack, weights)."""
    config = load_config(None, [*tiny_config, "name=tiny"])
    remote.pack([config], tmp_path / "pack")
    remote.fit(tmp_path / "pack", "tiny", tmp_path / "weights", "cpu")
    return config, tmp_path / "pack", tmp_path / "weights"


def test_pack_keeps_only_the_pieces_the_rows_use(fitted):
    _, pack, _ = fitted
    info = json.loads((pack / "tiny.json").read_text())
    rows = load_file(str(pack / json.loads((pack / "tiny.json").read_text())["rows_file"]))
    words = load_file(str(pack / "backbone.safetensors"))[remote.WORD_EMBEDDINGS]
    assert info["rows"] == len(rows["lengths"]) == int((rows["has.sentiment"] >= 0).sum())
    assert int(rows["input_ids"].max()) < words.shape[0] < 140  # the tiny vocabulary has 140 pieces
    assert words.dtype == torch.float16


def test_weights_trained_elsewhere_are_put_back_exactly(fitted, tiny_config):  # noqa: F811
    """The finished model (full vocabulary, loaded from disk) gives the trimmed model's logits there."""
    config, pack, weights = fitted
    out = train.main(load_config(None, [*tiny_config, "name=tiny", f"fine_tuned={weights}"]), measure_test_file)
    saved = Predictor.load(out, backend="torch")
    result = json.loads((weights / "result.json").read_text())
    assert result["steps"] == saved.meta["train_stats"]["steps"]
    assert set(result["validation_encoder_only"]) == {s.path for s in config.validation}
    assert 0.0 <= result["validation_encoder_only"][config.validation[0].path]["sentiment"] <= 1.0

    # Rebuild the trimmed model from the pack and the returned files, as it stood on the other machine.
    from transformers import AutoConfig, AutoModel

    from voc.models.classifier import VocClassifier

    encoder = AutoModel.from_config(AutoConfig.from_pretrained(str(pack)), add_pooling_layer=False)
    state = load_file(str(pack / "backbone.safetensors"))
    for file in weights.glob("encoder-*.safetensors"):
        state.update(load_file(str(file)))
    encoder.load_state_dict(state, strict=False)
    there = VocClassifier(encoder.float(), saved.schema).eval()
    heads = load_file(str(weights / "heads.safetensors"))
    there.heads.load_state_dict({k.removeprefix("heads."): v for k, v in heads.items()})

    rows = load_file(str(pack / json.loads((pack / "tiny.json").read_text())["rows_file"]))
    n = int(rows["lengths"][0])
    trimmed_ids = rows["input_ids"][:n].long()[None]
    with saved.tokenizer.reading(1, saved.max_length):  # one window of the training length, as packed
        full_ids = torch.tensor(saved.tokenizer([_first_text(config)]).windows[0])
    assert full_ids.shape == trimmed_ids.shape
    with torch.no_grad():
        a = there(trimmed_ids, torch.ones_like(trimmed_ids))
        b = saved.model(full_ids, torch.ones_like(full_ids))
    for name in a:
        np.testing.assert_allclose(a[name].numpy(), b[name].numpy(), atol=1e-5)


def test_other_settings_or_data_are_refused(fitted, tiny_config, tmp_path):  # noqa: F811
    _, _, weights = fitted
    with pytest.raises(ConfigError, match="other settings"):
        train.main(
            load_config(None, [*tiny_config, "name=tiny", "epochs=3", f"fine_tuned={weights}"]), measure_test_file
        )
    first = load_config(None, tiny_config).train[0].path
    with open(first, "a", encoding="utf-8") as f:
        f.write('{"text": "one more row", "sentiment": "neutral"}\n')
    with pytest.raises(ConfigError, match="data changed"):
        train.main(load_config(None, [*tiny_config, "name=tiny", f"fine_tuned={weights}"]), measure_test_file)


def test_a_pack_needs_frozen_word_embeddings(tiny_config, tmp_path):  # noqa: F811
    with pytest.raises(ConfigError, match="freeze_embeddings"):
        remote.pack([load_config(None, [*tiny_config, "freeze_embeddings=false"])], tmp_path / "pack")


def _first_text(config) -> str:
    """The first training row's cleaned text, as the pack encoded it."""
    from voc.models.schema import LabelSchema
    from voc.models.text import clean_text

    return clean_text(remote.training_rows(config, LabelSchema.load())[0]["text"])
