"""The scoring summary on a small hand-made scored frame: every section, bounded state, labels from the schema."""

from __future__ import annotations

import datetime as dt
import pickle

import numpy as np
import pandas as pd
import pytest
from markupsafe import escape

from voc.batch.dates import DateOptions, read_day
from voc.batch.summary import MAX_ERROR_ROWS, NONE, OTHER, Alert, Summary, merge_summaries
from voc.batch.summary_render import alert_sentence, render_html, render_markdown, trend_table
from voc.models.schema import LabelSchema

SCHEMA = LabelSchema.from_dict(
    {
        "tasks": {
            "mood": {"type": "single", "labels": ["bad", "ok"]},
            "topics": {"type": "multi", "labels": ["price", "staff"]},
            "risk": {"type": "single", "labels": ["calm", "urgent"]},
        }
    }
)
ROWS = [  # (text, date, channel, mood, topics, risk, p_urgent, error)
    ("too expensive <b>", "2026-10-01T21:10:00+09:00", "app", "bad", ["price"], "urgent", 0.9, None),
    ("rude staff", "2026-10-01", "app", "bad", ["staff"], "urgent", 0.7, None),
    ("fine", "2026-10-03", "email", "ok", [], "calm", 0.1, None),
    ("staff helped, fair price", "2026-10-09", "email", "ok", ["price", "staff"], "calm", 0.2, None),
    ("", "2026-10-09", "app", None, None, None, np.nan, "text is empty"),
    ("no date", "", "social", "bad", ["price"], "calm", 0.3, None),
]


def scored_frame(rows=ROWS) -> pd.DataFrame:
    records = []
    for i, (text, date, channel, mood, topics, risk, p_urgent, error) in enumerate(rows):
        records.append(
            {
                "id": f"T-{i:03d}",
                "text": text,
                "created": date,
                "channel": channel,
                "mood": mood,
                "topics": topics,
                "risk": risk,
                "topics.price": 0.8 if topics and "price" in topics else 0.1,
                "topics.staff": 0.6 if topics and "staff" in topics else 0.2,
                "risk.urgent": p_urgent,
                "language": None if error else "en",
                "truncated": None if error else False,
                "error": error,
            }
        )
    return pd.DataFrame(records)


@pytest.fixture()
def summary() -> Summary:
    s = Summary(
        SCHEMA,
        Alert("risk", "urgent", threshold=0.35, target_recall=0.9),
        text_column="text",
        id_column="id",
        date_column="created",
        group_column="channel",
    )
    frame = scored_frame()
    for start in range(0, len(frame), 4):  # two chunks, row numbers continue
        s.update(frame.iloc[start : start + 4].reset_index(drop=True), start)
    return s


def test_counts_use_the_schema_labels_and_a_no_label_bucket(summary):
    counts = dict(summary.label_counts())
    assert counts["mood"] == [("bad", 3), ("ok", 2)]
    assert counts["topics"] == [("price", 3), ("staff", 2), (NONE, 1)]
    assert counts["risk"] == [("calm", 3), ("urgent", 2)]
    assert (summary.rows, summary.errors) == (6, 1)


def test_cross_table_gives_each_topic_its_share_of_each_label(summary):
    counts = summary.by_label["topics"].counts
    assert counts["price"]["rows"] == 3 and counts["price"][("mood", "bad")] == 2
    assert counts["staff"][("risk", "urgent")] == 1 and counts[NONE][("mood", "ok")] == 1
    md = render_markdown(summary, "in.csv")
    assert "| price (few rows) | 3 | 67% | 33% | 67% | 33% |" in md
    assert f"| {NONE} (few rows) | 1 | 0% | 100% | 100% | 0% |" in md


def test_trend_per_day_counts_dates_as_written_and_fills_gaps(summary):
    period, table = trend_table(summary)
    assert period == "day" and summary.undated == 1
    assert [(r.name, r.n) for r in table.rows][:3] == [("2026-10-01", 2), ("2026-10-02", 0), ("2026-10-03", 1)]
    assert (table.rows[-1].name, table.rows[-1].n) == ("2026-10-09", 1)  # the error row on that day is not counted


def test_trend_switches_to_weeks_and_months_for_long_spans():
    s = Summary(SCHEMA, None, text_column="text", date_column="created")
    frame = scored_frame()[:2].assign(created=["2026-01-01", "2026-03-01"])
    s.update(frame, 0)
    assert trend_table(s)[0] == "week"
    s.update(frame.assign(created=["2027-06-01", "2027-06-02"]), 2)
    period, table = trend_table(s)
    assert period == "month" and table.rows[0].name == "2026-01" and len(table.rows) == 18


def test_group_breakdown_and_error_rows_and_examples(summary):
    groups = summary.by_group.counts
    assert groups["app"]["rows"] == 2 and groups["email"][("topics", "staff")] == 1
    assert summary.error_rows == [(5, "T-004", "text is empty")]
    assert [(e.id, e.row) for e in summary.high.best()] == [("T-000", 1), ("T-001", 2)]
    assert [e.id for e in summary.examples[("topics", "price")].best()] == ["T-000", "T-003", "T-005"]
    md = render_markdown(summary, "in.csv")
    for heading in ("## Needs a human first: risk = urgent", "## Trend per day (created)", "## By channel"):
        assert heading in md
    assert "| 5 | T-004 | text is empty |" in md and "| app (few rows) | 2 | 100% | 0% |" in md


def test_error_rows_are_bounded():
    s = Summary(SCHEMA, None, text_column="text")
    bad = scored_frame([ROWS[4]] * (MAX_ERROR_ROWS + 7))
    s.update(bad, 0)
    assert len(s.error_rows) == MAX_ERROR_ROWS and s.errors == MAX_ERROR_ROWS + 7
    assert "and 7 more" in render_markdown(s, "in.csv")


def test_html_is_escaped_and_has_the_sections_and_one_chart(summary):
    html = render_html(summary, "<in>.csv")
    assert "&lt;in&gt;.csv" in html and "too expensive &lt;b&gt;" in html and "<b>" not in html.split("<body>")[1]
    assert html.count("data:image/png;base64,") == 1  # the trend; counts and shares are tables
    for anchor in ("alert", "labels", "cross", "trend", "groups", "examples", "errors"):
        assert f'id="{anchor}"' in html
    assert "Noto Sans KR" in html


def test_alert_sentence_names_the_threshold():
    assert "reaches 0.35" in alert_sentence(Alert("risk", "urgent", 0.35, 0.9)) and "aiming to catch 90%" in (
        alert_sentence(Alert("risk", "urgent", 0.35, 0.9))
    )
    assert "most likely" in alert_sentence(Alert("risk", "urgent"))


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("2026-10-01T23:30:00+09:00", dt.date(2026, 10, 1)),
        (pd.Timestamp("2026-10-02 01:00"), dt.date(2026, 10, 2)),
        (pd.NaT, None),
        ("not a date", None),
        ("", None),
        (None, None),
        (5, None),
    ],
)
def test_day_reads_dates_in_their_own_time_zone(value, day):
    assert read_day(value) == day


def _fresh() -> Summary:
    return Summary(
        SCHEMA,
        Alert("risk", "urgent", threshold=0.35, target_recall=0.9),
        id_column="id",
        date_column="created",
        group_column="channel",
    )


def test_merged_shard_summaries_equal_one_summary_of_all_rows(summary):
    """``merge_summaries`` (``voc score --engine ray``): shards summed as if they were one file."""
    frame = scored_frame()
    shards = []
    for start, end in ((0, 2), (2, 5), (5, 6)):  # three shards; numbered on, so that ties break alike
        part = _fresh()
        part.update(frame.iloc[start:end].reset_index(drop=True), start)
        shards.append(pickle.loads(pickle.dumps(part)))  # as the Ray actors send them
    merged = merge_summaries(shards)
    assert (merged.rows, merged.errors, merged.undated) == (summary.rows, summary.errors, summary.undated)
    assert merged.languages == summary.languages and merged.labels == summary.labels
    assert merged.label_counts() == summary.label_counts()
    assert [(e.id, e.score) for e in merged.high.best()] == [(e.id, e.score) for e in summary.high.best()]
    for key, top in summary.examples.items():
        assert [(e.id, e.score) for e in merged.examples[key].best()] == [(e.id, e.score) for e in top.best()]
    assert merged.error_rows == summary.error_rows == [(5, "T-004", "text is empty")]
    for name in ("by_day", "by_group"):
        assert dict(getattr(merged, name).counts) == dict(getattr(summary, name).counts)
    assert {k: dict(v.counts) for k, v in merged.by_label.items()} == {
        k: dict(v.counts) for k, v in summary.by_label.items()
    }
    assert render_markdown(merged, "x") == render_markdown(summary, "x")
    assert shards[0].rows == 2  # the inputs are left as they were


def test_merging_keeps_the_bounds(monkeypatch):
    frame = scored_frame([ROWS[4]] * 3)
    parts = []
    for channel in ("a", "b", "c"):
        part = _fresh()
        part.by_group.max_keys = 2
        part.update(scored_frame([ROWS[0][:2] + (channel,) + ROWS[0][3:]]), 0)
        part.update(frame, 1)
        parts.append(part)
    monkeypatch.setattr("voc.batch.summary.MAX_ERROR_ROWS", 4)
    merged = merge_summaries(parts)
    assert set(merged.by_group.counts) == {"a", "b", OTHER}
    assert merged.by_group.counts[OTHER]["rows"] == 1  # group "c"'s one scored row (error rows are not broken down)
    assert len(merged.error_rows) == 4 and merged.errors == 9


def _dated(dates, languages=None, truncated=None, options=None, group="channel") -> Summary:
    """A summary of len(dates) scored rows (ROWS[0] repeated) with these date cells."""
    s = Summary(
        SCHEMA,
        Alert("risk", "urgent", threshold=0.35),
        text_column="text",
        id_column="id",
        date_column="created",
        group_column=group,
        date_options=options or DateOptions(),
    )
    frame = scored_frame([ROWS[0]] * len(dates)).assign(created=dates)
    if languages is not None:
        frame = frame.assign(language=languages)
    if truncated is not None:
        frame = frame.assign(truncated=truncated)
    s.update(frame, 0)
    return s


def test_truncated_rows_are_counted_per_language_on_every_surface():
    """Issue 22 (1): 87 of 364 rows came back truncated and nothing said so."""
    s = _dated(["2026-10-01"] * 5, ["ko", "ko", "en", "mixed", "ko"], [True, True, False, True, False])
    assert s.truncated == {"ko": 2, "mixed": 1}
    assert (
        s.truncated_note()
        == "3 of 5 scored rows truncated (the model did not read all of their text: ko 2 of 3, mixed 1 of 1)"
    )
    assert "3 truncated: ko 2, mixed 1" in s.outcome() and s.truncated_note() in s.warnings()
    assert s.truncated_note() in render_markdown(s, "in.csv")
    html = render_html(s, "in.csv")
    assert s.truncated_note() in html and 'id="truncated"' in html
    merged = merge_summaries([s, _dated(["2026-10-01"], ["en"], [True])])
    assert merged.truncated == {"ko": 2, "mixed": 1, "en": 1}


def test_ambiguous_day_month_dates_are_flagged_not_silently_read():
    """Issue 22 (2): 05/11/2026 was read month-first without a word."""
    s = _dated(["05/11/2026", "06/11/2026", "06/11/2026"])
    (note,) = s.date_notes()
    assert "3 dates in created (such as '05/11/2026') could be day/month or month/day" in note
    assert "read as month/day" in note and "--day-first" in note
    assert set(s.days()[0]) == {dt.date(2026, 5, 11), dt.date(2026, 6, 11)}
    assert note in render_markdown(s, "in.csv") and escape(note) in render_html(s, "in.csv")


def test_a_day_over_12_settles_the_order_for_the_whole_column():
    s = _dated(["05/11/2026", "25/11/2026", "30.11.2026 21:03", "10-12-2026"])
    assert s.date_order() == ("day-first", False)
    assert sorted(s.days()[0]) == [
        dt.date(2026, 11, 5),
        dt.date(2026, 11, 25),
        dt.date(2026, 11, 30),
        dt.date(2026, 12, 10),
    ]
    assert "read as day/month: 2 of them can only be read that way" in s.date_notes()[0]
    # Shards: one shard's proof settles the other's pairs too.
    merged = merge_summaries([_dated(["05/11/2026"]), _dated(["25/11/2026"])])
    assert sorted(merged.days()[0]) == [dt.date(2026, 11, 5), dt.date(2026, 11, 25)]


@pytest.mark.parametrize(
    ("options", "cell", "day"),
    [
        (DateOptions(day_first=True), "05/11/2026", dt.date(2026, 11, 5)),
        (DateOptions(day_first=False), "05/11/2026", dt.date(2026, 5, 11)),
        (DateOptions(format="%d.%m.%Y %H:%M"), "05.11.2026 21:03", dt.date(2026, 11, 5)),
        (DateOptions(format="%d.%m.%Y %H:%M"), "2026-11-05", None),  # only the format given is used
        (DateOptions(), "2026. 11. 5. 오후 9:03", dt.date(2026, 11, 5)),  # Excel's Korean display
        (DateOptions(), "2026. 11. 15. 오전 10:03:59", dt.date(2026, 11, 15)),
        (DateOptions(), "2026년 11월 5일", dt.date(2026, 11, 5)),
        (DateOptions(), "2026.11.05", dt.date(2026, 11, 5)),
        (DateOptions(), "2026. 13. 5.", None),
        (DateOptions(), "Nov 5, 2026", dt.date(2026, 11, 5)),
        (DateOptions(), "05/11/2026 banana", None),
    ],
)
def test_date_options_and_the_korean_excel_format(options, cell, day):
    assert read_day(cell, options) == day


def test_unreadable_and_missing_dates_are_counted_in_markdown_too():
    """Issue 22 (2): the Markdown summary silently dropped the trend."""
    s = _dated(["soon", "", "later"])
    md, html = render_markdown(s, "in.csv"), render_html(s, "in.csv")
    unreadable = (
        "2 scored rows have a date in created that could not be read ('soon', 'later') and are not in the trend"
    )
    missing = "1 scored row has no date in created and is not in the trend"
    for page, said in ((md, unreadable), (html, escape(unreadable))):
        assert said in page and missing in page and "No scored row has a readable date in created" in page
    assert "3 without a readable date" in s.outcome()
    assert "month/day" not in md  # no pair, no word on the order


class _Model:
    """What Alert.of reads of a predictor."""

    def __init__(self, meta):
        self.meta, self.thresholds = meta, meta["thresholds"]


def _alert_metrics(path, precision, recall, support, predicted):
    return {
        "data": [{"path": path, "rows": 100}],
        "alert": {
            "model": {"task": "risk", "label": "urgent", "precision": precision, "recall": recall, "f1": 0.1}
            | {"support": support, "predicted": predicted}
        },
    }


def test_the_alert_states_its_measured_recall_and_precision_not_the_validation_target():
    """Issue 22 (4): "caught 90% of such rows in validation" while the real airline test measured 8.7%."""
    meta = {
        "alert": "risk.urgent",
        "thresholds": {"risk": {"urgent": 0.38}},
        "training": {"alert_recall": 0.9},
        "decision_rule": "threshold-only",
        "test_metrics": {
            "data/voc/test.jsonl": _alert_metrics("data/voc/test.jsonl", 0.8, 0.85, 40, 42),
            "data/real/airline_en/test.jsonl": _alert_metrics("data/real/airline_en/test.jsonl", 0.5, 0.087, 23, 4),
        },
    }
    alert = Alert.of(_Model(meta))
    assert [(m.file, m.recall) for m in alert.measured] == [
        ("data/voc/test.jsonl", 0.85),
        ("data/real/airline_en/test.jsonl", 0.087),
    ]
    s = Summary(SCHEMA, alert, text_column="text", id_column="id")
    s.update(scored_frame(), 0)
    for page in (render_markdown(s, "in.csv"), render_html(s, "in.csv")):
        assert "caught 90%" not in page and "aiming to catch 90% of such rows there" in page
        assert "data/real/airline_en/test.jsonl" in page and "8.7%" in page and "85.0%" in page
        assert "earlier rule" not in page
    older = Alert.of(_Model({k: v for k, v in meta.items() if k != "decision_rule"}))
    assert older.rule_changed and "earlier rule" in render_markdown(Summary(SCHEMA, older), "x")
    headline_only = {k: v for k, v in meta.items() if k != "test_metrics"}
    headline_only["metrics"] = meta["test_metrics"]["data/voc/test.jsonl"]
    assert [m.file for m in Alert.of(_Model(headline_only)).measured] == ["data/voc/test.jsonl"]
    bare = Alert.of(_Model({"alert": "risk.urgent", "thresholds": {}}))
    assert "stores no measured precision or recall" in render_markdown(Summary(SCHEMA, bare), "x")


def test_one_colour_per_meaning_and_red_for_the_bad_end():
    """Issue 22 (7): negative and low escalation shared one blue, positive and high one yellow."""
    from voc.batch.charts import BAD, GOOD, MIDDLE, label_colours

    voc = LabelSchema.from_dict(
        {
            "tasks": {
                "sentiment": {"type": "single", "labels": ["negative", "neutral", "positive"]},
                "themes": {"type": "multi", "labels": ["speed", "empathy", "resolution", "trust"]},
                "escalation": {"type": "single", "labels": ["low", "medium", "high"]},
            }
        }
    )
    colours = label_colours(voc, Alert("escalation", "high", 0.38))
    assert colours[("sentiment", "negative")] == colours[("escalation", "high")] == BAD
    assert colours[("sentiment", "positive")] == colours[("escalation", "low")] == GOOD
    assert colours[("sentiment", "neutral")] == colours[("escalation", "medium")] == MIDDLE
    themes = [colours[("themes", t)] for t in ("speed", "empathy", "resolution", "trust")]
    assert len(set(themes)) == 4 and not set(themes) & {BAD, GOOD, MIDDLE}
    # The alert label is red whatever it is called.
    assert label_colours(SCHEMA, Alert("risk", "urgent"))[("risk", "urgent")] == BAD


def test_trend_marks_partial_and_small_periods_shows_changes_and_draws_themes(monkeypatch):
    """Issue 22 (7): a 4-row partial week drawn like a full one, no themes, no week-over-week change."""
    start = dt.date(2026, 10, 1)  # a Thursday: the first week is partial
    dates = [str(start + dt.timedelta(days=i // 12)) for i in range(12 * 44)]  # 44 days, 12 rows a day
    s = _dated(dates)
    period, table = trend_table(s)
    assert period == "week"
    assert table.rows[0].note == "partial: 4 of 7 days" and table.rows[0].weak
    assert not table.rows[1].note and table.rows[1].changes == [0.0] * len(table.columns)
    assert table.rows[-1].note.startswith("partial: ")
    md = render_markdown(s, "in.csv")
    assert "| week of 2026-09-28 (partial: 4 of 7 days) | 48 |" in md and "(+0 pts)" in md
    assert "week of 2026-11-02 against week of 2026-10-26" in md
    few = _dated(["2026-10-01"] * 3 + ["2026-10-02"] * 20)
    assert [r.note for r in trend_table(few)[1].rows] == ["few rows", ""]

    figures = []
    monkeypatch.setattr("voc.batch.charts._data_uri", lambda fig: figures.append(fig) or "data:")
    render_html(s, "in.csv")
    (fig,) = figures
    panels = fig.get_axes()
    assert [ax.get_ylabel() for ax in panels] == ["rows", "mood", "risk", "topics\n(share of rows)"]
    assert [line.get_label() for line in panels[-1].get_lines()] == ["price", "staff"]


def test_the_alert_table_has_the_group_and_date_columns(summary):
    md = render_markdown(summary, "in.csv")
    assert "| row | id | channel | created | p(urgent) | text |" in md
    assert "| 1 | T-000 | app | 2026-10-01T21:10:00+09:00 | 0.900 |" in md
    html = render_html(summary, "in.csv")
    assert '<th class="id">channel</th><th class="id">created</th>' in html
