"""Markdown and HTML pages from a ``Summary`` (Jinja2 templates in ``batch/templates``, HTML autoescaped).

The page answers an analyst's questions in order: which rows need a human first (and what "high" means),
how the labels split, which themes are the most negative, how things move over time and per group, what
typical texts per theme look like, and which rows could not be scored.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Hashable

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from .shares import FEW_ROWS, ShareTable, share_table
from .summary import NONE, OTHER, ROWS, Alert, Example, Summary, highlight

MAX_PERIODS = 40  # the trend uses the finest of day / week / month that stays within this many periods
MAX_GROUP_ROWS = 25  # the group breakdown shows the largest groups, the rest folded into one line


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
    """The trend at the finest period that keeps at most ``MAX_PERIODS`` periods (empty periods included).
    A period the data covers only in part (the first and last week or month) is noted with its days, and each
    row carries its change in share from the previous period."""
    days, _ = summary.days()
    if not days:
        return None
    first, last = min(days), max(days)
    (name, start_of, step, fmt), periods = _periods(first, last)
    merged: dict[Hashable, Counter] = {}
    for day, counter in days.items():
        merged.setdefault(start_of(day), Counter()).update(counter)
    table = share_table(name, merged, [(p.strftime(fmt), p) for p in periods], label_columns(summary))
    for period, row in zip(periods, table.rows):
        length = (step(period) - period).days
        covered = (min(step(period), last + dt.timedelta(days=1)) - max(period, first)).days
        if covered < length:
            row.note = "; ".join(filter(None, [f"partial: {covered} of {length} days", row.note]))
    for before, row in zip(table.rows, table.rows[1:]):
        if before.n and row.n:
            row.changes = [now - then for now, then in zip(row.shares, before.shares)]
    return name, table


def latest_change(period: str, table: ShareTable) -> dict | None:
    """The last two full periods with enough rows, for a "this period against the one before" line."""
    full = [row for row in table.rows if not row.weak and row.n]
    if len(full) < 2:
        return None
    before, now = full[-2], full[-1]
    changes = [
        (task, label, now_share - then_share)
        for (task, label), now_share, then_share in zip(table.columns, now.shares, before.shares)
    ]
    return {"period": period, "before": before, "now": now, "changes": changes}


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
    """When a row gets the alert label, and what its threshold was chosen for (a target, not a measurement)."""
    if alert is None:
        return ""
    name = f"{alert.task} = {alert.label}"
    if alert.threshold is None:
        return f"A row is {name} when {alert.label} is the most likely {alert.task} level."
    target = (
        f" The threshold was chosen on validation data aiming to catch {alert.target_recall:.0%} of such rows there."
        if alert.target_recall
        else ""
    )
    return (
        f"A row is {name} exactly when the model's probability of {alert.label} reaches {alert.threshold:.2f}, even "
        f"if another level is more likely; below it a row gets the likelier of the other levels, so sorted by "
        f"p({alert.label}) every {alert.label} row comes first.{target}"
    )


def alert_measured_sentence(alert: Alert | None) -> str:
    """What the page can say of the alert's precision and recall: the model's own test figures, or that it has none."""
    if alert is None:
        return ""
    if not alert.measured:
        return (
            "This model stores no measured precision or recall of the alert on labelled test data; "
            "run voc evaluate on labelled rows to know how often it is right."
        )
    files = "the test file" if len(alert.measured) == 1 else f"its {len(alert.measured)} test files"
    out = (
        f"Measured when this model was saved, on {files} (from its voc.json): recall is the share of rows labelled "
        f"{alert.label} that it flagged, precision the share of flagged rows labelled {alert.label}. Real feedback "
        "can differ from all of them."
    )
    if alert.rule_changed:
        out += (
            " These figures were measured under the earlier rule, in which the most likely level also won; under the "
            "current rule recall can only be lower or equal."
        )
    return out


def context(summary: Summary, source: str, trend_chart: Callable[..., str] | None = None) -> dict:
    """Everything the templates show; ``trend_chart(period, table, single-label tasks, colours)`` returns an
    image URI."""
    from .charts import label_colours

    trend = trend_table(summary)
    multi = [t for t in summary.schema.tasks if t.multi]
    single = [t.name for t in summary.schema.tasks if not t.multi]
    colours = label_colours(summary.schema, summary.alert)
    return {
        "source": source,
        "summary": summary,
        "alert_sentence": alert_sentence(summary.alert),
        "alert_measured": alert_measured_sentence(summary.alert),
        "high": summary.high.best(),
        "counts": summary.label_counts(),
        "cross": cross_tables(summary),
        "trend": trend,
        "change": latest_change(*trend) if trend else None,
        "trend_chart": trend_chart(*trend, single, colours) if trend and trend_chart else None,
        "date_notes": summary.date_notes(),
        "date_order": summary.date_order()[0].replace("-", " "),
        "truncated_note": summary.truncated_note(),
        "truncated": summary.truncated.most_common(),
        "groups": group_table(summary),
        "examples": [(t.name, [(label, _best(summary, t.name, label)) for label in t.labels]) for t in multi],
        "more_errors": summary.errors - len(summary.error_rows),
        "none_label": NONE,
        "few_rows": FEW_ROWS,
        "colours": {f"{task}.{label}": colour for (task, label), colour in colours.items()},
    }


def _best(summary: Summary, task: str, label: str) -> list:
    top = summary.examples.get((task, label))
    return top.best() if top else []


def _md(text: object) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("voc.batch", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["md"] = _md
    env.filters["pct"] = lambda x: f"{x:.0%}"
    env.filters["points"] = _points
    env.filters["marked_md"] = lambda ex: highlight(ex.text, ex.spans, _md, ("**", "**"))
    env.filters["marked_html"] = _marked_html
    return env


def _points(change: float | None) -> str:
    """A change in share in percentage points, signed: ``+6 pts``; "–" when there is nothing to compare."""
    return "–" if change is None else f"{100 * change:+.0f} pts"


def _marked_html(ex: Example) -> Markup:
    """An alert row's text, HTML-escaped, its evidence spans in ``<mark>``."""
    return Markup(highlight(ex.text, ex.spans, lambda t: str(escape(t)), ("<mark>", "</mark>")))


def render_markdown(summary: Summary, source: str) -> str:
    return _environment().get_template("summary.md").render(context(summary, source))


def render_html(summary: Summary, source: str) -> str:
    from .charts import trend_chart

    return _environment().get_template("summary.html").render(context(summary, source, trend_chart))
