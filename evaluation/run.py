"""From a model and labelled files to the metrics dict (and, with :func:`run_evaluation`, the report).

The metrics dict (also ``metrics.json``) holds everything the report shows, so a report can be
rebuilt from it alone:

``model``, ``data`` (files and rows), ``heads`` (evaluated with row counts, skipped with reasons),
``systems`` (``model`` and each baseline -> head -> :mod:`voc.models.metrics` dict), ``comparison``
(head -> baseline -> the model's margin on the head's main metric), ``alert`` (precision/recall per
system of the model's alert label, e.g. escalation = high), ``by_language``, ``worst_errors`` (the
model's), ``baselines`` (training source and what was skipped), ``throughput``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from voc.models.artifact import alert_of
from voc.models.atomic import write_text
from voc.models.data import DataError, iter_labelled
from voc.models.metrics import MAIN_METRIC, headline, multi_label_metrics, single_label_metrics
from voc.models.paths import DATA

from .baselines import Scorer
from .bootstrap import HeadStats, intervals
from .collect import LANGUAGES, Collected, EvaluationError, Head, collect, head_thresholds, make_heads

VOC_TRAIN = DATA / "voc" / "train.jsonl"
PUBLIC_DATA = DATA / "public"
REAL_DATA = DATA / "real"


def head_metrics(head: Head, gold: np.ndarray, probs: np.ndarray, thresholds: np.ndarray) -> dict:
    if head.task.multi:
        return multi_label_metrics(gold, probs, thresholds, head.labels)
    return single_label_metrics(gold, probs, head.labels, thresholds)


def _alert(systems: dict[str, dict], alert: tuple[str, str] | None) -> dict:
    """Precision and recall of the decision that routes feedback to a senior human (the model's ``alert``,
    e.g. escalation = high), per system."""
    if alert is None:
        return {}
    task, label = alert
    return {
        name: {"task": task, "label": label, **per_head[task]["per_label"][label]}
        for name, per_head in systems.items()
        if task in per_head and label in per_head[task]["per_label"]
    }


def _comparison(systems: dict[str, dict], paired: dict[str, dict[str, list[float]]]) -> dict:
    """Per head and other system: the model's main metric, the other's, the margin and its paired 95% interval."""
    out: dict = {}
    for task, model in systems["model"].items():
        metric = MAIN_METRIC[model["type"]]
        for name, per_head in systems.items():
            if name != "model" and task in per_head:
                base = per_head[task][metric]
                out.setdefault(task, {})[name] = {
                    "metric": metric,
                    "model": model[metric],
                    "baseline": base,
                    "margin": model[metric] - base,
                    "margin_ci": paired.get(task, {}).get(name),
                    "beats": model[metric] > base,
                }
    return out


def summarise(collected: Collected, scorers: dict[str, Scorer]) -> dict:
    """Turn the streamed numbers into the metrics dict (see the module docstring)."""
    evaluated = {task: len(gold) for task, gold in collected.gold.items()}
    skipped = {
        h.task.name: f"no row in the data is labelled for '{h.task.name}'"
        for h in collected.heads
        if h.task.name not in evaluated
    }
    systems: dict[str, dict] = {name: {} for name in scorers}
    by_language: dict[str, dict] = {}
    paired: dict[str, dict[str, list[float]]] = {}
    for head in collected.heads:
        task = head.task.name
        if task not in evaluated:
            continue
        gold, lang = collected.gold[task], collected.lang[task]
        stats: dict[str, HeadStats] = {}
        for name, scorer in scorers.items():
            probs = collected.probs[name].get(task)
            if probs is None:
                continue
            thresholds = head_thresholds(scorer, head)
            systems[name][task] = head_metrics(head, gold, probs, thresholds)
            stats[name] = HeadStats(head.task.multi, gold, probs, thresholds)
            for code, language in enumerate(LANGUAGES):
                mask = lang == code
                if mask.any():
                    subset = head_metrics(head, gold[mask], probs[mask], thresholds)
                    by_language.setdefault(task, {}).setdefault(language, {})[name] = headline(subset)
        main = MAIN_METRIC["multi" if head.task.multi else "single"]
        per_system, paired[task] = intervals(stats, main)
        for name, ci in per_system.items():
            systems[name][task]["ci"] = ci
    return {
        "model": getattr(scorers["model"], "tag", None),
        "data": collected.files,
        "rows": collected.rows,
        "empty_texts": collected.empty_texts,
        "heads": {"evaluated": evaluated, "skipped": skipped},
        "restricted": {h.task.name: list(h.labels) for h in collected.heads if h.labels != h.task.labels},
        "systems": systems,
        "comparison": _comparison(systems, paired),
        "alert": _alert(systems, alert_of(getattr(scorers["model"], "meta", {}))),
        "by_language": by_language,
        "worst_errors": {t: collected.worst[t] for t in evaluated},
        "throughput": {
            name: {"seconds": round(s, 3), "rows_per_s": round(collected.rows / s, 1) if s else None}
            for name, s in collected.seconds.items()
        },
    }


def evaluate_files(
    predictor,
    paths: Sequence[str | Path],
    *,
    baselines: Sequence = (),
    restrict: dict[str, tuple[str, ...]] | None = None,
    top_errors: int = 10,
    allow_empty: bool = False,
    progress: bool = True,
) -> dict:
    """Metrics of ``predictor`` (and any baselines) on labelled JSONL files; no files are written."""
    paths = [Path(p) for p in paths]
    check_files(paths, predictor.schema, allow_empty)
    heads = make_heads(predictor.schema, restrict)
    scorers = {"model": predictor, **{b.name: b for b in baselines}}
    collected = collect(scorers, paths, heads, top_errors=top_errors, allow_empty=allow_empty, progress=progress)
    return summarise(collected, scorers)


def check_files(paths: list[Path], schema, allow_empty: bool = False) -> None:
    """Fail fast, before any model or baseline work, on a missing file or a first row without usable labels."""
    if not paths:
        raise DataError("no data file given")
    for path in paths:
        first = next(iter_labelled(path, schema, allow_empty), None)
        if first is None:
            raise DataError(f"{path}: no rows")


def default_train_files(data_paths: Sequence[Path]) -> list[Path]:
    """The baselines' training files when none are given: the voc train split (when it exists) and, for an
    evaluation file of a bundled set (``data/public/<set>/`` or ``data/real/<set>/``), that set's train
    split. Files that are being evaluated are never trained on."""
    evaluated = {Path(p).resolve() for p in data_paths}
    candidates = [VOC_TRAIN] + [Path(p).resolve().parent / "train.jsonl" for p in data_paths if _is_bundled(Path(p))]
    out: list[Path] = []
    for path in candidates:
        if path.is_file() and path.resolve() not in evaluated and path not in out:
            out.append(path)
    return out


def _is_bundled(path: Path) -> bool:
    return path.resolve().parent.parent in (PUBLIC_DATA.resolve(), REAL_DATA.resolve())


def load_other(ref: str | Path, model, batch_size: int):
    """Another model to compare with ``model`` on the same rows; it must have the same heads and labels."""
    from voc.models.predictor import Predictor
    from voc.models.store import resolve_model

    path, tag = resolve_model(ref)
    other = Predictor.load(path, batch_size=batch_size, tag=tag)
    if not other.schema.same_labels(model.schema):
        raise EvaluationError(f"{ref}: its label schema differs from {model.tag}'s; models compare on the same labels")
    other.name = tag if tag != model.tag else f"{tag} (2)"
    return other


def write_json(path: Path, value: object) -> None:
    """``value`` as indented UTF-8 JSON, written atomically."""
    write_text(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n")


def run_evaluation(
    model_ref: str | Path,
    data_paths: Sequence[str | Path],
    report_dir: str | Path,
    *,
    baselines: bool = True,
    train_paths: Sequence[str | Path] | None = None,
    restrict: dict[str, tuple[str, ...]] | None = None,
    allow_empty: bool = False,
    batch_size: int = 32,
    top_errors: int = 10,
    progress: bool = True,
    compare: Sequence[str | Path] = (),
    backend: str | None = None,
) -> dict:
    """Load a model (directory or store tag) on ``backend`` (``None``: the model's default), evaluate it and its
    baselines (and any ``compare`` models, with paired intervals on the difference), write metrics.json and the
    report."""
    from voc.models.backbone import DEFAULT_BACKBONE, text_prefix
    from voc.models.predictor import Predictor
    from voc.models.store import resolve_model

    from .baselines import build_baselines
    from .report import write_report

    data_paths = [Path(p) for p in data_paths]
    model_dir, tag = resolve_model(model_ref)
    predictor = Predictor.load(model_dir, backend=backend, batch_size=batch_size, tag=tag)
    check_files(data_paths, predictor.schema, allow_empty)
    others = [load_other(ref, predictor, batch_size) for ref in compare]
    built, record = [], {"disabled": True}
    if baselines:
        train = [Path(p) for p in train_paths] if train_paths is not None else default_train_files(data_paths)
        backbone = predictor.meta.get("base_model", DEFAULT_BACKBONE)
        built, record = build_baselines(predictor.schema, train, backbone, text_prefix(backbone), predictor.max_length)
        record["train_source"] = "--train" if train_paths is not None else "default"
    metrics = evaluate_files(
        predictor,
        data_paths,
        baselines=[*others, *built],
        restrict=restrict,
        top_errors=top_errors,
        allow_empty=allow_empty,
        progress=progress,
    )
    metrics["baselines"] = record
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    write_json(report_dir / "metrics.json", metrics)
    write_report(metrics, report_dir)
    return metrics
