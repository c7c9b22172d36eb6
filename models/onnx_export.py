"""The encoder and heads of a saved model as ONNX graphs for ONNX Runtime: float32 and int8.

``export_onnx(model_dir)`` writes ``onnx/`` beside the model (atomically):

1. the ``VocClassifier`` (encoder, mean pooling, heads) traced by ``torch.onnx.export`` with eager attention
   (``input_ids``, ``attention_mask`` -> one logits output per task, batch and length dynamic), its word
   embeddings trimmed to the pieces of Korean and English text (``voc.models.vocab``: 2.4x fewer rows) behind a
   lookup table in the graph, so that the graph takes the tokenizer's ids as they are;
2. ``model.onnx``: that graph fused by ONNX Runtime's transformer optimiser (``model_type="bert"``:
   EmbedLayerNormalization, Attention, SkipLayerNormalization, BiasGelu);
3. ``model-int8.onnx``: the fused graph with int8 weights (``quantize_dynamic``, :data:`INT8_RECIPE`; the
   embedding matrix too, which is most of the file), activations quantised on the fly.

Why these settings, and what else was tried for int8, is measured in docs/performance.md.
"""

from __future__ import annotations

import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from .atomic import atomic_dir
from .backends import ONNX_FILES
from .tokens import TextTokenizer

OPSET = 17
# Measured on the default model's validation split (docs/performance.md): per-tensor QInt8 weights.
INT8_RECIPE: dict = {"per_channel": False, "nodes_to_exclude": []}
ENCODE_SLICE = 2048  # bundled texts tokenised at a time when finding the pieces to keep


class FlatLogits(torch.nn.Module):
    """The classifier behind the id lookup table, its dict output a tuple in schema order (ONNX outputs are
    positional)."""

    def __init__(self, model, table: torch.Tensor) -> None:
        super().__init__()
        self.model = model
        self.register_buffer("table", table)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        heads = self.model(self.table[input_ids], attention_mask)
        return tuple(heads[name] for name in self.model.schema.names)


def trim_vocabulary(model, tokenizer: TextTokenizer) -> torch.Tensor:
    """Keep only the embedding rows of ``voc.models.vocab.kept_ids`` in ``model``; returns the id lookup table."""
    from .text import clean_text
    from .vocab import bundled_texts, kept_ids, lookup

    raw, prefix = tokenizer.tokenizer, tokenizer.prefix  # truncation is off: every piece of every text counts
    texts = bundled_texts()
    # In slices: the Encoding objects of all 110k bundled texts at once held ~1.4 GB (measured: docs/performance.md).
    encoded = (
        e.ids
        for start in range(0, len(texts), ENCODE_SLICE)
        for e in raw.encode_batch([prefix + clean_text(t) for t in texts[start : start + ENCODE_SLICE]])
    )
    kept = kept_ids(raw, encoded)
    rows = model.encoder.get_input_embeddings().weight.detach()
    model.encoder.set_input_embeddings(torch.nn.Embedding.from_pretrained(rows.index_select(0, torch.from_numpy(kept))))
    return torch.from_numpy(lookup(kept, rows.shape[0], tokenizer.unk_id))


def trace(model, table: torch.Tensor, file: Path) -> None:
    """The float32 graph as traced from PyTorch (attention switched to the eager path, which traces exactly)."""
    model.encoder.set_attn_implementation("eager")
    names = list(model.schema.names)
    ids = torch.tensor([[0, 5, 6, 7, 2], [0, 8, 9, 2, 1]])
    axes = {"input_ids": {0: "batch", 1: "length"}, "attention_mask": {0: "batch", 1: "length"}}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # tracer warnings about Python values taken as constants
        torch.onnx.export(
            FlatLogits(model, table).eval(),
            (ids, (ids != 1).long()),
            str(file),
            dynamo=False,  # the TorchScript exporter: no onnxscript needed, and ORT's fusions know its patterns
            input_names=["input_ids", "attention_mask"],
            output_names=names,
            dynamic_axes={**axes, **{name: {0: "batch"} for name in names}},
            opset_version=OPSET,
        )


def optimise(raw: Path, out: Path, num_heads: int, hidden: int) -> dict[str, int]:
    """Fuse the traced graph with ONNX Runtime's BERT optimiser; returns the count of each fused operator."""
    from onnxruntime.transformers.optimizer import optimize_model

    fused = optimize_model(str(raw), model_type="bert", num_heads=num_heads, hidden_size=hidden)
    fused.save_model_to_file(str(out))
    return {op: n for op, n in fused.get_fused_operator_statistics().items() if n}


def quantise(
    src: Path,
    out: Path,
    per_channel: bool = False,
    nodes_to_exclude: list[str] | None = None,
    reduce_range: bool = False,
) -> None:
    """Dynamic int8: weights (MatMul, Attention, the embedding) stored as int8, activations quantised per batch
    (``reduce_range``: 7-bit weights, which CPUs without VNNI multiply without saturating)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        str(src),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=per_channel,
        reduce_range=reduce_range,
        nodes_to_exclude=nodes_to_exclude or [],
        # the fused operators are in Microsoft's domain, which shape inference cannot type
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )


class TokenBatches:
    """ONNX Runtime's ``CalibrationDataReader``: padded batches of token ids, one feed per ``get_next``."""

    def __init__(self, batches: list[tuple[np.ndarray, np.ndarray]]) -> None:
        self.feeds = iter([{"input_ids": ids, "attention_mask": mask} for ids, mask in batches])

    def get_next(self) -> dict | None:
        return next(self.feeds, None)


def quantise_static(
    src: Path, out: Path, calibration: list[tuple[np.ndarray, np.ndarray]], per_channel: bool = True
) -> None:
    """Static int8 (QDQ): the MatMul weights in int8 (per channel, 7-bit: CPUs without VNNI saturate 8-bit
    products) and their inputs quantised with ranges measured on ``calibration`` (padded id batches of real
    text); everything else (embeddings, LayerNorm, Softmax, GELU, the fused Attention) stays float32."""
    import onnx
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    with tempfile.TemporaryDirectory(prefix="voc-static-") as work:
        # The calibrator measures only tensors of a known type, and shape inference cannot type the outputs
        # of the fused (Microsoft-domain) operators: the MatMuls' inputs and outputs are typed here (float).
        graph = onnx.load(str(src))
        known = {v.name for v in [*graph.graph.value_info, *graph.graph.input, *graph.graph.output]}
        known |= {i.name for i in graph.graph.initializer}
        for node in graph.graph.node:
            if node.op_type == "MatMul":
                for name in [*node.input, *node.output]:
                    if name not in known:
                        graph.graph.value_info.append(
                            onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None)
                        )
                        known.add(name)
        typed = Path(work) / "typed.onnx"
        onnx.save(graph, str(typed))
        del graph
        quantize_static(
            str(typed),
            str(out),
            TokenBatches(calibration),
            quant_format=QuantFormat.QDQ,
            op_types_to_quantize=["MatMul"],
            per_channel=per_channel,
            reduce_range=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            # min/max per batch, averaged over the batches: outliers damped; the histogram methods need one shape
            calibrate_method=CalibrationMethod.MinMax,
            extra_options={"CalibMovingAverage": True},
        )


def export_onnx(model_dir: Path) -> dict[str, dict]:
    """Write ``onnx/model.onnx`` and ``onnx/model-int8.onnx`` into ``model_dir``; per backend its file,
    size and fused operators."""
    from .predictor import Predictor

    predictor = Predictor.open(model_dir, "torch")
    model = predictor.model
    config = model.encoder.config
    table = trim_vocabulary(model, predictor.tokenizer)
    del predictor  # its tokenizer (~270 MB) is not needed for the rest of the export
    target = model_dir / "onnx"
    with tempfile.TemporaryDirectory(prefix="voc-onnx-") as work, atomic_dir(target) as staging:
        raw = Path(work) / "traced.onnx"
        trace(model, table, raw)
        fp32, int8 = (model_dir / ONNX_FILES[b] for b in ("onnx", "onnx-int8"))
        fused = optimise(raw, staging / fp32.name, config.num_attention_heads, config.hidden_size)
        quantise(staging / fp32.name, staging / int8.name, **INT8_RECIPE)
    sizes = {backend: (model_dir / file).stat().st_size for backend, file in ONNX_FILES.items()}
    rows = model.encoder.get_input_embeddings().num_embeddings
    return {
        backend: {"file": ONNX_FILES[backend], "bytes": sizes[backend], "fused": fused, "vocabulary": rows}
        for backend in sizes
    }
