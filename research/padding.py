"""Forward passes and padded tokens of ``length_batches`` against one padded pass per call, on the bundled test
texts read in windows: ``python -m voc.research.padding --model DIR|TAG [--call 32]`` (no encoder runs)."""

from __future__ import annotations

import argparse
import math
import random

from voc.models.predictor import length_batches
from voc.models.samples import MIXED_FILES, read_texts
from voc.models.store import resolve_model
from voc.models.text import clean_text
from voc.models.tokens import TextTokenizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="voc-classifier:latest")
    parser.add_argument("--call", type=int, default=32, help="texts per predictor call (and windows per pass)")
    args = parser.parse_args()
    path, _ = resolve_model(args.model)
    from voc.models.artifact import read_meta

    meta = read_meta(path)
    tokenizer = TextTokenizer.from_dir(path / "encoder", meta.get("text_prefix", ""), int(meta["max_length"]))
    texts = [t for f in MIXED_FILES for t in read_texts(f, 10**9)]
    random.Random(13).shuffle(texts)
    calls = [texts[i : i + args.call] for i in range(0, len(texts), args.call)]
    lengths = [sorted(len(w) for t in tokenizer([clean_text(x) for x in c]).windows for w in t) for c in calls]
    real = sum(map(sum, lengths))
    print(f"{len(texts)} texts, {real:,} tokens read in windows, calls of {args.call}")
    for cost in (math.inf, 16, 0):
        runs = [(ls, length_batches(ls, args.call, cost)) for ls in lengths]
        padded = sum((b - a) * ls[b - 1] for ls, r in runs for a, b in r)
        print(
            f"pass cost {cost}: {sum(len(r) for _, r in runs)} passes, {padded:,} padded tokens ({padded / real:.2f}x)"
        )


if __name__ == "__main__":
    main()
