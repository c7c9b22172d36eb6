"""Agreement between the writers' labels and the blind second pass on the 520-item QC sample.

Why: the issue asks for a second, blind labelling pass over at least 500 items with agreement per field.
The writers' labels are read from first_pass.jsonl, a frozen copy of the source labels of the sampled ids
taken before any adjudication, so the numbers stay reproducible after the source files are corrected.
The blind labels are second_pass_a.jsonl and second_pass_b.jsonl (one annotator each, texts only).

Reports, overall and per sample: sentiment accuracy and Cohen's kappa; escalation accuracy, kappa and
linearly weighted kappa (low < medium < high); per theme agreement and kappa; exact theme-set agreement.
With --disagreements, prints one JSON line per (id, field) where the two passes differ, for adjudication.

Run: python data/voc/qc/agreement.py [--disagreements]
"""

import argparse
import json
import sys
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # data/: label_schema, read from data/labels.yaml
from label_schema import LEVELS, THEMES  # noqa: E402

HERE = Path(__file__).parent


def load_pairs() -> list[tuple[dict, dict]]:
    first = {r["id"]: r for r in map(json.loads, (HERE / "first_pass.jsonl").open(encoding="utf-8"))}
    pairs = []
    for sample in ("a", "b"):
        for line in (HERE / f"second_pass_{sample}.jsonl").open(encoding="utf-8"):
            second = json.loads(line)
            pairs.append((first[second["id"]], second))
    return pairs


def report(pairs: list[tuple[dict, dict]], title: str) -> None:
    def acc(x: list, y: list) -> float:
        return sum(a == b for a, b in zip(x, y)) / len(x)

    print(f"## {title}: {len(pairs)} items")
    sw, ss = [w["sentiment"] for w, _ in pairs], [s["sentiment"] for _, s in pairs]
    print(f"sentiment   accuracy {acc(sw, ss):.3f}  kappa {cohen_kappa_score(sw, ss):.3f}")
    ew = [LEVELS.index(w["escalation"]) for w, _ in pairs]
    es = [LEVELS.index(s["escalation"]) for _, s in pairs]
    print(
        f"escalation  accuracy {acc(ew, es):.3f}  kappa {cohen_kappa_score(ew, es):.3f}  "
        f"weighted kappa (linear) {cohen_kappa_score(ew, es, weights='linear'):.3f}"
    )
    for theme in THEMES:
        tw = [theme in w["themes"] for w, _ in pairs]
        ts = [theme in s["themes"] for _, s in pairs]
        print(
            f"  {theme:<11} agreement {acc(tw, ts):.3f}  kappa {cohen_kappa_score(tw, ts):.3f}  "
            f"(writer {sum(tw)}, second {sum(ts)})"
        )
    exact = acc([sorted(w["themes"]) for w, _ in pairs], [sorted(s["themes"]) for _, s in pairs])
    print(f"themes      exact set agreement {exact:.3f}")


def disagreements(pairs: list[tuple[dict, dict]]) -> None:
    for w, s in pairs:
        for field in ("sentiment", "escalation"):
            if w[field] != s[field]:
                print(
                    json.dumps(
                        {"id": w["id"], "field": field, "writer": w[field], "second": s[field], "text": w["text"]},
                        ensure_ascii=False,
                    )
                )
        if sorted(w["themes"]) != sorted(s["themes"]):
            print(
                json.dumps(
                    {
                        "id": w["id"],
                        "field": "themes",
                        "writer": sorted(w["themes"]),
                        "second": sorted(s["themes"]),
                        "text": w["text"],
                    },
                    ensure_ascii=False,
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--disagreements", action="store_true", help="print the differing labels as JSONL")
    args = parser.parse_args()
    pairs = load_pairs()
    if args.disagreements:
        disagreements(pairs)
        return
    report(pairs, "all")
    for sample in ("a", "b"):
        report([p for p in pairs if p[0]["sample"] == sample], f"sample {sample}")


if __name__ == "__main__":
    main()
