"""Share tables of the summary page: per key (a period, a group) its rows and the share of them carrying each
label; the page's tables and its trend chart (``voc.batch.charts``) both draw them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable
from dataclasses import dataclass

from .summary import ROWS

FEW_ROWS = 10  # a period or group with fewer scored rows is marked: its shares move a lot by chance


@dataclass
class ShareRow:
    """One key's rows and, per column, the share of them with the label; ``note`` marks a partial period or a
    small group; ``changes``: per column the change in share from the previous row (None: nothing to compare)."""

    name: str
    n: int
    shares: list[float]
    note: str = ""
    changes: list[float | None] | None = None

    @property
    def weak(self) -> bool:
        """Drawn lighter: a partial period or fewer than ``FEW_ROWS`` rows."""
        return bool(self.note)


@dataclass
class ShareTable:
    """Rows per key and, per ``(task, label)`` column, the share of that key's rows carrying the label."""

    key_title: str
    columns: list[tuple[str, str]]
    rows: list[ShareRow]

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
    """A ``ShareTable`` over ``keys`` (``(shown name, key)``), in that order; keys with under ``FEW_ROWS`` rows
    carry the note "few rows"."""
    rows = []
    for name, key in keys:
        counter = counts.get(key, Counter())
        n = counter[ROWS]
        note = "few rows" if 0 < n < FEW_ROWS else ""
        rows.append(ShareRow(name, n, [counter[c] / n if n else 0.0 for c in columns], note))
    return ShareTable(key_title, list(columns), rows)
