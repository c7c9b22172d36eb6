"""The batch scorer's summary beside its output: label counts per task and language, high-escalation rows first.

Counts accumulate chunk by chunk and only the ``TOP_ROWS`` most likely high-escalation rows are kept,
so memory stays constant in the number of rows. Written as Markdown and as a self-contained HTML page
with bar charts (matplotlib PNGs inlined).
"""

from __future__ import annotations

import base64
import copy
import heapq
import html
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from models.schema import LabelSchema

ESCALATION, HIGH = "escalation", "high"
TOP_ROWS = 100
SNIPPET_CHARS = 160


@dataclass
class Summary:
    """Running counts over the scored rows of one file."""

    schema: LabelSchema
    rows: int = 0
    errors: int = 0
    counts: dict[str, Counter] = field(default_factory=dict)
    high: list[tuple[float, int, str, str]] = field(default_factory=list)  # min-heap of (p_high, -row, id, text)

    def update(self, scored: pd.DataFrame, first_row: int, text_column: str, id_column: str | None) -> None:
        """Add one scored chunk (a RangeIndex; label columns as the scorer made them, themes as lists)."""
        self.rows += len(scored)
        ok = scored[scored["error"].isna()]
        self.errors += len(scored) - len(ok)
        self.counts.setdefault("language", Counter()).update(ok["language"])
        for task in self.schema.tasks:
            values = ok[task.name].explode().dropna() if task.multi else ok[task.name]
            self.counts.setdefault(task.name, Counter()).update(values)
        prob = f"{ESCALATION}.{HIGH}"
        if prob not in ok:
            return
        for idx, row in ok[ok[ESCALATION] == HIGH].iterrows():
            row_no = first_row + int(idx) + 1
            ident = str(row[id_column]) if id_column else f"row {row_no}"
            entry = (float(row[prob]), -row_no, ident, str(row[text_column])[:SNIPPET_CHARS])
            (heapq.heappush if len(self.high) < TOP_ROWS else heapq.heappushpop)(self.high, entry)

    def top_high(self) -> list[tuple[float, int, str, str]]:
        """High-escalation rows, most likely first: ``(p_high, row number, id, text snippet)``."""
        return [(p, -neg, ident, text) for p, neg, ident, text in sorted(self.high, reverse=True)]

    def tables(self) -> list[tuple[str, list[tuple[str, int]]]]:
        """``(title, [(label, count), ...])`` for languages and each task, in schema label order."""
        out = [("language", sorted(self.counts.get("language", Counter()).items()))]
        for task in self.schema.tasks:
            counter = self.counts.get(task.name, Counter())
            out.append((task.name, [(label, counter[label]) for label in task.labels]))
        return out

    def markdown(self, source: str) -> str:
        lines = [f"# Scoring summary: {source}", "", f"{self.rows:,} rows, {self.errors:,} with an error.", ""]
        lines += [f"## High escalation (top {TOP_ROWS}, most likely first)", ""]
        lines += ["| row | id | p(high) | text |", "|---:|---|---:|---|"]
        for p, row_no, ident, text in self.top_high():
            lines.append(f"| {row_no} | {_md(ident)} | {p:.3f} | {_md(text)} |")
        for title, counts in self.tables():
            lines += ["", f"## {title}", "", "| label | rows |", "|---|---:|"]
            lines += [f"| {label} | {n:,} |" for label, n in counts]
        return "\n".join(lines) + "\n"

    def html(self, source: str) -> str:
        esc = html.escape
        parts = [
            f"<!doctype html><meta charset='utf-8'><title>Scoring summary: {esc(source)}</title>",
            "<style>body{font-family:sans-serif;max-width:960px;margin:auto}"
            "td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}</style>",
            f"<h1>Scoring summary: {esc(source)}</h1><p>{self.rows:,} rows, {self.errors:,} with an error.</p>",
            f"<h2>High escalation (top {TOP_ROWS}, most likely first)</h2>",
            "<table><tr><th>row</th><th>id</th><th>p(high)</th><th>text</th></tr>",
        ]
        for p, row_no, ident, text in self.top_high():
            parts.append(f"<tr><td>{row_no}</td><td>{esc(ident)}</td><td>{p:.3f}</td><td>{esc(text)}</td></tr>")
        parts.append("</table>")
        for title, counts in self.tables():
            rows = "".join(f"<tr><td>{esc(label)}</td><td>{n:,}</td></tr>" for label, n in counts)
            parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)} counts' src='{_bar_chart(title, counts)}'>")
            parts.append(f"<table><tr><th>label</th><th>rows</th></tr>{rows}</table>")
        return "\n".join(parts) + "\n"


def _md(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _bar_chart(title: str, counts: list[tuple[str, int]]) -> str:
    """A horizontal bar chart as a PNG data URI."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 0.4 * max(len(counts), 2) + 0.8))
    labels = [label for label, _ in counts]
    ax.barh(labels, [n for _, n in counts], color="#4c72b0")
    ax.invert_yaxis()
    ax.set_title(title)
    ax.set_xlabel("rows")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def summary_paths(output: Path) -> tuple[Path, Path]:
    """Where the summary of ``output`` goes: ``OUT.summary.md`` and ``OUT.summary.html``."""
    return output.with_name(output.name + ".summary.md"), output.with_name(output.name + ".summary.html")


def merge_summaries(summaries: list[Summary]) -> Summary:
    """One summary over several files' (the shards of ``serving.distributed``): counts added, the ``TOP_ROWS``
    most likely high-escalation rows of all kept."""
    total = copy.deepcopy(summaries[0])
    for other in summaries[1:]:
        total.rows += other.rows
        total.errors += other.errors
        for name, counter in other.counts.items():
            total.counts.setdefault(name, Counter()).update(counter)
        total.high = heapq.nlargest(TOP_ROWS, total.high + other.high)
        heapq.heapify(total.high)
    return total
