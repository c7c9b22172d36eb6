"""Does labelling what ``voc suggest`` picks beat labelling random rows? A simulation on labelled data.

The pool's labels are hidden; from a random seed set, each round adds ``step`` rows picked by
uncertainty + diversity (``voc.research.selection``, what ``voc suggest`` does) or at random, retrains the
cheap model (``voc.research.features.CheapModel``: logistic regression per head on the frozen default
backbone's embeddings) and measures it on the held-out file. Several random seeds give a mean and a
spread. Prints a Markdown table and writes a PNG curve and the numbers as JSON::

    python -m voc.research.simulate --pool data/voc/train.jsonl --measure data/voc/validation.jsonl \\
        --seed-size 100 --step 100 --rounds 8 --seeds 3 --out docs/figures/active_learning
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from voc.models.backbone import DEFAULT_BACKBONE
from voc.models.data import iter_labelled
from voc.models.metrics import MAIN_METRIC, multi_label_metrics, single_label_metrics
from voc.models.predictor import label_thresholds
from voc.models.schema import DEFAULT_LABELS, LabelSchema

from .features import CheapModel, embed_texts
from .selection import select, uncertainty

STRATEGIES = ("suggest", "random")


@dataclass
class SimulationConfig:
    pool: str = "data/voc/train.jsonl"
    measure: str = "data/voc/validation.jsonl"
    labels: str = str(DEFAULT_LABELS)
    seed_size: int = 100
    step: int = 100
    rounds: int = 8
    seeds: int = 3
    ngrams: bool = False  # also average in the n-gram part (slower per round)
    backbone: str = DEFAULT_BACKBONE  # the frozen encoder whose embeddings the cheap model reads


def head_scores(model: CheapModel, texts: list[str], emb: np.ndarray, rows: list[dict]) -> dict[str, float]:
    """Each head's main metric (macro-F1, themes micro-F1 at the schema's default threshold) on ``rows``, plus
    their mean."""
    probs = model.predict_proba(texts, emb)
    out = {}
    for task in model.schema.tasks:
        thr = label_thresholds({}, task.labels, task.default_threshold)  # the cheap model tunes none
        if task.multi:
            gold = np.array([[label in r[task.name] for label in task.labels] for r in rows], int)
            m = multi_label_metrics(gold, probs[task.name], thr, task.labels)
        else:
            gold = np.array([task.labels.index(r[task.name]) for r in rows])
            m = single_label_metrics(gold, probs[task.name], task.labels, thr)
        out[task.name] = m[MAIN_METRIC[task.type]]
    out["mean"] = float(np.mean(list(out.values())))
    return out


def run(config: SimulationConfig) -> dict:
    """Curves: ``{"sizes": [...], "curves": {strategy: per seed, per round {head: score, "mean": ...}}}``."""
    schema = LabelSchema.load(config.labels)
    pool = list(iter_labelled(config.pool, schema))
    measure = list(iter_labelled(config.measure, schema))
    emb = embed_texts([r["text"] for r in pool + measure], config.backbone)
    pool_emb, measure_emb = emb[: len(pool)], emb[len(pool) :]
    pool_texts, measure_texts = [r["text"] for r in pool], [r["text"] for r in measure]
    curves: dict[str, list] = {s: [] for s in STRATEGIES}
    for seed in range(config.seeds):
        rng = np.random.default_rng(seed)
        start = rng.choice(len(pool), config.seed_size, replace=False).tolist()
        for strategy in STRATEGIES:
            labelled, curve = list(start), []
            for round_no in range(config.rounds + 1):
                model = CheapModel(schema, ngrams=config.ngrams).fit(
                    [pool_texts[i] for i in labelled],
                    pool_emb[labelled],
                    {t: [pool[i][t] for i in labelled] for t in schema.names},
                )
                curve.append(head_scores(model, measure_texts, measure_emb, measure))
                if round_no == config.rounds:
                    break
                rest = np.setdiff1d(np.arange(len(pool)), labelled)
                if strategy == "random":
                    labelled += rng.choice(rest, config.step, replace=False).tolist()
                else:
                    probs = model.predict_proba([pool_texts[i] for i in rest], pool_emb[rest])
                    scores = np.mean(list(uncertainty(probs, schema, {}).values()), axis=0)
                    labelled += [int(rest[p.index]) for p in select(scores, pool_emb[rest], config.step, seed)]
            curves[strategy].append(curve)
            print(f"seed {seed} {strategy}: mean {curve[0]['mean']:.3f} -> {curve[-1]['mean']:.3f}", flush=True)
    sizes = [config.seed_size + config.step * r for r in range(config.rounds + 1)]
    return {"config": asdict(config), "heads": schema.names, "sizes": sizes, "curves": curves}


def summary(result: dict, metric: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Mean and standard deviation over seeds of one metric, per strategy."""
    out = {}
    for strategy, runs in result["curves"].items():
        values = np.array([[point[metric] for point in curve] for curve in runs])
        out[strategy] = (values.mean(axis=0), values.std(axis=0))
    return out


def table(result: dict) -> str:
    """Markdown: per labelled-set size, the mean of the heads' scores per strategy, and the gain."""
    stats = summary(result, "mean")
    finals = {h: summary(result, h) for h in result["heads"]}
    lines = [
        "| labelled rows | random | suggest | gain (points) |",
        "|---:|---:|---:|---:|",
    ]
    for i, size in enumerate(result["sizes"]):
        (rm, rs), (sm, ss) = ((stats[s][0][i], stats[s][1][i]) for s in ("random", "suggest"))
        lines.append(f"| {size} | {rm:.3f} ± {rs:.3f} | {sm:.3f} ± {ss:.3f} | {100 * (sm - rm):+.1f} |")
    lines += ["", f"At {result['sizes'][-1]} rows, per head (mean over seeds):", ""]
    lines += ["| head | random | suggest |", "|---|---:|---:|"]
    for head, per in finals.items():
        lines.append(f"| {head} | {per['random'][0][-1]:.3f} | {per['suggest'][0][-1]:.3f} |")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    metrics = ["mean", *result["heads"]]
    fig, axes = plt.subplots(1, len(metrics), figsize=(4 * len(metrics), 3.4), sharex=True)
    sizes = np.array(result["sizes"])
    for ax, metric in zip(axes, metrics):
        for strategy, (mean, std) in summary(result, metric).items():
            ax.plot(sizes, mean, marker="o", ms=3, label=strategy)
            ax.fill_between(sizes, mean - std, mean + std, alpha=0.2)
        ax.set_title(metric if metric != "mean" else "mean of the heads")
        ax.set_xlabel("labelled rows")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("F1 on the measure file")
    axes[0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = SimulationConfig()
    for name, value in asdict(defaults).items():
        kind = type(value)
        if kind is bool:
            parser.add_argument(f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction, default=value)
        else:
            parser.add_argument(f"--{name.replace('_', '-')}", type=kind, default=value)
    parser.add_argument("--out", default="docs/figures/active_learning", help="writes OUT.png and OUT.json")
    args = vars(parser.parse_args(argv))
    out = Path(args.pop("out"))
    result = run(SimulationConfig(**args))
    out.parent.mkdir(parents=True, exist_ok=True)
    plot(result, out.with_suffix(".png"))
    out.with_suffix(".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    print(table(result))
    print(f"curve: {out.with_suffix('.png')}; numbers: {out.with_suffix('.json')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
