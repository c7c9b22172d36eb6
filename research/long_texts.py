"""How to read texts longer than the model's ``max_length``: the served reading against the alternatives.

``python -m voc.research.long_texts --model voc-classifier:latest`` scores each labelled file with the model as it
serves (one pass of up to ``READ_LENGTH`` tokens, then windows of that length: ``voc.models.tokens``) and with
each alternative, beside it on the same rows with a paired 95% bootstrap interval:

- ``truncated``: one window of the first ``max_length`` tokens (how texts were read before);
- ``windows-of-max_length``: overlapping windows of ``max_length`` tokens, their head logits averaged.

The mean over windows of the head logits equals the heads applied to the mean of the windows' pooled
embeddings (the heads are linear), and every window of a text has the same length (so a token-weighted mean
is the plain mean): neither is a separate variant. Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from voc.evaluation.run import evaluate_files
from voc.models.metrics import MAIN_METRIC
from voc.models.paths import DATA
from voc.models.predictor import Predictor
from voc.models.store import resolve_model

FILES = [
    DATA / "real" / "shop_reviews_ko" / "test.jsonl",
    DATA / "real" / "airline_en" / "test.jsonl",
    DATA / "voc" / "test.jsonl",
]


class Variant:
    """The served predictor read another way: what ``evaluate_files`` needs of a baseline."""

    def __init__(self, name: str, predictor: Predictor, read) -> None:
        self.name, self.predictor, self.read = name, predictor, read
        self.schema, self.thresholds, self.meta = predictor.schema, predictor.thresholds, predictor.meta

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]:
        return self.read(texts)


def reading(predictor: Predictor, max_windows: int, window: int):
    def read(texts: list[str]) -> dict[str, np.ndarray]:
        with predictor.tokenizer.reading(max_windows, window):
            return predictor.predict_proba(texts)

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="voc-classifier:latest")
    parser.add_argument("--backend", default=None)
    parser.add_argument("--data", type=Path, nargs="*", default=FILES)
    args = parser.parse_args()
    path, tag = resolve_model(args.model)
    predictor = Predictor.load(path, backend=args.backend, tag=tag)
    others = [
        Variant("truncated", predictor, reading(predictor, 1, predictor.max_length)),
        Variant("windows-of-max_length", predictor, reading(predictor, 8, predictor.max_length)),
    ]
    print(
        f"{tag} ({predictor.backend}); model = up to {predictor.tokenizer.window} tokens a pass, windows beyond. "
        "Margin = model - variant [paired 95%]"
    )
    for file in args.data:
        metrics = evaluate_files(predictor, [file], baselines=others, progress=False)
        print(f"\n{file} ({metrics['rows']} rows)")
        for name in ["model", *(o.name for o in others)]:
            cells = []
            for task, m in metrics["systems"][name].items():
                main = m[MAIN_METRIC[m["type"]]]
                cell = f"{task} {100 * main:.1f}"
                if name != "model":
                    c = metrics["comparison"][task][name]
                    low, high = (100 * v for v in c["margin_ci"])
                    cell += f" (margin {100 * c['margin']:+.1f} [{low:+.1f}, {high:+.1f}])"
                cells.append(cell)
            alert = metrics["alert"].get(name, {})
            if alert:
                cells.append(
                    f"{alert['label']}: recall {100 * alert['recall']:.1f} precision {100 * alert['precision']:.1f}"
                )
            print(f"  {name}: " + "; ".join(cells))


if __name__ == "__main__":
    main()
