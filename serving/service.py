"""The helpdesk's HTTP service: ``POST /classify`` scores feedback in real time (``bentoml serve voc.serving.service``).

Contract (docs/http-api.md): ``{"items": [{"id": "T-1042", "text": "..."}]}`` ->
``{"results": [{"id", "language", <one entry per head>, "truncated"}, ...], "model": tag}``, one result per
item in request order, ``id`` echoed (``null`` when not sent). The response model has one field per head of
the served model's label schema (``voc.serving.contract.response_model``), so a head added to labels.yaml is in
the answer and in ``/docs.json`` (``voc.serving.openapi``) with no code change.

Model: ``$VOC_MODEL``, a store tag (default ``voc-classifier:latest``) or a model directory.
``$VOC_BACKEND`` picks the inference backend (``torch``, ``torch-int8``, ``onnx``, ``onnx-int8``; default:
the model's own, chosen by ``voc export``'s accuracy gate: docs/performance.md). ``$VOC_TORCH_THREADS``
sets torch's intra-op threads, ``$VOC_THREADS`` ONNX Runtime's (default: one per core).

Bad input answers 4xx with a message that says what to fix, never 5xx, and is logged as one WARNING line
without the request's text (``voc.serving.logs``):

- 400: empty text or text with no visible characters, text over ``MAX_TEXT_CHARS`` characters, no items or
  more than ``MAX_ITEMS``, unknown fields, wrong JSON shape or types, invalid JSON, a body that is not UTF-8
  or starts with a byte-order mark, a body shorter than its Content-Length;
- 400: a JSON object with a key twice; 404: a path the service does not have; 405: ``/classify`` without POST;
- 415: a body that is not ``application/json`` (or has no Content-Type), or a ``Content-Encoding`` (compression);
- 413: a body over ``MAX_BODY_BYTES``; 408: a body still arriving 10 s after the request began (``voc.serving.guard``).

A 400 from validation says in one line what to fix (``voc.serving.validation``), ``detail`` lists each problem.

Cost: a request may take at most ``MAX_REQUEST_TOKENS`` tokens to read (``voc.serving.reading_budget``), one with
``"explain": true`` at most ``MAX_EXPLAIN_PASSES`` forward passes (``voc.serving.explain_budget``): over it, 413
with how many items fit, at once.

Overload: when the unfinished work (queued or running) plus the request's would pass ``$VOC_MAX_QUEUE_TOKENS``
tokens (default ``MAX_QUEUE_TOKENS``), the request gets 503 with ``Retry-After`` (when the work ahead will have
made room) at once (``voc.serving.batcher``). A request unanswered 25 s after it arrived is cancelled and gets
503 too, one whose client went away is cancelled (``voc.serving.guard``); a merged batch runs in chunks of
``CHUNK_TOKENS`` and drops the texts of callers that are gone before each: no model work outlives its request
by more than a chunk (about 3 s) or one text's explain.

A model that cannot be loaded stops the whole server at once (exit status 2) with one line naming the
file, instead of BentoML restarting the worker forever.

A text over the model's ``max_length`` tokens is read whole in overlapping windows (``voc.models.tokens``); one
too long even for those is flagged ``"truncated": true``. Concurrent requests share forward passes
(``voc.serving.batcher``: what queues while one batch runs goes into the next, up to ``MAX_BATCH_TEXTS`` texts).
``"explain": true`` adds each result's ``evidence`` (``voc.models.evidence``): a job of its own in the same queue,
within a per-request budget (``voc.serving.explain_budget``: over it, 413 with how many items fit).
``/healthz``, ``/livez`` and ``/readyz`` come from BentoML; ``/metrics`` (Prometheus) from ``voc.serving.metrics``,
with label sets bounded by the routes and the model's schema.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

import bentoml  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from starlette.responses import JSONResponse  # noqa: E402

from voc.models.artifact import read_meta  # noqa: E402
from voc.models.errors import VocError  # noqa: E402
from voc.models.evidence import cost as explain_cost  # noqa: E402
from voc.models.predictor import Predictor  # noqa: E402
from voc.models.results import add_evidence, reading_costs, score_texts, text_problem  # noqa: E402
from voc.models.schema import LabelSchema  # noqa: E402
from voc.models.store import DEFAULT_MODEL, looks_like_path, resolve_model  # noqa: E402

from . import logs  # noqa: E402
from .batcher import MicroBatcher, Overloaded  # noqa: E402
from .contract import (  # noqa: E402
    MAX_BODY_BYTES,
    REQUEST_TIMEOUT_SECONDS,
    ClassifyRequest,
    Item,
    OnError,
    response_model,
)
from .explain_budget import explain_problem  # noqa: E402
from .guard import RequestGuard  # noqa: E402
from .home import pages  # noqa: E402
from .metrics import HttpMetrics, PredictionMetrics  # noqa: E402
from .openapi import DescribedService, io_model  # noqa: E402
from .reading_budget import CHUNK_TOKENS, MAX_QUEUE_TOKENS, reading_problem  # noqa: E402
from .validation import ValidationMessages  # noqa: E402

THREADS_ENV = "VOC_TORCH_THREADS"
QUEUE_ENV = "VOC_MAX_QUEUE_TOKENS"
# Texts merged into one batch across requests; it runs in chunks of CHUNK_TOKENS (voc.serving.batcher).
MAX_BATCH_TEXTS = 64
# A merged batch runs as forward passes of texts of similar length (``voc.models.predictor.length_batches``),
# at most this many windows each: the 1,281 bundled test texts in calls of 32 took 241 passes, in calls of
# 8 543, both padded only ~1.03x (docs/performance.md).
FORWARD_BATCH = 32
# Every path the service answers; anything else is a 404 before BentoML routes it.
ROUTES = {"/classify", "/healthz", "/livez", "/readyz", "/metrics", "/", "/docs", "/docs.json", "/schema.json"}

logger = logging.getLogger("voc.service")
logs.install()


BATCH_TEXTS = bentoml.metrics.Histogram(
    name="voc_batch_texts",
    documentation="Texts per merged forward batch (adaptive batching across requests)",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


def stop_server(message: str) -> NoReturn:
    """Log ``message`` as one line and stop the whole server (BentoML would restart a failed worker forever)."""
    logger.critical(message)
    print(message, file=sys.stderr, flush=True)
    os.kill(os.getppid(), signal.SIGTERM)  # the BentoML arbiter: it stops and exits
    os._exit(2)


def load_predictor() -> Predictor:
    """The model named by ``$VOC_MODEL``, self-checked (``Predictor.load``); a bad one stops the server."""
    if threads := os.environ.get(THREADS_ENV):
        import torch  # only here: an ONNX backend runs without PyTorch in the process

        torch.set_num_threads(int(threads))
    try:
        path, tag = resolve_model(DEFAULT_MODEL)
        return Predictor.load(path, tag=tag, batch_size=FORWARD_BATCH)  # backend: $VOC_BACKEND or the model's
    except VocError as e:
        stop_server(f"voc service: cannot start: {e}")


def model_schema() -> tuple[LabelSchema, dict]:
    """The label schema and decision thresholds of the model ``$VOC_MODEL`` names, from its ``voc.json``: read
    when this module is imported, because the API's models are declared then. When that model cannot be read,
    the bundled schema: the worker then stops the server with the reason (``load_predictor``)."""
    try:
        meta = read_meta(resolve_model(DEFAULT_MODEL)[0])
        return LabelSchema.from_dict(meta["schema"]), meta.get("thresholds", {})
    except VocError:
        return LabelSchema.load(), {}


SCHEMA, THRESHOLDS = model_schema()
# /classify's answer: one field per head of the model's schema (voc.serving.contract.response_model).
ClassifyResponse: type[BaseModel] = io_model(response_model(SCHEMA, THRESHOLDS))


# BentoML's own HTTP metrics are off: they label every requested path (voc.serving.metrics).
@bentoml.asgi_app(pages, path="/", name="pages")
@bentoml.service(
    name="voc",
    traffic={"timeout": REQUEST_TIMEOUT_SECONDS},
    workers=1,
    metrics={"enabled": False},
    service_class=DescribedService,
)
class VocService:
    """Sentiment, service themes and escalation risk for Korean, English and mixed feedback."""

    # Declared so that `bentoml build` packs the store entry; a directory in $VOC_MODEL needs no store.
    # A path that is no directory is left to load_predictor, which stops the server with one line.
    bento_model = (
        None
        if looks_like_path(DEFAULT_MODEL) or Path(DEFAULT_MODEL).is_dir()
        else bentoml.models.BentoModel(DEFAULT_MODEL)
    )

    def __init__(self) -> None:
        self.predictor = load_predictor()
        if self.predictor.schema != SCHEMA:  # the store's `latest` moved between import and load
            stop_server(
                f"voc service: cannot start: {DEFAULT_MODEL} changed its label schema while the service started"
            )
        score_texts(self.predictor, ["warm-up"])  # the first request should not pay for lazy init
        self.batcher = MicroBatcher(
            lambda texts: score_texts(self.predictor, texts),
            MAX_BATCH_TEXTS,
            BATCH_TEXTS.observe,
            max_waiting=int(os.environ.get(QUEUE_ENV, MAX_QUEUE_TOKENS)),
            chunk_cost=CHUNK_TOKENS,
        )
        self.answers = PredictionMetrics(self.predictor.schema)

    @bentoml.api(input_spec=io_model(ClassifyRequest), output_spec=ClassifyResponse)
    async def classify(self, items: list[Item], on_error: OnError = "request", explain: bool = False) -> BaseModel:
        """Score 1 to 64 feedback items: results in request order, ids echoed, with the model tag. An empty or over-long text refuses the request (400), or with `"on_error": "item"` gets `{"id", "error"}` in its slot. With `"explain": true` each scored result also gets `evidence`. Texts that take over 10,240 tokens to read together: 413 saying how many fit. When the queue is full: 503 with Retry-After."""  # noqa: E501 (one line: the OpenAPI page shows it as Markdown, indentation included)
        problems = [text_problem(item.text) for item in items]  # all None unless on_error is "item"
        texts = [item.text for item, problem in zip(items, problems) if problem is None]
        costs = await asyncio.to_thread(reading_costs, self.predictor, texts)  # off the event loop: up to ~0.2 s
        if over := explain_problem(texts) if explain else reading_problem(costs):
            return JSONResponse({"error": over}, status_code=413)  # type: ignore[return-value]
        try:
            if explain:  # queued by what it reads: each text once more per occlusion unit
                outputs = await self.explained(texts, sum(c * explain_cost(t) for c, t in zip(costs, texts)))
            else:
                outputs = await self.batcher(texts, costs)
        except Overloaded as e:
            headers = {"Retry-After": str(e.retry_after)}
            return JSONResponse({"error": str(e)}, status_code=503, headers=headers)  # type: ignore[return-value]
        self.answers.observe(outputs)
        scored = iter(outputs)
        results = [
            {"id": item.id, "error": problem} if problem else {"id": item.id, **next(scored)}
            for item, problem in zip(items, problems)
        ]
        return ClassifyResponse(results=results, model=self.predictor.tag)

    async def explained(self, texts: list[str], cost: int) -> list[dict]:
        """The results of ``texts`` with their evidence: one job in the model's queue, admitted by its ``cost`` in
        tokens read (``Overloaded`` when the queue is full) and stopped between texts once nobody waits."""
        if not texts:
            return []

        def work(cancelled: threading.Event) -> list[dict]:
            outputs = score_texts(self.predictor, texts)
            return add_evidence(self.predictor, texts, outputs, cancelled=cancelled)

        return await self.batcher.run(work, cost)


# The first added is the outer one: every request, the guard's 4xx included, is counted.
VocService.add_asgi_middleware(HttpMetrics, routes=ROUTES)
VocService.add_asgi_middleware(
    RequestGuard, max_bytes=MAX_BODY_BYTES, routes=ROUTES, post_only=frozenset({"/classify"})
)
VocService.add_asgi_middleware(ValidationMessages, paths={"/classify"})
