"""The HTTP contract (request and response models) and the service's input limits.

The request model is fixed; the response model is built for a model's label schema (:func:`response_model`):
one field per head, each head's labels an enum and its scores one property per label.

Limits, chosen so that any request within the per-item and per-request limits also fits the body cap:

- ``MAX_TEXT_CHARS`` characters (code points) per text (``voc.models.results``, which also says which texts
  count as empty): longer texts are rejected (HTTP 400, or a per-row error in the batch scorer) rather than
  silently cut.
- ``MAX_ITEMS`` items per request, ids of at most ``MAX_ID_CHARS`` characters.
- ``MAX_BODY_BYTES`` per request body: the worst case of the limits above as a JSON encoder writes it,
  every character \\u-escaped (12 bytes for a character outside the BMP, e.g. an emoji), with
  ``ITEM_SLACK_BYTES`` per item for keys, punctuation and indentation. The real rule: a body over it is
  refused (413), whatever it holds; a request within the item limits never is.

With ``"on_error": "item"`` a text that breaks a per-text limit (empty, too long) gets ``{"id", "error"}``
in its slot and the other items are scored, as AWS Comprehend's batch calls do; by default
(``"request"``) the whole request is refused with a 400.

``"explain": true`` adds ``evidence`` to each scored result (``voc.models.evidence``): the words behind each label.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, create_model, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from voc.models.evidence import QUIET
from voc.models.results import MAX_TEXT_CHARS, text_problem
from voc.models.schema import LabelSchema, Task
from voc.models.text import LANGUAGES, first_surrogate

from .explain_budget import EXPLAIN_LIMIT
from .reading_budget import READING_LIMIT

MAX_ITEMS = 64
MAX_ID_CHARS = 200
# The longest JSON form of one character: a surrogate pair, "\\ud83d\\ude00".
MAX_ESCAPED_CHAR_BYTES = 12
ITEM_SLACK_BYTES = 256
MAX_BODY_BYTES = MAX_ITEMS * ((MAX_TEXT_CHARS + MAX_ID_CHARS) * MAX_ESCAPED_CHAR_BYTES + ITEM_SLACK_BYTES) + 1024
# A request not answered within this many seconds gets BentoML's 504.
REQUEST_TIMEOUT_SECONDS = 30


def _check_id(value: str | None) -> str | None:
    if value is not None and (bad := first_surrogate(value)) is not None:
        raise ValueError(f"id holds a lone surrogate ({bad!r}), which is not Unicode text: send valid UTF-8 text")
    return value


LIMITS = (
    f"Limits: 1 to {MAX_ITEMS} items per request, each text 1 to {MAX_TEXT_CHARS:,} characters (not only "
    f"whitespace), ids up to {MAX_ID_CHARS} characters, a request body up to {MAX_BODY_BYTES:,} bytes (413 above). "
    + READING_LIMIT
    + " "
    + EXPLAIN_LIMIT
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
        "whitespace. A text is read in passes of up to 256 tokens; one too long even for 4 overlapping passes "
        "(about 1,000 tokens) is scored on what they hold and flagged `truncated`.",
        # Documented, not enforced here: with "on_error": "item" an over-long text gets its own error.
        json_schema_extra={"example": EXAMPLE_TEXT, "minLength": 1, "maxLength": MAX_TEXT_CHARS},
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


class Span(BaseModel):
    """``text[start:end]`` of the text as sent (code-point offsets) and the drop in the label's probability
    when it is deleted."""

    start: int
    end: int
    text: str
    weight: float


class ItemError(BaseModel):
    """An item that was not scored (only with ``"on_error": "item"``)."""

    id: str | None = Field(description="The item's id as sent.", json_schema_extra={"example": "T-1043"})
    error: str = Field(
        description="What to fix.",
        json_schema_extra={"example": "text has 4,210 characters, over the limit of 4,000: split or shorten it"},
    )


def _model_name(task: str, suffix: str = "") -> str:
    """``escalation`` -> ``Escalation``, ``first_reply`` + ``Scores`` -> ``FirstReplyScores``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", task) if part) + suffix


def _example(task: Task) -> dict[str, Any]:
    """A plausible answer of ``task`` for the schema's examples: its first label, likely."""
    rest = 0.2 if task.multi else round(0.2 / (len(task.labels) - 1), 4)
    scores = {label: 0.8 if i == 0 else rest for i, label in enumerate(task.labels)}
    return {"labels": [task.labels[0]], "scores": scores} if task.multi else {"label": task.labels[0], "scores": scores}


def _scores_model(task: Task, thresholds: dict[str, float]) -> type[BaseModel]:
    """``{"<label>": probability, ...}``: every label of ``task``, each a property."""

    def described(label: str) -> str:
        if label not in thresholds:
            return f"Probability of `{label}`."
        return f"Probability of `{label}`; {'listed' if task.multi else 'decided'} at {thresholds[label]:.2f} or more."

    together = ", each on its own (they need not add up to 1)" if task.multi else " (they add up to 1)"
    return create_model(
        _model_name(task.name, "Scores"),
        __doc__=f"Calibrated probability of every `{task.name}` label{together}.",
        __config__=ConfigDict(json_schema_extra={"example": _example(task)["scores"]}),
        **{
            label: (float, Field(description=described(label), json_schema_extra={"minimum": 0, "maximum": 1}))
            for label in task.labels
        },
    )


def _head_model(task: Task, thresholds: dict[str, float]) -> type[BaseModel]:
    """One head's answer: ``{"label", "scores"}`` (single) or ``{"labels", "scores"}`` (multi), labels as enums.
    ``thresholds``: the model's per-label decision thresholds for the head, which the descriptions state."""
    label_type = Literal[task.labels]  # type: ignore[valid-type]
    if task.multi:
        rule = "each label whose probability reaches its own threshold (tuned on validation); may be empty"
        decision = {"labels": (list[label_type], Field(description=f"The labels decided: {rule}."))}
    else:
        rule = "; ".join(f"`{label}` when its probability reaches {t:.2f}" for label, t in thresholds.items())
        rule = f"{rule}, else the likeliest of the other labels" if rule else "the likeliest label"
        decision = {"label": (label_type, Field(description=f"The decided label: {rule}."))}
    kind = "any number of labels" if task.multi else "exactly one label"
    return create_model(
        _model_name(task.name),
        __doc__=f"The `{task.name}` head ({kind}).",
        __config__=ConfigDict(json_schema_extra={"example": _example(task)}),
        **decision,
        scores=(_scores_model(task, thresholds), ...),
    )


def _evidence_model(schema: LabelSchema) -> type[BaseModel]:
    """``{"<single head>": [span, ...], "<multi head>": {"<label>": [span, ...]}}`` for the schema's heads."""
    span = {"start": 0, "end": 2, "text": "배송", "weight": 0.21}
    fields: dict[str, Any] = {}
    for task in schema.tasks:
        if task.multi:
            label_type = Literal[task.labels]  # type: ignore[valid-type]
            description = f"Spans per label in `{task.name}.labels`."
            example = {task.labels[0]: [span]}
            fields[task.name] = (
                dict[label_type, list[Span]],
                Field(description=description, json_schema_extra={"example": example}),
            )
        else:
            quiet = QUIET.get(task.name)
            description = f"Spans behind `{task.name}.label`" + (f"; empty when it is `{quiet}`." if quiet else ".")
            fields[task.name] = (list[Span], Field(description=description))
    return create_model(
        "Evidence",
        __doc__="Up to three spans per predicted label: the words whose deletion lowers its probability most.",
        **fields,
    )


def response_model(schema: LabelSchema, thresholds: dict[str, dict[str, float]] | None = None) -> type[BaseModel]:
    """``ClassifyResponse`` for a model's label schema: one field per head of ``schema``, each head's labels an
    enum, its scores one property per label. ``thresholds`` (the model's ``voc.json``) only add the decision
    thresholds to the descriptions. The service builds it when it starts, so a head added to labels.yaml (and
    a model trained with it) is in the answer and in the OpenAPI document with no code change."""
    thresholds = thresholds or {}
    heads = {task.name: _head_model(task, thresholds.get(task.name, {})) for task in schema.tasks}
    example = {"id": "T-1042", "language": "ko", **{t.name: _example(t) for t in schema.tasks}, "truncated": False}
    result = create_model(
        "Result",
        __doc__="The scores of one item: its language and one answer per head of the model's label schema.",
        __config__=ConfigDict(json_schema_extra={"example": example}),
        id=(
            str | None,
            Field(description="The item's id as sent; null when none was sent.", json_schema_extra={"example": "T-1"}),
        ),
        language=(Literal[LANGUAGES], Field(description="Script of the text.")),  # type: ignore[valid-type]
        **{name: (model, ...) for name, model in heads.items()},
        truncated=(
            bool,
            Field(
                description="Some of the text was not read: it needs more than the 4 overlapping passes of 256 "
                "tokens a text is read in (about 1,000 tokens); what they hold, from its start, was scored."
            ),
        ),
        evidence=(
            _evidence_model(schema) | None,
            Field(
                default=None,
                exclude_if=lambda value: value is None,
                description='Only with `"explain": true`: the spans behind each predicted label.',
            ),
        ),
    )
    return create_model(
        "ClassifyResponse",
        __doc__="One result per item, in request order, and the tag of the model that scored them.",
        results=(
            list[result | ItemError],  # type: ignore[valid-type]
            Field(description="One entry per item, in request order: scores, or (with `on_error: item`) an error."),
        ),
        model=(
            str,
            Field(
                description="The store tag of the model that scored them.",
                json_schema_extra={"example": "voc-classifier:abc123"},
            ),
        ),
    )
