"""The bodies of the service's error answers, and a 400 for a request that fails validation in plain words.

BentoML 1.4.39 answers such a request with ``{"error": "2 validation error for ClassifyRequestIODescriptor",
"detail": [...]}``: an internal class name, no plural, and nothing about what to fix. :class:`ValidationMessages`
rewrites that ``error`` into one line that names each problem, where it is and what to do
(``2 problems in the request: items[0].text: ...``); ``detail`` is left as BentoML sends it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .guard import ASGIApp, Message, Receive, Scope, Send

# What to do, for the pydantic error types whose own message only says what is wrong.
HINTS = {
    "missing": "add it",
    "extra_forbidden": "remove it; /docs lists the fields",
    "json_invalid": "send the body as one JSON object",
    "model_type": 'send a JSON object such as {"items": [{"text": "..."}]}',
    "model_attributes_type": 'send a JSON object such as {"items": [{"text": "..."}]}',
    "list_type": "send a JSON array",
    "string_type": "send a JSON string",
    "bool_type": "send true or false",
    "too_short": "send at least one item",
    "too_long": "split them over several requests",
}
# Problems named in ``error``; ``detail`` holds them all.
SHOWN = 3


class Problem(BaseModel):
    """One reason the request was refused, at its place in the body (pydantic's error, without the input)."""

    type: str = Field(description="The kind of problem, e.g. `missing`, `extra_forbidden`, `too_long`, `text_problem`.")
    loc: list[str | int] = Field(
        description="Where it is: keys and list positions from the top of the body; empty for the body as a whole.",
        json_schema_extra={"example": ["items", 5, "text"]},
    )
    msg: str = Field(
        description="What is wrong.",
        json_schema_extra={"example": "text has 4,210 characters, over the limit of 4,000: split or shorten it"},
    )
    url: str | None = Field(default=None, description="pydantic's page about this kind of problem, when it has one.")


class BadRequest(BaseModel):
    """A 400: what to fix, and (for a body that was read as JSON) each problem with its location."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "error": "1 problem in the request: items[5].text: text has 4,210 characters, over the limit of "
                "4,000: split or shorten it",
                "detail": [
                    {
                        "type": "text_problem",
                        "loc": ["items", 5, "text"],
                        "msg": "text has 4,210 characters, over the limit of 4,000: split or shorten it",
                    }
                ],
            }
        }
    )

    error: str = Field(description="What is wrong and what to fix, in one line.")
    detail: list[Problem] | None = Field(
        default=None, description="Every problem with its location; absent when the body could not be read."
    )


class ErrorMessage(BaseModel):
    """Any other error: one line that says what happened and what to do."""

    error: str = Field(description="What happened and what to do.")


def location(loc: Sequence[str | int]) -> str:
    """``("items", 0, "text")`` -> ``items[0].text``; ``()`` -> ``the body``."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "the body"


def describe(problem: dict[str, Any]) -> str:
    """One problem as ``where: what is wrong (what to do)``."""
    msg = str(problem.get("msg", "")).removeprefix("Value error, ")
    hint = HINTS.get(str(problem.get("type")))
    return f"{location(problem.get('loc') or ())}: {msg}" + (f" ({hint})" if hint else "")


def validation_message(problems: list[dict[str, Any]]) -> str:
    """``N problem(s) in the request: ...``, naming the first :data:`SHOWN` problems."""
    n = len(problems)
    listed = "; ".join(describe(p) for p in problems[:SHOWN])
    more = f"; and {n - SHOWN} more, listed in detail" if n > SHOWN else ""
    return f"{n} problem{'' if n == 1 else 's'} in the request: {listed}{more}"


def rewrite(body: bytes) -> bytes:
    """BentoML's validation 400 body with ``error`` from :func:`validation_message`; any other body unchanged."""
    try:
        answer = json.loads(body)
    except ValueError:
        return body
    if not isinstance(answer, dict) or not isinstance(answer.get("detail"), list) or not answer["detail"]:
        return body
    answer["error"] = validation_message(answer["detail"])
    return json.dumps(answer, ensure_ascii=False).encode("utf-8")


class ValidationMessages:
    """An ASGI middleware that rewrites the ``error`` of the 400s on ``paths`` (:func:`rewrite`)."""

    def __init__(self, app: ASGIApp, paths: set[str]) -> None:
        self.app, self.paths = app, paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def send_rewritten(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and message["status"] == 400:
                start = message  # held until the body is complete
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = rewrite(b"".join(chunks))
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, send_rewritten)
