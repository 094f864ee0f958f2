"""Line art from color illustrations, and cleanup of real scanned or photographed sketches.

Every function takes a ``uint8`` numpy array (HxW gray, HxWx3 RGB; HxWx4 RGBA is composited on
white) and returns ``uint8`` HxW line art: dark lines on white paper (paper = 255).

The extractors (:func:`xdog`, :func:`highpass`, :func:`adaptive`) synthesize training sketches
from color illustrations and are called once per training sample, so they are cheap vectorized
OpenCV/numpy code (a few milliseconds at 384 px). :func:`cleanup_sketch` normalizes a user's real
sketch (uneven lighting, tinted paper, colored pencil, specks) into the same clean look, and
:func:`augment_lines` perturbs synthetic sketches during training so that they also cover what
cleaned-up pencil drawings look like.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .errors import ImageError

__all__ = [
    "EXTRACTORS",
    "adaptive",
    "augment_lines",
    "cleanup_sketch",
    "extract_sketch",
    "highpass",
    "xdog",
]

_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


# --------------------------------------------------------------------------- input handling


def _check(image: np.ndarray) -> np.ndarray:
    """Validate an image array: uint8, HxW, HxWx1, HxWx3 or HxWx4, non-empty."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise ImageError(f"expected a uint8 image array, got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[2] not in (3, 4)):
        raise ImageError(f"expected an HxW or HxWx3 image array, got shape {image.shape}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise ImageError(f"image array is empty (shape {image.shape})")
    if image.ndim == 3 and image.shape[2] == 4:
        rgb = image[:, :, :3].astype(np.float32)
        alpha = image[:, :, 3:4].astype(np.float32) / 255.0
        image = np.rint(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    return np.ascontiguousarray(image)


def _gray_u8(image: np.ndarray) -> np.ndarray:
    """Luminance as uint8 HxW."""
    image = _check(image)
    if image.ndim == 2:
        return image
    return cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def _gray_f32(image: np.ndarray) -> np.ndarray:
    """Luminance as float32 HxW in [0, 1]."""
    return _gray_u8(image).astype(np.float32) * np.float32(1.0 / 255.0)


def _to_u8(lines: np.ndarray) -> np.ndarray:
    """Float lines in [0, 1] (1 = paper) to uint8."""
    return cv2.convertScaleAbs(lines, alpha=255.0)  # saturating round to [0, 255]


def _robust_max(values: np.ndarray, q: float, floor: float) -> float:
    """The ``q`` percentile of ``values`` (on a subsample of large arrays), at least ``floor``."""
    flat = values.reshape(-1)
    if flat.size > 65536:
        flat = flat[:: flat.size // 65536]
    return max(float(np.percentile(flat, q)), floor)


# --------------------------------------------------------------------------- extractors


def xdog(
    image: np.ndarray,
    *,
    sigma: float = 0.6,
    k: float = 1.6,
    tau: float = 0.98,
    epsilon: float = -0.1,
    phi: float = 8.0,
    percentile: float = 99.5,
    floor: float = 0.04,
) -> np.ndarray:
    """eXtended Difference of Gaussians (Winnemoeller et al. 2012) line art.

    ``D = G(sigma) - tau * G(k * sigma)`` of the luminance in [0, 1], divided by the
    ``percentile`` of ``-D`` (at least ``floor``) so that soft and crisp pictures give similar
    lines; pixels with ``D >= epsilon`` are paper, the rest fall off smoothly as
    ``1 + tanh(phi * (D - epsilon))``, which gives lines gray anti-aliased edges. Larger ``sigma``
    thickens lines; larger ``phi`` makes them harder; a lower ``epsilon`` keeps only stronger
    edges.
    """
    if sigma <= 0 or k <= 0:
        raise ValueError("xdog: sigma and k must be positive")
    gray = _gray_f32(image)
    g1 = cv2.GaussianBlur(gray, (0, 0), sigma)
    g2 = cv2.GaussianBlur(gray, (0, 0), sigma * k)
    d = g1 - np.float32(tau) * g2
    # Edge strength relative to this image's strongest edges (floored: a flat image stays blank).
    d *= np.float32(1.0 / _robust_max(-d, percentile, floor=floor))
    out = 1.0 + np.tanh(np.float32(phi) * np.minimum(d - np.float32(epsilon), 0.0))
    return _to_u8(out)


def highpass(
    image: np.ndarray,
    *,
    kernel: int = 5,
    gamma: float = 1.6,
    percentile: float = 99.5,
    threshold: float = 4.0,
) -> np.ndarray:
    """sketchKeras-style high-pass line art.

    Dilate the luminance with a ``kernel`` x ``kernel`` max filter and subtract the original: dark
    strokes and the dark side of edges light up. The high-pass is normalized by its ``percentile``
    (a robust max) after dropping responses below ``threshold`` gray levels (JPEG noise, paper
    texture), inverted and raised to ``1 / gamma`` (``gamma`` > 1 keeps faint lines light).
    """
    if kernel < 2 or gamma <= 0:
        raise ValueError("highpass: kernel must be >= 2 and gamma positive")
    gray = _gray_u8(image)
    gray = cv2.GaussianBlur(gray, (3, 3), 0.5)  # tame JPEG ringing before the max filter
    dilated = cv2.dilate(gray, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel)))
    hp = cv2.subtract(dilated, gray).astype(np.float32) - np.float32(threshold)
    scale = _robust_max(hp, percentile, floor=48.0)
    lines = 1.0 - np.clip(hp * np.float32(1.0 / scale), 0.0, 1.0)
    return _to_u8(np.power(lines, np.float32(1.0 / gamma)) if gamma != 1.0 else lines)


def adaptive(
    image: np.ndarray,
    *,
    block: int = 15,
    c: float = 8.0,
    softness: float = 14.0,
) -> np.ndarray:
    """Adaptive-threshold line art, softened.

    A pixel is a line where it is more than ``c`` gray levels (0-255 scale) darker than the
    Gaussian-weighted mean of its ``block`` x ``block`` neighborhood; instead of a hard cut the
    darkness ramps over ``softness`` levels, which keeps anti-aliased edges.
    """
    if block < 3:
        raise ValueError("adaptive: block must be >= 3")
    block = block | 1
    gray = _gray_u8(image).astype(np.float32)
    mean = cv2.GaussianBlur(gray, (block, block), 0)
    d = (mean - gray - np.float32(c)) * np.float32(1.0 / max(softness, 1e-3))
    lines = 1.0 - np.clip(d, 0.0, 1.0)
    return _to_u8(cv2.GaussianBlur(lines, (3, 3), 0.6))


EXTRACTORS: dict[str, Callable[..., np.ndarray]] = {
    "xdog": xdog,
    "highpass": highpass,
    "adaptive": adaptive,
}


def extract_sketch(image: np.ndarray, method: str = "xdog", **params: float) -> np.ndarray:
    """Line art from a color illustration with the named extractor (see ``EXTRACTORS``)."""
    try:
        fn = EXTRACTORS[method]
    except KeyError:
        choices = ", ".join(sorted(EXTRACTORS))
        raise ValueError(f"unknown sketch method {method!r}; choose one of: {choices}") from None
    return fn(image, **params)


# --------------------------------------------------------------------------- cleanup


def _background(channels: np.ndarray, work: int) -> np.ndarray:
    """Paper brightness per pixel and channel: lines closed away at low resolution, smoothed."""
    h, w = channels.shape[:2]
    scale = work / max(h, w)
    if scale < 1.0:
        small = cv2.resize(channels, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    else:
        small = channels
    # A gray-level closing (max filter) wipes out dark strokes; the median then drops the bright
    # outliers that the max filter picked up from noise, and a blur keeps the result smooth.
    small = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    small = cv2.medianBlur(small, 5)
    small = cv2.GaussianBlur(small, (0, 0), 2.0)
    bg = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if bg.ndim == 2 and channels.ndim == 3:
        bg = bg[:, :, None]
    return bg


def cleanup_sketch(
    image: np.ndarray,
    *,
    work_size: int = 64,
    color_weight: float = 0.5,
    black_percentile: float = 2.0,
    max_gain: float = 4.0,
    line_target: float = 0.5,
    max_gamma: float = 2.5,
    speck_area: int = 6,
) -> np.ndarray:
    """Normalize a real scanned or photographed sketch into clean line art.

    1. Divide every channel by an estimate of the paper (a gray-level closing of a ``work_size`` px
       copy, smoothed): flattens uneven lighting, vignetting and tinted paper.
    2. Darkness per pixel: luminance pulled towards the darkest channel by ``color_weight``
       (1 = the per-pixel channel minimum), so that blue or red pencil turns dark.
    3. Robust stretch: the paper level (median, less its noise) maps to 255 and the
       ``black_percentile`` of the line pixels to 0, with a gain of at most ``max_gain``; noisy
       photos are smoothed slightly first.
    4. Faint pencil: on scanned or photographed paper (visible paper noise), if the median line
       pixel is still lighter than ``line_target`` a gamma (at most ``max_gamma``) darkens the
       lines; anti-aliasing is kept.
    5. Dark specks of at most ``speck_area`` pixels (per 512 x 512 of image) that no other stroke
       touches are whitened.

    Clean digital line art (white paper, dark lines) comes back essentially unchanged.
    """
    if work_size < 8 or max_gain < 1 or not 0.0 <= color_weight <= 1.0:
        raise ValueError("cleanup_sketch: work_size >= 8, max_gain >= 1, color_weight in [0, 1]")
    image = _check(image)
    h, w = image.shape[:2]
    bg = _background(image, work_size)
    # (v + 1) / (bg + 1): paper -> ~1, black stays > 0, no division by zero.
    norm = cv2.divide(image.astype(np.float32) + 1.0, bg.astype(np.float32) + 1.0)
    if norm.ndim == 3:
        r, g, b = cv2.split(norm)
        luma = cv2.transform(norm, _LUMA[None, :])
        lowest = cv2.min(cv2.min(r, g), b)
        dark = cv2.addWeighted(luma, 1.0 - color_weight, lowest, color_weight, 0.0)
    else:
        dark = norm
    np.minimum(dark, 1.0, out=dark)

    step = (max(1, h // 256), max(1, w // 256))
    paper, noise = _paper_level(dark[:: step[0], :: step[1]])
    if noise > 0.015:  # photographed or JPEG-noisy paper: smooth a little before thresholding
        dark = cv2.GaussianBlur(dark, (0, 0), 0.7)
        paper, noise = _paper_level(dark[:: step[0], :: step[1]])
    white = min(paper - 2.5 * noise, 1.0) - 0.01
    sample = dark[:: step[0], :: step[1]].reshape(-1)
    lines = sample[sample < white - 0.05]
    black = float(np.percentile(lines, black_percentile)) if lines.size >= 16 else 0.0
    black = min(max(black, 0.0), white - 1.0 / max_gain)
    gain = 1.0 / max(white - black, 1e-3)
    if noise > 0.004:
        # Divided by a darker paper, noise grows: in shaded corners the white point moves down
        # by the same factor, so that shadows come out as clean paper too.
        shade = bg if bg.ndim == 2 else cv2.cvtColor(bg, cv2.COLOR_RGB2GRAY)
        level = float(np.median(shade[:: step[0], :: step[1]])) + 1.0
        drop = cv2.divide(np.float32(2.5 * noise * level), shade.astype(np.float32) + 1.0)
        drop = np.maximum(drop - np.float32(2.5 * noise), 0.0)  # extra drop beyond the global one
        span = np.maximum(np.float32(white - black) - drop, np.float32(1.0 / max_gain))
        out = cv2.convertScaleAbs(cv2.divide(dark - np.float32(black), span), alpha=255.0)
    else:
        out = cv2.convertScaleAbs(dark, alpha=255.0 * gain, beta=-255.0 * gain * black)

    if lines.size >= 16 and noise > 0.004:  # scanned or photographed: darken faint pencil
        median = (float(np.median(lines)) - black) * gain
        if median > line_target:
            gamma = min(np.log(line_target) / np.log(min(median, 0.999)), max_gamma)
            lut = np.power(np.arange(256, dtype=np.float32) / 255.0, np.float32(gamma))
            out = cv2.LUT(out, _to_u8(lut))

    if speck_area > 0:
        out = _remove_specks(out, max(1, round(speck_area * (h * w) / 512**2)))
    return out


def _paper_level(sample: np.ndarray) -> tuple[float, float]:
    """Median (the paper, which covers most of a sketch) and robust noise sigma of darkness."""
    flat = sample.reshape(-1)
    paper = float(np.median(flat))
    return paper, 1.4826 * float(np.median(np.abs(flat - paper)))


def _remove_specks(lines: np.ndarray, max_area: int) -> np.ndarray:
    """Whiten isolated marks: components of any ink of at most ``max_area`` pixels."""
    ink = (lines < 235).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    if n <= 1:
        return lines
    small = stats[:, cv2.CC_STAT_AREA] <= max_area
    small[0] = False
    if not small.any():
        return lines
    out = lines.copy()
    out[small[labels]] = 255
    return out


# --------------------------------------------------------------------------- augmentation


def augment_lines(sketch: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random training-time perturbation of synthetic line art (same shape, uint8).

    Covers what cleaned-up real pencil sketches look like: lines thickened or thinned by up to a
    pixel, lighter gray (pencil) lines, a slight blur, gaussian noise, and a random gamma and
    contrast. Every random choice comes from ``rng``, so a seeded generator repeats exactly.
    """
    out = _gray_u8(sketch)
    u = rng.random(4)
    # Fractional thickening / thinning: blend towards a 3x3 min filter (dark lines grow by a
    # pixel) or, capped lower so that 1 px lines fade instead of vanishing, a max filter.
    if u[0] < 0.3:
        t = float(rng.uniform(0.3, 1.0))
        out = cv2.addWeighted(out, 1.0 - t, cv2.erode(out, _CROSS), t, 0.0)
    elif u[0] < 0.5:
        t = float(rng.uniform(0.2, 0.6))
        out = cv2.addWeighted(out, 1.0 - t, cv2.dilate(out, _CROSS), t, 0.0)
    if u[1] < 0.3:
        out = cv2.GaussianBlur(out, (3, 3), float(rng.uniform(0.3, 0.8)))
    # One lookup table applies pencil lightness, gamma and contrast together.
    ink = 1.0 - float(rng.uniform(0.0, 0.55)) if u[2] < 0.5 else 1.0  # darkness of black lines
    gamma = float(np.exp(rng.uniform(-0.35, 0.35)))
    contrast = float(rng.uniform(0.85, 1.2))
    x = np.arange(256, dtype=np.float32) / 255.0
    y = 1.0 - (1.0 - np.power(1.0 - (1.0 - x) * ink, gamma)) * contrast
    out = cv2.LUT(out, _to_u8(y))
    if u[3] < 0.35:
        sigma = float(rng.uniform(1.0, 6.0))
        noise = rng.standard_normal(out.shape, dtype=np.float32) * np.float32(sigma)
        out = cv2.convertScaleAbs(out.astype(np.float32) + noise)
    return out

