"""Colorfulness and hue entropy of the training illustrations (median and quartiles), cached on disk."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..imageio import resize_long_side
from .inputs import load_rgb, progress_bar
from .metrics import colorfulness, hue_entropy
from .scoring import finite_values


def _cache_root(cache_dir: Path | None) -> Path:
    if cache_dir is not None:
        return Path(cache_dir)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "s2p_lab"


_STATS_VERSION = 1


def _quartiles(values: Sequence[float]) -> dict[str, float | None]:
    vals = finite_values(values)
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
    for p in progress_bar(paths, desc="training statistics", total=len(paths), enabled=progress):
        img = resize_long_side(load_rgb(p), size)
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
