"""``voc export`` (and the end of ``voc train``): the ONNX backends beside a saved model, gated on validation.

Writes ``onnx/model.onnx`` and ``onnx/model-int8.onnx`` (``voc.models.onnx_export``), records the int8 graph's
own self-check probabilities (``voc.models.selfcheck``), scores the written and real validation files with every
backend (``voc.models.gate``) and records the result in ``voc.json`` (``backends``: the default backend, each
variant's file and size, the gate) and in the model card. The ONNX files count only once ``voc.json``
names them, so an export that stops part-way leaves the model as it was. One model is held at a time.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from voc.models.artifact import read_meta, write_meta
from voc.models.backends import ONNX_FILES
from voc.models.errors import ModelFileError
from voc.models.gate import VALIDATION_FILES, gate_table, run_gate
from voc.models.onnx_export import export_onnx
from voc.models.predictor import Predictor
from voc.models.schema import LabelSchema
from voc.models.selfcheck import add_backend_check, verify

CARD_SECTION = "\n## Inference backends\n"


def export_model(path: Path, validation: Sequence[Path] = VALIDATION_FILES) -> dict:
    """Export, verify and gate the ONNX backends of the model directory ``path``; returns ``backends``."""
    path = Path(path)
    variants = export_onnx(path)
    for name in ONNX_FILES:
        try:
            variants[name]["selfcheck_max_diff"] = round(self_check(path, name), 6)
        except ModelFileError as e:  # e.g. a backbone whose graph the BERT optimiser fuses wrongly
            print(f"voc export: {name} left out: {e}")
            del variants[name]
    loaders = {name: partial(Predictor.load, path, backend=name) for name in ("torch", "torch-int8")}
    loaders.update({name: partial(Predictor.open, path, name) for name in variants})  # verified just above
    gate = run_gate(loaders, [Path(v) for v in validation])
    meta = read_meta(path)
    meta["backends"] = {"default": gate["default"], "variants": variants, "gate": gate}
    schema = LabelSchema.from_dict(meta["schema"])
    card = (path / "README.md").read_text(encoding="utf-8").split(CARD_SECTION)[0].rstrip("\n") + "\n"
    write_meta(path, meta, schema, card + backends_section(meta["backends"]))
    return meta["backends"]


def self_check(path: Path, name: str) -> float:
    """Verify an exported graph on the self-check texts (an int8 one against its own record, made here)."""
    predictor = Predictor.open(path, name)
    if name.endswith("int8"):
        add_backend_check(path, name, predictor)
    return verify(predictor, path)


def backends_section(backends: dict) -> str:
    """The model card's section on the backends and their gate."""
    gate = backends["gate"]
    failed = [n for n, b in gate["backends"].items() if not b["passes"]]
    verdict = f"Failed, so not used by default: {', '.join(failed)}. " if failed else ""
    files = ", ".join(f"`{f}` ({gate['rows'][f]} rows)" for f in gate["files"])
    return (
        f"{CARD_SECTION}\nThe same model on each backend, on {files}; Δ is the change in points against `torch` "
        f"(float32), agreement the share of rows whose decisions on every head equal its decisions. A backend that "
        f"loses more than {gate['max_drop_points']} point on a headline metric of any file fails the gate. "
        f"{verdict}Default: **{backends['default']}** (the fastest that passes, in the order `voc bench` "
        f"measures; `--backend` / `$VOC_BACKEND` choose another).\n\n{gate_table(gate)}\n"
    )


def export_in_store(tag: str, source: Path, validation: Sequence[Path] = VALIDATION_FILES) -> str:
    """A store entry is not changed in place: the export goes into a copy registered as a new version."""
    from voc.models.store import register

    with tempfile.TemporaryDirectory(prefix="voc-export-") as work:
        copy = Path(work) / "model"
        shutil.copytree(source, copy)
        export_model(copy, validation)
        return register(copy, metadata={"exported_from": tag})
