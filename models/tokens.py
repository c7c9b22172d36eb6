"""One tokenisation per text: the ids the encoder sees and whether the text was truncated, from one call.

Scoring used to tokenise every text twice (once to run the encoder, once more without truncation to count
its tokens for the ``truncated`` flag). Here the Rust tokenizer truncates to ``max_length`` and reports
what it cut (``Encoding.overflowing``), so the flag comes from the same encoding as the ids. The ids equal
those of ``tokenizer(texts, truncation=True, max_length=...)`` (tests/test_tokens.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer


@dataclass
class Tokens:
    """Per text: its ids (specials included, at most ``max_length``) and whether tokens were cut off."""

    ids: list[list[int]]
    truncated: list[bool]


class TextTokenizer:
    """``prefix + cleaned text`` -> :class:`Tokens`, with one tokenizer call per batch."""

    def __init__(self, tokenizer: Tokenizer, prefix: str, max_length: int, pad_id: int) -> None:
        """``tokenizer`` becomes this object's own: its truncation and padding are set here."""
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length)
        self.prefix, self.max_length, self.pad_id = prefix, max_length, pad_id

    @classmethod
    def from_hf(cls, tokenizer, prefix: str, max_length: int) -> TextTokenizer:
        """From a transformers fast tokenizer (training hands one over)."""
        own = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())  # the caller's stays as it was
        return cls(own, prefix, max_length, tokenizer.pad_token_id or 0)

    @classmethod
    def from_dir(cls, path: Path, prefix: str, max_length: int) -> TextTokenizer:
        """From a saved tokenizer directory (``tokenizer.json``), without importing transformers. Loaded once:
        XLM-R's 250k-piece Unigram model costs about 270 MB per copy in memory."""
        tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
        pad = config.get("pad_token")
        pad = pad.get("content") if isinstance(pad, dict) else pad
        return cls(tokenizer, prefix, max_length, tokenizer.token_to_id(pad) if pad else 0)

    def __call__(self, cleaned: list[str]) -> Tokens:
        """Tokenise texts already passed through ``clean_text``."""
        encodings = self.tokenizer.encode_batch([self.prefix + t for t in cleaned])
        return Tokens([e.ids for e in encodings], [bool(e.overflowing) for e in encodings])


def pad_batch(ids: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ``input_ids`` and ``attention_mask`` (int64 [n, longest]) for a forward pass."""
    longest = max(len(row) for row in ids)
    input_ids = np.full((len(ids), longest), pad_id, np.int64)
    mask = np.zeros((len(ids), longest), np.int64)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return input_ids, mask
