"""Hints made by the program: random ones for training, deterministic ones for evaluation.

* :func:`simulate_hints`: ground-truth colors at random points and short strokes, as a user clicks;
* :func:`region_scribbles`: the crop cut into flat color regions (a small k-means of its Lab colors,
  then connected parts), a scribble in each chosen region's mean color, as people hint flat-colored
  line art;
* :func:`deterministic_hints`: a fixed, seeded set of point hints for the evaluation.

All write (or return) the hint map layout of :mod:`s2p_lab.hints`: float32 HxWx4, color times
alpha, alpha.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .hints import DEFAULT_RADIUS, Hints, Point

__all__ = ["deterministic_hints", "region_scribbles", "simulate_hints"]


_DISCS = {
    r: (np.add.outer(np.arange(-r, r + 1) ** 2, np.arange(-r, r + 1) ** 2) <= r * r + r)
    for r in (1, 2)
}


def _target_scale(target: np.ndarray) -> float:
    if target.ndim != 3 or target.shape[2] != 3 or target.shape[0] < 1 or target.shape[1] < 1:
        raise ValueError(f"target_rgb must be HxWx3, got shape {target.shape}")
    if target.dtype == np.uint8:
        return 1.0 / 255.0
    if target.dtype.kind == "f":
        return 1.0
    raise ValueError(f"target_rgb must be uint8 or float in 0..1, got {target.dtype}")


def simulate_hints(
    target_rgb: np.ndarray,
    rng: np.random.Generator,
    *,
    mean_count: float = 8.0,
    p_none: float = 0.5,
    max_count: int = 40,
    p_regions: float = 0.0,
) -> np.ndarray:
    """A random hint map (float32 HxWx4) sampled from the ground-truth colors, for training.

    With probability ``p_none`` the map is empty. Otherwise, with probability ``p_regions``, the
    map holds :func:`region_scribbles` (a random share of the picture's color regions, each with one
    scribble in its mean color), as a user paints flat regions. Otherwise a geometric number of
    sparse hints (mean ``mean_count``, at most ``max_count``): 80% points (a 3x3 patch or a disc of
    radius 1-2 px, colored by the target's mean under it) and 20% short random-walk strokes 2-3 px
    wide, colored by the target's median under them. ``target_rgb`` is HxWx3 uint8 (or float in
    0..1).
    """
    scale = _target_scale(target_rgb)
    h, w = target_rgb.shape[:2]
    out = np.zeros((h, w, 4), np.float32)
    if rng.random() < p_none or max_count < 1:
        return out
    if p_regions > 0.0 and rng.random() < p_regions:
        return region_scribbles(target_rgb, rng)
    count = min(int(rng.geometric(min(1.0, 1.0 / max(mean_count, 1.0)))), int(max_count))
    for _ in range(count):
        kind = rng.random()
        if kind < 0.2:
            _sim_stroke(target_rgb, out, rng, scale)
            continue
        cy, cx = int(rng.integers(h)), int(rng.integers(w))
        if kind < 0.6:  # 3x3 patch
            y0, y1, x0, x1 = max(cy - 1, 0), min(cy + 2, h), max(cx - 1, 0), min(cx + 2, w)
            patch = target_rgb[y0:y1, x0:x1].reshape(-1, 3)
            out[y0:y1, x0:x1, :3] = patch.mean(axis=0) * scale
            out[y0:y1, x0:x1, 3] = 1.0
        else:  # disc of radius 1 or 2
            r = 1 if kind < 0.8 else 2
            disc = _DISCS[r]
            y0, y1, x0, x1 = max(cy - r, 0), min(cy + r + 1, h), max(cx - r, 0), min(cx + r + 1, w)
            sel = disc[y0 - cy + r : y1 - cy + r, x0 - cx + r : x1 - cx + r]
            region = out[y0:y1, x0:x1]
            color = target_rgb[y0:y1, x0:x1][sel].mean(axis=0) * scale
            region[sel, :3] = color
            region[sel, 3] = 1.0
    return out


def _sim_stroke(target: np.ndarray, out: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    h, w = target.shape[:2]
    steps = int(rng.integers(2, 7))
    angle = rng.uniform(0.0, 2.0 * math.pi)
    turns = rng.normal(0.0, 0.5, steps)
    lengths = rng.uniform(1.5, 4.0, steps)
    angles = angle + np.cumsum(turns)
    xs = np.concatenate([[rng.uniform(0, w)], lengths * np.cos(angles)]).cumsum()
    ys = np.concatenate([[rng.uniform(0, h)], lengths * np.sin(angles)]).cumsum()
    xs = np.clip(xs, 0, w - 1)
    ys = np.clip(ys, 0, h - 1)
    thickness = int(rng.integers(2, 4))
    pad = thickness + 1
    x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, w)
    y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, h)
    local = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = np.stack([np.rint(xs - x0), np.rint(ys - y0)], axis=1).astype(np.int32)
    cv2.polylines(local, [pts], False, 1, thickness, cv2.LINE_8)
    sel = local.astype(bool)
    if not sel.any():
        return
    color = np.median(target[y0:y1, x0:x1][sel], axis=0) * scale
    region = out[y0:y1, x0:x1]
    region[sel, :3] = color
    region[sel, 3] = 1.0


def _kmeans_labels(values: np.ndarray, k: int, rng: np.random.Generator, *, sample: int = 512,
                   iterations: int = 6) -> np.ndarray:
    """Labels of a small k-means of N x C float values: centers fitted on a random subsample."""
    n = values.shape[0]
    fit = values[rng.choice(n, size=min(n, sample), replace=False)]
    k = max(1, min(k, len(fit)))
    centers = fit[rng.choice(len(fit), size=k, replace=False)].astype(np.float64)

    def assign(x: np.ndarray) -> np.ndarray:
        d = (x * x).sum(axis=1)[:, None] - 2.0 * x @ centers.T + (centers * centers).sum(axis=1)[None]
        return d.argmin(axis=1)

    for _ in range(iterations):
        labels = assign(fit)
        counts = np.bincount(labels, minlength=k)
        for c in range(fit.shape[1]):
            sums = np.bincount(labels, weights=fit[:, c], minlength=k)
            centers[:, c] = np.where(counts > 0, sums / np.maximum(counts, 1), centers[:, c])
    return assign(values.astype(np.float64))


def region_scribbles(
    target_rgb: np.ndarray,
    rng: np.random.Generator,
    *,
    fraction: float | None = None,
    grid: int | None = None,
    min_area: int = 6,
) -> np.ndarray:
    """A hint map (float32 HxWx4) of scribbles that follow the target's flat color regions.

    The target is cut into regions at a coarse ``grid`` (the longer side in cells; random 32 or 64
    when ``None``): a k-means of its Lab colors (5-12 clusters), then the connected parts of each
    cluster of at least ``min_area`` cells. A share ``fraction`` of the regions (random in 0.05..1
    when ``None``; the largest first, or a random choice) gets one scribble each: a polyline through
    2-5 points of the region's inner half, ordered along the region's main axis, clipped to the
    region and one cell wide, in the region's mean color. This is how people hint flat-colored line
    art, and what region-based hint benchmarks give a colorizer.
    """
    scale = _target_scale(target_rgb)
    h, w = target_rgb.shape[:2]
    out = np.zeros((h, w, 4), np.float32)
    img = np.asarray(target_rgb, np.float32) * (scale * 255.0)
    cells = int(grid) if grid else int(rng.choice([32, 64]))
    f = min(1.0, cells / max(h, w))
    gh, gw = max(1, round(h * f)), max(1, round(w * f))
    small = cv2.resize(img, (gw, gh), interpolation=cv2.INTER_AREA) if (gh, gw) != (h, w) else img
    lab = cv2.cvtColor(np.clip(small / 255.0, 0.0, 1.0).astype(np.float32), cv2.COLOR_RGB2LAB)
    labels = _kmeans_labels(lab.reshape(-1, 3), int(rng.integers(5, 13)), rng).reshape(gh, gw).astype(np.uint8)
    if min(gh, gw) >= 3:
        labels = cv2.medianBlur(labels, 3)
    # connected parts of every cluster -> one region id per cell (0: too small to hint)
    regions = np.zeros((gh, gw), np.int32)
    next_id = 1
    for value in np.unique(labels):
        count, comp = cv2.connectedComponents((labels == value).astype(np.uint8), connectivity=4)
        if count > 1:
            inside = comp > 0
            regions[inside] = comp[inside] + (next_id - 1)
            next_id += count - 1
    ids = regions.ravel()
    area = np.bincount(ids, minlength=next_id)
    area[0] = 0
    usable = np.nonzero(area >= min_area)[0]
    if usable.size == 0:
        return out
    usable = usable[np.argsort(-area[usable], kind="stable")]
    share = float(rng.uniform(0.05, 1.0)) if fraction is None else float(min(max(fraction, 0.0), 1.0))
    keep = max(1, int(math.ceil(share * usable.size)))
    chosen = usable[:keep] if rng.random() < 0.5 else usable[rng.permutation(usable.size)[:keep]]
    # distance of every cell to its region's border, and each region's deepest distance
    border = np.zeros((gh, gw), bool)
    border[:-1] |= regions[:-1] != regions[1:]
    border[1:] |= regions[1:] != regions[:-1]
    border[:, :-1] |= regions[:, :-1] != regions[:, 1:]
    border[:, 1:] |= regions[:, 1:] != regions[:, :-1]
    dist = cv2.distanceTransform(np.pad((~border).astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1] + 1.0
    deepest = np.zeros(next_id, np.float32)
    np.maximum.at(deepest, ids, dist.ravel())
    inner = dist.ravel() >= 0.5 * deepest[ids]
    selected = np.zeros(next_id, bool)
    selected[chosen] = True
    cells_idx = np.nonzero(inner & selected[ids])[0]
    order = np.argsort(ids[cells_idx], kind="stable")
    cells_idx = cells_idx[order]
    starts = np.searchsorted(ids[cells_idx], chosen)
    ends = np.searchsorted(ids[cells_idx], chosen, side="right")
    canvas = np.zeros((gh, gw), np.int32)
    for region, s0, s1 in zip(chosen.tolist(), starts.tolist(), ends.tolist()):
        members = cells_idx[s0:s1]
        if members.size == 0:
            continue
        n = min(members.size, int(rng.integers(2, 6)))
        pick = members[rng.choice(members.size, size=n, replace=False)]
        py, px = np.divmod(pick, gw)
        pts = np.stack([px, py], axis=1).astype(np.float64)
        if n > 1:
            centered = pts - pts.mean(axis=0)
            cxx, cyy, cxy = (centered[:, 0] ** 2).sum(), (centered[:, 1] ** 2).sum(), (centered[:, 0] * centered[:, 1]).sum()
            angle = 0.5 * math.atan2(2.0 * cxy, cxx - cyy)
            pts = pts[np.argsort(centered @ np.array([math.cos(angle), math.sin(angle)]))]
        cv2.polylines(canvas, [pts.astype(np.int32).reshape(-1, 1, 2)], False, int(region), 1, cv2.LINE_8)
    strokes = np.where(canvas == regions, canvas, 0)
    present = np.unique(strokes)
    present = present[present > 0]
    if present.size == 0:
        return out
    flat_small = small.reshape(-1, 3)
    means = np.stack([np.bincount(ids, weights=flat_small[:, c], minlength=next_id) for c in range(3)], axis=1)
    means = means / np.maximum(area, 1)[:, None]  # region 0 (too small) is never drawn
    full = cv2.resize(strokes, (w, h), interpolation=cv2.INTER_NEAREST) if (gh, gw) != (h, w) else strokes
    hinted = full > 0
    out[hinted, :3] = np.clip(means[full[hinted]] / 255.0, 0.0, 1.0)
    out[hinted, 3] = 1.0
    return out


def deterministic_hints(
    target_rgb: np.ndarray, count: int, seed: int = 0, radius: float = DEFAULT_RADIUS
) -> Hints:
    """``count`` point hints at seeded positions, for evaluation.

    Positions avoid near-white background and dark line pixels where possible (preferring spots
    whose whole disc is clear of them); colors are the target's mean under each disc. The result
    depends only on the inputs, and the hints for ``count=k`` are the first ``k`` of those for any
    larger ``count`` (same target and seed).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    Point(0.5, 0.5, (0, 0, 0), radius)  # refuses a bad radius with HintsError, as a user hint would
    target = np.asarray(target_rgb)
    _target_scale(target)
    hints = Hints()
    if count == 0:
        return hints
    img = target if target.dtype == np.uint8 else np.clip(np.rint(target * 255.0), 0, 255).astype(np.uint8)
    h, w = img.shape[:2]
    long_side = max(h, w)
    r_px = max(1.0, radius * long_side)
    gray = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
    usable = ((gray < 235) & (gray > 60)).astype(np.uint8)
    k = int(math.ceil(r_px)) * 2 + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    inner = cv2.erode(usable, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    usable_b = usable.astype(bool)
    rng = np.random.default_rng(seed)
    flat = np.arange(h * w)
    tiers = [flat[inner.ravel()], flat[usable_b.ravel() & ~inner.ravel()], flat[~usable_b.ravel()]]
    order = np.concatenate([rng.permutation(t) for t in tiers])
    if count > order.size:
        order = np.resize(order, count)
    chosen = order[:count]
    ys, xs = np.divmod(chosen, w)
    yy, xx = np.ogrid[:h, :w]
    ri = int(math.ceil(r_px))
    for cy, cx in zip(ys.tolist(), xs.tolist()):
        y0, y1, x0, x1 = max(cy - ri, 0), min(cy + ri + 1, h), max(cx - ri, 0), min(cx + ri + 1, w)
        disc = (yy[y0:y1] - cy) ** 2 + (xx[:, x0:x1] - cx) ** 2 <= r_px * r_px
        color = img[y0:y1, x0:x1][disc].mean(axis=0)
        rgb = tuple(int(v) for v in np.clip(np.rint(color), 0, 255))
        hints.add_point((cx + 0.5) / w, (cy + 0.5) / h, rgb, radius)
    return hints
