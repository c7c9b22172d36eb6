"""The service's own pages: ``/`` says what it does with a curl example, ``/docs`` is Swagger UI over
``/docs.json``; and ``DESCRIPTION``, the OpenAPI description in the service's own words.

BentoML serves its generic Swagger page at ``/`` and a generic README as the description; a Starlette
app mounted at ``/`` (BentoML checks mounted apps before its own index route) and a ``Service`` subclass
whose ``doc`` is ``DESCRIPTION`` replace them.
"""

from __future__ import annotations

import json

import bentoml
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from .contract import EXAMPLE_TEXT, LIMITS, MAX_BODY_BYTES

EXAMPLE_REQUEST = {"items": [{"id": "T-1042", "text": EXAMPLE_TEXT}]}
STATUS_CODES = [
    ("200", "Scored: one result per item, in order (with on_error item, an {id, error} for a bad text)."),
    (
        "400",
        "The request is wrong; `detail` (or `error`) says what to fix: empty or over-long text, no items or "
        "too many, unknown fields, wrong types, invalid JSON, a body that is not UTF-8.",
    ),
    ("413", f"The body is over {MAX_BODY_BYTES:,} bytes: send fewer or shorter items per request."),
    ("5xx", "A fault of the service, never of the input: retry, then tell its operators."),
]
DESCRIPTION = "\n\n".join(
    [
        "Scores customer feedback in Korean, English or a mix: a **sentiment** (one label), its service "
        "**themes** (any number, each with its own threshold) and an **escalation** risk, where `high` marks "
        "what should reach a senior human first. Send `POST /classify` with "
        f"`{json.dumps(EXAMPLE_REQUEST, ensure_ascii=False)}`; results come back in request order with each id "
        "echoed and the tag of the model that scored them.",
        LIMITS,
        "Status codes: " + " ".join(f"**{code}** {text}" for code, text in STATUS_CODES),
        "`/healthz`, `/readyz` and `/metrics` (Prometheus) are for operators.",
    ]
)


class DescribedService(bentoml.Service):
    """A BentoML service whose OpenAPI description is ``DESCRIPTION`` rather than BentoML's generic README."""

    @property
    def doc(self) -> str:
        return DESCRIPTION


def _render(template: str, request: Request) -> HTMLResponse:
    env = Environment(loader=PackageLoader("serving", "templates"), autoescape=select_autoescape(["html"]))
    page = env.get_template(template).render(
        base=str(request.base_url).rstrip("/"),
        description=DESCRIPTION,
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
