"""Metrics that need no human: plain numpy/OpenCV functions of ``uint8`` arrays.

Each docstring gives the exact definition, so that numbers in reports can be recomputed:

* palette statistics: :func:`hue_entropy`, :func:`colorfulness` (Hasler and Suesstrunk 2003),
  :func:`color_signature`, :func:`style_retrieval`, :func:`style_retrieval_top1`;
* fidelity: :func:`psnr`, :func:`ssim` (Wang et al. 2004), :func:`line_fidelity`;
* what a user sees: :func:`segment_color_regions` and :func:`region_color_error` (median color of
  every color region of the target), :func:`hint_adherence` (under the hint itself) and
  :func:`hint_spread_error` (in the hinted region away from the hint).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from ..errors import ImageError, S2PError
from ..imageio import resize_long_side
from .color import as_gray, as_rgb, ciede2000, lab_chroma_hue, rgb_to_lab, same_size

__all__ = [
    "color_signature", "colorfulness", "hint_adherence", "hint_spread_error", "hue_entropy",
    "line_fidelity", "psnr", "region_color_error", "segment_color_regions", "signature_distance",
    "ssim", "style_retrieval", "style_retrieval_top1",
]

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
    _, chroma, hue = lab_chroma_hue(as_rgb(rgb))
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
    f = as_rgb(rgb).reshape(-1, 3).astype(np.float64)
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
    x = as_rgb(a, "first image").astype(np.float64)
    y = as_rgb(b, "second image").astype(np.float64)
    same_size(x, y)
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
    x = as_rgb(a, "first image").astype(np.float64)
    y = as_rgb(b, "second image").astype(np.float64)
    same_size(x, y)
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
    img = resize_long_side(as_rgb(rgb), _SIG_SIZE)
    light, chroma, hue = lab_chroma_hue(img)
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
    from ..hints import Hints

    hints = Hints.load(hints)
    out = as_rgb(output_rgb, "output")
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
    out = as_rgb(output_rgb, "output")
    sk = as_gray(sketch_gray)
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



# --------------------------------------------------------------------------- color regions

# the segmentation lives in the library (the matcher reads references with it)
from ..segments import REGION_CLUSTERS, REGION_MIN_SHARE, segment_color_regions  # noqa: E402


def _region_medians(lab: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(per-region median Lab (n, 3), per-region pixel counts (n,)) for labels 1..n."""
    flat = labels.reshape(-1)
    order = np.argsort(flat, kind="stable")
    sorted_labels = flat[order]
    values = lab.reshape(-1, 3)[order]
    n = int(flat.max())
    starts = np.searchsorted(sorted_labels, np.arange(1, n + 2))
    medians = np.zeros((n, 3))
    counts = np.diff(starts)
    for i in range(n):
        if counts[i]:
            medians[i] = np.median(values[starts[i]:starts[i + 1]], axis=0)
    return medians, counts


def region_color_error(output_rgb: np.ndarray, target_rgb: np.ndarray,
                       labels: np.ndarray | None = None) -> float:
    """Area-weighted CIEDE2000 between output and target medians over the target's color regions.

    ``labels``: :func:`segment_color_regions` of the target (computed when not given). For every
    region, the per-channel median CIELAB color of the output's pixels and of the target's pixels
    in it; their CIEDE2000, weighted by the region's pixel count. A one-hue wash leaves every
    region but one wrong; a copy of the target scores 0. NaN when no region is left.
    """
    out = as_rgb(output_rgb, "output")
    tgt = as_rgb(target_rgb, "target")
    same_size(out, tgt)
    if labels is None:
        labels = segment_color_regions(tgt)
    if labels.shape != tgt.shape[:2]:
        raise ImageError(f"region labels {labels.shape} do not match the target {tgt.shape[:2]}")
    if labels.max() < 1:
        return math.nan
    med_out, counts = _region_medians(rgb_to_lab(out), labels)
    med_tgt, _ = _region_medians(rgb_to_lab(tgt), labels)
    keep = counts > 0
    de = ciede2000(med_out[keep], med_tgt[keep])
    return float(np.sum(de * counts[keep]) / np.sum(counts[keep]))


#: A region's color counts as right within this CIEDE2000 of the truth (as paint-bucket matchers report it).
REGION_ACCURATE = 10.0
#: Region sizes reported apart: (name, smallest share of the image, largest share).
REGION_SIZES = (("small", 0.0, 0.002), ("medium", 0.002, 0.02), ("large", 0.02, 1.01))


def region_accuracy(output_rgb: np.ndarray, target_rgb: np.ndarray, labels: np.ndarray | None = None, *,
                    within: float = REGION_ACCURATE) -> dict[str, float | None]:
    """Share of the target's color regions whose output color is right (CIEDE2000 of the two
    median CIELAB colors at most ``within``), as paint-bucket matchers report it.

    ``labels``: :func:`segment_color_regions` of the target. Regions of white paper (``is_paper``
    of the target's median) are reported apart. Keys: ``count`` and ``area`` (non-paper regions,
    by count and weighted by pixels), ``paper_count``, and ``count_small`` / ``_medium`` /
    ``_large`` (non-paper regions by :data:`REGION_SIZES`).
    """
    from .color import is_paper

    out = as_rgb(output_rgb, "output")
    tgt = as_rgb(target_rgb, "target")
    same_size(out, tgt)
    if labels is None:
        labels = segment_color_regions(tgt)
    if labels.max() < 1:
        return {"count": None, "area": None, "paper_count": None}
    med_out, counts = _region_medians(rgb_to_lab(out), labels)
    med_tgt, _ = _region_medians(rgb_to_lab(tgt), labels)
    keep = counts > 0
    right = ciede2000(med_out[keep], med_tgt[keep]) <= within
    area = counts[keep].astype(np.float64)
    paper = is_paper(med_tgt[keep])
    figure = ~paper
    share = area / float(labels.size)
    result: dict[str, float | None] = {
        "count": float(right[figure].mean()) if figure.any() else None,
        "area": float((right * area)[figure].sum() / area[figure].sum()) if figure.any() else None,
        "paper_count": float(right[paper].mean()) if paper.any() else None,
    }
    for name, low, high in REGION_SIZES:
        sized = figure & (share >= low) & (share < high)
        result[f"count_{name}"] = float(right[sized].mean()) if sized.any() else None
    return result


def skin_kept(output_rgb: np.ndarray, target_rgb: np.ndarray, sketch: np.ndarray | None = None) -> float:
    """Of the target's skin-like pixels (``color.is_skin``; off the sketch's dark lines when a
    sketch is given), the share whose output color is skin-like too. NaN when there is no skin."""
    from .color import is_skin

    out = as_rgb(output_rgb, "output")
    tgt = as_rgb(target_rgb, "target")
    same_size(out, tgt)
    skin = is_skin(rgb_to_lab(tgt))
    if sketch is not None:
        skin &= as_gray(sketch) >= 128
    if not skin.any():
        return math.nan
    return float(is_skin(rgb_to_lab(out[skin])).mean())


def hint_spread_error(output_rgb: np.ndarray, hints: Any, labels: np.ndarray, *,
                      exclusion: float = 3.0) -> float:
    """How far point hints spread: CIEDE2000 in each hint's region, away from the hint.

    ``labels``: :func:`segment_color_regions` of the image the hints were taken from. For each
    point hint at (x W, y H) with radius ``r = max(1, radius S)`` px (``S`` the longer side), its
    region is the labeled region under the point; the pixels of that region farther than
    ``exclusion * r`` from the point are its spread area. The hint's error is the CIEDE2000
    between its color and the output's per-channel median CIELAB color over that area. Returns
    the mean over the hints that have a spread area (painting only the hint disc scores the
    region's own color difference from the hint; a model that spreads the hint scores near 0);
    NaN when none has one.
    """
    from ..hints import Hints

    hints = Hints.load(hints)
    out = as_rgb(output_rgb, "output")
    h, w = out.shape[:2]
    if labels.shape != (h, w):
        raise ImageError(f"region labels {labels.shape} do not match the output {(h, w)}")
    lab = rgb_to_lab(out)
    long_side = float(max(h, w))
    ys, xs = np.mgrid[0:h, 0:w]
    errors: list[float] = []
    for p in hints.points:
        cx, cy = p.x * w, p.y * h
        if not (0 <= cx < w and 0 <= cy < h):
            continue
        region = labels[int(cy), int(cx)]
        if region < 1:
            continue
        r = max(1.0, p.radius * long_side)
        area = (labels == region) & ((xs + 0.5 - cx) ** 2 + (ys + 0.5 - cy) ** 2 > (exclusion * r) ** 2)
        if not area.any():
            continue
        median = np.median(lab[area], axis=0)
        errors.append(float(ciede2000(rgb_to_lab(np.array(p.rgb, np.uint8)), median)))
    return float(np.mean(errors)) if errors else math.nan
