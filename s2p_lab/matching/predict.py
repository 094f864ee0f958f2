"""The matcher at inference: each sketch region gets a color chosen from the reference (or a prior).

``Matcher.sketch_parts`` pools the sketch's features once per sketch; ``Matcher.reference_parts``
segments a reference and pools its features once per reference; ``Matcher.assign`` scores the two
and gives every region its color, its confidence and its runners-up. ``seed`` 0 takes each
region's most probable color; another seed samples among the plausible ones (probabilities
sharpened by ``temperature``, colors under :data:`PLAUSIBLE` of the best left out), so one reference
gives several compositions.

The baselines it must beat are here too, scored by the same code: ``nearest_feature_colors`` (the
cosine nearest segment on the frozen features, no training) and ``random_colors`` (a random segment
of the reference for each region, drawn by area).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from ..errors import S2PError
from ..imageio import content_digest
from ..segments import ColorSegments, color_segments
from .features import FEATURE_SIDE, PartFeatures, reference_part_features, sketch_part_features
from .model import RegionMatcher, class_log_probs, load_matcher

if TYPE_CHECKING:
    from ..reference_store import ReferenceStore

__all__ = ["DEFAULT_MATCHER", "Matcher", "PLAUSIBLE", "ReferenceParts", "RegionColors", "lab_to_rgb8",
           "colors_from_segments", "frozen_similarity", "nearest_feature_colors", "parts_from_tensors",
           "parts_to_tensors", "random_colors", "reference_parts", "reference_parts_many",
           "reference_segments"]

#: The shipped matcher's folder.
DEFAULT_MATCHER = Path(__file__).resolve().parents[1] / "pretrained" / "matcher"
#: Longer side at which a reference is segmented.
REFERENCE_SIDE = 256
#: When sampling (seed other than 0), colors less probable than this share of the best are left out.
PLAUSIBLE = 0.25
#: The modules whose code makes a reference's parts (what the stored parts are fingerprinted by).
PARTS_SOURCES = ("segments", "labelstats", "imageio", "evaluation.color", "matching.features", "matching.predict",
                 "models.pretrained_features", "backbones.efficientnet_lite", "backbones.dinov2")


@dataclass(frozen=True)
class ReferenceParts:
    """A reference's color segments and their pooled features."""

    segments: ColorSegments
    features: PartFeatures


@dataclass(frozen=True)
class RegionColors:
    """Per sketch region: the chosen color (``rgb`` uint8 (R, 3), ``lab`` (R, 3)), its probability
    (``confidence``), where it came from (``source``: a segment index 0..S-1, or -1 - k for prior
    color k), and the ``top`` (R, k) candidate colors' sources with their probabilities ``top_p``."""

    rgb: np.ndarray
    lab: np.ndarray
    confidence: np.ndarray
    source: np.ndarray
    top: np.ndarray
    top_p: np.ndarray


def lab_to_rgb8(lab: np.ndarray) -> np.ndarray:
    """CIELAB (..., 3) to uint8 sRGB (..., 3) (clipped to the gamut)."""
    import cv2

    lab = np.asarray(lab, np.float32)
    rgb = cv2.cvtColor(lab.reshape(-1, 1, 3), cv2.COLOR_Lab2RGB).reshape(lab.shape)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def _parts_dict(parts: PartFeatures) -> dict[str, np.ndarray]:
    out = {"efficientnet": parts.efficientnet, "geometry": parts.geometry}
    if parts.dino is not None:
        out["dino"] = parts.dino
    return out


_SEGMENT_FIELDS = ("labels", "lab", "cluster", "areas", "boxes", "centers", "palette")
_FEATURE_FIELDS = ("efficientnet", "dino", "geometry", "areas")


def parts_to_tensors(parts: ReferenceParts) -> dict[str, torch.Tensor]:
    """A reference's parts as named tensors (``reference_store``), every array's dtype kept."""
    from ..reference_store import as_tensors

    arrays = {f"segments.{k}": getattr(parts.segments, k) for k in _SEGMENT_FIELDS}
    arrays |= {f"features.{k}": getattr(parts.features, k) for k in _FEATURE_FIELDS}
    return as_tensors(arrays)


def parts_from_tensors(tensors: dict[str, torch.Tensor]) -> ReferenceParts | None:
    """The inverse of ``parts_to_tensors``; None for tensors that do not hold a reference's parts."""
    from ..reference_store import as_arrays

    arrays = as_arrays(tensors)
    try:
        segments = ColorSegments(**{k: arrays[f"segments.{k}"] for k in _SEGMENT_FIELDS})
        features = PartFeatures(**{k: arrays.get(f"features.{k}") for k in _FEATURE_FIELDS})
    except (KeyError, TypeError):
        return None
    if features.efficientnet is None or features.geometry is None or features.areas is None:
        return None
    return ReferenceParts(segments, features)


def reference_segments(rgb: np.ndarray) -> ColorSegments:
    """A reference's color segments, made at :data:`REFERENCE_SIDE` (``segments.color_segments``)."""
    from ..imageio import resize_long_side

    return color_segments(resize_long_side(np.ascontiguousarray(rgb[:, :, :3]), REFERENCE_SIDE))


def reference_parts(rgb: np.ndarray, *, dino: bool = False, bf16: bool = False,
                    segments: ColorSegments | None = None, side: int = FEATURE_SIDE) -> ReferenceParts:
    """A reference's color segments (``reference_segments``, unless given) and their pooled features
    (computed with the longer side ``side``)."""
    segments = reference_segments(rgb) if segments is None else segments
    features = reference_part_features(rgb, segments.labels - 1, segments.count, dino=dino, bf16=bf16, side=side)
    return ReferenceParts(segments, features)


def reference_parts_many(images: Sequence[np.ndarray], *, dino: bool = False, bf16: bool = False,
                         side: int = FEATURE_SIDE) -> list[ReferenceParts]:
    """``reference_parts`` of several references, the same values: their segmentations (OpenCV's
    mean shift and numpy, which release the GIL) on one thread per core, then their features in
    turn (PyTorch runs each on every core). Nine 256 px segmentations on 2 cores: 0.80 s in turn,
    0.44 s on two threads."""
    workers = min(len(images), os.cpu_count() or 1)
    if workers <= 1:
        segments = [reference_segments(rgb) for rgb in images]
    else:
        with ThreadPoolExecutor(workers) as pool:
            segments = list(pool.map(reference_segments, images))
    return [reference_parts(rgb, dino=dino, bf16=bf16, segments=s, side=side) for rgb, s in zip(images, segments)]


class Matcher:
    """The trained region matcher (``matching.model.RegionMatcher``) with its feature extraction."""

    def __init__(self, model: RegionMatcher, meta: dict | None = None, *, bf16: bool = False) -> None:
        self.model = model.eval()
        self.meta = meta or {}
        self.bf16 = bf16
        self.needs_dino = "dino" in model.config.reference_inputs
        #: the longer side both images' frozen features are computed at, as the head was trained
        self.feature_side = model.config.feature_side
        #: a region stays skin when the prior head gives it at least this probability
        self.prior_confidence = 0.5
        #: references segmented and pooled lately (``cached_reference_parts``), by content
        self.max_cached_references = 64
        self._references: OrderedDict[str, ReferenceParts] = OrderedDict()
        #: where reference parts are kept for later processes (``reference_store``; None: nowhere)
        self.store: ReferenceStore | None = None
        self._parts_fingerprints: dict[bool, str] = {}

    @classmethod
    def from_pretrained(cls, path: str | Path | None = None, *, bf16: bool | None = None) -> "Matcher":
        """The shipped matcher (``path=None``) or one trained by ``s2p matcher train`` (its folder)."""
        from ..runtime import bf16_available

        model, meta = load_matcher(DEFAULT_MATCHER if path is None else path)
        return cls(model, meta, bf16=bf16_available(torch.device("cpu")) if bf16 is None else bf16)

    def sketch_parts(self, lines: np.ndarray, labels: np.ndarray, count: int) -> PartFeatures:
        """Pooled features of a sketch's regions (``lines`` uint8 paper = 255, ``labels`` 0..count-1)."""
        return sketch_part_features(lines, labels, count, bf16=self.bf16, side=self.feature_side)

    def reference_parts(self, rgb: np.ndarray) -> ReferenceParts:
        """A reference's color segments (at :data:`REFERENCE_SIDE`) and their pooled features."""
        return reference_parts(rgb, dino=self.needs_dino, bf16=self.bf16, side=self.feature_side)

    def reference_parts_many(self, images: Sequence[np.ndarray]) -> list[ReferenceParts]:
        """``reference_parts`` of several references at once (``predict.reference_parts_many``)."""
        return reference_parts_many(images, dino=self.needs_dino, bf16=self.bf16, side=self.feature_side)

    def cached_reference_parts(self, images: Sequence[np.ndarray]) -> list[ReferenceParts]:
        """``reference_parts`` of each image (uint8 HxWx3), kept by content for the next call (and
        in ``store`` for later processes): the ones kept nowhere are made together
        (``reference_parts_many``)."""
        keys = [content_digest(rgb, self.bf16) for rgb in images]  # made in this precision
        missing = {k: rgb for k, rgb in zip(keys, images) if k not in self._references}
        store = self.store
        for key in list(missing) if store is not None else []:
            stored = store.load("parts", self.parts_fingerprint(), key)
            if stored is not None and (parts := parts_from_tensors(stored)) is not None:
                self._references[key] = parts
                del missing[key]
        for key, parts in zip(missing, self.reference_parts_many(list(missing.values()))):
            self._references[key] = parts
            if store is not None:
                store.save("parts", self.parts_fingerprint(), key, parts_to_tensors(parts))
        found = []
        for key in keys:
            self._references.move_to_end(key)
            found.append(self._references[key])
        while len(self._references) > max(1, self.max_cached_references, len(set(keys))):
            self._references.popitem(last=False)
        return found

    def parts_fingerprint(self) -> str:
        """Everything but the image that a reference's parts depend on (``reference_store``)."""
        from ..models.pretrained_features import backbone_weights_path
        from ..reference_store import file_stamp, fingerprint_of, module_sources_digest, runtime_description

        if self.bf16 not in self._parts_fingerprints:
            names = ["efficientnet_lite0"] + (["dinov2_small"] if self.needs_dino else [])
            self._parts_fingerprints[self.bf16] = fingerprint_of({
                "kind": "parts", "feature_side": self.feature_side, "reference_side": REFERENCE_SIDE,
                "backbones": [file_stamp(backbone_weights_path(n)) for n in names],
                "code": module_sources_digest(PARTS_SOURCES),
                **runtime_description(torch.device("cpu"), "bf16" if self.bf16 else "float32")})
        return self._parts_fingerprints[self.bf16]

    def forget_references(self) -> None:
        """Drop the kept reference parts."""
        self._references.clear()

    def class_log_probs(self, sketch: PartFeatures, reference: ReferenceParts) -> tuple[torch.Tensor, torch.Tensor]:
        """(log-probabilities (R, classes) of the reference's palette colors, logits (R, S)): the
        head's, plus ``frozen_similarity`` times the frozen features' own similarity where the
        matcher's config asks for it (``MatcherConfig.frozen_similarity``)."""
        model = self.model
        weight = float(model.config.frozen_similarity)
        with torch.inference_mode():
            logits = model(model.inputs(_parts_dict(sketch), "sketch"),
                           model.inputs(_parts_dict(reference.features), "reference"))
            if weight:
                logits = logits + weight * torch.from_numpy(frozen_similarity(sketch, reference.features))
            cluster = torch.from_numpy(reference.segments.cluster)
            log_p = class_log_probs(logits, cluster, len(reference.segments.palette))
        return log_p, logits

    def prior_probs(self, sketch: PartFeatures) -> np.ndarray:
        """(R, priors) probability that each region is of each prior's kind (skin), from the sketch alone."""
        model = self.model
        with torch.inference_mode():
            return torch.sigmoid(model.prior_logits(model.inputs(_parts_dict(sketch), "sketch"))).numpy()

    def candidates(self, sketch: PartFeatures, reference: ReferenceParts) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every region's candidate colors and their probabilities: (probs (R, C), lab (C, 3),
        source (R, C)), the reference's palette colors first (each as its best-scoring segment's
        median color, source its segment index), then the prior color (source -1).

        A region the prior head takes for skin (probability at least ``prior_confidence``) keeps
        its probability mass for the reference's skin-like colors where the reference has some,
        and for the prior color where it has none: skin stays skin under a landscape, and takes
        the reference's own skin tone when it has one. Every other region shares its mass among
        the reference's colors by the matcher's probabilities."""
        from ..evaluation.color import is_skin

        if reference.segments.count == 0:
            raise S2PError("the reference has no color segment large enough to match")
        log_p, logits = self.class_log_probs(sketch, reference)
        match = log_p.exp().numpy()
        prior = self.prior_probs(sketch)
        segments = reference.segments
        classes = len(segments.palette)
        seg_logits = logits.numpy()
        best_segment = np.full((len(match), classes), -1, np.int64)
        for c in range(classes):
            members = np.flatnonzero(segments.cluster == c)
            if members.size:
                best_segment[:, c] = members[np.argmax(seg_logits[:, members], axis=1)]
        prior_lab = self.model.prior_lab.numpy().astype(np.float64)
        skin_colors = is_skin(segments.palette) & np.isin(np.arange(classes), segments.cluster)
        probs = np.concatenate([match, np.zeros((len(match), len(prior_lab)))], axis=1)
        for r in np.flatnonzero(prior[:, 0] >= self.prior_confidence):
            if skin_colors.any():
                weights = match[r] * skin_colors
                probs[r, :classes] = weights / weights.sum() if weights.sum() > 0 else skin_colors / skin_colors.sum()
            else:
                probs[r] = 0.0
                probs[r, classes] = 1.0
        lab = np.concatenate([np.zeros((classes, 3)), prior_lab])
        source = np.concatenate([best_segment, np.broadcast_to(-1 - np.arange(len(prior_lab)), (len(match), len(prior_lab)))], axis=1)
        return probs, lab, source

    def assign(self, sketch: PartFeatures, reference: ReferenceParts, *, seed: int = 0,
               temperature: float = 0.5, top: int = 3) -> RegionColors:
        """Every region's color (``candidates``): the most probable (``seed`` 0) or sampled among
        the plausible ones (another seed)."""
        probs, prior_lab, source_table = self.candidates(sketch, reference)
        rows = np.arange(len(probs))
        if seed == 0:
            chosen = probs.argmax(axis=1)
        else:
            rng = np.random.default_rng(seed)
            sharp = np.where(probs >= PLAUSIBLE * probs.max(axis=1, keepdims=True), probs ** (1.0 / temperature), 0.0)
            sharp /= sharp.sum(axis=1, keepdims=True)
            chosen = (sharp.cumsum(axis=1) > rng.random((len(sharp), 1))).argmax(axis=1)
        source = source_table[rows, chosen]
        lab = np.where((source >= 0)[:, None], reference.segments.lab[np.maximum(source, 0)],
                       prior_lab[np.clip(chosen, 0, None)])
        order = np.argsort(-probs, axis=1)[:, :top]
        return RegionColors(lab_to_rgb8(lab), lab.astype(np.float32), probs[rows, chosen], source,
                            np.take_along_axis(source_table, order, axis=1), np.take_along_axis(probs, order, axis=1))


def colors_from_segments(reference: ReferenceParts, choice: np.ndarray) -> RegionColors:
    """Region colors taken from the reference segments ``choice`` (R,), each with probability 1."""
    lab = reference.segments.lab[choice]
    ones = np.ones(len(choice), np.float32)
    return RegionColors(lab_to_rgb8(lab), lab.astype(np.float32), ones, choice.astype(np.int64),
                        choice[:, None].astype(np.int64), ones[:, None])


def frozen_similarity(sketch: PartFeatures, reference: PartFeatures) -> np.ndarray:
    """float32 (R, S): the cosine similarity of every region's and every segment's EfficientNet
    block-10 features (centred per image, as pooled), untrained."""
    a = sketch.efficientnet[:, 40:].astype(np.float32)
    b = reference.efficientnet[:, 40:].astype(np.float32)
    a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-6)
    b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-6)
    return a @ b.T


def nearest_feature_colors(sketch: PartFeatures, reference: ReferenceParts) -> RegionColors:
    """Baseline without training: each region takes the segment whose EfficientNet block-10
    features are the most cosine-similar (``frozen_similarity``)."""
    return colors_from_segments(reference, frozen_similarity(sketch, reference.features).argmax(axis=1))


def random_colors(count: int, reference: ReferenceParts, seed: int = 0) -> RegionColors:
    """Baseline: each of ``count`` regions takes a random segment's color, drawn by segment area."""
    areas = reference.segments.areas.astype(np.float64)
    rng = np.random.default_rng(seed)
    return colors_from_segments(reference, rng.choice(len(areas), size=count, p=areas / areas.sum()))
