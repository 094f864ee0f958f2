"""Building blocks shared by the style encoder, generator and discriminator."""

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

    def scale_shift(self, style: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(1 + gamma, beta)``, each (B, C) in float32: the modulation as one affine map."""
        gamma, beta = self.proj(style).float().chunk(2, dim=1)
        return 1 + gamma, beta


def _eval_affine(norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor] | None:
    """An eval-mode BatchNorm as ``x * scale + shift`` (float32 per channel), or None in training.

    The inference paths below fold this affine map into a neighbouring convolution or into the
    FiLM modulation, which saves a full pass over the activations; training never takes them.
    """
    if norm.training or norm.running_mean is None or norm.running_var is None:
        return None
    scale = torch.rsqrt(norm.running_var.float() + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight.float()
    shift = -norm.running_mean.float() * scale
    if norm.bias is not None:
        shift = shift + norm.bias.float()
    return scale, shift


class InceptionBlock(nn.Module):
    """Residual multi-branch block: 1x1, 3x3 and dilated 3x3 branches, fused by a 1x1.

    Style2Paints V2 replaced V1's ResBlocks with Inception-style blocks: branches of different
    receptive fields see line detail and region context at once. With ``style_dim`` the
    normalized input is modulated by the style vector (FiLM) before the branches.
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
        if self.norm.training or self.film is None or style is None or self.norm.running_mean is None:
            h = self.norm(x)
            if self.film is not None and style is not None:
                h = self.film(h, style)
        else:
            h = self._modulate(x, style)
        h = self.act(h)
        h = torch.cat([self.branch1(h), self.branch3(h), self.branch_dilated(h)], dim=1)
        return x + self.fuse(self.act(h))

    def _modulate(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """Eval-mode normalization and FiLM as one affine pass: ``(1 + g) * BN(x) + b``.

        Same arithmetic as the two steps (to float32 rounding), but one pass over ``x`` instead of
        three. With one sample the combined map goes through ``batch_norm`` itself (computed in
        float32 even for bf16 activations); a batch of styles uses one broadcast ``addcmul``, which
        also expands a batch-1 ``x`` shared by every style.
        """
        norm = self.norm
        gain, beta = self.film.scale_shift(style)  # type: ignore[union-attr]
        if x.shape[0] == 1 and gain.shape[0] == 1:
            weight = gain[0] if norm.weight is None else norm.weight.float() * gain[0]
            bias = beta[0] if norm.bias is None else norm.bias.float() * gain[0] + beta[0]
            return F.batch_norm(x, norm.running_mean, norm.running_var, weight, bias, False, 0.0, norm.eps)
        scale, shift = _eval_affine(norm)  # type: ignore[misc]
        scale, shift = scale * gain, shift * gain + beta
        return torch.addcmul(shift.to(x.dtype)[:, :, None, None], x, scale.to(x.dtype)[:, :, None, None])


class Down(nn.Sequential):
    """Strided 3x3 convolution halving the resolution."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, stride=2, padding=1),
            nn.BatchNorm2d(out_channels),
            activation(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv, norm, act = self[0], self[1], self[2]
        folded = _eval_affine(norm)
        if folded is None:
            return act(norm(conv(x)))
        # eval: the normalization folded into the convolution (one pass fewer)
        scale, shift = folded
        weight = conv.weight * scale.to(conv.weight.dtype)[:, None, None, None]
        bias = shift if conv.bias is None else conv.bias.float() * scale + shift
        return act(F.conv2d(x, weight, bias.to(conv.weight.dtype), conv.stride, conv.padding, conv.dilation, conv.groups))


class Up(nn.Module):
    """Bilinear 2x upsampling, concatenation with the skip, 3x3 convolution.

    Bilinear-then-convolve avoids the checkerboard grid of transposed convolutions.
    """

    def __init__(self, in_channels: int, skip_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels + skip_channels, out_channels, 3, padding=1)
        self.norm = nn.BatchNorm2d(out_channels)
        self.act = activation()

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.act(self.norm(self.conv(torch.cat([x, skip], dim=1))))

    # Inference split. The convolution over ``cat([x, skip])`` is the sum of one over ``x`` and one
    # over ``skip``. The skip half does not depend on the style, so a batch of references shares
    # it (computed once at batch 1), and the eval-mode normalization folds into both halves.
    def _folded(self) -> tuple[torch.Tensor, torch.Tensor]:
        scale, shift = _eval_affine(self.norm)  # type: ignore[misc]
        weight = self.conv.weight * scale.to(self.conv.weight.dtype)[:, None, None, None]
        bias = shift if self.conv.bias is None else self.conv.bias.float() * scale + shift
        return weight, bias

    def skip_term(self, skip: torch.Tensor) -> torch.Tensor:
        """The skip half of the (normalized) convolution, bias included; eval mode only."""
        weight, bias = self._folded()
        skip_in = self.conv.in_channels - skip.shape[1]
        return F.conv2d(skip, weight[:, skip_in:], bias.to(weight.dtype), padding=self.conv.padding)

    def forward_split(self, x: torch.Tensor, skip_term: torch.Tensor) -> torch.Tensor:
        """``forward(x, skip)`` in eval mode given ``skip_term(skip)``; x may hold many styles."""
        weight, _ = self._folded()
        x = F.interpolate(x, size=skip_term.shape[-2:], mode="bilinear", align_corners=False)
        x = F.conv2d(x, weight[:, : x.shape[1]], None, padding=self.conv.padding)
        return self.act(x.add_(skip_term) if x.shape[0] >= skip_term.shape[0] else x + skip_term)


class ReferenceAttention(nn.Module):
    """Cross-attention from generator features (queries) to reference tokens (keys, values).

    This is the spatial transfer path: each sketch region looks up the reference regions whose
    features match it and takes their colors, instead of one global vector washing one hue over
    the whole picture. ``keep_weights=True`` stores the last attention map for explanation.
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
        self.keep_weights = False
        self.last_weights: torch.Tensor | None = None

    def forward(
        self, x: torch.Tensor, tokens: torch.Tensor, gate: torch.Tensor | None = None
    ) -> torch.Tensor:
        batch, _, height, width = x.shape
        q = self.query(self.norm(x)).flatten(2).transpose(1, 2)  # B, HW, D
        k, v = self.key(tokens).to(q.dtype), self.value(tokens).to(q.dtype)  # B, T, D
        if k.shape[0] != batch:
            k, v = k.expand(batch, -1, -1), v.expand(batch, -1, -1)
        q, k, v = (t.unflatten(-1, (self.heads, -1)).transpose(1, 2) for t in (q, k, v))
        if self.keep_weights:
            weights = torch.softmax(q @ k.transpose(-1, -2) / math.sqrt(q.shape[-1]), dim=-1)
            self.last_weights = weights.detach().float().mean(1).unflatten(1, (height, width))
            attended = weights @ v
        else:
            attended = F.scaled_dot_product_attention(q, k, v)
        attended = attended.transpose(1, 2).flatten(2).transpose(1, 2).unflatten(2, (height, width))
        update = self.out(attended.contiguous(memory_format=torch.channels_last))
        if gate is not None:
            update = update * gate.to(update.dtype)[:, None, None, None]
        return x + update
