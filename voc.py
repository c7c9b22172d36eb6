"""The ``voc`` command line: one subcommand per job, each importing only what it needs."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

# Each module adds its subcommands with add_commands(subparsers); heavy imports wait for the command itself.
COMMAND_MODULES: list[str] = ["training.cli", "serving.cli", "evaluation.cli", "research.cli"]

DEMO = [
    "배송이 너무 늦어요. 2주째 기다리는 중입니다",
    "택배가 아직도 안 왔어요 ㅠㅠ",
    "The delivery is two weeks late.",
    "The agent was very kind to me.",
]


def cmd_backbone(args: argparse.Namespace) -> int:
    """Prepare the backbone and show that it understands Korean and English."""
    from models.backbone import DEFAULT_BACKBONE, embed, load_backbone, prepare_default_backbone, text_prefix

    if args.base_model == DEFAULT_BACKBONE:
        started = time.perf_counter()
        path = prepare_default_backbone(force=args.force)
        print(f"backbone ready at {path} ({time.perf_counter() - started:.1f}s)")
    encoder, tokenizer = load_backbone(args.base_model)
    vectors = embed(encoder, tokenizer, DEMO, prefix=text_prefix(args.base_model))
    sims = vectors @ vectors.T
    print("cosine similarity of the demo sentences:")
    for i, text in enumerate(DEMO):
        print("  " + " ".join(f"{s:5.2f}" for s in sims[i]) + f"  {text}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="voc", description="Voice-of-customer classifier: sentiment, themes, escalation."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("backbone", help="prepare the default multilingual backbone offline and print a demo")
    p.add_argument(
        "--base-model",
        default="multilingual-e5-small",
        help="Hugging Face id or local path (default: the offline multilingual-e5-small)",
    )
    p.add_argument("--force", action="store_true", help="rebuild the default backbone even if it exists")
    p.set_defaults(func=cmd_backbone)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_commands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from models.errors import VocError

    try:
        return args.func(args)
    except VocError as e:  # every error a user can fix: one line, no traceback
        print(f"voc {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
