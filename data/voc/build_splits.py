"""Merge the hand-written source files into train/validation/test (80/10/10), stratified, fixed seed.

Strata are (language, sentiment, escalation); inside each, rows are ordered by id, shuffled with the
seed, and dealt out test, validation, then eight to train. After dealing, the label fixes of ``voc audit``
(qc/audit_fixes.jsonl: id, field, old, new, reason; train and validation rows only) replace the source's
label, so that a fixed escalation or sentiment does not move rows between strata and splits.
Run: python data/voc/build_splits.py
"""

import json
import random
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).parent
SEED = 20261122
FIELDS = ("id", "text", "lang", "sentiment", "themes", "escalation", "channel", "industry")


def main() -> None:
    rows = []
    for path in sorted((HERE / "source").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    strata = defaultdict(list)
    for row in rows:
        strata[(row["lang"], row["sentiment"], row["escalation"])].append(row)
    splits = {"train": [], "validation": [], "test": []}
    rng = random.Random(SEED)
    for key in sorted(strata):
        group = sorted(strata[key], key=lambda r: r["id"])
        rng.shuffle(group)
        for i, row in enumerate(group):
            splits["test" if i % 10 == 0 else "validation" if i % 10 == 1 else "train"].append(row)
    fixes = [json.loads(line) for line in (HERE / "qc" / "audit_fixes.jsonl").open(encoding="utf-8")]
    where = {row["id"]: name for name, part in splits.items() for row in part}
    by_id = {row["id"]: row for row in rows}
    for fix in fixes:
        assert where[fix["id"]] != "test", f"{fix['id']}: the test split is not audited"
        row = by_id[fix["id"]] = dict(by_id[fix["id"]])  # the source row stays as written
        assert row[fix["field"]] == fix["old"], fix
        row[fix["field"]] = fix["new"]
    for name, part in splits.items():
        part[:] = [by_id[row["id"]] for row in part]
        rng.shuffle(part)
        with (HERE / f"{name}.jsonl").open("w", encoding="utf-8") as f:
            for row in part:
                f.write(json.dumps({k: row[k] for k in FIELDS}, ensure_ascii=False) + "\n")
        print(f"{name}: {len(part)} rows")


if __name__ == "__main__":
    main()
