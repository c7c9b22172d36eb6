"""The per-request reading budget: a request may cost the model at most ``MAX_REQUEST_TOKENS`` tokens to read,
so that the largest request it admits finishes well within the 25 s deadline (``voc.serving.guard``) even with
one as large queued ahead of it; a request over it is refused at once with how many of its items fit (HTTP
413) instead of a 503 after 25 s that a client would retry forever.

A text costs the tokens the encoder reads (``voc.models.results.reading_costs``: at most ``MAX_WINDOWS`` windows
of ``READ_LENGTH`` tokens, 1,024, e.g. 4,000 characters of Korean or English, or about 1,000 emoji). A request
with ``"explain": true`` has its own budget (``voc.serving.explain_budget``); in the queue its work counts the
tokens of every copy it reads. Measured on the
shared 2-core machine with the default model (ONNX): about 1,250 tokens/s, so the budget is about 8 s of work
and the service's queue (``MAX_QUEUE_TOKENS``, in the same tokens, counting the running batch) about 16 s
(docs/reliability.md has the figures and the command).
"""

from __future__ import annotations

from voc.models.tokens import MAX_WINDOWS, READ_LENGTH

MAX_REQUEST_TOKENS = 10_240
# Unfinished work admitted before new requests get 503: two largest requests, so one can queue behind another
# and both finish within ~16 s at the measured throughput.
MAX_QUEUE_TOKENS = 2 * MAX_REQUEST_TOKENS
# Tokens of model work per chunk of a merged batch (``voc.serving.batcher``): about 3 s, the longest a batch runs
# on for callers that are gone; 64 texts of up to 64 tokens (most helpdesk texts) stay one chunk.
CHUNK_TOKENS = 4_096
TEXT_TOKENS = MAX_WINDOWS * READ_LENGTH

READING_LIMIT = (
    f"A request may take at most {MAX_REQUEST_TOKENS:,} tokens to read (about 8 s of work on 2 CPU cores): a text "
    f"takes its tokens, at most {TEXT_TOKENS:,} (about 4,000 characters of Korean or English, fewer of emoji), e.g. "
    f"{MAX_REQUEST_TOKENS // TEXT_TOKENS} texts of 4,000 characters or 64 of {MAX_REQUEST_TOKENS // 64} tokens "
    "(413 above, saying how many items fit)."
)


def items_that_fit(costs: list[int], limit: int) -> int:
    """How many of the first ``costs`` fit in ``limit`` together."""
    fit, spent = 0, 0
    while fit < len(costs) and spent + costs[fit] <= limit:
        spent += costs[fit]
        fit += 1
    return fit


def reading_problem(costs: list[int]) -> str | None:
    """Why texts that cost ``costs`` tokens to read are over the budget, saying how many fit; ``None`` when
    they fit."""
    total = sum(costs)
    if total <= MAX_REQUEST_TOKENS:
        return None
    fit = items_that_fit(costs, MAX_REQUEST_TOKENS)
    return (
        f"reading these {len(costs)} texts takes {total:,} tokens (each text's, at most {TEXT_TOKENS:,}), over the "
        f"limit of {MAX_REQUEST_TOKENS:,} per request: send the first {fit} in this request and the rest in others"
    )
