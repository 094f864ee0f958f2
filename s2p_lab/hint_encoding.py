"""The hint encoding: how hints become the network's hint input, the same in training and serving.

The network reads hints as one map (H, W, 4): RGB times alpha, and alpha. Its weights were trained
with one way of drawing that map (``HintEncoding``, read from a training run's synthesis settings):

- **Spread** (``spread_within_reach``): every hint (a click, a stroke, a raster hint) is spread
  over the part of its line-bounded region within ``reach`` of it (a share of the longer side;
  None: the whole region; 0: hints as drawn), so that the shading follows the region.
- **Reference hints** (``with_reference_hints``): point hints matched from a reference, spread as a
  user's, at ``reference_alpha``, never in a region the user's hints reach.
- **Region colors** (``with_region_colors``): the region matcher's color filling each region the
  user's hints leave free, at an alpha of its own.

``data.IllustrationDataset`` draws its training samples with these functions and ``Colorizer``
its inputs, so the two cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .regions import RegionMap

__all__ = ["HintEncoding", "reach_pixels", "spread_within_reach", "to_network_input", "with_reference_hints",
           "with_region_colors"]


@dataclass(frozen=True)
class HintEncoding:
    """How a network was trained to see hints: ``reach``, the share of the longer side each hint
    spreads over its region (None: the whole region; 0: as drawn), and ``reference_alpha``, the
    alpha of reference hints (1: as a user's).

    A field of the model config (``models.ModelConfig.hint_encoding``), so it is saved with the
    weights: training fills it from its synthesis settings (``from_synthesis``) and
    ``Colorizer`` sends hints the same way. The defaults are what a network trained without
    spread or reference hints saw (v0.2 and older, and ``data.SynthesisConfig()``)."""

    reach: float | None = 0.0
    reference_alpha: float = 1.0

    @classmethod
    def from_synthesis(cls, synthesis: object) -> "HintEncoding":
        """The encoding a training run used (``data.SynthesisConfig``, or one as a dict): its
        ``hint_reach`` where it spread hints at all (``p_spread_hints`` > 0, else 0: as drawn), its
        ``reference_hint_alpha`` where it gave reference hints (``p_reference_hints`` > 0, else 1:
        a run that never saw them takes them as a user's hints)."""
        def get(name: str, default: float) -> float:
            value = synthesis.get(name, default) if isinstance(synthesis, dict) else getattr(synthesis, name, default)
            return float(value or 0.0)

        spread = get("p_spread_hints", 0.0) > 0
        with_references = get("p_reference_hints", 0.0) > 0
        return cls(get("hint_reach", 0.03) if spread else 0.0,
                   get("reference_hint_alpha", 0.5) if with_references else 1.0)


def reach_pixels(reach: float | None, shape: tuple[int, ...]) -> float | None:
    """``reach`` (a share of the longer side; None: unbounded) in pixels for a map of ``shape``."""
    return None if reach is None else reach * max(shape[:2])


def spread_within_reach(drawn: np.ndarray, regions: RegionMap, reach: float | None) -> np.ndarray:
    """``drawn`` (H, W, 4) with every hint spread over its region within ``reach`` (a share of the
    longer side; None: the whole region; 0: ``drawn`` itself, as drawn); drawn pixels kept."""
    from .refine import spread_hints

    if reach == 0:
        return drawn
    return spread_hints(drawn, regions, reach_pixels(reach, drawn.shape))


def with_reference_hints(hints: np.ndarray, matched: np.ndarray, regions: RegionMap, alpha: float) -> np.ndarray:
    """``hints`` (H, W, 4) plus the spread reference hints ``matched`` at ``alpha``, leaving out
    every region the user's ``hints`` reach (as ``correspondence.reference_hints`` places them)."""
    hinted = hints[..., 3] > 0
    keep = matched[..., 3] > 0
    if hinted.any():
        keep &= ~np.isin(regions.labels, np.unique(regions.labels[hinted]))
    out = np.array(hints, np.float32, copy=True)
    out[keep] = matched[keep] * np.float32(alpha)
    return out


def with_region_colors(hints: np.ndarray, labels: np.ndarray, rgb: np.ndarray, fill: np.ndarray,
                       alpha: float) -> np.ndarray:
    """``hints`` (H, W, 4) with every region ``fill`` (bool, one per region of ``labels``) names
    filled with its color ``rgb`` (uint8, one per region) at ``alpha``, leaving out every region
    the user's ``hints`` reach (they keep the user's color)."""
    colors = np.concatenate([rgb.astype(np.float32) / 255.0 * np.float32(alpha),
                             np.full((len(rgb), 1), alpha, np.float32)], axis=1)
    hinted = hints[..., 3] > 0
    if hinted.any():
        fill = np.array(fill, bool, copy=True)
        fill[np.unique(labels[hinted])] = False
    where = fill[labels] & ~hinted
    out = np.array(hints, np.float32, copy=True)
    out[where] = colors[labels[where]]
    return out


def to_network_input(hints: np.ndarray) -> torch.Tensor:
    """A hint map (H, W, 4) as the network takes it: float32 (1, 4, H, W)."""
    return torch.from_numpy(np.ascontiguousarray(np.asarray(hints, np.float32).transpose(2, 0, 1)))[None]
