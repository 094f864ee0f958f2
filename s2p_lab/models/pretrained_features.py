"""Frozen pretrained features: an option of the model config for the sketch and the reference.

``ModelConfig.sketch_backbone`` and ``ModelConfig.reference_backbone`` name a network whose
weights ship with the project (``s2p_lab/pretrained/backbones/``, converted once by the scripts in
``scripts/``). The network is frozen: it is not in the model's ``state_dict`` (the weights file of
a colorizer holds only what was trained; the backbone comes from its own shipped file), not in
``parameters()`` (no optimizer sees it) and always in eval mode. What the model learns is the
small join that maps its features into the U-net or the reference tokens.

- ``efficientnet_lite0``: EfficientNet-Lite0 (ImageNet, Apache-2.0) up to block 10: 112 channels at
  stride 16. On this project's probe its block-10 features of a sketch matched those of the colored
  original (PCK@16 0.51-0.56), so it serves both sides.
- ``dinov2_small``: DINOv2 ViT-S/14's last normalized patch tokens (384-d), the input resized so
  that its grid is the same as a stride-16 network's. Color images only: on line art its tokens
  match nothing (PCK@16 0.03-0.07), so it is a reference-side choice.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

SKETCH_BACKBONES = ("none", "efficientnet_lite0")
REFERENCE_BACKBONES = ("none", "efficientnet_lite0", "dinov2_small")
EFFICIENTNET_BLOCKS = 11  # blocks 0..10: the end of the stride-16, 112-channel stage


def backbone_weights_path(name: str) -> Path:
    """The shipped weights file of backbone ``name``."""
    if name == "efficientnet_lite0":
        from ..backbones.efficientnet_lite import WEIGHTS_PATH
    else:
        from ..backbones.dinov2 import DEFAULT_WEIGHTS as WEIGHTS_PATH
    return Path(WEIGHTS_PATH)


def _shipped_tensors(name: str) -> dict[str, torch.Tensor]:
    """The shipped weights of a backbone as the file stores them (DINOv2-S in float16), read and
    checked on each call: nothing is kept, so a process holds each network's weights once, in the
    network, in the precision it runs in."""
    from ..weights import load_tensors

    tensors, _ = load_tensors(backbone_weights_path(name))
    return tensors


def load_frozen(factory: Callable[[], nn.Module], name: str, prefix: str = "",
                dtype: torch.dtype | None = None) -> nn.Module:
    """``factory()`` built without initializing anything (on the meta device), then given the
    shipped weights of backbone ``name`` (each module key is ``prefix`` + the file's key), frozen
    and in eval mode.

    ``dtype``: the convolution and linear weights stored in it (what autocast to ``dtype`` would
    cast them to on every call: the same values), the normalization layers kept in float32.
    """
    with torch.device("meta"):
        net = factory()
    stored = ({n for n, m in net.named_modules() if isinstance(m, (nn.Linear, nn.Conv2d))}
              if dtype is not None else set())
    shipped = _shipped_tensors(name)
    wanted = {key: (shipped[key[len(prefix):]], dtype if key.rpartition(".")[0] in stored else like.dtype)
              for key, like in net.state_dict(keep_vars=True).items()}
    del shipped
    net.load_state_dict(packed(wanted), assign=True)
    return net.requires_grad_(False).eval()


def packed(tensors: dict[str, tuple[torch.Tensor, torch.dtype]]) -> dict[str, torch.Tensor]:
    """Each tensor converted to its dtype, as a view into one buffer per dtype (each view starting
    on a 64-byte boundary): a network's weights are then one allocation, which the C library gives
    back to the system as a whole when the network is dropped (``FrozenBackbone.release``), where
    hundreds of small ones would leave holes that later tensors do not fit."""
    out: dict[str, torch.Tensor] = {}
    for dtype in dict.fromkeys(d for _, d in tensors.values()):
        names = [k for k, (_, d) in tensors.items() if d == dtype]
        align = max(1, 64 // torch.empty((), dtype=dtype).element_size())
        sizes = [-(-tensors[k][0].numel() // align) * align for k in names]
        flat = torch.empty(sum(sizes), dtype=dtype)
        offset = 0
        for key, size in zip(names, sizes):
            source = tensors[key][0]
            out[key] = flat[offset:offset + source.numel()].view(source.shape).copy_(source)
            offset += size
    return out


class EfficientNetTrunk(nn.Module):
    """EfficientNet-Lite0's stem and first ``blocks`` blocks; RGB in [0, 1] to a feature map."""

    def __init__(self, blocks: int = EFFICIENTNET_BLOCKS) -> None:
        super().__init__()
        from ..backbones.efficientnet_lite import EfficientNetLite0

        full = EfficientNetLite0()
        self._conv_stem, self._bn0 = full._conv_stem, full._bn0
        self._blocks = nn.ModuleList(list(full._blocks)[:blocks])
        self.channels = self._blocks[-1]._project_conv.out_channels
        self.stride = 16

    def forward(self, rgb01: torch.Tensor) -> torch.Tensor:
        x = F.relu6(self._bn0(self._conv_stem((rgb01 - 0.5) / 0.5)))
        for block in self._blocks:
            x = block(x)
        return x


def efficientnet_trunk(blocks: int = EFFICIENTNET_BLOCKS) -> EfficientNetTrunk:
    """EfficientNet-Lite0's first ``blocks`` blocks with the shipped ImageNet weights, frozen, in
    eval mode (a plain module: the region matcher reads several of its blocks)."""
    return load_frozen(lambda: EfficientNetTrunk(blocks), "efficientnet_lite0")


class DinoV2Trunk(nn.Module):
    """DINOv2 ViT-S/14's final normalized patch tokens as a map on a stride-16 grid."""

    def __init__(self) -> None:
        super().__init__()
        from ..backbones.dinov2 import DinoV2

        self.net = DinoV2()
        self.channels = self.net.config.dim
        self.stride = 16

    def forward(self, rgb01: torch.Tensor) -> torch.Tensor:
        from ..backbones.dinov2 import normalize_image

        rows, cols = max(1, rgb01.shape[-2] // 16), max(1, rgb01.shape[-1] // 16)
        p = self.net.config.patch_size
        pixels = F.interpolate(rgb01.float(), size=(rows * p, cols * p), mode="bilinear", align_corners=False,
                               antialias=True)
        tokens = self.net(normalize_image(pixels).to(rgb01.dtype))[:, 1:]
        return tokens.transpose(1, 2).reshape(rgb01.shape[0], -1, rows, cols)


class _DeferredNet:
    """A frozen network read from its shipped file when first run, not when its model is built.

    A colorizer whose style codes all come from the reference store (``reference_store``) never
    runs DINOv2-S: its 22 M weights are then never read. Moves (``.to``, ``channels_last``) are
    recorded and replayed in order on the network whenever it is read. Copies of a
    ``FrozenBackbone`` share one ``_DeferredNet``, so a network is read once (until ``release``).
    """

    def __init__(self, factory: Callable[[], nn.Module], name: str, prefix: str, dtype: torch.dtype | None,
                 moves: list[tuple[Any, bool]] | None = None, cast_to: torch.dtype | None = None) -> None:
        self.factory, self.name, self.prefix, self.dtype = factory, name, prefix, dtype
        self.net: nn.Module | None = None
        self.moves: list[tuple[Any, bool]] = list(moves or [])
        self.cast_to = cast_to  # after the moves: the convolution and linear weights stored in it

    def get(self) -> nn.Module:
        if self.net is None:
            net = load_frozen(self.factory, self.name, self.prefix, self.dtype)
            for fn, recurse in self.moves:
                net._apply(fn, recurse)
            for module in net.modules() if self.cast_to is not None else ():
                if isinstance(module, (nn.Linear, nn.Conv2d)):
                    module.to(self.cast_to)
            self.net = net
        return self.net

    def apply(self, fn: Any, recurse: bool) -> None:
        self.moves.append((fn, recurse))
        if self.net is not None:
            self.net._apply(fn, recurse)


class FrozenBackbone(nn.Module):
    """A pretrained network held outside the module tree: no state_dict entries, no parameters.

    Device and dtype moves (``.to``, ``.half``) reach it; ``train()`` leaves it in eval mode; a
    ``deepcopy`` (the inference copy) shares it. Its weights are read from the shipped file on its
    first call (``loaded`` says whether that happened).
    """

    def __init__(self, name: str, dtype: torch.dtype | None = None) -> None:
        """``dtype``: store the network for autocast to it from the start (``autocast_copy``
        without the float32 original: what an inference-only model of that precision holds)."""
        super().__init__()
        factory: Callable[[], nn.Module]
        if name == "efficientnet_lite0":
            factory, prefix = EfficientNetTrunk, ""
        elif name == "dinov2_small":
            factory, prefix = DinoV2Trunk, "net."
        else:
            raise ValueError(f"unknown backbone {name!r}")
        with torch.device("meta"):  # the shape alone, for the channels and the stride
            shape = factory()
        self.name = name
        self.channels: int = shape.channels
        self.stride: int = shape.stride
        # not a registered child: kept out of state_dict and parameters()
        self.__dict__["deferred"] = _DeferredNet(factory, name, prefix, dtype)
        if dtype is not None:
            self.__dict__["autocast_dtype"] = dtype

    @property
    def net(self) -> nn.Module:
        """The frozen network (read from its file on first use)."""
        return self.__dict__["deferred"].get()

    @property
    def loaded(self) -> bool:
        """Whether the network's weights are in memory."""
        return self.__dict__["deferred"].net is not None

    def release(self) -> None:
        """Give the network's weights back (for this backbone and the copies sharing it); its next
        call reads them again."""
        self.__dict__["deferred"].net = None

    def forward(self, rgb01: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            cast = self.__dict__.get("autocast_dtype")
            if cast is not None and not torch.is_autocast_enabled(rgb01.device.type):
                with torch.autocast(rgb01.device.type, dtype=cast):  # its weights are stored for autocast
                    return self.net(rgb01).detach().to(rgb01.dtype)
            return self.net(rgb01).detach()

    def autocast_copy(self, dtype: torch.dtype) -> "FrozenBackbone":
        """A copy for inference under ``torch.autocast(dtype)``: its own network, with the
        convolution and linear weights stored in ``dtype`` once instead of cast on every call.

        Autocast casts exactly these tensors to ``dtype`` before each convolution and matmul, so
        the results are the same, bit for bit; normalization layers keep their float32 weights.
        The copy always runs under autocast (it enters it when the caller has not).
        """
        clone = copy.deepcopy(self)
        original = self.__dict__["deferred"]
        clone.__dict__["deferred"] = _DeferredNet(original.factory, self.name, original.prefix, original.dtype,
                                                  original.moves, cast_to=dtype)
        clone.__dict__["autocast_dtype"] = dtype
        return clone

    def train(self, mode: bool = True) -> "FrozenBackbone":
        super().train(mode)
        if self.loaded:
            self.net.eval()  # the network itself stays in eval mode
        return self

    def _apply(self, fn: Any, recurse: bool = True) -> "FrozenBackbone":
        self.__dict__["deferred"].apply(fn, recurse)
        return super()._apply(fn, recurse)

    def __deepcopy__(self, memo: dict) -> "FrozenBackbone":
        clone = copy.copy(self)
        clone.__dict__ = dict(self.__dict__)
        for key in ("_parameters", "_buffers", "_modules"):
            clone.__dict__[key] = dict(self.__dict__[key])
        return clone

    def extra_repr(self) -> str:
        return f"{self.name}, frozen, {self.channels} channels at stride {self.stride}"


def store_backbones_for_autocast(model: nn.Module, dtype: torch.dtype) -> int:
    """Replace every ``FrozenBackbone`` inside ``model`` by its ``autocast_copy(dtype)``, in place.

    For an inference copy that always runs under autocast: a frozen network's weights are then
    read once in ``dtype`` rather than cast from float32 on every call (22 M weights for DINOv2-S).
    Returns how many were replaced.
    """
    replaced = 0
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, FrozenBackbone) and child.__dict__.get("autocast_dtype") is None:
                setattr(parent, name, child.autocast_copy(dtype))
                replaced += 1
    return replaced


def build_backbone(name: str, dtype: torch.dtype | None = None) -> FrozenBackbone | None:
    """The frozen network for a config name (stored for autocast to ``dtype`` where given), or
    None for ``"none"``."""
    return None if name == "none" else FrozenBackbone(name, dtype)


class FeatureJoin(nn.Module):
    """Backbone features (B, C, h, w) to a U-net level (B, channels, H, W): resize, normalize, 1x1.

    The last convolution starts at zero, so a model warm-started from weights trained without
    the backbone computes exactly what it did, and learns how much of the new features to use.
    """

    def __init__(self, in_channels: int, channels: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(in_channels)
        self.proj = nn.Conv2d(in_channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, features: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if features.shape[-2:] != size:
            features = F.interpolate(features, size=size, mode="bilinear", align_corners=False)
        return self.proj(self.norm(features))


class TokenJoin(nn.Module):
    """Backbone features (B, C, h, w) to additions to the reference tokens and the style vector."""

    def __init__(self, in_channels: int, token_dim: int, style_dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(in_channels)
        self.to_tokens = nn.Linear(in_channels, token_dim)
        self.to_vector = nn.Linear(in_channels, style_dim)
        for layer in (self.to_tokens, self.to_vector):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, features: torch.Tensor, grid: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token additions (B, grid cells, token_dim) and a vector addition (B, style_dim)."""
        if features.shape[-2:] != grid:
            features = F.interpolate(features, size=grid, mode="nearest")
        cells = self.norm(features.flatten(2).transpose(1, 2))
        return self.to_tokens(cells), self.to_vector(cells.mean(dim=1))


def sketch_to_rgb01(sketch: torch.Tensor) -> torch.Tensor:
    """Generator sketch (B, 1, H, W; lines 1, paper 0) to the dark-on-white RGB a backbone expects."""
    return (1 - sketch).expand(-1, 3, -1, -1)


def reference_to_rgb01(reference: torch.Tensor) -> torch.Tensor:
    """Reference (B, 3, H, W) in [-1, 1] to RGB in [0, 1]."""
    return (reference + 1) / 2
