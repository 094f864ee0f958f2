"""How many of the evaluation's color regions can a per-region color choice get right?

``s2p eval`` scores a colorization on the target illustration's own color regions (its shadows and
lights included, ``segments.segment_color_regions``), and the matcher gives each region of the
sketch one color. This benchmark paints every sketch region with its true median color (the oracle
of any per-region choice, the sketch's lines laid over it) and scores it with ``region_accuracy``
on the held-out pairs of ``s2p eval`` (the same 48 illustrations, XDoG sketches at 512 px), for
several region maps:

- ``outlines_L``: ``regions.region_map`` with ``levels`` L (2 is what the colorizer uses);
- ``balls_R``: ``regions.trapped_ball_regions`` from a ball of radius R px.

With ``--models`` it also colorizes each sketch with the shipped default colorizer (its own
mirrored reference, ``evaluation.baselines.flipped_recrop``) on each map given to it
(``PreparedSketch.regions``), ``flat`` and the default ``soft``, scored the same way: what the
shipped matcher reaches on finer regions without retraining. ``--validation CACHE --seen CACHE``
takes the training illustrations of the first matcher cache folder that the second does not hold
instead (the matcher never saw them), so that maps can be chosen off the held-out pairs.

    python bench/region_ceiling.py ../shared/data --models --json bench/region_ceiling.json

A benchmark, not a test: about 6 minutes on the 2-core CPU with ``--models``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from s2p_lab.evaluation.baselines import flipped_recrop  # noqa: E402
from s2p_lab.evaluation.inputs import evenly, list_images, load_rgb  # noqa: E402
from s2p_lab.evaluation.metrics import region_accuracy, segment_color_regions  # noqa: E402
from s2p_lab.imageio import resize_long_side  # noqa: E402
from s2p_lab.refine import region_medians  # noqa: E402
from s2p_lab.regions import RegionMap, region_map, trapped_ball_regions  # noqa: E402
from s2p_lab.sketch import extract_sketch  # noqa: E402
from s2p_lab.splits import split_paths  # noqa: E402

MAPS = {
    "outlines_1": lambda lines: region_map(lines, levels=1),
    "outlines_2": lambda lines: region_map(lines, levels=2),
    "outlines_3": lambda lines: region_map(lines, levels=3),
    "outlines_4": lambda lines: region_map(lines, levels=4),
    "balls_4": lambda lines: trapped_ball_regions(lines, radius=4),
    "balls_8": lambda lines: trapped_ball_regions(lines, radius=8),
    "balls_12": lambda lines: trapped_ball_regions(lines, radius=12),
    "balls_16": lambda lines: trapped_ball_regions(lines, radius=16),
}
MODEL_MAPS = ("outlines_2", "balls_12")


def under_lines(rgb: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """``rgb`` (uint8) multiplied by the sketch's lines (``ink``: float32 HxW, paper 1)."""
    return (rgb * ink[..., None]).astype(np.uint8)


def oracle_fill(regions: RegionMap, target: np.ndarray, ink: np.ndarray) -> np.ndarray:
    """Every region of ``regions`` (at any size) in the target's median color over its non-line
    pixels (``refine.region_medians``), at the target's size, under the sketch's lines."""
    h, w = target.shape[:2]
    ph, pw = regions.shape
    small = cv2.resize(target, (pw, ph), interpolation=cv2.INTER_AREA)
    colors = region_medians(small, regions.labels, regions.count, ~regions.lines)
    return under_lines(cv2.resize(colors[regions.labels], (w, h), interpolation=cv2.INTER_NEAREST), ink)


def illustrations(data: Path, pairs: int, validation: Path | None, seen: Path | None) -> list[Path]:
    every = list_images(data / "illustrations")
    if validation is None:
        return evenly(split_paths(every)[1], pairs)
    known = {p.stem for p in seen.glob("*.npz")} if seen is not None else set()
    names = sorted(p.stem for p in validation.glob("*.npz") if p.stem not in known and ".partial" not in p.name)
    by_name = {p.stem: p for p in every}
    return evenly([by_name[n] for n in names if n in by_name], pairs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="data root with illustrations/")
    parser.add_argument("--pairs", type=int, default=48)
    parser.add_argument("--models", action="store_true", help="also the shipped colorizer on each of MODEL_MAPS")
    parser.add_argument("--validation", type=Path, default=None, help="a matcher cache folder of training illustrations")
    parser.add_argument("--seen", type=Path, default=None, help="a matcher cache folder whose illustrations to leave out")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    from tqdm.auto import tqdm

    paths = illustrations(args.data, args.pairs, args.validation, args.seen)
    colorizer = None
    if args.models:
        from s2p_lab.colorizer import Colorizer

        colorizer = Colorizer.from_pretrained(reference_store=False)
    scores: dict[str, dict[str, list[float]]] = {name: {"oracle": [], "regions": []} for name in MAPS}
    line_cost: list[float] = []
    started = time.time()
    for path in tqdm(paths, desc="pairs", unit="pair"):
        target = resize_long_side(load_rgb(path), 512)
        h, w = target.shape[:2]
        sketch = extract_sketch(target, method="xdog")
        truth = segment_color_regions(target, seed=0)
        ink = (sketch if sketch.ndim == 2 else sketch[..., 0]).astype(np.float32) / 255.0
        line_cost.append(region_accuracy(under_lines(target, ink), target, truth)["count"])
        reference = flipped_recrop(target)
        prepared = colorizer.prepare_sketch(sketch, size=512) if colorizer is not None else None
        for name, make in MAPS.items():
            lines = prepared.processing_lines if prepared is not None else sketch
            regions = make(lines)
            scores[name]["regions"].append(regions.count)
            scores[name]["oracle"].append(region_accuracy(oracle_fill(regions, target, ink), target, truth)["count"])
            if colorizer is None or name not in MODEL_MAPS:
                continue
            prepared.regions, prepared.parts = regions, None
            for mode in ("flat", "soft"):
                out = np.asarray(colorizer.colorize(prepared, styles=[reference], size=512, mode=mode)[0])
                if out.shape[:2] != (h, w):
                    out = cv2.resize(out, (w, h), interpolation=cv2.INTER_AREA)
                scores[name].setdefault(f"model_{mode}", []).append(region_accuracy(out, target, truth)["count"])
    result = {
        "pairs": len(paths), "split": "validation" if args.validation is not None else "held-out",
        "seconds": round(time.time() - started, 1),
        "target_times_its_lines": float(np.mean(line_cost)),
        "maps": {name: {key: float(np.mean(values)) for key, values in s.items() if values} for name, s in scores.items()},
        "per_pair": {name: s for name, s in scores.items()},
    }
    for name, s in result["maps"].items():
        print(f"{name:12s} " + "  ".join(f"{k} {v:.3f}" for k, v in s.items()))
    if args.json is not None:
        args.json.write_text(json.dumps(result, indent=1, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
