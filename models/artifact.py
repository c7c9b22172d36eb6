"""The saved model's directory: its files, and ``voc.json`` read and written with checks. ``Predictor.save``
(``voc.models.predictor``) writes the directory through these, atomically; ``Predictor.load`` reads it.

Layout::

    encoder/            Hugging Face checkpoint of the fine-tuned encoder + tokenizer (safetensors)
    heads.safetensors   the task heads
    ngram.safetensors   the optional character/word n-gram part (voc.models.ngram)
    selfcheck.json      a few texts with the probabilities the model gave them when it was saved
    voc.json            format, schema, text prefix, max length, thresholds, temperatures, combination
                        weights, the alert label, training config, data hashes, metrics, seed and
                        package versions
    labels.yaml         the label schema the heads were built from
    README.md           the model card

Loading checks the format, reads every file with errors that name it, and re-scores the self-check texts, so a
damaged file or a changed library cannot serve silently.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import write_text
from .errors import ModelFileError
from .schema import LabelSchema, SchemaError, Task

if TYPE_CHECKING:  # PyTorch is imported only when a torch model is loaded (ONNX serving does without)
    from .classifier import VocClassifier

__all__ = ["FORMAT_VERSION", "META_FILE", "ModelFileError", "alert_of", "read_meta", "write_meta", "write_model_files"]

META_FILE = "voc.json"
HEADS_FILE = "heads.safetensors"
# 2: n-gram weights stored as [features, labels] (format 1 wrote them in a layout that loaded scrambled),
#    and selfcheck.json.
FORMAT_VERSION = 2


def write_model_files(
    path: Path, model: VocClassifier, tokenizer, meta: dict, card: str = "", ngram=None, self_check: dict | None = None
) -> None:
    """Write the files of a model directory into an existing empty directory (``ngram``: an NgramModel)."""
    from safetensors.torch import save_file

    from .selfcheck import write_self_check

    model.encoder.save_pretrained(str(path / "encoder"))
    tokenizer.save_pretrained(str(path / "encoder"))
    save_file(model.heads_state(), str(path / HEADS_FILE))
    if ngram is not None:
        ngram.save(path)
    if self_check is not None:
        write_self_check(path, self_check)
    model.schema.dump(path / "labels.yaml")
    write_meta(path, meta, model.schema, card)


def write_meta(path: Path, meta: dict, schema: LabelSchema, card: str = "") -> None:
    """(Re)write the model card, then ``voc.json`` (each atomically), e.g. once the saved model has been measured."""
    full = {**meta, "format": FORMAT_VERSION, "schema": schema.to_dict()}
    write_text(path / "README.md", card or "# voc-classifier\n")
    write_text(path / META_FILE, json.dumps(full, indent=2, ensure_ascii=False) + "\n")


def read_meta(path: Path) -> dict:
    """``voc.json``, checked: present, a JSON object, and of the format this code reads."""
    file = path / META_FILE
    if not path.is_dir():
        raise ModelFileError(f"{path}: no such model directory; train one with `voc train` or pass a store tag")
    if not file.is_file():
        raise ModelFileError(f"{path} is not a voc model directory (no {META_FILE}); train one with `voc train`")
    try:
        meta = json.loads(file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(f"{file}: not valid JSON ({e}); the file is damaged: retrain or restore it") from None
    if not isinstance(meta, dict) or "schema" not in meta:
        raise ModelFileError(f"{file}: not a voc model description (no 'schema'); retrain or restore it")
    if meta.get("format") != FORMAT_VERSION:
        raise ModelFileError(
            f"{file}: model format {meta.get('format')!r}, but this voc reads format {FORMAT_VERSION}; "
            "retrain the model with this version (`voc train`)"
        )
    check_labels_file(path, meta)
    return meta


def check_weight_files(path: Path) -> None:
    """Raise ModelFileError naming the first ``*.safetensors`` file of a model directory that is not whole: its
    header unreadable, or its size not the header's ``8 + header + data``. It reads the headers only, so every
    load checks every weight file, including those its backend never reads (an ONNX backend reads neither the
    encoder's nor the heads' weights, which ``voc suggest`` and ``--backend torch`` need later)."""
    for file in sorted(path.rglob("*.safetensors")):
        try:
            size = file.stat().st_size
            with open(file, "rb") as f:
                length = int.from_bytes(f.read(8), "little")
                if not 0 < length <= size - 8:
                    raise ValueError(f"a header of {length} bytes in a file of {size}")
                header = json.loads(f.read(length))
            end = max((v["data_offsets"][1] for k, v in header.items() if k != "__metadata__"), default=0)
            if 8 + length + end != size:
                raise ValueError(f"{size} bytes where its header describes {8 + length + end}")
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as e:
            raise ModelFileError(f"{file}: truncated or not a safetensors file ({e}); retrain or restore it") from None


def check_labels_file(path: Path, meta: dict) -> None:
    """Refuse a model whose ``labels.yaml`` no longer matches the schema it was trained with (``voc.json``):
    the heads have the trained labels, so an edit there would otherwise be silently ignored."""
    file = path / "labels.yaml"
    if not file.is_file():
        return
    trained = LabelSchema.from_dict(meta["schema"], source=str(path / META_FILE))
    try:
        edited = LabelSchema.load(file)
    except SchemaError as e:
        raise ModelFileError(
            f"{e}; this model's labels.yaml was edited: restore it ({META_FILE} holds the original)"
        ) from None
    if edited != trained:
        changed = [
            f"{name}: {', '.join(new.labels) if new else 'removed'}"
            for name in dict.fromkeys(trained.names + edited.names)
            if (new := _task(edited, name)) != _task(trained, name)
        ]
        raise ModelFileError(
            f"{file} was edited ({'; '.join(changed)}) and no longer matches the labels the model was trained with "
            f"(in {META_FILE}): a model's labels change only by retraining; restore the file or retrain "
            "(`voc train` with the edited data/labels.yaml)"
        )


def _task(schema: LabelSchema, name: str) -> Task | None:
    return next((t for t in schema.tasks if t.name == name), None)


def alert_of(meta: dict) -> tuple[str, str] | None:
    """The (task, label) that routes feedback to a human, e.g. ``("escalation", "high")``.

    Training stores it in voc.json as ``alert`` (the schema's ``alert``, or the config's); else the model's
    schema names it; a model saved before either existed names it by its one single-label operating threshold.
    ``None`` when the model has none.
    """
    named = meta.get("alert") or meta.get("schema", {}).get("alert")
    if named:
        task, _, label = str(named).partition(".")
        return task, label
    schema = meta.get("schema", {}).get("tasks", {})
    for task, chosen in meta.get("thresholds", {}).items():
        if schema.get(task, {}).get("type") == "single" and len(chosen) == 1:
            return task, next(iter(chosen))
    return None
