"""``voc suggest``, ``voc audit`` and ``voc models``: the researcher's loop (docs/researcher.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from voc.models.backbone import DEFAULT_BACKBONE
from voc.models.store import DEFAULT_MODEL


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "suggest",
        help="the unlabelled rows to label next (uncertain and diverse)",
        description="Pick the --n rows of an unlabelled export the model is least sure about, one per cluster of\n"
        "similar rows, and write them to OUTPUT ready to label: an empty column per task beside the model's\n"
        "guesses and the reason; then train with --add-data OUTPUT (docs/researcher.md).",
        epilog="examples:\n"
        "  voc suggest data/examples/reviews.csv --text-column review --id-column review_id --n 20 \\\n"
        "      --output to_label.csv\n"
        "  voc suggest export.csv --text-column review --n 200 --output to_label.jsonl\n"
        "  voc train --config default --add-data to_label.jsonl      # once the labels are filled in",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("input", type=Path, help="unlabelled export: .csv, .jsonl or .parquet")
    p.add_argument("--text-column", required=True, help="column holding the feedback text")
    p.add_argument("--id-column", help="column identifying rows (default: the row number)")
    p.add_argument("--n", type=int, default=200, help="rows to pick (default: %(default)s)")
    p.add_argument("--output", required=True, type=Path, help="file to label: .jsonl, .csv or .parquet")
    p.add_argument("--model", default=DEFAULT_MODEL, help="store tag or model directory (default: %(default)s)")
    p.add_argument("--encoding", default="utf-8", help="text encoding of CSV/JSONL input (default: utf-8)")
    p.add_argument("--seed", type=int, default=13, help="k-means seed (default: %(default)s)")
    p.set_defaults(func=cmd_suggest)

    p = subparsers.add_parser(
        "audit",
        help="labelled rows whose label is most likely wrong, per head (cleanlab)",
        description="Flag the labelled rows whose label is most likely wrong (out-of-fold probabilities and\n"
        "cleanlab's confident learning, per head): every flagged row to --output, and the counts and the top\n"
        "rows per head to OUTPUT.md beside it. Nothing is changed (docs/researcher.md).",
        epilog="examples:\n"
        "  voc audit data/voc/train.jsonl data/voc/validation.jsonl --output reports/audit.jsonl\n"
        "  voc audit my_labels.csv --folds 3 --top 20 --no-ngrams --output audit.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("data", nargs="+", type=Path, help="labelled files (.jsonl, .csv, .parquet)")
    p.add_argument(
        "--output",
        type=Path,
        default=Path("audit.jsonl"),
        help="all flagged rows: .jsonl or .csv (default: %(default)s)",
    )
    p.add_argument("--labels", type=Path, help="label schema (default: data/labels.yaml)")
    p.add_argument("--folds", type=int, default=5, help="cross-validation folds (default: %(default)s)")
    p.add_argument("--top", type=int, default=40, help="rows per head in the Markdown (default: %(default)s)")
    p.add_argument(
        "--ngrams",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="average in the char/word TF-IDF baseline (default: on)",
    )
    p.add_argument(
        "--backbone",
        default=DEFAULT_BACKBONE,
        help="frozen encoder whose embeddings the cheap model reads: a Hugging Face id or a local path "
        "(default: %(default)s, built by `voc backbone`)",
    )
    p.set_defaults(func=cmd_audit)

    p = subparsers.add_parser(
        "models",
        help="the store's voc-classifier versions, newest first",
        description="List the BentoML store's voc-classifier versions, newest first: tag, time, config, seed, data\n"
        "hash, training rows and test metrics; --diff A B shows what changed between two. Writes no file.",
        epilog="examples:\n"
        "  voc models\n"
        "  voc models --diff artifacts/models/try artifacts/models/default   # or store versions, tags",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--diff", nargs=2, metavar=("A", "B"), help="config, data, labels and metrics from A to B")
    p.set_defaults(func=cmd_models)


def cmd_suggest(args: argparse.Namespace) -> int:
    from transformers.utils import logging as hf_logging

    from voc.models.errors import VocError
    from voc.models.predictor import Predictor
    from voc.models.store import resolve_model

    from .suggest import read_pool, suggest, write_suggestions

    if args.n < 1:
        raise VocError("--n must be at least 1")
    try:
        path, tag = resolve_model(args.model)
    except FileNotFoundError as e:
        raise VocError(str(e)) from None
    pool = read_pool(args.input, args.text_column, args.id_column, args.encoding)  # a bad input fails first
    hf_logging.disable_progress_bar()  # no "Loading weights" bar
    # Suggest needs the encoder's embeddings, which only the PyTorch module gives (Predictor.torch_model):
    # load that backend alone rather than an ONNX one and then PyTorch as well.
    predictor = Predictor.load(path, backend="torch", tag=tag)
    frame = suggest(predictor, pool, args.n, args.seed)
    write_suggestions(frame, args.output, predictor)
    multi = [t.name for t in predictor.schema.tasks if t.multi]
    none = f" ([] for no {'/'.join(multi)}: an empty cell means not labelled)" if multi else ""
    print(
        f"{len(frame)} of {len(pool.texts):,} rows picked ({pool.skipped:,} without a usable text) -> {args.output}; "
        f"fill in {', '.join(predictor.schema.names)}{none}, drop rows you skip, "
        f"then `voc train --add-data {args.output}`"
    )
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from voc.models.schema import DEFAULT_LABELS, LabelSchema

    from .audit import audit, write_audit

    schema = LabelSchema.load(args.labels or DEFAULT_LABELS)
    issues, audited = audit(args.data, schema, folds=args.folds, ngrams=args.ngrams, backbone=args.backbone)
    md = write_audit(issues, audited, args.output, args.top)
    counts = ", ".join(f"{h} {sum(i.head == h for i in issues)}/{n}" for h, n in audited.items())
    print(f"flagged (per head, of rows audited): {counts} -> {args.output}; summary: {md}")
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from .history import diff, load_version, store_versions, versions_table

    if args.diff:
        print(diff(*(load_version(ref) for ref in args.diff)))
        return 0
    versions = store_versions()
    print(
        versions_table(versions) if versions else "no voc-classifier in the BentoML store; train one with `voc train`"
    )
    return 0
