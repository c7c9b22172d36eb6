"""The HTTP contract (request and response models) and the input limits shared by the service and the scorer.

Limits, chosen so that any request within the per-item and per-request limits also fits the body cap:

- ``MAX_TEXT_CHARS`` characters per text: longer texts are rejected (HTTP 400, or a per-row error in the
  batch scorer) rather than silently cut; a text within the limit that needs more than the model's
  ``max_length`` tokens is scored on its first ``max_length`` tokens and flagged ``"truncated": true``.
- ``MAX_ITEMS`` items per request.
- ``MAX_BODY_BYTES`` per request body (64 items of 4,000 characters each, even \\u-escaped, fit).

``"explain": true`` adds ``evidence`` to each result (``models.evidence``): the words behind each label.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool

from models.evidence import explain as explain_labels

if TYPE_CHECKING:
    from models.predictor import Predictor

MAX_TEXT_CHARS = 4000
MAX_ITEMS = 64
MAX_ID_CHARS = 200
MAX_BODY_BYTES = 2 * 1024 * 1024


def text_problem(text: object) -> str | None:
    """Why ``text`` cannot be scored, as a message that says what to fix; ``None`` when it can."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return "text is missing: give every item a non-empty text"
    if not isinstance(text, str):
        return f"text must be a string, not {type(text).__name__}"
    if not text.strip():
        return "text is empty or only whitespace: send the feedback's words"
    if len(text) > MAX_TEXT_CHARS:
        return f"text has {len(text):,} characters, over the limit of {MAX_TEXT_CHARS:,}: split or shorten it"
    return None


def _check_text(text: str) -> str:
    if (problem := text_problem(text)) is not None:
        raise ValueError(problem)
    return text


Text = Annotated[str, AfterValidator(_check_text)]


class Item(BaseModel):
    """One piece of feedback: an optional id echoed back, and its text."""

    model_config = ConfigDict(extra="forbid")

    id: str | None = Field(default=None, max_length=MAX_ID_CHARS)
    text: Text


class ClassifyRequest(BaseModel):
    """``{"items": [{"id": "T-1", "text": "..."}], "explain": false}``: 1 to ``MAX_ITEMS`` items, no other fields."""

    model_config = ConfigDict(extra="forbid")

    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS)
    explain: StrictBool = False


class Span(BaseModel):
    """``text[start:end]`` of the text as sent (code-point offsets) and the drop in the label's probability
    when it is deleted."""

    start: int
    end: int
    text: str
    weight: float


class Evidence(BaseModel):
    """Up to three spans for the predicted sentiment, for each predicted theme, and for escalation unless low."""

    sentiment: list[Span]
    themes: dict[str, list[Span]]
    escalation: list[Span]


class Result(BaseModel):
    """One item's result: ``id``, ``language``, one entry per task, ``truncated``; ``evidence`` only when asked."""

    model_config = ConfigDict(extra="allow")

    evidence: Evidence | None = Field(default=None, exclude_if=lambda value: value is None)


class ClassifyResponse(BaseModel):
    """One result per item, in request order, and the tag of the model that scored them."""

    results: list[Result]
    model: str


def score_texts(predictor: Predictor, texts: list[str]) -> list[dict[str, Any]]:
    """Per-text results of the contract (no id), each flagged ``truncated`` when over ``max_length`` tokens."""
    results = predictor.predict(texts)
    counts = predictor.token_counts(texts)
    return [{**r, "truncated": n > predictor.max_length} for r, n in zip(results, counts)]


def add_evidence(predictor: Predictor, texts: list[str], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``results`` (of ``texts``, in order) each with its ``evidence``; the predictions are left as they are."""
    return [{**r, "evidence": e} for r, e in zip(results, explain_labels(predictor, texts, results))]
