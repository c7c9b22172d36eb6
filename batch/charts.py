"""Matplotlib charts for the summary page, as PNG data URIs, with fonts that can draw Hangul, and the colour of
each label on the whole page (charts and tables alike).

Colours (Okabe & Ito's palette, safe for the common colour-vision deficiencies) carry one meaning each: the
bad end of an ordered task and the alert label (negative sentiment, high escalation) are vermillion, the good
end (positive, low) blue, the middle (neutral, medium) light grey; every other label (the themes) gets a hue
of its own that no other label on the page has. Row counts are dark grey.

Matplotlib (3.6+) falls back glyph by glyph through the families named in ``font.family``; only fonts that are installed
are listed, so a machine without a CJK font draws Latin text as before and warns about nothing.
"""

from __future__ import annotations

import base64
import io
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from .shares import FEW_ROWS

if TYPE_CHECKING:
    from voc.models.schema import LabelSchema

    from .shares import ShareTable
    from .summary import Alert

# Okabe-Ito (https://jfly.uni-koeln.de/color/): distinguishable with deuteranopia, protanopia and tritanopia.
BAD, GOOD, MIDDLE = "#D55E00", "#0072B2", "#BBBBBB"  # vermillion, blue, light grey
# Themes: orange, bluish green, reddish purple, black, sky blue, yellow.
OTHER_HUES = ("#E69F00", "#009E73", "#CC79A7", "#000000", "#56B4E9", "#F0E442")
ROWS_COLOUR = "#555555"
BAD_LABELS = frozenset({"negative", "high", "urgent", "critical", "angry"})
GOOD_LABELS = frozenset({"positive", "low", "calm"})
MIDDLE_LABELS = frozenset({"neutral", "medium", "mixed"})
MARKERS = ("o", "s", "^", "D", "v", "P")

# The same families as the HTML's font stack (templates/summary.html), Linux names first.
CJK_FONTS = (
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Apple SD Gothic Neo",
    "Malgun Gothic",
    "NanumGothic",
    "Source Han Sans KR",
)
CJK_FILE_KEYS = ("CJK", "NotoSansKR", "Nanum", "malgun", "AppleSDGothic", "SourceHanSans")


def label_colours(schema: LabelSchema, alert: Alert | None = None) -> dict[tuple[str, str], str]:
    """One colour per ``(task, label)`` for the whole page (see the module docstring)."""
    out, hues = {}, iter(OTHER_HUES * 4)
    for task in schema.tasks:
        for label in task.labels:
            if label in BAD_LABELS or (alert is not None and (task.name, label) == (alert.task, alert.label)):
                out[(task.name, label)] = BAD
            elif label in GOOD_LABELS:
                out[(task.name, label)] = GOOD
            elif label in MIDDLE_LABELS:
                out[(task.name, label)] = MIDDLE
            else:
                out[(task.name, label)] = next(hues)
    return out


@cache
def _pyplot():
    """pyplot on the Agg backend, with the installed CJK fonts after DejaVu Sans in ``font.family``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    if not any(name in installed for name in CJK_FONTS):
        # Matplotlib's font cache predates a CJK font installed since: add the system's CJK files by name.
        for path in font_manager.findSystemFonts():
            if any(key in Path(path).name for key in CJK_FILE_KEYS):
                font_manager.fontManager.addfont(path)
        installed = {f.name for f in font_manager.fontManager.ttflist}
    fallback = [name for name in CJK_FONTS if name in installed]
    matplotlib.rcParams["font.family"] = ["DejaVu Sans", *fallback]  # families, not "sans-serif": fallback needs names
    return plt


def _data_uri(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    _pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def trend_chart(period: str, table: ShareTable, stacked_tasks: list[str], colours: dict[tuple[str, str], str]) -> str:
    """Rows per period on top (each bar's count above it); per single-label task in ``stacked_tasks`` the share
    of each label, stacked; then one line per multi-label label (its share of the period's rows). A partial
    period or one with few rows is hatched and lighter, so that it is not read like a full one."""
    plt = _pyplot()
    names = [row.name for row in table.rows]
    weak = [row.weak for row in table.rows]
    stacked = [(task, n) for task, n in table.tasks if task in stacked_tasks]
    lines = [(task, n) for task, n in table.tasks if task not in stacked_tasks]
    panels = 1 + len(stacked) + len(lines)
    fig, axes = plt.subplots(panels, 1, figsize=(9, 1.9 * panels + 0.9), sharex=True, squeeze=False)
    axes = axes[:, 0]
    x = list(range(len(names)))
    rows = [row.n for row in table.rows]
    _bars(axes[0], x, rows, [0] * len(x), ROWS_COLOUR, weak)
    for i, n in zip(x, rows):
        axes[0].annotate(f"{n:,}", (i, n), ha="center", va="bottom", fontsize="x-small", color=ROWS_COLOUR)
    axes[0].set_ylabel("rows")
    axes[0].set_ylim(0, max(rows + [1]) * 1.18)
    axes[0].set_title(
        f"Rows and label shares per {period} (hatched, lighter: a partial {period} or under {FEW_ROWS} rows)",
        loc="left",
    )
    panel = iter(axes[1:])
    for task, width in stacked:
        ax, start = next(panel), _first_column(table, task)
        bottom = [0.0] * len(names)
        for j in range(start, start + width):
            shares = [row.shares[j] for row in table.rows]
            _bars(ax, x, shares, bottom, colours[table.columns[j]], weak, label=table.columns[j][1])
            bottom = [b + s for b, s in zip(bottom, shares)]
        _share_axis(ax, task)
    for task, width in lines:
        ax, start = next(panel), _first_column(table, task)
        for k, j in enumerate(range(start, start + width)):
            shares = [row.shares[j] if row.n else float("nan") for row in table.rows]
            colour, marker = colours[table.columns[j]], MARKERS[k % len(MARKERS)]
            ax.plot(x, shares, color=colour, marker=marker, label=table.columns[j][1], linewidth=1.5, markersize=5)
            hollow = [(i, v) for i, v, w in zip(x, shares, weak) if w]
            if hollow:  # a weak period's point drawn hollow
                ax.scatter(*zip(*hollow), marker=marker, s=30, facecolors="white", edgecolors=colour, zorder=3)
        _share_axis(ax, f"{task}\n(share of rows)")
        ax.set_ylim(0, max(1e-9, *(row.shares[j] for row in table.rows for j in range(start, start + width))) * 1.15)
    step = max(1, len(names) // 12)
    axes[-1].set_xticks(x[::step], names[::step], rotation=30, ha="right", fontsize="small")
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _data_uri(fig)


def _first_column(table: ShareTable, task: str) -> int:
    return next(i for i, (t, _) in enumerate(table.columns) if t == task)


def _bars(ax, x, heights, bottom, colour, weak, label=None) -> None:
    """Bars of one colour; weak ones hatched and lighter."""
    strong = [(i, h, b) for i, h, b, w in zip(x, heights, bottom, weak) if not w]
    light = [(i, h, b) for i, h, b, w in zip(x, heights, bottom, weak) if w]
    if strong:
        i, h, b = zip(*strong)
        ax.bar(i, h, bottom=b, color=colour, label=label, edgecolor="white", linewidth=0.5)
    if light:
        i, h, b = zip(*light)
        ax.bar(
            i,
            h,
            bottom=b,
            color=colour,
            alpha=0.4,
            hatch="///",
            edgecolor="white",
            linewidth=0.5,
            label=None if strong else label,
        )


def _share_axis(ax, title: str) -> None:
    ax.set_ylim(0, 1)
    ax.set_ylabel(title)
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize="small")
