"""``voc audit``: rows whose given label is most likely wrong, per head, ranked (cleanlab).

Every row gets out-of-fold probabilities from the cheap model (``voc.research.features``: logistic regression
on the frozen backbone's embeddings, averaged with the character/word n-gram part), so no row is judged
by a model that learned its label. cleanlab's confident learning then flags the rows whose label
disagrees with what the rest of the data implies: ``cleanlab.filter.find_label_issues`` for single-label
heads and ``cleanlab.multilabel_classification.filter.find_multilabel_issues_per_class`` per label of a
multi-label head (a missing or a spurious theme). Each flagged row comes with the given and the
suggested label and cleanlab's label quality score (self-confidence: the probability of the given
label; lower = more likely wrong). Rows are listed, never changed: a person decides.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from voc.models.atomic import atomic_path
from voc.models.backbone import DEFAULT_BACKBONE
from voc.models.data import iter_labelled
from voc.models.schema import LabelSchema, Task
from voc.models.tables import TableWriter

from .features import embed_texts, out_of_fold

RANK_BY = "self_confidence"
# cleanlab's default n_jobs forks a multiprocessing pool; a fork of a process that holds torch's and BLAS's
# threads can deadlock (a pool worker hung on an inherited lock in our test run). One process is fast enough
# for the rows an audit reads.
N_JOBS = 1
LABEL_COLUMNS = ("given", "suggested")  # a label, or a list of them for a multi-label head


@dataclass
class Issue:
    """One suspicious label: ``given`` and ``suggested`` are a label (single) or a label list (multi)."""

    head: str
    id: str
    where: str
    text: str
    given: str | list[str]
    suggested: str | list[str]
    quality: float  # cleanlab's self-confidence: the model's probability of the given label (state)
    label: str  # the label in question: the given one (single) or the theme added or removed (multi)


def audit_rows(rows: list[tuple[str, dict]], schema: LabelSchema, probs: dict[str, np.ndarray]) -> list[Issue]:
    """cleanlab over each head's labelled rows; issues per head, most likely wrong first."""
    issues: list[Issue] = []
    for task in schema.tasks:
        keep = [i for i, (_, r) in enumerate(rows) if r[task.name] is not None]
        if len(keep) < 2:
            continue
        finder = _multi_issues if task.multi else _single_issues
        found = finder(task, [rows[i][1][task.name] for i in keep], probs[task.name][keep])
        for j, given, suggested, quality, label in sorted(found, key=lambda f: f[3]):
            where, row = rows[keep[j]]
            issues.append(Issue(task.name, row["id"], where, row["text"], given, suggested, round(quality, 4), label))
    return issues


def _single_issues(task: Task, values: list[str], probs: np.ndarray) -> list[tuple]:
    from cleanlab.filter import find_label_issues

    y = np.array([task.labels.index(v) for v in values])
    flagged = find_label_issues(y, probs, return_indices_ranked_by=RANK_BY, n_jobs=N_JOBS)
    return [
        (int(j), values[j], task.labels[int(probs[j].argmax())], float(probs[j, y[j]]), values[j])
        for j in flagged
        if probs[j].argmax() != y[j]
    ]


def _multi_issues(task: Task, values: list[list[str]], probs: np.ndarray) -> list[tuple]:
    from cleanlab.multilabel_classification.filter import find_multilabel_issues_per_class

    y = [[task.labels.index(v) for v in value] for value in values]
    per_label, _, _ = find_multilabel_issues_per_class(y, probs, return_indices_ranked_by=RANK_BY, n_jobs=N_JOBS)
    found = []
    for k, flagged in enumerate(per_label):
        label = task.labels[k]
        for j in flagged:
            has = label in values[j]
            suggested = [x for x in task.labels if (x in values[j]) != (x == label)]
            found.append((int(j), values[j], suggested, float(probs[j, k] if has else 1 - probs[j, k]), label))
    return found


def audit(
    paths: list[Path],
    schema: LabelSchema,
    folds: int = 5,
    seed: int = 13,
    ngrams: bool = True,
    backbone: str = DEFAULT_BACKBONE,
) -> tuple[list[Issue], dict[str, int]]:
    """Issues over the labelled files and the number of rows each head was audited on."""
    rows = [(f"{p}:{i}", r) for p in paths for i, r in enumerate(iter_labelled(p, schema), 1)]
    texts = [r["text"] for _, r in rows]
    labels = {t: [r[t] for _, r in rows] for t in schema.names}
    probs = out_of_fold(texts, embed_texts(texts, backbone), labels, schema, folds, seed, ngrams)
    audited = {t: sum(v is not None for v in labels[t]) for t in schema.names}
    return audit_rows(rows, schema, probs), audited


def write_audit(issues: list[Issue], audited: dict[str, int], output: Path, top: int) -> Path:
    """All issues to ``output`` (JSONL, or CSV with lists ``|``-joined and a UTF-8 BOM so that Excel shows
    Korean; by the one table writer, ``voc.models.tables``) and a Markdown summary beside it with the ``top``
    of each head; returns the Markdown's path."""
    frame = pd.DataFrame([asdict(i) for i in issues], columns=list(Issue.__dataclass_fields__))
    with atomic_path(output) as tmp:
        writer = TableWriter(tmp, "csv" if output.suffix.lower() == ".csv" else "jsonl", list_columns=LABEL_COLUMNS)
        try:
            writer.write(frame)
        finally:
            writer.close()
    md = output.with_name(output.name + ".md")
    md.write_text(markdown(issues, audited, top), encoding="utf-8")
    return md


def markdown(issues: list[Issue], audited: dict[str, int], top: int) -> str:
    lines = ["# Label audit", "", "| head | rows audited | flagged | share |", "|---|---:|---:|---:|"]
    for head, n in audited.items():
        flagged = sum(i.head == head for i in issues)
        lines.append(f"| {head} | {n:,} | {flagged:,} | {flagged / max(n, 1):.1%} |")
    for head in audited:
        lines += ["", f"## {head}: top {top}", "", "| where | id | given | suggested | quality | text |"]
        lines.append("|---|---|---|---|---:|---|")
        for i in [x for x in issues if x.head == head][:top]:
            text = i.text.replace("|", "\\|").replace("\n", " ")[:200]
            lines.append(f"| {i.where} | {i.id} | {_show(i.given)} | {_show(i.suggested)} | {i.quality:.3f} | {text} |")
    return "\n".join(lines) + "\n"


def _show(value: str | list[str]) -> str:
    return ", ".join(value) or "(none)" if isinstance(value, list) else value
