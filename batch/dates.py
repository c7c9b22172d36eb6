"""Reading the calendar day of a date cell for the summary's trend, without guessing silently.

A date as written keeps its own day (its time zone, not UTC). ``2026-11-05``, ``2026/11/05``, the Korean
Excel display ``2026. 11. 5. 오후 9:03`` and ``2026년 11월 5일`` are year-first and unambiguous. ``05/11/2026``
is not: :func:`read_day` returns it as a :class:`DayMonth` pair, and the summary decides day/month or
month/day once it has seen the whole column (:func:`date_order`: a first number over 12 means day-first, a
second over 12 month-first; when nothing tells, it reads month-first and says so). ``--date-format`` (a
``strptime`` format) or ``--day-first`` / ``--month-first`` settle it up front.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

import pandas as pd

DAY_FIRST, MONTH_FIRST = "day-first", "month-first"
# 05/11/2026, 5.11.26, 05-11-2026 21:03: two small numbers, then the year (the same separator twice).
_PAIR = re.compile(r"\s*(\d{1,2})([./-])\s*(\d{1,2})\2\s*(\d{4}|\d{2})(?:[ T]\s*(?P<time>.*))?\s*")
# 2026. 11. 5. 오후 9:03 (Excel's Korean display), 2026.11.05, 2026년 11월 5일 오전 9시 3분
_KOREAN = re.compile(
    r"\s*(\d{4})\s*[.년]\s*(\d{1,2})\s*[.월]\s*(\d{1,2})\s*[.일]?"
    r"(?:\s*(?:오전|오후|AM|PM|am|pm)?\s*\d{1,2}\s*[:시]\s*\d{1,2}\s*분?(?:\s*:?\s*\d{1,2}\s*초?)?)?\s*"
)
_TIME = re.compile(r"\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([AaPp][Mm])?\s*(Z|[+-]\d{2}:?\d{2})?")


@dataclass(frozen=True)
class DateOptions:
    """How to read the date column: ``format`` (``strptime``; only it is used) or a fixed day/month order."""

    format: str | None = None
    day_first: bool | None = None  # None: decided from the column (date_order)


class DayMonth(NamedTuple):
    """A ``NN/NN/YYYY`` date whose order is decided once the whole column is seen."""

    year: int
    first: int
    second: int

    def day(self, order: str) -> dt.date | None:
        """The date in ``order`` (``DAY_FIRST`` or ``MONTH_FIRST``); ``None`` if that order gives no date."""
        day, month = (self.first, self.second) if order == DAY_FIRST else (self.second, self.first)
        try:
            return dt.date(self.year, month, day)
        except ValueError:
            return None

    def hint(self) -> str | None:
        """Which order this value proves on its own (a number over 12 cannot be a month), if any."""
        if self.first > 12 >= self.second:
            return DAY_FIRST
        if self.second > 12 >= self.first:
            return MONTH_FIRST
        return None


def is_blank(value: object) -> bool:
    """An empty cell: no date was given (as opposed to one that cannot be read)."""
    if value is None or value is pd.NaT:
        return True
    if isinstance(value, float) and value != value:
        return True
    return isinstance(value, str) and not value.strip()


def read_day(value: object, options: DateOptions = DateOptions()) -> dt.date | DayMonth | None:
    """The calendar day of ``value`` as written, a ``DayMonth`` still to be ordered, or ``None`` if unreadable."""
    if value is pd.NaT:
        return None
    if isinstance(value, dt.datetime):  # a Parquet/xlsx timestamp: its own wall-clock day
        return value.date()
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if options.format:
        try:
            return dt.datetime.strptime(text, options.format).date()
        except ValueError:
            return None
    if m := _KOREAN.fullmatch(text):
        try:
            return dt.date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            return None
    if m := _PAIR.fullmatch(text):
        if m["time"] and not _TIME.fullmatch(m["time"].strip()):
            return None
        year = int(m[4]) + (2000 if len(m[4]) == 2 else 0)
        pair = DayMonth(year, int(m[1]), int(m[3]))
        if options.day_first is None:
            return pair
        return pair.day(DAY_FIRST if options.day_first else MONTH_FIRST)
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, OverflowError):
        return None
    return None if pd.isna(stamp) else stamp.date()


def date_order(hints: Counter) -> tuple[str, bool]:
    """The order to read ``DayMonth`` values in, from the rows that prove one (``hints``), and whether the
    column left it open (no row proves either, or rows prove both equally): then month-first, with a warning."""
    day, month = hints[DAY_FIRST], hints[MONTH_FIRST]
    if day > month:
        return DAY_FIRST, False
    return MONTH_FIRST, day == month
