"""The vocabulary the ONNX graphs keep: every piece that Korean and English text can produce.

XLM-R's 250,002 pieces cover a hundred languages; their word-embedding matrix is 384 MB of the 470 MB
encoder. The exported graphs keep the rows of the pieces made only of characters of Korean and English
text (:data:`KEEP_RANGES`: ASCII and Latin-1, Hangul syllables and jamo, punctuation, symbols and emoji)
plus every piece the bundled data produces (e.g. the hanja and kana in NSMC reviews), about 106k pieces.
A lookup table at the graph's input maps the tokenizer's ids onto the kept rows, so the tokenizer and
every id it produces for such text are unchanged; a removed piece reads as ``<unk>``.
tests/test_vocab.py proves the mapping on all bundled texts, every Hangul syllable and ASCII.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from .paths import DATA

# Code point ranges (inclusive) of Korean and English text, SentencePiece's word marker U+2581 included.
KEEP_RANGES = (
    (0x0000, 0x00FF),  # ASCII and Latin-1 (café, £, °, ·)
    (0x1100, 0x11FF),  # Hangul jamo
    (0x2000, 0x2BFF),  # punctuation, letterlike, arrows, maths, box drawing, symbols, dingbats, U+2581
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0x3130, 0x318F),  # Hangul compatibility jamo (ㅋㅋ, ㅠㅠ)
    (0x3200, 0x32FF),  # enclosed Hangul
    (0xAC00, 0xD7A3),  # Hangul syllables
    (0xFE00, 0xFE0F),  # variation selectors (emoji presentation)
    (0x1F000, 0x1FAFF),  # emoji
)
DATA_GLOBS = ("data/voc/*.jsonl", "data/public/*/*.jsonl", "data/real/**/*.jsonl")


def in_ranges(piece: str) -> bool:
    return all(any(lo <= ord(c) <= hi for lo, hi in KEEP_RANGES) for c in piece)


def bundled_texts(root: Path = DATA.parent) -> list[str]:
    """The ``text`` of every row of the bundled data (voc, public and real sets)."""
    texts = []
    for pattern in DATA_GLOBS:
        for file in sorted(root.glob(pattern)):
            with open(file, encoding="utf-8") as f:
                texts += [t for line in f if line.strip() and isinstance(t := json.loads(line).get("text"), str)]
    return texts


def kept_ids(tokenizer, encoded: Iterable[list[int]]) -> np.ndarray:
    """Sorted ids to keep: special tokens, pieces within :data:`KEEP_RANGES`, and every id in ``encoded``."""
    vocab = tokenizer.get_vocab(with_added_tokens=True)
    keep = {i for piece, i in vocab.items() if in_ranges(piece)}
    keep |= set(tokenizer.get_added_tokens_decoder())
    for ids in encoded:
        keep.update(ids)
    return np.array(sorted(keep), np.int64)


def lookup(kept: np.ndarray, vocab_size: int, unk_id: int) -> np.ndarray:
    """Old id -> row of the kept matrix; a removed piece maps to ``<unk>``'s row."""
    table = np.full(vocab_size, int(np.searchsorted(kept, unk_id)), np.int64)
    table[kept] = np.arange(len(kept))
    return table
