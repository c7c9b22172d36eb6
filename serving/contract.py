"""The HTTP contract (request and response models) and the input limits shared by the service and the scorer.

Limits, chosen so that any request within the per-item and per-request limits also fits the body cap:

- ``MAX_TEXT_CHARS`` characters (code points) per text: longer texts are rejected (HTTP 400, or a per-row
  error in the batch scorer) rather than silently cut; a text within the limit that needs more than the
  model's ``max_length`` tokens is scored on its first ``max_length`` tokens and flagged ``"truncated": true``.
  A text with no visible character (only whitespace, control or format characters such as zero-width
  spaces, U+202E or NUL) counts as empty.
- ``MAX_ITEMS`` items per request, ids of at most ``MAX_ID_CHARS`` characters.
- ``MAX_BODY_BYTES`` per request body: the worst case of the limits above as a JSON encoder writes it,
  every character \\u-escaped (12 bytes for a character outside the BMP, e.g. an emoji), with
  ``ITEM_SLACK_BYTES`` per item for keys, punctuation and indentation. The real rule: a body over it is
  refused (413), whatever it holds; a request within the item limits never is.
"""

from __future__ import annotations

import math
import unicodedata
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from models.predictor import Predictor

MAX_TEXT_CHARS = 4000
MAX_ITEMS = 64
MAX_ID_CHARS = 200
# The longest JSON form of one character: a surrogate pair, "\\ud83d\\ude00".
MAX_ESCAPED_CHAR_BYTES = 12
ITEM_SLACK_BYTES = 256
MAX_BODY_BYTES = MAX_ITEMS * ((MAX_TEXT_CHARS + MAX_ID_CHARS) * MAX_ESCAPED_CHAR_BYTES + ITEM_SLACK_BYTES) + 1024
# Unicode categories that show nothing: control, format, surrogate, private use, unassigned, separators.
_INVISIBLE_CATEGORIES = ("C", "Z")


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


def first_surrogate(text: str) -> str | None:
    """The first unpaired surrogate in ``text`` (JSON can carry one as ``\\ud800``), else ``None``."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        return text[e.start]
    return None


def has_visible_characters(text: str) -> bool:
    """Whether ``text`` holds a character that shows (a letter, digit, mark, punctuation or symbol)."""
    return any(not unicodedata.category(c).startswith(_INVISIBLE_CATEGORIES) for c in text)


def _check_text(text: str) -> str:
    if (problem := text_problem(text)) is not None:
        raise ValueError(problem)
    return text


def _check_id(value: str | None) -> str | None:
    if value is not None and (bad := first_surrogate(value)) is not None:
        raise ValueError(f"id holds a lone surrogate ({bad!r}), which is not Unicode text: send valid UTF-8 text")
    return value


Text = Annotated[str, AfterValidator(_check_text)]


class Item(BaseModel):
    """One piece of feedback: an optional id echoed back, and its text."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str | None, AfterValidator(_check_id)] = Field(default=None, max_length=MAX_ID_CHARS)
    text: Text


class ClassifyRequest(BaseModel):
    """``{"items": [{"id": "T-1", "text": "..."}]}``: 1 to ``MAX_ITEMS`` items, no other fields."""

    model_config = ConfigDict(extra="forbid")

    items: list[Item] = Field(min_length=1, max_length=MAX_ITEMS)


class ClassifyResponse(BaseModel):
    """One result per item, in request order, and the tag of the model that scored them."""

    results: list[dict[str, Any]]
    model: str


def score_texts(predictor: Predictor, texts: list[str]) -> list[dict[str, Any]]:
    """Per-text results of the contract (no id), each flagged ``truncated`` when over ``max_length`` tokens
    (from the same tokenisation that scored it)."""
    return predictor.predict(texts)
