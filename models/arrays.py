"""Safetensors files of numpy arrays, written so that what is loaded is what was saved.

``safetensors.numpy.save_file`` writes an array's raw buffer under its shape, so an array that is not
C-ordered (a transposed view, or ``astype`` of one) is read back scrambled. Every numpy array the project
saves goes through :func:`save_arrays`, which writes C-ordered copies; :func:`load_arrays` turns a
truncated or garbled file into a :class:`~voc.models.errors.ModelFileError` that names it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import ModelFileError


def save_arrays(arrays: dict[str, np.ndarray], path: str | Path, metadata: dict[str, str] | None = None) -> None:
    from safetensors.numpy import save_file

    save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path), metadata=metadata)


def load_arrays(path: str | Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as e:  # safetensors raises SafetensorError, OSError or ValueError by the fault
        raise ModelFileError(f"{path}: cannot be read ({e}); the file is damaged: retrain or restore it") from None
