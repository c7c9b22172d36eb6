"""The helpdesk's HTTP service: ``POST /classify`` scores feedback in real time (``bentoml serve serving.service``).

Contract (../shared/DESIGN.md): ``{"items": [{"id": "T-1042", "text": "..."}]}`` ->
``{"results": [{"id", "language", "sentiment", "themes", "escalation", "truncated"}, ...], "model": tag}``,
one result per item in request order, ``id`` echoed (``null`` when not sent).

Model: ``$VOC_MODEL``, a store tag (default ``voc-classifier:latest``) or a model directory.
``$VOC_TORCH_THREADS`` sets torch's intra-op threads (default: torch's choice, one per core);
``$VOC_QUANTIZE=int8`` runs the encoder in dynamic int8 (faster, slightly less accurate: README).

Bad input answers 4xx with a message that says what to fix, never 5xx:

- 400: empty or whitespace text, text over ``MAX_TEXT_CHARS`` characters, no items or more than
  ``MAX_ITEMS``, unknown fields, wrong JSON shape or types, invalid JSON, a body that is not UTF-8;
- 413: a body over ``MAX_BODY_BYTES``.

A text over the model's ``max_length`` tokens is scored on its first ``max_length`` tokens and flagged
``"truncated": true``. Concurrent requests share forward passes (``serving.batcher``: what queues while
one batch runs goes into the next, up to ``MAX_BATCH_TEXTS`` texts). ``"explain": true`` adds each result's
``evidence`` (``models.evidence``), computed after the shared batch and outside the event loop.
``/healthz``, ``/livez``, ``/readyz`` and ``/metrics`` (Prometheus) come from BentoML.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

import bentoml  # noqa: E402
import torch  # noqa: E402

from models.predictor import Predictor  # noqa: E402
from models.store import MODEL_NAME, resolve_model  # noqa: E402

from .batcher import MicroBatcher  # noqa: E402
from .contract import MAX_BODY_BYTES, ClassifyRequest, ClassifyResponse, Item, add_evidence, score_texts  # noqa: E402
from .guard import RequestGuard  # noqa: E402

MODEL_ENV = "VOC_MODEL"
MODEL_REF = os.environ.get(MODEL_ENV, f"{MODEL_NAME}:latest")
THREADS_ENV = "VOC_TORCH_THREADS"
QUANTIZE_ENV = "VOC_QUANTIZE"
# Texts merged into one batch across requests (a request's own items are never split).
MAX_BATCH_TEXTS = 64
# A merged batch runs as length-sorted forward passes of this many texts, so short texts are not padded
# to the longest one in the batch.
FORWARD_BATCH = 8


BATCH_TEXTS = bentoml.metrics.Histogram(
    name="voc_batch_texts",
    documentation="Texts per merged forward batch (adaptive batching across requests)",
    buckets=(1, 2, 4, 8, 16, 32, 64),
)


@bentoml.service(name="voc", traffic={"timeout": 30}, workers=1)
class VocService:
    """Sentiment, service themes and escalation risk for Korean, English and mixed feedback."""

    # Declared so that `bentoml build` packs the store entry; a directory in $VOC_MODEL needs no store.
    bento_model = None if Path(MODEL_REF).is_dir() else bentoml.models.BentoModel(MODEL_REF)

    def __init__(self) -> None:
        if threads := os.environ.get(THREADS_ENV):
            torch.set_num_threads(int(threads))
        path, tag = resolve_model(MODEL_REF)
        quantize = os.environ.get(QUANTIZE_ENV, "") == "int8"
        self.predictor = Predictor.load(path, quantize=quantize, tag=tag, batch_size=FORWARD_BATCH)
        score_texts(self.predictor, ["warm-up"])  # the first request should not pay for lazy init
        self.batcher = MicroBatcher(
            lambda texts: score_texts(self.predictor, texts), MAX_BATCH_TEXTS, BATCH_TEXTS.observe
        )

    @bentoml.api(input_spec=ClassifyRequest)
    async def classify(self, items: list[Item], explain: bool = False) -> ClassifyResponse:
        """Score up to MAX_ITEMS feedback items: results in request order, ids echoed, with the model tag."""
        texts = [item.text for item in items]
        outputs = await self.batcher(texts)
        if explain:
            outputs = await asyncio.to_thread(add_evidence, self.predictor, texts, outputs)
        results = [{"id": item.id, **out} for item, out in zip(items, outputs)]
        return ClassifyResponse(results=results, model=self.predictor.tag)


VocService.add_asgi_middleware(RequestGuard, max_bytes=MAX_BODY_BYTES)
