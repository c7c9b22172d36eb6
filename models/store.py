"""The BentoML model store entry ``voc-classifier``: register a saved model, find one by tag or path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .errors import ModelFileError

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

MODEL_NAME = "voc-classifier"
MODEL_ENV = "VOC_MODEL"
# What every command, the service and voc.load() use when no model is named: $VOC_MODEL, else the store's latest.
DEFAULT_MODEL = os.environ.get(MODEL_ENV) or f"{MODEL_NAME}:latest"
TRAIN_HINT = "train one with `voc train --config training/configs/default.yaml`"


class ModelNotFoundError(ModelFileError):
    """``--model`` names neither a model directory nor an entry of the BentoML store."""


def looks_like_path(ref: str) -> bool:
    """Whether ``ref`` is meant as a path (has a separator or starts like one) rather than a ``name:version`` tag."""
    return os.sep in ref or "/" in ref or ref.startswith((".", "~"))


def register(model_dir: str | Path, metadata: dict | None = None) -> str:
    """Copy a saved model directory into the store and return its tag (``voc-classifier:<version>``).

    ``bentoml.models.create`` commits the entry only when the block completes, so an interrupted
    copy leaves nothing in the store.
    """
    import bentoml

    model_dir = Path(model_dir)
    with bentoml.models.create(MODEL_NAME, metadata=metadata or {}, labels={"project": "voc"}) as entry:
        for item in model_dir.iterdir():
            target = Path(entry.path) / item.name
            if item.is_dir():
                shutil.copytree(item, target)
            else:
                shutil.copy2(item, target)
    return str(entry.tag)


def resolve_model(ref: str | Path) -> tuple[Path, str]:
    """A model directory path or a store tag (``voc-classifier:latest``) -> ``(directory, tag)``."""
    path = Path(ref).expanduser()
    if path.is_dir():
        return path, f"{MODEL_NAME}:{path.name}"
    if path.exists():
        raise ModelNotFoundError(f"{path}: is a file, not a model directory; pass the directory that holds voc.json")
    if looks_like_path(str(ref)):
        raise ModelNotFoundError(f"{path}: no such model directory; check the path, or {TRAIN_HINT}")
    import bentoml
    from bentoml.exceptions import BentoMLException

    try:
        entry = bentoml.models.get(str(ref))
    except (BentoMLException, ValueError) as e:
        raise ModelNotFoundError(
            f"{ref}: not a model directory and not in the BentoML store ({str(e).splitlines()[0]}); "
            f"list the store with `bentoml models list`, pass a model directory, or {TRAIN_HINT}"
        ) from None
    return Path(entry.path), str(entry.tag)
