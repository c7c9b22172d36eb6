"""A model directory's self-check: texts stored with the probabilities the model gave them when it was
saved. Loading re-scores them and refuses a model that no longer agrees, so a damaged file, an array read
in the wrong layout, or a library upgrade that changes results is caught before anything is served.

Per backend (``voc.models.backends``), on every load:

- ``torch`` and ``onnx`` (float32) must reproduce the probabilities saved from PyTorch float32 within
  ``TOLERANCE``: the exported graph is held to the same standard as the checkpoint;
- ``torch-int8`` is quantised at load from float32 weights, which are verified first;
- ``onnx-int8`` differs from float32 by design (by how much is the accuracy gate's business, in
  ``voc.json``), so ``voc export`` records its own probabilities under ``backends`` with the looser
  ``QUANTIZED_TOLERANCE``: int8 kernels may round differently on another CPU, a damaged file differs by
  far more.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .atomic import write_text
from .errors import ModelFileError

FILE = "selfcheck.json"
# Probabilities are compared in float32 on possibly another CPU: far above rounding noise (~1e-6),
# far below what a damaged or misread file does (0.1 and more).
TOLERANCE = 1e-3
QUANTIZED_TOLERANCE = 1e-2
# Texts per forward pass when a self-check is made and replayed (as ``Predictor``'s default batch, one pass
# for the 32 texts training stores): independent of how the loading caller batches.
CHECK_BATCH = 32
# Used when the caller gives no texts (e.g. a model saved outside training): Korean, English, mixed, long.
DEFAULT_TEXTS = [
    "배송이 너무 늦어요. 2주째 기다리는 중입니다",
    "상담원분이 끝까지 친절하게 들어주셨어요",
    "환불 요청한 지 세 번째인데 아직도 처리 안 됨. 소비자원에 신고하겠습니다",
    "The delivery is two weeks late and nobody answers the phone.",
    "Great support, fixed in one call. Thanks!",
    "You charged me twice and I want my money back or I'm cancelling.",
    "주문 취소 how long does the refund take?",
    "ok",
    " ".join(["The order arrived late and the agent was rude when I asked about the refund."] * 12),
]


def make_self_check(predictor, texts: list[str] | None = None) -> dict:
    """Score ``texts`` (default: :data:`DEFAULT_TEXTS`) with ``predictor``: the expected probabilities."""
    texts = list(texts or DEFAULT_TEXTS)
    reading = {"max_windows": predictor.tokenizer.max_windows, "window_tokens": predictor.tokenizer.window}
    probs = replay(predictor, (reading["max_windows"], reading["window_tokens"]), texts)
    probs = {t: p.tolist() for t, p in probs.items()}
    return {"tolerance": TOLERANCE, **reading, "texts": texts, "probs": probs}


def replay(predictor, reading: tuple[int, int], texts: list[str]) -> dict:
    """``texts`` scored as when the self-check was made: with its window cap and length (``voc.models.tokens``), in
    passes of :data:`CHECK_BATCH` texts sorted by length, whatever the predictor's own batching (dynamic int8
    quantises activations per pass, so its probabilities depend on which texts share one)."""
    passes = predictor.pass_cost, predictor.batch_size
    predictor.pass_cost, predictor.batch_size = np.inf, CHECK_BATCH
    try:
        with predictor.tokenizer.reading(*reading):
            return predictor.predict_proba(texts)
    finally:
        predictor.pass_cost, predictor.batch_size = passes


def recorded_reading(check: dict, predictor) -> tuple[int, int]:
    """The window cap and length a self-check was made with; a file without them was made when texts were read
    to the model's ``max_length`` tokens only, i.e. in one window of ``max_length``."""
    return int(check.get("max_windows", 1)), int(check.get("window_tokens", predictor.max_length))


def write_self_check(path: Path, check: dict) -> None:
    """Write ``selfcheck.json`` atomically: a load never reads half of it."""
    write_text(Path(path) / FILE, json.dumps(check, ensure_ascii=False) + "\n")


def read_self_check(path: str | Path) -> dict:
    """``selfcheck.json``, parsed; a missing or unreadable file is a ModelFileError."""
    file = Path(path) / FILE
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{file}: missing; the model directory is incomplete: retrain or restore it") from None
    except (UnicodeDecodeError, ValueError) as e:
        raise ModelFileError(f"{file}: damaged ({e!r}); retrain or restore the model") from None


def add_backend_check(path: str | Path, backend: str, predictor, tolerance: float = QUANTIZED_TOLERANCE) -> None:
    """Record ``predictor``'s own probabilities on the self-check texts as the expected ones for ``backend``."""
    check = read_self_check(path)
    probs = replay(predictor, recorded_reading(check, predictor), check["texts"])
    entry = {"tolerance": tolerance, "probs": {t: p.tolist() for t, p in probs.items()}}
    check.setdefault("backends", {})[backend] = entry
    write_self_check(Path(path), check)


def verify(predictor, path: str | Path) -> float:
    """Re-score the stored texts (expected: the backend's own record if it has one, else float32);
    return the largest difference, or raise ModelFileError past tolerance."""
    file = Path(path) / FILE
    check = read_self_check(path)
    try:
        own = check.get("backends", {}).get(predictor.backend, check)
        texts, expected, tolerance = check["texts"], own["probs"], float(own["tolerance"])
        reading = recorded_reading(check, predictor)
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise ModelFileError(f"{file}: damaged ({e!r}); retrain or restore the model") from None
    probs = replay(predictor, reading, texts)
    worst, where = 0.0, ""
    for task, want in expected.items():
        if task not in probs or np.shape(want) != probs[task].shape:
            raise ModelFileError(f"{file}: '{task}' does not match the model's heads; retrain or restore the model")
        diff = np.abs(probs[task] - np.asarray(want, np.float32))
        if diff.max() > worst:
            row = int(diff.max(axis=1).argmax())
            worst, where = float(diff.max()), f"'{task}' on self-check text {row} ({texts[row][:40]!r})"
    if worst > tolerance:
        raise ModelFileError(
            f"{Path(path)}: the model ({predictor.backend}) no longer scores its self-check texts ({FILE}) as it "
            f"did when saved: largest difference {worst:.4f} in {where}, tolerance {tolerance}. A model file is "
            "damaged or a library version changed results; retrain, or restore the directory and the pinned packages"
        )
    return worst
