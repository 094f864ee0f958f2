"""Reference hints: colors carried from the reference to the sketch's regions by feature matching.

The network reads a reference mostly as an average of its colors, so on its own it paints one
wash of the reference's main hue. This stage does what the network does not: it finds, for each
place of the sketch, the place of the reference that looks like it, and suggests that color.

1. Features: the frozen EfficientNet-Lite0 trunk (ImageNet, blocks 0..10, stride 16; the same
   network the generator reads the sketch with) of the sketch, drawn dark on white, and of the
   reference, both fitted to :data:`MATCH_SIDE` on the longer side. Each feature map is centred
   (its mean over the image taken away, which leaves what tells places apart) and every cell's
   vector scaled to unit length. These mid-level features match a sketch cell to the right cell of
   a mirrored copy of its own illustration about half of the time (within 16 px).
2. Matching: each sketch cell takes the reference cells' mean CIELAB colors (the project's
   conversion, ``evaluation.color``; OpenCV's float conversion, used here before, differs from it
   by up to 0.47 in a and b and does not give every color back: with it, 10 of the 24 hints from
   a mirrored colored copy of the sample portrait were one level of 255 off in a channel, and the
   outputs 57-59 dB PSNR from today's), weighted by a softmax of the cosine similarity (``temperature``); its confidence is the margin between its
   best and second-best similarity.
3. Hints: each line-bounded region (``regions.region_map``) gets the median of the matched colors
   over its pixels; the regions whose cells match at least ``min_similarity`` on average (the
   colorizer's :data:`MIN_SIMILARITY`: a reference that holds something like the drawing gives
   hints, a landscape mostly none), ranked by mean confidence times the square root of their
   area, give up to ``count`` point hints, each at its region's innermost pixel. Regions the user
   hinted are left to the user's hints. A reference whose cells the whole sketch matches less
   than ``min_image_similarity`` on average (the colorizer's :data:`MIN_IMAGE_SIMILARITY`: a
   patch-shuffled copy, most other characters) gives none.

The network sees these hints like a user's (spread over their region), but the region refinement
does not fill them like paint buckets: they are suggestions that the network weighs against the
lines and its own shading. Measured with ``s2p eval`` (model card, "Reference hints").
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import torch

from .errors import S2PError
from .evaluation.color import lab_to_rgb, rgb_to_lab
from .hints import Hints, Point
from .imageio import content_digest
from .regions import RegionMap

__all__ = ["MATCH_SIDE", "MIN_IMAGE_SIMILARITY", "MIN_SIMILARITY", "MatchStore", "ReferenceMatch", "SketchCells",
           "check_count", "match_reference", "reference_hints", "region_point", "sketch_cells"]

#: Longer side, in pixels, at which the sketch and the reference are matched (16 px cells).
MATCH_SIDE = 256
#: Radius of a reference hint, a fraction of the longer side.
HINT_RADIUS = 0.015
#: Regions smaller than this share of the image get no reference hint.
MIN_REGION_SHARE = 0.002
#: The colorizer's floor on a region's mean best-match similarity (``reference_hints(min_similarity=)``).
#: Measured on held-out illustrations' XDoG sketches: the mean best-match similarity is 0.43-0.63
#: with the illustration's own mirrored copy as the reference, 0.37-0.53 with another illustration
#: and 0.29-0.39 with the landscapes and paintings of the style set; at 0.4 the own copy keeps
#: nearly all its hints (19.9 of 20.9 per sketch) and real sketches get 1.8 of 18.5 from those styles.
MIN_SIMILARITY = 0.4
#: The colorizer's floor on the mean best-match similarity over the whole sketch
#: (``reference_hints(min_image_similarity=)``): below it the reference gets no hints at all. On the 48
#: held-out pairs of ``s2p eval`` the median is 0.54 with the mirrored own copy (0.45 to 0.63 from the
#: 10th to the 90th percentile), 0.40 with the patch-shuffled copy (0.36 to 0.44) and 0.44 with
#: another illustration (0.35 to 0.53); 0.48 passes 79 %, 0 % and 35 % of them.
MIN_IMAGE_SIMILARITY = 0.48


def check_count(value: object, name: str = "--reference-hint-count") -> int:
    """``value`` as an int if it is a whole number from 0 to 1000; otherwise an ``S2PError`` naming ``name``."""
    try:
        number = int(value)  # type: ignore[call-overload]
        whole = float(value) == number  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        whole = False
    if not whole or not 0 <= number <= 1000:
        raise S2PError(f"{name} must be a whole number from 0 to 1000, got {value!r}")
    return number


@dataclass(frozen=True)
class ReferenceMatch:
    """For every sketch cell: the matched CIELAB color (h, w, 3), the cosine similarity of its best
    match (h, w) and the match's confidence (h, w), the margin of the best over the second best."""

    lab: np.ndarray
    similarity: np.ndarray
    confidence: np.ndarray


@lru_cache(maxsize=1)
def _trunk() -> torch.nn.Module:
    from .models.pretrained_features import build_backbone

    return build_backbone("efficientnet_lite0")


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    size = (max(16, round(w * scale)), max(16, round(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _cell_features(rgb01: np.ndarray) -> tuple[torch.Tensor, tuple[int, int]]:
    """Centred, unit-length trunk features (cells, channels) of an RGB image in [0, 1]."""
    net = _trunk()
    with torch.inference_mode():
        features = net(torch.from_numpy(np.ascontiguousarray(rgb01.transpose(2, 0, 1)))[None].float())[0]
    channels, h, w = features.shape
    cells = features.reshape(channels, h * w).T
    cells = cells - cells.mean(0, keepdim=True)
    return torch.nn.functional.normalize(cells, dim=1), (h, w)


@dataclass(frozen=True)
class SketchCells:
    """The sketch's centred, unit-length features (cells, channels) on its (h, w) grid of cells."""

    features: torch.Tensor
    grid: tuple[int, int]


def sketch_cells(lines: np.ndarray, side: int = MATCH_SIDE) -> SketchCells:
    """Features of the sketch ``lines`` (uint8 HxW, paper 255) for matching, computed once per sketch."""
    sketch = _fit(lines, side).astype(np.float32) / 255.0
    features, grid = _cell_features(np.repeat(sketch[:, :, None], 3, axis=2))
    return SketchCells(features, grid)


def match_reference(lines: np.ndarray | SketchCells, reference_rgb: np.ndarray, *, side: int = MATCH_SIDE,
                    temperature: float = 0.05) -> ReferenceMatch:
    """Match every cell of the sketch ``lines`` (uint8 HxW, paper 255, or its ``sketch_cells``) to
    the reference (uint8 HxWx3 RGB) and carry the reference's colors over (see the module's
    description)."""
    cells_of_sketch = lines if isinstance(lines, SketchCells) else sketch_cells(lines, side)
    sketch_features, (h, w) = cells_of_sketch.features, cells_of_sketch.grid
    reference = _fit(np.ascontiguousarray(reference_rgb[:, :, :3]), side)
    reference_features, (rh, rw) = _cell_features(reference.astype(np.float32) / 255.0)
    similarity = sketch_features @ reference_features.T
    cells = cv2.resize(reference, (rw, rh), interpolation=cv2.INTER_AREA)
    cell_lab = torch.from_numpy(rgb_to_lab(cells).reshape(-1, 3).astype(np.float32))
    lab = torch.softmax(similarity / temperature, dim=1) @ cell_lab
    top = similarity.topk(min(2, similarity.shape[1]), dim=1).values
    confidence = top[:, 0] - top[:, 1] if top.shape[1] > 1 else torch.zeros(top.shape[0])
    return ReferenceMatch(lab.reshape(h, w, 3).numpy(), top[:, 0].reshape(h, w).numpy(),
                          confidence.reshape(h, w).numpy())


class MatchStore:
    """Each sketch's cells and each (sketch, reference) match, kept for the next call (the last
    ``size`` of them): what ``reference_hints`` reads."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._kept: OrderedDict[tuple, ReferenceMatch | SketchCells] = OrderedDict()

    def clear(self) -> None:
        """Forget every kept cell grid and match."""
        self._kept.clear()

    def _keep(self, key: tuple, value: ReferenceMatch | SketchCells) -> None:
        self._kept[key] = value
        while len(self._kept) > max(2, self.size):
            self._kept.popitem(last=False)

    def match(self, sketch_key: tuple, lines: np.ndarray, reference_rgb: np.ndarray) -> ReferenceMatch:
        """``match_reference`` of the sketch ``lines`` (known as ``sketch_key``) and a reference."""
        key = (*sketch_key, content_digest(reference_rgb, MATCH_SIDE))
        match = self._kept.get(key)
        if match is None:
            cells = self._kept.get(sketch_key)
            if cells is None:
                cells = sketch_cells(lines)
                self._keep(sketch_key, cells)
            match = match_reference(cells, reference_rgb)  # type: ignore[arg-type]
            self._keep(key, match)
        return match  # type: ignore[return-value]


def reference_hints(match: ReferenceMatch, regions: RegionMap, count: int, *,
                    hinted: np.ndarray | None = None, min_similarity: float = 0.0,
                    min_image_similarity: float = 0.0) -> Hints:
    """Up to ``count`` point hints with the matched colors, one per region, the most confident and
    largest regions first. ``hinted``: bool (h, w) of the user's hints; regions holding one get
    none (the choice among the others does not depend on them, so a new user hint changes the
    reference hints only in its own region). ``min_similarity``: a region's floor on its cells'
    mean best-match similarity; ``min_image_similarity``: the same over all cells, below which
    the reference gives no hints (a patch-shuffled or unrelated reference)."""
    if count <= 0 or float(match.similarity.mean()) < min_image_similarity:
        return Hints()
    h, w = regions.shape
    labels = regions.labels
    lab = cv2.resize(match.lab, (w, h), interpolation=cv2.INTER_LINEAR)
    confidence = cv2.resize(match.confidence, (w, h), interpolation=cv2.INTER_LINEAR)
    similarity = cv2.resize(match.similarity, (w, h), interpolation=cv2.INTER_LINEAR)
    areas = regions.pixel_counts
    mean_confidence = np.bincount(labels.ravel(), weights=confidence.ravel(), minlength=regions.count)
    mean_confidence = mean_confidence / np.maximum(areas, 1)
    mean_similarity = np.bincount(labels.ravel(), weights=similarity.ravel(), minlength=regions.count)
    mean_similarity = mean_similarity / np.maximum(areas, 1)
    big = np.flatnonzero((areas >= MIN_REGION_SHARE * h * w) & (mean_similarity >= min_similarity))
    ranked = big[np.argsort(-(mean_confidence[big] * np.sqrt(areas[big])), kind="stable")][:count]
    skip = set() if hinted is None or not hinted.any() else set(np.unique(labels[hinted]).tolist())
    points = []
    for region in ranked.tolist():
        if region in skip:
            continue
        ys, xs = np.nonzero(labels == region)
        color = lab_to_rgb(np.median(lab[ys, xs], axis=0))
        points.append(region_point(labels, region, tuple(int(v) for v in color), (ys, xs)))
    return Hints(points=points)


def region_point(labels: np.ndarray, region: int, color: tuple[int, int, int],
                 pixels: tuple[np.ndarray, np.ndarray] | None = None) -> Point:
    """A reference hint of ``color`` at the innermost pixel of ``region`` (the farthest from its
    border), radius ``HINT_RADIUS``. ``pixels``: the region's (ys, xs) where the caller has them."""
    h, w = labels.shape
    ys, xs = np.nonzero(labels == region) if pixels is None else pixels
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    inside = (labels[y0:y1, x0:x1] == region).astype(np.uint8)
    depth = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
    y, x = np.unravel_index(int(np.argmax(depth)), depth.shape)
    return Point((x0 + x + 0.5) / w, (y0 + y + 0.5) / h, color, HINT_RADIUS)
