"""``voc serve``: the HTTP service on localhost."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NoReturn

from voc.models.backends import add_backend_argument
from voc.models.errors import VocError
from voc.models.paths import PACKAGE_ROOT
from voc.models.store import DEFAULT_MODEL, MODEL_ENV


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve",
        help="run the HTTP service (BentoML) on localhost",
        description="Load and self-check the model, then run the BentoML HTTP service on HOST:PORT:\n"
        "POST /classify scores up to 64 texts a request; / and /docs describe it (docs/http-api.md).\n"
        "It answers until stopped (Ctrl-C) and keeps its Prometheus metrics under $BENTOML_HOME/prometheus/.",
        epilog="examples:\n"
        "  voc serve --port 3000\n"
        "  voc serve --model artifacts/models/default --backend onnx-int8 --workers 2\n"
        "  curl -s localhost:3000/classify -H 'content-type: application/json' \\\n"
        '       -d \'{"items": [{"id": "T-1042", "text": "환불 신청한 지 열흘째인데 아직도 검토중이에요"}]}\'',
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", default=DEFAULT_MODEL, help="store tag or model directory (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--port", type=int, default=3000, help="port (default: %(default)s)")
    p.add_argument("--workers", type=int, default=1, help="worker processes, each with the model (default: 1)")
    add_backend_argument(p)
    p.set_defaults(func=cmd_serve)


def cmd_serve(args: argparse.Namespace) -> NoReturn:
    """Load and self-check the model (a bad one ends here: one line, status 2), then become ``bentoml serve
    voc.serving.service:VocService`` with ``VOC_MODEL`` set and metrics of its own (exec: signals reach it)."""
    from bentoml._internal.configuration.containers import BentoMLContainer

    from voc.models.predictor import Predictor
    from voc.models.store import resolve_model

    from .launch import METRICS_DIR_ENV

    workers = worker_env(args.workers)  # a bad --workers ends here, before the model loads
    path, tag = resolve_model(args.model)
    Predictor.load(path, backend=args.backend, tag=tag)
    metrics_dir = Path(BentoMLContainer.bentoml_home.get()) / "prometheus" / f"voc-{args.host}-{args.port}"
    env = {**os.environ, MODEL_ENV: str(args.model), "BENTOML_DO_NOT_TRACK": "True", **workers}
    env.setdefault(METRICS_DIR_ENV, str(metrics_dir))
    if args.backend:
        env["VOC_BACKEND"] = args.backend
    cmd = [sys.executable, "-m", "voc.serving.launch", "serve", "voc.serving.service:VocService"]
    cmd += ["--host", args.host, "--port", str(args.port), "--working-dir", str(PACKAGE_ROOT)]
    os.execve(sys.executable, cmd, env)


def worker_env(workers: int) -> dict[str, str]:
    """Environment for ``workers`` BentoML worker processes (``services.voc.workers`` overrides the decorator's
    1) sharing the cores: each worker's torch gets cores/workers threads unless ``$VOC_TORCH_THREADS`` is set."""
    if workers < 1:
        raise VocError("--workers must be at least 1")
    overrides = json.loads(os.environ.get("BENTOML_CONFIG_OVERRIDES") or "{}")
    overrides.setdefault("services", {}).setdefault("voc", {})["workers"] = workers
    threads = os.environ.get("VOC_TORCH_THREADS") or str(max(1, (os.cpu_count() or 1) // workers))
    return {"BENTOML_CONFIG_OVERRIDES": json.dumps(overrides), "VOC_TORCH_THREADS": threads}
