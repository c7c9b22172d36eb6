"""The long checks: a bounded many-client soak, distinct unknown paths against the worker's memory,
kill -9 and SIGTERM of a batch job, and ``voc serve`` with a corrupt model."""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import psutil

from . import Tally
from .cli_cases import count_rows, damage, error_lines, linked_copy
from .http_cases import largest_explain
from .server import REPO, Served, free_port

# The worker's resident memory after a burst of explain requests may stay this far above its fresh size.
RSS_SLACK_MB = 150


def unknown_paths(served: Served, count: int, tally: Tally) -> str:
    """GET ``count`` distinct random paths; every one must be a 404 and the worker must not grow with them."""
    before = served.worker_rss_mb()
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=served.url, timeout=10) as client:
        for _ in range(count):
            status = client.get(f"/{uuid.uuid4().hex}/{uuid.uuid4().hex}").status_code
            statuses[status] = statuses.get(status, 0) + 1
    after = served.worker_rss_mb()
    tally.server_errors += sum(n for s, n in statuses.items() if s >= 500)
    tally.record("http", f"{count} distinct unknown paths", statuses == {404: count}, f"statuses {statuses}")
    return f"unknown paths: {count} GETs, statuses {statuses}, worker RSS {before:.0f} MB -> {after:.0f} MB"


def soak(served: Served, texts: list[str], clients: int, seconds: float, max_requests: int, tally: Tally) -> str:
    """``clients`` threads post one text per request (10 s timeout) for ``seconds`` or ``max_requests`` in all."""
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lock = threading.Lock()
    deadline = time.monotonic() + seconds
    rss_before = served.worker_rss_mb()

    def client(seed: int) -> None:
        rng = random.Random(seed)
        with httpx.Client(base_url=served.url, timeout=10) as http:
            while time.monotonic() < deadline:
                with lock:
                    if sum(statuses.values()) >= max_requests:
                        return
                started = time.monotonic()
                try:
                    status = str(http.post("/classify", json={"items": [{"text": rng.choice(texts)}]}).status_code)
                except httpx.HTTPError as e:
                    status = type(e).__name__
                with lock:
                    statuses[status] = statuses.get(status, 0) + 1
                    if status == "200":
                        latencies.append(time.monotonic() - started)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    rss_after = served.worker_rss_mb()
    failed = {s: n for s, n in statuses.items() if s not in ("200", "503")}
    tally.server_errors += sum(n for s, n in statuses.items() if s.isdigit() and int(s) >= 500 and s != "503")
    tally.record("http", f"soak {clients} clients", not failed, f"statuses {statuses}")
    qs = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [float("nan")] * 99
    return (
        f"soak: {clients} clients x {elapsed:.0f} s: {sum(statuses.values())} requests, statuses {statuses}; "
        f"{len(latencies) / elapsed:.1f} texts/s; p50 {qs[49] * 1000:.0f} ms, p95 {qs[94] * 1000:.0f} ms, "
        f"p99 {qs[98] * 1000:.0f} ms; worker RSS {rss_before:.0f} MB -> {rss_after:.0f} MB"
    )


def explain_burst(served: Served, fresh_mb: float, clients: int, settle: float, tally: Tally) -> str:
    """``clients`` concurrent requests of the largest explain request within the budget: each must get 200 or
    503 (never a 504), and ``settle`` seconds later the worker must be back within ``RSS_SLACK_MB`` of
    ``fresh_mb``, its size before any request."""

    def post(_: int) -> str:
        try:
            with httpx.Client(base_url=served.url, timeout=60) as http:
                return str(http.post("/classify", json=largest_explain()).status_code)
        except httpx.HTTPError as e:
            return type(e).__name__

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        statuses = Counter(pool.map(post, range(clients)))
    seconds, after = time.monotonic() - started, served.worker_rss_mb()
    time.sleep(settle)
    later = served.worker_rss_mb()
    tally.server_errors += sum(n for s, n in statuses.items() if s.isdigit() and int(s) >= 500 and s != "503")
    ok = set(statuses) <= {"200", "503"} and "200" in statuses and (not settle or later - fresh_mb <= RSS_SLACK_MB)
    tally.record("http", f"explain burst of {clients}", ok, f"statuses {dict(statuses)}; RSS {later:.0f} MB")
    return (
        f"explain burst: {clients} x {len(largest_explain()['items'])} longest texts at once: statuses "
        f"{dict(sorted(statuses.items()))} in {seconds:.1f} s; worker RSS fresh {fresh_mb:.0f} MB, "
        f"after {after:.0f} MB, {settle:.0f} s later {later:.0f} MB"
    )


def abandoned_explain(served: Served, tally: Tally, wait: float = 3.0, window: float = 5.0) -> str:
    """Send the largest explain request and hang up after 1 s: ``wait`` s later the worker must be idle (under
    a fifth of a core over ``window`` s), not still computing for nobody."""
    body = json.dumps(largest_explain()).encode()
    host, port = served.url.removeprefix("http://").split(":")
    head = (
        f"POST /classify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    worker = served.worker()
    with socket.create_connection((host, int(port)), timeout=30) as conn:
        conn.sendall(head.encode() + body)
        time.sleep(1.0)
        busy = worker.cpu_percent(interval=0.5)
    time.sleep(wait)
    idle = worker.cpu_percent(interval=window)
    ok = idle < 20
    tally.record("http", "explain abandoned by its client", ok, f"worker at {idle:.0f}% of a core afterwards")
    return (
        f"abandoned explain: worker at {busy:.0f}% of a core while it ran, "
        f"{idle:.0f}% from {wait:.0f} s after the client left"
    )


def _temporaries(out: Path) -> list[Path]:
    return sorted(out.parent.glob(f".{out.name}.*.tmp"))


def _start_and_stop(argv: list[str], out: Path, sig: int, timeout: float = 300) -> tuple[int | None, bool]:
    """Start ``voc argv``, send ``sig`` once it has written part of ``out``: its status and whether it was mid-run."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "voc", *argv], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline, mid_run = time.monotonic() + timeout, False
    while proc.poll() is None and time.monotonic() < deadline:
        # only this process's temporaries (their names carry its pid): a killed run's stale ones do not count
        mine = out.parent.glob(f".{out.name}.{proc.pid}.*.tmp")
        if any(p.stat().st_size > 0 for p in mine if p.exists()):
            mid_run = True
            break
        time.sleep(0.05)
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=60), mid_run
    except subprocess.TimeoutExpired:
        proc.kill()
        return None, mid_run


def killed_batch_job(model: str, work: Path, rows: int, tally: Tally) -> str:
    """kill -9 a scoring job mid-run, SIGTERM the next, then run it to the end: no file at OUT until the end,
    no temporary left, every row in the output."""
    d = work / "killed"
    d.mkdir(parents=True, exist_ok=True)
    src, out = d / "in.csv", d / "out.csv"
    texts = ["배송이 너무 늦어요", "The agent was kind", "환불 refund please", "ok"]
    src.write_text("id,review\n" + "".join(f"{i:07d},{texts[i % 4]} {i}\n" for i in range(rows)), encoding="utf-8")
    argv = ["score", str(src), "--text-column", "review", "--id-column", "id", "--output", str(out), "--model", model]
    rc9, mid9 = _start_and_stop(argv, out, signal.SIGKILL)
    left9 = len(_temporaries(out))
    rc15, mid15 = _start_and_stop(argv, out, signal.SIGTERM)
    left15 = len(_temporaries(out))
    done = subprocess.run([sys.executable, "-m", "voc", *argv], cwd=REPO, capture_output=True, text=True, timeout=3600)
    written = count_rows(out)
    tally.rows_lost += max(rows - written, 0)
    tally.crashes += rc15 not in (130,) or done.returncode != 0
    ok = mid9 and mid15 and left15 == 0 and not _temporaries(out) and written == rows and done.returncode == 0
    tally.record("batch", "kill -9, SIGTERM, rerun", ok, f"{rc9=} {rc15=} {left9=} {left15=} {written=}")
    return (
        f"killed batch job: kill -9 mid-run (status {rc9}) left {left9} temporaries and no {out.name}; "
        f"SIGTERM mid-run (status {rc15}) removed them and left {left15}; the rerun wrote {written:,} of {rows:,} rows"
    )


def big_rows_memory(model: str, work: Path, rows: int, row_bytes: int, tally: Tally, limit_mb: float = 2000) -> str:
    """``voc score`` on ``rows`` JSONL rows of ``row_bytes`` each (an attachment column): its peak resident
    memory must stay under ``limit_mb`` (chunks are bounded by bytes, not rows) and every row must come back."""
    d = work / "big-rows"
    d.mkdir(parents=True, exist_ok=True)
    src, out = d / "in.jsonl", d / "out.jsonl"
    with open(src, "w", encoding="utf-8") as f:
        for i in range(rows):
            f.write(json.dumps({"id": i, "review": "배송이 늦어요", "attachment": chr(65 + i % 26) * row_bytes}) + "\n")
    argv = ["score", str(src), "--text-column", "review", "--output", str(out), "--model", model]
    proc = subprocess.Popen([sys.executable, "-m", "voc", *argv], cwd=REPO, stderr=subprocess.PIPE, text=True)
    peak = 0.0
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        with contextlib.suppress(psutil.Error):
            peak = max(peak, watched.memory_info().rss / 1e6)
        time.sleep(0.1)
    err = proc.stderr.read() if proc.stderr else ""
    written = count_rows(out)
    tally.rows_lost += max(rows - written, 0)
    tally.crashes += "Traceback" in err
    ok = proc.returncode == 0 and written == rows and peak <= limit_mb
    tally.record("batch", f"{rows} rows of {row_bytes:,} bytes", ok, f"status {proc.returncode}, peak {peak:.0f} MB")
    src.unlink()
    out.unlink(missing_ok=True)
    return (
        f"big rows: {rows:,} JSONL rows of {row_bytes / 1e6:.1f} MB: status {proc.returncode}, peak RSS {peak:.0f} MB"
    )


def corrupt_model_serve(model_dir: Path, work: Path, tally: Tally) -> str:
    """``voc serve`` with a truncated heads.safetensors must exit at once, non-zero, with one error line."""
    broken = linked_copy(model_dir, work / "corrupt-serve")
    damage(broken / "heads.safetensors", (model_dir / "heads.safetensors").read_bytes()[:100])
    cmd = [sys.executable, "-m", "voc", "serve", "--model", str(broken), "--port", str(free_port())]
    started = time.monotonic()
    try:
        done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=180, env=os.environ.copy())
    except subprocess.TimeoutExpired:
        tally.crashes += 1
        tally.record("model", "voc serve with a corrupt model", False, "still running after 180 s")
        return "corrupt model: voc serve still running after 180 s"
    seconds = time.monotonic() - started
    lines = error_lines(done.stderr)
    ok = done.returncode == 2 and len(lines) == 1 and "heads.safetensors" in lines[0] and "Traceback" not in done.stderr
    tally.record("model", "voc serve with a corrupt model", ok, f"status {done.returncode}, {lines}")
    return f"corrupt model: voc serve exited {done.returncode} after {seconds:.1f} s: {lines[0] if lines else '?'}"
