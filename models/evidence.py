"""Evidence: which words made each predicted label, found by occlusion (deleting one word at a time).

Occlusion asks the whole :class:`~voc.models.predictor.Predictor` (encoder and n-gram part together, calibrated),
so it explains the combined model as it is and needs nothing from its internals. Per text it scores one
batch: the text and one copy per unit with that unit deleted. A unit's weight for a label is the drop in
the label's calibrated probability when the unit is deleted.

Units are whitespace-separated runs of the text as the user sent it (Korean eojeol, English words with
their punctuation), so every offset indexes that original string (Python ``str`` indices: code points) even
when cleaning (``voc.models.text.clean_text``: NFC, strip, ``<s>``-style literals) changes its length. A text
with more than ``MAX_UNITS`` words is cut into ``MAX_UNITS`` contiguous groups of neighbouring words, which
bounds the cost at ``MAX_UNITS + 1`` texts scored per explained text.

A label's evidence: the units whose weight reaches ``RELATIVE`` of its best unit's (and ``MIN_WEIGHT``),
adjacent ones merged into one phrase weighted by their sum (at most the label's probability, since no
deletion can lower it further), the ``MAX_SPANS`` heaviest, each trimmed of edge punctuation.

Cost: explaining a text scores :func:`cost` texts (itself and one copy per unit), so a caller budgets and
queues explain work by that count. Texts are explained one at a time: memory holds one text's copies, and
a caller that no longer wants the answer (``cancelled`` set) stops the work before the next text.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from .predictor import Predictor

MAX_UNITS = 48
MAX_SPANS = 3
RELATIVE = 0.5
MIN_WEIGHT = 1e-3
# Labels that need no explanation: routine escalation is the absence of a reason to escalate.
QUIET = {"escalation": "low"}

_WORD = re.compile(r"\S+")

Span = dict[str, Any]  # {"start", "end", "text", "weight"}


def words(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each whitespace-separated run of ``text``."""
    return [m.span() for m in _WORD.finditer(text)]


def units(text: str, max_units: int = MAX_UNITS) -> list[tuple[int, int]]:
    """The occlusion units of ``text``: its words, or ``max_units`` contiguous groups of them when there are more."""
    spans = words(text)
    if len(spans) <= max_units:
        return spans
    bounds = [round(i * len(spans) / max_units) for i in range(max_units + 1)]
    return [(spans[a][0], spans[b - 1][1]) for a, b in zip(bounds, bounds[1:])]


def delete(text: str, start: int, end: int) -> str:
    """``text`` without ``text[start:end]`` and the whitespace after it (before it, at the end of the text)."""
    after = end
    while after < len(text) and text[after].isspace():
        after += 1
    if after == len(text):
        while start > 0 and text[start - 1].isspace():
            start -= 1
    return text[:start] + text[after:]


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """``(start, end)`` without punctuation at either edge, unless that would leave nothing."""
    a, b = start, end
    while a < b and unicodedata.category(text[a]).startswith("P"):
        a += 1
    while b > a and unicodedata.category(text[b - 1]).startswith("P"):
        b -= 1
    return (a, b) if a < b else (start, end)


def top_spans(
    text: str, spans: list[tuple[int, int]], weights: np.ndarray, ceiling: float = 1.0, k: int = MAX_SPANS
) -> list[Span]:
    """The ``k`` heaviest phrases: runs of adjacent units that reach ``RELATIVE`` of the best unit's weight,
    each weighted by the sum of its units' weights, at most ``ceiling``."""
    if not len(weights) or weights.max() < MIN_WEIGHT:
        return []
    keep = weights >= max(RELATIVE * weights.max(), MIN_WEIGHT)
    runs: list[tuple[int, int]] = []  # [first, last] unit indices
    for i in np.flatnonzero(keep):
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    scored = sorted(runs, key=lambda r: -float(weights[r[0] : r[1] + 1].sum()))[:k]
    out = []
    for first, last in scored:
        start, end = _trim(text, spans[first][0], spans[last][1])
        weight = round(min(float(weights[first : last + 1].sum()), ceiling), 4)
        out.append({"start": start, "end": end, "text": text[start:end], "weight": weight})
    return out


def explained_labels(predictor: Predictor, result: dict[str, Any]) -> list[tuple[str, str]]:
    """``(task, label)`` for each label of ``result`` (as ``Predictor.predict`` makes it) that gets evidence."""
    pairs = []
    for task in predictor.schema.tasks:
        labels = result[task.name]["labels"] if task.multi else [result[task.name]["label"]]
        pairs += [(task.name, label) for label in labels if QUIET.get(task.name) != label]
    return pairs


def cost(text: str) -> int:
    """Texts scored to explain ``text``: itself and one copy per occlusion unit (at most ``MAX_UNITS + 1``)."""
    return len(units(text)) + 1


class Cancelled(Exception):
    """The caller stopped waiting for the evidence (``cancelled`` was set): the work stopped early."""


def explain(
    predictor: Predictor,
    texts: list[str],
    results: list[dict[str, Any]],
    cancelled: threading.Event | None = None,
    progress: Callable[[int], object] = lambda n: None,
) -> list[dict[str, Any]]:
    """Evidence per text for the labels its result predicts (``results`` from ``Predictor.predict``).

    Each: ``{<single task>: [span, ...], <multi task>: {label: [span, ...]}}``, a span being
    ``{"start", "end", "text", "weight"}`` with ``text == texts[i][start:end]``. The results are only read:
    explaining never changes a prediction. Texts are explained one at a time, ``progress(1)`` after each;
    :class:`Cancelled` is raised before the next one once ``cancelled`` is set.
    """
    out = []
    for text, result in zip(texts, results):
        if cancelled is not None and cancelled.is_set():
            raise Cancelled(f"explaining stopped after {len(out)} of {len(texts)} texts")
        out.append(explain_one(predictor, text, result))
        progress(1)
    return out


def explain_one(predictor: Predictor, text: str, result: dict[str, Any]) -> dict[str, Any]:
    """The evidence of one text (see :func:`explain`): one scoring call of the text and its occluded copies."""
    spans = units(text)
    probs = predictor.predict_proba([text, *(delete(text, a, b) for a, b in spans)])
    evidence: dict[str, Any] = {t.name: {} if t.multi else [] for t in predictor.schema.tasks}
    for name, label in explained_labels(predictor, result):
        column = probs[name][:, predictor.schema[name].labels.index(label)]
        found = top_spans(text, spans, column[0] - column[1:], float(column[0]))
        if predictor.schema[name].multi:
            evidence[name][label] = found
        else:
            evidence[name] = found
    return evidence
