"""The training configuration: a typed dataclass read from YAML, with command-line overrides.

Every problem — an unknown key, a wrong type, a missing file — is reported before any training starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from voc.models import paths
from voc.models.errors import VocError
from voc.models.paths import NO_DATA_HINT, bundled_configs, find_config, find_file, output_base


class ConfigError(VocError, ValueError):
    """The configuration is invalid; the message names the key and what to fix."""


@dataclass
class Source:
    """One labelled JSONL file; ``sample`` draws that many rows from it (seeded), ``None`` takes all."""

    path: str
    sample: int | None = None


@dataclass
class TrainConfig:
    name: str = "default"  # names the output directory and the model card
    base_model: str = "multilingual-e5-small"  # the offline default, or any Hugging Face id or local path
    labels: str = "data/labels.yaml"  # the label schema the heads are built from
    train: list[Source] = field(default_factory=lambda: [Source("data/voc/train.jsonl")])  # files or {path, sample}
    validation: list[Source] = field(default_factory=lambda: [Source("data/voc/validation.jsonl")])  # calibration
    test: list[str] = field(default_factory=lambda: ["data/voc/test.jsonl"])  # reported; never trained on
    # Encoder fine-tuning.
    max_length: int = 64  # tokens; batches are padded only to their own longest text
    batch_size: int = 16  # texts per step
    epochs: float = 2.0  # passes over the training rows (fractions allowed)
    learning_rate: float = 5e-5  # encoder
    head_learning_rate: float = 1e-3  # the task heads
    weight_decay: float = 0.01  # AdamW
    warmup_ratio: float = 0.06  # share of steps with a linearly rising learning rate
    dropout: float = 0.1  # on the pooled vector, before the heads
    freeze_embeddings: bool = True  # the word embeddings are 96M of the backbone's 118M parameters
    freeze_layers: int = 0  # bottom encoder layers kept frozen
    task_weights: dict[str, float] = field(default_factory=dict)  # loss weight per task, default 1
    # The alert operating point: the label wins whenever its probability reaches a threshold chosen on
    # validation as the highest one that still recalls ``alert_recall`` of it (0 disables).
    alert: str | None = None  # task.label of the alert operating point (default: the alert of labels.yaml)
    alert_recall: float = 0.9  # validation recall the alert threshold keeps; 0 disables
    alert_min_precision: float = 0.0  # ...but never a threshold whose validation precision is below this
    # Validation files the alert threshold is fitted on (default: all): real customer text, so that the alert's
    # operating point is that of the text it will meet, not of text written for the project. The per-language
    # offsets below are fitted on the same rows.
    alert_validation: list[str] = field(default_factory=list)
    # Per language (ko, en, mixed: by script), log-prior offsets of each single-label head, fitted on those
    # validation rows after the shared temperature and kept only where they help held-out rows (calibration.py)
    language_offsets: bool = True
    # The character/word n-gram part, combined with the encoder on the validation split.
    ngram: bool = True  # fit and combine the n-gram part
    ngram_train: list[Source] = field(default_factory=list)  # extra rows for the n-gram part only
    ngram_c: float = 4.0  # inverse regularisation of its logistic regressions
    # Run.
    seed: int = 13  # same data, config and seed give the same metrics
    device: str = "cpu"  # cpu, cuda or auto
    mixed_precision: bool = False  # bf16 autocast on cuda
    num_threads: int = 0  # torch CPU threads, 0 = torch's default
    output_dir: str = "artifacts/models/{name}"
    register: bool = True  # add the model to the BentoML store as voc-classifier
    fine_tuned: str | None = None  # a directory from `python -m voc.training.remote fit` (a lent GPU): skip fine-tuning

    def resolve(self, path: str) -> Path:
        """An input file named in a config: relative paths are looked up in the current directory, then in the
        repository root (from a checkout), so a config runs from any directory (:func:`voc.models.paths.find_file`)."""
        return find_file(path)

    @property
    def output_path(self) -> Path:
        """Relative to the repository root from a checkout, else to the current directory."""
        p = Path(self.output_dir.format(name=self.name))
        return p if p.is_absolute() else output_base() / p

    def check(self) -> None:
        """Fail early: values out of range and data files that do not exist."""
        if self.max_length < 8 or self.batch_size < 1 or self.epochs <= 0:
            raise ConfigError("max_length must be >= 8, batch_size >= 1 and epochs > 0")
        if not 0.0 <= self.alert_recall <= 1.0 or not 0.0 <= self.alert_min_precision <= 1.0:
            raise ConfigError("alert_recall and alert_min_precision must lie in [0, 1]")
        unknown = sorted(set(self.alert_validation) - {s.path for s in self.validation})
        if unknown:
            raise ConfigError(f"alert_validation names files that are not validation sources: {unknown}")
        if self.alert is not None and self.alert.count(".") != 1:
            raise ConfigError(f"alert must look like task.label, not {self.alert!r}")
        if self.device not in ("cpu", "cuda", "auto"):
            raise ConfigError(f"device must be cpu, cuda or auto, not {self.device!r}")
        if not self.train:
            raise ConfigError("train needs at least one file")
        files = [s.path for s in self.train + self.validation + self.ngram_train] + self.test + [self.labels]
        if self.fine_tuned and not Path(self.fine_tuned).is_dir():
            raise ConfigError(f"fine_tuned: no such directory {self.fine_tuned}")
        missing = list(dict.fromkeys(f for f in files if not self.resolve(f).is_file()))
        if missing:
            where = "the current directory" + (f" or {paths.CHECKOUT}" if paths.CHECKOUT else "")
            hint = ""
            if paths.CHECKOUT is None and any(Path(f).parts[:1] == ("data",) for f in missing):
                own = "--set 'train=[FILE]' --set 'validation=[FILE]' --set 'test=[FILE]'"
                hint = f"; {NO_DATA_HINT}, or name your own labelled files: {own}"
            raise ConfigError(f"file(s) not found: {missing} (relative paths are looked up in {where}){hint}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


def _coerce(value: object, tp: object, key: str) -> object:
    """Convert a YAML/CLI value to the annotated type, or raise ConfigError naming the key."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        return _coerce(value, next(a for a in args if a is not type(None)), key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_coerce(v, args[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return {str(k): _coerce(v, args[1], f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if isinstance(value, str):  # a bare path is a whole source
            value = {"path": value}
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping with {[f.name for f in dataclasses.fields(tp)]}")
        return _build(tp, value, key)
    if tp is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
            return value.lower() in ("true", "1", "yes")
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true or false, got {value!r}")
        return value
    if tp in (int, float):
        try:
            if isinstance(value, bool) or (tp is int and isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return tp(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected {tp.__name__}, got {value!r}") from None
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{key}: unsupported type {tp}")


def _build(cls: type, raw: dict, where: str):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - names)
    if unknown:
        place = f"{where}: " if where else ""  # the top level has no location of its own
        raise ConfigError(f"{place}unknown key(s) {unknown}; allowed: {sorted(names)}")
    kwargs = {k: _coerce(v, hints[k], f"{where}.{k}" if where else k) for k, v in raw.items()}
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ConfigError(f"{where or 'config'}: {e}") from None


def config_from_dict(raw: dict) -> TrainConfig:
    """A config from a mapping of settings (as ``TrainConfig.to_dict`` writes), without checking files."""
    return _build(TrainConfig, raw, "")


def load_config(path: str | Path | None, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config, apply ``key=value`` overrides (values parsed as YAML), validate."""
    raw: dict = {}
    if path is not None:
        path = find_config(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path} (bundled configs: {', '.join(bundled_configs())})")
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({e})") from None
        if not isinstance(raw, dict):
            raise ConfigError(f"{path}: expected a mapping of settings")
    for item in overrides or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"override {item!r} must look like key=value")
        raw[key.strip().replace("-", "_")] = yaml.safe_load(value)
    config = _build(TrainConfig, raw, "")
    config.check()
    return config


SHORTCUTS = ("epochs", "seed", "device", "base_model", "output_dir", "name")


def settings_help() -> str:
    """Every TrainConfig setting with its type, default and the comment beside it in the source, so that
    ``voc train --help`` documents each key without a second list to keep in step."""
    import inspect
    import re

    comments = dict(re.findall(r"^    (\w+): [^\n#]*#\s*(.+)$", inspect.getsource(TrainConfig), re.M))
    hints = typing.get_type_hints(TrainConfig)
    lines = ["settings (in the YAML config or as --set KEY=VALUE; values are YAML):"]
    for f in dataclasses.fields(TrainConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        if isinstance(default, list):
            default = [s.path if isinstance(s, Source) else s for s in default]
        kind = getattr(hints[f.name], "__name__", str(hints[f.name]).replace("voc.training.config.", ""))
        note = f" — {comments[f.name]}" if f.name in comments else ""
        lines.append(f"  {f.name} ({kind}, default {default!r}){note}")
    return "\n".join(lines)


SPLITS = ("train", "validation", "test")


def add_data(config: TrainConfig, specs: list[str]) -> TrainConfig:
    """Add labelled files given as ``PATH`` (training) or ``PATH:train|validation|test`` to the config.

    Relative paths are taken from the current directory (a config file also looks in the repository root).
    The files' rows are validated when training reads them; their sha256 lands in the model's voc.json.
    """
    for spec in specs:
        path, sep, split = spec.rpartition(":")
        if not sep or split not in SPLITS:
            path, split = spec, "train"
        path = str(Path(path).resolve())
        if not Path(path).is_file():
            raise ConfigError(f"--add-data {spec}: file not found ({path})")
        if split == "test":
            config.test.append(path)
        else:
            getattr(config, split).append(Source(path))
    return config


def add_override_arguments(parser: argparse.ArgumentParser) -> None:
    """``--set key=value`` (repeatable) plus shortcuts for the settings people change most."""
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE", help="override one setting"
    )
    for name in SHORTCUTS:
        flag = f"--{name.replace('_', '-')}"
        parser.add_argument(flag, dest=f"opt_{name}", default=None, metavar="VALUE", help=f"same as --set {name}=VALUE")
    parser.add_argument(
        "--add-data",
        action="append",
        default=[],
        metavar="FILE[:SPLIT]",
        help="a labelled CSV/JSONL/Parquet file added to train (default), validation or test, e.g. mine.csv:test",
    )
