"""Texts in, the per-text result of the contract out: language, sentiment, themes, escalation and every
probability. Serving and evaluation share this one code path, and it is the one way in and out of a model
directory: ``Predictor.load`` reads one (``voc.models.artifact`` names its files), ``Predictor.save`` writes one.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .artifact import HEADS_FILE, META_FILE, check_weight_files, read_meta, write_model_files
from .atomic import atomic_dir
from .backends import Encoder, TorchEncoder
from .errors import ModelFileError
from .ngram import NgramModel
from .schema import LabelSchema
from .text import clean_text, detect_language
from .tokens import TextTokenizer, pad_batch, window_length


def calibrated_probs(logits: np.ndarray, multi: bool, temperature: float) -> np.ndarray:
    """Temperature-scaled probabilities: a sigmoid per label for multi-label heads, else a softmax."""
    z = logits / temperature
    if multi:
        return 1.0 / (1.0 + np.exp(-z))
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def shift_priors(probs: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """A single-label head's probabilities with each row's log-prior offsets added (``offsets``: one row of
    offsets per text, zeros where none apply), renormalised: per-language calibration (``language_offsets``).
    Rows without offsets are returned exactly as they were, in the same dtype."""
    out = probs.copy()
    rows = np.flatnonzero(np.any(offsets != 0, axis=1))
    if len(rows):
        z = np.log(np.clip(probs[rows].astype(np.float64), 1e-12, None)) + offsets[rows]
        e = np.exp(z - z.max(axis=1, keepdims=True))
        out[rows] = e / e.sum(axis=1, keepdims=True)
    return out


# Recorded in voc.json by training: the metrics saved with a model were measured under this rule (older models
# let the most likely label win too, so their stored recall of an override label is an upper bound now).
DECISION_RULE = "threshold-only"


def single_decisions(probs: np.ndarray, overrides: np.ndarray) -> np.ndarray:
    """One label index per row; a label with an override threshold is decided by that threshold alone.

    ``overrides`` holds one threshold per label (``inf`` for none); a finite one sets an operating point
    such as "escalate when P(high) >= 0.38", chosen on validation for recall. Such a label wins exactly
    when its probability reaches the threshold (the most probable of several that do) and never otherwise,
    even when it is the most likely: so the decision is monotonic in its probability, and rows sorted by
    P(high) have every ``high`` above every other level. A row with no label over its threshold gets the
    most likely of the labels without one (of all labels when every label has one).
    """
    over = probs >= overrides[None, :]
    free = ~np.isfinite(overrides)
    rest = np.where(free[None, :], probs, -1.0) if free.any() else probs
    return np.where(over.any(axis=1), np.where(over, probs, -1.0).argmax(axis=1), rest.argmax(axis=1))


def label_thresholds(chosen: dict[str, float], labels: tuple[str, ...], default: float) -> np.ndarray:
    """One task's thresholds as an array in ``labels`` order (``default`` where none is set)."""
    return np.array([float(chosen.get(label, default)) for label in labels], np.float32)


# What one forward pass costs beyond its tokens, in tokens: measured on the `default` model (ONNX float32, 2 cores)
# as t(rows, length) ~ a + b * rows * length over batches of 1-32 rows of 8-64 tokens (docs/performance.md).
PASS_COST_TOKENS = 16
# Padded tokens a pass may hold: 32 windows of 64, as before texts were read at 256 tokens. ONNX Runtime keeps
# its memory arena at the largest pass it has run, so this bounds the service's memory as well as its latency.
MAX_PASS_TOKENS = 2048


def length_batches(
    lengths: list[int], max_rows: int, pass_cost: float = PASS_COST_TOKENS, max_tokens: int = MAX_PASS_TOKENS
) -> list[tuple[int, int]]:
    """Split sequences sorted by length (ascending) into runs ``[start, end)`` of at most ``max_rows`` and at most
    ``max_tokens`` padded tokens (a single sequence always fits), padded to their longest, with the least total
    cost: ``pass_cost`` per run plus its padded tokens (dynamic programming over the cut points)."""
    best, cut = [0.0] + [np.inf] * len(lengths), [0] * (len(lengths) + 1)
    for end in range(1, len(lengths) + 1):
        rows = min(max_rows, max(1, max_tokens // lengths[end - 1]))
        for start in range(max(0, end - rows), end):
            cost = best[start] + pass_cost + (end - start) * lengths[end - 1]
            if cost < best[end]:
                best[end], cut[end] = cost, start
    runs, end = [], len(lengths)
    while end:
        runs.append((cut[end], end))
        end = cut[end]
    return runs[::-1]


def load_classifier(path: Path, meta: dict):
    """The PyTorch ``VocClassifier`` of a model directory (``meta``: its checked ``voc.json``), in eval mode on the
    CPU; a file that cannot be read is a ModelFileError naming it."""
    from safetensors.torch import load_file

    from .backbone import load_encoder
    from .classifier import VocClassifier

    schema = LabelSchema.from_dict(meta["schema"], source=str(path / META_FILE))
    try:
        encoder = load_encoder(str(path / "encoder"))
    except Exception as e:  # transformers raises OSError, ValueError or safetensors' errors by the fault
        raise ModelFileError(
            f"{path / 'encoder'}: the encoder cannot be loaded ({str(e).splitlines()[0]}); retrain or restore it"
        ) from None
    model = VocClassifier(encoder, schema)
    try:
        heads = {k.removeprefix("heads."): v for k, v in load_file(str(path / HEADS_FILE)).items()}
        model.heads.load_state_dict(heads)
    except Exception as e:  # a missing, truncated or foreign heads file
        raise ModelFileError(
            f"{path / HEADS_FILE}: cannot be loaded ({str(e).splitlines()[0]}); retrain or restore it"
        ) from None
    return model.eval()


class Predictor:
    """A loaded model ready to score text (``predict_proba`` for arrays, ``predict`` for result dicts).

    ``model`` is a ``VocClassifier`` (run in PyTorch) or a ``voc.models.backends.Encoder``: a backend only turns
    token ids into head logits; cleaning, tokenisation, the n-gram part, calibration and decisions are this
    class's, the same for every backend. Each text is cleaned once and tokenised once per call.
    """

    def __init__(
        self,
        model,
        tokenizer,
        meta: dict,
        ngram: NgramModel | None = None,
        batch_size: int = 32,
        tag: str | None = None,
    ):
        self.encoder = model if isinstance(model, Encoder) else TorchEncoder(model)
        self.model = getattr(self.encoder, "model", None)  # the PyTorch module, when the backend has one
        # the transformers tokenizer training hands over: what ``save`` writes beside the encoder
        self.hf_tokenizer = None if isinstance(tokenizer, TextTokenizer) else tokenizer
        self.meta, self.ngram = meta, ngram
        self.schema = self.encoder.schema
        self.batch_size = batch_size
        self.max_length = int(meta.get("max_length", 128))
        self.prefix = meta.get("text_prefix", "")
        if not isinstance(tokenizer, TextTokenizer):  # a transformers tokenizer and a VocClassifier (training)
            window = window_length(self.max_length, self.model.encoder.config.max_position_embeddings)
            tokenizer = TextTokenizer.from_hf(tokenizer, self.prefix, window)
        self.tokenizer = tokenizer
        self.temperatures = {t: float(meta.get("temperatures", {}).get(t, 1.0)) for t in self.schema.names}
        self.thresholds = meta.get("thresholds", {})
        self.ngram_weights = {t: float(w) for t, w in meta.get("ngram_weights", {}).items()}
        # {language: {task: log-prior offset per label}}, fitted on real validation rows of that language
        # (training/calibration.py fit_language_offsets); a language or head without one is left as it is.
        self.language_offsets = {
            lang: {t: np.asarray(b, dtype=np.float64) for t, b in per.items()}
            for lang, per in meta.get("language_offsets", {}).items()
        }
        self.tag = tag
        self.path: Path | None = None  # the model directory, when loaded from one (``load``)
        self._torch_model = None
        self.pass_cost = PASS_COST_TOKENS  # length_batches' price of one more forward pass, in tokens

    @property
    def backend(self) -> str:
        return self.encoder.name

    @classmethod
    def load(cls, path: str | Path, backend: str | None = None, **kwargs) -> Predictor:
        """Load a model directory on a backend (``voc.models.backends.choose_backend``: the one asked for, else
        ``$VOC_BACKEND``, else the model's default) and run its self-check (``voc.models.selfcheck``: a model
        that no longer scores as it did when saved is refused with ModelFileError). ONNX backends load
        neither PyTorch weights nor transformers; ``torch-int8`` is verified in float32, then quantised."""
        from .backends import ONNX_FILES, choose_backend
        from .selfcheck import verify

        meta = read_meta(Path(path))  # first: a directory that is no model says so
        check_weight_files(Path(path))
        name = choose_backend(Path(path), meta, backend)
        predictor = cls.open(path, name if name in ONNX_FILES else "torch", **kwargs)
        predictor.path = Path(path)
        verify(predictor, path)
        if name == "torch-int8":
            predictor.encoder = TorchEncoder(predictor.model, int8=True)
        return predictor

    def torch_model(self):
        """The PyTorch ``VocClassifier`` (encoder, pooling, heads), for what needs more than head logits, such as
        ``voc suggest``'s embeddings: the module this predictor runs, else (an ONNX backend) the model directory's
        PyTorch weights, loaded and self-checked on first use, so that such commands work on every backend."""
        if self.model is not None:
            return self.model
        if self._torch_model is None:
            if self.path is None:
                raise ModelFileError("this predictor has no PyTorch module and no model directory to load one from")
            self._torch_model = Predictor.load(self.path, backend="torch").model
        return self._torch_model

    @classmethod
    def open(cls, path: str | Path, backend: str, **kwargs) -> Predictor:
        """A model directory on ``torch`` or an ONNX backend, as its files are: neither the backend's presence in
        ``voc.json`` nor the self-check is checked (``load`` does both; ``voc export`` verifies as it records)."""
        from .backends import ONNX_FILES, OrtEncoder

        path = Path(path)
        if backend in ONNX_FILES:
            meta = read_meta(path)
            schema = LabelSchema.from_dict(meta["schema"], source=str(path / META_FILE))
            encoder = OrtEncoder(path / ONNX_FILES[backend], schema, backend)
        else:
            meta = read_meta(path)
            encoder = TorchEncoder(load_classifier(path, meta))
        config = json.loads((path / "encoder" / "config.json").read_text(encoding="utf-8"))
        window = window_length(int(meta.get("max_length", 128)), int(config.get("max_position_embeddings", 512)))
        # one copy of the tokenizer, read without transformers
        tokenizer = TextTokenizer.from_dir(path / "encoder", meta.get("text_prefix", ""), window)
        return cls(encoder, tokenizer, meta, ngram=NgramModel.load(path, encoder.schema), **kwargs)

    def save(self, path: str | Path, card: str = "", check_texts: list[str] | None = None) -> Path:
        """Write this model as a model directory at ``path``, atomically (a failure part-way leaves ``path`` as it
        was), with a self-check made from this object (``voc.models.selfcheck``: ``check_texts``, else its default
        texts). The one way a model directory is written: by ``voc train`` and by the tests' fixtures. Needs the
        PyTorch module and the transformers tokenizer, as training builds a Predictor."""
        from .selfcheck import make_self_check

        if self.model is None or self.hf_tokenizer is None:
            raise ValueError("only a Predictor built from a VocClassifier and its transformers tokenizer can be saved")
        check = make_self_check(self, check_texts)
        with atomic_dir(Path(path)) as tmp:
            write_model_files(tmp, self.model, self.hf_tokenizer, self.meta, card, self.ngram, check)
        return Path(path)

    def run_encoder(self, ids: list[list[int]]) -> dict[str, np.ndarray]:
        """Head logits for tokenised sequences, in their order: sorted by length and run in sub-batches of
        similar length (``length_batches``), so that a batch pays for its own texts, not for its longest."""
        out = {name: np.zeros((len(ids), len(self.schema[name].labels)), np.float32) for name in self.schema.names}
        order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
        for start, end in length_batches([len(ids[i]) for i in order], self.batch_size, self.pass_cost):
            idx = order[start:end]
            heads = self.encoder(*pad_batch([ids[i] for i in idx], self.tokenizer.pad_id))
            for name, value in heads.items():
                out[name][idx] = value
        return out

    def read(self, windows: list[list[list[int]]]) -> dict[str, np.ndarray]:
        """Head logits per text: the mean over its windows (``voc.models.tokens``). The heads are linear, so this
        equals the heads applied to the mean of the windows' pooled embeddings."""
        counts = np.array([len(w) for w in windows])
        flat = self.run_encoder([ids for text in windows for ids in text])
        if (counts == 1).all():
            return flat
        firsts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        return {name: np.add.reduceat(value, firsts, axis=0) / counts[:, None] for name, value in flat.items()}

    def analyse(self, texts: list[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], list[bool]]:
        """The encoder's logits, the n-gram part's (``{}`` without one) and per text whether some of it was left
        unread (longer than ``voc.models.tokens.MAX_WINDOWS`` windows of ``READ_LENGTH`` tokens): each text cleaned
        once and tokenised once."""
        cleaned = [clean_text(t) for t in texts]
        tokens = self.tokenizer(cleaned)
        ngram = self.ngram.logits(cleaned, cleaned=True) if self.ngram is not None else {}
        return self.read(tokens.windows), ngram, tokens.truncated

    def part_logits(self, texts: list[str]) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """The encoder's logits and, where the model has one, the n-gram part's (else ``{}``)."""
        encoder, ngram, _ = self.analyse(texts)
        return encoder, ngram

    def combine(
        self, encoder: dict[str, np.ndarray], ngram: dict[str, np.ndarray], languages: list[str]
    ) -> dict[str, np.ndarray]:
        """Calibrated probabilities from the parts' logits: ``(encoder + w * ngram) / T`` per head, then each
        text's language offsets (``languages``: ``detect_language`` of each text)."""
        out = {}
        for task in self.schema.tasks:
            z = encoder[task.name]
            if task.name in self.ngram_weights and task.name in ngram:
                z = z + self.ngram_weights[task.name] * ngram[task.name]
            out[task.name] = calibrated_probs(z, task.multi, self.temperatures[task.name])
            if not task.multi and any(task.name in per for per in self.language_offsets.values()):
                zero = np.zeros(len(task.labels))
                rows = np.stack([self.language_offsets.get(lang, {}).get(task.name, zero) for lang in languages])
                out[task.name] = shift_priors(out[task.name], rows)
        return out

    def predict_proba(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Calibrated probabilities per task, each an array [n_texts, n_labels] in the schema's label order."""
        return self.combine(*self.part_logits(texts), [detect_language(t) for t in texts])

    def decide(self, probs: dict[str, np.ndarray], i: int) -> dict:
        """The result for row ``i``: a label (single, see ``single_decisions``) or the labels over threshold
        (multi), plus all scores."""
        result = {}
        for task in self.schema.tasks:
            p = probs[task.name][i]
            scores = {label: round(float(v), 4) for label, v in zip(task.labels, p)}
            if task.multi:
                thr = label_thresholds(self.thresholds.get(task.name, {}), task.labels, task.default_threshold)
                result[task.name] = {"labels": [label for label, v, t in zip(task.labels, p, thr) if v >= t]}
            else:
                thr = label_thresholds(self.thresholds.get(task.name, {}), task.labels, task.default_threshold)
                j = single_decisions(p[None, :], thr)[0]
                result[task.name] = {"label": task.labels[int(j)]}
            result[task.name]["scores"] = scores
        return result

    def predict(self, texts: list[str]) -> list[dict]:
        """One result per text, in order: ``{"language", <task>: {...}, ..., "truncated"}`` as in the HTTP
        contract (``truncated``: the text was too long to be read whole, see ``voc.models.tokens``; its start was)."""
        encoder, ngram, truncated = self.analyse(texts)
        languages = [detect_language(t) for t in texts]
        probs = self.combine(encoder, ngram, languages)
        return [
            {"language": languages[i], **self.decide(probs, i), "truncated": truncated[i]} for i in range(len(texts))
        ]
