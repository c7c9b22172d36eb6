"""Agreement between the first labelling pass and the blind second pass of a real-text set.

Each set under data/real/<name>/annotation/ has first_pass_*.jsonl (every item, one annotator per slice)
and second_pass_blind.jsonl (a sample drawn from every slice, labelled by another annotator who saw texts
only). Reports per field accuracy and Cohen's kappa (escalation also linearly weighted, low < medium <
high), per theme agreement and kappa, and exact theme-set agreement. With --disagreements, prints one JSON
line per (id, field) where the passes differ, for adjudication by the guideline (docs/LABELS.md).

Run: python data/real/agreement.py airline_en [--disagreements]
"""

import argparse
import json
import sys
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # data/: label_schema, read from data/labels.yaml
from label_schema import LEVELS, THEMES  # noqa: E402

HERE = Path(__file__).parent


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def load_pairs(name: str) -> list[tuple[dict, dict]]:
    """(first pass, blind pass) per item of the blind sample, each with its text."""
    ann = HERE / name / "annotation"
    texts = {r["id"]: r["text"] for f in sorted(ann.glob("to_label_*.jsonl")) for r in read_jsonl(f)}
    first = {r["id"]: r for f in sorted(ann.glob("first_pass_*.jsonl")) for r in read_jsonl(f)}
    return [({**first[s["id"]], "text": texts[s["id"]]}, s) for s in read_jsonl(ann / "second_pass_blind.jsonl")]


def report(pairs: list[tuple[dict, dict]]) -> None:
    def acc(x: list, y: list) -> float:
        return sum(a == b for a, b in zip(x, y)) / len(x)

    print(f"{len(pairs)} items in the blind sample\n")
    print("| field | agreement | Cohen's kappa |\n|---|---|---|")
    if all("sentiment" in f and "sentiment" in s for f, s in pairs):
        a, b = [f["sentiment"] for f, _ in pairs], [s["sentiment"] for _, s in pairs]
        print(f"| sentiment | {acc(a, b):.3f} | {cohen_kappa_score(a, b):.3f} |")
    a = [LEVELS.index(f["escalation"]) for f, _ in pairs]
    b = [LEVELS.index(s["escalation"]) for _, s in pairs]
    weighted = cohen_kappa_score(a, b, weights="linear")
    print(f"| escalation | {acc(a, b):.3f} | {cohen_kappa_score(a, b):.3f} (linear-weighted {weighted:.3f}) |")
    for theme in THEMES:
        a = [theme in f["themes"] for f, _ in pairs]
        b = [theme in s["themes"] for _, s in pairs]
        print(f"| {theme} ({sum(a)} / {sum(b)}) | {acc(a, b):.3f} | {cohen_kappa_score(a, b):.3f} |")
    exact = acc([sorted(f["themes"]) for f, _ in pairs], [sorted(s["themes"]) for _, s in pairs])
    print(f"| exact theme set | {exact:.3f} | — |")


def disagreements(pairs: list[tuple[dict, dict]]) -> None:
    for f, s in pairs:
        for field in ("sentiment", "escalation", "themes"):
            if field not in s or field not in f:
                continue
            a, b = (sorted(f[field]), sorted(s[field])) if field == "themes" else (f[field], s[field])
            if a != b:
                row = {"id": f["id"], "field": field, "first": a, "second": b, "text": f["text"]}
                print(json.dumps(row, ensure_ascii=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="set under data/real/, e.g. airline_en")
    parser.add_argument("--disagreements", action="store_true", help="print the differing labels as JSONL")
    args = parser.parse_args()
    pairs = load_pairs(args.name)
    (disagreements if args.disagreements else report)(pairs)


if __name__ == "__main__":
    main()
