"""Level-wise incremental decoding: a hint edit recomputes each decoder level only where it can change.

A full decode (``decode_keeping_levels``) keeps what every decoder level produced: the mid-level's
output, then each up-sampling level's output, coarse to fine. When the hint map then changes inside
a box, the change reaches each level only within a margin of that box, and the margin depends on
the level: the hints enter every level through a pooled 3x3 projection, each Inception block adds
its reach (2 px at its own level), each up-sampling step doubles what it receives and adds 2 fine
pixels. ``redecode`` follows that region from the bottleneck to the colors, recomputing at each
level only its changed region, from a window of the (already updated) coarser level and of the
sketch features around it, and pastes the result into the kept activations. The coarse levels
are cheap; the expensive fine levels are recomputed only around the edit.

Every window is computed with a margin of its own operations' reach, and what lies within that
margin of a window's edge (where zero padding and bilinear clamping differ from the whole image's)
is dropped, except at the image's own edges, where they agree. The result is what a full decode
computes: the same operations on the same values (phase-split up-sampling as the whole image
decided it), so outputs agree to the last bit in float32 and to bf16 rounding under autocast.

The same exact windows also decode a whole image with less memory (``decode_in_bands``): the
coarse levels whole, the finest level (full-resolution activations, the largest tensors of a
decode) a band of rows at a time, each band from the window of the coarser level it needs.

It runs the inference copy (``optimize_for_inference``) or the definition alike, through the
generator's own level steps (``Generator.mid_level``, ``decoder_level``, ``to_colors``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import torch
from torch import nn

from .generator import Generator, HintedFeatures, SketchFeatures
from .inference import SplitUp
from .style_encoder import StyleCode

Box = tuple[int, int, int, int]  # (y0, y1, x0, x1), half-open, in one level's pixels


def _grow(box: Box, margin: int, height: int, width: int) -> Box:
    y0, y1, x0, x1 = box
    return max(0, y0 - margin), min(height, y1 + margin), max(0, x0 - margin), min(width, x1 + margin)


def _shrink_to_level(box: Box, factor: int) -> Box:
    """The cells of a level ``factor`` times coarser that hold any pixel of ``box``."""
    y0, y1, x0, x1 = box
    return y0 // factor, -(-y1 // factor), x0 // factor, -(-x1 // factor)


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), max(a[3], b[3])


def _inside(box: Box, outer: Box) -> Box:
    """``box`` in the coordinates of the window ``outer`` that holds it."""
    return box[0] - outer[0], box[1] - outer[0], box[2] - outer[2], box[3] - outer[2]


def _crop(t: torch.Tensor, box: Box) -> torch.Tensor:
    y0, y1, x0, x1 = box
    window = t[..., y0:y1, x0:x1]
    layout = torch.channels_last if t.dim() == 4 and t.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
    return window.contiguous(memory_format=layout)


def _area(box: Box) -> int:
    return max(0, box[1] - box[0]) * max(0, box[3] - box[2])


def block_reach(block: nn.Module) -> int:
    """Pixels a block's output reaches from an input pixel: its widest convolution.

    Right for the blocks the decoder is made of: Inception blocks (parallel branches, then 1x1
    convolutions) and attention (1x1 projections, per-pixel queries).
    """
    reach = 0
    for m in block.modules():
        if isinstance(m, nn.Conv2d):
            reach = max(reach, m.dilation[0] * (m.kernel_size[0] // 2), m.dilation[1] * (m.kernel_size[1] // 2))
    return reach


@dataclass
class EditPlan:
    """Where a hint edit inside ``box`` (pixels of the hint map) changes each decoder level.

    ``hinted[l]``: the hinted skip at level ``l`` (1/2**l of the image); ``levels[k]``: the
    output of the mid-level (k = 0) and of each up-sampling step (k = 1.., coarse to fine);
    ``output``: the colors. The share of the image ``output`` covers is ``output_share``.
    """

    box: Box
    hinted: list[Box]
    levels: list[Box]
    output: Box
    output_share: float


def plan_edit(generator: Generator, sizes: list[tuple[int, int]], box: Box) -> EditPlan:
    """The regions a hint edit inside ``box`` changes, per level (``sizes[l]``: level ``l``'s size)."""
    depth = len(generator.up)
    hinted = []
    for level, (h, w) in enumerate(sizes):
        # the pooled cells holding changed pixels, then the 3x3 hint projection
        hinted.append(_grow(_shrink_to_level(box, 2**level), 1, h, w))
    h, w = sizes[depth]
    mid_reach = sum(block_reach(b) for b in generator.mid)
    levels = [_grow(hinted[depth], mid_reach, h, w)]
    for i in range(depth):
        level = depth - 1 - i
        h, w = sizes[level]
        y0, y1, x0, x1 = levels[-1]
        # bilinear 2x: a coarse pixel reaches one fine pixel beyond its own two; the 3x3 convolution one more
        from_below = _grow((2 * y0, 2 * y1, 2 * x0, 2 * x1), 2, h, w)
        term = _grow(hinted[level], 1, h, w)  # the skip's 3x3 share of the up-sampling convolution
        reach = block_reach(generator.decoder[i]) + (block_reach(generator.decoder_attention) if i == 0 and generator.decoder_attention is not None else 0)
        levels.append(_grow(_union(from_below, term), reach, h, w))
    h, w = sizes[0]
    output = _grow(levels[-1], block_reach(generator.to_rgb), h, w)
    return EditPlan(box, hinted, levels, output, _area(output) / float(h * w))


def decode_keeping_levels(generator: Generator, hinted: HintedFeatures, style: StyleCode
                          ) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """``generator.decode_hinted(hinted, style).rgb`` and every level's output (what ``redecode``
    starts from): the same steps, in the same order, as ``decode_hinted``."""
    batch = len(style)
    vector = generator.style_gains(style)
    x = generator.mid_level(hinted.bottleneck, style, vector)
    if x.shape[0] != batch:  # kept levels are written into: no shared (expanded) storage
        x = x.expand(batch, -1, -1, -1)
    levels = [x if x.stride(0) != 0 else x.clone()]
    for i in range(len(generator.up)):
        x = generator.decoder_level(i, x, hinted.skips[i], style, vector)
        levels.append(x)
    return generator.to_colors(x), levels


def _hinted_window(generator: Generator, features: SketchFeatures, hint_map: torch.Tensor, level: int,
                   region: Box) -> torch.Tensor:
    """The hinted skip at ``level`` (``Generator.hinted_skip``) on ``region``, exactly."""
    h, w = features.skips[level].shape[-2:]
    window = _grow(region, 1, h, w)  # the projection's 3x3 reach
    f = 2**level
    y0, y1, x0, x1 = window
    hints = hint_map[..., y0 * f : y1 * f, x0 * f : x1 * f]
    out = generator.hinted_skip(level, _crop(features.skips[level], window), hints)
    return _crop(out, _inside(region, window))


@contextlib.contextmanager
def _phases_as(up: nn.Module, out_size: tuple[int, int], in_size: tuple[int, int]) -> Iterator[None]:
    """Up-sample a window the way the whole image is up-sampled (phase-split or not)."""
    if not isinstance(up, SplitUp):
        yield
        return
    up.phased = up.uses_phases(out_size, in_size)
    try:
        yield
    finally:
        up.phased = None


def _decoder_level_window(generator: Generator, features: SketchFeatures, hint_map: torch.Tensor, style: StyleCode,
                          vector: torch.Tensor, i: int, below: torch.Tensor, target: Box,
                          skip: torch.Tensor | None = None) -> tuple[torch.Tensor, Box]:
    """The ``i``-th up-sampling step (``Generator.decoder_level``) on a window of its level that
    holds ``target`` and is exact there, from ``below`` (the coarser level's whole output) and
    ``skip`` (``HintedFeatures.skips[i]`` whole; None: its window is computed from ``features``
    and ``hint_map``): (the window's output, the window)."""
    depth = len(generator.up)
    level = depth - 1 - i
    h, w = features.skips[level].shape[-2:]
    hc, wc = features.skips[level + 1].shape[-2:]
    # a coarse window whose up-sampling, block and attention are exact on the target (2 fine
    # pixels for the up-sampling, the block's reach, and a margin), and the fine window it makes
    reach = 2 + block_reach(generator.decoder[i]) + 2
    y0, y1, x0, x1 = target
    coarse = _grow(((y0 - reach) // 2, -(-(y1 + reach) // 2), (x0 - reach) // 2, -(-(x1 + reach) // 2)), 1, hc, wc)
    fine = (2 * coarse[0], 2 * coarse[1], 2 * coarse[2], 2 * coarse[3])
    if skip is not None:
        term = _crop(skip, fine)
    else:
        term = generator.up[i].skip_input(_hinted_window(generator, features, hint_map, level, _grow(fine, 1, h, w)))
        term = _crop(term, _inside(fine, _grow(fine, 1, h, w)))
    with _phases_as(generator.up[i], (h, w), (hc, wc)):
        x = generator.decoder_level(i, _crop(below, coarse), term, style, vector)
    return x, fine


def decode_in_bands(generator: Generator, features: SketchFeatures, hint_map: torch.Tensor, style: StyleCode,
                    rows: int, keep_levels: bool = False, hinted: HintedFeatures | None = None
                    ) -> tuple[torch.Tensor, list[torch.Tensor] | None]:
    """``generator.decode(features, hint_map, style).rgb`` with the finest level (its hinted skip,
    up-sampling, block and colors) computed ``rows`` output rows at a time, each band from a window
    exact on it: the finest level's full-resolution activations exist a band at a time. The
    coarser levels run whole. ``hinted``: ``generator.hint_features(features, hint_map)`` where
    the caller shares it between batches of references (its finest skip is then read, not made
    per band). With ``keep_levels`` also every level's output, as ``decode_keeping_levels`` gives
    them (the finest one assembled from the bands).

    The same operations on the same values as a whole decode: equal in float32, within bf16
    rounding under autocast (a window's convolutions may round a last bit differently).
    """
    depth = len(generator.up)
    batch = len(style)
    vector = generator.style_gains(style)
    bottleneck = hinted.bottleneck if hinted is not None else generator.hinted_skip(depth, features.skips[depth], hint_map)
    x = generator.mid_level(bottleneck, style, vector)
    if x.shape[0] != batch:
        x = x.expand(batch, -1, -1, -1)
    levels = [x if x.stride(0) != 0 else x.clone()] if keep_levels else None
    for i in range(depth - 1):
        level = depth - 1 - i
        skip = (hinted.skips[i] if hinted is not None
                else generator.up[i].skip_input(generator.hinted_skip(level, features.skips[level], hint_map)))
        x = generator.decoder_level(i, x, skip, style, vector)
        if levels is not None:
            levels.append(x)
    h, w = features.skips[0].shape[-2:]
    reach = block_reach(generator.to_rgb)
    rgb = finest = None
    for y0 in range(0, h, max(1, rows)):
        band = (y0, min(h, y0 + max(1, rows)), 0, w)
        needed = _grow(band, reach, h, w)  # the finest level's rows the colors of the band read
        level, window = _decoder_level_window(generator, features, hint_map, style, vector, depth - 1, x, needed,
                                              hinted.skips[-1] if hinted is not None else None)
        colors = generator.to_colors(_crop(level, _inside(needed, window)))
        if rgb is None:
            rgb = colors.new_empty((batch, colors.shape[1], h, w))
        _paste(rgb, colors, band, needed)
        if levels is not None:
            if finest is None:
                layout = torch.channels_last if level.is_contiguous(memory_format=torch.channels_last) else torch.contiguous_format
                finest = torch.empty((batch, level.shape[1], h, w), dtype=level.dtype, device=level.device,
                                     memory_format=layout)
            _paste(finest, level, band, window)
    if levels is not None:
        levels.append(finest)
    return rgb, levels


def redecode(generator: Generator, features: SketchFeatures, hint_map: torch.Tensor, style: StyleCode,
             levels: list[torch.Tensor], plan: EditPlan) -> torch.Tensor:
    """Colors on ``plan.output`` for ``hint_map``, which differs from the map ``levels`` were
    decoded with only inside ``plan.box``; ``levels`` are updated in place to the new map.

    ``features``: the sketch's (``encode_sketch``); ``hint_map``: (1, 4, H, W) on the model's
    device. Returns (B, 3, h, w) in [-1, 1], the window ``plan.output`` of a full decode.
    """
    depth = len(generator.up)
    sizes = [tuple(s.shape[-2:]) for s in features.skips]
    batch = len(style)
    vector = generator.style_gains(style)
    # the mid-level: its changed region, from a window wider by the blocks' reach
    h, w = sizes[depth]
    target = plan.levels[0]
    window = _grow(target, sum(block_reach(b) for b in generator.mid), h, w)
    x = generator.mid_level(_hinted_window(generator, features, hint_map, depth, window), style, vector)
    if x.shape[0] != batch:
        x = x.expand(batch, -1, -1, -1)
    _paste(levels[0], x, target, window)
    for i in range(depth):
        target = plan.levels[i + 1]
        x, fine = _decoder_level_window(generator, features, hint_map, style, vector, i, levels[i], target)
        _paste(levels[i + 1], x, target, fine)
    h, w = sizes[0]
    window = _grow(plan.output, block_reach(generator.to_rgb), h, w)
    rgb = generator.to_colors(_crop(levels[-1], window))
    return _crop(rgb, _inside(plan.output, window))


def _paste(dest: torch.Tensor, src: torch.Tensor, target: Box, window: Box) -> None:
    """Write ``src`` (computed on ``window``) into ``dest`` on ``target``."""
    y0, y1, x0, x1 = target
    a0, a1, b0, b1 = _inside(target, window)
    dest[..., y0:y1, x0:x1] = src[..., a0:a1, b0:b1]
