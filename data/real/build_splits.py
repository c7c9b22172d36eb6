"""Build the labelled real-text splits of each set under data/real/ from its annotation files.

Per set: every pool item gets the first pass's labels (annotation/first_pass_*.jsonl); where the blind
second pass disagreed, the adjudicated label (annotation/adjudication.jsonl) replaces it. The airline
tweets keep the crowd's sentiment (pool.jsonl); the Korean shop reviews were labelled for sentiment too.
Splits are seeded and stratified by escalation (so the rare `high` lands in every split); the test split
is never used for training or model selection.

After the split is dealt, the label fixes of ``voc audit`` (annotation/audit_fixes.jsonl: id, field, old,
new, reason; train and validation rows only, never test) replace the adjudicated label. They are applied
after dealing so that a fixed escalation does not move any row between splits: the split assignment is
that of the adjudicated labels.

Run: python data/real/build_splits.py
"""

import json
import random
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # data/: label_schema, read from data/labels.yaml
from label_schema import FIELDS, ordered  # noqa: E402

HERE = Path(__file__).parent
SEED = 2026
# name -> (language code, source tag, test rows, validation rows)
SETS = {"airline_en": ("en", "airline_tweets", 450, 200), "shop_reviews_ko": ("ko", "kote_shop_reviews", 400, 150)}


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def labelled_rows(name: str, lang: str, source: str) -> list[dict]:
    ann = HERE / name / "annotation"
    labels = {r["id"]: r for f in sorted(ann.glob("first_pass_*.jsonl")) for r in read_jsonl(f)}
    adjudication = ann / "adjudication.jsonl"
    for fix in read_jsonl(adjudication) if adjudication.is_file() else []:
        labels[fix["id"]][fix["field"]] = fix["final"]
    rows = []
    for item in read_jsonl(HERE / name / "pool.jsonl"):
        label = labels[item["id"]]
        row = {"id": item["id"], "text": item["text"], "lang": lang, "source": source}
        for field in FIELDS:
            row[field] = label.get(field, item.get(field))
        row["themes"] = ordered("themes", row["themes"], f"{name} {item['id']}")
        if item.get("negativereason") is not None:  # the crowd's complaint category: a cross-check only
            row["negativereason"] = item["negativereason"]
        rows.append(row)
    return rows


def apply_audit_fixes(name: str, parts: dict[str, list[dict]]) -> None:
    """The audit's fixes (annotation/audit_fixes.jsonl, rows with ``new`` == ``old`` are decisions to keep)
    over the dealt splits; a fix must match the label it replaces and may not touch the test split."""
    path = HERE / name / "annotation" / "audit_fixes.jsonl"
    where = {row["id"]: (part, row) for part, rows in parts.items() for row in rows}
    for fix in read_jsonl(path) if path.is_file() else []:
        part, row = where[fix["id"]]
        assert part != "test", f"{name} {fix['id']}: the test split is not audited"
        themes = fix["field"] == "themes"
        old, new = (ordered("themes", fix[k], f"{path} {fix['id']}") if themes else fix[k] for k in ("old", "new"))
        assert row[fix["field"]] == old, f"{name} {fix['id']} {fix['field']}: {row[fix['field']]} != {old}"
        row[fix["field"]] = new


def split(rows: list[dict], n_test: int, n_val: int) -> dict[str, list[dict]]:
    """Stratified by escalation: each level's rows are dealt to test, validation and train in proportion."""
    by_level = defaultdict(list)
    for row in rows:
        by_level[row["escalation"]].append(row)
    rng = random.Random(SEED)
    out = {"test": [], "validation": [], "train": []}
    for level in sorted(by_level):
        group = sorted(by_level[level], key=lambda r: r["id"])
        rng.shuffle(group)
        t = round(len(group) * n_test / len(rows))
        v = round(len(group) * n_val / len(rows))
        out["test"] += group[:t]
        out["validation"] += group[t : t + v]
        out["train"] += group[t + v :]
    return {k: sorted(v, key=lambda r: r["id"]) for k, v in out.items()}


def main() -> None:
    for name, (lang, source, n_test, n_val) in SETS.items():
        if not (HERE / name / "pool.jsonl").is_file():
            continue
        parts = split(labelled_rows(name, lang, source), n_test, n_val)
        apply_audit_fixes(name, parts)
        for part, rows in parts.items():
            with (HERE / name / f"{part}.jsonl").open("w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        print(name, {k: len(v) for k, v in parts.items()})


if __name__ == "__main__":
    main()
