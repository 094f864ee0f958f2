"""Region features: frozen pretrained features pooled over each sketch region and reference segment.

The matcher compares the parts of a sketch with the parts of a reference. Each part is described by
what frozen networks see there, averaged over the part, plus where it is and how big:

- **EfficientNet-Lite0** (ImageNet, shipped in ``s2p_lab/pretrained/backbones``) after block 4
  (40 channels, stride 8: edges, small shapes) and after block 10 (112 channels, stride 16: parts),
  computed on both sides. Its block-10 features match a sketch point to the same point of a colored
  copy about half of the time (PCK@16 0.51-0.56, ``bench/feature_match.py``).
- **DINOv2-S** patch tokens (384-d), on the reference side only (``REFERENCE_DINO``): on line art its
  tokens match nothing.
- **Place and size**: centroid (x, y), bounding box (x0, y0, x1, y1) and the square root of the area
  share, 7 numbers.

Both images are fitted to the matcher's ``feature_side`` on the longer side (:data:`FEATURE_SIDE`,
the processing size, unless a matcher reads another: ``matcher-v1`` read 320 px). The same head
trained the same way got 53.0 % of the held-out regions right at 320 px, 57.2 % at 448 px and
58.0 % at 512 px (mirrored references; most of the gain on small regions), for 0.02 s more per
reference at 512 px than at 320. Each feature map has its mean over
the image taken away before pooling (what is common to the whole image does not tell parts apart).
Pooling is an exact area average on the stride-8 grid: every pixel of a part votes for the grid
cell it falls in, so a part smaller than a cell still gets that cell's features.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["FEATURE_SIDE", "GEOMETRY_DIM", "LEGACY_FEATURE_SIDE", "PartFeatures", "pool_parts", "reference_part_features",
           "sketch_part_features", "trunk_features"]

#: Longer side, in pixels, at which the sketch and the reference go through the frozen networks.
FEATURE_SIDE = 512
#: The feature side of matchers, caches and held-out pairs written before the side was recorded (``matcher-v1``).
LEGACY_FEATURE_SIDE = 320
#: EfficientNet-Lite0 blocks whose outputs are pooled: block 4 (stride 8) and block 10 (stride 16).
EFFICIENTNET_TAPS = (4, 10)
#: Place and size numbers per part.
GEOMETRY_DIM = 7


@dataclass(frozen=True)
class PartFeatures:
    """Pooled features of the n parts (regions or segments) of one image, float32.

    ``efficientnet``: (n, 152), blocks 4 and 10 side by side; ``dino``: (n, 384) or None;
    ``geometry``: (n, 7); ``areas``: (n,) pixel counts at the labels' size.
    """

    efficientnet: np.ndarray
    dino: np.ndarray | None
    geometry: np.ndarray
    areas: np.ndarray

    @property
    def count(self) -> int:
        return int(self.geometry.shape[0])


@lru_cache(maxsize=1)
def _efficientnet() -> torch.nn.Module:
    from ..models.pretrained_features import efficientnet_trunk

    return efficientnet_trunk(max(EFFICIENTNET_TAPS) + 1)


@lru_cache(maxsize=1)
def _dino() -> torch.nn.Module:
    from ..models.pretrained_features import build_backbone

    net = build_backbone("dinov2_small")
    assert net is not None
    return net.eval()


def _fit(image: np.ndarray, side: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = side / max(h, w)
    size = (max(16, round(w * scale) // 16 * 16), max(16, round(h * scale) // 16 * 16))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def trunk_features(rgb: np.ndarray, *, dino: bool = False, side: int = FEATURE_SIDE,
                   bf16: bool = False) -> dict[str, torch.Tensor]:
    """Frozen feature maps of an RGB (uint8 HxWx3) or gray (HxW) image fitted to ``side``:
    ``"efficientnet"`` (152, h/8, w/8), the stride-16 taps upsampled to stride 8, and with ``dino``
    ``"dino"`` (384, h/8, w/8). Each map has its mean over the image taken away."""
    image = _fit(np.ascontiguousarray(rgb), side)
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    x = torch.from_numpy(image[:, :, :3].transpose(2, 0, 1).copy()).float().div_(255.0)[None]
    grid = (x.shape[-2] // 8, x.shape[-1] // 8)
    net = _efficientnet()
    maps = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
        h = F.relu6(net._bn0(net._conv_stem((x - 0.5) / 0.5)))
        for i, block in enumerate(net._blocks):
            h = block(h)
            if i in EFFICIENTNET_TAPS:
                maps.append(F.interpolate(h.float(), size=grid, mode="bilinear", align_corners=False))
        out = {"efficientnet": torch.cat(maps, 1)[0]}
        if dino:
            tokens = _dino()(x).float()
            out["dino"] = F.interpolate(tokens, size=grid, mode="bilinear", align_corners=False)[0]
    return {k: v - v.mean(dim=(1, 2), keepdim=True) for k, v in out.items()}


def _membership(labels: np.ndarray, count: int, grid: tuple[int, int]) -> torch.Tensor:
    """(count, cells) share of each part's pixels in each cell of ``grid`` (rows sum to 1; a part
    with no pixels has a zero row). ``labels``: int (H, W), parts 0..count-1, negative = none."""
    h, w = labels.shape
    gy = np.minimum((np.arange(h) * grid[0]) // h, grid[0] - 1)
    gx = np.minimum((np.arange(w) * grid[1]) // w, grid[1] - 1)
    cell = (gy[:, None] * grid[1] + gx[None, :]).ravel()
    flat = labels.ravel()
    keep = flat >= 0
    cells = grid[0] * grid[1]
    counts = np.bincount(flat[keep].astype(np.int64) * cells + cell[keep], minlength=count * cells)
    counts = counts[: count * cells].reshape(count, cells).astype(np.float32)
    return torch.from_numpy(counts / np.maximum(counts.sum(1, keepdims=True), 1.0))


def geometry(labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(count, 7) place and size of each part (centroid, box as fractions of the image, square
    root of the area share) and (count,) pixel counts. ``labels``: parts 0..count-1, negative = none."""
    from ..labelstats import label_boxes

    h, w = labels.shape
    flat = labels.ravel()
    keep = flat >= 0
    areas = np.bincount(flat[keep], minlength=count)[:count]
    ys, xs = np.divmod(np.flatnonzero(keep), w)
    total = np.maximum(areas, 1)
    cx = np.bincount(flat[keep], weights=(xs + 0.5) / w, minlength=count)[:count] / total
    cy = np.bincount(flat[keep], weights=(ys + 0.5) / h, minlength=count)[:count] / total
    out = np.zeros((count, GEOMETRY_DIM), np.float32)
    out[:, 0], out[:, 1] = cx, cy
    shifted = np.where(labels >= 0, labels + 1, 0).astype(np.int32)
    for i, found in enumerate(label_boxes(shifted, count)):
        if found is not None:
            rows, cols = found
            out[i, 2:6] = (cols.start / w, rows.start / h, cols.stop / w, rows.stop / h)
    out[:, 6] = np.sqrt(areas / float(h * w))
    return out, areas


def pool_parts(maps: dict[str, torch.Tensor], labels: np.ndarray, count: int) -> PartFeatures:
    """Average every feature map over each part of ``labels`` (int (H, W), parts 0..count-1,
    negative = left out) at any size: the pixels vote for their stride-8 cell."""
    some = next(iter(maps.values()))
    member = _membership(labels, count, tuple(some.shape[-2:]))
    pooled = {k: (member @ v.reshape(v.shape[0], -1).T.float()).numpy() for k, v in maps.items()}
    geo, areas = geometry(labels, count)
    return PartFeatures(pooled["efficientnet"], pooled.get("dino"), geo, areas)


def sketch_part_features(lines: np.ndarray, labels: np.ndarray, count: int, *, bf16: bool = False,
                         side: int = FEATURE_SIDE) -> PartFeatures:
    """Features of a sketch's regions: ``lines`` uint8 (H, W) with paper = 255, ``labels`` its
    region map (any size), regions 0..count-1; the features computed with the longer side ``side``."""
    return pool_parts(trunk_features(lines, bf16=bf16, side=side), labels, count)


def reference_part_features(rgb: np.ndarray, labels: np.ndarray, count: int, *, dino: bool = True,
                            bf16: bool = False, side: int = FEATURE_SIDE) -> PartFeatures:
    """Features of a reference's segments: ``rgb`` uint8 (H, W, 3), ``labels`` its segments
    0..count-1 (negative = left out), at any size; the features computed with the longer side ``side``."""
    return pool_parts(trunk_features(rgb, dino=dino, bf16=bf16, side=side), labels, count)
