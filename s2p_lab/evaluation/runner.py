"""The benchmark over a data folder: the model and the baselines, scored by the same code.

Three scenarios, each scored for the model and for every baseline of :mod:`.baselines`:

1. **Real sketches x unrelated references** (the project's main use): style retrieval top-1, hue
   entropy, colorfulness, line fidelity, and KID to real illustrations (:mod:`.features`).
2. **Held-out pairs** (illustrations of the held-out source groups of ``s2p_lab.splits``, with
   extracted sketches): region color error with a mirrored, re-cropped own reference
   (:func:`.metrics.region_color_error`) and its ratio to the ``wash`` baseline; the reference
   effect (PSNR with the own mirrored or patch-shuffled reference, and with another held-out
   illustration, minus PSNR without a reference); hint error under the hint disc and in the
   hinted region away from it.
3. **Hint-AUC** (the ``hintauc`` package) of hint-only colorization, when it is installed.

:func:`evaluate` runs all three and returns one JSON-ready dict with the model's metrics, a
``baselines`` object with the same metric names, the targets with pass/fail for the model and
for each baseline, and which targets were not measured and why.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..errors import S2PError
from ..fileio import IMAGE_SUFFIXES, list_image_files
from ..imageio import resize_long_side
from .baselines import (
    figure_mask, flipped_recrop, gray_wash, mean_color, nearest_feature, paint_hints, paper_mask, paste,
    random_assignment, rotated_zoomed, shuffle_patches, shuffled_paste, wash,
)
from .definitions import DEFINITIONS, METHODS, METRICS, TARGETS
from .features import image_features, kid
from .metrics import (
    colorfulness, hint_adherence, hint_spread_error, hue_entropy, line_fidelity, psnr, region_accuracy,
    region_color_error, segment_color_regions, skin_kept, style_retrieval,
)

__all__ = [
    "DEFINITIONS", "HINT_AUC_INSTALL", "IMAGE_EXTENSIONS", "METHODS", "TARGETS", "evaluate",
    "evaluate_hint_auc", "evaluate_pairs", "evaluate_retrieval", "pick_references", "score_targets",
    "training_statistics",
]

IMAGE_EXTENSIONS = IMAGE_SUFFIXES
HINT_AUC_INSTALL = "scripts/install_hintauc.sh"

# --------------------------------------------------------------------------- helpers


def list_images(folder: Path) -> list[Path]:
    """Image files of a folder (sorted); ``S2PError`` when it is missing or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise S2PError(f"not a directory: {folder}")
    paths = list_image_files(folder)
    if not paths:
        raise S2PError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
    return paths


def _load_rgb(path: Path) -> np.ndarray:
    from ..imageio import load_image

    return load_image(path, mode="RGB")


def _load_gray(path: Path) -> np.ndarray:
    from ..imageio import load_image

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


def _finite(values: Iterable[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def _median(values: Iterable[Any]) -> float | None:
    vals = _finite(values)
    return float(np.median(vals)) if vals else None


def _mean(values: Iterable[Any]) -> float | None:
    vals = _finite(values)
    return float(np.mean(vals)) if vals else None


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not math.isfinite(a) or not math.isfinite(b) or b <= 0:
        return None
    return a / b


def _as_arrays(images: Sequence[Any]) -> list[np.ndarray]:
    return [np.asarray(im.convert("RGB") if hasattr(im, "convert") else im) for im in images]


def load_colorizer(colorizer: Any, weights: Any = None, device: str | None = None) -> Any:
    """``colorizer`` itself, or the shipped (or ``weights``) ``Colorizer`` when it is None."""
    if colorizer is not None:
        return colorizer
    from ..colorizer import Colorizer

    return Colorizer.from_pretrained(weights=weights, device=device)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray[:, :, None], 3, axis=2)


# --------------------------------------------------------------------------- 1. real sketches


def evaluate_retrieval(colorizer: Any, sketch_paths: Sequence[Path], style_paths: Sequence[Path], *,
                       n_refs: int = 9, size: int = 512, seed: int = 0, progress: bool = True,
                       keep_outputs: int = 0, features: bool = True,
                       kid_refs_per_sketch: int = 3) -> dict[str, Any]:
    """Scenario 1: real sketches, each colorized with ``n_refs`` unrelated references.

    Every sketch is fitted to ``size`` (longer side) and cleaned (``sketch.cleanup_sketch``). The
    model colorizes it with all references in one call and once without a reference; the
    baselines ``paste``, ``shuffled_paste`` and ``wash`` use each reference too; ``no_reference``
    repeats the model's reference-free output for every reference (so its top-1 is at most
    chance). Per method: top-1 retrieval, medians of hue entropy, colorfulness and line fidelity.
    With ``features``, EfficientNet-Lite0 features under ``"_features"`` of
    ``kid_refs_per_sketch`` outputs per sketch and method (references ``3 i, 3 i + 1, ...`` modulo
    ``n_refs`` for sketch ``i``, so all references take turns), and of two KID probes (``gray``:
    the wash in neutral gray; ``lines``: the bare sketch).
    """
    from ..sketch import cleanup_sketch

    colorizer = load_colorizer(colorizer)
    refs_paths = pick_references(style_paths, n_refs, seed)
    refs = [_load_rgb(p) for p in refs_paths]
    names = ("model", "paste", "shuffled_paste", "wash", "no_reference")
    stats: dict[str, dict[str, list[float]]] = {
        n: {"hits": [], "entropy": [], "colorful": [], "fidelity": []} for n in names}
    feats: dict[str, list[np.ndarray]] = {n: [] for n in names + ("gray", "lines")}
    per_sketch: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    targets = np.arange(len(refs))
    for i, path in enumerate(_progress(sketch_paths, desc="real sketches", total=len(sketch_paths),
                                       enabled=progress)):
        kid_refs = sorted({(kid_refs_per_sketch * i + k) % len(refs) for k in range(kid_refs_per_sketch)})
        sketch = cleanup_sketch(resize_long_side(_load_gray(path), size))
        outputs = _as_arrays(colorizer.colorize(sketch, styles=refs, hints=None, size=size, seed=seed))
        if len(outputs) != len(refs):
            raise S2PError(f"the colorizer returned {len(outputs)} images for {len(refs)} references")
        bare = _as_arrays(colorizer.colorize(sketch, styles=None, hints=None, size=size, seed=seed))[0]
        figure = figure_mask(sketch)
        colors = [mean_color(r) for r in refs]
        by_method = {
            "model": outputs,
            "paste": [paste(sketch, r) for r in refs],
            "shuffled_paste": [shuffled_paste(sketch, r, seed=seed + j) for j, r in enumerate(refs)],
            "wash": [wash(sketch, c, figure) for c in colors],
            "no_reference": [bare] * len(refs),
        }
        row: dict[str, Any] = {"sketch": Path(path).name}
        for name, outs in by_method.items():
            found = style_retrieval(outs, refs)
            stats[name]["hits"].extend((found == targets).astype(float).tolist())
            unique = outs[:1] if name == "no_reference" else outs
            for out in unique:
                stats[name]["entropy"].append(hue_entropy(out))
                stats[name]["colorful"].append(colorfulness(out))
                stats[name]["fidelity"].append(line_fidelity(out, sketch))
            if features:
                feats[name].extend(unique if name == "no_reference" else [outs[j] for j in kid_refs])
            row[f"{name}_retrieved"] = [int(i) for i in found]
        if features:
            feats["gray"].extend(gray_wash(sketch, colors[j], figure) for j in kid_refs)
            feats["lines"].append(_gray_to_rgb(sketch))
        per_sketch.append(row)
        if len(kept) < keep_outputs:
            j = len(kept) % len(refs)
            kept.append({"name": Path(path).stem, "sketch": sketch, "reference": refs[j],
                         **{n: by_method[n][j] for n in names}})
    methods = {
        n: {"style_top1": _mean(s["hits"]), "hue_entropy_median": _median(s["entropy"]),
            "colorfulness_median": _median(s["colorful"]), "line_fidelity_median": _median(s["fidelity"])}
        for n, s in stats.items()}
    result: dict[str, Any] = {
        "references": [p.name for p in refs_paths],
        "n_sketches": len(per_sketch),
        "n_outputs": len(per_sketch) * len(refs),
        "chance": 1.0 / len(refs),
        "reference_colorfulness_median": _median(colorfulness(resize_long_side(r, size)) for r in refs),
        "methods": methods,
        "per_sketch": per_sketch,
    }
    if features:
        result["_features"] = {n: image_features(_progress(v, desc=f"features {n}", total=len(v),
                                                           enabled=progress))
                               for n, v in feats.items()}
    if keep_outputs:
        result["_images"] = kept
    return result


def real_features(illustration_paths: Sequence[Path], *, n_real: int = 600, size: int = 512,
                  progress: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features of ``n_real`` evenly spaced illustrations, split alternately into (pool, probe)."""
    paths = sorted((Path(p) for p in illustration_paths), key=lambda p: p.name)
    if n_real < len(paths):
        idx = np.linspace(0, len(paths) - 1, num=n_real).round().astype(int)
        paths = [paths[i] for i in sorted(set(idx.tolist()))]
    imgs = (resize_long_side(_load_rgb(p), size) for p in paths)
    feats = image_features(_progress(imgs, desc="real illustrations", total=len(paths), enabled=progress))
    return feats[0::2], feats[1::2], [p.name for p in paths]


# --------------------------------------------------------------------------- 2. held-out pairs


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
    for i, path in enumerate(_progress(paths, desc="held-out pairs", total=len(paths), enabled=progress)):
        target = resize_long_side(_load_rgb(path), size)
        h, w = target.shape[:2]
        sketch = extract_sketch(target, method=extractor)
        lines = _gray_to_rgb(sketch)
        labels = segment_color_regions(target, seed=seed)
        flipped = flipped_recrop(target)
        shuffled = shuffle_patches(target, seed=seed)
        other = resize_long_side(_load_rgb(paths[(i + len(paths) // 2) % len(paths)]), size)
        rotated = rotated_zoomed(target)
        style = resize_long_side(_load_rgb(style_paths[i % len(style_paths)]), size) if style_paths else None
        extra_refs = [rotated] + ([style] if style is not None else [])
        model_outs = _as_arrays(colorizer.colorize(sketch, styles=[flipped, shuffled, other, *extra_refs], hints=None,
                                                   size=size, seed=seed))
        model_extra, model_outs = model_outs[3:], model_outs[:3]
        model_none = _as_arrays(colorizer.colorize(sketch, styles=None, hints=None, size=size, seed=seed))[0]
        hints = deterministic_hints(target, hint_count, seed=seed)
        hinted = (_as_arrays(colorizer.colorize(sketch, styles=None, hints=hints, size=size, seed=seed))[0]
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
        "floor_psnr": _mean(r["floor_psnr"] for r in rows),
        "methods": summarize_pairs(rows),
        "n_in_legacy_training_split": sum(r["in_legacy_training_split"] for r in rows),
        "per_pair": rows,
    }
    unseen = [r for r in rows if not r["in_legacy_training_split"]]
    result["methods_on_pairs_outside_legacy_training"] = summarize_pairs(unseen) if unseen else None
    if features:
        result["_features"] = {n: image_features(_progress(v, desc=f"pair features {n}", total=len(v),
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
            m[key] = _mean(v.get(key) for v in vals)
        if m["psnr_no_reference"] is not None:
            for key, src in (("reference_effect_own_db", "psnr_own_flipped"),
                             ("reference_effect_own_shuffled_db", "psnr_own_shuffled"),
                             ("reference_effect_other_db", "psnr_other")):
                m[key] = _mean(v[src] - v["psnr_no_reference"] for v in vals if src in v)
        out[name] = {k: v for k, v in m.items() if v is not None}
    wash_region = out.get("wash", {}).get("region_de00")
    for m in out.values():
        if "region_de00" in m:
            m["region_de00_ratio_to_wash"] = _ratio(m["region_de00"], wash_region)
    return out


# --------------------------------------------------------------------------- 3. Hint-AUC


def hint_auc_unavailable_reason() -> str | None:
    """None when ``hintauc`` imports, else why not and how to install it."""
    try:
        import hintauc  # type: ignore[import-not-found]  # noqa: F401
    except Exception as exc:  # any import failure means: not available here
        return (f"not measured: hintauc cannot be imported ({type(exc).__name__}: {exc}); install with "
                f"{HINT_AUC_INSTALL}")
    return None


def evaluate_hint_auc(colorizer: Any, image_paths: Sequence[Path], *, size: int = 512,
                      extractor: str = "xdog", seed: int = 0, hint_type: str = "scribble",
                      progress: bool = True, methods: Sequence[str] = ("model", "paint_hints")) -> dict[str, Any]:
    """Hint-AUC (the ``hintauc`` package, TVCG 2026) of hint-only colorization, if it is installed.

    For each image (fitted to ``size``; its sketch from ``extractor``) ``hintauc`` derives
    deterministic region hints (``path_method="geodesic"``: the default FilFinder path needs
    astropy < 6, which does not work with numpy 2) at the paper's ratios 0 .. 1; each method
    colorizes at every ratio without a reference (``model``: the colorizer; ``paint_hints``: the
    hints painted under the lines; ``lines``: the bare sketch), and PSNR/SSIM (hintauc's evaluator:
    both images resized to 256 x 256, [0, 1]; the hints come from a 64 px region map) are integrated
    over the ratio by the trapezoid rule, per image (``per_image``) and as their mean. Returns
    ``{"available": False, "reason": ...}`` when the package cannot be imported.
    """
    reason = hint_auc_unavailable_reason()
    if reason is not None:
        return {"available": False, "reason": reason}
    if not image_paths:
        return {"available": False, "reason": "not measured: no image pairs to evaluate"}
    import hintauc  # type: ignore[import-not-found]
    from tqdm.auto import tqdm

    from ..hints import Hints
    from ..sketch import extract_sketch

    colorizer = load_colorizer(colorizer) if "model" in methods else None
    samples = []
    for path in image_paths:
        target = resize_long_side(_load_rgb(path), size)
        samples.append((extract_sketch(target, method=extractor), np.ascontiguousarray(target[:, :, ::-1])))
    alphas = [float(a) for a in hintauc.DEFAULT_ALPHAS]
    results: dict[str, Any] = {}
    for method in methods:
        with tqdm(total=len(samples) * len(alphas), desc=f"Hint-AUC {method}",
                  disable=not progress, leave=False) as bar:

            def colorize_bgr(sample: Mapping[str, Any], method: str = method, bar: Any = bar) -> np.ndarray:
                sketch = np.asarray(sample["line_art"])
                if sketch.ndim == 3:
                    sketch = sketch[:, :, 0]
                color_rgb = np.ascontiguousarray(np.asarray(sample["hint_color"])[:, :, ::-1])
                hints = Hints.from_arrays(color_rgb, np.asarray(sample["hint_mask"]))
                if method == "model":
                    out = _as_arrays(colorizer.colorize(sketch, styles=None, hints=hints, size=size, seed=seed))[0]
                elif method == "paint_hints":
                    out = paint_hints(sketch, hints)
                else:
                    out = _gray_to_rgb(sketch)
                bar.update(1)
                return np.ascontiguousarray(out[:, :, ::-1])

            # one image at a time, so that each image's own Hint-AUC is kept (the trapezoid is linear:
            # the mean of the per-image figures is the Hint-AUC of the mean curve)
            per_image = []
            for path, sample in zip(image_paths, samples):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # the scikit-image SSIM fallback warns on every call
                    res = hintauc.evaluate_colorizer(colorize_bgr, [sample], metrics=("psnr", "ssim"),
                                                     hint_type=hint_type, path_method="geodesic")
                per_image.append((Path(path).name, res))
        results[method] = {
            "psnr": float(np.mean([r["hint_auc"]["psnr"] for _, r in per_image])),
            "ssim": float(np.mean([r["hint_auc"]["ssim"] for _, r in per_image])),
            "per_alpha": {f"{a:g}": {k: float(np.mean([r["per_alpha"][a][k] for _, r in per_image]))
                                     for k in ("psnr", "ssim")} for a in alphas},
            "per_image": {name: {"psnr": float(r["hint_auc"]["psnr"]), "ssim": float(r["hint_auc"]["ssim"])}
                          for name, r in per_image},
        }
    return {"available": True, "n_images": len(samples), "hint_type": hint_type, "path_method": "geodesic",
            "alphas": alphas,
            "version": getattr(hintauc, "__version__", None), "methods": results}


# --------------------------------------------------------------------------- training statistics


def _cache_root(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "s2p_lab"


_STATS_VERSION = 1


def _quartiles(values: Sequence[float]) -> dict[str, float | None]:
    vals = _finite(values)
    if not vals:
        return {"median": None, "q25": None, "q75": None}
    q25, q50, q75 = np.percentile(vals, [25, 50, 75])
    return {"median": float(q50), "q25": float(q25), "q75": float(q75)}


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
        img = resize_long_side(_load_rgb(p), size)
        colorful.append(colorfulness(img))
        entropies.append(hue_entropy(img))
    stats = {"key": key, "n_images": len(paths), "size": size,
             "colorfulness": _quartiles(colorful), "hue_entropy": _quartiles(entropies)}
    try:
        from ..fileio import write_bytes_atomic

        write_bytes_atomic(cache, json.dumps(stats, indent=1).encode("utf-8"))
    except OSError:
        pass
    return {**stats, "cached": False}


# --------------------------------------------------------------------------- targets and assembly


def score_targets(metrics: Mapping[str, Any], reasons: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every target of :data:`TARGETS` for one method's metrics: value, op, threshold, pass.

    ``pass`` is None when the value was not measured (then ``reason`` says why). Returns
    ``{"targets": ..., "passed": ..., "not_measured": [...]}``; ``passed`` is True only when every
    target was measured and met.
    """
    reasons = reasons or {}
    targets: dict[str, Any] = {}
    for key, (op, threshold) in TARGETS.items():
        value = metrics.get(key)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            targets[key] = {"value": None, "op": op, "threshold": threshold, "pass": None,
                            "reason": reasons.get(key, "not measured")}
            continue
        ok = value >= threshold if op == ">=" else value <= threshold
        targets[key] = {"value": float(value), "op": op, "threshold": threshold, "pass": bool(ok)}
    not_measured = [k for k, t in targets.items() if t["pass"] is None]
    passed = not not_measured and all(t["pass"] for t in targets.values())
    return {"targets": targets, "passed": passed, "not_measured": not_measured}


def json_safe(obj: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, non-finite floats to None, ``_private`` keys dropped."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


_NOT_APPLICABLE = {
    "paste": "takes no hints", "shuffled_paste": "takes no hints", "wash": "takes no hints",
    "no_reference": "the model's hint-only runs are already without a reference",
    "paint_hints": "hints only: no reference, no sketch-only output",
    "random_assignment": "colors regions from a reference: no hints, no real-sketch run",
    "nearest_feature": "colors regions from a reference: no hints, no real-sketch run",
}


def assemble(settings: dict[str, Any], retrieval: Mapping[str, Any] | None, pairs: Mapping[str, Any] | None,
             hint_auc: Mapping[str, Any] | None, kid_result: Mapping[str, Any] | None) -> dict[str, Any]:
    """The result dict: the model's metrics and targets, and the same for every baseline."""
    per_method: dict[str, dict[str, Any]] = {m: {} for m in METHODS}
    reasons: dict[str, dict[str, str]] = {m: {} for m in METHODS}
    for m in METHODS:
        if retrieval and m in retrieval["methods"]:
            per_method[m].update(retrieval["methods"][m])
        if pairs and m in pairs["methods"]:
            per_method[m].update(pairs["methods"][m])
        if kid_result and m in kid_result["sets"]:
            per_method[m]["kid"] = kid_result["sets"][m]["kid"]
            per_method[m]["kid_ratio_to_wash"] = kid_result["sets"][m].get("ratio_to_wash")
        if hint_auc and hint_auc.get("available") and m in hint_auc["methods"]:
            per_method[m]["hint_auc_psnr"] = hint_auc["methods"][m]["psnr"]
            per_method[m]["hint_auc_ssim"] = hint_auc["methods"][m]["ssim"]
        for key in TARGETS:
            if key.startswith("hint_auc") and m in ("model", "paint_hints"):
                reasons[m][key] = (hint_auc or {}).get("reason") or f"not measured: install with {HINT_AUC_INSTALL}"
            elif m in _NOT_APPLICABLE:
                reasons[m][key] = f"not applicable: {_NOT_APPLICABLE[m]}"
            if retrieval is None and key in ("style_top1", "hue_entropy_median", "kid_ratio_to_wash"):
                reasons[m][key] = "not measured: no real sketches and style references given"
            if pairs is None and key.startswith(("region", "reference")):
                reasons[m][key] = "not measured: no held-out pairs given"
    model_scored = score_targets(per_method["model"], reasons["model"])
    baselines = {}
    for m in METHODS[1:]:
        scored = score_targets(per_method[m], reasons[m])
        baselines[m] = {**{k: per_method[m].get(k) for k in METRICS}, **scored}
    result: dict[str, Any] = {
        "settings": settings,
        "model": {k: per_method["model"].get(k) for k in METRICS},
        "targets": model_scored["targets"],
        "passed": model_scored["passed"],
        "not_measured": model_scored["not_measured"],
        "targets_checked": len(TARGETS) - len(model_scored["not_measured"]),
        "baselines": baselines,
        "kid": kid_result,
        "retrieval": retrieval,
        "pairs": pairs,
        "hint_auc": hint_auc,
        "definitions": DEFINITIONS,
    }
    return json_safe(result)


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


def pair_kid(pairs: Mapping[str, Any], real_pool: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """KID to the real pool of each calibration set of the held-out pairs (same drawings in all).

    ``ordered_as_a_person_would``: ``recolored`` < ``wash`` < ``gray`` < ``lines``, the check that
    the features see what people see; the model's place among them is the finding.
    """
    sets = {name: kid(real_pool, f, seed=seed) for name, f in pairs["_features"].items()}
    values = {k: v["kid"] for k, v in sets.items()}
    chain = [values[k] for k in ("recolored", "wash", "gray", "lines")]
    order = sorted((k for k in values if math.isfinite(values[k])), key=values.get)
    return {"n_pairs": pairs["n_pairs"], "sets": sets, "order_best_first": order,
            "ordered_as_a_person_would": bool(all(a < b for a, b in zip(chain, chain[1:])))}


def compute_kid(retrieval: Mapping[str, Any], real_pool: np.ndarray, real_probe: np.ndarray,
                seed: int = 0) -> dict[str, Any]:
    """KID to the real pool of: the real probe, every method's outputs, and the gray/lines probes."""
    sets: dict[str, Any] = {"real": kid(real_pool, real_probe, seed=seed)}
    for name, feats in retrieval["_features"].items():
        sets[name] = kid(real_pool, feats, seed=seed)
    wash_kid = sets.get("wash", {}).get("kid")
    for entry in sets.values():
        entry["ratio_to_wash"] = _ratio(entry["kid"], wash_kid)
    order = sorted((k for k in sets if sets[k]["kid"] is not None and math.isfinite(sets[k]["kid"])),
                   key=lambda k: sets[k]["kid"])
    return {"n_real_pool": len(real_pool), "n_real_probe": len(real_probe),
            "features": "EfficientNet-Lite0 ImageNet, 1280-d pooled head, 224 px white-padded square",
            "sets": sets, "order_best_first": order}


def evaluate(colorizer: Any, data_dir: Path, *, n_refs: int = 9, size: int = 512,
             n_sketches: int | None = None, n_pairs: int | None = 48, hint_count: int = 8,
             seed: int = 0, grid_path: Path | None = None, progress: bool = True,
             extractor: str = "xdog", hint_auc_pairs: int | None = 16, n_real: int = 400,
             include_training: bool = False) -> dict[str, Any]:
    """The whole benchmark on a data root holding ``illustrations/``, ``sketches/``, ``styles/``.

    1. :func:`evaluate_retrieval` on the (first ``n_sketches``, name order) real sketches with
       ``n_refs`` seeded references from ``styles/``; KID of every method's outputs to ``n_real``
       evenly spaced illustrations (alternately a pool and a real-vs-real probe).
    2. :func:`evaluate_pairs` on ``n_pairs`` evenly spaced held-out illustrations of
       ``splits.split_paths`` (None: all; with ``include_training`` of all illustrations).
    3. :func:`evaluate_hint_auc` on ``hint_auc_pairs`` evenly spaced pairs of those (None: all),
       or the reason it was not measured.

    ``colorizer``: a ``Colorizer`` (None loads the shipped weights). ``grid_path``: also save a
    picture of sketch, reference, model and baselines side by side. Returns a JSON-ready dict.
    """
    from ..splits import split_paths

    data_dir = Path(data_dir)
    colorizer = load_colorizer(colorizer)
    sketches = list_images(data_dir / "sketches")[:n_sketches]
    styles = list_images(data_dir / "styles")
    illustrations = list_images(data_dir / "illustrations")
    _, held = split_paths(illustrations)
    pair_paths = evenly(sorted(illustrations) if include_training else held, n_pairs)
    retrieval = evaluate_retrieval(colorizer, sketches, styles, n_refs=n_refs, size=size, seed=seed,
                                   progress=progress, keep_outputs=3 if grid_path else 0)
    pool, probe, _ = real_features(illustrations, n_real=n_real, size=size, progress=progress)
    kid_result = compute_kid(retrieval, pool, probe, seed=seed)
    pairs = evaluate_pairs(colorizer, pair_paths, size=size, extractor=extractor, hint_count=hint_count,
                           seed=seed, progress=progress, keep_outputs=2 if grid_path else 0, features=True,
                           style_paths=styles)
    kid_result["held_out_pairs"] = pair_kid(pairs, pool, seed=seed)
    hint_auc = evaluate_hint_auc(colorizer, evenly(pair_paths, hint_auc_pairs), size=size,
                                 extractor=extractor, seed=seed, progress=progress)
    if grid_path is not None:
        from .report import save_grid

        save_grid(Path(grid_path), retrieval.get("_images", []), pairs.get("_images", []))
    settings = {
        "data_dir": str(data_dir), "size": size, "n_refs": n_refs, "seed": seed, "extractor": extractor,
        "hint_count": hint_count, "references": retrieval["references"], "n_sketches": len(sketches),
        "n_pairs": len(pair_paths), "n_real": n_real,
        "n_hint_auc_pairs": hint_auc.get("n_images", 0),
        "held_out_split": "s2p_lab.splits.split_paths (by source group)" if not include_training
        else "all illustrations (training images included)",
        "held_out_groups": sorted({_group(p) for p in pair_paths}),
        "sketch_cleanup": "sketch.cleanup_sketch",
    }
    return assemble(settings, retrieval, pairs, hint_auc, kid_result)


def _group(path: Path) -> str:
    from ..splits import source_group

    return source_group(path)


def evenly(paths: Sequence[Path], n: int | None) -> list[Path]:
    """``n`` evenly spaced items of a name-sorted list (all when ``n`` is None or large)."""
    paths = sorted((Path(p) for p in paths), key=lambda p: p.name)
    if n is None or n >= len(paths):
        return paths
    if n <= 0:
        return []
    idx = np.linspace(0, len(paths) - 1, num=n).round().astype(int)
    return [paths[i] for i in sorted(set(idx.tolist()))]


