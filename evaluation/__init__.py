"""Evaluation of a voc model: metrics, baselines, calibration and a report people want to read.

Command line: ``voc evaluate --model voc-classifier:latest --data FILE... --report DIR`` and
``voc benchmark`` (NSMC and airline tweets beside published figures).

Library API (what ``voc train``'s command line measures each test file with; imports nothing from ``serving``,
draws no plots)::

    from voc.evaluation import evaluate_files, metrics_table

    metrics = evaluate_files(predictor, ["data/voc/test.jsonl"])   # a voc.models.predictor.Predictor
    metrics["systems"]["model"]["sentiment"]["macro_f1"]            # per head: accuracy, macro_f1, micro_f1,
                                                                    # per_label, confusion, calibration (ece)
    card_table = metrics_table(metrics)                             # Markdown table for the model card

- :func:`evaluate_files` streams the files (memory bounded by the chunk), evaluates every head that the
  files label and returns the metrics dict described in :mod:`voc.evaluation.run`; pass ``baselines=`` (see
  :func:`voc.evaluation.baselines.build_baselines`) to compare, ``progress=False`` to silence the bar.
- :func:`metrics_table` renders the model's headline numbers (and the high-escalation precision/recall).
- :func:`run_evaluation` is the full ``voc evaluate``: model by tag or path, baselines, metrics.json,
  report.md, report.html and the PNGs.
- :func:`write_report` rebuilds the report from a metrics dict (e.g. a saved metrics.json).

Modules: ``collect`` (streaming), ``baselines`` and ``descriptions`` (majority, TF-IDF, zero-shot), ``bootstrap``
(intervals), ``run`` (orchestration), ``report`` and ``plots`` (Markdown/HTML, PNG), ``benchmarks`` (public sets),
``faithfulness``, ``cli``. The per-head scores and the calibration error are ``voc.models.metrics`` and
``voc.models.calibration`` (training shares them), the TF-IDF model ``voc.models.tfidf``.
"""

import importlib

__all__ = ["evaluate_files", "metrics_table", "run_evaluation", "write_report"]
_HOME = {"evaluate_files": "run", "run_evaluation": "run", "metrics_table": "report", "write_report": "report"}


def __getattr__(name: str):
    """Import on first use: ``voc --help`` loads ``voc.evaluation.cli`` and must not pay for torch and sklearn."""
    if name in _HOME:
        return getattr(importlib.import_module(f".{_HOME[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
