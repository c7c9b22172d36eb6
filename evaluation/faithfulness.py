"""Is the evidence faithful? For each predicted label with evidence, delete its top span and, separately, a
random span of as many words (seeded): the top span should lower the label's probability more.

    python -m voc.evaluation.faithfulness --model DIR_OR_TAG --data data/voc/test.jsonl [--seed 0] [--limit N]

Prints, per head and language, the cases, the share where the top span's drop beats the random span's
(the target is at least 80%), and the median drops; also the explanation's cost per text beside plain
scoring. Labels are the model's predictions (gold labels are not needed), explained as the service does
(``voc.models.evidence``: the predicted sentiment, each predicted theme, escalation unless low). A label without
evidence, or a text with no other span of that many words, is counted apart, not as a case.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voc.models.evidence import delete, explain, explained_labels, words
from voc.models.predictor import Predictor

from .collect import row_language

CHUNK = 32
ALL = "all"


@dataclass
class Case:
    """One explained label: its head, the text's language and the two probability drops."""

    head: str
    lang: str
    top: float
    random: float


@dataclass
class Run:
    """What one evaluation found: cases, labels left out (and why), and the time spent: wall-clock seconds and
    CPU seconds of all threads (the fairer number on a shared machine)."""

    cases: list[Case] = field(default_factory=list)
    no_evidence: int = 0
    no_random_span: int = 0
    texts: int = 0
    predict_seconds: float = 0.0
    explain_seconds: float = 0.0
    predict_cpu: float = 0.0
    explain_cpu: float = 0.0


def random_span(text: str, start: int, end: int, rng: np.random.Generator) -> tuple[int, int] | None:
    """A random run of whole words, as many as ``text[start:end]`` touches, that is not that run; ``None``
    when there is none."""
    spans = words(text)
    touched = [i for i, (a, b) in enumerate(spans) if a < end and b > start]
    n, first = len(touched), touched[0]
    starts = [j for j in range(len(spans) - n + 1) if j != first]
    if not starts:
        return None
    j = starts[int(rng.integers(len(starts)))]
    return spans[j][0], spans[j + n - 1][1]


def evaluate_chunk(predictor: Predictor, rows: list[dict], rng: np.random.Generator, run: Run) -> None:
    """Explain one chunk of rows and add its cases to ``run`` (one more batched pass for the deletions)."""
    texts = [row["text"] for row in rows]
    started, cpu = time.perf_counter(), time.process_time()
    probs = predictor.predict_proba(texts)
    results = [predictor.decide(probs, i) for i in range(len(texts))]
    run.predict_seconds += time.perf_counter() - started
    run.predict_cpu += time.process_time() - cpu
    started, cpu = time.perf_counter(), time.process_time()
    evidence = explain(predictor, texts, results)
    run.explain_seconds += time.perf_counter() - started
    run.explain_cpu += time.process_time() - cpu
    run.texts += len(texts)
    pending, variants = [], []
    for i, (row, result, ev) in enumerate(zip(rows, results, evidence)):
        for task, label in explained_labels(predictor, result):
            spans = ev[task][label] if predictor.schema[task].multi else ev[task]
            if not spans:
                run.no_evidence += 1
                continue
            top = spans[0]
            other = random_span(row["text"], top["start"], top["end"], rng)
            if other is None:
                run.no_random_span += 1
                continue
            j = predictor.schema[task].labels.index(label)
            pending.append((task, row_language(row), j, float(probs[task][i, j])))
            variants += [delete(row["text"], top["start"], top["end"]), delete(row["text"], *other)]
    if not variants:
        return
    deleted = predictor.predict_proba(variants)
    for k, (task, lang, j, base) in enumerate(pending):
        top, other = deleted[task][2 * k, j], deleted[task][2 * k + 1, j]
        run.cases.append(Case(task, lang, base - float(top), base - float(other)))


def table(run: Run) -> list[dict]:
    """Rows per (head, language) and their totals: cases, share won, median drops."""
    groups: dict[tuple[str, str], list[Case]] = {}
    for case in run.cases:
        for key in [(case.head, case.lang), (case.head, ALL), (ALL, case.lang), (ALL, ALL)]:
            groups.setdefault(key, []).append(case)
    return [
        {
            "head": head,
            "lang": lang,
            "cases": len(cases),
            "top_beats_random": float(np.mean([c.top > c.random for c in cases])),
            "median_drop_top": float(np.median([c.top for c in cases])),
            "median_drop_random": float(np.median([c.random for c in cases])),
        }
        for (head, lang), cases in sorted(groups.items(), key=lambda kv: (kv[0][0] == ALL, kv[0]))
    ]


def markdown(run: Run) -> str:
    """The table and the cost, in Markdown."""
    lines = [
        "| head | language | cases | top span beats random | median drop, top span | median drop, random span |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in table(run):
        lines.append(
            f"| {r['head']} | {r['lang']} | {r['cases']} | {100 * r['top_beats_random']:.1f}% "
            f"| {r['median_drop_top']:.3f} | {r['median_drop_random']:.3f} |"
        )
    per_text = 1000 / max(run.texts, 1)
    lines += [
        "",
        f"Labels without evidence: {run.no_evidence}; with no other span of that length: {run.no_random_span}.",
        f"Cost per text ({run.texts} texts, wall / CPU of all threads): scoring {per_text * run.predict_seconds:.1f}"
        f" / {per_text * run.predict_cpu:.1f} ms, explaining {per_text * run.explain_seconds:.1f}"
        f" / {per_text * run.explain_cpu:.1f} ms.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voc.evaluation.faithfulness", description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="model directory or store tag")
    parser.add_argument("--data", required=True, type=Path, help="JSONL with a text field per line")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random spans (default: %(default)s)")
    parser.add_argument("--limit", type=int, help="only the first N rows")
    parser.add_argument("--json", type=Path, help="also write the table as JSON here")
    args = parser.parse_args(argv)

    from voc.models.store import resolve_model

    path, tag = resolve_model(args.model)
    predictor = Predictor.load(path, tag=tag)
    with args.data.open(encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()][: args.limit]
    rng, run = np.random.default_rng(args.seed), Run()
    for start in range(0, len(rows), CHUNK):
        evaluate_chunk(predictor, rows[start : start + CHUNK], rng, run)
    print(f"{tag} on {args.data} ({len(rows)} rows, seed {args.seed})\n")
    print(markdown(run))
    if args.json:
        args.json.write_text(json.dumps(table(run), indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
