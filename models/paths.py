"""Where voc finds its files, both from a checkout of the repository and from a plain ``pip install .``.

- :data:`PACKAGE_ROOT`: the folder that holds voc's subpackages (``models/``, ``serving/``, ...): the repository
  root in a checkout (or an editable install), ``site-packages/voc`` in a plain install.
- :data:`CHECKOUT`: the repository root when running from a checkout, else ``None``.
- The label schema is ``data/labels.yaml`` in the repository (the file to edit); a wheel carries a copy as
  ``voc/models/labels.yaml``, written by the build (``setup.py``), so an install needs no repository.
- The training configs are package data (``training/configs/*.yaml``): ``voc train --config default``.
- The bundled data (``data/``, 35 MB) is not in the wheel. A relative path in a config or in ``voc evaluate
  --data``/``--train`` is looked up in the current directory, then in the checkout (:func:`find_file`), so
  ``data/real/...`` works from any directory with a checkout or an editable install; from a plain install,
  from the root of a clone. Elsewhere a missing file says so (:data:`NO_DATA_HINT`).
- :func:`package_version`: voc's version, for ``voc --version``, ``voc.__version__`` and the OpenAPI document.
"""

from __future__ import annotations

import tomllib
from importlib import metadata
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
CHECKOUT: Path | None = (
    PACKAGE_ROOT if (PACKAGE_ROOT / "pyproject.toml").is_file() and (PACKAGE_ROOT / "data").is_dir() else None
)
LABELS = "data/labels.yaml"  # as configs name it
PACKAGED_LABELS = Path(__file__).resolve().parent / "labels.yaml"  # in a wheel only (setup.py's build step)
# The repository's schema where it lies beside the code (a checkout, or a Bento's src/), else the wheel's copy.
DEFAULT_LABELS = next((p for p in (PACKAGE_ROOT / LABELS, PACKAGED_LABELS) if p.is_file()), PACKAGE_ROOT / LABELS)
CONFIGS = PACKAGE_ROOT / "training" / "configs"
# The bundled data: the checkout's data/ folder, or data/ in the current directory for an installed package.
DATA = CHECKOUT / "data" if CHECKOUT else Path("data")
NO_DATA_HINT = (
    "the bundled data lives in the repository's data/ folder, not in the installed package: run voc from the "
    "root of a clone of the repository"
)


def find_file(path: str | Path) -> Path:
    """A path named in a config or on the command line: absolute as it is; relative, the first of the current
    directory and the checkout (repository root) where it exists; ``data/labels.yaml`` falls back to the
    packaged schema. When none exists, the path in the current directory (the error then names that)."""
    p = Path(path)
    if p.is_absolute():
        return p
    candidates = [Path.cwd() / p]
    if CHECKOUT is not None:
        candidates.append(CHECKOUT / p)
    if p.as_posix() == LABELS:
        candidates.append(DEFAULT_LABELS)
    return next((c for c in candidates if c.is_file()), candidates[0])


def output_base() -> Path:
    """Where relative output paths (``artifacts/...``) go: the checkout, else the current directory."""
    return CHECKOUT if CHECKOUT is not None else Path.cwd()


def find_config(name: str | Path) -> Path:
    """``--config``: a YAML file, or the bare name of a bundled config (``default``, ``full``, ``commercial``)."""
    p = Path(name)
    if p.is_file():
        return p
    if not p.suffix and len(p.parts) == 1:
        return CONFIGS / f"{p}.yaml"
    if not p.is_absolute() and (PACKAGE_ROOT / p).is_file():  # training/configs/x.yaml from any directory
        return PACKAGE_ROOT / p
    return p


def bundled_configs() -> list[str]:
    return sorted(p.stem for p in CONFIGS.glob("*.yaml"))


def package_version() -> str:
    """voc's version: the installed distribution's, else that of the ``pyproject.toml`` beside the code (a
    checkout, or a Bento's ``src/``), else ``unknown``."""
    try:
        return metadata.version("voc")
    except metadata.PackageNotFoundError:
        pass
    try:
        return tomllib.loads((PACKAGE_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"
