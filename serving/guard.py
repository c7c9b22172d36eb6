"""An ASGI middleware that answers bad requests with a 4xx before BentoML parses them.

- a path the service does not have: 404 (BentoML's router is never reached); a method a path does not take
  (``GET /classify``): 405 with ``Allow`` (BentoML's own is plain text);
- a body that is not JSON by its Content-Type (``multipart/form-data``, ``text/plain``, none at all, ...): 415;
  a body with a ``Content-Encoding`` (gzip, ...): 415 that says to send it uncompressed;
- a JSON object with a key twice (``{"text": "a", "text": "b"}``: JSON parsers keep the last silently): 400;
- a body over ``max_bytes``: 413 (BentoML alone reads up to 50 MB);
- a body shorter than its Content-Length (no byte for ``idle_seconds``): 400 at once, not a 504 after 30 s;
- a body that trickles in for longer than ``body_seconds`` in all: 408 (a client's fault is never a 5xx);
- a body that starts with a UTF-8 byte-order mark, or that is not UTF-8: 400 that says so.

Every answer is ``{"error": "..."}`` with a message that says what to fix.

Then it runs the request, bounded: a request with a body that has no answer ``request_seconds`` after it
arrived is cancelled and answered 503 with ``Retry-After`` (before BentoML's own 30 s timeout, a 504), and
one whose client goes away is cancelled at once. Cancelling reaches the model work (``voc.serving.batcher``):
nothing keeps computing for a request nobody waits for.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_METHODS_WITH_BODY = {"POST", "PUT", "PATCH"}
JSON_TYPE = "application/json"
# A client that stops sending part-way through its body gets a 400 after this many seconds of silence.
BODY_IDLE_SECONDS = 5.0
# A body still arriving this long after the request started (a slow trickle) gets a 408.
BODY_SECONDS = 10.0
# A request still unanswered this long after it started is cancelled and gets a 503: under BentoML's
# ``traffic.timeout`` of 30 s, which would answer 504 and leave the work running.
REQUEST_SECONDS = 25.0
RETRY_AFTER_SECONDS = 5


class _Rejected(Exception):
    """A request answered with ``status`` and ``message`` instead of reaching the app."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class RequestGuard:
    """Check the path, Content-Type and body (buffered, at most ``max_bytes``), then replay it to the app."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        routes: set[str],
        post_only: frozenset[str] = frozenset(),
        idle_seconds: float = BODY_IDLE_SECONDS,
        body_seconds: float = BODY_SECONDS,
        request_seconds: float = REQUEST_SECONDS,
    ) -> None:
        self.app, self.max_bytes, self.routes, self.idle_seconds = app, max_bytes, routes, idle_seconds
        self.post_only = post_only
        self.body_seconds, self.request_seconds = body_seconds, request_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = asyncio.get_running_loop().time()
        try:
            self._check_route(scope)
            if scope["method"] not in _METHODS_WITH_BODY:
                await self.app(scope, receive, send)
                return
            body = await self._read_body(scope, receive, started + self.body_seconds)
            _check_keys(body)
        except _Rejected as e:
            await reject(send, e.status, e.message, e.headers)
            return
        except _Disconnected:
            return
        await self._answer(scope, body, receive, send, started + self.request_seconds)

    async def _answer(self, scope: Scope, body: bytes, receive: Receive, send: Send, deadline: float) -> None:
        """Run the app on ``body``; cancel it when the client goes away, answer 503 when ``deadline`` passes."""
        gone = asyncio.Event()
        responded = False

        async def tracked_send(message: Message) -> None:
            nonlocal responded
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        loop = asyncio.get_running_loop()
        app = asyncio.ensure_future(self.app(scope, _replay(body, gone), tracked_send))
        watcher: asyncio.Future | None = asyncio.ensure_future(_until_disconnect(receive, gone))
        try:
            while not app.done():
                waits = {app} if watcher is None else {app, watcher}
                timeout = None if responded else max(deadline - loop.time(), 0)
                done, _ = await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                if app in done:
                    break
                if watcher in done:  # the client went away (or the answer is complete: uvicorn says so too)
                    watcher = None
                    if not responded:
                        await _cancel(app)
                        return
                elif not done and not responded:
                    await _cancel(app)
                    message = (
                        f"the service could not answer within {self.request_seconds:.0f} s under the current load: "
                        f"retry after {RETRY_AFTER_SECONDS} s"
                    )
                    await reject(send, 503, message, {"retry-after": str(RETRY_AFTER_SECONDS)})
                    return
            app.result()  # the app's own exception, if any, as before
        finally:
            for task in (app, watcher):  # cancelled ourselves (BentoML's timeout): stop the app's work too
                if task is not None and not task.done():
                    task.cancel()

    def _check_route(self, scope: Scope) -> None:
        path = scope["path"]
        if path not in self.routes and not path.startswith("/static_content/"):
            raise _Rejected(404, f"no such path; this service answers {', '.join(sorted(self.routes))}")
        if path in self.post_only and scope["method"] != "POST":
            raise _Rejected(405, f"{path} takes POST only, not {scope['method']}", {"allow": "POST"})
        if scope["method"] not in _METHODS_WITH_BODY:
            return
        headers = dict(scope["headers"])
        media_type = headers.get(b"content-type", b"").decode("latin-1").split(";")[0].strip().lower()
        if media_type != JSON_TYPE:
            named = f"Content-Type {media_type!r} is" if media_type else "a body without a Content-Type is"
            raise _Rejected(415, f"{named} not accepted: send JSON as application/json")
        encoding = headers.get(b"content-encoding", b"").decode("latin-1").strip().lower()
        if encoding not in ("", "identity"):
            raise _Rejected(
                415,
                f"Content-Encoding {encoding!r} is not accepted: send the JSON uncompressed, without Content-Encoding",
            )

    async def _read_body(self, scope: Scope, receive: Receive, deadline: float) -> bytes:
        """The whole body, or ``_Rejected`` when it is too big, shorter than declared, still arriving at
        ``deadline`` (the event loop's clock), or not UTF-8 JSON text."""
        too_big = f"request body is over {self.max_bytes:,} bytes: send fewer or shorter items per request"
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            raise _Rejected(413, too_big)
        chunks, size, more = [], 0, True
        loop = asyncio.get_running_loop()
        while more:
            left = deadline - loop.time()
            try:
                message = await asyncio.wait_for(receive(), max(min(self.idle_seconds, left), 0))
            except TimeoutError:
                if left < self.idle_seconds:
                    raise _Rejected(
                        408,
                        f"request body still arriving after {self.body_seconds:.0f} s ({size:,} bytes so far): "
                        "send the whole body at once",
                    ) from None
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


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``json.loads``' ``object_pairs_hook``: the object, or ``_Rejected`` when a key comes twice."""
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise _Rejected(400, f"a JSON object in the body has the key {key!r} twice: send each key once")
        seen.add(key)
    return dict(pairs)


def _check_keys(body: bytes) -> None:
    """``_Rejected`` (400) when a JSON object in ``body`` has a key twice; a body that is not valid JSON is left
    to the app, which says what is wrong with it."""
    try:
        json.loads(body, object_pairs_hook=_unique_keys)
    except (ValueError, RecursionError):
        pass


class _Disconnected(Exception):
    """The client went away before its body arrived: there is nobody to answer."""


def _replay(body: bytes, gone: asyncio.Event) -> Receive:
    """A ``receive`` that hands the buffered body over once, then reports a disconnect once ``gone`` is set."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            await gone.wait()
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _until_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    """Return (and set ``gone``) once the server reports that the client disconnected."""
    while (await receive())["type"] != "http.disconnect":
        pass
    gone.set()


async def _cancel(task: asyncio.Future) -> None:
    """Cancel ``task`` and wait until it has stopped."""
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def reject(send: Send, status: int, message: str, extra: dict[str, str] | None = None) -> None:
    """Answer ``{"error": message}`` with ``status`` (and ``extra`` headers)."""
    payload = json.dumps({"error": message}).encode("utf-8")
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
