"""Near-duplicate report for the hand-written voc texts: character-3-gram Jaccard between every pair.

Why: the issue forbids templates with swapped words and near-duplicates, and asks for the measured maximum.
Each text is lower-cased and whitespace-normalised, turned into its set of character 3-grams (a text shorter
than three characters is one gram), and stored as a row of a sparse binary matrix X. The intersection sizes
of all pairs are X @ X.T, computed a chunk of rows at a time so that memory stays small; Jaccard follows
from |A & B| / (|A| + |B| - |A & B|). Exact duplicates after normalisation are listed separately.

Run: python data/voc/dedup_report.py [--threshold 0.6] [--top 40]
Exit status 1 if any pair is identical after normalisation or reaches --fail-at (default 0.7).
"""

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import sparse

HERE = Path(__file__).parent


def normalise(text: str) -> str:
    return " ".join(text.lower().split())


def grams(text: str, n: int = 3) -> set[str]:
    t = normalise(text)
    return {t[i : i + n] for i in range(max(1, len(t) - n + 1))}


def load_source() -> list[dict]:
    rows = []
    for path in sorted((HERE / "source").glob("w*.jsonl")):
        rows += [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    return rows


def pairwise_jaccard(texts: list[str], threshold: float, chunk: int = 512) -> tuple[float, list]:
    """Return the maximum Jaccard over all pairs i < j and every pair (score, i, j) at or above threshold."""
    vocab: dict[str, int] = {}
    indptr, indices = [0], []
    for text in texts:
        indices += sorted(vocab.setdefault(g, len(vocab)) for g in grams(text))
        indptr.append(len(indices))
    x = sparse.csr_matrix((np.ones(len(indices), np.int32), indices, indptr), shape=(len(texts), len(vocab)))
    sizes = np.diff(x.indptr)
    xt = x.T.tocsc()
    best, hits = 0.0, []
    for start in range(0, len(texts), chunk):
        inter = (x[start : start + chunk] @ xt).tocoo()
        i, j = inter.row + start, inter.col
        keep = j > i
        i, j, k = i[keep], j[keep], inter.data[keep]
        if not len(k):
            continue
        jac = k / (sizes[i] + sizes[j] - k)
        best = max(best, float(jac.max()))
        hits += [(float(s), int(a), int(b)) for s, a, b in zip(jac, i, j) if s >= threshold]
    return best, sorted(hits, reverse=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threshold", type=float, default=0.6, help="list pairs at or above this Jaccard")
    parser.add_argument("--fail-at", type=float, default=0.7, help="exit 1 if a pair reaches this Jaccard")
    parser.add_argument("--top", type=int, default=40, help="how many listed pairs to print")
    args = parser.parse_args()

    rows = load_source()
    texts = [r["text"] for r in rows]
    same = defaultdict(list)
    for r in rows:
        same[normalise(r["text"])].append(r["id"])
    exact = {t: ids for t, ids in same.items() if len(ids) > 1}
    best, hits = pairwise_jaccard(texts, args.threshold)

    print(f"{len(rows)} texts, {len(rows) * (len(rows) - 1) // 2} pairs")
    print(f"identical after lower-casing and whitespace normalisation: {len(exact)} groups")
    for t, ids in sorted(exact.items()):
        print(f"  {ids}: {t!r}")
    print(f"pairs with Jaccard >= {args.threshold}: {len(hits)}")
    for s, i, j in hits[: args.top]:
        print(f"  {s:.3f} {rows[i]['id']} | {rows[j]['id']}: {texts[i][:50]!r} ~ {texts[j][:50]!r}")
    print(f"maximum Jaccard over all pairs: {best:.3f}")
    return 1 if exact or best >= args.fail_at else 0


if __name__ == "__main__":
    sys.exit(main())
