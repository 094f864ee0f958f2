"""``PreparedSketch``: a sketch cleaned, sized and encoded once, what every later stage reads.

``Colorizer.prepare_sketch`` makes it (cached by content and size); the matcher's region features
and the region map are added on first use.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .matching.features import PartFeatures
from .models import SketchFeatures
from .regions import RegionMap

__all__ = ["PreparedSketch"]


@dataclass
class PreparedSketch:
    """A sketch ready for the generator, with everything derived from it."""

    key: str
    lines: np.ndarray  # cleaned line art at the original size, uint8, paper = 255
    original_size: tuple[int, int]  # (height, width)
    tensor: torch.Tensor  # (1, 1, h, w), lines = 1, at the processing size
    features: SketchFeatures
    regions: RegionMap | None = None  # line-bounded regions at the processing size, made on first use
    parts: PartFeatures | None = None  # the regions' pooled features for the matcher, made on first use

    @property
    def processing_size(self) -> tuple[int, int]:
        return tuple(self.tensor.shape[-2:])  # type: ignore[return-value]

    @property
    def processing_lines(self) -> np.ndarray:
        """The cleaned line art at the processing size, uint8, paper = 255 (what the network reads)."""
        return np.rint(255.0 - self.tensor[0, 0].numpy() * 255.0).astype(np.uint8)
