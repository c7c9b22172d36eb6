"""The batch scorer's summary beside its output: label counts per task and language, high-escalation rows first.

Counts accumulate chunk by chunk and only the ``TOP_ROWS`` most likely high-escalation rows are kept,
so memory stays constant in the number of rows. Written as Markdown and as a self-contained HTML page
with bar charts (matplotlib PNGs inlined). When the rows carry escalation evidence (``voc score --explain``),
each high-escalation row shows its spans in context, bold in Markdown and ``<mark>``-ed in HTML.
"""

from __future__ import annotations

import base64
import heapq
import html
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from models.schema import LabelSchema

ESCALATION, HIGH = "escalation", "high"
TOP_ROWS = 100
SNIPPET_CHARS = 160
CONTEXT_CHARS = 60  # shown on each side of an evidence span
EVIDENCE = "evidence." + ESCALATION


@dataclass
class Summary:
    """Running counts over the scored rows of one file."""

    schema: LabelSchema
    rows: int = 0
    errors: int = 0
    counts: dict[str, Counter] = field(default_factory=dict)
    # min-heap of (p_high, -row, id, text, evidence spans as (start, end)): the whole text when it has spans
    high: list[tuple[float, int, str, str, tuple[tuple[int, int], ...]]] = field(default_factory=list)

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
            spans = tuple((s["start"], s["end"]) for s in row.get(EVIDENCE) or [])
            text = str(row[text_column]) if spans else str(row[text_column])[:SNIPPET_CHARS]
            entry = (float(row[prob]), -row_no, ident, text, spans)
            (heapq.heappush if len(self.high) < TOP_ROWS else heapq.heappushpop)(self.high, entry)

    def top_high(self) -> list[tuple[float, int, str, str, tuple[tuple[int, int], ...]]]:
        """High-escalation rows, most likely first: ``(p_high, row number, id, text, evidence spans)``."""
        return [(p, -neg, ident, text, spans) for p, neg, ident, text, spans in sorted(self.high, reverse=True)]

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
        for p, row_no, ident, text, spans in self.top_high():
            lines.append(f"| {row_no} | {_md(ident)} | {p:.3f} | {highlight(text, spans, _md, ('**', '**'))} |")
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
        for p, row_no, ident, text, spans in self.top_high():
            cell = highlight(text, spans, esc, ("<mark>", "</mark>"))
            parts.append(f"<tr><td>{row_no}</td><td>{esc(ident)}</td><td>{p:.3f}</td><td>{cell}</td></tr>")
        parts.append("</table>")
        for title, counts in self.tables():
            rows = "".join(f"<tr><td>{esc(label)}</td><td>{n:,}</td></tr>" for label, n in counts)
            parts.append(f"<h2>{esc(title)}</h2><img alt='{esc(title)} counts' src='{_bar_chart(title, counts)}'>")
            parts.append(f"<table><tr><th>label</th><th>rows</th></tr>{rows}</table>")
        return "\n".join(parts) + "\n"


def highlight(
    text: str, spans: tuple[tuple[int, int], ...], escape: Callable[[str], str], mark: tuple[str, str]
) -> str:
    """``text`` escaped, its ``spans`` wrapped in ``mark``, with ``CONTEXT_CHARS`` around each and "…" for the
    rest; without spans the first ``SNIPPET_CHARS`` characters."""
    if not spans:
        return escape(text[:SNIPPET_CHARS])
    windows: list[list[int]] = []
    for start, end in sorted(spans):
        lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
        if windows and lo <= windows[-1][1]:
            windows[-1][1] = hi
        else:
            windows.append([lo, hi])
    out, spans_left = [], sorted(spans)
    for lo, hi in windows:
        out.append("…" if lo > 0 else "")
        cursor = lo
        while spans_left and spans_left[0][1] <= hi:
            start, end = spans_left.pop(0)
            out += [escape(text[cursor:start]), mark[0], escape(text[start:end]), mark[1]]
            cursor = end
        out.append(escape(text[cursor:hi]))
    out.append("…" if windows[-1][1] < len(text) else "")
    return "".join(out)


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
