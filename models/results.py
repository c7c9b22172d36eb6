"""Texts into result dicts, as the HTTP service answers and the batch scorer writes them: which texts can be
scored (:func:`text_problem`), their results (:func:`score_texts`) and the evidence behind them
(:func:`add_evidence`). The service (``voc.serving``), ``voc score`` (``voc.batch``), the Python API and the
research tools share them, so a text is judged and scored the same way everywhere.

A text over ``MAX_TEXT_CHARS`` characters (code points) is refused rather than silently cut; one within the
limit that needs more than the model's ``max_length`` tokens is read whole (``voc.models.tokens``), and one
longer still is scored on what its passes hold and flagged ``"truncated": true``. A text with no visible
character (only whitespace, control or format characters such as zero-width spaces, U+202E or NUL) counts as
empty.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from .evidence import explain as explain_labels
from .text import clean_text, first_surrogate, has_visible_characters

if TYPE_CHECKING:
    from .predictor import Predictor

MAX_TEXT_CHARS = 4000


def text_problem(text: object) -> str | None:
    """Why ``text`` cannot be scored, as a message that says what to fix; ``None`` when it can."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return "text is missing: give every item a non-empty text"
    if not isinstance(text, str):
        return f"text must be a string, not {type(text).__name__}"
    if (bad := first_surrogate(text)) is not None:
        return f"text holds a lone surrogate ({bad!r}), which is not Unicode text: send valid UTF-8 text"
    if not has_visible_characters(text):
        return (
            "text is empty or has no visible characters (only whitespace, control or format characters): "
            "send the feedback's words"
        )
    if len(text) > MAX_TEXT_CHARS:
        return f"text has {len(text):,} characters, over the limit of {MAX_TEXT_CHARS:,}: split or shorten it"
    return None


def score_texts(predictor: Predictor, texts: list[str]) -> list[dict[str, Any]]:
    """Per-text results of the contract (no id), each flagged ``truncated`` when some of it was left unread
    (from the same tokenisation that scored it)."""
    return predictor.predict(texts)


def reading_costs(predictor: Predictor, texts: list[str]) -> list[int]:
    """Tokens the encoder reads for each text (every window, specials included): what scoring it costs, since
    the model's time is proportional to them (about 1,250 tokens/s on 2 cores for the default model, Korean,
    English and emoji alike; docs/reliability.md). Tokenising is about 1% of scoring's time."""
    return [sum(map(len, windows)) for windows in predictor.tokenizer([clean_text(t) for t in texts]).windows]


def add_evidence(
    predictor: Predictor, texts: list[str], results: list[dict[str, Any]], **options: Any
) -> list[dict[str, Any]]:
    """``results`` (of ``texts``, in order) each with its ``evidence``; the predictions are left as they are.
    ``options``: ``cancelled`` and ``progress`` of ``voc.models.evidence.explain``."""
    return [{**r, "evidence": e} for r, e in zip(results, explain_labels(predictor, texts, results, **options))]
