"""The bundled test texts that the benchmarks read: the written test split and both real test splits (Korean,
English and mixed, short and long), shuffled together by ``voc bench`` and ``voc.research.padding``."""

from __future__ import annotations

import json
from pathlib import Path

from .paths import DATA

DEFAULT_TEXTS = DATA / "voc" / "test.jsonl"
MIXED_FILES = (
    DEFAULT_TEXTS,
    DATA / "real" / "airline_en" / "test.jsonl",
    DATA / "real" / "shop_reviews_ko" / "test.jsonl",
)


def read_texts(path: Path, limit: int) -> list[str]:
    """The first ``limit`` non-empty ``text`` fields of a JSONL file."""
    with open(path, encoding="utf-8") as f:
        return [t for line in f if line.strip() and (t := json.loads(line).get("text"))][:limit]
