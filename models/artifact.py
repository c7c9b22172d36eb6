"""The saved model: one self-contained directory that serving and auditing need, written atomically.

Layout::

    encoder/            Hugging Face checkpoint of the fine-tuned encoder + tokenizer (safetensors)
    heads.safetensors   the task heads
    ngram.safetensors   the optional character/word n-gram part (models.ngram)
    voc.json            schema, text prefix, max length, thresholds, temperatures, training config,
                        data hashes, metrics, seed and package versions
    labels.yaml         the label schema the heads were built from
    README.md           the model card
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from safetensors.torch import load_file, save_file

from .classifier import VocClassifier
from .schema import LabelSchema

META_FILE = "voc.json"
FORMAT_VERSION = 1


class ModelFileError(RuntimeError):
    """A model directory is missing or incomplete."""


def save_model(out_dir: str | Path, model: VocClassifier, tokenizer, meta: dict, card: str = "", ngram=None) -> Path:
    """Write the model directory; a failure part-way leaves nothing at ``out_dir``."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        write_model_files(tmp, model, tokenizer, meta, card, ngram)
        if out_dir.exists():
            shutil.rmtree(out_dir)
        tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def write_model_files(path: Path, model: VocClassifier, tokenizer, meta: dict, card: str = "", ngram=None) -> None:
    """Write the files of a model directory into an existing empty directory (``ngram``: an NgramModel)."""
    path.chmod(0o755)
    model.encoder.save_pretrained(str(path / "encoder"))
    tokenizer.save_pretrained(str(path / "encoder"))
    save_file(model.heads_state(), str(path / "heads.safetensors"))
    if ngram is not None:
        ngram.save(path)
    model.schema.dump(path / "labels.yaml")
    full = {"format": FORMAT_VERSION, **meta, "schema": model.schema.to_dict()}
    (path / META_FILE).write_text(json.dumps(full, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (path / "README.md").write_text(card or "# voc-classifier\n", encoding="utf-8")


def load_model(path: str | Path) -> tuple[VocClassifier, object, dict]:
    """Load ``(model, tokenizer, meta)`` from a model directory, in eval mode on the CPU."""
    from transformers import AutoTokenizer

    from .backbone import load_encoder

    path = Path(path)
    if not (path / META_FILE).is_file():
        raise ModelFileError(f"{path} is not a voc model directory (no {META_FILE}); train one with `voc train`")
    meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    schema = LabelSchema.from_dict(meta["schema"], source=str(path / META_FILE))
    tokenizer = AutoTokenizer.from_pretrained(str(path / "encoder"))
    encoder = load_encoder(str(path / "encoder"))
    model = VocClassifier(encoder, schema)
    heads = {k.removeprefix("heads."): v for k, v in load_file(str(path / "heads.safetensors")).items()}
    model.heads.load_state_dict(heads)
    model.eval()
    return model, tokenizer, meta
