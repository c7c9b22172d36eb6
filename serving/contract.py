"""The HTTP contract (request and response models) and the input limits shared by the service and the scorer.

Limits, chosen so that any request within the per-item and per-request limits also fits the body cap:

- ``MAX_TEXT_CHARS`` characters (code points) per text: longer texts are rejected (HTTP 400, or a per-row
  error in the batch scorer) rather than silently cut; a text within the limit that needs more than the
  model's ``max_length`` tokens is read whole (``models.tokens``: passes of up to ``READ_LENGTH`` tokens, up to
  ``MAX_WINDOWS`` windows); one longer still is scored on what they hold and flagged ``"truncated": true``.
  A text with no visible character (only whitespace, control or format characters such as zero-width
  spaces, U+202E or NUL) counts as empty.
- ``MAX_ITEMS`` items per request, ids of at most ``MAX_ID_CHARS`` characters.
- ``MAX_BODY_BYTES`` per request body: the worst case of the limits above as a JSON encoder writes it,
  every character \\u-escaped (12 bytes for a character outside the BMP, e.g. an emoji), with
  ``ITEM_SLACK_BYTES`` per item for keys, punctuation and indentation. The real rule: a body over it is
  refused (413), whatever it holds; a request within the item limits never is.

With ``"on_error": "item"`` a text that breaks a per-text limit (empty, too long) gets ``{"id", "error"}``
in its slot and the other items are scored, as AWS Comprehend's batch calls do; by default
(``"request"``) the whole request is refused with a 400.

``"explain": true`` adds ``evidence`` to each scored result (``models.evidence``): the words behind each label.
"""

from __future__ import annotations

import math
import unicodedata
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from models.evidence import explain as explain_labels

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


def _check_id(value: str | None) -> str | None:
    if value is not None and (bad := first_surrogate(value)) is not None:
        raise ValueError(f"id holds a lone surrogate ({bad!r}), which is not Unicode text: send valid UTF-8 text")
    return value


LIMITS = (
    f"Limits: 1 to {MAX_ITEMS} items per request, each text 1 to {MAX_TEXT_CHARS:,} characters (not only "
    f"whitespace), ids up to {MAX_ID_CHARS} characters, a request body up to {MAX_BODY_BYTES:,} bytes (413 above)."
)
EXAMPLE_TEXT = "배송이 2주째 안 와요. 환불해 주세요"
OnError = Literal["request", "item"]


class Item(BaseModel):
    """One piece of feedback: an optional id echoed back, and its text."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str | None, AfterValidator(_check_id)] = Field(
        default=None,
        max_length=MAX_ID_CHARS,
        description="Your id, echoed in the result.",
        json_schema_extra={"example": "T-1042"},
    )
    text: str = Field(
        description=f"The feedback, Korean, English or mixed: 1 to {MAX_TEXT_CHARS:,} characters, not only "
        "whitespace. A long text is read whole (up to 4 overlapping windows of 256 tokens); one longer still (about "
        "1,000 tokens) is scored on its start and flagged `truncated`.",
        json_schema_extra={"example": EXAMPLE_TEXT},
    )


class ClassifyRequest(BaseModel):
    """``{"items": [{"id": "T-1", "text": "..."}]}``: 1 to ``MAX_ITEMS`` items; ``on_error``, ``explain`` optional."""

    model_config = ConfigDict(extra="forbid")

    items: list[Item] = Field(
        min_length=1, max_length=MAX_ITEMS, description=f"1 to {MAX_ITEMS} items, scored in order. {LIMITS}"
    )
    on_error: OnError = Field(
        default="request",
        description="`request` (default): any empty or over-long text refuses the whole request with a 400. "
        "`item`: such an item gets `{id, error}` in its slot and the others are scored.",
    )
    explain: StrictBool = Field(
        default=False,
        description="`true`: each scored result gets `evidence`, up to three spans per predicted label "
        "(the words whose deletion lowers that label's probability most). Slower: one extra pass per word.",
    )

    @model_validator(mode="after")
    def _check_texts(self) -> ClassifyRequest:
        """With ``on_error="request"``, refuse every unscorable text at once, each at its own location."""
        if self.on_error == "request":
            errors = [
                InitErrorDetails(type=PydanticCustomError("text_problem", problem), loc=("items", i, "text"), input=t)
                for i, t in enumerate(item.text for item in self.items)
                if (problem := text_problem(t)) is not None
            ]
            if errors:
                raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self


class SingleLabel(BaseModel):
    """A head that picks exactly one label (sentiment, escalation)."""

    label: str = Field(description="The decided label.", json_schema_extra={"example": "negative"})
    scores: dict[str, float] = Field(
        description="Calibrated probability of every label of the head (they add up to 1).",
        json_schema_extra={"example": {"negative": 0.93, "neutral": 0.05, "positive": 0.02}},
    )


class MultiLabel(BaseModel):
    """A head that picks any number of labels (themes), each against its own tuned threshold."""

    labels: list[str] = Field(
        description="The labels over their threshold; may be empty.", json_schema_extra={"example": ["speed"]}
    )
    scores: dict[str, float] = Field(
        description="Calibrated probability of every label, each on its own (they need not add up to 1).",
        json_schema_extra={"example": {"speed": 0.91, "empathy": 0.08, "resolution": 0.77, "trust": 0.11}},
    )


class Span(BaseModel):
    """``text[start:end]`` of the text as sent (code-point offsets) and the drop in the label's probability
    when it is deleted."""

    start: int
    end: int
    text: str
    weight: float


class Evidence(BaseModel):
    """Up to three spans for the predicted sentiment, for each predicted theme, and for escalation unless low."""

    sentiment: list[Span] = Field(description="Spans behind the decided sentiment label.")
    themes: dict[str, list[Span]] = Field(
        description="Spans per theme in `themes.labels`.",
        json_schema_extra={"example": {"speed": [{"start": 9, "end": 12, "text": "열흘째", "weight": 0.21}]}},
    )
    escalation: list[Span] = Field(description="Spans behind the escalation label; empty when it is low.")


EXAMPLE_RESULT = {
    "id": "T-1042",
    "language": "ko",
    "sentiment": {"label": "negative", "scores": {"negative": 0.93, "neutral": 0.05, "positive": 0.02}},
    "themes": {
        "labels": ["speed", "resolution"],
        "scores": {"speed": 0.91, "empathy": 0.08, "resolution": 0.77, "trust": 0.11},
    },
    "escalation": {"label": "medium", "scores": {"low": 0.10, "medium": 0.71, "high": 0.19}},
    "truncated": False,
}


class Result(BaseModel):
    """The scores of one item."""

    model_config = ConfigDict(json_schema_extra={"example": EXAMPLE_RESULT})

    id: str | None = Field(
        description="The item's id as sent; null when none was sent.", json_schema_extra={"example": "T-1042"}
    )
    language: Literal["ko", "en", "mixed"] = Field(
        description="Script of the text.", json_schema_extra={"example": "ko"}
    )
    sentiment: SingleLabel
    themes: MultiLabel
    escalation: SingleLabel = Field(
        description="Escalation risk; `high` also wins below the most likely label once its probability "
        "reaches the model's operating threshold (tuned on validation for recall)."
    )
    truncated: bool = Field(
        description="Some of the text was not read: it needs more than the 4 overlapping windows of 256 tokens a "
        "text is read in (about 1,000 tokens); what they hold, from its start, was scored."
    )
    evidence: Evidence | None = Field(
        default=None,
        exclude_if=lambda value: value is None,
        description='Only with `"explain": true`: the spans behind each predicted label.',
    )


class ItemError(BaseModel):
    """An item that was not scored (only with ``"on_error": "item"``)."""

    id: str | None = Field(description="The item's id as sent.", json_schema_extra={"example": "T-1043"})
    error: str = Field(
        description="What to fix.",
        json_schema_extra={"example": "text has 4,210 characters, over the limit of 4,000: split or shorten it"},
    )


class ClassifyResponse(BaseModel):
    """One result per item, in request order, and the tag of the model that scored them."""

    results: list[Result | ItemError] = Field(
        description="One entry per item, in request order: scores, or (with `on_error: item`) an error."
    )
    model: str = Field(
        description="The store tag of the model that scored them.",
        json_schema_extra={"example": "voc-classifier:abc123"},
    )


def score_texts(predictor: Predictor, texts: list[str]) -> list[dict[str, Any]]:
    """Per-text results of the contract (no id), each flagged ``truncated`` when some of it was left unread
    (from the same tokenisation that scored it)."""
    return predictor.predict(texts)


def add_evidence(predictor: Predictor, texts: list[str], results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``results`` (of ``texts``, in order) each with its ``evidence``; the predictions are left as they are."""
    return [{**r, "evidence": e} for r, e in zip(results, explain_labels(predictor, texts, results))]
