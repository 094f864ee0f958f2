"""The colorizer's first stage: each line-bounded region's color chosen from a reference.

``Colorizer`` inherits these methods: the region matcher (``matching.predict.Matcher``) scores the
sketch's regions against each reference's color segments (``prepare_references``, kept by content)
and gives every region a color (``region_colors``); ``matched_hint_map`` hands those colors to the
network, which shades them, and ``matched_strengths`` says how far ``soft`` refinement brings each
region back to its chosen color afterwards. The user's hints keep their regions throughout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from .errors import S2PError
from .hint_encoding import to_network_input, with_region_colors
from .hints import Hints
from .imageio import ImageSource, load_image
from .matching.features import PartFeatures
from .matching.predict import Matcher, ReferenceParts, RegionColors
from .models import StyleCode
from .prepared import PreparedSketch
from .refine import check_mode

if TYPE_CHECKING:
    from .regions import RegionMap

__all__ = ["RegionMatching"]


class RegionMatching:
    """The matcher's part of ``Colorizer`` (which supplies ``matcher``, ``regions``, the hint maps
    and ``default_mode``)."""

    matcher: Matcher | None
    default_mode: str
    #: the alpha at which the matcher's region colors fill their regions in the hint map the
    #: network shades from (``matched_hint_map``)
    matched_alpha: float = 1.0
    #: regions whose matched color is less probable than this are left to the network (``soft``);
    #: ``flat`` gives every region its matched color
    match_confidence: float = 0.0
    #: the sampling temperature of ``colorize(seed=N)`` for N other than 0 (``Matcher.assign``)
    match_temperature: float = 0.5
    #: how far ``soft`` moves each region the matcher fills (``matched_hint_map``) to its matched
    #: color: 1 (the default) that color with the network's shading on top, 0 the network's colors
    #: (4 points fewer regions right on the held-out pairs: the matcher's model card)
    matched_color_strength: float = 1.0

    if TYPE_CHECKING:
        def regions(self, prepared: PreparedSketch) -> RegionMap: ...
        def _spread_hints(self, hints: Hints, prepared: PreparedSketch) -> np.ndarray: ...
        def hint_array(self, hints: object, prepared: PreparedSketch, clicks_only: bool = False) -> np.ndarray: ...
        def _click_map(self, hints: Hints, prepared: PreparedSketch) -> np.ndarray: ...

    @property
    def matches_regions(self) -> bool:
        """Whether references go through the region matcher before the network (a matcher is set)."""
        return self.matcher is not None

    def sketch_parts(self, prepared: PreparedSketch) -> PartFeatures:
        """The pooled features of the sketch's regions (``Matcher.sketch_parts``), once per sketch."""
        if self.matcher is None:
            raise S2PError("this colorizer has no region matcher")
        if prepared.parts is None:
            regions = self.regions(prepared)
            lines = prepared.processing_lines
            prepared.parts = self.matcher.sketch_parts(lines, regions.labels, regions.count)
        return prepared.parts

    def reference_parts(self, reference: ImageSource) -> ReferenceParts:
        """A reference's color segments and pooled features (``Matcher.cached_reference_parts``)."""
        return self.prepare_references([reference])[0]

    def prepare_references(self, references: Sequence[ImageSource]) -> list[ReferenceParts]:
        """The references' color segments and pooled features, those not kept made together
        (``Matcher.cached_reference_parts``: the segmentations side by side on the CPU's cores)."""
        if self.matcher is None:
            raise S2PError("this colorizer has no region matcher")
        return self.matcher.cached_reference_parts([load_image(r, mode="RGB") for r in references])

    def region_colors(self, prepared: PreparedSketch, reference: ImageSource | ReferenceParts,
                      seed: int = 0) -> RegionColors | None:
        """Each region's color chosen from ``reference`` (or its ``reference_parts``) by the matcher
        (``Matcher.assign``): the most probable with ``seed`` 0, sampled among the plausible ones
        with another seed. None for a reference too small to hold a color segment (it goes to the
        network alone)."""
        parts = reference if isinstance(reference, ReferenceParts) else self.reference_parts(reference)
        if parts.segments.count == 0:
            return None
        return self.matcher.assign(self.sketch_parts(prepared), parts,  # type: ignore[union-attr]
                                   seed=seed, temperature=self.match_temperature)

    def matched_colors(self, prepared: PreparedSketch, styles: Sequence[ImageSource], mode: str | None = None,
                       seed: int = 0) -> list[RegionColors | None]:
        """``region_colors`` of each reference; None for a style code, and for all in ``raw`` or
        without a matcher."""
        mode = check_mode(self.default_mode if mode is None else mode)
        if not self.matches_regions or mode == "raw":
            return [None] * len(styles)
        parts = iter(self.prepare_references([s for s in styles if not isinstance(s, StyleCode)]))
        return [None if isinstance(s, StyleCode) else self.region_colors(prepared, next(parts), seed) for s in styles]

    def matched_strengths(self, prepared: PreparedSketch, hints: object, colors: RegionColors,
                          strength: float | None = None) -> np.ndarray:
        """(count,) how far ``soft`` moves each region to its matched color: ``strength`` (None:
        ``matched_color_strength``) where ``matched_hint_map`` fills the region, else 0."""
        strength = self.matched_color_strength if strength is None else strength
        labels = self.regions(prepared).labels
        free = colors.confidence >= self.match_confidence
        hints = Hints.load(hints)
        # the regions the hints reach are the regions they are drawn in (a hint spreads within its region)
        drawn = (self.hint_array(hints, prepared) if hints.strokes or hints.raster is not None
                 else self._click_map(hints, prepared))[..., 3] > 0
        if drawn.any():
            free[np.unique(labels[drawn])] = False
        return free * np.float64(strength)

    def matched_flat(self, prepared: PreparedSketch, colors: RegionColors) -> np.ndarray:
        """uint8 (h, w, 3): every region in its matched color, at the processing size."""
        return colors.rgb[self.regions(prepared).labels]

    def matched_hint_map(self, prepared: PreparedSketch, hints: Hints, colors: RegionColors,
                         user: np.ndarray | None = None) -> torch.Tensor:
        """The hint map the network shades from: the user's hints as ``hint_map`` gives them, and
        every region they leave free whose matched color is at least ``match_confidence``
        probable filled with it at ``matched_alpha`` (``hint_encoding.with_region_colors``).
        ``user``: the user's spread hints (h, w, 4) where the caller has them."""
        user = self._spread_hints(hints, prepared) if user is None else user
        fill = colors.confidence >= self.match_confidence
        return to_network_input(with_region_colors(user, self.regions(prepared).labels, colors.rgb, fill,
                                                   self.matched_alpha))
