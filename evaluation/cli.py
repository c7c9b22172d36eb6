"""``voc evaluate`` and ``voc benchmark``; heavy imports happen inside the commands."""

from __future__ import annotations

import argparse

from voc.models.backends import add_backend_argument
from voc.models.store import DEFAULT_MODEL


def cmd_evaluate(args: argparse.Namespace) -> int:
    """Evaluate a model (and its baselines) on labelled files and write metrics.json and the report."""
    from voc.models.paths import find_file

    from .report import metrics_table, verdict
    from .run import run_evaluation

    first, *others = args.model or [DEFAULT_MODEL]
    metrics = run_evaluation(
        first,
        [find_file(p) for p in args.data],  # data/... from outside the clone: the checkout's
        args.report,
        baselines=args.baselines,
        train_paths=None if args.train is None else [find_file(p) for p in args.train],
        batch_size=args.batch_size,
        top_errors=args.top_errors,
        compare=others,
        backend=args.backend,
    )
    print(metrics_table(metrics))
    for task, reason in metrics["heads"]["skipped"].items():
        print(f"skipped {task}: {reason}")
    for task, per in metrics["comparison"].items():
        for name, c in per.items():
            low, high = c["margin_ci"]
            margin = f"{100 * c['margin']:+.1f} points [{100 * low:+.1f}, {100 * high:+.1f}]"
            print(f"{task}: model vs {name}: {margin} ({verdict(c)})")
    print(f"report: {args.report}/report.md (and report.html, metrics.json)")
    return 0


def cmd_benchmark(args: argparse.Namespace) -> int:
    """Evaluate the public benchmarks and print the results beside the published figures."""
    from .benchmarks import benchmarks_table, run_benchmarks

    results = run_benchmarks(args.model, args.report, names=args.only, baselines=args.baselines, backend=args.backend)
    print(benchmarks_table(results))
    print(f"reports: {args.report}/<benchmark>/report.md; summary: {args.report}/benchmarks.md")
    return 0


def add_commands(subparsers) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="metrics, baselines and a report (Markdown + HTML) on labelled files",
        description="Score labelled files with a model (and the baselines), print each head's metrics with 95%\n"
        "intervals and write metrics.json, report.md, report.html and the figures to --report DIR; with several\n"
        "--model, compare them on the same rows (docs/evaluation.md).",
        epilog="examples:\n"
        "  voc evaluate --data data/voc/test.jsonl --report reports/test\n"
        "  voc evaluate --model artifacts/models/default --data my_test.csv --no-baselines --report reports/mine\n"
        "  voc evaluate --model voc-classifier:latest --model voc-classifier:<older> --data data/voc/test.jsonl \\\n"
        "      --report reports/ab",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--model",
        action="append",
        help=f"store tag or model directory (default {DEFAULT_MODEL}); give it twice or more to compare models "
        "on the same rows, with paired 95%% intervals on each difference from the first",
    )
    p.add_argument("--data", nargs="+", required=True, metavar="FILE", help="labelled files: .jsonl, .csv or .parquet")
    p.add_argument("--report", required=True, metavar="DIR", help="where metrics.json, report.md/.html and PNGs go")
    p.add_argument(
        "--baselines",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also score majority-class, TF-IDF and zero-shot baselines (default: on)",
    )
    p.add_argument(
        "--train",
        nargs="+",
        metavar="FILE",
        help="training files for the baselines "
        "(default: data/voc/train.jsonl and, for a file of a public set, that set's train split)",
    )
    p.add_argument("--batch-size", type=int, default=32, help="texts per forward pass")
    p.add_argument("--top-errors", type=int, default=10, help="worst errors listed per head")
    add_backend_argument(p)
    p.set_defaults(func=cmd_evaluate)

    b = subparsers.add_parser(
        "benchmark",
        help="NSMC and airline-tweet sentiment beside published results",
        description="Evaluate a model on the public benchmarks (NSMC, airline tweets) and the real-text tests, print\n"
        "the results beside the published figures and write DIR/<benchmark>/report.md and DIR/benchmarks.md.",
        epilog="examples:\n"
        "  voc benchmark --report reports/benchmarks\n"
        "  voc benchmark --model voc-classifier:latest --only airline real_en real_ko --no-baselines",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("--model", default=DEFAULT_MODEL, help=f"store tag or model directory (default {DEFAULT_MODEL})")
    b.add_argument("--report", default="reports/benchmarks", metavar="DIR", help="output folder (default %(default)s)")
    b.add_argument(
        "--only", nargs="+", metavar="NAME", help="run only these benchmarks (nsmc, airline, real_en, real_ko)"
    )
    b.add_argument("--baselines", action=argparse.BooleanOptionalAction, default=True, help="also score the baselines")
    add_backend_argument(b)
    b.set_defaults(func=cmd_benchmark)
