"""Draw 3,000 more airline tweets to label (issue: real English labels at scale), from the train split only.

The first pool (make_pool.py, 1,650 tweets) gave every split. These rows add to them (build_splits.py), so that
the real English test has enough ``high`` tweets to measure the alert. Two draws, both seeded, both without
the first pool's texts (exact duplicates, case and spacing ignored, are kept once):

- ``uniform`` (1,000): a uniform random draw. Test and validation rows come only from here, so both stay
  tweets as they arrive (and the alert's operating point is fitted on such tweets).
- ``enriched`` (2,000): tweets that match the written rule :data:`CUES` (churn, legal, public, anger, empathy and
  trust cues, or a crowd ``negativereason`` about staff or luggage), most cue groups first. The rare labels
  (``high``, ``empathy``, ``trust``) are 5-10% of a uniform draw; training needs more of them.

Writes pool_more.jsonl (id, text, crowd sentiment, negativereason, draw) and annotation/to_label_d..i.jsonl
(id and text only: annotators never see the crowd's labels).

Run: python data/real/airline_en/make_pool_more.py
"""

import json
import random
import re
from pathlib import Path

HERE = Path(__file__).parent
SOURCE = HERE.parents[1] / "public" / "airline_tweets_en" / "train.jsonl"
N_UNIFORM, N_ENRICHED, SEED, SLICE = 1000, 2000, 2027, 500
CUES = {
    "churn": r"never (again|fly|flying|use|book)|last time|switch(ing)? to|won'?t (fly|be flying|book)|done with|"
    r"take my business|lost (a|my) (customer|business)|other airlines?|cancel(l?ing)? my (card|account|membership)",
    "legal": r"lawyer|attorney|\bsue\b|lawsuit|legal|\bDOT\b|\bFAA\b|\bBBB\b|file a complaint|chargeback",
    "public": r"\bmedia\b|\bnews\b|\bpress\b|reporter|viral|tell everyone",
    "anger": r"worst|disgust|ridiculous|pathetic|unacceptable|horrible|terrible|furious|\bfuck|\bshit|\bhate\b",
    "empathy": r"\brude|attitude|\bkind\b|friendly|courteous|apolog|yell|hung up|disrespect|\bcare\b",
    "trust": r"\bfees?\b|charged|\blie\b|\blied\b|lying|promis|refund|voucher|hidden|scam|stole",
}
REASONS = {"Customer Service Issue", "Lost Luggage", "Damaged Luggage"}


def key(text: str) -> str:
    return " ".join(text.lower().split())


def cue_score(row: dict) -> int:
    """How many cue groups of the written rule the tweet hits (a staff or luggage complaint counts as one)."""
    hits = sum(bool(re.search(pattern, row["text"], re.I)) for pattern in CUES.values())
    return hits + (row.get("negativereason") in REASONS)


def main() -> None:
    taken = {key(json.loads(line)["text"]) for line in (HERE / "pool.jsonl").open(encoding="utf-8")}
    rows = []
    for line in SOURCE.open(encoding="utf-8"):
        r = json.loads(line)
        if key(r["text"]) not in taken:
            taken.add(key(r["text"]))
            rows.append(r)
    rng = random.Random(SEED)
    rng.shuffle(rows)
    uniform, rest = rows[:N_UNIFORM], rows[N_UNIFORM:]
    scored = sorted((r for r in rest if cue_score(r) > 0), key=cue_score, reverse=True)  # stable: shuffled ties
    enriched = scored[:N_ENRICHED]
    assert len(enriched) == N_ENRICHED, f"only {len(enriched)} tweets match the rule"
    drawn = [(r, "uniform") for r in uniform] + [(r, "enriched") for r in enriched]
    with (HERE / "pool_more.jsonl").open("w", encoding="utf-8") as f:
        for r, draw in sorted(drawn, key=lambda d: d[0]["id"]):
            keep = {"id": r["id"], "text": r["text"], "sentiment": r["sentiment"]}
            keep |= {"negativereason": r.get("negativereason"), "draw": draw}
            f.write(json.dumps(keep, ensure_ascii=False) + "\n")
    order = [r for r, _ in drawn]
    rng.shuffle(order)  # each annotator gets both draws
    for i, name in enumerate("defghi"):
        with (HERE / "annotation" / f"to_label_{name}.jsonl").open("w", encoding="utf-8") as f:
            for r in order[i * SLICE : (i + 1) * SLICE]:
                f.write(json.dumps({"id": r["id"], "text": r["text"]}, ensure_ascii=False) + "\n")
    print(f"uniform {len(uniform)}, enriched {len(enriched)} of {len(scored)} matching the rule")


if __name__ == "__main__":
    main()
