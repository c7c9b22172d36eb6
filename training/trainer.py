"""Fine-tune the encoder and heads with masked multi-task losses (the model's save path lives in models/)."""

from __future__ import annotations

import contextlib
import math
import random

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from voc.models.classifier import VocClassifier

from .config import TrainConfig
from .data import IGNORE, Encoded, collate, length_grouped_batches


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch: the same data, config and seed give the same weights."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def pick_device(name: str) -> torch.device:
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("device cuda was asked for but torch sees no GPU; use --device cpu")
    return torch.device(name)


def freeze(model: VocClassifier, config: TrainConfig) -> None:
    """Freeze the word embeddings and the bottom ``freeze_layers`` layers, as the config asks."""
    if config.freeze_embeddings:
        model.encoder.get_input_embeddings().weight.requires_grad_(False)
    if config.freeze_layers:
        layers = getattr(getattr(model.encoder, "encoder", None), "layer", None)
        if layers is None:
            raise RuntimeError(f"freeze_layers is not supported for {type(model.encoder).__name__}")
        for layer in layers[: config.freeze_layers]:
            layer.requires_grad_(False)


def task_losses(model: VocClassifier, logits: dict[str, torch.Tensor], batch: dict) -> dict[str, torch.Tensor]:
    """Each task's loss over the rows of the batch that carry its label; tasks with no such row are absent."""
    losses = {}
    for task in model.schema.tasks:
        has = batch[f"has.{task.name}"]
        if not bool(has.any()):
            continue
        out, target = logits[task.name].float(), batch[f"label.{task.name}"]
        if task.multi:
            losses[task.name] = F.binary_cross_entropy_with_logits(out[has], target[has])
        else:
            losses[task.name] = F.cross_entropy(out, target, ignore_index=IGNORE)
    return losses


class Trainer:
    """Runs the optimisation loop; seeded, so the same data and config give the same weights."""

    def __init__(self, model: VocClassifier, config: TrainConfig, pad_id: int):
        self.model, self.config, self.pad_id = model, config, pad_id
        self.device = pick_device(config.device)

    def fit(self, data: Encoded) -> list[float]:
        """Train for ``config.epochs`` (fractions allowed) and return the loss of every step."""
        cfg, model = self.config, self.model
        freeze(model, cfg)
        model.to(self.device).train()
        rng = random.Random(cfg.seed)
        lengths = [len(ids) for ids in data.input_ids]
        per_epoch = math.ceil(len(lengths) / cfg.batch_size)
        total = max(1, round(per_epoch * cfg.epochs))
        optimizer = torch.optim.AdamW(
            [
                {"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": cfg.learning_rate},
                {"params": list(model.heads.parameters()), "lr": cfg.head_learning_rate},
            ],
            weight_decay=cfg.weight_decay,
        )
        warmup = int(total * cfg.warmup_ratio)
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda s: min((s + 1) / max(1, warmup), max(0.0, (total - s) / max(1, total - warmup)))
        )
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16)
            if cfg.mixed_precision and self.device.type == "cuda"
            else contextlib.nullcontext()
        )
        weights = {t: float(cfg.task_weights.get(t, 1.0)) for t in model.schema.names}
        history: list[float] = []
        batches: list[list[int]] = []
        with tqdm(total=total, desc="training", unit="step", dynamic_ncols=True) as bar:
            for _ in range(total):
                if not batches:
                    batches = length_grouped_batches(lengths, cfg.batch_size, rng)
                batch = {k: v.to(self.device) for k, v in collate(data, batches.pop(), self.pad_id).items()}
                with autocast:
                    logits = model(batch["input_ids"], batch["attention_mask"])
                losses = task_losses(model, logits, batch)
                loss = sum(weights[t] * v for t, v in losses.items())
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimizer.step()
                schedule.step()
                history.append(loss.item())
                bar.set_postfix(loss=f"{sum(history[-50:]) / len(history[-50:]):.3f}")
                bar.update()
        model.eval().to("cpu")
        return history
