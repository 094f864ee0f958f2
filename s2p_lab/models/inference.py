"""Inference tuning, as one explicit step: ``optimize_for_inference(model)``.

The networks in ``blocks.py``, ``generator.py`` and ``style_encoder.py`` are the definitions that
training runs. This module rewrites a trained, eval-mode model into a copy that computes the same
function (to float rounding) faster, by replacing blocks with equivalents:

* ``Down`` -> ``FoldedDown``: the batch normalization folded into the strided convolution.
* ``InceptionBlock`` with FiLM -> ``ModulatedInception``: normalization and style modulation as
  one affine pass over the activations instead of three.
* ``Up`` -> ``SplitUp``: the convolution over ``cat([upsampled x, skip])`` is a sum of one over
  ``x`` and one over ``skip``; the skip's share does not depend on the style, so it is computed
  once per sketch and hint map (``Up.skip_input``, called by ``Generator.hint_features``) and a
  batch of references decodes the rest. The normalization folds into both halves; from
  ``PHASED_MIN_PIXELS`` output pixels up, the bilinear 2x upsampling and the convolution run as
  one phase-decomposed convolution at the input resolution.
* ``ReferenceAttention`` -> ``FastAttention``: the normalization folded into the query
  projection, and on a CPU in bfloat16 with few reference tokens the softmax over blocks of
  queries (``attention_chunked``); everywhere else the fused kernel.

The copy is the same ``Generator`` (or ``ColorizationModel``, ``StyleEncoder``) class, so it runs
the same methods: the decoder is written once, in ``Generator``. The copy has a module tree of
its own (hooks on the model's modules do not see it) but shares every tensor with the model, and
the rewritten blocks fold on each call, so it follows later changes of the model's weights. The
colorizer and the ONNX export run such a copy; training never does.
"""

from __future__ import annotations

import copy
import itertools
from typing import TypeVar

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_weights

from ..errors import S2PError
from .blocks import Down, InceptionBlock, ReferenceAttention, Up, attention_scale

M = TypeVar("M", bound=nn.Module)

# below this many output pixels the plain upsample-then-convolve is as fast (the border strips
# and the mixed weights cost more than the upsampled tensor saves)
PHASED_MIN_PIXELS = 256 * 256
# score elements per head in one block of queries of the chunked CPU attention: blocks of 2,048
# queries for 256 reference tokens, 512 for 1,024 (a block's scores stay in cache; blocks of 2,048
# queries x 1,024 tokens took 2.9x as long as blocks of 512, bf16, 2 threads)
ATTENTION_BLOCK_SCORES = 2048 * 256
# The chunked CPU attention pays only where its score rows stay in cache and the fused kernel's
# rescaling costs more than it saves: in reduced precision with at most this many reference tokens
# (bf16, 2 threads, 1,024 tokens: 49 vs 64 ms for 13,056 queries, 17.5 vs 23.7 ms for 3,264).
# In float32 (CPUs without fast bf16) the fused kernel wins at every size measured: 25 vs 114 ms for
# 4096 queries x 1024 tokens, 98 vs 148-397 ms for 16384 queries (AVX2, 2 threads).
CHUNKED_ATTENTION_MAX_TOKENS = 1024
CHUNKED_ATTENTION_DTYPES = (torch.bfloat16, torch.float16)

# Bilinear 2x upsampling (align_corners=False) read by a 3x3 convolution: for output phase p
# (even or odd row), the weight of the input pixel at offset a - 1 in each kernel tap d - 1;
# ``PHASE_KRON[(d, e), (p, q, a, b)]`` is the same for rows and columns at once.
PHASE_MIX = torch.tensor(
    [
        [[0.75, 0.25, 0.0], [0.25, 0.75, 0.0], [0.0, 0.75, 0.25]],
        [[0.25, 0.75, 0.0], [0.0, 0.75, 0.25], [0.0, 0.25, 0.75]],
    ]
)
PHASE_KRON = torch.einsum("pda,qeb->depqab", PHASE_MIX, PHASE_MIX).reshape(9, 36)


def optimize_for_inference(model: M, *, phase_split: bool = True, chunked_attention: bool = True) -> M:
    """A copy of an eval-mode model (any module holding our blocks) with the blocks rewritten.

    ``phase_split=False`` keeps the plain upsample-then-convolve and ``chunked_attention=False``
    the fused attention kernel: the ONNX export turns both off, ``torch.compile`` the second.
    Raises ``S2PError`` for a model in training mode: folding reads the running statistics.
    Save the model, not the copy (whose state_dict keys name the wrapping blocks).
    """
    if any(m.training for m in model.modules()):
        raise S2PError("optimize_for_inference needs a model in eval mode (model.eval())")
    # the module tree is copied, its tensors are shared
    shared = {id(t): t for t in itertools.chain(model.parameters(), model.buffers())}
    fast = copy.deepcopy(model, shared)
    for parent in list(fast.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, Down):
                setattr(parent, name, FoldedDown(child))
            elif isinstance(child, InceptionBlock) and child.film is not None:
                setattr(parent, name, ModulatedInception(child))
            elif isinstance(child, Up):
                setattr(parent, name, SplitUp(child, phase_split))
            elif isinstance(child, ReferenceAttention):
                setattr(parent, name, FastAttention(child, chunked_attention))
    return fast.eval()


def batch_norm_affine(norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """An eval-mode batch normalization as ``x * scale + shift`` per channel (at least float32)."""
    if norm.running_mean is None or norm.running_var is None:
        raise S2PError("batch normalization without running statistics cannot be folded")
    dtype = torch.promote_types(norm.running_var.dtype, torch.float32)
    scale = torch.rsqrt(norm.running_var.to(dtype) + norm.eps)
    if norm.weight is not None:
        scale = scale * norm.weight.to(dtype)
    shift = -norm.running_mean.to(dtype) * scale
    if norm.bias is not None:
        shift = shift + norm.bias.to(dtype)
    return scale, shift


def fold_into_conv(conv: nn.Conv2d, norm: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias (in the weight's dtype) of ``norm(conv(x))`` as one convolution: torch's
    ``fuse_conv_bn_weights``. Against the formula written out here before, on the shipped model's
    10 folds: the same weights bit for bit, biases within 4.8e-7 (float32 rounding: torch takes
    ``(b - mean) * scale``, the definition's order, where it took ``b * scale - mean * scale``).
    ``colorize`` on the sample portrait (19 outputs, 3 references, 4 modes): the same images in
    bf16; in float32 one level of 255 apart at most, on at most 6 in 100,000 pixels. Speed: 1.17 ms
    for all 10 folds against 1.11 (best of five runs of 100; folded on every call of a block, in a
    colorization of about 300 ms). ``batch_norm_affine`` stays for the normalizations that come
    before a projection, which torch's fusions do not cover."""
    if norm.running_mean is None or norm.running_var is None:
        raise S2PError("batch normalization without running statistics cannot be folded")
    return fuse_conv_bn_weights(conv.weight, conv.bias, norm.running_mean, norm.running_var, norm.eps,
                                norm.weight, norm.bias)


# The rewritten blocks fold the normalization on every call, from the model's own tensors: it costs
# a pass over the weights, far less than one over the activations, and keeps the copy in step with
# the model (no second set of weights to hold or to refresh).


class FoldedDown(nn.Module):
    """``Down`` with its normalization folded into the convolution (one pass fewer)."""

    def __init__(self, down: Down) -> None:
        super().__init__()
        self.down = down

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        conv, norm, act = self.down[0], self.down[1], self.down[2]
        weight, bias = fold_into_conv(conv, norm)
        return act(F.conv2d(x, weight, bias, conv.stride, conv.padding, conv.dilation, conv.groups))


class ModulatedInception(nn.Module):
    """``InceptionBlock`` with FiLM: normalization and modulation as one affine pass.

    ``(1 + g) * BN(x) + b`` has the two steps' arithmetic (to float32 rounding) in one pass over
    ``x`` instead of three. With one sample and one style the combined map goes through
    ``batch_norm`` itself (computed in float32 even for bf16 activations); a batch of styles uses
    one broadcast ``addcmul``, which also expands a batch-1 ``x`` shared by every style.
    """

    def __init__(self, block: InceptionBlock) -> None:
        super().__init__()
        self.block = block

    def forward(self, x: torch.Tensor, style: torch.Tensor | None = None) -> torch.Tensor:
        if style is None:
            return self.block(x)
        update = self.block.branches(self.block.act(self.modulate(x, style)))
        # the residual added in place (the same sums): one activation fewer alive at a time
        return update.add_(x) if _broadcasts_into(x, update) else x + update

    def modulate(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        norm = self.block.norm
        dtype = torch.promote_types(norm.running_var.dtype, torch.float32)  # type: ignore[union-attr]
        gamma, beta = self.block.film.proj(style).to(dtype).chunk(2, dim=1)  # type: ignore[union-attr]
        gain = 1 + gamma
        if x.shape[0] == 1 and gain.shape[0] == 1:
            weight = gain[0] if norm.weight is None else norm.weight.to(dtype) * gain[0]
            bias = beta[0] if norm.bias is None else norm.bias.to(dtype) * gain[0] + beta[0]
            return F.batch_norm(x, norm.running_mean, norm.running_var, weight, bias, False, 0.0, norm.eps)
        scale, shift = batch_norm_affine(norm)
        scale, shift = scale * gain, shift * gain + beta
        return torch.addcmul(shift.to(x.dtype)[:, :, None, None], x, scale.to(x.dtype)[:, :, None, None])


def _broadcasts_into(x: torch.Tensor, out: torch.Tensor) -> bool:
    """Whether ``out + x`` has ``out``'s shape (so ``out.add_(x)`` computes it). Plain Python:
    ``torch.broadcast_shapes`` imports torch's symbolic-shape machinery on first use (0.3-0.4 s)."""
    return x.dim() == out.dim() and all(a in (1, b) for a, b in zip(x.shape, out.shape))


class SplitUp(nn.Module):
    """``Up`` as a style-independent skip term plus a per-style term, normalization folded.

    ``skip_input(skip)`` is the skip's share of the normalized convolution, bias included;
    ``forward(x, term)`` adds the share of the upsampled ``x`` (``x`` may hold many styles, the
    term one). Large steps skip the upsampled tensor: see ``upsample_conv_phased``.
    """

    def __init__(self, up: Up, phase_split: bool = True) -> None:
        super().__init__()
        self.up = up
        conv = up.conv
        plain_3x3 = conv.kernel_size == (3, 3) and conv.padding == (1, 1) and conv.stride == (1, 1) and conv.dilation == (1, 1)
        self.phase_split = phase_split and plain_3x3
        # None: phase-split by the size of the call; True/False: as decided for a whole image of
        # which this call decodes a window (``incremental``), so that both round alike
        self.phased: bool | None = None

    def uses_phases(self, out_size: tuple[int, int], in_size: tuple[int, int]) -> bool:
        """Whether a step from ``in_size`` to ``out_size`` runs phase-split (``upsample_conv_phased``)."""
        (height, width), (h, w) = out_size, in_size
        return self.phase_split and (height, width) == (2 * h, 2 * w) and min(h, w) >= 4 and height * width >= PHASED_MIN_PIXELS

    def skip_input(self, skip: torch.Tensor) -> torch.Tensor:
        weight, bias = fold_into_conv(self.up.conv, self.up.norm)
        return F.conv2d(skip, weight[:, self.up.in_channels :], bias, padding=self.up.conv.padding)

    def forward(self, x: torch.Tensor, term: torch.Tensor) -> torch.Tensor:
        weight, _ = fold_into_conv(self.up.conv, self.up.norm)
        weight = weight[:, : self.up.in_channels]
        (height, width), (h, w) = term.shape[-2:], x.shape[-2:]
        phased = self.uses_phases((height, width), (h, w)) if self.phased is None else self.phased
        if phased and (height, width) == (2 * h, 2 * w) and min(h, w) >= 3:
            return self.up.act(upsample_conv_phased(x, weight, term))
        x = F.interpolate(x, size=(height, width), mode="bilinear", align_corners=False)
        x = F.conv2d(x, weight, None, padding=self.up.conv.padding)
        return self.up.act(x.add_(term) if x.shape[0] >= term.shape[0] else x + term)


def phase_weights(weight: torch.Tensor) -> torch.Tensor:
    """A 3x3 convolution's (O, I, 3, 3) weights read through bilinear 2x upsampling, per phase.

    (4 O, I, 3, 3), phase-major: output channel ``(2 p + q) O + o`` is channel ``o`` of the
    upsampled-then-convolved image at rows of parity ``p`` and columns of parity ``q``.
    """
    out_ch, in_ch = weight.shape[:2]
    phased = (weight.reshape(out_ch * in_ch, 9) @ PHASE_KRON.to(weight)).reshape(out_ch, in_ch, 2, 2, 3, 3)
    return phased.permute(2, 3, 0, 1, 4, 5).reshape(4 * out_ch, in_ch, 3, 3)


def upsample_conv_phased(x: torch.Tensor, weight: torch.Tensor, term: torch.Tensor) -> torch.Tensor:
    """``conv3x3(bilinear_2x(x), weight) + term`` without the upsampled tensor.

    Bilinear 2x upsampling followed by a 3x3 convolution is, for each of the four output phases
    (even/odd row, even/odd column), a 3x3 convolution at the input resolution with the weights
    mixed by the interpolation coefficients (``phase_weights``). One convolution
    with four times the output channels computes all phases (the same FLOPs as the
    full-resolution convolution, without writing and reading back the upsampled input), and the
    phases are interleaved by a strided view in the add of ``term``. The zero padding differs
    from the upsampled image's only in the two outermost output rows and columns, which are
    computed the plain way from thin strips.
    """
    out_ch = weight.shape[0]
    z = F.conv2d(x, phase_weights(weight), None, padding=1)  # (B, 2*2*O, h, w): phase-major channels
    batch, h, w = max(z.shape[0], term.shape[0]), z.shape[-2], z.shape[-1]
    z = z.unflatten(1, (2, 2, out_ch)).permute(0, 3, 4, 1, 5, 2)  # (B, O, h, 2, w, 2)
    layout = torch.channels_last if x.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    out = torch.empty((batch, out_ch, 2 * h, 2 * w), dtype=torch.result_type(z, term), device=z.device,
                      memory_format=layout)
    torch.add(term.unflatten(3, (w, 2)).unflatten(2, (h, 2)), z, out=out.unflatten(3, (w, 2)).unflatten(2, (h, 2)))
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
            out[index] = strip[index] + term[index]
    return out


def attention_chunked(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, rows: int | None = None,
                      sharpness: float = 1.0) -> torch.Tensor:
    """``softmax(sharpness * q k^T / sqrt(d)) v`` over blocks of ``rows`` (``attention_rows``) queries (B, heads, N, d).

    In bfloat16 with up to about a thousand reference tokens a block's scores fit in cache, so two
    batched matmuls and a plain softmax per block of queries beat the CPU flash-attention kernel
    (which tiles the keys as well and rescales as it goes): by about 1.6x at 512 px with 256
    tokens, 1.3x with 1,024; where that holds is ``chunked_attention_pays``. The result is the
    plain formula's (bf16 softmax accumulates in float32 internally).
    """
    rows = rows or attention_rows(k.shape[-2])
    k_t = k.transpose(-1, -2) * attention_scale(q, sharpness)
    if q.shape[-2] <= rows:
        return torch.softmax(q @ k_t, dim=-1) @ v
    return torch.cat([torch.softmax(block @ k_t, dim=-1) @ v for block in q.split(rows, dim=-2)], dim=-2)


def attention_rows(tokens: int) -> int:
    """Queries per block of ``attention_chunked`` for ``tokens`` keys (``ATTENTION_BLOCK_SCORES``)."""
    return max(1, ATTENTION_BLOCK_SCORES // max(tokens, 1))


def chunked_attention_pays(q: torch.Tensor, k: torch.Tensor) -> bool:
    """Whether ``attention_chunked`` beats the fused kernel for these queries and keys."""
    return (q.device.type == "cpu" and q.dtype in CHUNKED_ATTENTION_DTYPES
            and k.shape[-2] <= CHUNKED_ATTENTION_MAX_TOKENS)


class FastAttention(nn.Module):
    """``ReferenceAttention`` with the normalization folded into the query projection.

    ``chunked``: the softmax over blocks of queries (``attention_chunked``) instead of the fused
    kernel where it pays (``chunked_attention_pays``). Attention maps are not kept: explanation
    runs the definition.
    """

    def __init__(self, attention: ReferenceAttention, chunked: bool = True) -> None:
        super().__init__()
        self.attention = attention
        self.chunked = chunked

    def forward(self, x: torch.Tensor, tokens: torch.Tensor, gate: torch.Tensor | None = None) -> torch.Tensor:
        weight, bias = self.folded_query()
        q, k, v = self.attention.heads_of(F.conv2d(x, weight, bias), tokens)
        sharpness = self.attention.sharpness
        if self.chunked and chunked_attention_pays(q, k):
            attended = attention_chunked(q, k, v, sharpness=sharpness)
        else:
            attended = F.scaled_dot_product_attention(q, k, v, scale=attention_scale(q, sharpness))
        return self.attention.residual(x, attended, gate)

    def folded_query(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The 1x1 query projection of the normalized input as one 1x1 convolution."""
        scale, shift = batch_norm_affine(self.attention.norm)
        query = self.attention.query
        weight = query.weight.to(scale.dtype)
        bias = weight[:, :, 0, 0] @ shift
        if query.bias is not None:
            bias = bias + query.bias.to(scale.dtype)
        return (weight * scale[None, :, None, None]).to(query.weight.dtype), bias.to(query.weight.dtype)
