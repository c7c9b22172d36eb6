"""``voc train``: parse the config and overrides, then run training."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .config import ConfigError, add_data, add_override_arguments, load_config, settings_help


def cmd_train(args: argparse.Namespace) -> int:
    overrides = list(args.overrides)
    for key, value in vars(args).items():
        if key.startswith("opt_") and value is not None:
            overrides.append(f"{key[4:]}={value}")
    try:
        config = add_data(load_config(args.config, overrides), args.add_data)
    except ConfigError as e:
        print(f"voc train: config error: {e}", file=sys.stderr)
        return 2
    from voc.models.data import DataError

    from .train import main

    try:
        main(config, measure_test_file)
    except ConfigError as e:
        print(f"voc train: config error: {e}", file=sys.stderr)
        return 2
    except DataError as e:
        print(f"voc train: data error: {e}", file=sys.stderr)
        return 2
    return 0


def measure_test_file(predictor, path: Path) -> tuple[dict, str]:
    """A test file's metrics as ``voc evaluate --data FILE`` computes them, and their table: what ``voc train``
    prints and puts in the model card (``voc.training.train.MeasureFile``)."""
    from voc.evaluation import evaluate_files, metrics_table

    metrics = evaluate_files(predictor, [path])
    return metrics, metrics_table(metrics)


def cmd_export(args: argparse.Namespace) -> int:
    """Export the ONNX backends beside a model, gate them on validation and print the gate."""
    from voc.models.artifact import read_meta
    from voc.models.errors import VocError
    from voc.models.gate import VALIDATION_FILES, gate_table
    from voc.models.paths import NO_DATA_HINT
    from voc.models.store import resolve_model

    from .export import export_in_store, export_model

    validation = args.validation or VALIDATION_FILES
    for file in validation:
        if not Path(file).is_file():
            hint = "" if args.validation else f"; {NO_DATA_HINT}, or pass --validation FILE..."
            raise VocError(f"validation file not found: {file}{hint}")
    path, tag = resolve_model(args.model)
    if Path(args.model).is_dir():
        backends, where = export_model(path, validation), str(path)
    else:
        where = export_in_store(tag, path, validation)
        backends = read_meta(resolve_model(where)[0])["backends"]
    print(gate_table(backends["gate"]))
    print(f"default backend: {backends['default']}; written to {where}")
    return 0


def add_commands(sub) -> None:
    p = sub.add_parser(
        "train",
        help="fine-tune the classifier from a config (training/configs/*.yaml)",
        description="Fine-tune, calibrate, save, measure the saved model and register it as voc-classifier.\n"
        "Writes the model directory (output_dir, default artifacts/models/<name>: weights, voc.json, model card)\n"
        "and a new voc-classifier version in the BentoML store.",
        epilog="examples:\n"
        "  voc train --config default                     # CPU, the bundled data\n"
        "  voc train --config default --set epochs=3 --seed 7 --output-dir artifacts/models/try\n"
        "  voc train --config default --add-data my_labels.csv --add-data my_test.csv:test\n\n" + settings_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--config",
        default=None,
        help="a bundled config by name (default, full, commercial: training/configs/) or a YAML file; "
        "settings not given keep their defaults",
    )
    add_override_arguments(p)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser(
        "export",
        help="write the ONNX backends beside a model and gate them on validation",
        description="Export the model to ONNX Runtime graphs (onnx/model.onnx, fused, and onnx/model-int8.onnx), gate\n"
        "every backend on the written and real validation files and record the fastest that passes (no head of any\n"
        "file more than 0.5 point below PyTorch float32) as the default in voc.json;\n"
        "a directory is changed in place, a store tag gets a new version (docs/performance.md).",
        epilog="examples:\n"
        "  voc export --model voc-classifier:latest\n"
        "  voc export --model artifacts/models/default --validation data/voc/validation.jsonl",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--model", required=True, help="model directory (changed in place) or store tag (new version)")
    p.add_argument(
        "--validation",
        type=Path,
        nargs="+",
        default=None,
        metavar="FILE",
        help="labelled JSONL files, each gated on its own (default: data/voc/validation.jsonl and "
        "data/real/*/validation.jsonl)",
    )
    p.set_defaults(func=cmd_export)
