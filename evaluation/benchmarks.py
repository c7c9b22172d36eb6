"""Benchmarks on real customer text: the model's sentiment head on NSMC (Korean) and airline tweets
(English), with the published figures beside, and every head on the real-text test splits labelled by the
guideline (data/real: airline tweets in English, KOTE shop reviews in Korean).

NSMC is binary: the 3-way head is reduced to P(negative) vs P(positive). NSMC's standard test keeps
3 rows with empty text; they are scored (not dropped) so that the denominator is the standard 50,000.
Baselines train on the set's own train split (plus the voc train split when it exists).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from voc.models.atomic import write_text
from voc.models.metrics import MAIN_METRIC

from .collect import EvaluationError
from .report import markdown_table, pct
from .run import PUBLIC_DATA, REAL_DATA, run_evaluation, write_json


@dataclass(frozen=True)
class Benchmark:
    name: str
    title: str
    path: Path
    published: tuple[tuple[str, str], ...]  # (system, accuracy in percent, as published)
    restrict: dict[str, tuple[str, ...]] = field(default_factory=dict)


BENCHMARKS = (
    Benchmark(
        "nsmc",
        "NSMC standard test, 50,000 Korean movie reviews (binary)",
        PUBLIC_DATA / "nsmc_ko" / "test_full.jsonl",
        (("mBERT", "87.5"), ("XLM-R-base", "89.0"), ("KoBERT", "90.1")),
        {"sentiment": ("negative", "positive")},
    ),
    Benchmark(
        "airline",
        "Twitter US airline sentiment, test split (3-way)",
        PUBLIC_DATA / "airline_tweets_en" / "test.jsonl",
        (("TF-IDF", "77–79"), ("BERT", "82.0"), ("RoBERTa", "86.2–86.9")),
    ),
    Benchmark(
        "real_en",
        "Real airline tweets labelled by the guideline, test split (all heads)",
        REAL_DATA / "airline_en" / "test.jsonl",
        (),
    ),
    Benchmark(
        "real_ko",
        "Real Korean shop reviews (KOTE) labelled by the guideline, test split (all heads)",
        REAL_DATA / "shop_reviews_ko" / "test.jsonl",
        (),
    ),
)


def run_benchmarks(
    model_ref: str,
    report_dir: str | Path,
    *,
    names: list[str] | None = None,
    baselines: bool = True,
    benchmarks: tuple[Benchmark, ...] | None = None,
    progress: bool = True,
    backend: str | None = None,
) -> list[dict]:
    """Evaluate each benchmark into ``report_dir/<name>/`` (the model on ``backend``, ``None``: its default) and write
    ``benchmarks.md`` and ``benchmarks.json``."""
    report_dir = Path(report_dir)
    report_dir.mkdir(parents=True, exist_ok=True)
    benchmarks = benchmarks or BENCHMARKS
    unknown = sorted(set(names or ()) - {b.name for b in benchmarks})
    if unknown:
        raise EvaluationError(f"unknown benchmark(s) {unknown}; choose from {[b.name for b in benchmarks]}")
    chosen = [b for b in benchmarks if names is None or b.name in names]
    results = []
    for bench in chosen:
        metrics = run_evaluation(
            model_ref,
            [bench.path],
            report_dir / bench.name,
            baselines=baselines,
            restrict=bench.restrict,
            allow_empty=True,
            progress=progress,
            backend=backend,
        )
        sentiment = {name: heads["sentiment"] for name, heads in metrics["systems"].items() if "sentiment" in heads}
        results.append(
            {
                "name": bench.name,
                "title": bench.title,
                "rows": metrics["rows"],
                "model": metrics["model"],
                "accuracy": {name: head["accuracy"] for name, head in sentiment.items()},
                "macro_f1": {name: head["macro_f1"] for name, head in sentiment.items()},
                "published_accuracy": dict(bench.published),
                "heads": {
                    task: {
                        "metric": MAIN_METRIC[head["type"]],
                        "value": head[MAIN_METRIC[head["type"]]],
                        "ci": head.get("ci", {}).get(MAIN_METRIC[head["type"]]),
                    }
                    for task, head in metrics["systems"]["model"].items()
                },
                "report": str(report_dir / bench.name / "report.md"),
            }
        )
    write_json(report_dir / "benchmarks.json", results)
    summary = "# Public benchmarks\n\n" + benchmarks_table(results) + "\n"
    write_text(report_dir / "benchmarks.md", summary)
    return results


def benchmarks_table(results: list[dict]) -> str:
    """Accuracy (percent) of the model and its baselines beside the published figures."""
    rows = []
    for r in results:
        ours = ", ".join(f"{name} {pct(acc)}" for name, acc in r["accuracy"].items() if name != "model")
        published = ", ".join(f"{name} {acc}" for name, acc in r["published_accuracy"].items())
        heads = "; ".join(
            f"{task} {h['metric'].replace('_', '-')} {pct(h['value'])}"
            + (f" [{pct(h['ci'][0])}, {pct(h['ci'][1])}]" if h.get("ci") else "")
            for task, h in r.get("heads", {}).items()
        )
        model = [pct(r["accuracy"]["model"]), pct(r["macro_f1"]["model"])]
        rows.append([r["title"], r["rows"], *model, heads, ours or "–", published or "–"])
    header = [
        "benchmark",
        "rows",
        "model accuracy",
        "model macro F1",
        "model, every head (95% interval)",
        "baselines (accuracy)",
        "published (accuracy)",
    ]
    return markdown_table(header, rows)
