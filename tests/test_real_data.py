"""The real-text sets (data/real): valid rows, disjoint splits, splits rebuilt exactly from the annotation
files, every adjudicated label applied, and licence files beside the data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from voc.models.data import iter_labelled
from voc.models.schema import LabelSchema

REAL = Path(__file__).resolve().parents[1] / "data" / "real"
SETS = ("airline_en", "shop_reviews_ko", "complaints_xci_en")


def rows(name: str, split: str) -> list[dict]:
    return list(iter_labelled(REAL / name / f"{split}.jsonl", LabelSchema.load()))


@pytest.mark.parametrize("name", SETS)
def test_splits_are_valid_disjoint_and_large_enough(name):
    parts = {split: rows(name, split) for split in ("train", "validation", "test")}
    assert len(parts["test"]) >= 400
    texts = {split: {r["text"] for r in part} for split, part in parts.items()}
    assert not texts["test"] & (texts["train"] | texts["validation"])
    for part in parts.values():
        assert all(r["themes"] is not None and r["escalation"] and r["sentiment"] for r in part)


def test_splits_rebuild_exactly(tmp_path):
    before = {p: p.read_bytes() for name in SETS for p in (REAL / name).glob("*.jsonl") if p.name != "pool.jsonl"}
    subprocess.run([sys.executable, str(REAL / "build_splits.py")], check=True, capture_output=True)
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("name", SETS)
def test_adjudicated_and_clarified_labels_are_the_final_ones(name):
    final = {r["id"]: r for split in ("train", "validation", "test") for r in rows(name, split)}
    annotation = REAL / name / "annotation"
    for path in [*annotation.glob("adjudication*.jsonl"), annotation / "clarification_fixes.jsonl"]:
        for fix in map(json.loads, path.open(encoding="utf-8")) if path.is_file() else []:
            assert final[fix["id"]][fix["field"]] == fix.get("final", fix.get("new")), (path.name, fix["id"])


def test_xci_keeps_the_sources_split_and_the_airline_test_grows_only_by_uniform_draws():
    pool = {json.loads(line)["id"]: json.loads(line) for line in (REAL / "complaints_xci_en" / "pool.jsonl").open()}
    for split in ("train", "validation", "test"):
        assert {pool[r["id"]]["split"] for r in rows("complaints_xci_en", split)} == {split}
    more = {r["id"]: r["draw"] for r in map(json.loads, (REAL / "airline_en" / "pool_more.jsonl").open())}
    for split in ("test", "validation"):
        assert {more[r["id"]] for r in rows("airline_en", split) if r["id"] in more} == {"uniform"}


@pytest.mark.parametrize("name", SETS)
def test_audit_fixes_are_applied_and_never_to_test(name):
    """annotation/audit_fixes.jsonl (voc audit, reviewed by hand): the final train/validation label is ``new``;
    the test split is not audited."""
    path = REAL / name / "annotation" / "audit_fixes.jsonl"
    if not path.is_file():
        pytest.skip("no audit fixes")
    test_ids = {r["id"] for r in rows(name, "test")}
    final = {r["id"]: r for split in ("train", "validation") for r in rows(name, split)}
    for fix in map(json.loads, path.open(encoding="utf-8")):
        assert fix["id"] not in test_ids and fix["id"] in final, fix["id"]
        got = final[fix["id"]][fix["field"]]
        assert (sorted(got) == sorted(fix["new"])) if fix["field"] == "themes" else got == fix["new"], fix["id"]


def test_licences_travel_with_the_data():
    assert "MIT License" in (REAL / "shop_reviews_ko" / "raw" / "kote" / "LICENSE").read_text()
    assert "MIT License" in (REAL / "complaints_xci_en" / "LICENSE.txt").read_text()
    card = (REAL / "README.md").read_text()
    assert "CC BY-NC-SA 4.0" in card and "MIT" in card
