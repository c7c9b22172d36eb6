"""Data tests: the loader's errors, labels.yaml, the voc split files (format, leakage, quotas) and the
public files this project adds. Fast: no model, only JSON and the datasets library."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from voc.models.data import DataError, iter_labelled, load_labelled
from voc.models.schema import LabelSchema

ROOT = Path(__file__).resolve().parents[1]
VOC = ROOT / "data" / "voc"
SPLITS = ("train", "validation", "test")
GOOD = {
    "id": "x1",
    "text": "배송이 늦어요",
    "lang": "ko",
    "sentiment": "negative",
    "themes": ["speed"],
    "escalation": "medium",
}


@pytest.fixture(scope="module")
def schema() -> LabelSchema:
    return LabelSchema.load(ROOT / "data" / "labels.yaml")


@pytest.fixture(scope="module")
def voc_rows() -> dict[str, list[dict]]:
    return {name: [json.loads(line) for line in (VOC / f"{name}.jsonl").open(encoding="utf-8")] for name in SPLITS}


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- labels.yaml -------------------------------------------------------------------------------------------


def test_labels_yaml_matches_the_guideline(schema):
    """Each task's heading in docs/LABELS.md (``## 2. themes — zero or more of `speed`, ...``) lists the
    schema's labels, in order: a label added to one must be added to the other."""
    raw = yaml.safe_load((ROOT / "data" / "labels.yaml").read_text(encoding="utf-8"))
    assert LabelSchema.from_dict(raw).names == schema.names
    guideline = (ROOT / "docs" / "LABELS.md").read_text(encoding="utf-8")
    headings = dict(re.findall(r"^## \d+\. (\w+) — (.*)$", guideline, flags=re.M))
    assert list(headings) == schema.names
    for task in schema.tasks:
        assert tuple(re.findall(r"`([^`]+)`", headings[task.name])) == task.labels, task.name
        assert ("zero or more" in headings[task.name]) == task.multi


# --- loader errors: every bad row stops the load and names file and line ----------------------------------


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (json.dumps({**GOOD, "sentiment": "angry"}), "unknown sentiment label 'angry'"),
        (json.dumps({**GOOD, "themes": ["speed", "price"]}), "unknown themes label(s) ['price']"),
        (json.dumps({**GOOD, "text": "   "}), "empty text"),
        (json.dumps({k: v for k, v in GOOD.items() if k != "text"}), "missing field 'text'"),
        ('{"id": "x2", "text": "oops", ', "bad JSON"),
        ("", "blank line"),
        (json.dumps({"id": "x3", "text": "no labels at all"}), "carries none of the labels"),
    ],
)
def test_bad_row_error_names_file_line_and_problem(tmp_path, schema, line, problem):
    path = write_lines(tmp_path / "bad.jsonl", [json.dumps(GOOD), json.dumps({**GOOD, "id": "x0"}), line])
    with pytest.raises(DataError) as err:
        list(iter_labelled(path, schema))
    assert f"{path}:3:" in str(err.value)
    assert problem in str(err.value)


def test_load_labelled_stops_on_a_bad_row_instead_of_dropping_it(tmp_path, schema):
    good = write_lines(tmp_path / "good.jsonl", [json.dumps(GOOD)])
    bad = write_lines(tmp_path / "bad.jsonl", [json.dumps(GOOD), json.dumps({**GOOD, "escalation": "urgent"})])
    with pytest.raises(DataError, match=rf"{bad}:2: unknown escalation label 'urgent'"):
        load_labelled([good, bad], schema)


def test_missing_file_is_an_error(tmp_path, schema):
    with pytest.raises(DataError, match="file not found"):
        list(iter_labelled(tmp_path / "nope.jsonl", schema))


def test_partial_labels_load_as_none(tmp_path, schema):
    row = {"id": "p1", "text": "good", "sentiment": "positive"}
    path = write_lines(tmp_path / "sentiment_only.jsonl", [json.dumps(row)])
    ds = load_labelled(path, schema)
    assert ds[0]["sentiment"] == "positive" and ds[0]["themes"] is None and ds[0]["escalation"] is None


# --- the voc split files --------------------------------------------------------------------------------


def test_split_files_pass_the_loader_with_every_label(schema):
    for name in SPLITS:
        rows = list(iter_labelled(VOC / f"{name}.jsonl", schema))
        assert rows, name
        assert all(r["sentiment"] and r["themes"] is not None and r["escalation"] for r in rows), name
        assert all(r["lang"] in {"ko", "en", "mixed"} for r in rows), name


def test_split_format_and_sizes(voc_rows):
    fields = {"id", "text", "lang", "sentiment", "themes", "escalation", "channel", "industry"}
    total = sum(len(rows) for rows in voc_rows.values())
    assert total >= 4000
    for name, share in zip(SPLITS, (0.8, 0.1, 0.1)):
        assert all(set(r) == fields for r in voc_rows[name]), name
        assert abs(len(voc_rows[name]) / total - share) < 0.01, name


def test_no_id_or_text_shared_between_splits(voc_rows):
    def norm(text: str) -> str:
        return " ".join(text.lower().split())

    ids = Counter(r["id"] for rows in voc_rows.values() for r in rows)
    assert max(ids.values()) == 1
    texts = Counter(norm(r["text"]) for rows in voc_rows.values() for r in rows)
    assert [t for t, c in texts.items() if c > 1] == []


def test_quotas(voc_rows):
    rows = [r for part in voc_rows.values() for r in part]
    n = len(rows)
    themes = Counter(t for r in rows for t in r["themes"])
    assert min(themes[t] for t in LabelSchema.load()["themes"].labels) >= 600, themes
    assert sum(r["escalation"] == "high" for r in rows) / n >= 0.15
    assert sum(len(r["themes"]) >= 2 for r in rows) / n >= 0.15
    assert sum(not r["themes"] for r in rows) / n >= 0.15
    langs = Counter(r["lang"] for r in rows)
    for lang, share in (("ko", 0.45), ("en", 0.40), ("mixed", 0.15)):
        assert abs(langs[lang] / n - share) < 0.03, langs
    assert len({r["industry"] for r in rows}) >= 10
    assert {r["channel"] for r in rows} >= {
        "app_review",
        "shop_review",
        "chat_survey",
        "email",
        "social",
        "call_note",
        "nps_comment",
    }


def test_qc_records_are_consistent_with_the_source():
    source = {}
    for path in sorted((VOC / "source").glob("w*.jsonl")):
        source |= {r["id"]: r for r in map(json.loads, path.open(encoding="utf-8"))}
    adjudication = [json.loads(line) for line in (VOC / "qc" / "adjudication.jsonl").open(encoding="utf-8")]
    assert len(adjudication) > 0
    for rec in adjudication:
        if rec["applied"]:
            assert source[rec["id"]][rec["field"]] == rec["final"], rec
    for rec in map(json.loads, (VOC / "qc" / "consistency_fixes.jsonl").open(encoding="utf-8")):
        assert source[rec["id"]][rec["field"]] == rec["new"], rec


def test_audit_fixes_are_applied_in_the_splits_only():
    """qc/audit_fixes.jsonl (voc audit): the source keeps the label, the train/validation row has the fix."""
    source = {}
    for path in sorted((VOC / "source").glob("w*.jsonl")):
        source |= {r["id"]: r for r in map(json.loads, path.open(encoding="utf-8"))}
    split = {n: {r["id"]: r for r in map(json.loads, (VOC / f"{n}.jsonl").open(encoding="utf-8"))} for n in SPLITS}
    fixes = [json.loads(line) for line in (VOC / "qc" / "audit_fixes.jsonl").open(encoding="utf-8")]
    assert fixes
    for rec in fixes:
        assert source[rec["id"]][rec["field"]] == rec["old"], rec
        assert rec["id"] not in split["test"], rec
        row = split["train"].get(rec["id"]) or split["validation"][rec["id"]]
        assert row[rec["field"]] == rec["new"], rec


# --- public data added by this project --------------------------------------------------------------------


def test_bitext_neutral_files_pass_the_loader_and_carry_the_license(schema):
    folder = ROOT / "data" / "public" / "bitext_neutral_en"
    assert (folder / "LICENSE.txt").is_file()
    for name in SPLITS:
        rows = list(iter_labelled(folder / f"{name}.jsonl", schema))
        assert rows and all(
            r["sentiment"] == "neutral" and r["escalation"] == "low" and r["themes"] is None for r in rows
        )
