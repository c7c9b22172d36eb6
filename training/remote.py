"""Fine-tune on a machine that cannot hold the repository or the full backbone (a lent GPU), then finish here.

The multilingual backbone is 470 MB, 384 MB of it the word embeddings of 250k pieces; a training set uses
about 20k of them. So:

- ``pack`` (here): tokenise the config's training rows, keep the word-embedding rows of the pieces they
  use (plus the special tokens), and write a folder with that trimmed backbone in float16, the encoded rows
  and the config — about 60 MB for ``full``.
- ``fit`` (there): rebuild the encoder from the folder and run the same :class:`~voc.training.trainer.Trainer`
  with the word embeddings frozen; write every other trained weight (float16, in files under 16 MB) and
  the heads.
- Back here, ``voc train --config C --set fine_tuned=DIR`` loads the full backbone, puts those weights in
  (the frozen word embeddings are the pack's float16 values, so the encoder is the one trained there) and
  goes on exactly as a local run: n-gram part, calibration, save, measure the reloaded model, export.

Usage::

    python -m voc.training.remote pack --config training/configs/full.yaml --out gpu_pack
    python -m voc.training.remote fit gpu_pack full OUT_DIR --device cuda      # on the GPU machine
    voc train --config training/configs/full.yaml --set fine_tuned=OUT_DIR
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from voc.models.schema import LabelSchema

from .config import ConfigError, TrainConfig, config_from_dict, load_config

WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"
SHARD_BYTES = 15 * 2**20  # files that come back from the lent machine are capped at 16 MB each
# Settings that may differ between the run there and the finish here without changing the trained weights'
# meaning: where it runs, and where the finished model goes.
LOCAL_ONLY = ("fine_tuned", "device", "num_threads", "output_dir", "register")


def fingerprint(config: TrainConfig) -> str:
    """sha256 of the settings that decide the fine-tuned weights (data paths, not contents: see data_hashes)."""
    settings = {k: v for k, v in config.to_dict().items() if k not in LOCAL_ONLY}
    return hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()


def training_rows(config: TrainConfig, schema: LabelSchema) -> list[dict]:
    """The encoder's training rows exactly as ``voc train`` assembles them (test texts held out)."""
    from .data import held_out_texts, read_sources, without_texts

    return without_texts(read_sources(config, config.train, schema), held_out_texts(config, schema))[0]


def pack(configs: list[TrainConfig], out: Path) -> dict:
    """Write one trimmed float16 backbone (the pieces all the configs' rows use) to ``out``, and per config
    ``NAME.json`` (its settings, pad id, data hashes, which ``rows-*.safetensors`` hold its training and
    validation rows)."""
    from voc.models.backbone import load_backbone, text_prefix
    from voc.models.data import sha256_file
    from voc.models.vocab import lookup

    from .data import encode_rows

    bases = {c.base_model for c in configs}
    if len(bases) != 1 or len({c.name for c in configs}) != len(configs):
        raise ConfigError("configs packed together need one base_model and distinct names")
    for config in configs:
        if not config.freeze_embeddings:
            raise ConfigError(
                f"{config.name}: a pack keeps only the word embeddings its rows use, so they must "
                "stay frozen: set freeze_embeddings: true"
            )
    encoder, tokenizer = load_backbone(bases.pop())
    encoded, validation = {}, {}
    for config in configs:
        schema = LabelSchema.load(config.resolve(config.labels))
        prefix = text_prefix(config.base_model)
        encoded[config.name] = encode_rows(training_rows(config, schema), schema, tokenizer, prefix, config.max_length)
        validation[config.name] = [
            (source.path, encode_rows(rows, schema, tokenizer, prefix, config.max_length))
            for source, rows in validation_rows(config, schema)
        ]
    used = {i for e in encoded.values() for ids in e.input_ids for i in ids} | set(tokenizer.all_special_ids)
    kept = np.array(sorted(used), np.int64)
    table = lookup(kept, encoder.config.vocab_size, tokenizer.unk_token_id)

    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().half().contiguous() for k, v in encoder.state_dict().items() if v.is_floating_point()}
    state[WORD_EMBEDDINGS] = state[WORD_EMBEDDINGS][torch.from_numpy(kept)].contiguous()
    save_file(state, str(out / "backbone.safetensors"))
    trimmed = copy.deepcopy(encoder.config)
    trimmed.vocab_size = len(kept)
    trimmed.save_pretrained(str(out))
    for config in configs:
        rows_file = _save_rows(encoded[config.name], table, out)
        validation_files = [_save_rows(enc, table, out) for _, enc in validation[config.name]]
        shutil.copyfile(config.resolve(config.labels), out / f"{config.name}.labels.yaml")
        info = {
            "config": config.to_dict(),
            "fingerprint": fingerprint(config),
            "data_hashes": {s.path: sha256_file(config.resolve(s.path)) for s in config.train},
            "pad_id": int(table[tokenizer.pad_token_id]),
            "rows": len(encoded[config.name].input_ids),
            "rows_file": rows_file,
            "validation": {path: file for (path, _), file in zip(validation[config.name], validation_files)},
        }
        (out / f"{config.name}.json").write_text(json.dumps(info, indent=1))
        print(f"{config.name}: {info['rows']} training rows")
    return {"pieces": len(kept), "configs": [c.name for c in configs]}


def validation_rows(config: TrainConfig, schema: LabelSchema) -> list[tuple]:
    """Per validation source, its rows as ``voc train`` reads them (test texts held out)."""
    from .data import held_out_texts, read_sources, without_texts

    held_out = held_out_texts(config, schema)
    return [(s, without_texts(read_sources(config, [s], schema), held_out)[0]) for s in config.validation]


def _save_rows(enc, table: np.ndarray, out: Path) -> str:
    """Write encoded rows, ids mapped onto the kept pieces, into ``out``; returns the file name. Compact
    types and one file per distinct content (configs often share their rows): the pack must stay small."""
    id_type = np.int16 if int(table.max()) <= np.iinfo(np.int16).max else np.int32
    lengths = np.array([len(ids) for ids in enc.input_ids], np.int32)
    flat = table[np.concatenate([np.asarray(ids, np.int64) for ids in enc.input_ids])].astype(id_type)
    rows = {"input_ids": torch.from_numpy(flat), "lengths": torch.from_numpy(lengths)}
    for name, labels in enc.labels.items():
        rows[f"label.{name}"] = torch.from_numpy(labels.astype(np.uint8 if labels.dtype.kind == "f" else np.int16))
        rows[f"has.{name}"] = torch.from_numpy(enc.has_label[name].astype(np.uint8))
    digest = hashlib.sha256()
    for key in sorted(rows):
        digest.update(key.encode() + rows[key].numpy().tobytes())
    name = f"rows-{digest.hexdigest()[:16]}.safetensors"
    save_file(rows, str(out / name))
    return name


def _load_rows(path: Path, schema: LabelSchema):
    from .data import Encoded

    rows = load_file(str(path))
    ends = np.cumsum(rows["lengths"].numpy())
    flat = rows["input_ids"].numpy().astype(np.int64)
    labels = {}
    for task in schema.tasks:
        values = rows[f"label.{task.name}"].numpy()
        labels[task.name] = values.astype(np.float32) if task.multi else values.astype(np.int64)
    return Encoded(
        input_ids=[flat[e - n : e].tolist() for e, n in zip(ends, rows["lengths"].numpy())],
        labels=labels,
        has_label={t.name: rows[f"has.{t.name}"].numpy().astype(bool) for t in schema.tasks},
    )


def encoder_metrics(model, data, schema: LabelSchema, pad_id: int, device) -> dict[str, float]:
    """The encoder alone on packed rows (temperature 1, themes at the schema's default threshold): macro-F1 of the
    single-label heads,
    theme micro-F1. A quick way to compare recipes on validation there; the finished model is measured here."""
    from sklearn.metrics import f1_score

    from .data import collate

    model.eval().to(device)
    logits: dict[str, list] = {t.name: [] for t in schema.tasks}
    with torch.no_grad():
        for start in range(0, len(data.input_ids), 256):
            batch = collate(data, list(range(start, min(start + 256, len(data.input_ids)))), pad_id)
            out = model(batch["input_ids"].to(device), batch["attention_mask"].to(device))
            for name in logits:
                logits[name].append(out[name].float().cpu())
    model.to("cpu")
    scores = {}
    for task in schema.tasks:
        has = data.has_label[task.name]
        if not has.any():
            continue
        z = torch.cat(logits[task.name]).numpy()[has]
        gold = data.labels[task.name][has]
        if task.multi:
            on = 1.0 / (1.0 + np.exp(-z)) >= task.default_threshold
            scores[task.name] = float(f1_score(gold.astype(int), on.astype(int), average="micro", zero_division=0))
        else:
            scores[task.name] = float(f1_score(gold, z.argmax(1), average="macro", labels=range(len(task.labels))))
    return scores


def fit(pack_dir: Path, name: str, out: Path, device: str) -> dict:
    """Rebuild the encoder from a pack, fine-tune it on config ``name``'s rows, write the trained weights."""
    from transformers import AutoConfig, AutoModel

    from voc.models.classifier import VocClassifier

    from .trainer import Trainer, seed_everything

    info = json.loads((pack_dir / f"{name}.json").read_text())
    config = config_from_dict({**info["config"], "device": device})
    schema = LabelSchema.load(pack_dir / f"{name}.labels.yaml")
    seed_everything(config.seed)
    encoder = AutoModel.from_config(AutoConfig.from_pretrained(str(pack_dir)), add_pooling_layer=False)
    state = load_file(str(pack_dir / "backbone.safetensors"))
    missing = set(dict(encoder.named_parameters())) - set(state)
    if missing:
        raise ConfigError(f"{pack_dir}: the pack lacks encoder weights {sorted(missing)}")
    encoder.load_state_dict(state, strict=False)
    model = VocClassifier(encoder.float(), schema, dropout=config.dropout)

    data = _load_rows(pack_dir / info["rows_file"], schema)
    trainer = Trainer(model, config, pad_id=info["pad_id"])
    t0 = time.perf_counter()
    losses = trainer.fit(data)
    seconds = time.perf_counter() - t0
    validation = {
        path: encoder_metrics(model, _load_rows(pack_dir / file, schema), schema, info["pad_id"], trainer.device)
        for path, file in info["validation"].items()
    }

    out.mkdir(parents=True, exist_ok=True)
    trained = {
        k: v.detach().half().contiguous()
        for k, v in model.encoder.state_dict().items()
        if k != WORD_EMBEDDINGS and v.is_floating_point()
    }
    for i, shard in enumerate(_shards(trained, SHARD_BYTES)):
        save_file(shard, str(out / f"encoder-{i:02d}.safetensors"))
    save_file(model.heads_state(), str(out / "heads.safetensors"))
    result = {
        "fingerprint": info["fingerprint"],
        "data_hashes": info["data_hashes"],
        "device": torch.cuda.get_device_name() if trainer.device.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "steps": len(losses),
        "losses": losses,
        "train_seconds": seconds,
        "validation_encoder_only": validation,
    }
    (out / "result.json").write_text(json.dumps(result))
    return result


def _shards(state: dict[str, torch.Tensor], limit: int) -> list[dict[str, torch.Tensor]]:
    """Split a state dict into consecutive groups of at most ``limit`` bytes each."""
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if shards[-1] and size + nbytes > limit:
            shards.append({})
            size = 0
        shards[-1][key] = tensor
        size += nbytes
    return shards


def load_fine_tuned(model, config: TrainConfig, where: str | Path) -> dict:
    """Put the weights ``fit`` wrote into ``model`` (built on the full backbone); returns its result.json.

    The run there saw the word embeddings in float16, so they are rounded here the same way; every other
    encoder weight and the heads come from the files. Refuses a run made from a different config or data.
    """
    from voc.models.data import sha256_file

    where = Path(where)
    try:
        result = json.loads((where / "result.json").read_text())
    except (OSError, ValueError) as e:
        raise ConfigError(
            f"fine_tuned: {where} holds no readable result.json of `voc.training.remote fit` ({e})"
        ) from e
    if result["fingerprint"] != fingerprint(config):
        raise ConfigError(f"fine_tuned: {where} was trained from other settings than this config; pack it again")
    changed = [p for p, h in result["data_hashes"].items() if sha256_file(config.resolve(p)) != h]
    if changed:
        raise ConfigError(f"fine_tuned: the data changed since the pack was made: {changed}")
    state = {}
    for file in sorted(where.glob("encoder-*.safetensors")):
        state.update(load_file(str(file)))
    encoder = model.encoder
    expected = {k for k, v in encoder.state_dict().items() if k != WORD_EMBEDDINGS and v.is_floating_point()}
    if set(state) != expected:
        raise ConfigError(f"fine_tuned: {where} has encoder weights {sorted(set(state) ^ expected)[:5]} out of step")
    with torch.no_grad():
        words = encoder.get_input_embeddings().weight
        words.copy_(words.half().float())
    encoder.load_state_dict(state, strict=False)
    heads = load_file(str(where / "heads.safetensors"))
    model.heads.load_state_dict({k.removeprefix("heads."): v for k, v in heads.items()})
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m voc.training.remote", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="write a trimmed backbone and the encoded rows of one or more configs")
    p.add_argument("--config", action="append", required=True, help="a training config (repeatable)")
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("fit", help="fine-tune one packed config (on the machine with the GPU)")
    p.add_argument("pack", type=Path)
    p.add_argument("name", help="the config's name")
    p.add_argument("out", type=Path)
    p.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    args = parser.parse_args(argv)
    if args.command == "pack":
        info = pack([load_config(c) for c in args.config], args.out)
        print(f"packed {info['configs']} with {info['pieces']} word pieces into {args.out}")
    else:
        result = fit(args.pack, args.name, args.out, args.device)
        print(f"{result['steps']} steps in {result['train_seconds']:.0f}s on {result['device']}; weights in {args.out}")
        for path, scores in result["validation_encoder_only"].items():
            print(f"  validation, encoder alone: {path}: {json.dumps({k: round(v, 4) for k, v in scores.items()})}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
