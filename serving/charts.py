"""Matplotlib charts for the summary page, as PNG data URIs, with fonts that can draw Hangul.

Matplotlib (3.6+) falls back glyph by glyph through the families named in ``font.family``; only fonts that are installed
are listed, so a machine without a CJK font draws Latin text as before and warns about nothing.
"""

from __future__ import annotations

import base64
import io
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .summary_render import ShareTable

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


def trend_chart(period: str, table: ShareTable, stacked_tasks: list[str]) -> str:
    """Rows per period on top, then per task in ``stacked_tasks`` (single-label: shares add up to 1) the
    share of each of its labels per period, stacked."""
    plt = _pyplot()
    names = [name for name, _, _ in table.rows]
    rows = [n for _, n, _ in table.rows]
    stacked = [(task, n) for task, n in table.tasks if task in stacked_tasks]
    fig, axes = plt.subplots(
        1 + len(stacked), 1, figsize=(9, 1.9 * (1 + len(stacked)) + 0.6), sharex=True, squeeze=False
    )
    axes = axes[:, 0]
    x = range(len(names))
    axes[0].bar(x, rows, color="#8c8c8c")
    axes[0].set_ylabel("rows")
    axes[0].set_title(f"Rows and label shares per {period}", loc="left")
    for ax, (task, width) in zip(axes[1:], stacked):
        start = next(i for i, (t, _) in enumerate(table.columns) if t == task)
        bottom = [0.0] * len(names)
        # Labels in schema order get ordered shades (the schema says nothing of which label is "bad").
        colors = plt.get_cmap("viridis")([0.3 + 0.65 * j / max(width - 1, 1) for j in range(width)])
        for j in range(width):
            shares = [r[2][start + j] for r in table.rows]
            ax.bar(x, shares, bottom=bottom, color=colors[j], label=table.columns[start + j][1])
            bottom = [b + s for b, s in zip(bottom, shares)]
        ax.set_ylim(0, 1)
        ax.set_ylabel(task)
        ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False, fontsize="small")
    step = max(1, len(names) // 12)
    axes[-1].set_xticks(list(x)[::step], names[::step], rotation=30, ha="right", fontsize="small")
    for ax in axes:
        ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    return _data_uri(fig)
