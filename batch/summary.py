"""The batch scorer's summary: what an analyst asks of a scored export, accumulated chunk by chunk.

Counts per language and label, a "no theme" bucket per multi-label task, a cross-table of each
multi-label task's labels against the other tasks, a trend by day (``date_column``), a breakdown by a
chosen column (``group_column``), the most confident texts per theme, the most likely alert rows
(``escalation = high``) and the first error rows. Only counters and small heaps are kept, so memory
does not grow with the number of rows (a group column keeps at most ``MAX_GROUPS`` values, a date
column one counter per calendar day). ``voc.batch.summary_render`` turns it into Markdown and HTML.
Nothing is dropped without a count: rows the model did not read whole (the scorer's ``truncated`` column, read
as it is) per language, and date cells that are empty, unreadable or of an ambiguous day/month order
(``voc.batch.dates``) are counted, and :meth:`Summary.outcome` / :meth:`Summary.warnings` say so on the CLI.
When the rows carry evidence for the alert task (``voc score --explain``), each alert row keeps its spans,
shown in context: bold in Markdown and ``<mark>``-ed in HTML (``highlight``).
"""

from __future__ import annotations

import copy
import datetime as dt
import heapq
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from voc.models.schema import LabelSchema

from .dates import DAY_FIRST, MONTH_FIRST, DateOptions, DayMonth, date_order, is_blank, read_day

if TYPE_CHECKING:
    from voc.models.predictor import Predictor

TOP_ROWS = 100
EXAMPLES_PER_LABEL = 3
MAX_ERROR_ROWS = 50
MAX_GROUPS = 1000
MAX_BAD_DATES = 3  # unreadable date cells quoted as examples
SNIPPET_CHARS = 160
CONTEXT_CHARS = 60  # shown on each side of an evidence span
EVIDENCE = "evidence."  # + task: the scorer's evidence columns (voc.batch.evidence_columns)
ROWS = "rows"  # the row count's key inside a breakdown counter
NONE = "(none)"  # the bucket of rows that got no label of a multi-label task
OTHER = "(other)"  # group values beyond MAX_GROUPS


@dataclass(frozen=True)
class Measured:
    """The alert decision on one labelled test file, as recorded in the model's voc.json when it was saved."""

    file: str
    precision: float
    recall: float
    support: int  # rows of the file with the label
    predicted: int  # rows the model flagged


@dataclass(frozen=True)
class Alert:
    """The label that routes a row to a senior human, its operating threshold and what it was measured to do."""

    task: str
    label: str
    threshold: float | None = None  # the label wins iff P(label) reaches it (voc.models.predictor.single_decisions)
    target_recall: float | None = None  # the validation recall the threshold was chosen to reach (a target)
    measured: tuple[Measured, ...] = ()  # per test file, from the model's own metrics
    rule_changed: bool = False  # measured under the older rule (most likely label, or the threshold)

    @classmethod
    def of(cls, predictor: Predictor) -> Alert | None:
        """The model's alert (``voc.models.artifact.alert_of``) with its operating threshold and its precision and
        recall on each test file stored in ``predictor.meta`` (``test_metrics``, else the headline ``metrics``)."""
        from voc.models.artifact import alert_of
        from voc.models.predictor import DECISION_RULE

        meta = predictor.meta
        if (found := alert_of(meta)) is None:
            return None
        task, label = found
        threshold = predictor.thresholds.get(task, {}).get(label)
        target = meta.get("training", {}).get("alert_recall")
        per_file = meta.get("test_metrics") or {}
        if not per_file and meta.get("metrics", {}).get("data"):
            per_file = {", ".join(f["path"] for f in meta["metrics"]["data"]): meta["metrics"]}
        measured = tuple(
            Measured(name, float(a["precision"]), float(a["recall"]), int(a["support"]), int(a["predicted"]))
            for name, metrics in per_file.items()
            if (a := metrics.get("alert", {}).get("model")) and (a.get("task"), a.get("label")) == (task, label)
        )
        changed = threshold is not None and meta.get("decision_rule") != DECISION_RULE
        return cls(
            task, label, None if threshold is None else float(threshold), target and float(target), measured, changed
        )


@dataclass(frozen=True, order=True)
class Example:
    """One row shown in the summary; ordered by ``score``, then earlier rows first."""

    score: float
    neg_row: int
    id: str
    text: str
    spans: tuple[tuple[int, int], ...] = field(default=(), compare=False)  # evidence in ``text`` (whole text)
    group: str = field(default="", compare=False)  # the row's group-by value, if any
    date: str = field(default="", compare=False)  # the row's date cell as written, if any

    @property
    def row(self) -> int:
        return -self.neg_row


class TopK:
    """The ``k`` highest-scoring examples seen so far (a min-heap)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.heap: list[Example] = []

    def add(self, example: Example) -> None:
        (heapq.heappush if len(self.heap) < self.k else heapq.heappushpop)(self.heap, example)

    def best(self) -> list[Example]:
        return sorted(self.heap, reverse=True)


class Breakdown:
    """Label counts per key (a day, a group value, a theme): ``counts[key][(task, label)]`` and ``[ROWS]``."""

    def __init__(self, max_keys: int | None = None) -> None:
        self.max_keys = max_keys
        self.counts: dict[Hashable, Counter] = defaultdict(Counter)

    def add(self, keys: Iterable[Hashable], labels: Iterable[list[tuple[str, str]]]) -> None:
        """Count one row per ``(key, row labels)`` pair."""
        for key, row_labels in zip(keys, labels):
            if self.max_keys is not None and key not in self.counts and len(self.counts) >= self.max_keys:
                key = OTHER
            counter = self.counts[key]
            counter[ROWS] += 1
            counter.update(row_labels)


@dataclass
class Summary:
    """Running counts over the scored rows of one file (see the module docstring)."""

    schema: LabelSchema
    alert: Alert | None = None
    text_column: str = "text"
    id_column: str | None = None
    date_column: str | None = None
    group_column: str | None = None
    date_options: DateOptions = field(default_factory=DateOptions)
    rows: int = 0
    errors: int = 0
    undated: int = 0  # scored rows with an empty date cell
    unreadable: int = 0  # scored rows whose date cell could not be read (examples in bad_dates)
    bad_dates: list[str] = field(default_factory=list)
    order_hints: Counter = field(default_factory=Counter)  # rows proving day-first / month-first
    ambiguous_example: str = ""  # the first date cell whose day/month order it did not tell
    truncated: Counter = field(default_factory=Counter)  # language -> scored rows with truncated = true
    languages: Counter = field(default_factory=Counter)
    labels: Counter = field(default_factory=Counter)  # (task, label) -> rows
    high: TopK = field(default_factory=lambda: TopK(TOP_ROWS))
    examples: dict[tuple[str, str], TopK] = field(default_factory=dict)
    error_rows: list[tuple[int, str, str]] = field(default_factory=list)
    by_day: Breakdown = field(default_factory=Breakdown)
    by_pair: Breakdown = field(default_factory=Breakdown)  # DayMonth -> counts, ordered in days()
    by_group: Breakdown = field(default_factory=lambda: Breakdown(MAX_GROUPS))
    by_label: dict[str, Breakdown] = field(default_factory=lambda: defaultdict(Breakdown))

    @classmethod
    def for_predictor(cls, predictor: Predictor, **columns: Any) -> Summary:
        """A summary of ``predictor``'s labels and alert; ``columns``: text/id/date/group column names."""
        alert = Alert.of(predictor)
        known = alert and alert.task in predictor.schema.names and alert.label in predictor.schema[alert.task].labels
        return cls(predictor.schema, alert if known else None, **columns)

    def update(self, scored: pd.DataFrame, first_row: int) -> None:
        """Add one scored chunk (a RangeIndex; label columns as the scorer made them, multi-label ones as lists)."""
        rows = range(first_row + 1, first_row + len(scored) + 1)
        ids = scored[self.id_column].astype(str).tolist() if self.id_column else [f"row {n}" for n in rows]
        failed = scored["error"].notna().tolist()
        self.rows += len(scored)
        self.errors += sum(failed)
        for row, ident, error, bad in zip(rows, ids, scored["error"], failed):
            if bad and len(self.error_rows) < MAX_ERROR_ROWS:
                self.error_rows.append((row, ident, str(error)))
        ok_idx = [i for i, bad in enumerate(failed) if not bad]
        if not ok_idx:
            return
        ok = scored.iloc[ok_idx]
        # The label columns only: input columns may share a name (a CSV's), which to_dict would warn about.
        row_labels = [self._labels(record) for record in ok[self.schema.names].to_dict("records")]
        self.languages.update(ok["language"])
        # The scorer's own column, as it is: what "truncated" means is the predictor's business.
        self.truncated.update(lang for lang, cut in zip(ok["language"], ok["truncated"]) if _true(cut))
        for labels in row_labels:
            self.labels.update(labels)
        self._add_breakdowns(ok, row_labels)
        texts = ok[self.text_column].astype(str).str.slice(0, SNIPPET_CHARS).tolist()
        ok_rows, ok_ids = [rows[i] for i in ok_idx], [ids[i] for i in ok_idx]
        self._add_examples(ok, ok_rows, ok_ids, texts)

    def _labels(self, record: dict[str, Any]) -> list[tuple[str, str]]:
        """``(task, label)`` pairs of one scored row; a multi-label task with no label gives ``(task, NONE)``."""
        out = []
        for task in self.schema.tasks:
            value = record[task.name]
            if task.multi:
                out += [(task.name, label) for label in value] or [(task.name, NONE)]
            else:
                out.append((task.name, value))
        return out

    def _add_breakdowns(self, ok: pd.DataFrame, row_labels: list[list[tuple[str, str]]]) -> None:
        if self.date_column:
            cells = ok[self.date_column].tolist()
            days = [read_day(value, self.date_options) for value in cells]
            for cell, day in zip(cells, days):
                if day is None:
                    if is_blank(cell):
                        self.undated += 1
                    else:
                        self.unreadable += 1
                        if len(self.bad_dates) < MAX_BAD_DATES and str(cell)[:40] not in self.bad_dates:
                            self.bad_dates.append(str(cell)[:40])
                elif isinstance(day, DayMonth):
                    if (hint := day.hint()) is not None:
                        self.order_hints[hint] += 1
                    elif not self.ambiguous_example:
                        self.ambiguous_example = str(cell)[:40]
            pairs = [(d, labels) for d, labels in zip(days, row_labels) if isinstance(d, DayMonth)]
            dated = [(d, labels) for d, labels in zip(days, row_labels) if isinstance(d, dt.date)]
            self.by_day.add((d for d, _ in dated), (labels for _, labels in dated))
            self.by_pair.add((d for d, _ in pairs), (labels for _, labels in pairs))
        if self.group_column:
            groups = ["" if pd.isna(v) else str(v) for v in ok[self.group_column]]
            self.by_group.add(groups, row_labels)
        for task in self.schema.tasks:
            if task.multi:
                # One count per (label, row): a row with two themes counts under both.
                keyed = [
                    (label, [pair for pair in row if pair[0] != task.name])
                    for row in row_labels
                    for name, label in row
                    if name == task.name
                ]
                self.by_label[task.name].add((k for k, _ in keyed), (v for _, v in keyed))

    def _add_examples(self, ok: pd.DataFrame, rows: list[int], ids: list[str], texts: list[str]) -> None:
        """Keep the most confident texts per multi-label label and the likeliest alert rows."""
        for task in self.schema.tasks:
            if not task.multi:
                continue
            for label in task.labels:
                top = self.examples.setdefault((task.name, label), TopK(EXAMPLES_PER_LABEL))
                probs = ok[f"{task.name}.{label}"].tolist()
                for p, has, row, ident, text in zip(probs, ok[task.name], rows, ids, texts):
                    if label in has:
                        top.add(Example(float(p), -row, ident, text))
        if self.alert is not None:
            decided = ok[self.alert.task].tolist()
            probs = ok[f"{self.alert.task}.{self.alert.label}"].tolist()
            evidence = ok.get(EVIDENCE + self.alert.task, pd.Series([None] * len(ok))).tolist()
            full = ok[self.text_column].astype(str).tolist()
            groups = _cells(ok, self.group_column)
            dates = _cells(ok, self.date_column)
            for p, label, row, ident, text, whole, found, group, date in zip(
                probs, decided, rows, ids, texts, full, evidence, groups, dates
            ):
                if label == self.alert.label:
                    spans = tuple((s["start"], s["end"]) for s in found or [])
                    self.high.add(Example(float(p), -row, ident, whole if spans else text, spans, group, date))

    def label_counts(self) -> list[tuple[str, list[tuple[str, int]]]]:
        """``(title, [(label, rows), ...])`` for languages and each task in schema label order (plus NONE)."""
        out = [("language", sorted(self.languages.items()))]
        for task in self.schema.tasks:
            names = [*task.labels, NONE] if task.multi else list(task.labels)
            out.append((task.name, [(label, self.labels[(task.name, label)]) for label in names]))
        return out

    def date_order(self) -> tuple[str, bool]:
        """How ``NN/NN/YYYY`` dates are read: the order given, else the one the column proves
        (``voc.batch.dates.date_order``); and whether that was left open (a guess the page must flag)."""
        if self.date_options.day_first is not None:
            return (DAY_FIRST if self.date_options.day_first else MONTH_FIRST), False
        return date_order(self.order_hints)

    def days(self) -> tuple[dict[Hashable, Counter], int]:
        """Label counts per calendar day, ``NN/NN/YYYY`` dates ordered by :meth:`date_order`; and the rows whose
        pair gives no date in that order (e.g. 25/12/2026 read month-first), which count as unreadable."""
        order, _ = self.date_order()
        merged: dict[Hashable, Counter] = defaultdict(Counter)
        for day, counter in self.by_day.counts.items():
            merged[day].update(counter)
        misfit = 0
        for pair, counter in self.by_pair.counts.items():
            if (day := pair.day(order)) is None:
                misfit += counter[ROWS]
            else:
                merged[day].update(counter)
        return dict(merged), misfit

    def date_notes(self) -> list[str]:
        """What the date column's trend leaves out or assumed, one sentence each (empty without a date column)."""
        if not self.date_column:
            return []
        notes = []
        _, misfit = self.days()
        bad = self.unreadable + misfit
        order, open_question = self.date_order()
        pairs = sum(c[ROWS] for c in self.by_pair.counts.values())
        written = "day/month" if order == DAY_FIRST else "month/day"
        if pairs and open_question:
            notes.append(
                f"{pairs:,} dates in {self.date_column} (such as {self.ambiguous_example!r}) could be day/month or "
                f"month/day and the column does not tell which: read as {written}; give --day-first, --month-first "
                "or --date-format if that is wrong"
            )
        elif pairs and self.date_options.day_first is None:
            proof = self.order_hints[order]
            notes.append(
                f"{pairs:,} dates such as 05/11/2026 in {self.date_column} read as {written}: {proof:,} of them "
                f"can only be read that way"
            )
        if bad:
            examples = ", ".join(repr(v) for v in self.bad_dates) or "a day that does not exist in that order"
            fix = "check --date-format" if self.date_options.format else "give --date-format"
            notes.append(
                f"{_rows_have(bad)} a date in {self.date_column} that could not be read ({examples}) and "
                f"{'is' if bad == 1 else 'are'} not in the trend; {fix}"
            )
        if self.undated:
            are = "is" if self.undated == 1 else "are"
            notes.append(f"{_rows_have(self.undated)} no date in {self.date_column} and {are} not in the trend")
        return notes

    def truncated_note(self) -> str:
        """How many scored rows the model did not read whole (``truncated``), and in which languages."""
        total = sum(self.truncated.values())
        if not total:
            return ""
        scored = self.rows - self.errors
        where = ", ".join(f"{lang} {n:,} of {self.languages[lang]:,}" for lang, n in self.truncated.most_common())
        return f"{total:,} of {scored:,} scored rows truncated (the model did not read all of their text: {where})"

    def outcome(self) -> str:
        """The run in a phrase for the CLI's last line: errors, truncated rows, unreadable dates."""
        parts = [f"{self.errors:,} with an error"]
        if total := sum(self.truncated.values()):
            where = ", ".join(f"{lang} {n:,}" for lang, n in self.truncated.most_common())
            parts.append(f"{total:,} truncated: {where}")
        if self.date_column:
            bad = self.unreadable + self.days()[1]
            parts.append(f"{bad + self.undated:,} without a readable date")
        return "; ".join(parts)

    def warnings(self) -> list[str]:
        """Sentences the CLI prints before its last line: truncation and every date note."""
        return [note for note in (self.truncated_note(), *self.date_notes()) if note]


def _cells(frame: pd.DataFrame, column: str | None) -> list[str]:
    """``column``'s cells as short text ("" for an empty cell), or "" per row without the column."""
    if not column:
        return [""] * len(frame)
    return ["" if is_blank(v) else str(v)[:40] for v in frame[column].tolist()]


def _rows_have(n: int) -> str:
    return "1 scored row has" if n == 1 else f"{n:,} scored rows have"


def _true(value: object) -> bool:
    """A ``truncated`` cell as a bool (the scorer writes bools; a missing value is not a cut)."""
    return bool(value) if value is not None and not pd.isna(value) else False


def summary_paths(output: Path) -> tuple[Path, Path]:
    """Where the summary of ``output`` goes: ``OUT.summary.md`` and ``OUT.summary.html``."""
    return output.with_name(output.name + ".summary.md"), output.with_name(output.name + ".summary.html")


def merge_summaries(summaries: list[Summary]) -> Summary:
    """One summary over several files' (the shards of ``voc.batch.distributed``), as if their rows had been one
    file's: counters and breakdowns added (a group beyond ``MAX_GROUPS`` goes to ``OTHER``), the top examples
    and alert rows of all kept (``TopK``), the first ``MAX_ERROR_ROWS`` error rows in shard order. Row
    numbers stay each shard's own, so the summary names rows by id (``voc.batch.distributed`` uses the shard)."""
    total = copy.deepcopy(summaries[0])
    for other in summaries[1:]:
        total.rows += other.rows
        total.errors += other.errors
        total.undated += other.undated
        total.unreadable += other.unreadable
        total.bad_dates += [v for v in other.bad_dates if v not in total.bad_dates][
            : MAX_BAD_DATES - len(total.bad_dates)
        ]
        total.order_hints.update(other.order_hints)
        total.ambiguous_example = total.ambiguous_example or other.ambiguous_example
        total.truncated.update(other.truncated)
        total.languages.update(other.languages)
        total.labels.update(other.labels)
        _merge_top(total.high, other.high)
        for key, top in other.examples.items():
            _merge_top(total.examples.setdefault(key, TopK(top.k)), top)
        total.error_rows += other.error_rows[: MAX_ERROR_ROWS - len(total.error_rows)]
        _merge_breakdown(total.by_day, other.by_day)
        _merge_breakdown(total.by_pair, other.by_pair)
        _merge_breakdown(total.by_group, other.by_group)
        for task, breakdown in other.by_label.items():
            _merge_breakdown(total.by_label[task], breakdown)
    return total


def _merge_top(into: TopK, other: TopK) -> None:
    for example in other.heap:
        into.add(example)


def _merge_breakdown(into: Breakdown, other: Breakdown) -> None:
    for key, counter in other.counts.items():
        if into.max_keys is not None and key not in into.counts and len(into.counts) >= into.max_keys:
            key = OTHER
        into.counts[key].update(counter)


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
