"""The label schema is the one source of labels and decisions: what labels.yaml holds, what it refuses, and that
no other module (code or data script) keeps its own copy of a label list, the alert or the default threshold."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from voc.models.schema import DEFAULT_THRESHOLD, LabelSchema, SchemaError, Task

ROOT = Path(__file__).resolve().parents[1]
RAW = yaml.safe_load((ROOT / "data" / "labels.yaml").read_text(encoding="utf-8"))


def test_labels_yaml_holds_the_labels_the_alert_and_how_each_head_decides():
    schema = LabelSchema.load()
    assert schema.alert == ("escalation", "high")
    assert schema["themes"].default_threshold == DEFAULT_THRESHOLD == 0.5
    assert math.isinf(schema["sentiment"].default_threshold) and math.isinf(schema["escalation"].default_threshold)
    assert LabelSchema.from_dict(schema.to_dict()) == schema  # what a model's voc.json keeps reads back the same


def test_an_older_models_schema_still_loads():
    tasks = {name: {k: v for k, v in spec.items() if k != "threshold"} for name, spec in RAW["tasks"].items()}
    old = {"version": 1, "tasks": tasks}
    schema = LabelSchema.from_dict(old)
    assert schema.alert is None and schema["themes"].default_threshold == DEFAULT_THRESHOLD


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"alert": "escalation.urgent"}, "alert 'escalation.urgent' is not a label of a single-label task"),
        ({"alert": "themes.speed"}, "choose one of"),
        ({"tasks": {**RAW["tasks"], "sentiment": {**RAW["tasks"]["sentiment"], "threshold": 0.4}}}, "multi-label"),
        ({"tasks": {**RAW["tasks"], "themes": {**RAW["tasks"]["themes"], "threshold": 1.5}}}, "between 0 and 1"),
    ],
)
def test_a_bad_alert_or_threshold_is_refused_with_what_to_fix(change, fragment):
    with pytest.raises(SchemaError, match=re.escape(fragment)):
        LabelSchema.from_dict({**RAW, **change})


def test_the_themes_threshold_in_labels_yaml_is_the_one_every_decision_uses(tiny_model_dir):
    """Change the default theme threshold in the schema a model carries: the predictor decides by it."""
    from voc.models.predictor import Predictor

    predictor = Predictor.load(tiny_model_dir)
    predictor.thresholds = {}
    probs = predictor.predict_proba(["배송이 늦어요"])
    p = probs["themes"][0]
    for threshold in (float(p.min()) + 1e-6, float(p.max()) + 1e-6):
        tasks = tuple(Task(t.name, t.type, t.labels, threshold) if t.multi else t for t in predictor.schema.tasks)
        predictor.schema = LabelSchema(tasks, predictor.schema.alert)
        on = predictor.decide(probs, 0)["themes"]["labels"]
        assert on == [label for label, v in zip(predictor.schema["themes"].labels, p) if v >= threshold]


# What a copied label list looks like: two labels of the schema side by side, in any module.
COPIES = re.compile(
    r"speed[\"']\s*,\s*[\"']empathy|low[\"']\s*,\s*[\"']medium|negative[\"']\s*,\s*[\"']neutral"
    r"|[\"']escalation\.high[\"']|label_thresholds\([^)]*\b0\.5\)|get\(label, 0\.5\)"
)


def test_no_module_keeps_its_own_copy_of_the_labels():
    files = [p for p in ROOT.rglob("*.py") if not {"tests", ".venv", ".git"} & set(p.relative_to(ROOT).parts)]
    copies = [f"{p.relative_to(ROOT)}:{m.group(0)}" for p in files for m in COPIES.finditer(p.read_text("utf-8"))]
    assert not copies, f"labels spelt outside models/schema.py and data/labels.yaml: {copies}"


def test_the_data_scripts_refuse_a_theme_the_schema_lacks_instead_of_dropping_it():
    code = (
        "import sys; sys.path.insert(0, 'data'); from label_schema import THEMES, ordered; "
        "print(list(THEMES)); print(ordered('themes', ['trust', 'speed'])); ordered('themes', ['price'], 'row 7')"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.stdout.splitlines() == [str(list(RAW["tasks"]["themes"]["labels"])), "['speed', 'trust']"]
    assert "row 7: themes label(s) ['price'] are not in data/labels.yaml" in done.stderr


def test_the_project_references_nothing_outside_itself():
    """No file of the repository points at the shared folder beside the checkout, which users never have."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    shared = "shared"  # spelt apart so that this file does not match itself
    outside = re.compile(rf"\.\./{shared}|/work/{shared}|\b{shared}/(LABELS|DESIGN|data)\b|DESIGN\.md")
    found = [
        f
        for f in tracked
        if f.endswith((".py", ".md", ".yaml", ".txt", ".toml", ".html"))
        if (ROOT / f).is_file() and outside.search((ROOT / f).read_text(encoding="utf-8", errors="replace"))
    ]
    assert not found, f"references outside the repository: {found}"


def test_models_with_the_same_heads_compare_even_when_one_predates_the_alert_key():
    current = LabelSchema.load()
    older = LabelSchema(tasks=current.tasks)  # saved before labels.yaml held the alert
    assert current.alert is not None and older.alert is None and older != current
    assert older.same_labels(current)
    fewer = LabelSchema(tasks=current.tasks[:-1])
    assert not fewer.same_labels(current)
