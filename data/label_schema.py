"""The label schema for the data scripts: ``data/labels.yaml`` read through ``voc.models.schema``, as the model reads
it, so that no script keeps its own copy of a label list and a label added there reaches every script.

A script under data/ puts this folder first on its path and imports what it needs::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # data/: label_schema
    from label_schema import THEMES, ordered
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

DATA = Path(__file__).resolve().parent
sys.path.insert(0, str(DATA.parent))  # the repository root: voc.models.schema
from voc.models.schema import LabelSchema  # noqa: E402

SCHEMA = LabelSchema.load(DATA / "labels.yaml")
FIELDS = tuple(SCHEMA.names)  # the label fields of a row, in the schema's order
SENTIMENTS = SCHEMA["sentiment"].labels
THEMES = SCHEMA["themes"].labels
LEVELS = SCHEMA["escalation"].labels  # escalation, least to most severe (weighted kappa reads this order)


def ordered(task: str, labels: Iterable[str], where: str = "") -> list[str]:
    """A multi-label value in the schema's label order; a label the schema lacks is an error, never dropped."""
    labels = list(labels)
    unknown = sorted(set(labels) - set(SCHEMA[task].labels))
    if unknown:
        raise ValueError(f"{where}: {task} label(s) {unknown} are not in data/labels.yaml {list(SCHEMA[task].labels)}")
    return [label for label in SCHEMA[task].labels if label in labels]
