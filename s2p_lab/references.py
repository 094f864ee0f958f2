"""Training references made from the target itself, and the color jitter shared by both.

The generator must learn to *transfer* color, not to copy layout or to recall a dataset's usual
colors. So the reference is another crop of the same illustration, warped and cut into shuffled
patches (its layout tells nothing about the target's), and one random hue rotation and
saturation scale is applied to target and reference alike (the right colors exist only in the
reference).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class ColorJitter:
    """A hue rotation (OpenCV hue units, 0..179) and a saturation scale, applied identically."""

    hue_shift: int = 0
    saturation: float = 1.0

    @staticmethod
    def random(rng: np.random.Generator, p: float = 0.8) -> "ColorJitter":
        if rng.random() >= p:
            return ColorJitter()
        return ColorJitter(int(rng.integers(0, 180)), float(rng.uniform(0.7, 1.3)))

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if self.hue_shift == 0 and self.saturation == 1.0:
            return rgb
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
        hue = (hsv[..., 0].astype(np.int16) + self.hue_shift) % 180
        hsv[..., 0] = hue.astype(np.uint8)
        hsv[..., 1] = np.clip(hsv[..., 1].astype(np.float32) * self.saturation, 0, 255).astype(np.uint8)
        return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


@dataclass(frozen=True)
class ToneJitter:
    """A brightness gamma and a saturation gain for the reference alone (hue untouched).

    The shared ``ColorJitter`` teaches that hues come from the reference. This one teaches what
    must not come from it: a dark reference must not darken the paper, a saturated one must not
    make skin neon. The target keeps its own luminance and saturation, so the generator learns
    to take those from the sketch and the hints.
    """

    gamma: float = 1.0  # applied to HSV value in 0..1: < 1 brightens, > 1 darkens
    saturation: float = 1.0

    @staticmethod
    def random(rng: np.random.Generator, p: float = 0.5) -> "ToneJitter":
        if p <= 0.0 or rng.random() >= p:
            return ToneJitter()
        return ToneJitter(float(np.exp(rng.uniform(np.log(0.6), np.log(1.7)))), float(rng.uniform(0.9, 1.6)))

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        if self.gamma == 1.0 and self.saturation == 1.0:
            return rgb
        hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 1] = np.clip(hsv[..., 1] * self.saturation, 0, 255)
        hsv[..., 2] = 255.0 * (hsv[..., 2] / 255.0) ** self.gamma
        return cv2.cvtColor(np.clip(hsv + 0.5, 0, 255).astype(np.uint8), cv2.COLOR_HSV2RGB)


def patch_order(grid: int, rng: np.random.Generator) -> np.ndarray:
    """A random order of the grid x grid patches (``arrange_patches``)."""
    return rng.permutation(grid * grid)


def arrange_patches(image: np.ndarray, grid: int, order: np.ndarray) -> np.ndarray:
    """Cut a square image (of any channels) into grid x grid patches and put them back in ``order``."""
    size = image.shape[0] // grid * grid
    image = image[:size, :size]
    step = size // grid
    patches = [image[r : r + step, c : c + step] for r in range(0, size, step) for c in range(0, size, step)]
    rows = [np.concatenate([patches[order[r * grid + c]] for c in range(grid)], axis=1) for r in range(grid)]
    return np.concatenate(rows, axis=0)


def shuffle_patches(image: np.ndarray, grid: int, rng: np.random.Generator) -> np.ndarray:
    """Cut a square image into grid x grid patches and put them back in random order."""
    return arrange_patches(image, grid, patch_order(grid, rng))


def warp_matrix(h: int, w: int, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """A random rotation, scale, shear and perspective of an h x w image, as a 3 x 3 matrix."""
    jitter = 0.18 * strength * min(h, w)
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-jitter, jitter, size=(4, 2)).astype(np.float32)
    perspective = cv2.getPerspectiveTransform(src, dst)
    angle = rng.uniform(-30, 30) * strength
    scale = rng.uniform(0.85, 1.2)
    rotation = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale), [0, 0, 1]])
    return rotation @ perspective


def apply_warp(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``image`` warped by ``matrix``, reflecting at the borders (a coordinate map warps alike)."""
    h, w = image.shape[:2]
    return cv2.warpPerspective(image, matrix, (w, h), borderMode=cv2.BORDER_REFLECT_101)


def random_warp(image: np.ndarray, rng: np.random.Generator, strength: float = 1.0) -> np.ndarray:
    """A random rotation, scale, shear and perspective, reflecting at the borders."""
    return apply_warp(image, warp_matrix(*image.shape[:2], rng, strength))


def synthesize_reference(
    image: np.ndarray,
    rng: np.random.Generator,
    size: int = 128,
    *,
    p_shuffle: float = 0.7,
    p_warp: float = 0.9,
    with_source: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """A size x size style reference from a color image (uint8 RGB) whose layout is scrambled.

    ``with_source``: also return where each reference pixel came from, a (size, size, 2) float32
    map of ``image``'s pixel coordinates (x, y), made by the same crop, flip, warp and shuffle
    (the same random draws: the reference is the same either way).
    """
    h, w = image.shape[:2]
    ch = int(h * rng.uniform(0.55, 1.0))
    cw = int(w * rng.uniform(0.55, 1.0))
    y = int(rng.integers(0, h - ch + 1))
    x = int(rng.integers(0, w - cw + 1))
    crop = cv2.resize(image[y : y + ch, x : x + cw], (size, size), interpolation=cv2.INTER_AREA)
    layers = [crop]  # the reference, and its source map where asked: every step moves both alike
    if with_source:  # pixel centres of the crop, resized as the crop was
        xs = x + (np.arange(size, dtype=np.float32) + 0.5) * cw / size - 0.5
        ys = y + (np.arange(size, dtype=np.float32) + 0.5) * ch / size - 0.5
        layers.append(np.stack(np.meshgrid(xs, ys), axis=-1).astype(np.float32))
    if rng.random() < 0.5:
        layers = [layer[:, ::-1] for layer in layers]
    if rng.random() < p_warp:
        matrix = warp_matrix(size, size, rng)
        layers = [apply_warp(np.ascontiguousarray(layer), matrix) for layer in layers]
    if rng.random() < p_shuffle:
        grid = int(rng.choice([2, 4, 4, 8]))
        order = patch_order(grid, rng)
        layers = [arrange_patches(layer, grid, order) for layer in layers]
        if layers[0].shape[0] != size:
            layers = [cv2.resize(layer, (size, size), interpolation=interpolation)
                      for layer, interpolation in zip(layers, (cv2.INTER_AREA, cv2.INTER_NEAREST))]
    layers = [np.ascontiguousarray(layer) for layer in layers]
    return (layers[0], layers[1]) if with_source else layers[0]
