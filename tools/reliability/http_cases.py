"""Bad HTTP requests against a running service, each with the status it must get (never a 5xx)."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Callable

import httpx

from voc.models.evidence import MAX_UNITS
from voc.serving.contract import MAX_BODY_BYTES, MAX_ID_CHARS, MAX_ITEMS, MAX_TEXT_CHARS
from voc.serving.explain_budget import MAX_EXPLAIN_PASSES
from voc.serving.reading_budget import MAX_REQUEST_TOKENS, TEXT_TOKENS

from . import Tally

JSON = {"content-type": "application/json"}
EMOJI = "\U0001f600"
# A text at the character limit with far more words than evidence's unit cap: the costliest text to explain.
LONGEST = ("환불 " * (MAX_TEXT_CHARS // 3))[: MAX_TEXT_CHARS - 1] + "."
# Written into a path: a log that does not escape it shows a line of its own that starts with this.
FORGED = "[CRITICAL] voc.service: forged"
MAX_LOG_LINE = 4096


def _post(body: bytes, headers: dict[str, str] | None = None) -> Callable[[httpx.Client], httpx.Response]:
    return lambda client: client.post("/classify", content=body, headers=headers or JSON)


def _items(*items: dict) -> Callable[[httpx.Client], httpx.Response]:
    return _post(json.dumps({"items": list(items)}).encode())


def _chunked_over_cap(client: httpx.Client) -> httpx.Response:
    def chunks():
        yield b'{"items": [{"text": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"x" * 65536
        yield b'"}]}'

    return client.post("/classify", content=chunks(), headers=JSON)


def _worst_case(client: httpx.Client) -> httpx.Response:
    """Every limit at its maximum at once: 64 items with the longest ids, as many longest texts as the reading
    budget admits whatever the tokenizer (each costs at most ``TEXT_TOKENS``), all of it escaped in JSON."""
    longest = MAX_REQUEST_TOKENS // TEXT_TOKENS
    items = [
        {"id": EMOJI * MAX_ID_CHARS, "text": EMOJI * MAX_TEXT_CHARS if i < longest else EMOJI} for i in range(MAX_ITEMS)
    ]
    return client.post("/classify", content=json.dumps({"items": items}, indent=2).encode(), headers=JSON)


def largest_explain(n: int = MAX_EXPLAIN_PASSES // (MAX_UNITS + 1)) -> dict:
    """The largest request within the explain budget: ``n`` texts of the costliest kind."""
    return {"items": [{"id": f"L-{i}", "text": LONGEST} for i in range(n)], "explain": True}


# (name, request, expected status)
CASES: list[tuple[str, Callable[[httpx.Client], httpx.Response], int]] = [
    ("empty text", _items({"text": ""}), 400),
    ("whitespace text", _items({"text": " \n\t "}), 400),
    ("zero-width characters only", _items({"text": "\u200b\u200c\u200d\ufeff"}), 400),
    ("U+202E only", _items({"text": "\u202e"}), 400),
    ("NUL only", _items({"text": "\x00\x00"}), 400),
    ("lone surrogate", _post(b'{"items": [{"text": "ok \\ud800"}]}'), 400),
    ("lone surrogate in the id", _post(b'{"items": [{"id": "\\udc00", "text": "ok"}]}'), 400),
    ("text over the limit", _items({"text": "x" * (MAX_TEXT_CHARS + 1)}), 400),
    ("no items", _items(), 400),
    ("too many items", _items(*[{"text": "ok"}] * (MAX_ITEMS + 1)), 400),
    ("unknown item field", _items({"text": "ok", "lang": "ko"}), 400),
    ("unknown top field", _post(b'{"items": [{"text": "ok"}], "debug": true}'), 400),
    ("no items key", _post(b'{"texts": ["ok"]}'), 400),
    ("body is a list", _post(b'[{"text": "ok"}]'), 400),
    ("items is a string", _post(b'{"items": "ok"}'), 400),
    ("text is a number", _items({"text": 42}), 400),
    ("text is null", _items({"text": None}), 400),
    ("text is NaN", _post(b'{"items": [{"text": NaN}]}'), 400),
    ("id is a number", _items({"id": 7, "text": "ok"}), 400),
    ("id is a huge number", _post(b'{"items": [{"id": 123456789012345678901234567890, "text": "ok"}]}'), 400),
    ("id over the limit", _items({"id": "x" * (MAX_ID_CHARS + 1), "text": "ok"}), 400),
    ("invalid JSON", _post(b'{"items": ['), 400),
    ("empty body", _post(b""), 400),
    ("JSON null", _post(b"null"), 400),
    ("deeply nested JSON", _post(b'{"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"), 400),
    ("body not UTF-8", _post(b'{"items": [{"text": "\xff\xfe bad"}]}'), 400),
    ("UTF-8 byte-order mark", _post(b'\xef\xbb\xbf{"items": [{"text": "ok"}]}'), 400),
    ("text/plain body", _post(b'{"items": [{"text": "ok"}]}', {"content-type": "text/plain"}), 415),
    ("multipart body", _post(b"--x\r\n\r\nok\r\n--x--", {"content-type": "multipart/form-data; boundary=x"}), 415),
    ("form body", _post(b"text=ok", {"content-type": "application/x-www-form-urlencoded"}), 415),
    ("pickle body", _post(b"\x80\x04N.", {"content-type": "application/vnd.bentoml+pickle"}), 415),
    ("body over the cap", _post(b'{"items": [{"text": "' + b"x" * MAX_BODY_BYTES + b'"}]}'), 413),
    ("chunked body over the cap", _chunked_over_cap, 413),
    ("unknown path", lambda c: c.get(f"/{uuid.uuid4().hex}"), 404),
    ("path traversal", lambda c: c.get("/static_content/../../../etc/passwd"), 404),
    ("POST to an unknown path", lambda c: c.post("/classify/", json={"items": [{"text": "ok"}]}), 404),
    ("GET /classify", lambda c: c.get("/classify"), 405),
    ("DELETE /classify", lambda c: c.delete("/classify"), 405),
    ("worst-case escaped body within the limits", _worst_case, 200),
    ("emoji-only text", _items({"text": EMOJI * 3}), 200),
    ("special-token text", _items({"text": "<s></s><mask><pad>"}), 200),
    ("long text is truncated", _items({"text": "배송 " * 1300}), 200),
    ("explain over the budget", _post(json.dumps(largest_explain(MAX_ITEMS)).encode()), 413),
    ("largest explain within the budget", _post(json.dumps(largest_explain()).encode()), 200),
    (
        "explain of 64 short items over the budget",
        _post(json.dumps({"items": [{"text": "배송이 늦어요 환불 해주세요"}] * MAX_ITEMS, "explain": True}).encode()),
        413,
    ),
    ("newline in the path (log forging)", lambda c: c.get("/x%0A" + FORGED.replace(" ", "%20")), 404),
    ("CR LF in the path (log forging)", lambda c: c.get("/x%0D%0A" + FORGED.replace(" ", "%20")), 404),
]


def _raw(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=60)


def trickled_body(url: str, gap: float = 4.0) -> int:
    """Send a body one byte every ``gap`` seconds (under the 5 s idle cut-off): the status that comes back."""
    body = json.dumps({"items": [{"text": "ok"}]}).encode()
    head = (
        f"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    with _raw(url) as conn:
        conn.sendall(head.encode())
        conn.setblocking(False)
        for byte in body:
            try:
                answer = conn.recv(64)
            except BlockingIOError:
                conn.sendall(bytes([byte]))
                time.sleep(gap)
                continue
            return int(answer.split(b" ")[1]) if answer else 0
        conn.setblocking(True)
        return int(conn.recv(64).split(b" ")[1])


def long_path(url: str, size: int = 100_000) -> int:
    """GET a path of ``size`` characters (httpx refuses URLs over 64 KB): the status that comes back."""
    with _raw(url) as conn:
        conn.sendall(f"GET /{'a' * size} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        answer = conn.recv(64)
    return int(answer.split(b" ")[1]) if answer else 0


def short_body(url: str) -> int:
    """Send a Content-Length of 1,000 and 11 bytes, keep the connection open: the status that comes back."""
    host, port = url.removeprefix("http://").split(":")
    head = b"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head + b'{"items": [')
        return int(conn.recv(64).split(b" ")[1])


def run_http_cases(url: str, tally: Tally) -> None:
    """Send every case (and a body that ends short) and count the answers."""
    with httpx.Client(base_url=url, timeout=60) as client:
        for name, request, expected in CASES:
            try:
                status = request(client).status_code
            except httpx.HTTPError as e:
                tally.crashes += 1
                tally.record("http", name, False, f"no answer ({type(e).__name__})")
                continue
            tally.server_errors += status >= 500
            tally.record("http", name, status == expected, f"got {status}, expected {expected}")
    for name, status, expected in [
        ("body shorter than its Content-Length", short_body(url), 400),
        ("body trickling in a byte every 4 s", trickled_body(url), 408),
        ("100 KB path", long_path(url), 404),
    ]:
        tally.server_errors += status >= 500
        tally.record("http", name, status == expected, f"got {status}, expected {expected}")


def check_log(log: str, tally: Tally) -> str:
    """Count what the server log must not hold: tracebacks, lines a client forged (they start with the text
    the forging cases put in a path) and lines over ``MAX_LOG_LINE`` characters (a 100 KB path)."""
    lines = log.splitlines()
    tally.crashes += log.count("Traceback")
    tally.forged_lines += sum(line.startswith(FORGED) for line in lines)
    longest = max(map(len, lines), default=0)
    tally.record("http", "server log lines capped", longest <= MAX_LOG_LINE, f"a line of {longest:,} characters")
    errors = sum("[ERROR]" in line for line in lines)
    return (
        f"server log: {log.count('Traceback')} tracebacks, {errors} ERROR lines, {tally.forged_lines} forged lines, "
        f"longest line {longest:,} characters"
    )
