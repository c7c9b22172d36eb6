"""Progress of a long ``voc score``: a tqdm bar on a terminal, and for ``--explain`` (about a second a row on
two cores) a line on stderr every ``EVERY_SECONDS`` elsewhere (a log, a CI job, ``nohup``), where a bar is
either hidden or one endless line."""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager
from typing import Any, TextIO

from tqdm import tqdm

EVERY_SECONDS = 30.0


class PeriodicLines(AbstractContextManager):
    """``update(n)`` as rows are done; every ``every`` seconds one line: rows done, rate, time left."""

    def __init__(self, total: int, label: str, every: float | None = None, stream: TextIO | None = None) -> None:
        self.total, self.label, self.done = total, label, 0
        self.every = EVERY_SECONDS if every is None else every
        self.stream = stream or sys.stderr
        self.started = self.last = time.monotonic()

    def update(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self.last >= self.every or (self.done >= self.total and self.last != self.started):
            self.last = now
            rate = self.done / max(now - self.started, 1e-9)
            left = (self.total - self.done) / rate if rate else float("inf")
            share = self.done / self.total if self.total else 1.0
            print(
                f"voc score: {self.label}: {self.done:,} of {self.total:,} rows ({share:.0%}), {rate:.1f} rows/s, "
                f"about {_duration(left)} left",
                file=self.stream,
                flush=True,
            )

    def __exit__(self, *exc: Any) -> None:
        return None


def _duration(seconds: float) -> str:
    if seconds == float("inf"):
        return "an unknown time"
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def progress_display(total: int, label: str, show: bool | None, explain: bool) -> AbstractContextManager:
    """What reports ``voc score``'s progress: a tqdm bar when ``show`` (``None``: only on a terminal); with
    ``explain`` and no terminal, :class:`PeriodicLines` instead of nothing."""
    on_terminal = sys.stderr.isatty()
    if explain and show is None and not on_terminal:
        return PeriodicLines(total, label)
    disable = None if show is None else not show  # tqdm: None = only on a terminal
    return tqdm(total=total, unit="rows", desc=label, disable=disable)
