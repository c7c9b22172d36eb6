"""The request guard, metrics and log filters as ASGI units (no server): slow bodies, deadlines, clients that
go away, timeouts counted as 504, forged log lines."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import pytest

from voc.serving import logs
from voc.serving.guard import RequestGuard
from voc.serving.metrics import REQUESTS, HttpMetrics
from voc.serving.openapi import ERROR_EXAMPLES

ROUTES = {"/classify"}


def scope(path: str = "/classify", body_length: int | None = None) -> dict:
    headers = [(b"content-type", b"application/json")]
    if body_length is not None:
        headers.append((b"content-length", str(body_length).encode()))
    return {"type": "http", "method": "POST", "path": path, "headers": headers}


async def call(app, receive) -> tuple[int, dict, list[dict]]:
    """Run ``app`` on one request; its status, headers and the messages it sent."""
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope(), receive, send)
    start = next((m for m in sent if m["type"] == "http.response.start"), None)
    status = start["status"] if start else 0
    headers = {k.decode(): v.decode() for k, v in (start or {}).get("headers", [])}
    return status, headers, sent


def body_once(body: bytes = b'{"items": [{"text": "ok"}]}', disconnect_after: float | None = None):
    """A ``receive`` that sends ``body`` at once, then a disconnect after ``disconnect_after`` s (or never)."""
    state = {"sent": False}

    async def receive() -> dict:
        if not state["sent"]:
            state["sent"] = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.sleep(3600 if disconnect_after is None else disconnect_after)
        return {"type": "http.disconnect"}

    return receive


async def answering_app(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def test_a_slowly_trickling_body_gets_a_408_not_a_5xx():
    async def trickle() -> dict:  # one byte at a time, each well inside the idle cut-off
        await asyncio.sleep(0.05)
        return {"type": "http.request", "body": b" ", "more_body": True}

    guard = RequestGuard(answering_app, 10_000, ROUTES, idle_seconds=1.0, body_seconds=0.5)
    status, _, sent = asyncio.run(call(guard, trickle))
    assert status == 408
    error = json.loads(sent[-1]["body"])["error"]
    assert "still arriving after" in error
    figures = re.compile(r"[\d,.]+")  # the OpenAPI example is this answer with other figures
    assert figures.sub("N", error) == figures.sub("N", ERROR_EXAMPLES[408])


def test_a_body_that_stops_short_is_still_a_400():
    async def stall() -> dict:
        await asyncio.sleep(3600)
        return {}

    guard = RequestGuard(answering_app, 10_000, ROUTES, idle_seconds=0.2, body_seconds=5)
    assert asyncio.run(call(guard, stall))[0] == 400


def endless_app(cancelled: asyncio.Event, read_body: bool = False):
    """An app that never answers and sets ``cancelled`` when its work is cancelled."""

    async def app(scope, receive, send) -> None:
        if read_body:
            await receive()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    return app


def test_a_request_past_its_deadline_is_cancelled_and_gets_a_503_with_retry_after():
    cancelled = asyncio.Event()

    async def main():
        guard = RequestGuard(endless_app(cancelled), 10_000, ROUTES, request_seconds=0.3)
        return await call(guard, body_once()), cancelled.is_set()

    (status, headers, sent), was_cancelled = asyncio.run(main())
    assert status == 503 and headers["retry-after"].isdigit()
    assert "retry after" in json.loads(sent[-1]["body"])["error"]
    assert was_cancelled  # the work stops with the answer


def test_a_client_that_goes_away_cancels_its_request():
    cancelled = asyncio.Event()

    async def main():
        guard = RequestGuard(endless_app(cancelled, read_body=True), 10_000, ROUTES, request_seconds=60)
        result = await asyncio.wait_for(call(guard, body_once(disconnect_after=0.1)), 5)
        return result, cancelled.is_set()

    (status, _, sent), was_cancelled = asyncio.run(main())
    assert status == 0 and sent == []  # nobody to answer
    assert was_cancelled


def test_an_answer_in_time_passes_through_unchanged():
    guard = RequestGuard(answering_app, 10_000, ROUTES, request_seconds=5)
    status, _, sent = asyncio.run(call(guard, body_once(disconnect_after=0.01)))
    assert status == 200 and sent[-1]["body"] == b"{}"


def count(endpoint: str, code: str) -> float:
    return REQUESTS.labels(endpoint=endpoint, http_response_code=code)._value.get()


def test_a_request_cut_off_by_bentomls_timeout_is_counted_as_504():
    from bentoml._internal.server.http.traffic import TimeoutMiddleware

    async def slow_app(scope, receive, send) -> None:
        await asyncio.sleep(3600)

    before = count("/classify", "504"), count("/classify", "500")
    app = TimeoutMiddleware(HttpMetrics(slow_app, routes=ROUTES), timeout=0.2)
    status, _, _ = asyncio.run(call(app, body_once()))
    assert status == 504
    assert (count("/classify", "504"), count("/classify", "500")) == (before[0] + 1, before[1])


def access_record(path: str, status: int) -> logging.LogRecord:
    """An access-log record as BentoML's AccessLogMiddleware makes it."""
    return logging.LogRecord(
        logs.ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        "%s (%s) (%s) %.3fms",
        ("127.0.0.1:5000", f"scheme=http,method=GET,path={path}", f"status={status}", 1.0),
        None,
    )


def test_a_path_cannot_forge_a_log_line_or_make_a_huge_one():
    record = access_record("/x\n[CRITICAL] voc: database dropped\r\n", 404)
    logs.SafeArgs().filter(record)
    line = record.getMessage()
    assert "\n" not in line and "\r" not in line and "\\n[CRITICAL]" in line
    record = access_record("/" + "a" * 100_000, 404)
    logs.SafeArgs().filter(record)
    assert len(record.getMessage()) < 1000 and "more characters" in record.getMessage()


@pytest.mark.parametrize(
    ("status", "level"), [(200, "INFO"), (404, "INFO"), (503, "WARNING"), (504, "WARNING"), (500, "ERROR")]
)
def test_a_5xx_answer_is_logged_at_warning_or_above(status, level):
    record = access_record("/classify", status)
    logs.SafeArgs().filter(record)
    assert record.levelname == level
