"""The service's Prometheus metrics, with label sets bounded by the routes and the model's schema.

BentoML 1.4.39's own HTTP metrics label every requested path, so each new 404 path adds a series that
is never freed (about 25 KB each). The service turns them off (``metrics={"enabled": False}``) and
:class:`HttpMetrics` counts requests under the known routes only (everything else is ``other``) and
serves ``/metrics`` itself; a request cancelled by BentoML's timeout counts as the 504 it gets, one whose
client went away before the answer as 499. :class:`PredictionMetrics` counts what the model answered, per
label, so that a helpdesk sees drift, and the items per request.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import bentoml

from voc.models.text import LANGUAGES

from .guard import ASGIApp, Message, Receive, Scope, Send

OTHER = "other"
# Counted for a request that got no answer from inside the service: BentoML's timeout middleware (outside
# this one) cancels it and answers 504; a client that went away before its answer gets none (nginx's 499).
TIMED_OUT = 504
CLIENT_GONE = 499
# BentoML's own defaults for request durations, in seconds.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ITEM_BUCKETS = (1, 2, 4, 8, 16, 32, 64)

REQUESTS = bentoml.metrics.Counter(
    name="voc_http_requests",
    documentation="HTTP requests by route (unknown paths count as 'other') and status code",
    labelnames=["endpoint", "http_response_code"],
)
DURATION = bentoml.metrics.Histogram(
    name="voc_http_request_duration_seconds",
    documentation="HTTP request duration by route, in seconds",
    labelnames=["endpoint"],
    buckets=DURATION_BUCKETS,
)


def exposition() -> tuple[bytes, str]:
    """The text of all metrics of every worker (Prometheus multiprocess mode when BentoML set it up)."""
    import prometheus_client
    from prometheus_client import multiprocess

    registry = prometheus_client.REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    return prometheus_client.generate_latest(registry), prometheus_client.CONTENT_TYPE_LATEST


class HttpMetrics:
    """Count every HTTP request under its route (``routes``, else ``other``) and answer ``GET /metrics``."""

    def __init__(self, app: ASGIApp, routes: set[str]) -> None:
        self.app, self.routes = app, routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"] == "/metrics" and scope["method"] == "GET":
            body, content_type = exposition()
            headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        endpoint = scope["path"] if scope["path"] in self.routes else OTHER
        started, status = time.perf_counter(), None

        async def counted_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, counted_send)
        except asyncio.CancelledError:
            status = status or TIMED_OUT  # BentoML's timeout cancels the request, then answers 504 itself
            raise
        except Exception:
            status = status or 500
            raise
        finally:
            code = str(status or CLIENT_GONE)
            REQUESTS.labels(endpoint=endpoint, http_response_code=code).inc()
            DURATION.labels(endpoint=endpoint).observe(time.perf_counter() - started)


class PredictionMetrics:
    """Per-label counts of the answers (one series per label of the model's schema) and items per request."""

    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self.labels = bentoml.metrics.Counter(
            name="voc_predicted_labels",
            documentation="Answers per task and label (themes: each theme given); language per text",
            labelnames=["task", "label"],
        )
        self.items = bentoml.metrics.Histogram(
            name="voc_request_items",
            documentation="Items per /classify request",
            buckets=ITEM_BUCKETS,
        )
        for task in schema.tasks:  # every series exists from the start, at 0, so rates work at once
            for label in task.labels:
                self.labels.labels(task=task.name, label=label)
        for language in LANGUAGES:
            self.labels.labels(task="language", label=language)

    def observe(self, results: list[dict[str, Any]]) -> None:
        """Count one request's results."""
        self.items.observe(len(results))
        for result in results:
            self.labels.labels(task="language", label=result["language"]).inc()
            for task in self.schema.tasks:
                head = result[task.name]
                for label in head["labels"] if task.multi else [head["label"]]:
                    self.labels.labels(task=task.name, label=label).inc()
