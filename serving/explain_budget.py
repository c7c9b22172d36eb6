"""The per-request budget of ``"explain": true``: explaining a text scores it once per word, so a request's
explain work is capped by what it costs, in forward passes, and a request over the cap is refused at once
(HTTP 413 with what to send instead) rather than answered after the timeout.

A text costs ``1 + its words`` passes, at most ``MAX_UNITS + 1`` (``voc.models.evidence.cost``: a longer text
is explained in ``MAX_UNITS`` groups of words). ``MAX_EXPLAIN_PASSES`` per request keeps the largest explain
request at half the service's queue (``voc.serving.batcher``: the same forward-pass units), so that it and one
queued behind it finish inside the 25 s deadline on two CPU cores at about 15 passes/s (8 Korean items took
6.7 s; docs/reliability.md has the measured figures).
"""

from __future__ import annotations

from voc.models.evidence import MAX_UNITS, cost

from .reading_budget import items_that_fit

MAX_EXPLAIN_PASSES = 128

EXPLAIN_LIMIT = (
    f'With "explain": true a request may cost at most {MAX_EXPLAIN_PASSES} forward passes, each text 1 + its '
    f"words (at most {MAX_UNITS + 1}): e.g. 2 texts of {MAX_UNITS} or more words, or 12 of 9 words (413 above)."
)


def explain_problem(texts: list[str]) -> str | None:
    """Why explaining ``texts`` in one request is over the budget, saying how many fit; ``None`` when it fits."""
    costs = [cost(text) for text in texts]
    total = sum(costs)
    if total <= MAX_EXPLAIN_PASSES:
        return None
    fit = items_that_fit(costs, MAX_EXPLAIN_PASSES)
    return (
        f"explaining these {len(texts)} texts costs {total:,} forward passes (1 + the words of each text, at most "
        f"{MAX_UNITS + 1} a text), over the limit of {MAX_EXPLAIN_PASSES} per request: send the first {fit} "
        'in this request and the rest in others, or leave out "explain"'
    )
