"""Scenario 1 of the benchmark: real sketches, each colorized with unrelated references; the model
and the baselines scored by style retrieval, hue entropy, colorfulness and line fidelity."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import S2PError
from ..imageio import resize_long_side
from .baselines import figure_mask, gray_wash, mean_color, paste, shuffled_paste, wash
from .features import image_features
from .inputs import as_arrays, gray_to_rgb, load_colorizer, load_gray, load_rgb, pick_references, progress_bar
from .metrics import colorfulness, hue_entropy, line_fidelity, style_retrieval
from .scoring import mean_of, median_of


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
    refs = [load_rgb(p) for p in refs_paths]
    names = ("model", "paste", "shuffled_paste", "wash", "no_reference")
    stats: dict[str, dict[str, list[float]]] = {
        n: {"hits": [], "entropy": [], "colorful": [], "fidelity": []} for n in names}
    feats: dict[str, list[np.ndarray]] = {n: [] for n in names + ("gray", "lines")}
    per_sketch: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    targets = np.arange(len(refs))
    for i, path in enumerate(progress_bar(sketch_paths, desc="real sketches", total=len(sketch_paths),
                                          enabled=progress)):
        kid_refs = sorted({(kid_refs_per_sketch * i + k) % len(refs) for k in range(kid_refs_per_sketch)})
        sketch = cleanup_sketch(resize_long_side(load_gray(path), size))
        outputs = as_arrays(colorizer.colorize(sketch, styles=refs, hints=None, size=size, seed=seed))
        if len(outputs) != len(refs):
            raise S2PError(f"the colorizer returned {len(outputs)} images for {len(refs)} references")
        bare = as_arrays(colorizer.colorize(sketch, styles=None, hints=None, size=size, seed=seed))[0]
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
            feats["lines"].append(gray_to_rgb(sketch))
        per_sketch.append(row)
        if len(kept) < keep_outputs:
            j = len(kept) % len(refs)
            kept.append({"name": Path(path).stem, "sketch": sketch, "reference": refs[j],
                         **{n: by_method[n][j] for n in names}})
    methods = {
        n: {"style_top1": mean_of(s["hits"]), "hue_entropy_median": median_of(s["entropy"]),
            "colorfulness_median": median_of(s["colorful"]), "line_fidelity_median": median_of(s["fidelity"])}
        for n, s in stats.items()}
    result: dict[str, Any] = {
        "references": [p.name for p in refs_paths],
        "n_sketches": len(per_sketch),
        "n_outputs": len(per_sketch) * len(refs),
        "chance": 1.0 / len(refs),
        "reference_colorfulness_median": median_of(colorfulness(resize_long_side(r, size)) for r in refs),
        "methods": methods,
        "per_sketch": per_sketch,
    }
    if features:
        result["_features"] = {n: image_features(progress_bar(v, desc=f"features {n}", total=len(v),
                                                              enabled=progress))
                               for n, v in feats.items()}
    if keep_outputs:
        result["_images"] = kept
    return result
