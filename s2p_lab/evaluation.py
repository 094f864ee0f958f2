"""Metrics that need no human, and the benchmark that runs them on real data.

Every metric is a plain numpy/OpenCV function of ``uint8`` arrays, with its exact definition in
its docstring, so that numbers in reports can be recomputed by anyone:

* color science: :func:`rgb_to_lab` (sRGB, D65) and :func:`ciede2000` (Sharma et al. 2005);
* palette statistics: :func:`hue_entropy`, :func:`colorfulness` (Hasler and Suesstrunk 2003),
  :func:`color_signature`, :func:`style_retrieval`, :func:`style_retrieval_top1`;
* fidelity: :func:`psnr`, :func:`ssim` (Wang et al. 2004), :func:`hint_adherence`,
  :func:`line_fidelity`;
* the benchmark: :func:`evaluate` (style retrieval on the real sketches and style references,
  reconstruction against a sketch-only floor and hint adherence on held-out illustrations, the
  training images' colorfulness distribution, optional Hint-AUC), and the ``s2p eval`` command
  (:func:`add_arguments`, :func:`run`, :func:`main`).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import ImageError, S2PError
from .fileio import IMAGE_SUFFIXES, list_image_files

__all__ = [
    "IMAGE_EXTENSIONS",
    "TARGETS",
    "add_arguments",
    "ciede2000",
    "color_signature",
    "colorfulness",
    "evaluate",
    "evaluate_hint_auc",
    "evaluate_pairs",
    "evaluate_retrieval",
    "hint_adherence",
    "hue_entropy",
    "line_fidelity",
    "main",
    "pick_references",
    "psnr",
    "rgb_to_lab",
    "run",
    "signature_distance",
    "ssim",
    "style_retrieval",
    "style_retrieval_top1",
    "training_statistics",
]

IMAGE_EXTENSIONS = IMAGE_SUFFIXES

#: The acceptance targets: metric key -> (comparison, threshold).
TARGETS: dict[str, tuple[str, Any]] = {
    "style_top1": (">=", 0.90),
    "hint_de00": ("<=", 10.0),
    "psnr_gain_db": (">=", 6.5),
    "hue_entropy_median": (">=", 1.3),
    "hint_auc_psnr": (">=", 20.0),
    "colorfulness_in_train_iqr": ("in", "training interquartile range"),
}

# --------------------------------------------------------------------------- input checks


def _as_rgb(image: Any, what: str = "image") -> np.ndarray:
    """An RGB ``uint8`` HxWx3 array from an HxW, HxWx1, HxWx3 or HxWx4 uint8 array or PIL image.

    Gray is replicated to three channels; RGBA is composited on white.
    """
    arr = np.asarray(image)
    if arr.dtype != np.uint8:
        raise ImageError(f"{what}: expected a uint8 image array, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        rgb = arr[:, :, :3].astype(np.float32)
        alpha = arr[:, :, 3:4].astype(np.float32) / 255.0
        arr = np.rint(rgb * alpha + 255.0 * (1.0 - alpha)).astype(np.uint8)
    elif arr.ndim != 3 or arr.shape[2] != 3:
        raise ImageError(f"{what}: expected an HxW or HxWx3 image, got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(f"{what}: image is empty (shape {arr.shape})")
    return np.ascontiguousarray(arr)


def _as_gray(image: Any, what: str = "sketch") -> np.ndarray:
    """A ``uint8`` HxW array (RGB input is converted with the BT.601 luma weights)."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8 and arr.ndim == 2:
        if arr.size == 0:
            raise ImageError(f"{what}: image is empty (shape {arr.shape})")
        return np.ascontiguousarray(arr)
    return cv2.cvtColor(_as_rgb(arr, what), cv2.COLOR_RGB2GRAY)


def _same_size(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[:2] != b.shape[:2]:
        raise ImageError(f"images differ in size: {a.shape[1]}x{a.shape[0]} and "
                         f"{b.shape[1]}x{b.shape[0]}")


def _fit_long_side(image: np.ndarray, size: int) -> np.ndarray:
    """Resize so that the longer side is ``size`` px (area filter down, cubic up; aspect kept)."""
    h, w = image.shape[:2]
    scale = size / max(h, w)
    if scale == 1.0:
        return image
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_CUBIC
    return cv2.resize(image, (nw, nh), interpolation=interp)


# --------------------------------------------------------------------------- color science

# sRGB (IEC 61966-2-1) linear RGB -> XYZ, and the D65 reference white (Y = 1).
_RGB_TO_XYZ = np.array([[0.4124564, 0.3575761, 0.1804375],
                        [0.2126729, 0.7151522, 0.0721750],
                        [0.0193339, 0.1191920, 0.9503041]])
_D65 = np.array([0.95047, 1.0, 1.08883])
_LAB_EPS = 216.0 / 24389.0  # (6/29)^3
_LAB_KAPPA = 24389.0 / 27.0


def _srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


_LINEAR_LUT = _srgb_to_linear(np.arange(256, dtype=np.float64) / 255.0)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB to CIELAB (D65), float64, for any array whose last axis is (R, G, B).

    ``uint8`` input is scaled by 1/255; float input is taken as sRGB in [0, 1]. Exact formula:
    sRGB companding ``c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4``; linear RGB to XYZ
    with the IEC 61966-2-1 matrix; ``t = X / 0.95047, Y / 1, Z / 1.08883``;
    ``f(t) = t ** (1/3)`` when ``t > (6/29)^3`` else ``(kappa * t + 16) / 116`` with
    ``kappa = 24389/27``; ``L = 116 f(Y) - 16``, ``a = 500 (f(X) - f(Y))``,
    ``b = 200 (f(Y) - f(Z))``. White is (100, 0, 0), pure red (53.24, 80.09, 67.20).
    """
    arr = np.asarray(rgb)
    if arr.shape[-1:] != (3,):
        raise ImageError(f"rgb_to_lab: the last axis must hold R, G, B; got shape {arr.shape}")
    if arr.dtype == np.uint8:
        lin = _LINEAR_LUT[arr]
    elif np.issubdtype(arr.dtype, np.floating):
        lin = _srgb_to_linear(np.clip(arr.astype(np.float64), 0.0, 1.0))
    else:
        raise ImageError(f"rgb_to_lab: expected uint8 or float in [0, 1], got dtype {arr.dtype}")
    xyz = (lin @ _RGB_TO_XYZ.T) / _D65
    f = np.where(xyz > _LAB_EPS, np.cbrt(xyz), (_LAB_KAPPA * xyz + 16.0) / 116.0)
    lab = np.empty(f.shape, dtype=np.float64)
    lab[..., 0] = 116.0 * f[..., 1] - 16.0
    lab[..., 1] = 500.0 * (f[..., 0] - f[..., 1])
    lab[..., 2] = 200.0 * (f[..., 1] - f[..., 2])
    return lab


def ciede2000(lab1: np.ndarray, lab2: np.ndarray, *, kl: float = 1.0, kc: float = 1.0,
              kh: float = 1.0) -> np.ndarray:
    """CIEDE2000 color difference between CIELAB arrays (last axis L, a, b; broadcast together).

    The full formula as written out by Sharma, Wu and Dalal (2005), "The CIEDE2000
    color-difference formula: implementation notes, supplementary test data, and mathematical
    observations": ``G``-corrected a', C', h' (h' = 0 for a neutral color); dh' = 0 when a chroma
    is 0, otherwise the hue difference wrapped into [-180, 180]; the mean hue h̄' is the plain
    sum when a chroma is 0, otherwise the circular mean; weighting functions S_L, S_C, S_H with
    T(h̄') and the rotation term R_T = -sin(2 dθ) R_C; parametric factors kL = kC = kH = 1 unless
    given. Returns float64 of the broadcast shape without the last axis.
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    if lab1.shape[-1:] != (3,) or lab2.shape[-1:] != (3,):
        raise ValueError(f"ciede2000: the last axis must hold L, a, b; got {lab1.shape}, {lab2.shape}")
    l1, a1, b1 = lab1[..., 0], lab1[..., 1], lab1[..., 2]
    l2, a2, b2 = lab2[..., 0], lab2[..., 1], lab2[..., 2]

    c1 = np.hypot(a1, b1)
    c2 = np.hypot(a2, b2)
    cbar7 = ((c1 + c2) / 2.0) ** 7
    g = 0.5 * (1.0 - np.sqrt(cbar7 / (cbar7 + 25.0 ** 7)))
    a1p = (1.0 + g) * a1
    a2p = (1.0 + g) * a2
    c1p = np.hypot(a1p, b1)
    c2p = np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360.0
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360.0
    h1p = np.where((a1p == 0) & (b1 == 0), 0.0, h1p)
    h2p = np.where((a2p == 0) & (b2 == 0), 0.0, h2p)

    neutral = (c1p * c2p) == 0
    dlp = l2 - l1
    dcp = c2p - c1p
    dh = h2p - h1p
    dhp = np.where(dh > 180.0, dh - 360.0, np.where(dh < -180.0, dh + 360.0, dh))
    dhp = np.where(neutral, 0.0, dhp)
    dHp = 2.0 * np.sqrt(c1p * c2p) * np.sin(np.radians(dhp) / 2.0)

    lbarp = (l1 + l2) / 2.0
    cbarp = (c1p + c2p) / 2.0
    hsum = h1p + h2p
    hbarp = np.where(np.abs(h1p - h2p) <= 180.0, hsum / 2.0,
                     np.where(hsum < 360.0, (hsum + 360.0) / 2.0, (hsum - 360.0) / 2.0))
    hbarp = np.where(neutral, hsum, hbarp)

    t = (1.0 - 0.17 * np.cos(np.radians(hbarp - 30.0)) + 0.24 * np.cos(np.radians(2.0 * hbarp))
         + 0.32 * np.cos(np.radians(3.0 * hbarp + 6.0)) - 0.20 * np.cos(np.radians(4.0 * hbarp - 63.0)))
    dtheta = 30.0 * np.exp(-(((hbarp - 275.0) / 25.0) ** 2))
    cbarp7 = cbarp ** 7
    rc = 2.0 * np.sqrt(cbarp7 / (cbarp7 + 25.0 ** 7))
    lm50 = (lbarp - 50.0) ** 2
    sl = 1.0 + 0.015 * lm50 / np.sqrt(20.0 + lm50)
    sc = 1.0 + 0.045 * cbarp
    sh = 1.0 + 0.015 * cbarp * t
    rt = -np.sin(np.radians(2.0 * dtheta)) * rc

    tl = dlp / (kl * sl)
    tc = dcp / (kc * sc)
    th = dHp / (kh * sh)
    return np.sqrt(np.maximum(tl * tl + tc * tc + th * th + rt * tc * th, 0.0))


def _lab_chroma_hue(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lightness, chroma and hue angle (degrees in [0, 360)) of every pixel."""
    lab = rgb_to_lab(rgb).reshape(-1, 3)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360.0
    return lab[:, 0], chroma, hue


# --------------------------------------------------------------------------- palette statistics


def hue_entropy(rgb: np.ndarray, *, bins: int = 12, chroma_threshold: float = 12.0) -> float:
    """Entropy, in bits, of the hue histogram of the chromatic pixels.

    Pixels whose CIELAB chroma ``sqrt(a^2 + b^2)`` exceeds ``chroma_threshold`` are binned by their
    Lab hue angle ``atan2(b, a)`` into ``bins`` equal bins starting at 0 degrees (12 bins of 30
    degrees by default), each pixel counting once; the result is ``-sum p_i log2 p_i`` over the
    bins' shares ``p_i`` (0 when no pixel is chromatic). One hue gives 0, all twelve equally
    log2(12) = 3.58 bits; the shared training illustrations (longer side 256) give a median of
    1.72 bits (interquartile range 1.33 to 2.09).
    """
    _, chroma, hue = _lab_chroma_hue(_as_rgb(rgb))
    sel = hue[chroma > chroma_threshold]
    if sel.size == 0:
        return 0.0
    idx = np.minimum((sel * (bins / 360.0)).astype(np.int64), bins - 1)
    p = np.bincount(idx, minlength=bins).astype(np.float64) / sel.size
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum()) + 0.0


def colorfulness(rgb: np.ndarray) -> float:
    """Colorfulness M of Hasler and Suesstrunk (2003).

    On 0..255 sRGB values: ``rg = R - G``, ``yb = (R + G) / 2 - B``;
    ``sigma = sqrt(std(rg)^2 + std(yb)^2)``, ``mu = sqrt(mean(rg)^2 + mean(yb)^2)``
    (population statistics over all pixels) and ``M = sigma + 0.3 mu``. Gray images give 0;
    "quite colorful" photographs about 60.
    """
    f = _as_rgb(rgb).reshape(-1, 3).astype(np.float64)
    rg = f[:, 0] - f[:, 1]
    yb = 0.5 * (f[:, 0] + f[:, 1]) - f[:, 2]
    sigma = math.sqrt(float(rg.var()) + float(yb.var()))
    mu = math.sqrt(float(rg.mean()) ** 2 + float(yb.mean()) ** 2)
    return sigma + 0.3 * mu


# --------------------------------------------------------------------------- fidelity


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB of two uint8 RGB images of equal size.

    ``10 log10(255^2 / MSE)`` with the MSE taken over all pixels and the three channels (gray
    inputs are replicated to RGB first). Identical images give ``inf`` (no cap).
    """
    x = _as_rgb(a, "first image").astype(np.float64)
    y = _as_rgb(b, "second image").astype(np.float64)
    _same_size(x, y)
    mse = float(np.mean((x - y) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(255.0 ** 2 / mse)


_SSIM_WIN = 11
_SSIM_SIGMA = 1.5


def _ssim_channel(x: np.ndarray, y: np.ndarray) -> float:
    c1 = (0.01 * 255.0) ** 2
    c2 = (0.03 * 255.0) ** 2

    def blur(z: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(z, (_SSIM_WIN, _SSIM_WIN), _SSIM_SIGMA, borderType=cv2.BORDER_REFLECT)

    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    smap = ((2.0 * mx * my + c1) * (2.0 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    pad = (_SSIM_WIN - 1) // 2
    if min(x.shape) > 2 * pad:
        smap = smap[pad:-pad, pad:-pad]
    return float(smap.mean())


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    """Structural similarity (Wang et al. 2004) of two uint8 RGB images of equal size.

    Computed on each of the R, G, B channels separately and averaged (mean over channels).
    Local statistics use an 11x11 Gaussian window with sigma 1.5 (population, not sample,
    covariance), ``C1 = (0.01 * 255)^2``, ``C2 = (0.03 * 255)^2``; the SSIM map is averaged over
    the pixels whose window lies fully inside the image (a 5 px border is dropped; images with a
    side of 10 px or less use the whole map with reflected borders). Identical images give 1.
    Matches ``skimage.metrics.structural_similarity(..., channel_axis=2, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=255)``.
    """
    x = _as_rgb(a, "first image").astype(np.float64)
    y = _as_rgb(b, "second image").astype(np.float64)
    _same_size(x, y)
    return float(np.mean([_ssim_channel(x[:, :, c], y[:, :, c]) for c in range(3)]))


# --------------------------------------------------------------------------- style retrieval

_SIG_SIZE = 96  # signatures are computed on copies whose longer side is this many pixels
_SIG_HUE_BINS = 12
_SIG_L_CENTERS = np.array([20.0, 50.0, 80.0])
_SIG_MIN_CHROMA = 8.0


def color_signature(rgb: np.ndarray) -> np.ndarray:
    """A palette signature: chroma-weighted, soft-binned hue x lightness histogram in CIELAB.

    The image is first resized (area filter) so that its longer side is 96 px, so images of any
    size compare fairly. Each pixel with CIELAB chroma ``C > 8`` votes with weight ``C`` (neutral
    paper, gray and black lines carry no weight); its vote is split linearly between the two
    nearest of 12 circular hue bins (centers 0, 30, ..., 330 degrees) and between the two nearest
    of 3 lightness bins (centers L = 20, 50, 80; clamped at the ends). The 36 bins (hue-major) are
    normalized to sum 1; an image without chromatic pixels gives all zeros.
    """
    img = _fit_long_side(_as_rgb(rgb), _SIG_SIZE)
    light, chroma, hue = _lab_chroma_hue(img)
    keep = chroma > _SIG_MIN_CHROMA
    light, w, hue = light[keep], chroma[keep], hue[keep]
    hist = np.zeros((_SIG_HUE_BINS, _SIG_L_CENTERS.size), dtype=np.float64)
    if w.size == 0:
        return hist.reshape(-1)
    hpos = hue / (360.0 / _SIG_HUE_BINS)
    h0 = np.floor(hpos).astype(np.int64)
    hf = hpos - h0
    h0 %= _SIG_HUE_BINS
    h1 = (h0 + 1) % _SIG_HUE_BINS
    lpos = np.clip(np.interp(light, _SIG_L_CENTERS, np.arange(_SIG_L_CENTERS.size)), 0,
                   _SIG_L_CENTERS.size - 1)
    l0 = np.minimum(np.floor(lpos).astype(np.int64), _SIG_L_CENTERS.size - 2)
    lf = lpos - l0
    l1 = l0 + 1
    for hi, hw in ((h0, 1.0 - hf), (h1, hf)):
        for li, lw in ((l0, 1.0 - lf), (l1, lf)):
            np.add.at(hist, (hi, li), w * hw * lw)
    total = hist.sum()
    return (hist / total).reshape(-1) if total > 0 else hist.reshape(-1)


def signature_distance(s1: np.ndarray, s2: np.ndarray) -> float:
    """Chi-square distance ``0.5 * sum (p - q)^2 / (p + q)`` between two signatures (0..1)."""
    p = np.asarray(s1, dtype=np.float64)
    q = np.asarray(s2, dtype=np.float64)
    den = p + q
    num = (p - q) ** 2
    return float(0.5 * np.sum(np.divide(num, den, out=np.zeros_like(num), where=den > 0)))


def style_retrieval(outputs: Sequence[np.ndarray], references: Sequence[np.ndarray]) -> np.ndarray:
    """For each output, the index of the reference with the nearest :func:`color_signature`.

    Distance: :func:`signature_distance` (chi-square); ties go to the lower index. An output with
    no chromatic pixel retrieves nothing: its entry is -1. Returns int64 of ``len(outputs)``.
    """
    if len(references) == 0:
        raise S2PError("style retrieval needs at least one reference")
    refs = [color_signature(r) for r in references]
    found = np.full(len(outputs), -1, dtype=np.int64)
    for i, out in enumerate(outputs):
        sig = color_signature(out)
        if sig.sum() <= 0:
            continue
        found[i] = int(np.argmin([signature_distance(sig, r) for r in refs]))
    return found


def style_retrieval_top1(outputs: Sequence[np.ndarray], references: Sequence[np.ndarray],
                         targets: Sequence[int] | None = None) -> float:
    """Share of outputs whose nearest reference (:func:`style_retrieval`) is their own.

    ``targets[i]`` is the index of the reference output ``i`` was made with; by default output
    ``i`` belongs to reference ``i`` (then both lists must have the same length). Chance level is
    ``1 / len(references)``. NaN for no outputs.
    """
    if targets is None:
        if len(outputs) != len(references):
            raise S2PError(f"{len(outputs)} outputs but {len(references)} references: pass targets")
        targets = range(len(outputs))
    targets = np.asarray(list(targets), dtype=np.int64)
    if targets.size != len(outputs):
        raise S2PError(f"{len(outputs)} outputs but {targets.size} targets")
    if targets.size == 0:
        return math.nan
    return float(np.mean(style_retrieval(outputs, references) == targets))


# --------------------------------------------------------------------------- hints


def _disc_mean_lab(lab: np.ndarray, cx: float, cy: float, r: float) -> np.ndarray | None:
    """Mean Lab of the pixels whose centers lie within ``r`` px of (cx, cy) (at least the pixel
    under the point); None when the point lies outside the image."""
    h, w = lab.shape[:2]
    if not (0.0 <= cx <= w and 0.0 <= cy <= h):
        return None
    x0, x1 = max(0, int(math.floor(cx - r - 0.5))), min(w, int(math.ceil(cx + r + 0.5)) + 1)
    y0, y1 = max(0, int(math.floor(cy - r - 0.5))), min(h, int(math.ceil(cy + r + 0.5)) + 1)
    ys, xs = np.mgrid[y0:y1, x0:x1]
    inside = (xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2 <= r * r
    if not inside.any():
        return lab[min(int(cy), h - 1), min(int(cx), w - 1)]
    return lab[y0:y1, x0:x1][inside].mean(axis=0)


def _polyline_samples(xy: np.ndarray, step: float) -> list[np.ndarray]:
    """Points along a polyline (pixel coordinates) every ``step`` px or closer, vertices included."""
    samples = [xy[0]]
    for p0, p1 in zip(xy[:-1], xy[1:]):
        n = max(1, int(math.ceil(float(np.hypot(*(p1 - p0))) / step)))
        samples.extend(p0 + (p1 - p0) * (k / n) for k in range(1, n + 1))
    return samples


def hint_adherence(output_rgb: np.ndarray, hints: Any) -> float:
    """Mean CIEDE2000 between each hint's color and the output's color under that hint.

    ``hints``: a ``Hints``, its JSON dict or a path to such a file (coordinates are fractions of
    width and height; radii and widths are fractions of the output's longer side ``S``), drawn as
    ``Hints.to_map`` draws them. A point hint at (x, y) with radius r is compared with the mean
    CIELAB color of the output pixels whose centers lie within ``max(1, r S)`` px of
    ``(x W, y H)``. A stroke is sampled along its polyline every ``max(1, width S / 2)`` px
    (vertices included); each sample is compared the same way with a disc of radius
    ``max(1, width S / 2)`` and the stroke's difference is the mean over its samples. Raster hints
    (``Hints.from_arrays``), at the output's size, are split into 8-connected components of the
    mask; a component's difference is the mean over its pixels of CIEDE2000 between the hint
    color and the output color of that pixel. Every point, stroke and component counts once in
    the final mean; points outside the image are skipped. NaN when there is no hint.
    """
    from .hints import Hints

    hints = Hints.load(hints)
    out = _as_rgb(output_rgb, "output")
    h, w = out.shape[:2]
    long_side = float(max(h, w))
    lab = rgb_to_lab(out)
    diffs: list[float] = []
    for p in hints.points:
        mean = _disc_mean_lab(lab, p.x * w, p.y * h, max(1.0, p.radius * long_side))
        if mean is not None:
            diffs.append(float(ciede2000(rgb_to_lab(np.array(p.rgb, np.uint8)), mean)))
    for s in hints.strokes:
        xy = np.asarray(s.xy, dtype=np.float64).reshape(-1, 2) * [w, h]
        radius = max(1.0, s.width * long_side / 2.0)
        means = [m for m in (_disc_mean_lab(lab, float(q[0]), float(q[1]), radius)
                             for q in _polyline_samples(xy, radius)) if m is not None]
        if means:
            ref = rgb_to_lab(np.array(s.rgb, np.uint8))
            diffs.append(float(np.mean(ciede2000(ref, np.stack(means)))))
    if hints.raster is not None:
        color, mask = hints.raster.resized(h, w)
        n, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
        if n > 1:
            sel = labels > 0
            de = ciede2000(rgb_to_lab(color[sel]), lab[sel])
            ids = labels[sel]
            sums = np.bincount(ids, weights=de, minlength=n)[1:]
            counts = np.bincount(ids, minlength=n)[1:]
            diffs.extend((sums[counts > 0] / counts[counts > 0]).tolist())
    return float(np.mean(diffs)) if diffs else math.nan


# --------------------------------------------------------------------------- lines


def _paper_brightness(values: np.ndarray, paper: np.ndarray, window: int) -> np.ndarray:
    """Mean of ``values`` over the ``paper`` pixels in a ``window`` box around every pixel
    (normalized convolution); where the box holds no paper, the median over all paper pixels."""
    weight = paper.astype(np.float64)
    num = cv2.boxFilter(values * weight, -1, (window, window), normalize=False,
                        borderType=cv2.BORDER_REFLECT)
    den = cv2.boxFilter(weight, -1, (window, window), normalize=False, borderType=cv2.BORDER_REFLECT)
    fallback = float(np.median(values[paper])) if paper.any() else 255.0
    return np.where(den > 0.5, num / np.maximum(den, 1e-9), fallback)


def line_fidelity(output_rgb: np.ndarray, sketch_gray: np.ndarray, *, line_threshold: int = 128,
                  paper_threshold: int = 224) -> float:
    """How much of the sketch's line darkness survives in the output: 1 = all, 0 = none.

    The sketch is resized (area filter) to the output's size if needed. Line pixels are those with
    sketch value ``< line_threshold`` (128), paper pixels those with sketch value
    ``>= paper_threshold`` (224; anti-aliased line borders in between belong to neither). ``Y`` is
    the output's BT.601 luma (0..255). Around every pixel, the local paper brightness of an image
    is the mean of its values over the paper pixels in a box of side
    ``k = odd(max(5, round(max(H, W) / 48)))`` (the median over all paper pixels where the box
    holds none). The relative darkening of an image at a line pixel is
    ``c = clip((paper - value) / paper, 0, 1)``, so a line multiplied onto any fill color keeps
    its ``c``. With ``c_s`` for the sketch and ``c_o`` for the output:
    ``fidelity = sum_lines min(c_o, c_s) / sum_lines c_s``. An output that is the sketch
    multiplied onto flat colors scores 1, a flat fill 0. NaN when the sketch has no dark line.
    """
    out = _as_rgb(output_rgb, "output")
    sk = _as_gray(sketch_gray)
    h, w = out.shape[:2]
    if sk.shape != (h, w):
        sk = cv2.resize(sk, (w, h), interpolation=cv2.INTER_AREA)
    line = sk < line_threshold
    if not line.any():
        return math.nan
    paper = sk >= paper_threshold
    k = max(5, round(max(h, w) / 48))
    k += 1 - k % 2
    s = sk.astype(np.float64)
    y = cv2.cvtColor(out, cv2.COLOR_RGB2GRAY).astype(np.float64)

    def darkening(values: np.ndarray) -> np.ndarray:
        bright = _paper_brightness(values, paper, k)[line]
        return np.clip((bright - values[line]) / np.maximum(bright, 1.0), 0.0, 1.0)

    c_s = darkening(s)
    total = float(c_s.sum())
    if total <= 0:
        return math.nan
    return float(np.minimum(darkening(y), c_s).sum() / total)


# --------------------------------------------------------------------------- the benchmark


def _list_images(folder: Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise S2PError(f"not a directory: {folder}")
    paths = list_image_files(folder)
    if not paths:
        raise S2PError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
    return paths


def _load_rgb(path: Path) -> np.ndarray:
    from .imageio import load_image

    return load_image(path, mode="RGB")


def _load_gray(path: Path) -> np.ndarray:
    from .imageio import load_image

    return load_image(path, mode="L")


def _progress(iterable: Iterable[Any], *, desc: str, total: int | None, enabled: bool) -> Iterable[Any]:
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, disable=not enabled, leave=False)


def pick_references(style_paths: Sequence[Path], n_refs: int, seed: int = 0) -> list[Path]:
    """The fixed, seeded choice of references: ``n_refs`` of the name-sorted paths drawn without
    replacement by ``numpy.random.default_rng(seed).choice``, returned in name order."""
    paths = sorted((Path(p) for p in style_paths), key=lambda p: p.name)
    if n_refs < 1:
        raise S2PError(f"n_refs must be at least 1, got {n_refs}")
    if n_refs > len(paths):
        raise S2PError(f"{n_refs} references asked for, but only {len(paths)} style images given")
    idx = np.random.default_rng(seed).choice(len(paths), size=n_refs, replace=False)
    return [paths[i] for i in sorted(int(i) for i in idx)]


def _median(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.median(vals)) if vals else None


def _mean(values: Sequence[float]) -> float | None:
    vals = [v for v in values if v is not None and math.isfinite(v)]
    return float(np.mean(vals)) if vals else None


def _quartiles(values: Sequence[float]) -> dict[str, float | None]:
    vals = [v for v in values if math.isfinite(v)]
    if not vals:
        return {"median": None, "q25": None, "q75": None}
    q25, q50, q75 = np.percentile(vals, [25, 50, 75])
    return {"median": float(q50), "q25": float(q25), "q75": float(q75)}


def _as_arrays(images: Sequence[Any]) -> list[np.ndarray]:
    return [np.asarray(im.convert("RGB") if hasattr(im, "convert") else im) for im in images]


def _load_colorizer(colorizer: Any, weights: Any = None, device: str | None = None) -> Any:
    if colorizer is not None:
        return colorizer
    from .colorizer import Colorizer

    return Colorizer.from_pretrained(weights=weights, device=device)


def evaluate_retrieval(colorizer: Any, sketch_paths: Sequence[Path], style_paths: Sequence[Path], *,
                       n_refs: int = 9, size: int = 256, seed: int = 0, progress: bool = True,
                       keep_outputs: int = 0) -> dict[str, Any]:
    """Part 1 of the benchmark: style retrieval and palette statistics on real sketches.

    Picks ``n_refs`` references (:func:`pick_references`), fits every sketch's longer side to
    ``size``, cleans it up (``sketch.cleanup_sketch``, which restores line darkness lost to the
    downscaling) and colorizes it with all
    references in one ``colorize`` call. Reports top-1 retrieval accuracy over all outputs, and the
    medians of :func:`hue_entropy`, :func:`colorfulness` and :func:`line_fidelity` (against the
    cleaned sketch). ``keep_outputs`` sketches keep their images under ``"_images"`` (for the grid).
    """
    from .sketch import cleanup_sketch

    colorizer = _load_colorizer(colorizer)
    refs_paths = pick_references(style_paths, n_refs, seed)
    refs = [_load_rgb(p) for p in refs_paths]
    correct = 0
    total = 0
    entropies: list[float] = []
    colorful: list[float] = []
    fidelity: list[float] = []
    per_sketch: list[dict[str, Any]] = []
    per_reference_colorful: list[list[float]] = [[] for _ in refs]
    kept: list[tuple[str, np.ndarray, list[np.ndarray], list[int]]] = []
    for path in _progress(sketch_paths, desc="style retrieval", total=len(sketch_paths), enabled=progress):
        sketch = cleanup_sketch(_fit_long_side(_load_gray(path), size))
        outputs = _as_arrays(colorizer.colorize(sketch, styles=refs, hints=None, size=size, seed=seed))
        if len(outputs) != len(refs):
            raise S2PError(f"the colorizer returned {len(outputs)} images for {len(refs)} references")
        found = style_retrieval(outputs, refs)
        hits = int(np.sum(found == np.arange(len(refs))))
        correct += hits
        total += len(refs)
        for j, out in enumerate(outputs):
            entropies.append(hue_entropy(out))
            colorful.append(colorfulness(out))
            per_reference_colorful[j].append(colorful[-1])
            fidelity.append(line_fidelity(out, sketch))
        per_sketch.append({"sketch": Path(path).name, "retrieved": [int(i) for i in found],
                           "top1": hits / len(refs)})
        if len(kept) < keep_outputs:
            kept.append((Path(path).name, sketch, outputs, [int(i) for i in found]))
    ref_colorful = [colorfulness(_fit_long_side(r, size)) for r in refs]
    result: dict[str, Any] = {
        "references": [p.name for p in refs_paths],
        "n_sketches": len(per_sketch),
        "n_outputs": total,
        "style_top1": correct / total if total else None,
        "chance": 1.0 / len(refs),
        "hue_entropy_median": _median(entropies),
        "colorfulness_median": _median(colorful),
        # the references' own colorfulness (fitted to ``size``) beside their outputs' medians: shows
        # how much of the outputs' colorfulness the references bring
        "reference_colorfulness": ref_colorful,
        "reference_colorfulness_median": _median(ref_colorful),
        "colorfulness_median_per_reference": [_median(v) for v in per_reference_colorful],
        "line_fidelity_median": _median(fidelity),
        "per_sketch": per_sketch,
    }
    if keep_outputs:
        result["_images"] = {"references": refs, "rows": kept}
    return result


def evaluate_pairs(colorizer: Any, image_paths: Sequence[Path], *, size: int = 256,
                   extractor: str = "xdog", hint_count: int = 8, seed: int = 0,
                   progress: bool = True) -> dict[str, Any]:
    """Part 2 of the benchmark: reconstruction and hint adherence on (sketch, color) pairs.

    Every color image is fitted to ``size`` (longer side) and its sketch extracted with
    ``extractor``. (a) Colorized with the image itself as the only reference: mean :func:`psnr`
    and :func:`ssim` against the image, next to the sketch-only floor (the sketch as RGB against
    the image) and their differences (``psnr_gain_db``, ``ssim_gain``). (b) Colorized from
    ``hint_simulation.deterministic_hints(image, hint_count, seed)`` alone (no reference): mean
    :func:`hint_adherence` (``hint_de00``) and PSNR of those outputs.
    """
    from .hint_simulation import deterministic_hints
    from .sketch import extract_sketch

    colorizer = _load_colorizer(colorizer)
    rows: list[dict[str, Any]] = []
    for path in _progress(image_paths, desc="held-out pairs", total=len(image_paths), enabled=progress):
        target = _fit_long_side(_load_rgb(path), size)
        sketch = extract_sketch(target, method=extractor)
        sketch_rgb = np.repeat(sketch[:, :, None], 3, axis=2)
        out = _as_arrays(colorizer.colorize(sketch, styles=[target], hints=None, size=size, seed=seed))[0]
        hints = deterministic_hints(target, hint_count, seed=seed)
        hinted = _as_arrays(colorizer.colorize(sketch, styles=None, hints=hints, size=size, seed=seed))[0]
        rows.append({
            "image": Path(path).name,
            "psnr": psnr(out, target), "ssim": ssim(out, target),
            "floor_psnr": psnr(sketch_rgb, target), "floor_ssim": ssim(sketch_rgb, target),
            "hint_de00": hint_adherence(hinted, hints), "hints_psnr": psnr(hinted, target),
        })
    keys = ("psnr", "ssim", "floor_psnr", "floor_ssim", "hint_de00", "hints_psnr")
    means = {k: _mean([r[k] for r in rows]) for k in keys}
    gain = {
        "psnr_gain_db": _mean([r["psnr"] - r["floor_psnr"] for r in rows]),
        "ssim_gain": _mean([r["ssim"] - r["floor_ssim"] for r in rows]),
    }
    return {"n_pairs": len(rows), "extractor": extractor, "hint_count": hint_count,
            **means, **gain, "per_pair": rows}


def _cache_root(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "s2p_lab"


_STATS_VERSION = 1


def training_statistics(paths: Sequence[Path], *, size: int = 256, cache_dir: Path | None = None,
                        progress: bool = True) -> dict[str, Any]:
    """Colorfulness and hue entropy of color images (fitted to ``size``): median and quartiles.

    The result is cached as a small JSON file in ``cache_dir`` (default
    ``$XDG_CACHE_HOME/s2p_lab`` or ``~/.cache/s2p_lab``), keyed by the file names, sizes and
    modification times, ``size`` and the metric version; a cache that cannot be written is
    skipped silently.
    """
    paths = sorted((Path(p) for p in paths), key=lambda p: p.name)
    key_src = [_STATS_VERSION, size] + [[p.name, p.stat().st_size, int(p.stat().st_mtime)] for p in paths]
    key = hashlib.sha1(json.dumps(key_src).encode("utf-8")).hexdigest()[:20]
    cache = _cache_root(cache_dir) / f"train_stats_{key}.json"
    if cache.is_file():
        try:
            stats = json.loads(cache.read_text())
            if stats.get("key") == key:
                return {**stats, "cached": True}
        except (OSError, ValueError):
            pass
    colorful: list[float] = []
    entropies: list[float] = []
    for p in _progress(paths, desc="training statistics", total=len(paths), enabled=progress):
        img = _fit_long_side(_load_rgb(p), size)
        colorful.append(colorfulness(img))
        entropies.append(hue_entropy(img))
    stats = {"key": key, "n_images": len(paths), "size": size,
             "colorfulness": _quartiles(colorful), "hue_entropy": _quartiles(entropies)}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats, indent=1))
        tmp.replace(cache)
    except OSError:
        pass
    return {**stats, "cached": False}


def evaluate_hint_auc(colorizer: Any, image_paths: Sequence[Path], *, size: int = 256,
                      extractor: str = "xdog", seed: int = 0, hint_type: str = "scribble",
                      progress: bool = True) -> dict[str, Any]:
    """Hint-AUC (the ``hintauc`` package, TVCG 2026) of hint-only colorization, if it is installed.

    For each image (fitted to ``size``; its sketch from ``extractor``) ``hintauc`` derives
    deterministic region hints (``path_method="geodesic"``: the default FilFinder path needs
    astropy < 6, which does not work with numpy 2) at the paper's ratios 0 .. 1, the colorizer
    runs without a reference at every ratio, and PSNR/SSIM (256 x 256, [0, 1]) are integrated
    over the ratio by the trapezoid rule. Returns ``{"available": False, "reason": ...}`` when the
    package cannot be imported.
    """
    try:
        import hintauc  # type: ignore[import-not-found]
    except Exception as exc:  # any import failure means: not available here
        return {"available": False, "reason": f"hintauc cannot be imported ({type(exc).__name__}: {exc})",
                "psnr": None, "ssim": None}
    if not image_paths:
        return {"available": False, "reason": "no image pairs to evaluate", "psnr": None, "ssim": None}
    from tqdm.auto import tqdm

    from .hints import Hints
    from .sketch import extract_sketch

    colorizer = _load_colorizer(colorizer)
    samples = []
    for path in image_paths:
        target = _fit_long_side(_load_rgb(path), size)
        samples.append((extract_sketch(target, method=extractor), np.ascontiguousarray(target[:, :, ::-1])))
    total = len(samples) * len(hintauc.DEFAULT_ALPHAS)
    with tqdm(total=total, desc="Hint-AUC", disable=not progress, leave=False) as bar:

        def colorize_bgr(sample: Mapping[str, Any]) -> np.ndarray:
            color_rgb = np.ascontiguousarray(np.asarray(sample["hint_color"])[:, :, ::-1])
            hints = Hints.from_arrays(color_rgb, np.asarray(sample["hint_mask"]))
            out = _as_arrays(colorizer.colorize(sample["line_art"], styles=None, hints=hints,
                                                size=size, seed=seed))[0]
            bar.update(1)
            return np.ascontiguousarray(out[:, :, ::-1])

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the scikit-image SSIM fallback warns on every call
            res = hintauc.evaluate_colorizer(colorize_bgr, samples, metrics=("psnr", "ssim"),
                                             hint_type=hint_type, path_method="geodesic")
    proto = res.get("protocol", {})
    return {
        "available": True,
        "psnr": float(res["hint_auc"]["psnr"]),
        "ssim": float(res["hint_auc"]["ssim"]),
        "n_images": int(res["n_images"]),
        "hint_type": hint_type,
        "path_method": "geodesic",
        "hint_map_size": 64,
        "alphas": [float(a) for a in res["alphas"]],
        "per_alpha": {f"{float(a):g}": {k: float(v) for k, v in m.items()}
                      for a, m in res["per_alpha"].items()},
        "backend": proto.get("backend"),
        "version": getattr(hintauc, "__version__", None),
    }


def _target(key: str, value: Any, threshold: Any = None) -> dict[str, Any]:
    op, default = TARGETS[key]
    threshold = default if threshold is None else threshold
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        passed = None
    elif op == ">=":
        passed = bool(value >= threshold)
    elif op == "<=":
        passed = bool(value <= threshold)
    else:
        lo, hi = threshold
        passed = None if lo is None or hi is None else bool(lo <= value <= hi)
    return {"value": value, "op": op, "threshold": threshold, "pass": passed}


def _targets(retrieval: Mapping[str, Any] | None, pairs: Mapping[str, Any] | None,
             train: Mapping[str, Any] | None, hint_auc: Mapping[str, Any] | None) -> dict[str, Any]:
    r = retrieval or {}
    p = pairs or {}
    iqr = [None, None]
    if train:
        iqr = [train["colorfulness"]["q25"], train["colorfulness"]["q75"]]
    return {
        "style_top1": _target("style_top1", r.get("style_top1")),
        "hint_de00": _target("hint_de00", p.get("hint_de00")),
        "psnr_gain_db": _target("psnr_gain_db", p.get("psnr_gain_db")),
        "hue_entropy_median": _target("hue_entropy_median", r.get("hue_entropy_median")),
        "hint_auc_psnr": _target("hint_auc_psnr", (hint_auc or {}).get("psnr")),
        "colorfulness_in_train_iqr": _target("colorfulness_in_train_iqr",
                                             r.get("colorfulness_median"), iqr),
    }


def _json_safe(obj: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, non-finite floats to None."""
    if isinstance(obj, Mapping):
        return {str(k): _json_safe(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


DEFINITIONS = {
    "style_top1": "share of outputs whose nearest reference by chi-square distance of chroma-weighted "
                  "12-hue x 3-lightness CIELAB histograms (96 px copies) is their own",
    "hue_entropy": "bits; entropy of the 12-bin Lab hue histogram of pixels with chroma > 12",
    "colorfulness": "Hasler-Suesstrunk M = sigma_rgyb + 0.3 mu_rgyb on 0..255 sRGB",
    "line_fidelity": "sum over sketch pixels < 128 of min(c_out, c_sketch) / sum c_sketch, "
                     "c = relative darkening against the local mean of paper pixels (sketch >= 224)",
    "psnr": "dB over RGB, 255 peak",
    "ssim": "Wang 2004, 11x11 gaussian sigma 1.5, mean over R, G, B",
    "psnr_gain_db": "mean PSNR(output, truth) - PSNR(sketch as RGB, truth)",
    "hint_de00": "mean CIEDE2000 between each hint color and the mean output Lab color under it",
}


def _save_grid(path: Path, retrieval_images: Mapping[str, Any], ref_names: Sequence[str],
               cell: int = 128) -> None:
    """Rows: references on top, then per sketch the sketch and its outputs (green frame: the output
    retrieves its own reference, red: another)."""
    from PIL import Image, ImageDraw, ImageFont

    refs = retrieval_images["references"]
    rows = retrieval_images["rows"]
    cols = 1 + len(refs)
    label_h = 12
    grid = Image.new("RGB", (cols * cell, (1 + len(rows)) * (cell + label_h)), "white")
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default()

    def paste(img: np.ndarray, col: int, row: int, label: str, frame: str | None = None) -> None:
        tile = _fit_long_side(_as_rgb(img), cell - 4)
        x = col * cell + (cell - tile.shape[1]) // 2
        y = row * (cell + label_h) + (cell - tile.shape[0]) // 2
        grid.paste(Image.fromarray(tile), (x, y))
        if frame:
            draw.rectangle([x - 2, y - 2, x + tile.shape[1] + 1, y + tile.shape[0] + 1], outline=frame, width=2)
        draw.text((col * cell + 2, row * (cell + label_h) + cell - 1), label[:20], fill="black", font=font)

    for j, (ref, name) in enumerate(zip(refs, ref_names)):
        paste(ref, 1 + j, 0, Path(name).stem)
    draw.text((4, 4), "references", fill="black", font=font)
    for i, (name, sketch, outputs, found) in enumerate(rows):
        paste(sketch, 0, 1 + i, Path(name).stem)
        for j, out in enumerate(outputs):
            paste(out, 1 + j, 1 + i, f"-> {found[j]}", "#1a9850" if found[j] == j else "#d73027")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    grid.save(str(path))


def _assemble(settings: dict[str, Any], retrieval: dict[str, Any] | None, pairs: dict[str, Any] | None,
              train: dict[str, Any] | None, hint_auc: dict[str, Any] | None) -> dict[str, Any]:
    targets = _targets(retrieval, pairs, train, hint_auc)
    decided = [t["pass"] for t in targets.values() if t["pass"] is not None]
    result: dict[str, Any] = {
        "settings": settings,
        "retrieval": retrieval,
        "reconstruction": pairs,
        "training_distribution": train,
        "hint_auc": hint_auc,
        "targets": targets,
        "passed": bool(decided) and all(decided),
        "targets_checked": len(decided),
        "definitions": DEFINITIONS,
    }
    return _json_safe(result)


def evaluate(colorizer: Any, data_dir: Path, *, n_refs: int = 9, size: int = 256,
             n_sketches: int | None = None, n_pairs: int | None = None, hint_count: int = 8,
             seed: int = 0, grid_path: Path | None = None, progress: bool = True,
             extractor: str = "xdog", train_limit: int | None = None, hint_auc_pairs: int | None = None,
             cache_dir: Path | None = None) -> dict[str, Any]:
    """The whole benchmark on a data root holding ``illustrations/``, ``sketches/``, ``styles/``.

    1. :func:`evaluate_retrieval` on the (first ``n_sketches``, name order) real sketches with
       ``n_refs`` seeded references from ``styles/``.
    2. :func:`evaluate_pairs` on the (first ``n_pairs``) held-out illustrations of
       ``splits.split_paths`` with sketches from ``extractor``.
    3. :func:`training_statistics` of the training split (``train_limit``: an evenly spaced subset).
    4. :func:`evaluate_hint_auc` on the first ``hint_auc_pairs`` held-out pairs (default: the same
       pairs as 2), or ``null`` with the reason when ``hintauc`` is not installed.

    ``colorizer``: a ``Colorizer`` (None loads the shipped weights). Returns a JSON-serialisable
    dict: settings, the four parts, the targets with pass/fail (None when not measured), and the
    metric definitions. ``grid_path``: also save a picture grid of up to 4 sketches' outputs.
    """
    from .splits import split_paths

    data_dir = Path(data_dir)
    colorizer = _load_colorizer(colorizer)
    sketches = _list_images(data_dir / "sketches")[:n_sketches]
    styles = _list_images(data_dir / "styles")
    train_paths, held = split_paths(_list_images(data_dir / "illustrations"))
    pairs_paths = held[:n_pairs]
    if train_limit is not None and train_limit < len(train_paths):
        idx = np.linspace(0, len(train_paths) - 1, num=max(1, train_limit)).round().astype(int)
        train_paths = [train_paths[i] for i in sorted(set(idx.tolist()))]

    retrieval = evaluate_retrieval(colorizer, sketches, styles, n_refs=n_refs, size=size, seed=seed,
                                   progress=progress, keep_outputs=4 if grid_path else 0)
    pairs = evaluate_pairs(colorizer, pairs_paths, size=size, extractor=extractor,
                           hint_count=hint_count, seed=seed, progress=progress)
    train = training_statistics(train_paths, size=size, cache_dir=cache_dir, progress=progress)
    hint_auc = evaluate_hint_auc(colorizer, pairs_paths[:hint_auc_pairs], size=size, extractor=extractor,
                                 seed=seed, progress=progress)
    if grid_path is not None:
        _save_grid(Path(grid_path), retrieval["_images"], retrieval["references"])
    settings = {
        "data_dir": str(data_dir), "size": size, "n_refs": n_refs, "seed": seed, "extractor": extractor,
        "hint_count": hint_count, "references": retrieval["references"],
        "n_sketches": len(sketches), "n_pairs": len(pairs_paths), "n_train": len(train_paths),
        "held_out_split": "s2p_lab.splits.split_paths", "sketch_cleanup": "sketch.cleanup_sketch",
    }
    return _assemble(settings, retrieval, pairs, train, hint_auc)


# --------------------------------------------------------------------------- command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``s2p eval``."""
    src = parser.add_argument_group("data (one of --data, --pairs, --sketches with --styles)")
    src.add_argument("--data", type=Path, metavar="DIR",
                     help="data root with illustrations/, sketches/ and styles/: the whole benchmark")
    src.add_argument("--pairs", type=Path, metavar="DIR",
                     help="color images: reconstruction and hint adherence on all of them")
    src.add_argument("--held-out-only", action="store_true",
                     help="with --pairs: keep only the images of the fixed held-out split")
    src.add_argument("--sketches", type=Path, metavar="DIR", help="real sketches for style retrieval")
    src.add_argument("--styles", type=Path, metavar="DIR", help="style references for style retrieval")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="write the results as JSON")
    parser.add_argument("--grid", type=Path, metavar="OUT.png", help="save a picture grid of outputs")
    parser.add_argument("--size", type=int, default=256, help="processing size, longer side (default 256)")
    parser.add_argument("--weights", metavar="W", help="weights file or directory (default: shipped)")
    parser.add_argument("--device", help="cpu, cuda or auto (default)")
    parser.add_argument("--n-refs", type=int, default=9, help="references per sketch (default 9)")
    parser.add_argument("--hint-count", type=int, default=8, help="point hints per pair (default 8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a fast subset: 6 sketches, 8 pairs, 200 training images, Hint-AUC on 4 pairs")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.3f}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    return str(v)


def format_table(result: Mapping[str, Any]) -> str:
    """A short plain-text table of a result's targets and main numbers."""
    lines = [f"{'target':<28}{'value':>10}  {'goal':<22}{'pass':>5}"]
    for key, t in result["targets"].items():
        goal = f"{t['op']} {_fmt(t['threshold'])}"
        lines.append(f"{key:<28}{_fmt(t['value']):>10}  {goal:<22}{_fmt(t['pass']):>5}")
    rec = result.get("reconstruction") or {}
    if rec:
        lines.append(f"PSNR {_fmt(rec.get('psnr'))} dB vs sketch floor {_fmt(rec.get('floor_psnr'))} dB; "
                     f"SSIM {_fmt(rec.get('ssim'))} vs {_fmt(rec.get('floor_ssim'))} "
                     f"({rec.get('n_pairs')} pairs, {rec.get('extractor')} sketches)")
    ret = result.get("retrieval") or {}
    if ret:
        lines.append(f"retrieval: {ret.get('n_sketches')} sketches x {len(ret.get('references', []))} "
                     f"references (chance {_fmt(ret.get('chance'))}); line fidelity median "
                     f"{_fmt(ret.get('line_fidelity_median'))}")
    ha = result.get("hint_auc") or {}
    if ha and not ha.get("available"):
        lines.append(f"Hint-AUC: not computed: {ha.get('reason')}")
    lines.append(f"all checked targets pass: {_fmt(result['passed'])} ({result['targets_checked']} checked)")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``s2p eval`` from parsed arguments; prints a table, writes JSON. Bad input raises
    ``S2PError`` (before any model is loaded)."""
    if args.data is None and args.pairs is None and args.sketches is None and args.styles is None:
        raise S2PError("give --data DIR, or --pairs DIR, or --sketches DIR with --styles DIR")
    if (args.sketches is None) != (args.styles is None):
        raise S2PError("--sketches and --styles go together")
    if args.data is not None and (args.pairs or args.sketches):
        raise S2PError("--data already names the pairs, sketches and styles; give it alone")
    if not 64 <= args.size <= 2048:
        raise S2PError(f"--size must be from 64 to 2048, got {args.size}")
    if args.n_refs < 1 or args.hint_count < 0:
        raise S2PError("--n-refs must be at least 1 and --hint-count at least 0")
    progress = not args.no_progress
    quick: dict[str, Any] = (dict(n_sketches=6, n_pairs=8, train_limit=200, hint_auc_pairs=4)
                             if args.quick else {})
    common = dict(size=args.size, seed=args.seed, progress=progress)
    if args.data is not None:
        for sub in ("illustrations", "sketches", "styles"):
            _list_images(args.data / sub)
        colorizer = _load_colorizer(None, args.weights, args.device)
        result = evaluate(colorizer, args.data, n_refs=args.n_refs, hint_count=args.hint_count,
                          grid_path=args.grid, **quick, **common)
    else:
        from .splits import split_paths

        sketches = styles = images = None
        if args.sketches is not None:
            sketches = _list_images(args.sketches)[:quick.get("n_sketches")]
            styles = _list_images(args.styles)
            pick_references(styles, args.n_refs, args.seed)  # enough styles?
        if args.pairs is not None:
            images = _list_images(args.pairs)
            if args.held_out_only:
                images = split_paths(images)[1]
                if not images:
                    raise S2PError(f"no image of {args.pairs} belongs to the held-out split")
            images = images[:quick.get("n_pairs")]
        colorizer = _load_colorizer(None, args.weights, args.device)
        retrieval = pairs = hint_auc = None
        settings: dict[str, Any] = {"size": args.size, "n_refs": args.n_refs, "seed": args.seed,
                                    "extractor": "xdog", "hint_count": args.hint_count}
        if sketches is not None:
            retrieval = evaluate_retrieval(colorizer, sketches, styles, n_refs=args.n_refs,
                                           keep_outputs=4 if args.grid else 0, **common)
            settings.update(references=retrieval["references"], n_sketches=len(sketches))
            if args.grid:
                _save_grid(args.grid, retrieval["_images"], retrieval["references"])
        if images is not None:
            pairs = evaluate_pairs(colorizer, images, hint_count=args.hint_count, **common)
            hint_auc = evaluate_hint_auc(colorizer, images[:quick.get("hint_auc_pairs")], **common)
            settings.update(n_pairs=len(images), held_out_only=bool(args.held_out_only))
        result = _assemble(settings, retrieval, pairs, None, hint_auc)
    print(format_table(result))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m s2p_lab.evaluation``: the ``s2p eval`` command on its own."""
    parser = argparse.ArgumentParser(prog="s2p eval", description="Evaluate a colorizer without humans.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except S2PError as exc:
        print(f"s2p eval: {exc}".replace("\n", " "), file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
