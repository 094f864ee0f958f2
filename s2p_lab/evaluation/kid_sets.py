"""KID of the benchmark's image sets to real illustrations: the real pool and probe, every method's
outputs on real sketches, and the calibration sets of the held-out pairs."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..imageio import resize_long_side
from .features import image_features, kid
from .inputs import load_rgb, progress_bar
from .scoring import ratio_of


def real_features(illustration_paths: Sequence[Path], *, n_real: int = 600, size: int = 512,
                  progress: bool = True) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Features of ``n_real`` evenly spaced illustrations, split alternately into (pool, probe)."""
    paths = sorted((Path(p) for p in illustration_paths), key=lambda p: p.name)
    if n_real < len(paths):
        idx = np.linspace(0, len(paths) - 1, num=n_real).round().astype(int)
        paths = [paths[i] for i in sorted(set(idx.tolist()))]
    imgs = (resize_long_side(load_rgb(p), size) for p in paths)
    feats = image_features(progress_bar(imgs, desc="real illustrations", total=len(paths), enabled=progress))
    return feats[0::2], feats[1::2], [p.name for p in paths]


def compute_kid(retrieval: Mapping[str, Any], real_pool: np.ndarray, real_probe: np.ndarray,
                seed: int = 0) -> dict[str, Any]:
    """KID to the real pool of: the real probe, every method's outputs, and the gray/lines probes."""
    sets: dict[str, Any] = {"real": kid(real_pool, real_probe, seed=seed)}
    for name, feats in retrieval["_features"].items():
        sets[name] = kid(real_pool, feats, seed=seed)
    wash_kid = sets.get("wash", {}).get("kid")
    for entry in sets.values():
        entry["ratio_to_wash"] = ratio_of(entry["kid"], wash_kid)
    order = sorted((k for k in sets if sets[k]["kid"] is not None and math.isfinite(sets[k]["kid"])),
                   key=lambda k: sets[k]["kid"])
    return {"n_real_pool": len(real_pool), "n_real_probe": len(real_probe),
            "features": "EfficientNet-Lite0 ImageNet, 1280-d pooled head, 224 px white-padded square",
            "sets": sets, "order_best_first": order}


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
