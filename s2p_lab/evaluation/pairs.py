"""Scenario 2 of the benchmark: held-out (sketch, illustration) pairs; the model and the baselines
scored by region color error, reference effect, region accuracy and hint errors, and the image
sets that calibrate KID on the same drawings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import S2PError
from ..imageio import resize_long_side
from .baselines import (
    flipped_recrop, gray_wash, mean_color, nearest_feature, paint_hints, paper_mask, paste, random_assignment,
    rotated_zoomed, shuffle_patches, shuffled_paste, wash,
)
from .definitions import METHODS
from .features import image_features
from .inputs import as_arrays, gray_to_rgb, load_colorizer, load_rgb, progress_bar
from .metrics import (
    hint_adherence, hint_spread_error, psnr, region_accuracy, region_color_error, segment_color_regions, skin_kept,
)
from .scoring import mean_of, ratio_of


#: Region accuracy and skin kept, averaged over the held-out pairs (``region_accuracy``, ``skin_kept``).
PAIR_ACCURACY_KEYS = ("region_accuracy_count", "region_accuracy_area", "region_accuracy_paper_count",
                      "region_accuracy_count_small", "region_accuracy_count_medium", "region_accuracy_count_large",
                      "region_accuracy_rotated_count", "skin_kept_style")

#: KID calibration sets of the held-out pairs, in the order a person would rank them (best first;
#: ``real_held_out`` and ``model`` aside): real art, an accepted recoloring, a wash, gray, lines.
PAIR_KID_SETS = ("real_held_out", "recolored", "model", "wash", "gray", "lines")


def recolor_hue(rgb: np.ndarray, degrees: float = 120.0) -> np.ndarray:
    """The image with every hue turned by ``degrees`` (HSV): the same drawing, other colors."""
    hsv = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2HSV)
    hsv[..., 0] = ((hsv[..., 0].astype(np.int32) + round(degrees / 2)) % 180).astype(np.uint8)
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def evaluate_pairs(colorizer: Any, image_paths: Sequence[Path], *, size: int = 512,
                   extractor: str = "xdog", hint_count: int = 8, seed: int = 0,
                   progress: bool = True, keep_outputs: int = 0, features: bool = False,
                   style_paths: Sequence[Path] = ()) -> dict[str, Any]:
    """Scenario 2: held-out (sketch, illustration) pairs; the model and the baselines per pair.

    Each illustration is fitted to ``size`` and its sketch extracted with ``extractor``; its color
    regions come from :func:`segment_color_regions`. References: the target mirrored and
    re-cropped (:func:`flipped_recrop`), the target patch-shuffled 8x8 (:func:`shuffle_patches`),
    and another held-out illustration (the one half the list away). Outputs per method: with
    each reference and without one (baselines without a reference: the bare sketch; ``wash``
    uses the target's own mean non-paper color for both own references). The model and
    ``paint_hints`` also get ``hints.deterministic_hints(target, hint_count, seed)`` alone.
    Rows flag ``in_legacy_training_split``: files the per-file split of model v0.2 trained on.
    With ``features``, EfficientNet-Lite0 features under ``"_features"`` of the
    sets that calibrate KID on the same drawings (:data:`PAIR_KID_SETS`): the held-out targets
    themselves, the targets recolored (hue turned by 120 degrees, a coloring a person would accept),
    the model with the mirrored own reference, the ``wash``, its gray version and the bare sketch.
    """
    from ..hint_simulation import deterministic_hints
    from ..sketch import extract_sketch
    from ..splits import legacy_is_holdout

    colorizer = load_colorizer(colorizer)
    paths = [Path(p) for p in image_paths]
    if not paths:
        raise S2PError("no held-out pairs to evaluate")
    rows: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    feats: dict[str, list[np.ndarray]] = {n: [] for n in PAIR_KID_SETS}
    keep_at = set(np.linspace(0, len(paths) - 1, num=keep_outputs).round().astype(int).tolist()) if keep_outputs else set()
    for i, path in enumerate(progress_bar(paths, desc="held-out pairs", total=len(paths), enabled=progress)):
        target = resize_long_side(load_rgb(path), size)
        h, w = target.shape[:2]
        sketch = extract_sketch(target, method=extractor)
        lines = gray_to_rgb(sketch)
        labels = segment_color_regions(target, seed=seed)
        flipped = flipped_recrop(target)
        shuffled = shuffle_patches(target, seed=seed)
        other = resize_long_side(load_rgb(paths[(i + len(paths) // 2) % len(paths)]), size)
        rotated = rotated_zoomed(target)
        style = resize_long_side(load_rgb(style_paths[i % len(style_paths)]), size) if style_paths else None
        extra_refs = [rotated] + ([style] if style is not None else [])
        model_outs = as_arrays(colorizer.colorize(sketch, styles=[flipped, shuffled, other, *extra_refs], hints=None,
                                                  size=size, seed=seed))
        model_extra, model_outs = model_outs[3:], model_outs[:3]
        model_none = as_arrays(colorizer.colorize(sketch, styles=None, hints=None, size=size, seed=seed))[0]
        hints = deterministic_hints(target, hint_count, seed=seed)
        hinted = (as_arrays(colorizer.colorize(sketch, styles=None, hints=hints, size=size, seed=seed))[0]
                  if hint_count else None)
        figure = ~paper_mask(target)
        own = mean_color(target, figure) if figure.any() else (128, 128, 128)
        outs: dict[str, tuple[np.ndarray, ...]] = {
            "model": (*model_outs, model_none),
            "paste": (paste(sketch, flipped), paste(sketch, shuffled), paste(sketch, other), lines),
            "shuffled_paste": (shuffled_paste(sketch, flipped, seed), shuffled_paste(sketch, shuffled, seed),
                               shuffled_paste(sketch, other, seed), lines),
            "wash": (wash(sketch, own, figure), wash(sketch, own, figure),
                     wash(sketch, mean_color(other), figure), lines),
            "no_reference": (model_none,) * 4,
            "random_assignment": (random_assignment(sketch, flipped, seed), random_assignment(sketch, shuffled, seed),
                                  random_assignment(sketch, other, seed), lines),
            "nearest_feature": (nearest_feature(sketch, flipped), nearest_feature(sketch, shuffled),
                                nearest_feature(sketch, other), lines),
        }
        # (own reference turned and zoomed out, a style reference) for region accuracy and skin kept
        extras: dict[str, tuple[np.ndarray, np.ndarray | None]] = {
            "model": (model_extra[0], model_extra[1] if style is not None else None),
            "paste": (paste(sketch, rotated), paste(sketch, style) if style is not None else None),
            "shuffled_paste": (shuffled_paste(sketch, rotated, seed),
                               shuffled_paste(sketch, style, seed) if style is not None else None),
            "wash": (wash(sketch, own, figure), wash(sketch, mean_color(style), figure) if style is not None else None),
            "no_reference": (model_none, model_none),
            "random_assignment": (random_assignment(sketch, rotated, seed),
                                  random_assignment(sketch, style, seed) if style is not None else None),
            "nearest_feature": (nearest_feature(sketch, rotated),
                                nearest_feature(sketch, style) if style is not None else None),
        }
        row: dict[str, Any] = {"image": path.name, "in_legacy_training_split": not legacy_is_holdout(path.name),
                               "floor_psnr": psnr(lines, target), "regions": int(labels.max())}
        for name, (o_flip, o_shuf, o_other, o_none) in outs.items():
            row[name] = {
                "region_de00": region_color_error(o_flip, target, labels),
                "psnr_own_flipped": psnr(o_flip, target), "psnr_own_shuffled": psnr(o_shuf, target),
                "psnr_other": psnr(o_other, target), "psnr_no_reference": psnr(o_none, target),
            }
            accuracy = region_accuracy(o_flip, target, labels)
            row[name].update({f"region_accuracy_{k}": v for k, v in accuracy.items()})
            o_rotated, o_style = extras[name]
            row[name]["region_accuracy_rotated_count"] = region_accuracy(o_rotated, target, labels)["count"]
            if o_style is not None:
                row[name]["skin_kept_style"] = skin_kept(o_style, target, sketch)
        if hinted is not None:
            painted = paint_hints(sketch, hints)
            for name, out in (("model", hinted), ("paint_hints", painted)):
                row.setdefault(name, {}).update({
                    "hint_de00_under_disc": hint_adherence(out, hints),
                    "hint_spread_de00": hint_spread_error(out, hints, labels)})
        rows.append(row)
        if features:
            for name, image in (("real_held_out", target), ("recolored", recolor_hue(target)),
                                ("model", outs["model"][0]), ("wash", outs["wash"][0]),
                                ("gray", gray_wash(sketch, own, figure)), ("lines", lines)):
                feats[name].append(image)
        if i in keep_at:
            kept.append({"name": path.stem, "sketch": sketch, "reference": flipped, "target": target,
                         **{n: o[0] for n, o in outs.items()},
                         "region_de00": {n: row[n]["region_de00"] for n in outs}})
    result: dict[str, Any] = {
        "n_pairs": len(rows), "extractor": extractor, "hint_count": hint_count,
        "floor_psnr": mean_of(r["floor_psnr"] for r in rows),
        "methods": summarize_pairs(rows),
        "n_in_legacy_training_split": sum(r["in_legacy_training_split"] for r in rows),
        "per_pair": rows,
    }
    unseen = [r for r in rows if not r["in_legacy_training_split"]]
    result["methods_on_pairs_outside_legacy_training"] = summarize_pairs(unseen) if unseen else None
    if features:
        result["_features"] = {n: image_features(progress_bar(v, desc=f"pair features {n}", total=len(v),
                                                              enabled=progress)) for n, v in feats.items()}
    if keep_outputs:
        result["_images"] = kept
    return result


def summarize_pairs(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float | None]]:
    """Per-method means over pairs: region error (and its ratio to ``wash``), PSNRs, reference
    effects (mean of the per-pair differences) and hint errors."""
    out: dict[str, dict[str, float | None]] = {}
    for name in METHODS:
        vals = [r[name] for r in rows if name in r]
        if not vals:
            continue
        m: dict[str, float | None] = {}
        for key in ("region_de00", "psnr_own_flipped", "psnr_own_shuffled", "psnr_other", "psnr_no_reference",
                    "hint_de00_under_disc", "hint_spread_de00", *PAIR_ACCURACY_KEYS):
            m[key] = mean_of(v.get(key) for v in vals)
        if m["psnr_no_reference"] is not None:
            for key, src in (("reference_effect_own_db", "psnr_own_flipped"),
                             ("reference_effect_own_shuffled_db", "psnr_own_shuffled"),
                             ("reference_effect_other_db", "psnr_other")):
                m[key] = mean_of(v[src] - v["psnr_no_reference"] for v in vals if src in v)
        out[name] = {k: v for k, v in m.items() if v is not None}
    wash_region = out.get("wash", {}).get("region_de00")
    for m in out.values():
        if "region_de00" in m:
            m["region_de00_ratio_to_wash"] = ratio_of(m["region_de00"], wash_region)
    return out
