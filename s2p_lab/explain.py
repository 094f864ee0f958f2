"""What transferred from the reference: attention maps, palettes, style ablations, interpolation.

The generator reaches the reference in two ways (see :mod:`s2p_lab.models.generator`):

* the global **style vector** (``StyleCode.vector``, 256 numbers) modulates every decoder block
  through FiLM: it sets the overall palette and mood;
* the spatial **reference tokens** (``StyleCode.tokens``, one per cell of a grid laid over the
  resized reference: 32 x 32 cells over 256 x 256 for the shipped v0.3, 16 x 16 over 128 x 128 for v0.2) are looked up by cross-attention: each output region
  attends to the reference cells whose features match it and takes their colors.

This module turns both into pictures a student can read:

* :func:`attention_map`: for one spot of the output, where in the reference it looked;
* :func:`palette` and :func:`palette_strip`: dominant colors of reference and output side by side;
* :func:`ablate_style_groups` and :func:`mask_style`: switch groups of the style vector (or the
  attention path) off and see what changes;
* :func:`interpolate_styles`: a convex mix of two references' codes.

Everything works on the colorizer's cached stages (``prepare_sketch``, ``encode_styles``,
``hint_map``, ``render``), so exploring never re-encodes the sketch.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch

from .errors import S2PError
from .hints import Hints
from .imageio import ImageSource, load_image
from .models import StyleCode

if TYPE_CHECKING:  # the colorizer imports torch models; only the type checker needs it here
    from .colorizer import Colorizer, PreparedSketch

__all__ = [
    "AttentionLayers",
    "ablate_style_groups",
    "ablation_labels",
    "attention_at",
    "attention_layers",
    "attention_map",
    "attention_overlay",
    "interpolate_styles",
    "interpolation_strip",
    "mask_style",
    "palette",
    "palette_strip",
    "render_with_attention",
    "style_groups",
]

Palette = list[tuple[tuple[int, int, int], float]]


# --------------------------------------------------------------------------------------------
# helpers shared by the functions below


def _as_hint_map(colorizer: Colorizer, prepared: PreparedSketch, hints: object) -> torch.Tensor:
    """A (1, 4, h, w) hint map from a ready tensor or anything ``Hints.load`` accepts."""
    if isinstance(hints, torch.Tensor):
        return hints
    return colorizer.hint_map(Hints.load(hints), prepared)


def _single(code: StyleCode, index: int = 0) -> StyleCode:
    if not 0 <= index < len(code):
        raise S2PError(f"style index {index} is out of range for {len(code)} reference(s)")
    return code.select(slice(index, index + 1))


@contextlib.contextmanager
def _keep_attention(colorizer: Colorizer) -> Iterator[list]:
    """Turn on ``keep_weights`` for every attention layer; restore the previous state after."""
    modules = list(colorizer.model.generator.attention_modules())
    before = [(m.keep_weights, m.last_weights) for m in modules]
    for m in modules:
        m.keep_weights = True
        m.last_weights = None
    try:
        yield modules
    finally:
        for m, (keep, _) in zip(modules, before):
            m.keep_weights = keep
            m.last_weights = None


@contextlib.contextmanager
def _attention_off(colorizer: Colorizer, off: bool = True) -> Iterator[None]:
    """Bypass every attention layer (its output is its input): the tokens are switched off.

    Zeroing the tokens would not do it: the key and value projections have biases, so zero tokens
    still add a constant; a forward hook that returns the layer's input removes the path exactly.
    """
    handles = []
    if off:
        for m in colorizer.model.generator.attention_modules():
            handles.append(m.register_forward_hook(lambda _m, inputs, _out: inputs[0]))
    try:
        yield
    finally:
        for h in handles:
            h.remove()


# --------------------------------------------------------------------------------------------
# attention maps


@dataclass
class AttentionLayers:
    """Attention weights of one render, per layer from coarse to fine.

    ``weights[i]`` is float32 (H_i, W_i, T): for every cell of layer ``i``'s feature map, the
    weights (mean over heads, summing to 1) over the ``T`` reference tokens, which lie row-major
    on a ``grid`` x ``grid`` lattice over the reference.
    """

    weights: list[np.ndarray]
    grid: int

    def __len__(self) -> int:
        return len(self.weights)


def render_with_attention(
    colorizer: Colorizer,
    prepared: PreparedSketch,
    hints: object,
    style_code: StyleCode,
    *,
    tokens: bool = True,
) -> tuple[np.ndarray, AttentionLayers | None]:
    """Render one reference and keep its attention weights.

    Returns the uint8 (h, w, 3) output at the processing size and the :class:`AttentionLayers`
    (``None`` for a model without attention, or with ``tokens=False``). ``style_code`` must hold
    one reference. ``hints``: a (1, 4, h, w) hint map tensor or anything ``Hints.load`` accepts.
    """
    if len(style_code) != 1:
        raise S2PError(f"render_with_attention takes one reference, got {len(style_code)}")
    hint_map = _as_hint_map(colorizer, prepared, hints)
    if not tokens or not colorizer.model.generator.attention_modules():
        with _attention_off(colorizer, not tokens):
            return colorizer.render(prepared, hint_map, style_code)[0], None
    with _keep_attention(colorizer) as modules:
        rgb = colorizer.render(prepared, hint_map, style_code)[0]
        weights = [m.last_weights[0].cpu().numpy().astype(np.float32) for m in modules]
    count = weights[0].shape[-1]
    grid = math.isqrt(count)
    if grid * grid != count:
        raise S2PError(f"reference tokens do not form a square grid ({count} tokens)")
    return rgb, AttentionLayers(weights, grid)


def attention_layers(
    colorizer: Colorizer, prepared: PreparedSketch, hints: object, style_code: StyleCode
) -> AttentionLayers:
    """The attention weights of every layer for one reference (see :class:`AttentionLayers`).

    Raises :class:`S2PError` when the model has no attention (``style_transfer="global"``).
    """
    if not colorizer.model.generator.attention_modules():
        raise S2PError("this model has no attention layers (style_transfer='global'): no attention maps")
    _, layers = render_with_attention(colorizer, prepared, hints, _single(style_code))
    assert layers is not None
    return layers


def attention_at(
    layers: AttentionLayers, point_xy: tuple[float, float], size: tuple[int, int] | None = None
) -> np.ndarray:
    """Where the output at fractional ``point_xy = (x, y)`` takes its color from.

    The finest layer's weights at that spot are averaged with those of the coarser layers (each
    read at its own cell under the point) into one ``grid`` x ``grid`` map over the reference.
    With ``size=(height, width)`` the map is upsampled (bilinear) to that size. The result is
    float32 scaled so that its maximum is 1 (0 everywhere if all weights are 0).
    """
    x, y = (float(v) for v in point_xy)
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise S2PError(f"point {point_xy!r} is outside the image: x and y are fractions in 0..1")
    maps = []
    for w in layers.weights:
        h_cells, w_cells = w.shape[:2]
        row = min(int(y * h_cells), h_cells - 1)
        col = min(int(x * w_cells), w_cells - 1)
        maps.append(w[row, col].reshape(layers.grid, layers.grid))
    grid = np.mean(maps, axis=0).astype(np.float32)
    if size is not None:
        height, width = int(size[0]), int(size[1])
        grid = cv2.resize(grid, (width, height), interpolation=cv2.INTER_LINEAR)
    peak = float(grid.max())
    return grid / peak if peak > 0 else grid


def attention_map(
    colorizer: Colorizer,
    prepared: PreparedSketch,
    hints: object,
    style_code: StyleCode,
    point_xy: tuple[float, float],
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """Attention of the output at fractional ``point_xy`` over the reference, in 0..1.

    One render with the attention weights kept, then :func:`attention_at`. ``size`` defaults to
    the reference as the encoder saw it (``style_size`` square, 256 x 256 for the shipped model, 128 x 128 for v0.2);
    pass the reference image's ``(height, width)`` to lay the map over it. For many clicks on the
    same output, call :func:`attention_layers` once and :func:`attention_at` per click.
    """
    layers = attention_layers(colorizer, prepared, hints, style_code)
    if size is None:
        side = colorizer.config.style_size
        size = (side, side)
    return attention_at(layers, point_xy, size)


def attention_overlay(reference: ImageSource, heat: np.ndarray, floor: float = 0.15) -> np.ndarray:
    """The reference (uint8 RGB) darkened where ``heat`` (0..1, any size) is low.

    The reference keeps its own colors where the output attended (those are the colors that can
    transfer) and fades to ``floor`` of its brightness where it did not. A nearly uniform map
    (an untrained or global-only model) leaves the reference nearly unchanged, which is the
    honest picture of "looked everywhere".
    """
    rgb = load_image(reference, mode="RGB")
    h, w = rgb.shape[:2]
    heat = np.clip(cv2.resize(np.asarray(heat, np.float32), (w, h), interpolation=cv2.INTER_LINEAR), 0, 1)
    out = rgb.astype(np.float32) * (floor + (1.0 - floor) * heat[..., None])
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------
# palettes


def _rgb_array(image: ImageSource) -> np.ndarray:
    """uint8 HxWx3 as is (any size, e.g. a small crop), anything else through ``load_image``."""
    if isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3:
        return image
    return load_image(image, mode="RGB")


def palette(
    image: ImageSource,
    k: int = 6,
    *,
    space: str = "lab",
    mask: np.ndarray | None = None,
    max_pixels: int = 40_000,
    seed: int = 0,
) -> Palette:
    """The ``k`` dominant colors of an image and their shares, largest share first.

    k-means (``palettes.cluster_colors``, the one ``extract_palette`` uses) over the pixels in
    CIE Lab (``space="lab"``, perceptually even: the default) or RGB. ``mask`` (HxW, nonzero =
    use) restricts the pixels, e.g. to leave out paper or lines. Large images are subsampled to
    about ``max_pixels`` pixels. Returns ``[((r, g, b), share), ...]`` with shares summing to 1;
    fewer than ``k`` entries when the image has fewer distinct colors.
    """
    if space not in ("lab", "rgb"):
        raise S2PError(f"palette space must be 'lab' or 'rgb', got {space!r}")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise S2PError(f"palette size k must be a positive integer, got {k!r}")
    rgb = _rgb_array(image)
    pixels = rgb.reshape(-1, 3)
    if mask is not None:
        m = np.asarray(mask)
        if m.shape[:2] != rgb.shape[:2]:
            raise S2PError(f"palette mask shape {m.shape} does not match the image {rgb.shape[:2]}")
        pixels = pixels[m.reshape(-1) != 0]
    if pixels.shape[0] == 0:
        return []
    if pixels.shape[0] > max_pixels:
        step = int(math.ceil(pixels.shape[0] / max_pixels))
        pixels = pixels[::step]
    distinct = np.unique(pixels, axis=0)
    if distinct.shape[0] <= k:
        counts = [(tuple(int(v) for v in c), float((pixels == c).all(axis=1).mean())) for c in distinct]
        return sorted(counts, key=lambda item: -item[1])
    data = pixels[None].astype(np.uint8)
    if space == "lab":
        data = cv2.cvtColor(data, cv2.COLOR_RGB2LAB)
    from .palettes import cluster_colors

    centers, counts = cluster_colors(data[0].astype(np.float32), k, seed=seed)
    centers_u8 = np.clip(np.rint(centers), 0, 255).astype(np.uint8)[None]
    if space == "lab":
        centers_u8 = cv2.cvtColor(centers_u8, cv2.COLOR_LAB2RGB)
    total = float(counts.sum())
    return [(tuple(int(v) for v in centers_u8[0, i]), float(counts[i] / total))
            for i in range(len(counts)) if counts[i] > 0]


def palette_strip(colors: Palette, width: int = 320, height: int = 40, *, gap: int = 0) -> np.ndarray:
    """A uint8 (height, width, 3) bar: one block per color, as wide as its share.

    ``gap`` white pixels separate blocks. An empty palette gives a light gray bar.
    """
    strip = np.full((height, width, 3), 235, np.uint8)
    if not colors:
        return strip
    total = sum(share for _, share in colors) or 1.0
    edges = np.rint(np.cumsum([0.0] + [share / total for _, share in colors]) * width).astype(int)
    for (rgb, _), x0, x1 in zip(colors, edges[:-1], edges[1:]):
        if x1 > x0:
            strip[:, x0:x1] = rgb
            if gap and x1 < width:
                strip[:, max(x0, x1 - gap):x1] = 255
    return strip


# --------------------------------------------------------------------------------------------
# style ablation and interpolation


def style_groups(style_dim: int, groups: int) -> list[slice]:
    """Split ``style_dim`` vector entries into ``groups`` contiguous, nearly equal slices."""
    if not isinstance(groups, int) or isinstance(groups, bool) or not 1 <= groups <= style_dim:
        raise S2PError(f"groups must be an integer from 1 to {style_dim}, got {groups!r}")
    edges = np.linspace(0, style_dim, groups + 1).round().astype(int)
    return [slice(int(a), int(b)) for a, b in zip(edges[:-1], edges[1:])]


def mask_style(code: StyleCode, off: Iterable[int] = (), groups: int = 8) -> StyleCode:
    """A copy of ``code`` with the style-vector groups listed in ``off`` set to zero.

    Zero is what the generator sees for "no reference", so a zeroed group tells which part of the
    palette or mood those numbers carried.
    """
    slices = style_groups(code.vector.shape[1], groups)
    vector = code.vector.clone()
    for g in off:
        if not 0 <= int(g) < groups:
            raise S2PError(f"style group {g} is out of range 0..{groups - 1}")
        vector[:, slices[int(g)]] = 0
    return StyleCode(vector, code.tokens, code.present)


def ablation_labels(groups: int = 8, tokens: bool = True) -> list[str]:
    """Titles for :func:`ablate_style_groups`'s images, in the same order."""
    return [f"group {g + 1} off" for g in range(groups)] + (["attention off"] if tokens else [])


def ablate_style_groups(
    colorizer: Colorizer,
    prepared: PreparedSketch,
    hints: object,
    style_code: StyleCode,
    groups: int = 8,
    tokens: bool = True,
) -> list[np.ndarray]:
    """Render with one group of the style vector zeroed at a time, then with the tokens off.

    Returns uint8 (h, w, 3) images at the processing size (``colorizer.finish`` lays the lines
    over them at the sketch's size): ``groups`` images (group ``g`` zeroed),
    then, when ``tokens`` and the model has attention, one with the attention path bypassed (only
    the global vector left). Titles: :func:`ablation_labels`. ``style_code`` holds one reference.
    """
    code = _single(style_code)
    hint_map = _as_hint_map(colorizer, prepared, hints)
    batch = StyleCode.cat([mask_style(code, [g], groups) for g in range(groups)])
    images = list(colorizer.render(prepared, hint_map, batch))
    if tokens and colorizer.model.generator.attention_modules():
        with _attention_off(colorizer):
            images.append(colorizer.render(prepared, hint_map, code)[0])
    return images


def interpolate_styles(code_a: StyleCode, code_b: StyleCode, t: float) -> StyleCode:
    """The convex combination ``(1 - t) * a + t * b`` of two style codes (vector and tokens).

    ``t=0`` gives ``a``, ``t=1`` gives ``b``. Codes of one reference each (or of equal length);
    ``present`` is mixed the same way, so mixing with "no reference" fades the reference out.
    """
    t = float(t)
    if not 0.0 <= t <= 1.0 or math.isnan(t):
        raise S2PError(f"interpolation t must be in 0..1, got {t!r}")
    if len(code_a) != len(code_b):
        raise S2PError(f"cannot mix style codes of {len(code_a)} and {len(code_b)} references")

    def mix(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        out = a.float() * (1.0 - t) + b.to(a.device).float() * t
        return out.to(a.dtype)

    return StyleCode(
        mix(code_a.vector, code_b.vector), mix(code_a.tokens, code_b.tokens), mix(code_a.present, code_b.present)
    )


def interpolation_strip(
    colorizer: Colorizer,
    prepared: PreparedSketch,
    hints: object,
    code_a: StyleCode,
    code_b: StyleCode,
    steps: int = 5,
) -> list[np.ndarray]:
    """Outputs for ``steps`` evenly spaced ``t`` from 0 (reference a) to 1 (reference b)."""
    if steps < 2:
        raise S2PError(f"an interpolation strip needs at least 2 steps, got {steps}")
    a, b = _single(code_a), _single(code_b)
    hint_map = _as_hint_map(colorizer, prepared, hints)
    batch = StyleCode.cat([interpolate_styles(a, b, t) for t in np.linspace(0.0, 1.0, steps)])
    return list(colorizer.render(prepared, hint_map, batch))
