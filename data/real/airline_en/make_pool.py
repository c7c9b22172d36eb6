"""Draw the pool of airline tweets to label for themes and escalation (seeded, from the train split only).

The bundled airline test split is never drawn from: it stays the public sentiment benchmark.
Exact duplicate texts (retweets, copy-paste) are kept once. Writes pool.jsonl: id, text, crowd sentiment,
and negativereason (a cross-check for annotators' themes, never the label).
"""

import json
import random
from pathlib import Path

HERE = Path(__file__).parent
SOURCE = HERE.parents[1] / "public" / "airline_tweets_en" / "train.jsonl"
N, SEED = 1650, 2026


def main() -> None:
    rows, seen = [], set()
    for line in SOURCE.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        key = " ".join(r["text"].lower().split())
        if key not in seen:
            seen.add(key)
            rows.append(r)
    random.Random(SEED).shuffle(rows)
    with (HERE / "pool.jsonl").open("w", encoding="utf-8") as f:
        for r in sorted(rows[:N], key=lambda r: r["id"]):
            keep = {
                "id": r["id"],
                "text": r["text"],
                "sentiment": r["sentiment"],
                "negativereason": r.get("negativereason"),
            }
            f.write(json.dumps(keep, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
