"""ONNX export of the generator's inference stages, and an onnxruntime backend for the colorizer.

On CPUs without fast bf16 (no AVX-512 BF16 or AMX) the colorizer runs in float32. There
onnxruntime colored a fresh sketch 1.26x faster than PyTorch while PyTorch ran the attention in
blocks of queries; with the fused attention kernel PyTorch is faster (v0.3 at 512 px on an AVX2
CPU: 1.20 s against 1.35 s), and much faster for hint edits, which have PyTorch's level-wise edit
(``bench/RESULTS.md``). The backend stays for comparison and for deployments that want a graph
file. Where bf16 is fast, PyTorch with bf16 autocast is faster still and stays the default. Needs
the optional packages ``onnx`` and ``onnxruntime`` (the ``onnx`` extra)::

    colorizer = Colorizer.from_pretrained(backend="onnxruntime")
    paths = export_onnx(colorizer.model, "exported/")  # the three graphs as files

The generator is exported as the three stages the colorizer caches between, each the
``Generator`` method of that name run on the copy that ``optimize_for_inference`` rewrites
(without the two rewrites that only pay in eager PyTorch, phase-decomposed upsampling and chunked
attention): ``encode_sketch`` (sketch to skip features), ``hint_features`` (skip features and hint
map to the decoder's shared inputs) and ``decode`` (``decode_hinted``: those and one style code to
colors). The modules below only flatten the dataclasses into tensors. Height and width are
dynamic (multiples of ``2**levels``); a batch is one sketch and one reference. The style encoder
stays in PyTorch: it is small and runs once per reference. So does a frozen sketch backbone
(``ModelConfig.sketch_backbone``), run once per sketch and added to the bottleneck skip that
``encode_sketch.onnx`` gives (the graph is the U-net's encoder alone).
"""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import torch
from torch import nn

from .errors import S2PError
from .models import ColorizationModel, Generator, GeneratorOutput, HintedFeatures, SketchFeatures, StyleCode
from .models import optimize_for_inference

OPSET = 17
STAGES = ("encode_sketch", "hint_features", "decode")


class _EncodeSketch(nn.Module):
    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, sketch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        # the frozen sketch backbone stays in PyTorch: its "same" padding and the resize of its
        # features depend on the sketch's size, which a traced graph would fix at the example's
        return tuple(self.generator.encode_sketch(sketch, backbone=False).skips)


class _HintFeatures(nn.Module):
    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, hint_map: torch.Tensor, *skips: torch.Tensor) -> tuple[torch.Tensor, ...]:
        hinted = self.generator.hint_features(SketchFeatures(list(skips)), hint_map)
        return (hinted.bottleneck, *hinted.skips)


class _Decode(nn.Module):
    def __init__(self, generator: Generator) -> None:
        super().__init__()
        self.generator = generator

    def forward(self, vector, tokens, present, bottleneck, *terms) -> torch.Tensor:
        return self.generator.decode_hinted(HintedFeatures(bottleneck, list(terms)), StyleCode(vector, tokens, present)).rgb


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        raise S2PError("the onnxruntime backend needs the optional packages: pip install onnx onnxruntime") from None


def export_graphs(model: ColorizationModel, opset: int = OPSET) -> dict[str, bytes]:
    """The three stages as serialized ONNX models (float32, dynamic height and width)."""
    _require_onnx()
    if model.training:
        raise S2PError("export a model in eval mode (model.eval())")
    generator = optimize_for_inference(model, phase_split=False, chunked_attention=False).generator
    levels = generator.config.levels
    side = 8 * generator.config.multiple
    sketch = torch.zeros(1, 1, side, side)
    sketch[..., ::5, :] = 1
    hint_map = torch.zeros(1, 4, side, side)
    reference = torch.zeros(1, 3, model.config.style_size, model.config.style_size)
    skip_names = [f"skip{i}" for i in range(levels + 1)]
    term_names = [f"term{i}" for i in range(levels)]

    def spatial(names: list[str]) -> dict[str, dict[int, str]]:
        return {n: {2: f"{n}_h", 3: f"{n}_w"} for n in names}

    stages = {
        "encode_sketch": (_EncodeSketch(generator), ["sketch"], skip_names),
        "hint_features": (_HintFeatures(generator), ["hint_map", *skip_names], ["bottleneck", *term_names]),
        "decode": (_Decode(generator), ["vector", "tokens", "present", "bottleneck", *term_names], ["rgb"]),
    }
    graphs: dict[str, bytes] = {}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer notes on shape-dependent branches: shapes are fixed per stage
        skips = stages["encode_sketch"][0].eval()(sketch)
        hinted = stages["hint_features"][0].eval()(hint_map, *skips)
        code = model.style_encoder(reference)
        examples = {
            "encode_sketch": (sketch,),
            "hint_features": (hint_map, *skips),
            "decode": (code.vector, code.tokens, code.present, *hinted),
        }
        for name, (module, inputs, outputs) in stages.items():
            buffer = io.BytesIO()
            dynamic = spatial([n for n in inputs + outputs if n not in ("vector", "tokens", "present")])
            torch.onnx.export(module.eval(), examples[name], buffer, dynamo=False, opset_version=opset,
                              input_names=inputs, output_names=outputs, dynamic_axes=dynamic)
            graphs[name] = buffer.getvalue()
    return graphs


def export_onnx(model: ColorizationModel, directory: str | os.PathLike, opset: int = OPSET) -> dict[str, Path]:
    """Write ``encode_sketch.onnx``, ``hint_features.onnx`` and ``decode.onnx`` into ``directory``."""
    from .fileio import write_bytes_atomic

    directory = Path(directory)
    return {name: write_bytes_atomic(directory / f"{name}.onnx", data) for name, data in export_graphs(model, opset).items()}


class OnnxGenerator:
    """The generator's inference stages on onnxruntime (CPU, float32), with the torch signatures."""

    def __init__(self, model: ColorizationModel, threads: int | None = None, graphs: dict[str, bytes] | None = None) -> None:
        _require_onnx()
        import onnxruntime as ort

        graphs = graphs or export_graphs(model)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.sessions = {
            name: ort.InferenceSession(graphs[name], options, providers=["CPUExecutionProvider"]) for name in STAGES
        }
        self.levels = model.generator.config.levels
        self.generator = model.generator if model.generator.sketch_backbone is not None else None

    @staticmethod
    def _array(t: torch.Tensor):
        return t.detach().to("cpu", torch.float32).contiguous().numpy()

    def _run(self, stage: str, feeds: dict[str, torch.Tensor]) -> list[torch.Tensor]:
        outputs = self.sessions[stage].run(None, {k: self._array(v) for k, v in feeds.items()})
        return [torch.from_numpy(o) for o in outputs]

    def encode_sketch(self, sketch: torch.Tensor) -> SketchFeatures:
        if sketch.shape[0] != 1:
            return SketchFeatures([torch.cat(s) for s in zip(*(self.encode_sketch(x[None]).skips for x in sketch))])
        skips = self._run("encode_sketch", {"sketch": sketch})
        if self.generator is not None:
            with torch.inference_mode():
                skips[-1] = self.generator.join_sketch_backbone(sketch.float(), skips[-1])
        return SketchFeatures(skips)

    def hint_features(self, features: SketchFeatures, hint_map: torch.Tensor) -> HintedFeatures:
        feeds = {"hint_map": hint_map, **{f"skip{i}": s for i, s in enumerate(features.skips)}}
        bottleneck, *terms = self._run("hint_features", feeds)
        return HintedFeatures(bottleneck, terms)

    def decode_hinted(self, hinted: HintedFeatures, style: StyleCode) -> GeneratorOutput:
        outputs = []
        for i in range(len(style)):  # one reference at a time: the graph was traced with one
            code = style.select(slice(i, i + 1))
            feeds = {"vector": code.vector, "tokens": code.tokens, "present": code.present, "bottleneck": hinted.bottleneck}
            feeds.update({f"term{j}": t for j, t in enumerate(hinted.skips)})
            outputs.append(self._run("decode", feeds)[0])
        return GeneratorOutput(torch.cat(outputs))
