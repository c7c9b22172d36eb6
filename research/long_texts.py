"""How to read texts longer than the model's ``max_length``: windows against truncation, measured.

``python -m research.long_texts --model voc-classifier:latest`` scores each labelled file with the model as it
serves (windows of ``max_length`` tokens, their head logits averaged: ``models.tokens``) and with the
alternatives, each beside it on the same rows with a paired 95% bootstrap interval:

- ``truncated``: one window, the first ``max_length`` tokens (how texts were read before);
- ``weighted``: the same windows, their logits averaged weighted by each window's token count;
- ``long-N``: one pass over the first N tokens (a longer inference length than training).

The mean over windows of the head logits equals the heads applied to the mean of the windows' pooled
embeddings (the heads are linear), so that is not a separate variant. Results: docs/performance.md.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer

from evaluation.metrics import MAIN_METRIC
from evaluation.run import evaluate_files
from models.paths import DATA
from models.predictor import Predictor
from models.store import resolve_model
from models.tokens import TextTokenizer

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


def truncated(predictor: Predictor):
    def read(texts: list[str]) -> dict[str, np.ndarray]:
        with predictor.tokenizer.reading(1):
            return predictor.predict_proba(texts)

    return read


def weighted(predictor: Predictor):
    def read(texts: list[str]) -> dict[str, np.ndarray]:
        from models.text import clean_text

        cleaned = [clean_text(t) for t in texts]
        windows = predictor.tokenizer(cleaned).windows
        flat = predictor.run_encoder([w for text in windows for w in text])
        weights = np.array([len(w) for text in windows for w in text], np.float32)
        owner = np.repeat(np.arange(len(texts)), [len(w) for w in windows])
        encoder = {}
        for name, value in flat.items():
            total = np.zeros((len(texts), value.shape[1]), np.float32)
            np.add.at(total, owner, value * weights[:, None])
            encoder[name] = total / np.bincount(owner, weights)[:, None]
        ngram = predictor.ngram.logits(cleaned, cleaned=True) if predictor.ngram is not None else {}
        return predictor.combine(encoder, ngram)

    return read


def longer(predictor: Predictor, length: int):
    inner = predictor.tokenizer
    own = TextTokenizer(Tokenizer.from_str(inner.tokenizer.to_str()), inner.prefix, length, inner.pad_id, 1)

    def read(texts: list[str]) -> dict[str, np.ndarray]:
        saved, predictor.tokenizer = predictor.tokenizer, own
        try:
            return predictor.predict_proba(texts)
        finally:
            predictor.tokenizer = saved

    return read


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="voc-classifier:latest")
    parser.add_argument("--backend", default=None)
    parser.add_argument("--long", type=int, default=256, help="tokens of the one-pass variant")
    parser.add_argument("--data", type=Path, nargs="*", default=FILES)
    args = parser.parse_args()
    path, tag = resolve_model(args.model)
    predictor = Predictor.load(path, backend=args.backend, tag=tag)
    others = [
        Variant("truncated", predictor, truncated(predictor)),
        Variant("weighted", predictor, weighted(predictor)),
        Variant(f"long-{args.long}", predictor, longer(predictor, args.long)),
    ]
    print(f"{tag} ({predictor.backend}); model = windows, mean of logits. Margin = model - variant [paired 95%]")
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
