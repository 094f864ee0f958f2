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


# Bilinear 2x upsampling (align_corners=False) read by a 3x3 convolution: for output phase p
# (even or odd row), the weight of the input pixel at offset a - 1 in each kernel tap d - 1;
# ``_PHASE_KRON[(d, e), (p, q, a, b)]`` is the same for rows and columns at once.
_PHASE_MIX = torch.tensor(
    [
        [[0.75, 0.25, 0.0], [0.25, 0.75, 0.0], [0.0, 0.75, 0.25]],
        [[0.25, 0.75, 0.0], [0.0, 0.75, 0.25], [0.0, 0.25, 0.75]],
    ]
)
_PHASE_KRON = torch.einsum("pda,qeb->depqab", _PHASE_MIX, _PHASE_MIX).reshape(9, 36)
# below this many output pixels the plain upsample-then-convolve is as fast (the border strips
# and the mixed weights cost more than the upsampled tensor saves)
PHASED_MIN_PIXELS = 256 * 256


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
        weight = weight[:, : x.shape[1]]
        (height, width), (h, w) = skip_term.shape[-2:], x.shape[-2:]
        if (height, width) == (2 * h, 2 * w) and min(h, w) >= 4 and height * width >= PHASED_MIN_PIXELS and self._phased_ok():
            return self.act(self._upsample_conv_phased(x, weight, skip_term))
        x = F.interpolate(x, size=skip_term.shape[-2:], mode="bilinear", align_corners=False)
        x = F.conv2d(x, weight, None, padding=self.conv.padding)
        return self.act(x.add_(skip_term) if x.shape[0] >= skip_term.shape[0] else x + skip_term)

    def _phased_ok(self) -> bool:
        conv = self.conv
        if conv.kernel_size != (3, 3) or conv.padding != (1, 1) or conv.stride != (1, 1) or conv.dilation != (1, 1):
            return False
        return not (torch.jit.is_tracing() or torch.jit.is_scripting() or torch.onnx.is_in_onnx_export())

    def _upsample_conv_phased(self, x: torch.Tensor, weight: torch.Tensor, skip_term: torch.Tensor) -> torch.Tensor:
        """``conv3x3(bilinear_2x(x)) + skip_term`` without the upsampled tensor.

        Bilinear 2x upsampling followed by a 3x3 convolution is, for each of the four output
        phases (even/odd row, even/odd column), a 3x3 convolution at the input resolution with
        the weights mixed by the interpolation coefficients. One convolution with four times
        the output channels computes all phases (the same FLOPs as the full-resolution
        convolution, without writing and reading back the upsampled input), and the phases are
        interleaved by a strided view in the add of the skip term. The zero padding differs
        from the upsampled image's only in the two outermost output rows and columns, which
        are computed the plain way from thin strips.
        """
        out_ch, in_ch = weight.shape[:2]
        phased = (weight.reshape(out_ch * in_ch, 9) @ _PHASE_KRON.to(weight)).reshape(out_ch, in_ch, 2, 2, 3, 3)
        phased = phased.permute(2, 3, 0, 1, 4, 5).reshape(4 * out_ch, in_ch, 3, 3)
        z = F.conv2d(x, phased, None, padding=1)  # (B, 2*2*O, h, w): phase-major channels
        batch, h, w = max(z.shape[0], skip_term.shape[0]), z.shape[-2], z.shape[-1]
        z = z.unflatten(1, (2, 2, out_ch)).permute(0, 3, 4, 1, 5, 2)  # (B, O, h, 2, w, 2)
        layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
        out = torch.empty((batch, out_ch, 2 * h, 2 * w), dtype=torch.result_type(z, skip_term), device=z.device,
                          memory_format=layout)
        torch.add(skip_term.unflatten(3, (w, 2)).unflatten(2, (h, 2)), z, out=out.unflatten(3, (w, 2)).unflatten(2, (h, 2)))
        # the two outermost rows and columns: upsample three input rows (columns), keep the three
        # upsampled ones at the border, convolve; the first two outputs are exact
        for dim in (2, 3):
            for first in (True, False):
                strip = x.narrow(dim, 0 if first else x.shape[dim] - 3, 3)
                strip = F.interpolate(strip, scale_factor=2.0, mode="bilinear", align_corners=False)
                strip = F.conv2d(strip.narrow(dim, 0 if first else 3, 3), weight, None, padding=1)
                index = [slice(None)] * 4
                index[dim] = slice(0, 2) if first else slice(-2, None)
                index = tuple(index)
                out[index] = strip[index] + skip_term[index]
        return out


def _attention_chunked(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, rows: int = 2048) -> torch.Tensor:
    """``softmax(q k^T / sqrt(d)) v`` over blocks of ``rows`` queries (B, heads, N, d).

    With a few hundred reference tokens the whole score row fits in cache, so two batched
    matmuls and a plain softmax per block of queries beat the CPU flash-attention kernel
    (which tiles the keys as well and rescales as it goes) by about 1.6x at 512 px. The
    result is the plain formula's (bf16 softmax accumulates in float32 internally).
    """
    k_t = k.transpose(-1, -2) * (1.0 / math.sqrt(q.shape[-1]))
    if q.shape[-2] <= rows:
        return torch.softmax(q @ k_t, dim=-1) @ v
    return torch.cat([torch.softmax(block @ k_t, dim=-1) @ v for block in q.split(rows, dim=-2)], dim=-2)


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

    @staticmethod
    def _chunked_ok(q: torch.Tensor) -> bool:
        """Inference on a CPU, eager: the chunked softmax path (see ``_attention_chunked``)."""
        if q.device.type != "cpu" or torch.is_grad_enabled():
            return False
        return not (torch.jit.is_tracing() or torch.onnx.is_in_onnx_export() or torch.compiler.is_compiling())

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
        elif self._chunked_ok(q):
            attended = _attention_chunked(q, k, v)
        else:
            attended = F.scaled_dot_product_attention(q, k, v)
        attended = attended.transpose(1, 2).flatten(2).transpose(1, 2).unflatten(2, (height, width))
        update = self.out(attended.contiguous(memory_format=torch.channels_last))
        if gate is not None:
            update = update * gate.to(update.dtype)[:, None, None, None]
        return x + update
