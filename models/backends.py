"""Inference backends: what turns a padded batch of token ids into head logits, and nothing else.

Tokenisation, the n-gram part, calibration and decisions are the same Python code for every backend
(``voc.models.predictor``); a backend only replaces "token ids -> head logits":

- ``torch``: the saved encoder and heads in PyTorch, float32 (the reference every other one is gated on);
- ``torch-int8``: the same with the encoder's Linear layers in dynamic int8 (``torch.ao``);
- ``onnx``: ``onnx/model.onnx``, the encoder and heads exported by ``voc export`` and fused by ONNX
  Runtime's transformer optimiser, float32;
- ``onnx-int8``: ``onnx/model-int8.onnx``, the same graph with int8 weights (``voc.models.onnx_export``).

The default is the one ``voc export`` chose (``voc.json`` ``backends.default``: the fastest that passed
the accuracy gate), else ``torch`` when the model was never exported.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import ModelFileError
from .schema import LabelSchema

if TYPE_CHECKING:  # annotations only: `voc --help` builds --backend's choices from this module without numpy
    import numpy as np

BACKENDS = ("torch", "torch-int8", "onnx", "onnx-int8")
ONNX_FILES = {"onnx": "onnx/model.onnx", "onnx-int8": "onnx/model-int8.onnx"}
ENV = "VOC_BACKEND"
LEGACY_ENV = "VOC_QUANTIZE"  # the older switch: VOC_QUANTIZE=int8 means torch-int8
THREADS_ENV = "VOC_THREADS"


def add_backend_argument(parser: argparse.ArgumentParser) -> None:
    """``--backend`` of every command that runs a model: default ``$VOC_BACKEND``, else the model's own."""
    parser.add_argument(
        "--backend",
        choices=BACKENDS,
        default=os.environ.get(ENV) or None,
        help=f"inference backend (default: ${ENV}, else the one the model's accuracy gate chose)",
    )


class Encoder:
    """``encoder(input_ids, attention_mask) -> {task: logits [n, labels]}`` on int64 numpy arrays."""

    name: str
    schema: LabelSchema

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError


class TorchEncoder(Encoder):
    """A ``VocClassifier`` in PyTorch; ``int8`` quantises its encoder's Linear layers dynamically."""

    def __init__(self, model, int8: bool = False) -> None:
        import torch

        self.model, self.schema, self.name = model.eval(), model.schema, "torch-int8" if int8 else "torch"
        if int8:
            import warnings

            with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao
                warnings.simplefilter("ignore")
                # in place: the float copy it would keep is ~470 MB, and nothing else uses this model
                torch.ao.quantization.quantize_dynamic(model.encoder, {torch.nn.Linear}, torch.qint8, inplace=True)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        import torch

        with torch.inference_mode():
            heads = self.model(torch.from_numpy(input_ids), torch.from_numpy(attention_mask))
        return {name: value.float().numpy() for name, value in heads.items()}


class OrtEncoder(Encoder):
    """An exported graph in ONNX Runtime (CPU). Inputs ``input_ids``/``attention_mask``, one output per task."""

    def __init__(self, file: Path, schema: LabelSchema, name: str) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads := os.environ.get(THREADS_ENV):
            options.intra_op_num_threads = int(threads)
        options.log_severity_level = 3  # no warnings about initialisers on every load
        try:
            self.session = ort.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # ORT raises its own Fail/InvalidGraph/NoSuchFile types
            raise ModelFileError(f"{file}: cannot be loaded ({str(e).splitlines()[0]}); re-run `voc export`") from None
        missing = set(schema.names) - {o.name for o in self.session.get_outputs()}
        if missing:
            raise ModelFileError(f"{file}: no output for {sorted(missing)}; it belongs to another model: re-run export")
        self.schema, self.name, self.outputs = schema, name, list(schema.names)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> dict[str, np.ndarray]:
        values = self.session.run(self.outputs, {"input_ids": input_ids, "attention_mask": attention_mask})
        return dict(zip(self.outputs, values))


def exported(path: Path, meta: dict) -> list[str]:
    """The ONNX backends whose files are present and recorded in ``voc.json``."""
    recorded = meta.get("backends", {}).get("variants", {})
    return [b for b, f in ONNX_FILES.items() if b in recorded and (path / f).is_file()]


def choose_backend(path: Path, meta: dict, requested: str | None = None) -> str:
    """The backend to load: ``requested`` (else ``$VOC_BACKEND``, else ``torch-int8`` for ``$VOC_QUANTIZE=int8``,
    else the model's default), checked.

    The model's default falls back to ``torch`` when its ONNX files are absent (a model copied without
    ``onnx/``, or never exported); a backend asked for by name must be there, or the error says how.
    """
    legacy = "torch-int8" if os.environ.get(LEGACY_ENV) == "int8" else None
    requested = requested or os.environ.get(ENV) or legacy
    if requested is None:
        default = meta.get("backends", {}).get("default", "torch")
        return default if default in ("torch", "torch-int8") or default in exported(path, meta) else "torch"
    if requested not in BACKENDS:
        raise ModelFileError(f"unknown backend {requested!r}; choose one of {', '.join(BACKENDS)}")
    if requested in ONNX_FILES and requested not in exported(path, meta):
        raise ModelFileError(
            f"{path}: backend {requested!r} needs {ONNX_FILES[requested]}, which this model lacks; "
            f"run `voc export --model {path}` or choose --backend torch"
        )
    return requested
