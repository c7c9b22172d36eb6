"""Check one hand-written source file of data/voc: format, label values, quotas and near-duplicates.

Usage: python data/voc/source/check_part.py data/voc/source/<name>.jsonl
"""

import itertools
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # data/: label_schema, read from data/labels.yaml
from label_schema import LEVELS, SENTIMENTS, THEMES  # noqa: E402

LANGS = {"ko", "en", "mixed"}
CHANNELS = {"app_review", "shop_review", "chat_survey", "email", "social", "call_note", "nps_comment"}
SENTIMENT = set(SENTIMENTS)
ESCALATION = set(LEVELS)
FIELDS = {"id", "text", "lang", "channel", "industry", "sentiment", "themes", "escalation"}


def grams(text: str, n: int = 3) -> set[str]:
    t = " ".join(text.lower().split())
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def main(path: str) -> None:
    rows, errors = [], []
    for no, line in enumerate(open(path, encoding="utf-8"), 1):
        if not line.strip():
            errors.append(f"line {no}: empty line")
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append(f"line {no}: bad JSON ({e})")
            continue
        if set(r) != FIELDS:
            errors.append(f"line {no}: fields {sorted(r)} != {sorted(FIELDS)}")
            continue
        if r["lang"] not in LANGS or r["channel"] not in CHANNELS or r["sentiment"] not in SENTIMENT:
            errors.append(f"line {no}: bad lang/channel/sentiment {r['lang']}/{r['channel']}/{r['sentiment']}")
        if r["escalation"] not in ESCALATION or not set(r["themes"]) <= set(THEMES) or len(set(r["themes"])) != len(r["themes"]):
            errors.append(f"line {no}: bad escalation/themes {r['escalation']}/{r['themes']}")
        if not r["text"].strip():
            errors.append(f"line {no}: empty text")
        rows.append(r)
    ids = Counter(r["id"] for r in rows)
    errors += [f"duplicate id {i}" for i, c in ids.items() if c > 1]
    n = len(rows)
    print(f"{path}: {n} rows, {len(errors)} errors")
    for e in errors[:30]:
        print("  ERROR", e)
    if not n:
        return
    pct = lambda c: f"{c} ({100 * c / n:.0f}%)"  # noqa: E731
    print("lang      ", {k: pct(v) for k, v in Counter(r["lang"] for r in rows).items()})
    print("channel   ", dict(Counter(r["channel"] for r in rows)))
    print("industry  ", dict(Counter(r["industry"] for r in rows)))
    print("sentiment ", {k: pct(v) for k, v in Counter(r["sentiment"] for r in rows).items()})
    print("escalation", {k: pct(v) for k, v in Counter(r["escalation"] for r in rows).items()})
    print("themes    ", {k: pct(v) for k, v in Counter(t for r in rows for t in r["themes"]).items()})
    print("no theme  ", pct(sum(not r["themes"] for r in rows)), " 2+ themes", pct(sum(len(r["themes"]) > 1 for r in rows)))
    lens = sorted(len(r["text"]) for r in rows)
    print("chars     ", f"min {lens[0]} median {lens[n // 2]} max {lens[-1]}; <15 chars: {sum(x < 15 for x in lens)}; >200 chars: {sum(x > 200 for x in lens)}")
    g = [grams(r["text"]) for r in rows]
    worst = sorted(
        ((len(a & b) / len(a | b), i, j) for (i, a), (j, b) in itertools.combinations(enumerate(g), 2)),
        reverse=True,
    )[:5]
    for s, i, j in worst:
        print(f"  near-dup jaccard {s:.2f}: {rows[i]['id']} | {rows[j]['id']}: {rows[i]['text'][:60]!r} ~ {rows[j]['text'][:60]!r}")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        main(p)
