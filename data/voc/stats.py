"""Print the voc split counts as Markdown tables, so that the data card's numbers can be reproduced.

Counts per split: sentiment, each theme (plus rows with no theme and with two or more), escalation,
language, channel and industry. Run: python data/voc/stats.py
"""

import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # data/: label_schema, read from data/labels.yaml
from label_schema import LEVELS, SENTIMENTS, THEMES  # noqa: E402

HERE = Path(__file__).parent
SPLITS = ("train", "validation", "test")


def table(title: str, columns: list[str], counts: dict[str, Counter], sizes: dict[str, int]) -> None:
    print(f"\n{title}:\n")
    print("| split | " + " | ".join(columns) + " | total |")
    print("|---" * (len(columns) + 2) + "|")
    for name in (*SPLITS, "all"):
        cells = [str(counts[name][c]) for c in columns]
        print(f"| {name} | " + " | ".join(cells) + f" | {sizes[name]} |")


def main() -> None:
    rows = {name: [json.loads(line) for line in (HERE / f"{name}.jsonl").open(encoding="utf-8")] for name in SPLITS}
    rows["all"] = [r for name in SPLITS for r in rows[name]]
    sizes = {name: len(part) for name, part in rows.items()}

    def count(key) -> dict[str, Counter]:
        return {name: Counter(v for r in part for v in key(r)) for name, part in rows.items()}

    table("sentiment", list(SENTIMENTS), count(lambda r: [r["sentiment"]]), sizes)
    theme_cols = [*THEMES, "(none)", "(2+)"]
    table(
        "themes (a row counts once per theme)",
        theme_cols,
        count(lambda r: r["themes"] + ["(none)"] * (not r["themes"]) + ["(2+)"] * (len(r["themes"]) > 1)),
        sizes,
    )
    table("escalation", list(LEVELS), count(lambda r: [r["escalation"]]), sizes)
    table("lang", ["ko", "en", "mixed"], count(lambda r: [r["lang"]]), sizes)
    channels = sorted({r["channel"] for r in rows["all"]})
    table("channel", channels, count(lambda r: [r["channel"]]), sizes)
    industries = sorted({r["industry"] for r in rows["all"]})
    table("industry", industries, count(lambda r: [r["industry"]]), sizes)


if __name__ == "__main__":
    main()
