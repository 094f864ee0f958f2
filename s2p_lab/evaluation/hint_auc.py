"""Scenario 3 of the benchmark: Hint-AUC (the ``hintauc`` package) of hint-only colorization, when
that package is installed."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..imageio import resize_long_side
from .baselines import paint_hints
from .inputs import as_arrays, gray_to_rgb, load_colorizer, load_rgb

HINT_AUC_INSTALL = "scripts/install_hintauc.sh"


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
        target = resize_long_side(load_rgb(path), size)
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
                    out = as_arrays(colorizer.colorize(sketch, styles=None, hints=hints, size=size, seed=seed))[0]
                elif method == "paint_hints":
                    out = paint_hints(sketch, hints)
                else:
                    out = gray_to_rgb(sketch)
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
