"""``voc models``: the store's ``voc-classifier`` versions, newest first, and what differs between two.

Everything comes from each entry's ``voc.json`` (the config, data sha256s, seed, schema and metrics that
training wrote), so two retrains can be compared without rerunning anything.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from voc.models.artifact import META_FILE
from voc.models.errors import ModelFileError
from voc.models.metrics import MAIN_METRIC
from voc.models.store import MODEL_NAME, resolve_model


@dataclass
class Version:
    """One model as its voc.json describes it."""

    tag: str
    created: str
    meta: dict

    @classmethod
    def read(cls, path: Path, tag: str, created: str = "") -> Version:
        try:
            meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise ModelFileError(f"{path / META_FILE}: cannot be read ({e})") from None
        return cls(tag, created, meta)

    @property
    def data_hash(self) -> str:
        """A short hash over every data file's sha256: equal when the model saw the same data."""
        data = json.dumps(sorted(self.meta.get("data", {}).values())).encode()
        return hashlib.sha256(data).hexdigest()[:8]

    @property
    def test_set(self) -> str:
        """The file the headline metrics were measured on, with its rows: ``data/voc/test.jsonl (432 rows)``;
        ``""`` for a model without test metrics. Training measures each test file on its own and keeps the
        first one's figures as the headline."""
        files = self.meta.get("metrics", {}).get("data") or []
        if not files:
            return ""
        named = list(self.meta.get("test_metrics") or {})  # as the config names them, in order
        name = named[0] if named else ", ".join(str(f["path"]) for f in files)
        return f"{name} ({sum(int(f['rows']) for f in files):,} rows)"

    def headline(self) -> dict[str, float]:
        """Each test-evaluated head's main metric (macro-F1, or micro-F1 for a multi-label head)."""
        model = self.meta.get("metrics", {}).get("systems", {}).get("model", {})
        return {task: m[MAIN_METRIC[m["type"]]] for task, m in model.items() if "type" in m}


def store_versions() -> list[Version]:
    """Every ``voc-classifier`` entry in the BentoML store, newest first."""
    import bentoml

    entries = sorted(bentoml.models.list(MODEL_NAME), key=lambda m: m.info.creation_time, reverse=True)
    return [Version.read(Path(m.path), str(m.tag), m.info.creation_time.strftime("%Y-%m-%d %H:%M:%S")) for m in entries]


def load_version(ref: str) -> Version:
    """A store tag (``voc-classifier:VERSION``, or the version alone) or a model directory."""
    if not Path(ref).is_dir() and ":" not in ref:
        ref = f"{MODEL_NAME}:{ref}"
    try:
        path, tag = resolve_model(ref)
    except FileNotFoundError as e:
        raise ModelFileError(str(e)) from None
    return Version.read(path, tag)


def versions_table(versions: list[Version]) -> str:
    """Markdown: tag, creation time, config name, seed, data hash, rows, the test set and its headline metrics,
    then a line that says what the figures are."""
    heads = list(dict.fromkeys(h for v in versions for h in v.headline()))  # schema order
    lines = ["| tag | created (UTC) | config | seed | data | train rows | test set | " + " | ".join(heads) + " |"]
    lines.append("|---|---|---|---:|---|---:|---|" + "---:|" * len(heads))
    for v in versions:
        rows = v.meta.get("train_stats", {}).get("train_rows", "")
        scores = v.headline()
        cells = [f"{scores[h]:.3f}" if h in scores else "" for h in heads]
        name, seed = v.meta.get("name", ""), v.meta.get("seed", "")
        lines.append(
            f"| {v.tag} | {v.created} | {name} | {seed} | {v.data_hash} | {rows} | {v.test_set} | "
            + " | ".join(cells)
            + " |"
        )
    lines.append(
        "\nEach head's main metric (macro-F1; micro-F1 for a multi-label head) on the version's test set, the first "
        "test file of its config; the model card (README.md in the model's directory) has every test file."
    )
    return "\n".join(lines)


def _flat(value: object, prefix: str = "") -> dict[str, object]:
    if isinstance(value, dict):
        return {k: v for key, sub in value.items() for k, v in _flat(sub, f"{prefix}{key}.").items()}
    return {prefix.rstrip("."): value}


def diff(a: Version, b: Version) -> str:
    """What changed from ``a`` to ``b``: config keys, data files, label schema and headline metrics."""
    lines = [f"# {a.tag} -> {b.tag}", ""]
    ca, cb = _flat(a.meta.get("training", {})), _flat(b.meta.get("training", {}))
    changed = [k for k in sorted(set(ca) | set(cb)) if ca.get(k) != cb.get(k)]
    lines += ["config:"] + ([f"  {k}: {ca.get(k)!r} -> {cb.get(k)!r}" for k in changed] or ["  (same)"])
    da, db = a.meta.get("data", {}), b.meta.get("data", {})
    data = [f"  - {p} ({da[p][:8]})" for p in sorted(set(da) - set(db))]
    data += [f"  + {p} ({db[p][:8]})" for p in sorted(set(db) - set(da))]
    data += [f"  ~ {p} ({da[p][:8]} -> {db[p][:8]})" for p in sorted(set(da) & set(db)) if da[p] != db[p]]
    lines += ["data:"] + (data or ["  (same files, same sha256)"])
    sa, sb = _flat(a.meta.get("schema", {})), _flat(b.meta.get("schema", {}))
    schema = [f"  {k}: {sa.get(k)} -> {sb.get(k)}" for k in sorted(set(sa) | set(sb)) if sa.get(k) != sb.get(k)]
    lines += ["labels:"] + (schema or ["  (same)"])
    ha, hb = a.headline(), b.headline()
    sets = a.test_set if a.test_set == b.test_set else f"{a.test_set or '?'} -> {b.test_set or '?'}"
    lines += [f"metrics (test set: {sets}):"]
    lines += [
        f"  {h}: {ha.get(h, float('nan')):.3f} -> {hb.get(h, float('nan')):.3f}" for h in dict.fromkeys([*ha, *hb])
    ]
    return "\n".join(lines)
