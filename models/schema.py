"""The label schema (``data/labels.yaml``): which tasks the model has and their label sets.

A wheel carries it as ``models/labels.yaml`` (:mod:`models.paths`).

The heads are built from it, so adding a theme is a line in the YAML plus labelled examples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from .errors import VocError
from .paths import DEFAULT_LABELS

TASK_TYPES = ("single", "multi")


class SchemaError(VocError, ValueError):
    """labels.yaml is malformed; the message names the file and the problem."""


@dataclass(frozen=True)
class Task:
    """One head: ``single`` picks exactly one label (softmax), ``multi`` any subset (a sigmoid each)."""

    name: str
    type: str
    labels: tuple[str, ...]

    @property
    def multi(self) -> bool:
        return self.type == "multi"


@dataclass(frozen=True)
class LabelSchema:
    tasks: tuple[Task, ...]

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
            tasks.append(Task(str(name), spec["type"], tuple(labels)))
        return cls(tuple(tasks))

    def to_dict(self) -> dict:
        return {"version": 1, "tasks": {t.name: {"type": t.type, "labels": list(t.labels)} for t in self.tasks}}

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True), encoding="utf-8")

    @property
    def names(self) -> list[str]:
        return [t.name for t in self.tasks]

    def __getitem__(self, name: str) -> Task:
        for task in self.tasks:
            if task.name == name:
                return task
        raise KeyError(name)
