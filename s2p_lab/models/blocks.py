"""Building blocks shared by the style encoder, generator and discriminator.

These are the definitions: what training runs and what the weights mean. Nothing here is tuned
for inference speed; the rewrite of a trained model for fast inference (normalization folded
into convolutions and FiLM, phase-decomposed upsampling, chunked CPU attention, the style-shared
split of ``Up``) lives in :mod:`s2p_lab.models.inference`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def activation() -> nn.Module:
    return nn.LeakyReLU(0.2, inplace=True)


class FiLM(nn.Module):
    """Feature-wise scale and shift from the global style vector (an AdaIN-like modulation)."""

    def __init__(self, style_dim: int, channels: int) -> None:
        super().__init__()
        self.proj = nn.Linear(style_dim, 2 * channels)
        nn.init.zeros_(self.proj.weight)
        nn.init.zeros_(self.proj.bias)

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        gamma, beta = self.proj(style).to(x.dtype)[:, :, None, None].chunk(2, dim=1)
        return x * (1 + gamma) + beta


class InceptionBlock(nn.Module):
    """Residual multi-branch block: 1x1, 3x3 and dilated 3x3 branches, fused by a 1x1.

    Style2Paints V2 replaced V1's ResBlocks with Inception-style blocks: branches of different
    receptive fields see line detail and region context at once. With ``style_dim`` the
    normalized input is modulated by the style vector (FiLM) before the branches; a batch-1 ``x``
    is shared by a batch of styles.
    """

    def __init__(self, channels: int, style_dim: int = 0) -> None:
        super().__init__()
        quarter = max(channels // 4, 1)
        self.norm = nn.BatchNorm2d(channels)
        self.film = FiLM(style_dim, channels) if style_dim else None
        self.act = activation()
        self.branch1 = nn.Conv2d(channels, quarter, 1)
        self.branch3 = nn.Conv2d(channels, channels - 2 * quarter, 3, padding=1)
        self.branch_dilated = nn.Conv2d(channels, quarter, 3, padding=2, dilation=2)
        self.fuse = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.fuse.weight)
        nn.init.zeros_(self.fuse.bias)

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        h = self.norm(x)
        if self.film is not None and style is not None:
            h = self.film(h, style)
        return x + self.branches(self.act(h))

    def branches(self, h: torch.Tensor) -> torch.Tensor:
        """The residual update from the normalized, modulated and activated input."""
        h = torch.cat([self.branch1(h), self.branch3(h), self.branch_dilated(h)], dim=1)
        return self.fuse(self.act(h))


class Down(nn.Sequential):
    """Strided 3x3 convolution halving the resolution."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1),
            nn.BatchNorm2d(out_channels),
            activation(),
        )


class Up(nn.Module):
    """Bilinear 2x upsampling, concatenation with the skip, 3x3 convolution.

    Bilinear-then-convolve avoids the checkerboard grid of transposed convolutions. A batch-1
    skip (one sketch) is shared by a batch of ``x`` (one per reference).
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.conv = nn.Conv2d(in_channels + skip_channels, out_channels, 3, padding=1)
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = activation()

    def skip_input(self, skip: torch.Tensor) -> torch.Tensor:
        """What ``forward`` takes for ``skip``: the skip itself.

        The generator computes this once per sketch and hint map, before the style-dependent
        part; the inference rewrite (``inference.SplitUp``) returns the skip's share of the
        convolution here instead, so that a batch of references computes it once.
        """
        return skip

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        if skip.shape[0] != x.shape[0]:
            skip = skip.expand(x.shape[0], -1, -1, -1)
        return self.act(self.norm(self.conv(torch.cat([x, skip], dim=1))))


def attention_scale(q: torch.Tensor, sharpness: float = 1.0) -> float:
    """The factor on the attention logits: ``sharpness / sqrt(d)`` for (..., d) queries."""
    return sharpness / math.sqrt(q.shape[-1])


def attention_weights(q: torch.Tensor, k: torch.Tensor, sharpness: float = 1.0) -> torch.Tensor:
    """``softmax(sharpness * q k^T / sqrt(d))`` for (B, heads, N, d) queries and (B, heads, T, d) keys."""
    return torch.softmax(q @ k.transpose(-1, -2) * attention_scale(q, sharpness), dim=-1)


#: the range ``ReferenceAttention.sharpness`` accepts
MAX_ATTENTION_SHARPNESS = 16.0


def check_sharpness(value: float, name: str = "attention_sharpness") -> float:
    """``value`` as a float if it is a usable attention sharpness (above 0, at most
    ``MAX_ATTENTION_SHARPNESS``); otherwise an ``S2PError`` naming ``name``."""
    from ..errors import S2PError

    try:
        value = float(value)
    except (TypeError, ValueError):
        raise S2PError(f"{name} must be a number, got {value!r}") from None
    if not 0.0 < value <= MAX_ATTENTION_SHARPNESS:  # NaN fails too
        raise S2PError(f"{name} must be above 0 and at most {MAX_ATTENTION_SHARPNESS:g}, got {value:g}")
    return value


def set_attention_sharpness(model: nn.Module, sharpness: float) -> int:
    """Set ``sharpness`` on every ``ReferenceAttention`` in ``model``; returns how many."""
    sharpness = check_sharpness(sharpness)
    layers = [m for m in model.modules() if isinstance(m, ReferenceAttention)]
    for layer in layers:
        layer.sharpness = sharpness
    return len(layers)


class ReferenceAttention(nn.Module):
    """Cross-attention from generator features (queries) to reference tokens (keys, values).

    This is the spatial transfer path: each sketch region looks up the reference regions whose
    features match it and takes their colors, instead of one global vector washing one hue over
    the whole picture. ``keep_weights=True`` stores the last attention map for explanation.
    ``sharpness`` scales the attention logits at inference (1: as trained; above 1 each query
    leans on its best-matching tokens, below 1 toward their mean); it is not a weight.
    """

    def __init__(self, channels: int, token_dim: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.BatchNorm2d(channels)
        self.query = nn.Conv2d(channels, token_dim, 1)
        self.key = nn.Linear(token_dim, token_dim)
        self.value = nn.Linear(token_dim, token_dim)
        self.out = nn.Conv2d(token_dim, channels, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)
        self.sharpness = 1.0
        self.keep_weights = False
        self.last_weights: torch.Tensor | None = None
        # training with a loss on the attention: keep the full weights, with their gradient
        self.record_weights = False
        self.recorded: torch.Tensor | None = None

    def forward(self, x: torch.Tensor, tokens: torch.Tensor, gate: torch.Tensor | None = None) -> torch.Tensor:
        height, width = x.shape[-2:]
        q, k, v = self.heads_of(self.query(self.norm(x)), tokens)
        if self.keep_weights or self.record_weights:
            weights = attention_weights(q, k, self.sharpness)
            if self.keep_weights:
                self.last_weights = weights.detach().float().mean(1).unflatten(1, (height, width))
            if self.record_weights:
                self.recorded = weights
            attended = weights @ v
        else:
            attended = F.scaled_dot_product_attention(q, k, v, scale=attention_scale(q, self.sharpness))
        return self.residual(x, attended, gate)

    def heads_of(self, query: torch.Tensor, tokens: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Queries (B, D, H, W) and tokens (B, T, D) to per-head q, k, v (B, heads, N, D/heads).

        A batch of one on either side is shared by the other's batch.
        """
        q = query.flatten(2).transpose(1, 2)  # B, HW, D
        k, v = self.key(tokens).to(q.dtype), self.value(tokens).to(q.dtype)  # B, T, D
        batch = max(q.shape[0], k.shape[0])
        q, k, v = (t.expand(batch, -1, -1) if t.shape[0] != batch else t for t in (q, k, v))
        return tuple(t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in (q, k, v))

    def residual(self, x: torch.Tensor, attended: torch.Tensor, gate: torch.Tensor | None) -> torch.Tensor:
        """``x`` plus the projected (B, heads, HW, D/heads) attention output, gated per reference."""
        height, width = x.shape[-2:]
        attended = attended.transpose(1, 2).flatten(2).transpose(1, 2).unflatten(2, (height, width))
        update = self.out(attended.contiguous(memory_format=torch.channels_last))
        if gate is not None:
            update = update * gate.to(update.dtype)[:, None, None, None]
        return x + update
