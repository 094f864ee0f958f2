"""Training data for the matcher: color illustrations turned into labelled (sketch, reference) pairs.

For each training illustration (never a held-out one, ``splits.is_holdout``):

1. The illustration is fitted to :data:`TRAIN_SIZE` (the colorizer's default processing size), its
   sketch extracted (XDoG, as the network's training and the evaluation do) and split into
   line-bounded regions (``regions.region_map``). Each region's *true color* is the median CIELAB of
   the illustration over the region's non-line pixels.
2. References are made from the same illustration so that the matcher cannot copy places and must
   recognise parts: mirrored and re-cropped (``"flip"``); and rotated, zoomed, shifted, sometimes
   mirrored and cut into shuffled quarters (``"warp"``), half of the time with every hue turned by
   the same random angle, the true colors turned with it. Each reference is split into color
   segments (``segments.color_segments``).
3. Frozen features are pooled over every region and segment (``matching.features``) once and stored
   as one ``.npz`` per illustration, so that training the head takes minutes, not hours.

Dropping segments, so that the matcher learns when the reference lacks a part's color and a prior
color must do, happens when the cache is read (``matching.training``), not here.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..errors import S2PError
from .features import FEATURE_SIDE, LEGACY_FEATURE_SIDE, reference_part_features, sketch_part_features

__all__ = ["CACHE_VERSION", "REFERENCE_SIDE", "TRAIN_SIZE", "Example", "build_example", "cache_features",
           "label_medians", "load_example", "make_reference", "region_truth"]

#: Longer side of the training illustrations (the colorizer's default processing size).
TRAIN_SIZE = 512
#: Longer side at which references are segmented (and the colorizer segments them).
REFERENCE_SIDE = 256
CACHE_VERSION = 1
REFERENCE_KINDS = ("flip", "warp")


@dataclass(frozen=True)
class Example:
    """One cached illustration: its regions' features and true colors, and its references."""

    name: str
    sketch: dict[str, np.ndarray]  # efficientnet (n, 152), geometry (n, 7), areas (n,), paper (n,) bool
    references: list[dict[str, np.ndarray]]  # per reference: features, segment lab/cluster/areas, palette, truth


def _rotate_hue(rgb: np.ndarray, degrees: float) -> np.ndarray:
    if degrees == 0:
        return rgb
    hsv = cv2.cvtColor(rgb, cv2.COLOR_RGB2HSV)
    hsv[:, :, 0] = ((hsv[:, :, 0].astype(np.int32) + int(round(degrees / 2))) % 180).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def make_reference(target: np.ndarray, kind: str, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """A reference made from ``target`` (uint8 HxWx3) and the hue turn (degrees) it received."""
    h, w = target.shape[:2]
    if kind == "flip":
        l, r, t, b = (rng.uniform(0.02, 0.15, 4) * [w, w, h, h]).astype(int)
        image = cv2.resize(target[:, ::-1][t:h - b, l:w - r], (w, h), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(image), 0.0
    if kind != "warp":
        raise ValueError(f"unknown reference kind {kind!r}")
    image = target[:, ::-1] if rng.random() < 0.5 else target
    angle, scale = rng.uniform(-20, 20), rng.uniform(0.7, 1.15)
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, scale)
    matrix[:, 2] += rng.uniform(-0.1, 0.1, 2) * [w, h]
    border = tuple(int(v) for v in np.median(target.reshape(-1, 3), axis=0))
    image = cv2.warpAffine(np.ascontiguousarray(image), matrix, (w, h), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_CONSTANT, borderValue=border)
    if rng.random() < 0.3:  # quarters shuffled: places no longer say anything
        hh, hw = h // 2, w // 2
        quarters = [image[:hh, :hw], image[:hh, hw:2 * hw], image[hh:2 * hh, :hw], image[hh:2 * hh, hw:2 * hw]]
        order = rng.permutation(4)
        top = np.concatenate([quarters[order[0]], quarters[order[1]]], axis=1)
        bottom = np.concatenate([quarters[order[2]], quarters[order[3]]], axis=1)
        image = cv2.resize(np.concatenate([top, bottom], axis=0), (w, h), interpolation=cv2.INTER_NEAREST)
    degrees = float(rng.uniform(30, 330)) if rng.random() < 0.5 else 0.0
    return np.ascontiguousarray(_rotate_hue(image, degrees)), degrees


def label_medians(values: np.ndarray, labels: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-label medians of ``values`` (N, C) for ``labels`` (N,) in 0..count-1 (negative: left
    out) and the pixel counts (count,); labels with no pixels get 0. One sort per channel (the
    lower median for an even count), about 20 ms for a 512 px image."""
    keep = labels >= 0
    labels, values = labels[keep].astype(np.int64), values[keep]
    counts = np.bincount(labels, minlength=count)[:count]
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    middle = starts + np.maximum(counts - 1, 0) // 2
    out = np.zeros((count, values.shape[1]))
    for c in range(values.shape[1]):
        order = np.lexsort((values[:, c], labels))
        out[:, c] = np.where(counts > 0, values[order[np.minimum(middle, len(order) - 1)], c] if len(order) else 0, 0)
    return out, counts


def region_truth(target: np.ndarray, labels: np.ndarray, lines: np.ndarray, count: int) -> np.ndarray:
    """(count, 3) median CIELAB of ``target`` over each region's non-line pixels (all its pixels
    where it has no others)."""
    from ..evaluation.color import rgb_to_lab

    lab = rgb_to_lab(target).reshape(-1, 3)
    inner, inner_counts = label_medians(lab, np.where(lines, -1, labels).ravel(), count)
    whole, _ = label_medians(lab, labels.ravel(), count)
    return np.where((inner_counts > 0)[:, None], inner, whole).astype(np.float32)


def build_example(target: np.ndarray, rng: np.random.Generator, *, bf16: bool = False, dino: bool = False,
                  kinds: tuple[str, ...] = REFERENCE_KINDS, side: int = FEATURE_SIDE) -> dict[str, np.ndarray]:
    """The arrays of one cached illustration (``target`` uint8 HxWx3 at ``TRAIN_SIZE``): see the
    module's description. Keys ``sketch_*`` and ``ref{i}_*``."""
    from ..regions import region_map
    from ..segments import color_segments
    from ..sketch import extract_sketch

    from ..imageio import resize_long_side

    lines = extract_sketch(target, method="xdog")
    regions = region_map(lines)
    sketch = sketch_part_features(lines, regions.labels, regions.count, bf16=bf16, side=side)
    out: dict[str, np.ndarray] = {
        "sketch_efficientnet": sketch.efficientnet.astype(np.float16),
        "sketch_geometry": sketch.geometry, "sketch_areas": sketch.areas,
        "sketch_truth": region_truth(target, regions.labels, regions.lines, regions.count),
    }
    for i, kind in enumerate(kinds):
        reference, degrees = make_reference(target, kind, rng)
        small = resize_long_side(reference, REFERENCE_SIDE)
        segments = color_segments(small)
        parts = reference_part_features(reference, segments.labels - 1, segments.count, dino=dino, bf16=bf16,
                                        side=side)
        truth = out["sketch_truth"] if degrees == 0 else region_truth(
            _rotate_hue(target, degrees), regions.labels, regions.lines, regions.count)
        out.update({
            f"ref{i}_efficientnet": parts.efficientnet.astype(np.float16),
            f"ref{i}_geometry": parts.geometry, f"ref{i}_areas": parts.areas,
            f"ref{i}_lab": segments.lab.astype(np.float32), f"ref{i}_cluster": segments.cluster,
            f"ref{i}_palette": segments.palette.astype(np.float32), f"ref{i}_truth": truth,
            f"ref{i}_hue": np.float32(degrees),
        })
        if parts.dino is not None:
            out[f"ref{i}_dino"] = parts.dino.astype(np.float16)
    return out


def load_example(path: Path) -> Example:
    """One cached illustration from its ``.npz`` (no pickled objects)."""
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    sketch = {k[len("sketch_"):]: v for k, v in arrays.items() if k.startswith("sketch_")}
    refs = []
    i = 0
    while f"ref{i}_lab" in arrays:
        prefix = f"ref{i}_"
        refs.append({k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)})
        i += 1
    return Example(path.stem, sketch, refs)


def cache_feature_side(cache: Path) -> int | None:
    """The feature side a training cache was built with (its ``cache.json``; ``LEGACY_FEATURE_SIDE``
    for caches from before the field), or None for a folder without one."""
    summary = Path(cache) / "cache.json"
    if not summary.is_file():
        return None
    try:
        return int(json.loads(summary.read_text()).get("feature_side", LEGACY_FEATURE_SIDE))
    except (OSError, ValueError) as exc:
        raise S2PError(f"{summary}: unreadable ({exc})") from None


def cache_features(image_paths: list[Path], out_dir: Path, *, seed: int = 0, bf16: bool | None = None,
                   dino: bool = False, progress: bool = True, side: int = FEATURE_SIDE) -> dict[str, object]:
    """Build the feature cache of ``image_paths`` (training illustrations) under ``out_dir``, one
    ``.npz`` per image, the features computed with the longer side ``side``; images already cached
    are skipped, so an interrupted run resumes (a folder cached at another side is refused). Each
    image's random references depend only on ``seed`` and its name. Returns a summary."""
    import hashlib
    import time

    from tqdm.auto import tqdm

    from ..imageio import load_image, resize_long_side
    from ..runtime import bf16_available
    from ..splits import is_holdout

    import torch

    out_dir = Path(out_dir)
    cached_side = cache_feature_side(out_dir)
    if cached_side is not None and cached_side != side:
        raise S2PError(f"{out_dir} holds features computed at {cached_side} px, not {side}: choose another folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    held = [p for p in image_paths if is_holdout(p.name)]
    if held:
        raise S2PError(f"{len(held)} held-out illustrations given to the matcher's training cache "
                       f"(first: {held[0].name}); the held-out split is for evaluation only")
    use_bf16 = bf16_available(torch.device("cpu")) if bf16 is None else bf16
    start, built, failed = time.time(), 0, []
    for path in tqdm(image_paths, desc="matcher features", unit="image", disable=not progress):
        target_file = out_dir / f"{path.stem}.npz"
        if target_file.exists():
            continue
        digest = int.from_bytes(hashlib.sha1(f"{seed}:{path.name}".encode()).digest()[:8], "big")
        rng = np.random.default_rng(digest)
        try:
            target = resize_long_side(load_image(path, mode="RGB"), TRAIN_SIZE)
            arrays = build_example(target, rng, bf16=use_bf16, dino=dino, side=side)
        except S2PError as exc:
            failed.append(f"{path.name}: {exc}")
            continue
        partial = target_file.with_suffix(".partial.npz")
        np.savez(partial, **arrays)
        os.replace(partial, target_file)
        built += 1
    summary = {"version": CACHE_VERSION, "images": len(image_paths), "built": built, "failed": failed,
               "seconds": round(time.time() - start, 1), "bf16": use_bf16, "seed": seed, "dino": dino,
               "train_size": TRAIN_SIZE, "reference_side": REFERENCE_SIDE, "feature_side": side,
               "kinds": list(REFERENCE_KINDS)}
    (out_dir / "cache.json").write_text(json.dumps(summary, indent=2))
    return summary
