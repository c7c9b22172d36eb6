"""The batch scorer's evidence columns (``voc score --explain``): ``evidence.<task>``, one per task.

A cell holds what the HTTP result's ``evidence`` holds for that task (``voc.models.evidence``): a list of spans
``{"start", "end", "text", "weight"}`` for a single-label task, ``{label: [span, ...]}`` for a multi-label
one. JSONL writes it as it is, CSV and .xlsx as a JSON string (``voc.models.tables.json_cell``), Parquet as
``list<struct>`` (a multi-label task: a
struct with one such list per label, null where the label was not predicted).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa

from voc.models.schema import LabelSchema

PREFIX = "evidence."
SPANS = pa.list_(
    pa.struct([("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("weight", pa.float64())])
)


def evidence_columns(schema: LabelSchema) -> list[str]:
    """``evidence.<task>`` for every task, in schema order."""
    return [PREFIX + task.name for task in schema.tasks]


def evidence_types(schema: LabelSchema) -> dict[str, pa.DataType]:
    """Arrow types of the evidence columns."""
    return {
        PREFIX + t.name: pa.struct([(label, SPANS) for label in t.labels]) if t.multi else SPANS for t in schema.tasks
    }


def with_every_label(frame: pd.DataFrame, schema: LabelSchema) -> pd.DataFrame:
    """``frame`` with every label's key in its multi-label evidence cells (an Arrow struct needs them all)."""
    filled = {
        PREFIX + t.name: frame[PREFIX + t.name].map(lambda v, labels=t.labels: _every_label(v, labels))
        for t in schema.tasks
        if t.multi and PREFIX + t.name in frame
    }
    return frame.assign(**filled)


def _every_label(value: dict[str, Any] | None, labels: tuple[str, ...]) -> dict[str, Any] | None:
    return None if value is None else {label: value.get(label) for label in labels}
