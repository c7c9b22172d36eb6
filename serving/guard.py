"""An ASGI middleware that answers bad requests with a 4xx before BentoML parses them.

- a path the service does not have: 404 (BentoML's router is never reached);
- a body that is not JSON by its Content-Type (``multipart/form-data``, ``text/plain``, ...): 415;
- a body over ``max_bytes``: 413 (BentoML alone reads up to 50 MB);
- a body shorter than its Content-Length (no byte for ``idle_seconds``): 400 at once, not a 504 after 30 s;
- a body that starts with a UTF-8 byte-order mark, or that is not UTF-8: 400 that says so.

Every answer is ``{"error": "..."}`` with a message that says what to fix.
"""

from __future__ import annotations

import asyncio
import codecs
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}
JSON_TYPES = ("application/json", "")  # no Content-Type at all is read as JSON, as BentoML does
# A client that stops sending part-way through its body gets a 400 after this many seconds of silence.
BODY_IDLE_SECONDS = 5.0


class _Rejected(Exception):
    """A request answered with ``status`` and ``message`` instead of reaching the app."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


class RequestGuard:
    """Check the path, Content-Type and body (buffered, at most ``max_bytes``), then replay it to the app."""

    def __init__(self, app: ASGIApp, max_bytes: int, routes: set[str], idle_seconds: float = BODY_IDLE_SECONDS) -> None:
        self.app, self.max_bytes, self.routes, self.idle_seconds = app, max_bytes, routes, idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            self._check_route(scope)
            if scope["method"] not in _METHODS_WITH_BODY:
                await self.app(scope, receive, send)
                return
            body = await self._read_body(scope, receive)
        except _Rejected as e:
            await reject(send, e.status, e.message)
            return
        except _Disconnected:
            return
        await self.app(scope, _replay(body, receive), send)

    def _check_route(self, scope: Scope) -> None:
        path = scope["path"]
        if path not in self.routes and not path.startswith("/static_content/"):
            raise _Rejected(404, f"no such path; this service answers {', '.join(sorted(self.routes))}")
        if scope["method"] not in _METHODS_WITH_BODY:
            return
        headers = dict(scope["headers"])
        media_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if media_type not in JSON_TYPES:
            raise _Rejected(415, f"Content-Type {media_type!r} is not accepted: send JSON as application/json")

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        """The whole body, or ``_Rejected`` when it is too big, shorter than declared, or not UTF-8 JSON text."""
        too_big = f"request body is over {self.max_bytes:,} bytes: send fewer or shorter items per request"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise _Rejected(413, too_big)
        chunks, size, more = [], 0, True
        while more:
            try:
                message = await asyncio.wait_for(receive(), self.idle_seconds)
            except TimeoutError:
                expected = declared.decode("latin-1") if declared else "more"
                raise _Rejected(
                    400,
                    f"request body ended short: {size:,} bytes arrived, Content-Length says {expected}; send it all",
                ) from None
            if message["type"] == "http.disconnect":
                raise _Disconnected
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                raise _Rejected(413, too_big)
        body = b"".join(chunks)
        if body.startswith(codecs.BOM_UTF8):
            raise _Rejected(400, "request body starts with a UTF-8 byte-order mark (BOM): send the JSON without it")
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise _Rejected(
                400, f"request body is not valid UTF-8 (byte {e.start}): encode the JSON as UTF-8"
            ) from None
        return body


class _Disconnected(Exception):
    """The client went away before its body arrived: there is nobody to answer."""


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the buffered body over once, then defers to the real one (disconnects)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def reject(send: Send, status: int, message: str) -> None:
    """Answer ``{"error": message}`` with ``status``."""
    payload = json.dumps({"error": message}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
