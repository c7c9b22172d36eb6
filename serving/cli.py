"""``voc serve`` and ``voc score``: the HTTP service on localhost and the batch scorer."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

DEFAULT_MODEL = os.environ.get("VOC_MODEL", "voc-classifier:latest")
REPO_ROOT = Path(__file__).resolve().parents[1]


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="run the HTTP service (BentoML) on localhost")
    p.add_argument("--model", default=DEFAULT_MODEL, help="store tag or model directory (default: %(default)s)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    p.add_argument("--port", type=int, default=3000, help="port (default: %(default)s)")
    p.set_defaults(func=cmd_serve)

    p = subparsers.add_parser("score", help="score a CSV, JSONL or Parquet export; writes OUT and a summary beside it")
    p.add_argument("input", type=Path, help="input file: .csv, .jsonl or .parquet")
    p.add_argument("--text-column", required=True, help="column holding the feedback text")
    p.add_argument("--output", required=True, type=Path, help="output file: .csv, .jsonl or .parquet")
    p.add_argument("--id-column", help="column identifying rows in the summary (default: row numbers)")
    p.add_argument("--batch-size", type=int, default=32, help="texts per forward pass (default: %(default)s)")
    p.add_argument("--model", default=DEFAULT_MODEL, help="store tag or model directory (default: %(default)s)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of CSV/JSONL input, e.g. cp949 (default: utf-8)")
    p.add_argument("--explain", action="store_true", help="add evidence.<task> columns: the words behind each label")
    p.set_defaults(func=cmd_score)


def cmd_serve(args: argparse.Namespace) -> NoReturn:
    """Become ``bentoml serve serving.service:VocService`` with ``VOC_MODEL`` set (exec: signals reach it)."""
    env = {**os.environ, "VOC_MODEL": str(args.model), "BENTOML_DO_NOT_TRACK": "True"}
    cmd = [sys.executable, "-m", "bentoml", "serve", "serving.service:VocService"]
    cmd += ["--host", args.host, "--port", str(args.port), "--working-dir", str(REPO_ROOT)]
    os.execve(sys.executable, cmd, env)


def cmd_score(args: argparse.Namespace) -> int:
    """Score the input file; errors that concern the whole file end the run with a message and no output."""
    from models.predictor import Predictor
    from models.store import resolve_model

    from .batch import ScoreError, score_file

    if args.batch_size < 1:
        print("voc score: error: --batch-size must be at least 1", file=sys.stderr)
        return 2
    try:
        path, tag = resolve_model(args.model)
        predictor = Predictor.load(path, tag=tag, batch_size=args.batch_size)
        report = score_file(
            predictor,
            args.input,
            args.output,
            args.text_column,
            args.id_column,
            encoding=args.encoding,
            explain=args.explain,
        )
    except (ScoreError, FileNotFoundError, UnicodeDecodeError) as e:
        print(f"voc score: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"voc score: interrupted; nothing written at {args.output}", file=sys.stderr)
        return 130
    print(
        f"{report.rows:,} rows ({report.errors:,} with an error) in {report.seconds:.1f}s "
        f"({report.rows_per_second:,.0f} rows/s) -> {report.output}; summary: {', '.join(map(str, report.summaries))}"
    )
    return 0
