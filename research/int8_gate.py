"""The accuracy gate for int8 recipes of a model's fused float32 graph (docs/performance.md).

``python -m voc.research.int8_gate --model voc-classifier:latest --work /tmp/int8 [--recipes dyn dyn-pc-rr static]``
builds each recipe from ``onnx/model.onnx`` into ``--work`` (the model directory is only read) and gates it
on the written and real validation files (``voc.models.gate``) against the float32 graph, which scores as
``torch`` does (agreement 1.000 in every export's gate).
"""

from __future__ import annotations

import argparse
import json
import random
from functools import partial
from pathlib import Path

from voc.models import onnx_export
from voc.models.backends import OrtEncoder
from voc.models.gate import VALIDATION_FILES, gate_table, run_gate
from voc.models.paths import DATA
from voc.models.predictor import Predictor
from voc.models.store import resolve_model
from voc.models.text import clean_text
from voc.models.tokens import pad_batch

# Calibration text for the static recipe: training splits, so that the gate's validation files stay unseen.
CALIBRATION = [DATA / "voc" / "train.jsonl", DATA / "real" / "airline_en" / "train.jsonl"]
CALIBRATION += [DATA / "real" / "shop_reviews_ko" / "train.jsonl"]


def calibration_batches(predictor: Predictor, n: int = 512, size: int = 16) -> list:
    """``n`` random training texts read in windows, sorted by length, in padded batches of ``size``."""
    texts = [json.loads(line)["text"] for file in CALIBRATION for line in open(file, encoding="utf-8")]
    random.Random(1).shuffle(texts)
    windows = predictor.tokenizer([clean_text(t) for t in texts[:n]]).windows
    ordered = sorted((w for text in windows for w in text), key=len)
    return [pad_batch(ordered[i : i + size], predictor.tokenizer.pad_id) for i in range(0, len(ordered), size)]


def build(recipe: str, fp32: Path, out: Path, predictor: Predictor) -> None:
    if recipe == "dyn":
        onnx_export.quantise(fp32, out)
    elif recipe == "dyn-pc-rr":
        onnx_export.quantise(fp32, out, per_channel=True, reduce_range=True)
    elif recipe == "static":
        onnx_export.quantise_static(fp32, out, calibration_batches(predictor))
    else:
        raise SystemExit(f"unknown recipe {recipe!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="voc-classifier:latest")
    parser.add_argument("--work", type=Path, required=True, help="folder for the int8 graphs and gate.json")
    parser.add_argument("--recipes", nargs="+", default=["dyn", "dyn-pc-rr", "static"])
    args = parser.parse_args()
    path, _ = resolve_model(args.model)
    args.work.mkdir(parents=True, exist_ok=True)
    base = Predictor.open(path, "onnx")

    def with_graph(name: str, file: Path) -> Predictor:
        return Predictor(OrtEncoder(file, base.schema, name), base.tokenizer, base.meta, ngram=base.ngram)

    files = {}
    for recipe in args.recipes:
        files[recipe] = args.work / f"{recipe}.onnx"
        if not files[recipe].exists():
            build(recipe, path / "onnx" / "model.onnx", files[recipe], base)
    loaders = {"torch": lambda: base, **{r: partial(with_graph, r, f) for r, f in files.items()}}
    gate = run_gate(loaders, list(VALIDATION_FILES))
    print(gate_table(gate))
    (args.work / "gate.json").write_text(json.dumps(gate, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
