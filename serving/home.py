"""The service in its own words: ``/`` says what it does with a curl example, ``/docs`` is Swagger UI over
``/docs.json`` (``voc.serving.openapi``); ``DESCRIPTION`` and ``STATUS_CODES`` are shared by both.

BentoML serves its generic Swagger page at ``/``; a Starlette app mounted at ``/`` (BentoML checks mounted
apps before its own index route) replaces it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from .contract import EXAMPLE_TEXT, LIMITS, MAX_BODY_BYTES, MAX_ITEMS, REQUEST_TIMEOUT_SECONDS
from .explain_budget import MAX_EXPLAIN_PASSES
from .guard import BODY_SECONDS, REQUEST_SECONDS
from .reading_budget import MAX_REQUEST_TOKENS


@dataclass(frozen=True)
class Status:
    """A status code ``POST /classify`` can answer and what it means to the caller (Markdown: `code` spans)."""

    code: int
    meaning: str


EXAMPLE_REQUEST = {"items": [{"id": "T-1042", "text": EXAMPLE_TEXT}]}
STATUS_CODES = [
    Status(200, "Scored: one result per item, in order (with `on_error: item`, `{id, error}` in a bad item's slot)."),
    Status(
        400,
        "The request is wrong, and sending it again gets the same answer: `error` says what to fix and `detail` "
        f"lists each problem with its location. An empty or over-long text, no items or more than {MAX_ITEMS}, "
        "unknown fields, wrong types, invalid JSON, a body that is not UTF-8, starts with a byte-order mark or is "
        "shorter than its Content-Length.",
    ),
    Status(
        408,
        f"The body was still arriving {BODY_SECONDS:.0f} s after the request began: send the whole body at once.",
    ),
    Status(
        413,
        f"The body is over {MAX_BODY_BYTES:,} bytes: send fewer or shorter items per request. Or the texts take "
        f"over {MAX_REQUEST_TOKENS:,} tokens to read, or with `explain` cost over {MAX_EXPLAIN_PASSES} forward "
        "passes: `error` says how many items to send in this request. Sending the same request again gets the same "
        "answer.",
    ),
    Status(
        415,
        "The body is not JSON by its Content-Type (or has none), or is compressed (`Content-Encoding`): send it "
        "uncompressed as `application/json`.",
    ),
    Status(
        503,
        "The service is busy with other requests' work: its queue is full (answered at once; `Retry-After` is "
        "when the work ahead will have made room, at the throughput measured), or the request was not answered "
        f"within {REQUEST_SECONDS:.0f} s and was cancelled. The request itself is within the limits: retry after "
        "the `Retry-After` header's seconds.",
    ),
    Status(
        504,
        f"Not answered within {REQUEST_TIMEOUT_SECONDS} seconds: send fewer items per request (or without "
        "`explain`), and retry.",
    ),
    Status(500, "A fault of the service, never of the input: retry, then tell its operators."),
]
DESCRIPTION = "\n\n".join(
    [
        "Scores customer feedback in Korean, English or a mix: a **sentiment** (one label), its service "
        "**themes** (any number, each with its own threshold) and an **escalation** risk, where `high` marks "
        "what should reach a senior human first. Send `POST /classify` with "
        f"`{json.dumps(EXAMPLE_REQUEST, ensure_ascii=False)}`; results come back in request order with each id "
        "echoed and the tag of the model that scored them.",
        LIMITS,
        "Status codes of `POST /classify`:\n\n" + "\n".join(f"- **{s.code}** {s.meaning}" for s in STATUS_CODES),
        "`/healthz`, `/readyz` and `/metrics` (Prometheus) are for operators.",
    ]
)


def code_spans(text: str) -> Markup:
    """Markdown-style `code` spans as HTML ``<code>``, everything else escaped."""
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


def _render(template: str, request: Request) -> HTMLResponse:
    env = Environment(loader=PackageLoader("voc.serving", "templates"), autoescape=select_autoescape(["html"]))
    env.filters["code"] = code_spans
    page = env.get_template(template).render(
        base=str(request.base_url).rstrip("/"),
        limits=LIMITS,
        statuses=STATUS_CODES,
        example=json.dumps(EXAMPLE_REQUEST, ensure_ascii=False),
    )
    return HTMLResponse(page)


async def index(request: Request) -> HTMLResponse:
    return _render("index.html", request)


async def docs(request: Request) -> HTMLResponse:
    return _render("docs.html", request)


pages = Starlette(routes=[Route("/", index), Route("/docs", docs)])
