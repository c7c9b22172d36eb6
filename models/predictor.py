"""Texts in, the per-text result of the contract out: language, sentiment, themes, escalation and every
probability. Serving and evaluation share this one code path.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .artifact import load_model
from .ngram import NgramModel
from .text import clean_text, detect_language


def calibrated_probs(logits: np.ndarray, multi: bool, temperature: float) -> np.ndarray:
    """Temperature-scaled probabilities: a sigmoid per label for multi-label heads, else a softmax."""
    z = logits / temperature
    if multi:
        return 1.0 / (1.0 + np.exp(-z))
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def single_decisions(probs: np.ndarray, overrides: np.ndarray) -> np.ndarray:
    """Argmax per row, except that a label whose probability reaches its override threshold wins.

    ``overrides`` holds one threshold per label (``inf`` for none). It sets an operating point such as
    "escalate when P(high) >= 0.3", chosen on validation for recall; among several labels over their
    thresholds the most probable wins.
    """
    over = probs >= overrides[None, :]
    return np.where(over.any(axis=1), np.where(over, probs, -1.0).argmax(axis=1), probs.argmax(axis=1))


def label_thresholds(chosen: dict[str, float], labels: tuple[str, ...], default: float) -> np.ndarray:
    """One task's thresholds as an array in ``labels`` order (``default`` where none is set)."""
    return np.array([float(chosen.get(label, default)) for label in labels], np.float32)


class Predictor:
    """A loaded model ready to score text (``predict_proba`` for arrays, ``predict`` for result dicts)."""

    def __init__(
        self,
        model,
        tokenizer,
        meta: dict,
        ngram: NgramModel | None = None,
        batch_size: int = 32,
        tag: str | None = None,
    ):
        self.model, self.tokenizer, self.meta, self.ngram = model.eval(), tokenizer, meta, ngram
        self.schema = model.schema
        self.batch_size = batch_size
        self.max_length = int(meta.get("max_length", 128))
        self.prefix = meta.get("text_prefix", "")
        self.temperatures = {t: float(meta.get("temperatures", {}).get(t, 1.0)) for t in self.schema.names}
        self.thresholds = meta.get("thresholds", {})
        self.ngram_weights = {t: float(w) for t, w in meta.get("ngram_weights", {}).items()}
        self.tag = tag

    @classmethod
    def load(cls, path: str | Path, quantize: bool = False, **kwargs) -> Predictor:
        """Load a model directory and run its self-check (``models.selfcheck``: a model that no longer
        scores as it did when saved is refused with ModelFileError). ``quantize`` then runs the encoder's
        Linear layers in dynamic int8 (about twice as fast on a CPU, at a measured cost in accuracy: see
        the README's Serving section)."""
        from .selfcheck import verify

        model, tokenizer, meta = load_model(path)
        predictor = cls(model, tokenizer, meta, ngram=NgramModel.load(path, model.schema), **kwargs)
        verify(predictor, path)
        if quantize:
            import warnings

            with warnings.catch_warnings():  # torch.ao.quantization is deprecated in favour of torchao
                warnings.simplefilter("ignore")
                model.encoder = torch.ao.quantization.quantize_dynamic(model.encoder, {torch.nn.Linear}, torch.qint8)
        return predictor

    def encode(self, texts: list[str]) -> dict[str, torch.Tensor]:
        batch = [self.prefix + clean_text(t) for t in texts]
        return self.tokenizer(batch, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt")

    def token_counts(self, texts: list[str]) -> list[int]:
        """Tokens each text needs before truncation (prefix and specials included)."""
        enc = self.tokenizer([self.prefix + clean_text(t) for t in texts], add_special_tokens=True)
        return [len(ids) for ids in enc["input_ids"]]

    def encoder_logits(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Raw head outputs; texts are batched by length so that padding stays small."""
        out = {name: np.zeros((len(texts), len(self.schema[name].labels)), np.float32) for name in self.schema.names}
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                enc = self.encode([texts[i] for i in idx])
                heads = self.model(enc["input_ids"], enc["attention_mask"])
                for name, value in heads.items():
                    out[name][idx] = value.float().numpy()
        return out

    def part_logits(self, texts: list[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The encoder's logits and, where the model has one, the n-gram part's (else ``{}``)."""
        return self.encoder_logits(texts), self.ngram.logits(texts) if self.ngram is not None else {}

    def combine(self, encoder: dict[str, np.ndarray], ngram: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Calibrated probabilities from the parts' logits: ``(encoder + w * ngram) / T`` per head."""
        out = {}
        for task in self.schema.tasks:
            z = encoder[task.name]
            if task.name in self.ngram_weights and task.name in ngram:
                z = z + self.ngram_weights[task.name] * ngram[task.name]
            out[task.name] = calibrated_probs(z, task.multi, self.temperatures[task.name])
        return out

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per task, each an array [n_texts, n_labels] in the schema's label order."""
        return self.combine(*self.part_logits(texts))

    def decide(self, probs: dict[str, np.ndarray], i: int) -> dict:
        """The result for row ``i``: a label (single, see ``single_decisions``) or the labels over threshold
        (multi), plus all scores."""
        result = {}
        for task in self.schema.tasks:
            p = probs[task.name][i]
            scores = {label: round(float(v), 4) for label, v in zip(task.labels, p)}
            if task.multi:
                thr = label_thresholds(self.thresholds.get(task.name, {}), task.labels, 0.5)
                result[task.name] = {"labels": [label for label, v, t in zip(task.labels, p, thr) if v >= t]}
            else:
                j = single_decisions(
                    p[None, :], label_thresholds(self.thresholds.get(task.name, {}), task.labels, np.inf)
                )[0]
                result[task.name] = {"label": task.labels[int(j)]}
            result[task.name]["scores"] = scores
        return result

    def predict(self, texts: list[str]) -> list[dict]:
        """One result per text, in order: ``{"language", <task>: {...}, ...}`` as in the HTTP contract."""
        probs = self.predict_proba(texts)
        return [{"language": detect_language(t), **self.decide(probs, i)} for i, t in enumerate(texts)]
