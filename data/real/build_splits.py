"""Build the labelled real-text splits of each set under data/real/ from its annotation files.

Per set: every pool item gets the first pass's labels (annotation/first_pass_*.jsonl); where the blind
second pass disagreed, the adjudicated label (annotation/adjudication.jsonl) replaces it, and a project
clarification (annotation/clarification_fixes.jsonl: id, field, old, new, reason) replaces a label it settles.
The airline tweets keep the crowd's sentiment (pool.jsonl); the Korean shop reviews and the X-CI complaint
tweets were labelled for sentiment too. Splits are seeded and stratified by escalation (so the rare `high`
lands in every split); X-CI keeps the source's own split (pool.jsonl's ``split``). The test split is never used
for training or model selection.

A second airline pool (pool_more.jsonl, make_pool_more.py) adds to every split. Its uniform draw gives test and
validation rows (so both stay uniform random draws of real tweets), its rule-enriched draw trains only.

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
# name -> (language code, source tag, test rows, validation rows); None: the source's own split
SETS = {
    "airline_en": ("en", "airline_tweets", 450, 200),
    "shop_reviews_ko": ("ko", "kote_shop_reviews", 400, 150),
    "complaints_xci_en": ("en", "xci_complaints", None, None),
}
# Source fields kept beside the labels: cross-checks and candidate auxiliary targets, never the label itself.
KEPT = ("negativereason", "complaint", "severity", "domain", "draw", "split")
MORE_TEST, MORE_VALIDATION = 400, 300  # rows of pool_more.jsonl's uniform draw that test and validate


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def labelled_rows(name: str, lang: str, source: str, pool: str = "pool.jsonl") -> list[dict]:
    ann = HERE / name / "annotation"
    labels = {r["id"]: r for f in sorted(ann.glob("first_pass_*.jsonl")) for r in read_jsonl(f)}
    for fixes in [*sorted(ann.glob("adjudication*.jsonl")), ann / "clarification_fixes.jsonl"]:
        for fix in read_jsonl(fixes) if fixes.is_file() else []:
            if "old" in fix:  # a clarification settles a first-pass label it names
                assert labels[fix["id"]][fix["field"]] == fix["old"], f"{name} {fix['id']}: {fixes.name} is stale"
            labels[fix["id"]][fix["field"]] = fix["final"] if "final" in fix else fix["new"]
    rows = []
    for item in read_jsonl(HERE / name / pool):
        label = labels[item["id"]]
        row = {"id": item["id"], "text": item["text"], "lang": lang, "source": source}
        for field in FIELDS:
            row[field] = label.get(field, item.get(field))
        row["themes"] = ordered("themes", row["themes"], f"{name} {item['id']}")
        row |= {k: item[k] for k in KEPT if item.get(k) is not None}
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


def source_split(rows: list[dict]) -> dict[str, list[dict]]:
    """The source's own split (its test split stays test)."""
    out = {"test": [], "validation": [], "train": []}
    for row in rows:
        out[row.pop("split")].append(row)
    return {k: sorted(v, key=lambda r: r["id"]) for k, v in out.items()}


def add_more(name: str, lang: str, source: str, parts: dict[str, list[dict]]) -> None:
    """pool_more.jsonl's rows, if the set has one: test and validation from its uniform draw only, the rest
    trains."""
    if not (HERE / name / "pool_more.jsonl").is_file():
        return
    more = labelled_rows(name, lang, source, "pool_more.jsonl")
    uniform = sorted((r for r in more if r["draw"] == "uniform"), key=lambda r: r["id"])
    random.Random(SEED).shuffle(uniform)
    held = {"test": uniform[:MORE_TEST], "validation": uniform[MORE_TEST : MORE_TEST + MORE_VALIDATION]}
    for part, rows in held.items():
        parts[part] = sorted(parts[part] + rows, key=lambda r: r["id"])
    rest = uniform[MORE_TEST + MORE_VALIDATION :] + [r for r in more if r["draw"] != "uniform"]
    parts["train"] = sorted(parts["train"] + rest, key=lambda r: r["id"])


def main() -> None:
    for name, (lang, source, n_test, n_val) in SETS.items():
        if not (HERE / name / "pool.jsonl").is_file():
            continue
        rows = labelled_rows(name, lang, source, "pool.jsonl")
        if n_test is None:
            parts = source_split(rows)
        else:
            parts = split(rows, n_test, n_val)
        add_more(name, lang, source, parts)
        apply_audit_fixes(name, parts)
        for part, rows in parts.items():
            with (HERE / name / f"{part}.jsonl").open("w", encoding="utf-8") as f:
                f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
        print(name, {k: len(v) for k, v in parts.items()})


if __name__ == "__main__":
    main()
