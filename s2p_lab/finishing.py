"""Finishing: a network output at the processing size becomes what the user gets.

``Finisher.finish`` brings one output to the sketch's original size and lays the cleaned line art
over it (the line shade is kept per sketch and strength); ``Finisher.layers`` takes it apart as an
artist stacks it instead (``layers.split_layers``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image

from .prepared import PreparedSketch
from .regions import RegionMap

if TYPE_CHECKING:
    from .layers import Layers

__all__ = ["Finisher", "to_original_size"]


def to_original_size(prepared: PreparedSketch, rgb: np.ndarray) -> np.ndarray:
    """One output (uint8, processing size) at the sketch's original size, without its lines."""
    height, width = prepared.original_size
    rgb = np.ascontiguousarray(rgb)
    if rgb.shape[:2] == (height, width):
        return rgb.copy()
    interp = cv2.INTER_CUBIC if height * width > rgb.shape[0] * rgb.shape[1] else cv2.INTER_AREA
    return cv2.resize(rgb, (width, height), interpolation=interp)


class Finisher:
    """Lays the line art over outputs at their sketch's original size; keeps the last
    ``cache_size`` line shades."""

    def __init__(self, cache_size: int = 8) -> None:
        self.cache_size = cache_size
        self._shades: OrderedDict[str, np.ndarray] = OrderedDict()

    def clear(self) -> None:
        """Forget the kept line shades."""
        self._shades.clear()

    def shade(self, prepared: PreparedSketch, line_overlay: float) -> np.ndarray:
        """uint8 (H, W, 3) line shade at the original size: 255 on paper, darker on the lines."""
        key = f"{prepared.key}:{line_overlay}"
        if key not in self._shades:
            lines = prepared.lines
            if line_overlay != 1.0:
                shade = 255.0 - line_overlay * (255.0 - lines.astype(np.float32))
                lines = np.clip(np.rint(shade), 0, 255).astype(np.uint8)
            self._shades[key] = cv2.merge([lines, lines, lines])
            while len(self._shades) > max(1, self.cache_size):
                self._shades.popitem(last=False)
        self._shades.move_to_end(key)
        return self._shades[key]

    def finish(self, prepared: PreparedSketch, rgb: np.ndarray, line_overlay: float) -> Image.Image:
        """Upsample one output to the sketch's original size and lay the sketch lines over it
        (``line_overlay``: how dark, 1 as drawn, 0 none)."""
        full = to_original_size(prepared, rgb)
        if line_overlay > 0:
            # full * (1 - overlay * (1 - lines)) in one rounded uint8 pass, the shade kept per sketch
            full = cv2.multiply(full, self.shade(prepared, line_overlay), scale=1.0 / 255.0)
        return Image.fromarray(full)

    def layers(self, prepared: PreparedSketch, rgb: np.ndarray, regions: RegionMap, line_overlay: float) -> "Layers":
        """One output taken apart as an artist stacks it (``layers.split_layers``): the line art
        as cleaned, each region's flat color (its median over the region's non-line pixels, from
        ``regions`` at the processing size) and the shading that turns the flat colors into the
        output, at the sketch's original size. ``Layers.color`` is what ``finish`` gives."""
        from .layers import flat_from_regions, split_layers

        full = to_original_size(prepared, rgb)
        height, width = prepared.original_size
        resized = regions.resized(height, width)
        flat = flat_from_regions(full, resized.labels, voters=~resized.lines)
        return split_layers(full, flat, prepared.lines, line_opacity=line_overlay)
