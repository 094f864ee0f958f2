"""What the benchmarks colorize: the hint scenarios, the sketches, references and training
folder written for a run, and the colorizer a measurement's spec asks for."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from ..colorizer import Colorizer

REFERENCES = 9
SAMPLE_DATA = Path(__file__).resolve().parents[2] / "sample_data"

# hints of the edit scenario, as fractions of width and height
HINTS_BEFORE = {
    "points": [
        {"x": 0.25, "y": 0.30, "rgb": [220, 60, 50], "radius": 0.01},
        {"x": 0.70, "y": 0.25, "rgb": [40, 120, 220], "radius": 0.01},
        {"x": 0.50, "y": 0.78, "rgb": [60, 180, 90], "radius": 0.01},
    ]
}
HINTS_EDIT = {"points": HINTS_BEFORE["points"] + [{"x": 0.62, "y": 0.55, "rgb": [240, 200, 40], "radius": 0.01}]}
HINTS_WIDE = {
    "points": HINTS_EDIT["points"]
    + [
        {"x": 0.04, "y": 0.04, "rgb": [120, 40, 160], "radius": 0.01},
        {"x": 0.96, "y": 0.96, "rgb": [250, 150, 180], "radius": 0.01},
    ]
}


# ============================================================================ images


def write_images(folder: Path, sizes: list[int], quick: bool) -> dict:
    """A sketch per size (1.5x the processing size), nine references and a training folder."""
    import cv2

    from ..imageio import load_image, save_image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sketch_files = sorted((SAMPLE_DATA / "sketches").glob("*.png"))
    style_files = sorted((SAMPLE_DATA / "styles").glob("*.png"))
    base = load_image(sketch_files[0], mode="RGB") if sketch_files else None
    out: dict = {"sketches": {}, "styles": [], "train": str(folder / "train")}
    for size in sizes:
        side = size * 3 // 2
        sketch = cv2.resize(base, (side, side), interpolation=cv2.INTER_AREA if base.shape[0] > side else cv2.INTER_CUBIC) \
            if base is not None else synthetic_sketch(side, rng)
        out["sketches"][str(size)] = str(save_image(sketch, folder / f"sketch-{size}.png"))
    for i in range(REFERENCES):
        if style_files:
            ref = load_image(style_files[i % len(style_files)], mode="RGB")
            if i >= len(style_files):  # more references than sample styles: a hue-shifted copy
                hsv = cv2.cvtColor(ref, cv2.COLOR_RGB2HSV)
                hsv[..., 0] = (hsv[..., 0].astype(int) + 30 * (i // len(style_files))) % 180
                ref = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        else:
            ref = synthetic_reference(256, rng)
        out["styles"].append(str(save_image(ref, folder / f"style-{i}.png")))
    train = folder / "train"
    for i in range(6 if quick else 16):
        image = synthetic_reference(160 if quick else 320, rng)
        cv2.polylines(image, [rng.integers(0, image.shape[0], (6, 2)).astype(np.int32)], False, (20, 20, 20), 2, cv2.LINE_AA)
        save_image(image, train / f"illustration-{i:02d}.png")
    return out


def synthetic_sketch(side: int, rng: np.random.Generator) -> np.ndarray:
    """Black anti-aliased curves and ellipses on white (uint8 HxW)."""
    import cv2

    canvas = np.full((side, side), 255, np.uint8)
    thickness = max(1, side // 300)
    for _ in range(14):
        center = tuple(int(v) for v in rng.integers(side // 8, side * 7 // 8, 2))
        axes = tuple(int(v) for v in rng.integers(side // 20, side // 4, 2))
        cv2.ellipse(canvas, center, axes, float(rng.uniform(0, 180)), 0, 360, 0, thickness, cv2.LINE_AA)
    for _ in range(10):
        pts = np.cumsum(rng.normal(0, side / 25, (12, 2)), axis=0) + rng.integers(0, side, 2)
        cv2.polylines(canvas, [pts.astype(np.int32)], False, 0, thickness, cv2.LINE_AA)
    return canvas


def synthetic_reference(side: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random color field with a few colored discs (uint8 HxWx3)."""
    import cv2

    grid = rng.integers(0, 256, (4, 4, 3)).astype(np.uint8)
    image = cv2.resize(grid, (side, side), interpolation=cv2.INTER_CUBIC)
    for _ in range(6):
        center = tuple(int(v) for v in rng.integers(0, side, 2))
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.circle(image, center, int(rng.integers(side // 16, side // 5)), color, -1, cv2.LINE_AA)
    return image


# ============================================================================ the colorizer


def load_colorizer(spec: dict, **kwargs) -> Colorizer:
    """The colorizer a measurement's spec asks for: its weights, device, backend and precision."""
    from ..colorizer import Colorizer

    bf16 = False if spec.get("fp32") else None
    backend = spec.get("backend") or "torch"
    return Colorizer.from_pretrained(spec.get("weights"), device=spec.get("device"), bf16=bf16, backend=backend,
                                     reference_store=False, **kwargs)  # every encoding timed
