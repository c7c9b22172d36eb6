"""The scoring summary on a small hand-made scored frame: every section, bounded state, labels from the schema."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from models.schema import LabelSchema
from serving.summary import MAX_ERROR_ROWS, NONE, Alert, Summary, _day
from serving.summary_render import alert_sentence, render_html, render_markdown, trend_table

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
                "error": error,
            }
        )
    return pd.DataFrame(records)


@pytest.fixture()
def summary() -> Summary:
    s = Summary(
        SCHEMA,
        Alert("risk", "urgent", threshold=0.35, recall=0.9),
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
    assert "| price | 3 | 67% | 33% | 67% | 33% |" in md
    assert f"| {NONE} | 1 | 0% | 100% | 100% | 0% |" in md


def test_trend_per_day_counts_dates_as_written_and_fills_gaps(summary):
    period, table = trend_table(summary)
    assert period == "day" and summary.undated == 1
    assert [(name, n) for name, n, _ in table.rows][:3] == [("2026-10-01", 2), ("2026-10-02", 0), ("2026-10-03", 1)]
    assert table.rows[-1][:2] == ("2026-10-09", 1)  # the error row on that day is not counted


def test_trend_switches_to_weeks_and_months_for_long_spans():
    s = Summary(SCHEMA, None, text_column="text", date_column="created")
    frame = scored_frame()[:2].assign(created=["2026-01-01", "2026-03-01"])
    s.update(frame, 0)
    assert trend_table(s)[0] == "week"
    s.update(frame.assign(created=["2027-06-01", "2027-06-02"]), 2)
    period, table = trend_table(s)
    assert period == "month" and table.rows[0][0] == "2026-01" and len(table.rows) == 18


def test_group_breakdown_and_error_rows_and_examples(summary):
    groups = summary.by_group.counts
    assert groups["app"]["rows"] == 2 and groups["email"][("topics", "staff")] == 1
    assert summary.error_rows == [(5, "T-004", "text is empty")]
    assert [(e.id, e.row) for e in summary.high.best()] == [("T-000", 1), ("T-001", 2)]
    assert [e.id for e in summary.examples[("topics", "price")].best()] == ["T-000", "T-003", "T-005"]
    md = render_markdown(summary, "in.csv")
    for heading in ("## Needs a human first: risk = urgent", "## Trend per day (created)", "## By channel"):
        assert heading in md
    assert "| 5 | T-004 | text is empty |" in md and "| app | 2 | 100% | 0% |" in md


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
    assert "reaches 0.35" in alert_sentence(Alert("risk", "urgent", 0.35, 0.9)) and "90%" in alert_sentence(
        Alert("risk", "urgent", 0.35, 0.9)
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
    assert _day(value) == day
