"""The benchmark's inputs: image folders and files, the seeded choice of references, evenly spaced
picks, the colorizer to score, progress bars, and the colorizer's outputs as arrays."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import S2PError
from ..fileio import IMAGE_SUFFIXES, list_image_files

IMAGE_EXTENSIONS = IMAGE_SUFFIXES


def list_images(folder: Path) -> list[Path]:
    """Image files of a folder (sorted); ``S2PError`` when it is missing or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise S2PError(f"not a directory: {folder}")
    paths = list_image_files(folder)
    if not paths:
        raise S2PError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) in {folder}")
    return paths


def load_rgb(path: Path) -> np.ndarray:
    """An image file as ``uint8`` RGB."""
    from ..imageio import load_image

    return load_image(path, mode="RGB")


def load_gray(path: Path) -> np.ndarray:
    """An image file as ``uint8`` gray."""
    from ..imageio import load_image

    return load_image(path, mode="L")


def progress_bar(iterable: Iterable[Any], *, desc: str, total: int | None, enabled: bool) -> Iterable[Any]:
    """``iterable`` with a tqdm bar that goes away when done (none unless ``enabled``)."""
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


def evenly(paths: Sequence[Path], n: int | None) -> list[Path]:
    """``n`` evenly spaced items of a name-sorted list (all when ``n`` is None or large)."""
    paths = sorted((Path(p) for p in paths), key=lambda p: p.name)
    if n is None or n >= len(paths):
        return paths
    if n <= 0:
        return []
    idx = np.linspace(0, len(paths) - 1, num=n).round().astype(int)
    return [paths[i] for i in sorted(set(idx.tolist()))]


def as_arrays(images: Sequence[Any]) -> list[np.ndarray]:
    """The colorizer's outputs (PIL images or arrays) as RGB arrays."""
    return [np.asarray(im.convert("RGB") if hasattr(im, "convert") else im) for im in images]


def load_colorizer(colorizer: Any, weights: Any = None, device: str | None = None) -> Any:
    """``colorizer`` itself, or the shipped (or ``weights``) ``Colorizer`` when it is None."""
    if colorizer is not None:
        return colorizer
    from ..colorizer import Colorizer

    return Colorizer.from_pretrained(weights=weights, device=device, reference_store=False)  # one-off references


def gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    """A gray ``HxW`` image as ``HxWx3``."""
    return np.repeat(gray[:, :, None], 3, axis=2)
