"""The label schema (``data/labels.yaml``): the one source of the model's labels and of how it decides.

It holds the tasks and their label sets, how each head turns probabilities into a decision (``Task.multi``,
``Task.default_threshold``) and the alert, the label that routes feedback to a human (``LabelSchema.alert``).
Every other module asks it; none spells a label, a label set or a default threshold itself. A wheel carries it
as ``models/labels.yaml`` (:mod:`voc.models.paths`).

The heads are built from it, so adding a theme is a line in the YAML plus labelled examples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import VocError
from .paths import DEFAULT_LABELS

TASK_TYPES = ("single", "multi")
# Where a multi-label head's label is on when no threshold was tuned for it (``threshold:`` in labels.yaml).
DEFAULT_THRESHOLD = 0.5


class SchemaError(VocError, ValueError):
    """labels.yaml is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class Task:
    """One head and how it decides: ``single`` picks exactly one label (softmax): the most probable, unless a
    label reaches an operating threshold set for it (``voc.models.predictor.single_decisions``); ``multi`` picks any
    subset (a sigmoid each): every label whose probability reaches its threshold, ``threshold`` where none was
    tuned."""

    name: str
    type: str
    labels: tuple[str, ...]
    threshold: float = DEFAULT_THRESHOLD  # multi only

    @property
    def multi(self) -> bool:
        return self.type == "multi"

    @property
    def default_threshold(self) -> float:
        """A label's threshold where the model has none for it: ``threshold`` for a multi-label head; ``inf`` for
        a single-label head (no override: the most probable label wins)."""
        return self.threshold if self.multi else math.inf


@dataclass(frozen=True)
class LabelSchema:
    tasks: tuple[Task, ...]
    alert: tuple[str, str] | None = None  # (task, label) that routes feedback to a human, e.g. escalation.high

    @classmethod
    def load(cls, path: str | Path = DEFAULT_LABELS) -> LabelSchema:
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SchemaError(f"{path}: label schema not found") from None
        except yaml.YAMLError as e:
            raise SchemaError(f"{path}: not valid YAML ({e})") from None
        return cls.from_dict(raw, source=str(path))

    @classmethod
    def from_dict(cls, raw: object, source: str = "labels.yaml") -> LabelSchema:
        if not isinstance(raw, dict) or not isinstance(raw.get("tasks"), dict) or not raw["tasks"]:
            raise SchemaError(f"{source}: expected a mapping with a non-empty 'tasks' mapping")
        tasks = []
        for name, spec in raw["tasks"].items():
            if not isinstance(spec, dict) or spec.get("type") not in TASK_TYPES:
                raise SchemaError(f"{source}: task {name!r} needs 'type' set to one of {TASK_TYPES}")
            labels = spec.get("labels")
            if not isinstance(labels, list) or not labels or not all(isinstance(x, str) and x for x in labels):
                raise SchemaError(f"{source}: task {name!r} needs 'labels', a non-empty list of names")
            if len(set(labels)) != len(labels):
                raise SchemaError(f"{source}: task {name!r} lists a label twice: {labels}")
            if spec["type"] == "single" and len(labels) < 2:
                raise SchemaError(f"{source}: single-label task {name!r} needs at least two labels")
            threshold = spec.get("threshold", DEFAULT_THRESHOLD)
            if "threshold" in spec and spec["type"] != "multi":
                raise SchemaError(f"{source}: task {name!r}: 'threshold' is for multi-label tasks only")
            if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold < 1:
                raise SchemaError(f"{source}: task {name!r}: 'threshold' must be a number between 0 and 1")
            tasks.append(Task(str(name), spec["type"], tuple(labels), float(threshold)))
        return cls(tuple(tasks), _alert(raw.get("alert"), tasks, source))

    def to_dict(self) -> dict:
        tasks = {}
        for t in self.tasks:
            tasks[t.name] = {"type": t.type, "labels": list(t.labels)}
            if t.multi:
                tasks[t.name]["threshold"] = t.threshold
        alert = {"alert": ".".join(self.alert)} if self.alert else {}
        return {"version": 1, **alert, "tasks": tasks}

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")

    def same_labels(self, other: LabelSchema) -> bool:
        """The same heads, types and labels in the same order: two models' outputs compare row for row (the alert
        and the default threshold may differ; models saved before the schema held them carry none)."""
        return [(t.name, t.type, t.labels) for t in self.tasks] == [(t.name, t.type, t.labels) for t in other.tasks]

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def __getitem__(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)


def _alert(value: object, tasks: list[Task], source: str) -> tuple[str, str] | None:
    """``alert: task.label`` checked: a label of a single-label task (a schema without one has no alert)."""
    if value is None:
        return None
    task, _, label = str(value).partition(".")
    singles = {t.name: t for t in tasks if not t.multi}
    if task not in singles or label not in singles[task].labels:
        choices = [f"{t}.{x}" for t in singles for x in singles[t].labels]
        raise SchemaError(f"{source}: alert {value!r} is not a label of a single-label task; choose one of {choices}")
    return task, label
