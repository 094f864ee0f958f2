"""Where Hint-AUC's error lies: the default colorization beside oracles that borrow part of the truth.

For the images that ``s2p eval`` scores Hint-AUC on (16 evenly spaced held-out illustrations),
each hint ratio's output of the default mode is scored as it is and with one part replaced by the
illustration's own:

* ``line_pixels``: the line pixels (sketch darker than 230, about 6 % of the area) taken from the
  illustration: how much a perfect line rendering could add;
* ``region_means``: each line-bounded region (``Colorizer.regions``) shifted so that its mean color
  is the illustration's, the shading inside kept: how much perfect region colors could add;
* ``line_strength_S``: the lines laid at strength S instead of 1 (``Colorizer(line_overlay=S)``).

The rest (``region_means`` minus the model) is shading inside the regions, which only the network
can supply. Writes JSON (``--json``); prints one line per variant. Needs ``hintauc``
(``scripts/install_hintauc.sh``) and ``../shared/data``.

    python tools/hint_auc_oracles.py --data ../shared/data --json hint_auc_oracles.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

LINE_THRESHOLD = 230


def _region_means(soft: np.ndarray, truth: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """``soft`` with every region's mean color moved to the truth's (uint8, processing size)."""
    out = soft.astype(np.float32)
    flat = labels.ravel()
    pixels = np.bincount(flat, minlength=count) + 1e-6
    for c in range(3):
        offset = np.bincount(flat, (truth[..., c].astype(np.float32) - out[..., c]).ravel(), minlength=count) / pixels
        out[..., c] += offset[labels]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def _lay_lines(colors: np.ndarray, lines: np.ndarray, strength: float, size: tuple[int, int]) -> np.ndarray:
    """``colors`` at ``size`` (height, width) with the sketch lines multiplied in at ``strength``."""
    h, w = size
    if colors.shape[:2] != (h, w):
        colors = cv2.resize(colors, (w, h), interpolation=cv2.INTER_AREA)
    shade = 1.0 - strength * (1.0 - lines.astype(np.float32) / 255.0)
    return np.clip(np.rint(colors.astype(np.float32) * shade[..., None]), 0, 255).astype(np.uint8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--weights", default=None, help="weights folder (default: the shipped ones)")
    parser.add_argument("--images", type=int, default=16, help="evenly spaced held-out images (default 16)")
    parser.add_argument("--strengths", type=float, nargs="*", default=[0.7, 0.85])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)

    import hintauc
    from hintauc.evaluate import hint_inputs
    from hintauc.hints import generate_hints
    from hintauc.metrics import Evaluator

    from s2p_lab.colorizer import Colorizer
    from s2p_lab.evaluation.runner import _load_rgb, evenly, list_images
    from s2p_lab.hints import Hints
    from s2p_lab.imageio import resize_long_side
    from s2p_lab.sketch import extract_sketch
    from s2p_lab.splits import split_paths

    illustrations = args.data / "illustrations"
    if not illustrations.is_dir():
        print(f"error: no illustrations under {args.data}", file=sys.stderr)
        return 2
    # the pairs ``s2p eval`` scores (48 evenly spaced held-out images), then Hint-AUC's 16 of them
    paths = evenly(evenly(split_paths(list_images(illustrations))[1], 48), args.images)
    colorizer = Colorizer.from_pretrained(weights=args.weights)
    evaluator = Evaluator(metrics=("psnr",))
    alphas = [float(a) for a in hintauc.DEFAULT_ALPHAS]
    names = ["model", "line_pixels", "region_means", "line_pixels+region_means",
             *[f"line_strength_{s:g}" for s in args.strengths]]
    scores: dict[str, dict[float, list[float]]] = {n: {a: [] for a in alphas} for n in names}
    for path in tqdm(paths, desc="images"):
        target = resize_long_side(_load_rgb(path), 512)
        h, w = target.shape[:2]
        sketch = extract_sketch(target, method="xdog")
        hint_set = generate_hints(np.ascontiguousarray(target[:, :, ::-1]), size=64, path_method="geodesic")
        prepared = colorizer.prepare_sketch(sketch, 512)
        regions = colorizer.regions(prepared)
        small_truth = cv2.resize(target, regions.shape[::-1], interpolation=cv2.INTER_AREA)
        lines = prepared.lines
        line_px = lines < LINE_THRESHOLD
        for alpha in alphas:
            color_bgr, mask = hint_inputs(hint_set, alpha, "scribble", h, w, tie_break="stable")
            hints = Hints.from_arrays(np.ascontiguousarray(color_bgr[:, :, ::-1]), mask)
            draft = colorizer.render(prepared, colorizer.hint_map(hints, prepared), colorizer.encode_styles(None))[0]
            soft = colorizer.refine(prepared, draft, hints)
            means = _region_means(soft, small_truth, regions.labels, regions.count)
            variants: dict[str, Callable[[], np.ndarray]] = {
                "model": lambda: _lay_lines(soft, lines, 1.0, (h, w)),
                "region_means": lambda: _lay_lines(means, lines, 1.0, (h, w)),
            }
            outs = {n: f() for n, f in variants.items()}
            for base, name in (("model", "line_pixels"), ("region_means", "line_pixels+region_means")):
                out = outs[base].copy()
                out[line_px] = target[line_px]
                outs[name] = out
            for s in args.strengths:
                outs[f"line_strength_{s:g}"] = _lay_lines(soft, lines, s, (h, w))
            for name, out in outs.items():
                scores[name][alpha].append(float(evaluator(out, target)["psnr"]))
    result = {"images": [p.name for p in paths], "alphas": alphas, "line_threshold": LINE_THRESHOLD,
              "weights": args.weights or "shipped", "variants": {}}
    for name in names:
        per_alpha = {a: float(np.mean(v)) for a, v in scores[name].items()}
        per_image = [hintauc.auc.hint_auc({a: scores[name][a][i] for a in alphas}) for i in range(len(paths))]
        result["variants"][name] = {"hint_auc_psnr": hintauc.auc.hint_auc(per_alpha),
                                    "per_alpha": {f"{a:g}": v for a, v in per_alpha.items()},
                                    "per_image": dict(zip(result["images"], per_image))}
        print(f"{name:26s} Hint-AUC {result['variants'][name]['hint_auc_psnr']:.2f} dB  "
              + " ".join(f"{a:g}:{v:.2f}" for a, v in per_alpha.items()))
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
