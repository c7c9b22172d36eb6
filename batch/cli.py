"""``voc score``: the batch scorer over CSV, .xlsx, JSONL and Parquet exports, locally or on Ray."""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path
from typing import NoReturn

from voc.models.backends import add_backend_argument
from voc.models.store import DEFAULT_MODEL


def add_commands(subparsers: argparse._SubParsersAction) -> None:
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


def _interrupt(signum: int, frame: object) -> NoReturn:
    """SIGTERM handler: unwind like Ctrl-C, so that the temporary output files are removed."""
    raise KeyboardInterrupt


def cmd_score(args: argparse.Namespace) -> int:
    """Score the input file(s); errors that concern the whole input (VocError) end the run with a message and
    no output; Ctrl-C and SIGTERM leave nothing behind either, on either engine."""
    from .score import ScoreError

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

    from .dates import DateOptions
    from .score import check_input, check_output, file_format, score_file

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


def cmd_score_ray(args: argparse.Namespace) -> int:
    """``voc score --engine ray`` (its options checked by ``cmd_score``): score the shards and print
    one line (rows, errors, truncated rows, unreadable dates, rows/s, workers) after any warnings."""
    from .distributed import score_sharded

    report = score_sharded(
        args.input,
        args.output,
        args.text_column,
        args.model,
        args.id_column,
        args.batch_size,
        args.encoding,
        args.address,
        args.workers,
        backend=args.backend,
        date_column=args.date_column,
        group_column=args.group_by,
        bom=args.bom,
    )
    print_warnings(report)
    print(
        f"{report.rows:,} rows ({report.summary.outcome()}) from {report.shards:,} shards in "
        f"{report.seconds:.1f}s ({report.rows_per_second:,.0f} rows/s, {report.workers} workers, "
        f"{report.rows_per_cpu_second:,.1f} rows per worker CPU-second) -> {report.output}; "
        f"summary: {', '.join(map(str, report.summaries))}"
    )
    return 0
