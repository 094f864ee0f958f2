"""Palettes: extract them from a reference or an output, keep them as JSON, lock colors to them.

A palette is a short list of RGB colors (with optional names). ``extract_palette`` clusters an
image's colors in CIELAB (k-means, most used first; near-white paper and near-black lines are left
out when enough other colors exist). Saved as ``{"colors": [[r, g, b], ...], "names": [...]}``.
``Colorizer.colorize(..., palette=...)`` snaps every region to its nearest palette color, so one
character keeps its colors across pages.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from .errors import S2PError
from .fileio import write_bytes_atomic
from .imageio import ImageSource, load_image

__all__ = ["Palette", "PaletteError", "extract_palette", "load_palette"]

MAX_COLORS = 64


class PaletteError(S2PError):
    """A palette file or value cannot be used; the message says why."""


@dataclass
class Palette:
    """An ordered list of RGB colors, each with an optional name."""

    colors: list[tuple[int, int, int]]
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        colors = []
        for i, color in enumerate(self.colors):
            try:
                rgb = tuple(int(v) for v in color)
                ok = len(rgb) == 3 and all(0 <= v <= 255 for v in rgb) and all(float(v) == int(v) for v in color)
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise PaletteError(f"palette color {i} must be [r, g, b] integers 0-255, got {color!r}")
            colors.append(rgb)
        if not colors:
            raise PaletteError("a palette needs at least one color")
        if len(colors) > MAX_COLORS:
            raise PaletteError(f"a palette has at most {MAX_COLORS} colors, got {len(colors)}")
        self.colors = colors
        names = [str(n) for n in self.names]
        if names and len(names) != len(colors):
            raise PaletteError(f"palette has {len(colors)} colors but {len(names)} names")
        self.names = names

    def __len__(self) -> int:
        return len(self.colors)

    def array(self) -> np.ndarray:
        """(K, 3) uint8."""
        return np.array(self.colors, np.uint8).reshape(-1, 3)

    def hex(self) -> list[str]:
        return ["#%02x%02x%02x" % c for c in self.colors]

    def to_dict(self) -> dict:
        out: dict = {"colors": [list(c) for c in self.colors]}
        if self.names:
            out["names"] = list(self.names)
        return out

    @classmethod
    def from_dict(cls, obj: object) -> "Palette":
        if not isinstance(obj, dict) or "colors" not in obj:
            raise PaletteError('a palette is a JSON object {"colors": [[r, g, b], ...]}')
        unknown = set(obj) - {"colors", "names"}
        if unknown:
            raise PaletteError(f"unknown palette key(s): {', '.join(sorted(map(str, unknown)))}")
        if not isinstance(obj["colors"], list) or not isinstance(obj.get("names", []), list):
            raise PaletteError("palette 'colors' and 'names' must be lists")
        return cls(obj["colors"], obj.get("names", []))

    def save(self, path: str | os.PathLike) -> Path:
        """Write the JSON form atomically; returns the path."""
        try:
            return write_bytes_atomic(path, (json.dumps(self.to_dict(), indent=2) + "\n").encode())
        except OSError as exc:
            raise PaletteError(f"{Path(path).name}: cannot write palette ({exc.strerror or exc})") from None

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Palette":
        """Read a palette JSON file."""
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise PaletteError(f"{Path(path).name}: cannot read palette ({exc.strerror or exc})") from None
        try:
            obj = json.loads(text)
        except ValueError as exc:
            raise PaletteError(f"{Path(path).name}: not valid JSON ({exc})") from None
        return cls.from_dict(obj)


def cluster_colors(samples: np.ndarray, k: int, *, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The one k-means of the project's palettes: ``samples`` (N, 3) float32 colors (8-bit CIELAB as
    OpenCV writes it, or RGB) into ``k`` clusters (k-means++ seeding, seeded so that results repeat).
    Returns (centers (k, 3) float32, pixel counts (k,)), most used first; ``extract_palette`` and
    ``explain.palette`` both call it."""
    cv2.setRNGSeed(seed)
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 30, 0.5)
    _, assigned, centers = cv2.kmeans(np.ascontiguousarray(samples, np.float32), k, None, criteria, 3,
                                      cv2.KMEANS_PP_CENTERS)
    counts = np.bincount(assigned.ravel(), minlength=k)
    order = np.argsort(-counts, kind="stable")
    return centers[order], counts[order]


def extract_palette(image: ImageSource, k: int = 8, *, seed: int = 0, keep_extremes: bool = False) -> Palette:
    """The ``k`` main colors of an image (most used first), by k-means in CIELAB.

    Pixels near white (paper) and near black (lines) are left out unless ``keep_extremes`` or
    they are nearly all the image has.
    """
    if not 1 <= int(k) <= MAX_COLORS:
        raise PaletteError(f"k must be 1..{MAX_COLORS}, got {k}")
    rgb = load_image(image, mode="RGB")
    h, w = rgb.shape[:2]
    scale = min(1.0, 128.0 / max(h, w))
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).reshape(-1, 3).astype(np.float32)
    if not keep_extremes:
        middle = (lab[:, 0] > 30) & ~((lab[:, 0] > 245) & (np.abs(lab[:, 1:] - 128).max(axis=1) < 6))
        if middle.sum() >= max(k, lab.shape[0] // 20):
            lab = lab[middle]
    k = min(int(k), len(np.unique(lab, axis=0)))
    centers, _ = cluster_colors(lab, k, seed=seed)
    centers = np.clip(np.rint(centers), 0, 255).astype(np.uint8)
    colors = cv2.cvtColor(centers[None], cv2.COLOR_LAB2RGB)[0]
    return Palette([tuple(int(v) for v in c) for c in colors])


def load_palette(source: "Palette | str | os.PathLike | dict | None", k: int = 8) -> Palette | None:
    """A palette from a ``Palette``, its JSON dict, a ``.json`` file, or an image to extract one from."""
    if source is None or isinstance(source, Palette):
        return source
    if isinstance(source, dict):
        return Palette.from_dict(source)
    if isinstance(source, (str, os.PathLike)):
        if Path(source).suffix.lower() == ".json":
            return Palette.load(source)
        return extract_palette(source, k)
    if isinstance(source, np.ndarray):
        return extract_palette(source, k)
    raise PaletteError(f"a palette is a Palette, a dict, a .json file or an image, got {type(source).__name__}")
