"""Regions from the lines: a label map of the line-bounded areas of a sketch.

Anime is colored region by region (hair, skin, each piece of cloth), and a region is an area the
lines enclose. ``region_map`` builds the map the colorizer uses (the matcher's regions, hints and
paint buckets), in the project's own code:

1. Lines: the cleaned sketch (paper = 255) is binarized against a threshold set from its own darkest
   strokes, so faint pencil is not lost and paper noise is not taken for lines.
2. Gaps: the line mask is shrunk by "any pixel is line" pooling to a coarse grid (``levels``
   halvings), where gaps of up to about ``2**levels`` pixels are closed; components are labeled there.
3. Back up the pyramid: labels are upsampled; each free area that the coarse grid did not reach (thin
   strips, the inside of gaps) takes the label it borders most, or a new label when it borders none.
4. Small regions (hatching, texture, specks) are merged into the neighbor they share most border with.
5. The line pixels take the label of the nearest region pixel, so the map covers the whole image.

``trapped_ball_regions`` replaces steps 2-3 with Style2Paints V4's trapped-ball filling (balls rolled
through the paper, largest first): finer parts, parted wherever a gap or a narrowing is smaller than a
ball. It raises what a per-region color choice can reach on the evaluation's color regions, and
colors real sketches in many small patches (``bench/region_ceiling.py``; the matcher's model card).

All steps are whole-array OpenCV/NumPy operations: 10-30 ms (``region_map``) and 30-40 ms
(``trapped_ball_regions``) at 512 px on one CPU core.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from .errors import S2PError

__all__ = ["RegionMap", "ball_radii", "line_mask", "region_map", "region_overlay", "trapped_ball_regions"]


@dataclass(frozen=True)
class RegionMap:
    """Labels 0..n-1 of the line-bounded regions (int32, HxW) and the line mask they were built from."""

    labels: np.ndarray
    lines: np.ndarray  # bool HxW, True on line pixels

    @property
    def count(self) -> int:
        return int(self.labels.max()) + 1 if self.labels.size else 0

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape  # type: ignore[return-value]

    def areas(self) -> np.ndarray:
        """Pixels per region."""
        return self.pixel_counts.copy()

    @cached_property
    def pixel_counts(self) -> np.ndarray:
        """Pixels per region, counted once per map (read-only; ``areas()`` gives a copy)."""
        counts = np.bincount(self.labels.ravel(), minlength=self.count)
        counts.flags.writeable = False
        return counts

    @cached_property
    def boxes(self) -> list[tuple[slice, slice] | None]:
        """Per label, the (rows, columns) slices bounding its pixels, found once per map."""
        from .labelstats import label_boxes

        return label_boxes(self.labels + 1, self.count)

    def at(self, x: float, y: float) -> int:
        """The label under a point given as fractions of width and height."""
        h, w = self.labels.shape
        col = min(w - 1, max(0, int(x * w)))
        row = min(h - 1, max(0, int(y * h)))
        return int(self.labels[row, col])

    def resized(self, height: int, width: int) -> "RegionMap":
        """The same regions at another size (nearest neighbor)."""
        if (height, width) == self.labels.shape:
            return self
        labels = cv2.resize(self.labels, (width, height), interpolation=cv2.INTER_NEAREST)
        lines = cv2.resize(self.lines.view(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
        return RegionMap(labels, lines)


def _gray(sketch: np.ndarray) -> np.ndarray:
    sketch = np.asarray(sketch)
    if sketch.ndim == 3 and sketch.shape[2] in (3, 4):
        sketch = cv2.cvtColor(np.ascontiguousarray(sketch[..., :3]), cv2.COLOR_RGB2GRAY)
    if sketch.ndim != 2 or sketch.dtype != np.uint8 or min(sketch.shape) < 2:
        raise S2PError(f"a sketch must be a uint8 HxW or HxWx3 array of at least 2x2, got {sketch.dtype} {sketch.shape}")
    return sketch


def line_mask(sketch: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """True on the line pixels of a sketch (dark lines on light paper).

    ``threshold=None`` adapts to the sketch: a little lighter than halfway between the paper (the
    median) and the sketch's darkest strokes (the 5th percentile of the pixels clearly darker than
    the paper, beyond its noise), at most 250 as in Style2Paints V4 and at least 100, so that faint
    pencil still counts while paper grain and anti-aliasing halos do not.
    """
    gray = _gray(sketch)
    if threshold is None:
        # paper level and its noise (medians of a 256-bin histogram: no sort of the pixels), then
        # the ink clearly darker than the paper
        counts = np.bincount(gray.ravel(), minlength=256)
        levels = np.arange(256, dtype=np.float64)
        paper = _histogram_median(levels, counts)
        distance = np.abs(levels - paper)
        order = np.argsort(distance, kind="stable")
        noise = 1.5 * _histogram_median(distance[order], counts[order]) + 1.0
        margin = max(6.0, 4.0 * noise)
        ink = gray[gray < paper - margin]
        if ink.size < 16:
            return np.zeros(gray.shape, bool)
        darkest = float(np.percentile(ink, 5))
        threshold = min(250.0, paper - margin, max(100.0, (darkest + paper) / 2.0 + 20.0))
    return gray < threshold


def _histogram_median(values: np.ndarray, counts: np.ndarray) -> float:
    """``np.median`` of the multiset holding ``counts[i]`` times ``values[i]`` (values ascending):
    the middle value, or the mean of the two middle values for an even count."""
    cumulative = np.cumsum(counts)
    total = int(cumulative[-1])
    low = values[np.searchsorted(cumulative, (total - 1) // 2, side="right")]
    high = values[np.searchsorted(cumulative, total // 2, side="right")]
    return (float(low) + float(high)) / 2.0


def ball_radii(largest: int) -> list[int]:
    """The ball radii rolled in turn: ``largest``, then shrinking by about a third, down to 1."""
    radii = []
    radius = int(largest)
    while radius >= 1:
        radii.append(radius)
        radius = min(radius - 1, int(radius * 0.7))
    return radii


def _trapped_balls(free: np.ndarray, radii: list[int]) -> np.ndarray:
    """Labels 0..n-1 of the areas that balls of ``radii`` (largest first) fill in ``free``; -1 where none
    reached. Each ball fills only what the larger ones left."""
    labels = np.full(free.shape, -1, np.int32)
    next_label = 0
    for radius in radii:
        left = free & (labels < 0)
        if not left.any():
            break
        ball = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        centers = cv2.erode(left.view(np.uint8), ball)  # where the ball fits (the image edge is open paper)
        n, areas = cv2.connectedComponents(centers, connectivity=8, ltype=cv2.CV_32S)
        if n <= 1:
            continue
        covered = (cv2.dilate(centers, ball) > 0) & left
        # each covered pixel joins the area of its nearest center (centers numbered in raster order)
        _, nearest = cv2.distanceTransformWithLabels((centers == 0).view(np.uint8), cv2.DIST_L2, 3,
                                                     labelType=cv2.DIST_LABEL_PIXEL)
        center_area = areas[centers > 0]
        labels[covered] = center_area[nearest[covered] - 1] - 1 + next_label
        next_label += n - 1
    return labels


def _pool_any(mask: np.ndarray) -> np.ndarray:
    """Halve a boolean mask; a coarse cell is True if any of its (up to) 2x2 pixels is."""
    h, w = mask.shape
    padded = np.pad(mask, ((0, h % 2), (0, w % 2)))
    return padded.reshape(padded.shape[0] // 2, 2, padded.shape[1] // 2, 2).any(axis=(1, 3))


def _neighbor_votes(labels: np.ndarray, targets: np.ndarray, n_targets: int) -> np.ndarray:
    """For each target component 1..n (``targets``, 0 = none), the labeled neighbor (>= 0) it touches
    over the most pixel edges, or -1 when it touches none."""
    base = int(labels.max()) + 2
    pairs = []
    for ta, la in (
        (targets[:, 1:], labels[:, :-1]), (targets[:, :-1], labels[:, 1:]),
        (targets[1:, :], labels[:-1, :]), (targets[:-1, :], labels[1:, :]),
    ):
        sel = (ta > 0) & (la >= 0)
        pairs.append(ta[sel].astype(np.int64) * base + la[sel])
    best = np.full(n_targets + 1, -1, np.int64)
    if not pairs:
        return best
    flat = np.concatenate(pairs)
    if flat.size == 0:
        return best
    keys, counts = np.unique(flat, return_counts=True)
    comp, lab = keys // base, keys % base
    # the most frequent label per component: sort by (component, count) and keep each last
    order = np.lexsort((counts, comp))
    comp, lab = comp[order], lab[order]
    last = np.r_[comp[1:] != comp[:-1], True]
    best[comp[last]] = lab[last]
    return best


def _fill_free(labels: np.ndarray, free: np.ndarray) -> np.ndarray:
    """Give every still-unlabeled free component the label it borders most, or a new label."""
    todo = free & (labels < 0)
    if not todo.any():
        return labels
    n, comps = cv2.connectedComponents(todo.view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    best = _neighbor_votes(labels, comps, n - 1)
    fresh = np.flatnonzero(best[1:] < 0) + 1
    best[fresh] = labels.max() + 1 + np.arange(fresh.size)
    out = labels.copy()
    out[todo] = best[comps[todo]]
    return out


def _count_pairs(keys: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct values of ``keys`` (ints in [0, n*n)) and how often each occurs, ascending."""
    if n * n <= 1 << 22:  # a histogram is a pass over the keys; a sort is several
        counts = np.bincount(keys, minlength=n * n)
        distinct = np.flatnonzero(counts)
        return distinct, counts[distinct]
    return np.unique(keys, return_counts=True)


def _merge_small(labels: np.ndarray, grown: np.ndarray, lines: np.ndarray, min_area: int, thin: float) -> np.ndarray:
    """Merge regions smaller than ``min_area`` (counting free pixels), or thinner than ``thin``
    (the widest disc inside them has at most this radius: the strips between hatch strokes,
    doubled outlines), into a neighbor. Returns the label mapping (old label -> new label).

    A small region joins the larger neighbor it shares the longest border with (across a line:
    hatch cells touch through their strokes; ``grown`` is ``labels`` with the lines absorbed); always
    into a larger one, so merges form no cycles. A few rounds let chains of hatch cells collapse
    into the area around them. Areas, depths and borders are counted once on the pixels; each round
    works on those counts through the mapping so far, which is what counting again would give.
    """
    n = int(labels.max()) + 1
    mapping = np.arange(max(n, 0))
    if n <= 0:
        return mapping
    labeled = labels >= 0
    areas0 = np.bincount(labels[labeled & ~lines], minlength=n)
    deep0 = None
    if thin > 0:
        depth = cv2.distanceTransform(labeled.view(np.uint8), cv2.DIST_L2, 3)
        # thin: no pixel of the region lies deeper than ``thin`` from a line
        deep0 = np.bincount(labels[depth > thin], minlength=n)
    keys = []
    for a, b in ((grown[:, 1:], grown[:, :-1]), (grown[1:, :], grown[:-1, :])):
        sel = a != b
        a, b = a[sel].astype(np.int64), b[sel].astype(np.int64)
        keys += [a * n + b, b * n + a]  # each border counts for both sides
    pair_keys, pair_counts = _count_pairs(np.concatenate(keys), n)
    src0, dst0 = pair_keys // n, pair_keys % n
    for _ in range(4):
        areas = np.bincount(mapping, weights=areas0, minlength=n)
        small = areas < min_area
        if deep0 is not None:
            small |= np.bincount(mapping, weights=deep0, minlength=n) == 0
        if not small.any():
            break
        src, dst = mapping[src0], mapping[dst0]
        # a strictly larger target (area, then label) keeps the mapping acyclic
        larger = (areas[dst] > areas[src]) | ((areas[dst] == areas[src]) & (dst > src))
        keep = (src != dst) & small[src] & larger
        if not keep.any():
            break
        merged, inverse = np.unique(src[keep] * n + dst[keep], return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=pair_counts[keep])
        s_, d_ = merged // n, merged % n
        order = np.lexsort((counts, s_))
        s_, d_ = s_[order], d_[order]
        last = np.r_[s_[1:] != s_[:-1], True]
        step = np.arange(n)
        step[s_[last]] = d_[last]
        for _ in range(64):  # follow chains a -> b -> c to their end
            nxt = step[step]
            if np.array_equal(nxt, step):
                break
            step = nxt
        mapping = step[mapping]
    return mapping


def _absorb_lines(labels: np.ndarray) -> np.ndarray:
    """Every unlabeled pixel takes the label of its nearest labeled pixel."""
    unlabeled = labels < 0
    if not unlabeled.any():
        return labels
    if unlabeled.all():
        return np.zeros_like(labels)
    # nearest zero pixel of the source: labeled pixels are the zeros, numbered in raster order
    _, nearest = cv2.distanceTransformWithLabels(unlabeled.view(np.uint8), cv2.DIST_L2, 3,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    seeds = labels[~unlabeled]
    return seeds[nearest.ravel() - 1].reshape(labels.shape).astype(np.int32)


def _relabel(labels: np.ndarray) -> np.ndarray:
    """Consecutive labels 0..n-1, numbered in raster order of first appearance."""
    flat = labels.ravel()
    if flat.size == 0:
        return labels.astype(np.int32)
    # a label first appears at the start of a run, and runs are far fewer than pixels
    starts = np.flatnonzero(np.r_[True, flat[1:] != flat[:-1]])
    values, first = np.unique(flat[starts], return_index=True)
    rank = np.empty(values.size, np.int32)
    rank[np.argsort(first, kind="stable")] = np.arange(values.size, dtype=np.int32)
    if values[0] >= 0 and values[-1] < 4 * flat.size:  # a lookup table instead of a search
        table = np.zeros(int(values[-1]) + 1, np.int32)
        table[values] = rank
        return table[labels]
    return rank[np.searchsorted(values, labels)].astype(np.int32)


def _finish(labels: np.ndarray, lines: np.ndarray, min_area: float, thin: float) -> RegionMap:
    """Steps 3-5: what no fill reached, small and thin regions merged, the lines absorbed."""
    h, w = lines.shape
    labels = _fill_free(labels, ~lines)
    grown = _absorb_lines(labels)
    mapping = _merge_small(labels, grown, lines, max(4, int(min_area * h * w)), thin * max(1.0, max(h, w) / 512))
    return RegionMap(_relabel(mapping[grown] if mapping.size else grown), lines)


def region_map(
    sketch: np.ndarray,
    *,
    levels: int = 2,
    min_area: float = 0.0003,
    thin: float = 2.0,
    threshold: float | None = None,
) -> RegionMap:
    """The line-bounded regions of a sketch (uint8, paper = 255, lines dark; HxW or HxWx3).

    ``levels``: halvings of the line mask used to close gaps (2: gaps of 2-4 px close at 512 px).
    ``min_area``: regions smaller than this share of the image (at least 4 px) merge into a
    neighbor; hatching and specks then do not explode into hundreds of tiny regions. ``thin``:
    regions no wider than twice this many pixels (at 512 px and below; scaled up above) merge too:
    the strips between hatch strokes and between doubled outlines.
    Every pixel, line pixels included, gets a label 0..n-1.
    """
    if not 0 <= levels <= 6:
        raise S2PError(f"levels must be 0..6, got {levels}")
    lines = line_mask(sketch, threshold)
    pyramid = [lines]
    for _ in range(levels):
        if min(pyramid[-1].shape) < 16:
            break
        pyramid.append(_pool_any(pyramid[-1]))
    coarse = pyramid[-1]
    n, comps = cv2.connectedComponents((~coarse).view(np.uint8), connectivity=4, ltype=cv2.CV_32S)
    labels = np.where(coarse, -1, comps - 1).astype(np.int32)
    # tiny coarse components are specks between lines: leave them to the finer levels
    areas = np.bincount(labels[labels >= 0], minlength=max(n - 1, 1))
    labels[(labels >= 0) & (areas[np.maximum(labels, 0)] <= 2)] = -1
    for finer in reversed(pyramid[:-1]):
        fh, fw = finer.shape
        labels = np.repeat(np.repeat(labels, 2, axis=0), 2, axis=1)[:fh, :fw]
        labels = np.where(finer, -1, labels)
        labels = _fill_free(labels, ~finer)
    return _finish(labels, lines, min_area, thin)


def trapped_ball_regions(
    sketch: np.ndarray,
    *,
    radius: int = 12,
    min_area: float = 0.0003,
    thin: float = 2.0,
    threshold: float | None = None,
) -> RegionMap:
    """The line-bounded regions of a sketch (uint8, paper = 255, lines dark; HxW or HxWx3) by
    trapped balls, as Style2Paints V4 filled them: finer parts than ``region_map``'s.

    ``radius``: the largest ball rolled through the paper, in pixels at 512 px on the longer side
    (scaled with the sketch's size); smaller balls follow (``ball_radii``), each filling what the
    larger ones left. Outlines with gaps narrower than about twice this still enclose their region,
    and parts joined by places that narrow as much are separate regions (a face may part between an
    eye and its contour; strands of hair part).
    ``min_area``, ``thin``, ``threshold``: as for ``region_map``.
    """
    if not 0 <= radius <= 64:
        raise S2PError(f"radius must be 0..64 pixels, got {radius}")
    lines = line_mask(sketch, threshold)
    labels = _trapped_balls(~lines, ball_radii(round(radius * max(lines.shape) / 512)))
    return _finish(labels, lines, min_area, thin)


def region_overlay(regions: RegionMap, seed: int = 0) -> np.ndarray:
    """uint8 RGB picture of a region map: one random pastel color per region, lines dark."""
    rng = np.random.default_rng(seed)
    colors = rng.integers(90, 256, size=(regions.count, 3), dtype=np.uint8)
    out = colors[regions.labels]
    out[regions.lines] = (out[regions.lines] * 0.35).astype(np.uint8)
    return out
