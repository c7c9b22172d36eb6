"""The BentoML model store entry ``voc-classifier``: register a saved model, find one by tag or path."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

os.environ.setdefault("BENTOML_DO_NOT_TRACK", "True")

MODEL_NAME = "voc-classifier"


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
    path = Path(ref)
    if path.is_dir():
        return path, f"{MODEL_NAME}:{path.name}"
    import bentoml
    from bentoml.exceptions import BentoMLException

    try:
        entry = bentoml.models.get(str(ref))
    except (BentoMLException, ValueError) as e:  # ValueError: not even a valid tag (e.g. a missing path)
        raise FileNotFoundError(
            f"no model {str(ref)!r}: not a directory and not in the BentoML store ({e}); "
            "train one with `voc train --config training/configs/default.yaml` or pass a model directory"
        ) from None
    return Path(entry.path), str(entry.tag)
