"""One tokenisation per text: the windows of ids the encoder reads and whether any of the text was left unread.

Texts are read at a longer length than the model was trained at: up to ``window`` tokens (``READ_LENGTH``, 256,
within the encoder's position limit) in one pass, which on the real Korean test reviews scored better than
both the first ``max_length`` tokens and overlapping windows of ``max_length`` (docs/performance.md). A text of
at most ``window`` tokens is one window, exactly as ``tokenizer(text, truncation=True, max_length=window)``
encodes it. A longer one is read in overlapping windows of ``window`` tokens, each ``<s> prefix piece... </s>``
(the specials and the model's text prefix, ``query: `` for e5, in every window; the text's pieces advancing
by about half a window, evenly spaced so that the last window ends with the text), whose head logits the
predictor averages (``voc.models.predictor``). The work per text is capped at ``max_windows`` windows: a text that
would need more is read in ``max_windows`` windows side by side from its start (no overlap), and only then is
some of it unread and ``truncated`` true. ``max_windows=1`` with ``window=max_length`` is the plain truncation
of before.

Tokenisation happens once per text (one ``encode_batch`` call per batch); the windows are slices of that
encoding (tests/test_tokens.py).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Encoding, Tokenizer

from .errors import ModelFileError

# Tokens a window reads (at most the encoder's positions): every text of the bundled test files fits in one
# (the longest: 256 tokens).
READ_LENGTH = 256
# At most 4 windows a text: with e5's 3-token prefix a window holds 251 of the text's pieces, so 4 windows read
# up to 1,004 pieces (about 1,500 characters of Korean, 4,000 of English: the HTTP limit) side by side.
MAX_WINDOWS = 4


@dataclass
class Tokens:
    """Per text: its windows' ids (specials included, each at most ``window`` tokens) and whether pieces were left
    unread."""

    windows: list[list[list[int]]]
    truncated: list[bool]


def window_starts(pieces: int, width: int, max_windows: int) -> tuple[list[int], bool]:
    """Where each window of ``width`` begins in a text of ``pieces`` pieces, and whether some are left unread.

    Consecutive windows overlap by at least half a window (evenly spaced, the last ending with the text) when
    ``max_windows`` suffice; otherwise ``max_windows`` windows lie side by side from the start.
    """
    if pieces <= width or max_windows <= 1:
        return [0], pieces > width
    count = min(max_windows, math.ceil((pieces - width) / max(width // 2, 1)) + 1)
    step = (pieces - width) / (count - 1)
    if step > width:
        return [i * width for i in range(count)], True
    return [round(i * step) for i in range(count)], False


class TextTokenizer:
    """``prefix + cleaned text`` -> :class:`Tokens`, with one tokenizer call per batch."""

    def __init__(
        self,
        tokenizer: Tokenizer,
        prefix: str,
        window: int,
        pad_id: int,
        max_windows: int = MAX_WINDOWS,
        unk_id: int | None = None,
    ) -> None:
        """``tokenizer`` becomes this object's own: truncation and padding are switched off here (windows are
        cut from the whole encoding). ``window``: tokens per window, specials included; ``unk_id``: the id of
        unknown pieces (what ``voc.models.onnx_export`` maps trimmed pieces to)."""
        self.tokenizer = tokenizer
        self.tokenizer.no_padding()
        self.tokenizer.no_truncation()
        self.prefix, self.window, self.pad_id, self.unk_id = prefix, window, pad_id, unk_id
        self.max_windows = max_windows
        self.prefix_end = len(prefix.rstrip())  # pieces ending by here are the prefix's (its space starts the text)

    @classmethod
    def from_hf(cls, tokenizer, prefix: str, window: int) -> TextTokenizer:
        """From a transformers fast tokenizer (training hands one over)."""
        own = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())  # the caller's stays as it was
        return cls(own, prefix, window, tokenizer.pad_token_id or 0, unk_id=tokenizer.unk_token_id)

    @classmethod
    def from_dir(cls, path: Path, prefix: str, window: int) -> TextTokenizer:
        """From a saved tokenizer directory (``tokenizer.json``), without importing transformers. Loaded once:
        XLM-R's 250k-piece Unigram model costs about 270 MB per copy in memory. A missing or damaged file is a
        ModelFileError naming it."""
        try:
            tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
            config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
        except Exception as e:  # tokenizers raises a bare Exception; json and the file system their own
            raise ModelFileError(
                f"{path}: the tokenizer cannot be loaded ({str(e).splitlines()[0]}); retrain or restore it"
            ) from None
        pad, unk = (config.get(name) for name in ("pad_token", "unk_token"))
        pad, unk = (token.get("content") if isinstance(token, dict) else token for token in (pad, unk))
        return cls(
            tokenizer,
            prefix,
            window,
            tokenizer.token_to_id(pad) if pad else 0,
            unk_id=tokenizer.token_to_id(unk) if unk else None,
        )

    @contextmanager
    def reading(self, max_windows: int, window: int | None = None) -> Iterator[None]:
        """Tokenise with another window cap (and window length) for a while: the self-check replays the reading
        its file was made with."""
        saved = self.max_windows, self.window
        self.max_windows, self.window = max_windows, window or self.window
        try:
            yield
        finally:
            self.max_windows, self.window = saved

    def __call__(self, cleaned: list[str]) -> Tokens:
        """Tokenise texts already passed through ``clean_text``."""
        encodings = self.tokenizer.encode_batch([self.prefix + t for t in cleaned])
        split = [self.windows(e) for e in encodings]
        return Tokens([w for w, _ in split], [cut for _, cut in split])

    def windows(self, encoding: Encoding) -> tuple[list[list[int]], bool]:
        """One encoding's windows and whether pieces were left unread."""
        ids = encoding.ids
        if len(ids) <= self.window:
            return [ids], False
        special, offsets = encoding.special_tokens_mask, encoding.offsets
        head = 0  # leading specials and the prefix's pieces: repeated in every window
        while head < len(ids) and (special[head] or offsets[head][1] <= self.prefix_end):
            head += 1
        tail = len(ids)  # trailing specials
        while tail > head and special[tail - 1]:
            tail -= 1
        width = self.window - head - (len(ids) - tail)
        if width < 1:  # a prefix too long for any text: the plain truncation
            return [ids[: self.window]], True
        starts, cut = window_starts(tail - head, width, self.max_windows)
        lead, end = ids[:head], ids[tail:]
        return [lead + ids[head + s : head + s + width] + end for s in starts], cut


def window_length(max_length: int, positions: int) -> int:
    """Tokens per window for a model trained at ``max_length`` whose encoder has ``positions`` positions."""
    return max(max_length, min(READ_LENGTH, positions))


def pad_batch(ids: list[list[int]], pad_id: int) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ``input_ids`` and ``attention_mask`` (int64 [n, longest]) for a forward pass."""
    longest = max(len(row) for row in ids)
    input_ids = np.full((len(ids), longest), pad_id, np.int64)
    mask = np.zeros((len(ids), longest), np.int64)
    for i, row in enumerate(ids):
        input_ids[i, : len(row)] = row
        mask[i, : len(row)] = 1
    return input_ids, mask
