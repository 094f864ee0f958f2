"""Scoring the matcher on held-out illustrations, beside its baselines, from cached features.

``cache_held_out`` builds, for each held-out illustration (``splits.is_holdout``), its XDoG sketch's
regions with their true colors and four references: the illustration mirrored and re-cropped as
``s2p eval`` makes it (``own_flipped``), rotated by 10 degrees and zoomed out to 80 %, a kind of
reference training never made (``own_rotated``), another held-out illustration (``other``) and a
style reference from ``styles/`` (``style``: landscapes and paintings, for skin kept).

``score`` then colors every region by each method and counts the regions whose color is within
CIEDE2000 :data:`ACCURATE` of the truth, by count and by area, paper apart, by region size:

- ``matcher``: the trained matcher; ``nearest_feature``: cosine nearest segment on the frozen
  features, no training; ``random_assignment``: a random segment by area; ``oracle``: the reference
  segment color nearest the truth (what a perfect choice among the reference's colors reaches).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from ..errors import S2PError
from ..evaluation.color import is_paper, is_skin
from ..imageio import load_image, resize_long_side
from .dataset import TRAIN_SIZE, region_truth
from .features import FEATURE_SIDE, LEGACY_FEATURE_SIDE, PartFeatures, sketch_part_features
from .predict import Matcher, ReferenceParts, RegionColors, nearest_feature_colors, random_colors, reference_parts

__all__ = ["ACCURATE", "KINDS", "cache_held_out", "is_paper", "is_skin", "score", "size_bucket"]

#: A region counts as right when its color is within this CIEDE2000 of the truth.
ACCURATE = 10.0
KINDS = ("own_flipped", "own_rotated", "other", "style")
SIZE_BUCKETS = (("small (<0.2%)", 0.0, 0.002), ("medium (0.2-2%)", 0.002, 0.02), ("large (>2%)", 0.02, 1.01))


def size_bucket(share: np.ndarray) -> np.ndarray:
    """Index into :data:`SIZE_BUCKETS` for each region's area share."""
    edges = np.array([b[2] for b in SIZE_BUCKETS[:-1]])
    return np.searchsorted(edges, share, side="right")


def cache_held_out(image_paths: list[Path], style_paths: list[Path], out_dir: Path, *, dino: bool = False,
                   bf16: bool | None = None, progress: bool = True, side: int = FEATURE_SIDE) -> Path:
    """Features and truths of the held-out pairs under ``out_dir`` (one ``.npz`` per illustration,
    skipped when present); the references' segments and features as the matcher computes them,
    with the longer side ``side`` (a folder cached at another side is refused)."""
    import torch

    from ..runtime import bf16_available

    bf16 = bf16_available(torch.device("cpu")) if bf16 is None else bf16
    from tqdm.auto import tqdm

    from ..evaluation.baselines import flipped_recrop, rotated_zoomed
    from ..regions import region_map
    from ..sketch import extract_sketch
    from ..splits import is_holdout

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [Path(p) for p in image_paths]
    if not all(is_holdout(p.name) for p in paths):
        raise S2PError("the matcher's evaluation takes held-out illustrations only")
    for i, path in enumerate(tqdm(paths, desc="held-out matcher pairs", unit="pair", disable=not progress)):
        target_file = out_dir / f"{path.stem}.npz"
        if target_file.exists():
            cached_side = _feature_side(target_file)
            if cached_side != side:
                raise S2PError(f"{out_dir} holds features computed at {cached_side} px, not {side}: choose another --cache")
            continue
        target = resize_long_side(load_image(path, mode="RGB"), TRAIN_SIZE)
        lines = extract_sketch(target, method="xdog")
        regions = region_map(lines)
        sketch = sketch_part_features(lines, regions.labels, regions.count, bf16=bf16, side=side)
        arrays: dict[str, np.ndarray] = {
            "feature_side": np.int64(side),
            "sketch_efficientnet": sketch.efficientnet, "sketch_geometry": sketch.geometry,
            "sketch_areas": sketch.areas, "sketch_truth": region_truth(target, regions.labels, regions.lines, regions.count),
        }
        other = resize_long_side(load_image(paths[(i + len(paths) // 2) % len(paths)], mode="RGB"), TRAIN_SIZE)
        style = load_image(style_paths[i % len(style_paths)], mode="RGB") if style_paths else rotated_zoomed(other)
        for kind, reference in zip(KINDS, (flipped_recrop(target), rotated_zoomed(target), other, style)):
            parts = reference_parts(reference, dino=dino, bf16=bf16, side=side)
            arrays.update({f"{kind}_efficientnet": parts.features.efficientnet, f"{kind}_geometry": parts.features.geometry,
                           f"{kind}_areas": parts.segments.areas, f"{kind}_lab": parts.segments.lab,
                           f"{kind}_cluster": parts.segments.cluster, f"{kind}_palette": parts.segments.palette})
            if parts.features.dino is not None:
                arrays[f"{kind}_dino"] = parts.features.dino
        partial = target_file.with_suffix(".partial.npz")
        np.savez(partial, **arrays)
        partial.replace(target_file)
    return out_dir


def _feature_side(cached: Path) -> int:
    """The feature side of one cached held-out pair (``LEGACY_FEATURE_SIDE`` for pairs cached before it
    was written)."""
    with np.load(cached) as data:
        return int(data["feature_side"]) if "feature_side" in data.files else LEGACY_FEATURE_SIDE


def _reference_parts(arrays: dict[str, np.ndarray], kind: str) -> ReferenceParts:
    from ..segments import ColorSegments

    n = len(arrays[f"{kind}_lab"])
    segments = ColorSegments(np.zeros((1, 1), np.int32), arrays[f"{kind}_lab"], arrays[f"{kind}_cluster"],
                             arrays[f"{kind}_areas"], np.zeros((n, 4)), np.zeros((n, 2)), arrays[f"{kind}_palette"])
    features = PartFeatures(arrays[f"{kind}_efficientnet"].astype(np.float32),
                            arrays[f"{kind}_dino"].astype(np.float32) if f"{kind}_dino" in arrays else None,
                            arrays[f"{kind}_geometry"], arrays[f"{kind}_areas"])
    return ReferenceParts(segments, features)


def _oracle(truth: np.ndarray, reference: ReferenceParts) -> RegionColors:
    from ..evaluation.color import ciede2000
    from .predict import colors_from_segments

    return colors_from_segments(reference, ciede2000(truth[:, None], reference.segments.lab[None]).argmin(axis=1))


def score(cache_dir: Path, matcher: Matcher | None, *, kinds: tuple[str, ...] = KINDS,
          max_pairs: int | None = None) -> dict[str, object]:
    """Region accuracy and error of the matcher and its baselines on the cached held-out pairs."""
    from ..evaluation.color import ciede2000

    files = sorted(p for p in Path(cache_dir).glob("*.npz") if not p.name.endswith(".partial.npz"))[:max_pairs]
    if not files:
        raise S2PError(f"no held-out matcher pairs cached in {cache_dir}")
    methods = ["matcher", "nearest_feature", "random_assignment", "oracle"] if matcher else \
        ["nearest_feature", "random_assignment", "oracle"]
    tallies: dict[str, dict[str, dict[str, list]]] = {k: {m: {} for m in methods} for k in kinds}
    for f in files:
        with np.load(f) as data:
            arrays = {k: data[k] for k in data.files}
        cached_side = int(arrays.get("feature_side", LEGACY_FEATURE_SIDE))
        if matcher is not None and cached_side != matcher.feature_side:
            raise S2PError(f"{f.name}: features computed at {cached_side} px, the matcher reads "
                           f"{matcher.feature_side} px: score it on a cache of its own side")
        truth = arrays["sketch_truth"].astype(np.float64)
        areas = arrays["sketch_areas"].astype(np.float64)
        share = areas / max(areas.sum(), 1.0)
        sketch = PartFeatures(arrays["sketch_efficientnet"].astype(np.float32), None, arrays["sketch_geometry"], areas)
        paper = is_paper(truth)
        skin = is_skin(truth)
        bucket = size_bucket(share)
        for kind in kinds:
            reference = _reference_parts(arrays, kind)
            for method in methods:
                if method == "matcher":
                    colors = matcher.assign(sketch, reference)  # type: ignore[union-attr]
                elif method == "nearest_feature":
                    colors = nearest_feature_colors(sketch, reference)
                elif method == "random_assignment":
                    colors = random_colors(len(truth), reference, seed=0)
                else:
                    colors = _oracle(truth, reference)
                error = ciede2000(colors.lab.astype(np.float64), truth)
                t = tallies[kind][method]
                for key, value in (("error", error), ("share", share), ("paper", paper), ("skin", skin),
                                   ("bucket", bucket), ("skin_kept", is_skin(colors.lab))):
                    t.setdefault(key, []).append(value)
    result: dict[str, object] = {"pairs": len(files), "accurate_within": ACCURATE,
                                 "prior_confidence": matcher.prior_confidence if matcher is not None else None,
                                 "kinds": {}}
    for kind in kinds:
        per: dict[str, object] = {}
        for method in methods:
            t = {k: np.concatenate(v) for k, v in tallies[kind][method].items()}
            right = t["error"] <= ACCURATE
            figure = ~t["paper"]
            entry = {
                "accuracy_count": float(right[figure].mean()),
                "accuracy_area": float((right * t["share"])[figure].sum() / t["share"][figure].sum()),
                "paper_accuracy_count": float(right[t["paper"]].mean()) if t["paper"].any() else None,
                "region_error_area": float((t["error"] * t["share"])[figure].sum() / t["share"][figure].sum()),
                "skin_kept_area": float((t["skin_kept"] * t["share"])[t["skin"]].sum() / t["share"][t["skin"]].sum())
                if t["skin"].any() else None,
                "by_size_count": {name: float(right[figure & (t["bucket"] == i)].mean())
                                  for i, (name, _, _) in enumerate(SIZE_BUCKETS) if (figure & (t["bucket"] == i)).any()},
                "regions": int(figure.sum()),
            }
            per[method] = entry
        result["kinds"][kind] = per  # type: ignore[index]
    return result


def format_score(result: dict) -> str:
    """A plain table of ``score``'s result."""
    prior = result.get("prior_confidence")
    lines = [f"{result['pairs']} held-out pairs; non-paper regions within CIEDE2000 {result['accurate_within']:.0f}"
             + ("" if prior is None else f"; regions kept skin from a skin-head probability of {prior:g}")]
    lines.append(f"{'reference':<12} {'method':<18} {'count':>6} {'area':>6} {'error':>6} {'skin kept':>9}  by size (count)")
    for kind, methods in result["kinds"].items():
        for method, e in methods.items():
            sizes = " ".join(f"{v:.2f}" for v in e["by_size_count"].values())
            skin = "-" if e["skin_kept_area"] is None else f"{e['skin_kept_area']:.2f}"
            lines.append(f"{kind:<12} {method:<18} {e['accuracy_count']:6.3f} {e['accuracy_area']:6.3f} "
                         f"{e['region_error_area']:6.1f} {skin:>9}  {sizes}")
    return "\n".join(lines)


def save_score(result: dict, path: Path) -> Path:
    path = Path(path)
    path.write_text(json.dumps(result, indent=2))
    return path
