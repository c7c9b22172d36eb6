"""Draw a pool of real Korean e-commerce customer reviews from KOTE (MIT) to label for sentiment, themes and escalation.

Source: github searle-j/KOTE at commit cafd2c3f54a6f4b25ac74eaa02a2e76c3ef8c977, files val.tsv and test.tsv
(official validation and test splits, 5,000 comments each), copied unmodified to raw/kote/ (see SOURCE.md).
The official train.tsv (40,000 comments) is not in the repository snapshot reachable here, so it is not used.

KOTE mixes comments from several platforms and does not publish the platform of each comment. Its IDs are
grouped by platform: the block 20000-24999 holds online-shop product reviews (delivery, packaging, seller
contact, returns and exchanges, product quality); the IDs around it are news, community and video comments.
This script keeps that block only (ID_LO <= ID <= ID_HI).

Steps:
  1. read raw/kote/val.tsv and raw/kote/test.tsv (ID<TAB>text<TAB>comma-separated 0-based label indices);
  2. keep ID in [20000, 24999];
  3. text = the source text with leading/trailing whitespace stripped (otherwise verbatim);
     keep 10 <= len(text) <= 400 characters;
  4. drop exact duplicates (key: whitespace-collapsed text), keeping the smallest ID;
  5. shuffle the ID-sorted rows with random.Random(SEED) and take the first N (all of them when fewer);
  6. write pool.jsonl sorted by ID.

Fields: id ("kote-<ID>", KOTE's own row ID), text, emotions (KOTE's multi-label
emotion names, the union over its 5 annotators, as in the source), kote_split ("val" or "test": the official
split the row comes from), service_kw (True when the text matches SERVICE_RE, a documented keyword hint for
service-aspect content; it is not a label and no row is dropped for it).

Run: python3 make_pool.py   (reads only raw/kote/ next to this file; writes pool.jsonl next to it)
"""

import json
import random
import re
from pathlib import Path

HERE = Path(__file__).parent
RAW = HERE / "raw" / "kote"
FILES = (("val", RAW / "val.tsv"), ("test", RAW / "test.tsv"))
ID_LO, ID_HI = 20000, 24999
MIN_LEN, MAX_LEN = 10, 400
N, SEED = 1400, 2026

# The 44 KOTE emotion names in index order, as listed in the KOTE README (raw/kote/README.md).
LABELS = [
    "불평/불만",
    "환영/호의",
    "감동/감탄",
    "지긋지긋",
    "고마움",
    "슬픔",
    "화남/분노",
    "존경",
    "기대감",
    "우쭐댐/무시함",
    "안타까움/실망",
    "비장함",
    "의심/불신",
    "뿌듯함",
    "편안/쾌적",
    "신기함/관심",
    "아껴주는",
    "부끄러움",
    "공포/무서움",
    "절망",
    "한심함",
    "역겨움/징그러움",
    "짜증",
    "어이없음",
    "없음",
    "패배/자기혐오",
    "귀찮음",
    "힘듦/지침",
    "즐거움/신남",
    "깨달음",
    "죄책감",
    "증오/혐오",
    "흐뭇함(귀여움/예쁨)",
    "당황/난처",
    "경악",
    "부담/안_내킴",
    "서러움",
    "재미없음",
    "불쌍함/연민",
    "놀람",
    "행복",
    "불안/걱정",
    "기쁨",
    "안심/신뢰",
]

# Keyword hint only (delivery, courier, shipping, packaging, seller/shop, staff, customer centre, contact,
# reply, refund, return, exchange, A/S, cancel, kindness (친절 also matches 불친절), trust, fraud).
SERVICE_RE = re.compile(
    r"배송|배달|택배|발송|도착|포장|판매자|판매처|업체|사장님|셀러|직원|기사님|상담|고객센터|문의|연락|전화|답변|응대|"
    r"환불|반품|교환|취소|A/S|AS|친절|신뢰|사기"
)


def read_rows():
    rows = []
    for split, path in FILES:
        for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
            if not line.strip():
                continue
            parts = line.split("\t")
            if len(parts) != 3:
                raise ValueError(f"{path.name}:{n}: expected 3 tab-separated fields, got {len(parts)}")
            kid, text, labels = parts
            idx = [int(x) for x in labels.split(",") if x.strip()]
            rows.append(
                {
                    "num": int(kid),
                    "id": f"kote-{int(kid)}",
                    "text": text.strip(),
                    "emotions": [LABELS[i] for i in idx],
                    "kote_split": split,
                }
            )
    return rows


def main() -> None:
    rows = sorted(read_rows(), key=lambda r: r["num"])
    kept, seen = [], set()
    for r in rows:
        if not (ID_LO <= r["num"] <= ID_HI):
            continue
        if not (MIN_LEN <= len(r["text"]) <= MAX_LEN):
            continue
        key = " ".join(r["text"].split())
        if key in seen:
            continue
        seen.add(key)
        kept.append(r)
    random.Random(SEED).shuffle(kept)
    pool = sorted(kept[:N], key=lambda r: r["num"])
    with (HERE / "pool.jsonl").open("w", encoding="utf-8") as f:
        for r in pool:
            out = {
                "id": r["id"],
                "text": r["text"],
                "emotions": r["emotions"],
                "kote_split": r["kote_split"],
                "service_kw": bool(SERVICE_RE.search(r["text"])),
            }
            f.write(json.dumps(out, ensure_ascii=False) + "\n")
    n_kw = sum(bool(SERVICE_RE.search(r["text"])) for r in pool)
    print(f"in block: {sum(ID_LO <= r['num'] <= ID_HI for r in rows)}; pool: {len(pool)}; service_kw: {n_kw}")


if __name__ == "__main__":
    main()
