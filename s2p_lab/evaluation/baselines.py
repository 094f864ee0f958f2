"""Non-learned baselines that every ``s2p eval`` run scores beside the model.

A metric that a baseline passes cannot tell a useful model from a trick. Each baseline takes the
sketch (``uint8`` HxW, paper 255) and returns an RGB ``uint8`` image of the same size with the
sketch's lines multiplied over a fill:

* :func:`paste`: the reference resized to the sketch, under the lines;
* :func:`shuffled_paste`: the same with the reference cut into an 8x8 grid of patches, shuffled;
* :func:`wash`: one color on the figure, paper white (for a held-out pair: the target's mean
  non-paper color on the target's non-paper pixels, the best possible one-hue figure; for a
  sketch with an unrelated reference: the reference's mean non-paper color on
  :func:`figure_mask`);
* :func:`gray_wash`: the wash in a neutral gray of the same lightness (a KID probe);
* :func:`paint_hints`: point hints painted as discs under the lines, nothing else.

``no_reference`` (the model run without a style) and the bare sketch are the other two
comparisons; they need no function here.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from .color import as_gray, as_rgb, rgb_to_lab

__all__ = [
    "BASELINES", "MATCHER_BASELINES", "figure_mask", "flipped_recrop", "gray_wash", "lines_over", "mean_color",
    "nearest_feature", "paint_hints", "paper_mask", "paste", "random_assignment", "rotated_zoomed", "shuffle_patches",
    "shuffled_paste", "wash",
]

#: The baselines of every run, in table order.
BASELINES = ("paste", "shuffled_paste", "wash", "no_reference")
#: The region matcher's baselines, scored on the held-out pairs (region accuracy and error).
MATCHER_BASELINES = ("random_assignment", "nearest_feature")
PAPER_MIN = 236  # a pixel whose every channel is at least this is paper
SHUFFLE_GRID = 8


def lines_over(fill_rgb: np.ndarray, sketch: np.ndarray) -> np.ndarray:
    """The sketch's lines multiplied over a fill: ``fill * sketch / 255`` (sketch resized if needed)."""
    fill = as_rgb(fill_rgb, "fill")
    sk = as_gray(sketch)
    h, w = fill.shape[:2]
    if sk.shape != (h, w):
        sk = cv2.resize(sk, (w, h), interpolation=cv2.INTER_AREA)
    return np.rint(fill.astype(np.float64) * (sk[:, :, None] / 255.0)).astype(np.uint8)


def paper_mask(rgb: np.ndarray, threshold: int = PAPER_MIN) -> np.ndarray:
    """True where all three channels are at least ``threshold`` (white or near-white paper)."""
    return (as_rgb(rgb) >= threshold).all(axis=2)


def figure_mask(sketch: np.ndarray, line_threshold: int = 200) -> np.ndarray:
    """True inside the drawn figure: everything not reachable from the border across paper.

    Lines are the pixels darker than ``line_threshold``, closed by a 5x5 dilation so that small
    gaps do not let the background in; the background is the paper connected to the image
    border; the figure is the rest (lines included). A sketch with no enclosed area gives all True.
    """
    sk = as_gray(sketch)
    h, w = sk.shape
    lines = (sk < line_threshold).astype(np.uint8)
    lines = cv2.dilate(lines, np.ones((5, 5), np.uint8))
    free = (1 - lines).astype(np.uint8)
    padded = np.pad(free, 1, constant_values=1)
    n, comp = cv2.connectedComponents(padded, connectivity=4)
    background = comp[1:-1, 1:-1] == comp[0, 0]
    figure = ~background
    return figure if figure.any() else np.ones((h, w), bool)


def mean_color(rgb: np.ndarray, mask: np.ndarray | None = None) -> tuple[int, int, int]:
    """Mean sRGB color of the non-paper pixels (or of ``mask``); mid gray when there are none."""
    img = as_rgb(rgb)
    sel = ~paper_mask(img) if mask is None else mask
    if not sel.any():
        return (128, 128, 128)
    return tuple(int(v) for v in np.rint(img[sel].reshape(-1, 3).mean(axis=0)))  # type: ignore[return-value]


def wash(sketch: np.ndarray, color: tuple[int, int, int], mask: np.ndarray | None = None) -> np.ndarray:
    """One ``color`` on ``mask`` (default: :func:`figure_mask` of the sketch), paper white, lines over."""
    sk = as_gray(sketch)
    area = figure_mask(sk) if mask is None else mask
    fill = np.full(sk.shape + (3,), 255, np.uint8)
    fill[area] = color
    return lines_over(fill, sk)


def gray_wash(sketch: np.ndarray, color: tuple[int, int, int], mask: np.ndarray | None = None) -> np.ndarray:
    """:func:`wash` in the neutral gray with the CIELAB lightness of ``color``."""
    lightness = float(rgb_to_lab(np.array(color, np.uint8))[0])
    # neutral sRGB gray of lightness L: Y = f^-1((L + 16) / 116), then sRGB companding
    fy = (lightness + 16.0) / 116.0
    y = fy ** 3 if fy ** 3 > 216.0 / 24389.0 else (116.0 * fy - 16.0) / (24389.0 / 27.0)
    v = 12.92 * y if y <= 0.0031308 else 1.055 * y ** (1 / 2.4) - 0.055
    g = int(np.clip(round(v * 255.0), 0, 255))
    return wash(sketch, (g, g, g), mask)


def paste(sketch: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The reference resized (area/cubic, aspect not kept) to the sketch, under its lines."""
    sk = as_gray(sketch)
    h, w = sk.shape
    ref = as_rgb(reference, "reference")
    interp = cv2.INTER_AREA if ref.shape[0] * ref.shape[1] > h * w else cv2.INTER_CUBIC
    return lines_over(cv2.resize(ref, (w, h), interpolation=interp), sk)


def shuffle_patches(rgb: np.ndarray, grid: int = SHUFFLE_GRID, seed: int = 0) -> np.ndarray:
    """The image cut into ``grid`` x ``grid`` patches and put back in a seeded random order.

    The image is resized up to the next multiple of ``grid`` on each side, shuffled with
    ``numpy.random.default_rng(seed).permutation``, and resized back.
    """
    img = as_rgb(rgb)
    h, w = img.shape[:2]
    gh, gw = -(-h // grid) * grid, -(-w // grid) * grid
    big = cv2.resize(img, (gw, gh), interpolation=cv2.INTER_NEAREST) if (gh, gw) != (h, w) else img
    ph, pw = gh // grid, gw // grid
    tiles = big.reshape(grid, ph, grid, pw, 3).transpose(0, 2, 1, 3, 4).reshape(grid * grid, ph, pw, 3)
    tiles = tiles[np.random.default_rng(seed).permutation(grid * grid)]
    out = tiles.reshape(grid, grid, ph, pw, 3).transpose(0, 2, 1, 3, 4).reshape(gh, gw, 3)
    return cv2.resize(out, (w, h), interpolation=cv2.INTER_NEAREST) if (gh, gw) != (h, w) else out


def shuffled_paste(sketch: np.ndarray, reference: np.ndarray, seed: int = 0) -> np.ndarray:
    """:func:`paste` of the reference after :func:`shuffle_patches` (8x8, at the sketch's size)."""
    sk = as_gray(sketch)
    h, w = sk.shape
    ref = cv2.resize(as_rgb(reference, "reference"), (w, h), interpolation=cv2.INTER_AREA)
    return lines_over(shuffle_patches(ref, SHUFFLE_GRID, seed), sk)


def flipped_recrop(rgb: np.ndarray, crop: float = 0.08) -> np.ndarray:
    """A reference that cannot be copied pixel for pixel: mirrored left-right, ``crop`` of the
    height cut from the top and of the width from the right, resized back to the same size."""
    img = as_rgb(rgb)[:, ::-1]
    h, w = img.shape[:2]
    dy, dx = int(round(crop * h)), int(round(crop * w))
    cut = np.ascontiguousarray(img[dy:, : w - dx])
    return cv2.resize(cut, (w, h), interpolation=cv2.INTER_CUBIC)


def rotated_zoomed(rgb: np.ndarray, degrees: float = 10.0, zoom: float = 0.8) -> np.ndarray:
    """A reference of a kind the matcher's training never made: turned by ``degrees`` and zoomed
    out to ``zoom``, the border filled with the image's median color."""
    img = as_rgb(rgb)
    h, w = img.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, zoom)
    border = tuple(int(v) for v in np.median(img.reshape(-1, 3), axis=0))
    return cv2.warpAffine(np.ascontiguousarray(img), matrix, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


_SKETCH_PARTS: list = []  # the last sketch's (digest, regions, pooled features): s2p eval fills one sketch from many references


def _matched_fill(sketch: np.ndarray, reference: np.ndarray, method: str, seed: int) -> np.ndarray:
    import hashlib

    from ..matching.features import sketch_part_features
    from ..matching.predict import nearest_feature_colors, random_colors, reference_parts
    from ..regions import region_map

    lines = as_gray(sketch)
    digest = hashlib.sha1(np.ascontiguousarray(lines).tobytes() + repr(lines.shape).encode()).hexdigest()
    if not _SKETCH_PARTS or _SKETCH_PARTS[0] != digest:
        regions = region_map(lines)
        _SKETCH_PARTS[:] = [digest, regions, sketch_part_features(lines, regions.labels, regions.count)]
    _, regions, parts = _SKETCH_PARTS
    ref = reference_parts(as_rgb(reference))
    if method == "nearest_feature":
        colors = nearest_feature_colors(parts, ref)
    else:
        colors = random_colors(regions.count, ref, seed=seed)
    return lines_over(colors.rgb[regions.labels], lines)


def nearest_feature(sketch: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The matcher's untrained baseline: every line-bounded region of the sketch filled with the
    color of the reference segment whose frozen EfficientNet features are the most similar
    (``matching.predict.nearest_feature_colors``), lines over it."""
    return _matched_fill(sketch, reference, "nearest_feature", 0)


def random_assignment(sketch: np.ndarray, reference: np.ndarray, seed: int = 0) -> np.ndarray:
    """The matcher's chance baseline: every region filled with the color of a random reference
    segment, drawn by area (``matching.predict.random_colors``), lines over it."""
    return _matched_fill(sketch, reference, "random_assignment", seed)


def paint_hints(sketch: np.ndarray, hints: Any) -> np.ndarray:
    """The hints drawn as ``Hints.to_map`` draws them, on white paper, under the sketch's lines."""
    from ..hints import Hints

    sk = as_gray(sketch)
    h, w = sk.shape
    hint_map = Hints.load(hints).to_map(h, w)
    mask = hint_map[:, :, 3] > 0.5
    fill = np.full((h, w, 3), 255, np.uint8)
    rgb = np.clip(np.rint(hint_map[:, :, :3] * 255.0), 0, 255).astype(np.uint8)
    fill[mask] = rgb[mask]
    return lines_over(fill, sk)
