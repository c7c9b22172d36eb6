"""Markdown and HTML pages from a ``Summary`` (Jinja2 templates in ``serving/templates``, HTML autoescaped).

The page answers an analyst's questions in order: which rows need a human first (and what "high" means),
how the labels split, which themes are the most negative, how things move over time and per group, what
typical texts per theme look like, and which rows could not be scored.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from .summary import NONE, OTHER, ROWS, Alert, Example, Summary, highlight

MAX_PERIODS = 40  # the trend uses the finest of day / week / month that stays within this many periods
MAX_GROUP_ROWS = 25  # the group breakdown shows the largest groups, the rest folded into one line


@dataclass
class ShareTable:
    """Rows per key and, per ``(task, label)`` column, the share of that key's rows carrying the label."""

    key_title: str
    columns: list[tuple[str, str]]
    rows: list[tuple[str, int, list[float]]]

    @property
    def tasks(self) -> list[tuple[str, int]]:
        """``(task, number of columns)`` in column order, for a grouped header."""
        out: list[tuple[str, int]] = []
        for task, _ in self.columns:
            if out and out[-1][0] == task:
                out[-1] = (task, out[-1][1] + 1)
            else:
                out.append((task, 1))
        return out


def share_table(key_title: str, counts: dict[Hashable, Counter], keys: list[tuple[str, Hashable]], columns):
    """A ``ShareTable`` over ``keys`` (``(shown name, key)``), in that order."""
    rows = []
    for name, key in keys:
        counter = counts.get(key, Counter())
        n = counter[ROWS]
        rows.append((name, n, [counter[c] / n if n else 0.0 for c in columns]))
    return ShareTable(key_title, list(columns), rows)


def label_columns(summary: Summary, skip: str | None = None) -> list[tuple[str, str]]:
    """Every ``(task, label)`` of the schema except task ``skip``; multi-label tasks without NONE."""
    return [(t.name, label) for t in summary.schema.tasks if t.name != skip for label in t.labels]


def cross_tables(summary: Summary) -> list[ShareTable]:
    """Per multi-label task: its labels (and the no-label bucket) against the other tasks' labels."""
    out = []
    for task in summary.schema.tasks:
        if task.multi:
            keys = [(label, label) for label in (*task.labels, NONE)]
            counts = summary.by_label[task.name].counts
            out.append(share_table(task.name, counts, keys, label_columns(summary, skip=task.name)))
    return out


def _week(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


PERIODS: list[tuple[str, Callable[[dt.date], dt.date], Callable[[dt.date], dt.date], str]] = [
    ("day", lambda d: d, lambda d: d + dt.timedelta(days=1), "%Y-%m-%d"),
    ("week", _week, lambda d: d + dt.timedelta(days=7), "week of %Y-%m-%d"),
    ("month", _month, _next_month, "%Y-%m"),
]


def _periods(first: dt.date, last: dt.date) -> tuple[tuple, list[dt.date]]:
    """The finest entry of ``PERIODS`` that covers ``first..last`` in at most ``MAX_PERIODS`` periods, and those."""
    for period in PERIODS:
        _, start_of, step, _ = period
        periods = [start_of(first)]
        while step(periods[-1]) <= start_of(last):
            periods.append(step(periods[-1]))
        if len(periods) <= MAX_PERIODS:
            break
    return period, periods


def trend_table(summary: Summary) -> tuple[str, ShareTable] | None:
    """The trend at the finest period that keeps at most ``MAX_PERIODS`` periods (empty periods included)."""
    days = summary.by_day.counts
    if not days:
        return None
    (name, start_of, _, fmt), periods = _periods(min(days), max(days))
    merged: dict[Hashable, Counter] = {}
    for day, counter in days.items():
        merged.setdefault(start_of(day), Counter()).update(counter)
    keys = [(p.strftime(fmt), p) for p in periods]
    return name, share_table(name, merged, keys, label_columns(summary))


def group_table(summary: Summary) -> ShareTable | None:
    """The largest ``MAX_GROUP_ROWS`` groups, then the rest folded into one line."""
    counts = summary.by_group.counts
    if not counts:
        return None
    ordered = sorted(counts, key=lambda k: (-counts[k][ROWS], str(k)))
    shown, rest = ordered[:MAX_GROUP_ROWS], ordered[MAX_GROUP_ROWS:]
    keys = [(str(k) if k != "" else "(empty)", k) for k in shown]
    if rest:
        folded = sum((counts[k] for k in rest), Counter())
        counts = {**counts, OTHER: folded}
        keys.append((f"{len(rest):,} other values", OTHER))
    return share_table(summary.group_column or "group", counts, keys, label_columns(summary))


def alert_sentence(alert: Alert | None) -> str:
    """One sentence on when a row gets the alert label."""
    if alert is None:
        return ""
    name = f"{alert.task} = {alert.label}"
    if alert.threshold is None:
        return f"A row is {name} when {alert.label} is the most likely {alert.task} level."
    recall = (
        f", the highest threshold that still caught {alert.recall:.0%} of such rows in validation"
        if alert.recall
        else ""
    )
    return (
        f"A row is {name} when the model's probability of {alert.label} reaches {alert.threshold:.2f}"
        f"{recall}, even if another level is more likely: it favours catching these rows over precision."
    )


def context(summary: Summary, source: str, trend_chart: Callable[..., str] | None = None) -> dict:
    """Everything the templates show; ``trend_chart(period, table, single-label tasks)`` returns an image URI."""
    trend = trend_table(summary)
    multi = [t for t in summary.schema.tasks if t.multi]
    single = [t.name for t in summary.schema.tasks if not t.multi]
    return {
        "source": source,
        "summary": summary,
        "alert_sentence": alert_sentence(summary.alert),
        "high": summary.high.best(),
        "counts": summary.label_counts(),
        "cross": cross_tables(summary),
        "trend": trend,
        "trend_chart": trend_chart(*trend, single) if trend and trend_chart else None,
        "groups": group_table(summary),
        "examples": [(t.name, [(label, _best(summary, t.name, label)) for label in t.labels]) for t in multi],
        "more_errors": summary.errors - len(summary.error_rows),
        "none_label": NONE,
    }


def _best(summary: Summary, task: str, label: str) -> list:
    top = summary.examples.get((task, label))
    return top.best() if top else []


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("serving", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md
    env.filters["pct"] = lambda x: f"{x:.0%}"
    env.filters["marked_md"] = lambda ex: highlight(ex.text, ex.spans, _md, ("**", "**"))
    env.filters["marked_html"] = _marked_html
    return env


def _marked_html(ex: Example) -> Markup:
    """An alert row's text, HTML-escaped, its evidence spans in ``<mark>``."""
    return Markup(highlight(ex.text, ex.spans, lambda t: str(escape(t)), ("<mark>", "</mark>")))


def render_markdown(summary: Summary, source: str) -> str:
    return _environment().get_template("summary.md").render(context(summary, source))


def render_html(summary: Summary, source: str) -> str:
    from .charts import trend_chart

    return _environment().get_template("summary.html").render(context(summary, source, trend_chart))
