"""Load test for a running service (not a test suite): N concurrent clients for T seconds, one text per request.

    python -m voc.tools.loadtest http://127.0.0.1:3000 --clients 16 --seconds 30 [--texts file.jsonl]

Each client sends ``{"items": [{"text": ...}]}`` in a loop; the run stops after ``--seconds`` (every request
has a timeout), then prints throughput (texts/s), p50/p95/p99 latency and the error count.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
from pathlib import Path

import httpx
import numpy as np

SAMPLE_TEXTS = [
    "배송이 2주째 안 와요. 환불해 주세요",
    "상담원분이 끝까지 친절하게 들어주셨어요",
    "The agent hung up on me twice, I'm cancelling my subscription.",
    "Shipped next day, great service!",
    "앱에서 결제가 두 번 됐는데 charged twice, 확인 부탁드립니다",
    "언제 발송되나요?",
]


def load_texts(path: Path | None, field: str) -> list[str]:
    """Texts from a JSONL file's ``field`` (the bundled samples when no file is given)."""
    if path is None:
        return SAMPLE_TEXTS
    with open(path, encoding="utf-8") as f:
        return [t for line in f if line.strip() and (t := json.loads(line).get(field))]


async def client(http: httpx.AsyncClient, url: str, texts, stop_at: float, latencies: list, errors: list) -> None:
    """One client: send requests back to back until ``stop_at``."""
    while time.perf_counter() < stop_at:
        started = time.perf_counter()
        try:
            resp = await http.post(url, json={"items": [{"text": next(texts)}]})
            ok = resp.status_code == 200
        except httpx.HTTPError:
            ok = False
        (latencies if ok else errors).append(time.perf_counter() - started)


async def run(base_url: str, clients: int, seconds: float, texts: list[str], timeout: float) -> dict:
    """Drive the load and return its figures."""
    url = base_url.rstrip("/") + "/classify"
    latencies: list[float] = []
    errors: list[float] = []
    cycle = itertools.cycle(texts)
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as http:
        await http.post(url, json={"items": [{"text": texts[0]}]})  # warm-up, not counted
        started = time.perf_counter()
        stop_at = started + seconds
        await asyncio.gather(*(client(http, url, cycle, stop_at, latencies, errors) for _ in range(clients)))
        elapsed = time.perf_counter() - started
    ms = np.array(latencies) * 1000 if latencies else np.array([np.nan])
    return {
        "clients": clients,
        "seconds": round(elapsed, 1),
        "requests": len(latencies),
        "texts_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "errors": len(errors),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="base URL of the service, e.g. http://127.0.0.1:3000")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--timeout", type=float, default=10.0, help="per-request timeout in seconds")
    parser.add_argument("--texts", type=Path, help="JSONL file of texts (default: built-in samples)")
    parser.add_argument("--field", default="text", help="JSONL field holding the text")
    args = parser.parse_args(argv)
    result = asyncio.run(run(args.url, args.clients, args.seconds, load_texts(args.texts, args.field), args.timeout))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
