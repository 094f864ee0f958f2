"""Color science for the metrics: input checks, sRGB to CIELAB (D65) and CIEDE2000.

Plain numpy on ``uint8`` arrays, exact formulas in the docstrings, so that every number in a
report can be recomputed by anyone.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from ..errors import ImageError

__all__ = ["as_gray", "as_rgb", "ciede2000", "is_paper", "is_skin", "lab_chroma_hue", "rgb_to_lab", "same_size"]

def as_rgb(image: Any, what: str = "image") -> np.ndarray:
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


def as_gray(image: Any, what: str = "sketch") -> np.ndarray:
    """A ``uint8`` HxW array (RGB input is converted with the BT.601 luma weights)."""
    arr = np.asarray(image)
    if arr.dtype == np.uint8 and arr.ndim == 2:
        if arr.size == 0:
            raise ImageError(f"{what}: image is empty (shape {arr.shape})")
        return np.ascontiguousarray(arr)
    return cv2.cvtColor(as_rgb(arr, what), cv2.COLOR_RGB2GRAY)


def same_size(a: np.ndarray, b: np.ndarray) -> None:
    if a.shape[:2] != b.shape[:2]:
        raise ImageError(f"images differ in size: {a.shape[1]}x{a.shape[0]} and "
                         f"{b.shape[1]}x{b.shape[0]}")


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


def lab_chroma_hue(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lightness, chroma and hue angle (degrees in [0, 360)) of every pixel."""
    lab = rgb_to_lab(rgb).reshape(-1, 3)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    hue = np.degrees(np.arctan2(lab[:, 2], lab[:, 1])) % 360.0
    return lab[:, 0], chroma, hue


def is_paper(lab: np.ndarray) -> np.ndarray:
    """White paper: very light and nearly without chroma (L at least 92, chroma at most 4; pale
    anime skin, L 92-97 with chroma 5-10, is not paper)."""
    lab = np.asarray(lab)
    return (lab[..., 0] >= 92) & (np.hypot(lab[..., 1], lab[..., 2]) <= 4)


def is_skin(lab: np.ndarray) -> np.ndarray:
    """Skin-like colors in CIELAB: light (L 55-98), warm (hue 15-80 degrees), moderate chroma (5-40)."""
    lab = np.asarray(lab)
    chroma = np.hypot(lab[..., 1], lab[..., 2])
    hue = np.degrees(np.arctan2(lab[..., 2], lab[..., 1]))
    return (lab[..., 0] >= 55) & (lab[..., 0] <= 98) & (chroma >= 5) & (chroma <= 40) & (hue >= 15) & (hue <= 80)
