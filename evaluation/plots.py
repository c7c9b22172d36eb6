"""Matplotlib figures of the report, drawn from the metrics dict alone (PNG, non-interactive backend)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from voc.models.atomic import atomic_path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: Path) -> None:
    """Write a figure as a PNG atomically and release it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    _pyplot().close(fig)


def _heatmap(ax, counts: np.ndarray, rows: list[str], cols: list[str]) -> None:
    """Counts written in each cell, coloured by the share of the gold row (so rare classes stay readable)."""
    share = counts / np.clip(counts.sum(axis=1, keepdims=True), 1, None)
    ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(cols)), cols, rotation=30, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    for (i, j), n in np.ndenumerate(counts):
        ax.text(j, i, str(n), ha="center", va="center", color="white" if share[i, j] > 0.5 else "black")


def confusion_plot(head: dict, title: str, path: Path) -> Path:
    """A gold x predicted matrix for a single-label head; one 2x2 matrix per label for a multi-label head."""
    plt = _pyplot()
    labels = head["labels"]
    if head["type"] == "multi":
        fig, axes = plt.subplots(1, len(labels), figsize=(2.6 * len(labels), 3.2), squeeze=False)
        for ax, label, counts in zip(axes[0], labels, head["confusion"]):
            _heatmap(ax, np.array(counts), ["no", "yes"], ["no", "yes"])
            ax.set_title(label)
    else:
        size = 1.2 + 0.9 * len(labels)
        fig, ax = plt.subplots(figsize=(size + 1, size))
        _heatmap(ax, np.array(head["confusion"]), labels, labels)
    fig.suptitle(title)
    fig.tight_layout()
    save_figure(fig, path)
    return path


def reliability_plot(head: dict, title: str, path: Path) -> Path:
    """Outcome rate against mean confidence per bin (the diagonal is perfect calibration), counts below."""
    plt = _pyplot()
    bins = head["calibration"]["bins"]
    edges = np.array(bins["edges"])
    centers, width = (edges[:-1] + edges[1:]) / 2, np.diff(edges)
    rate = np.array([np.nan if r is None else r for r in bins["outcome_rate"]])
    conf = np.array([np.nan if c is None else c for c in bins["confidence"]])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(4.6, 5.2), height_ratios=[3, 1], sharex=True)
    top.bar(centers, np.nan_to_num(rate), width=width, edgecolor="black", color="#4c78a8", label="observed")
    top.bar(
        centers,
        np.nan_to_num(conf - rate),
        bottom=np.nan_to_num(rate),
        width=width,
        color="#e45756",
        alpha=0.35,
        label="gap to confidence",
    )
    top.plot([0, 1], [0, 1], "k--", linewidth=1)
    outcome = "fraction with the label" if head["type"] == "multi" else "accuracy"
    top.set_ylabel(outcome)
    top.set_ylim(0, 1)
    top.legend(loc="upper left", fontsize=8)
    top.set_title(f"{title}\nECE = {head['calibration']['ece']:.3f}")
    bottom.bar(centers, bins["count"], width=width, color="gray")
    bottom.set_yscale("symlog")
    bottom.set_ylabel("count")
    bottom.set_xlabel("probability" if head["type"] == "multi" else "confidence (top probability)")
    bottom.set_xlim(0, 1)
    fig.tight_layout()
    save_figure(fig, path)
    return path
