"""``Colorizer``: the user-facing predictor.

It loads the weights once and caches what does not change between calls: the cleaned sketch and
its encoder features (keyed by content and size) and each reference's style code (keyed by
content). A hint edit therefore reruns only the hint projections, the mid-level and the decoder;
many references in one call share one sketch encoding, and the part of the decoder that depends
on the sketch and hints but not on the reference (``Generator.hint_features``) runs once for all.

Speed (see ``bench/RESULTS.md``): bf16 autocast and channels_last on CPUs with AVX-512 BF16 or
AMX and on GPUs with bf16 (fp16 on older GPUs), inference mode, and incremental hint edits: the
decoder has no image-wide operation, so a hint edit changes each decoder level only near the edit.
The last full decode keeps every level's output (``models.incremental``), and an edit recomputes
each level only where it can change, pasting into those (where they are not kept: the edit's
window, with the decoder's receptive field around it, is decoded again). The
networks run as rewritten by ``models.inference.optimize_for_inference`` (normalization folded
into convolutions and FiLM, phase-decomposed upsampling, attention in blocks of queries on a CPU),
a copy of the model that shares its weights; ``Colorizer.model`` stays the plain definition, and
renders that something watches (hooks, kept attention maps) run it. ``compile=True`` adds
``torch.compile``.
"""

from __future__ import annotations

import hashlib
import os
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
from PIL import Image

from .correspondence import (MATCH_SIDE, MIN_IMAGE_SIMILARITY, MIN_SIMILARITY, ReferenceMatch, SketchCells, check_count,
                             match_reference, reference_hints, sketch_cells)
from .errors import S2PError
from .hints import Hints
from .imageio import ImageSource, load_image, resize_long_side
from .models import ColorizationModel, Generator, HintedFeatures, SketchFeatures, StyleCode, load_model
from .models import optimize_for_inference, trained_hint_reach, trained_reference_hint_alpha
from .models.blocks import check_sharpness, set_attention_sharpness
from .models.incremental import EditPlan, decode_keeping_levels, plan_edit, redecode
from .models.pretrained_features import store_backbones_for_autocast
from .palettes import Palette, load_palette
from .refine import DEFAULT_MODE, bucket_fill, check_strength, check_mode, reference_samples, refine, spread_hints
from .regions import RegionMap, region_map
from .matching.predict import Matcher, ReferenceParts, RegionColors
from .matching.features import PartFeatures
from .runtime import bf16_available, resolve_device
from .sketch import cleanup_sketch

if TYPE_CHECKING:
    from .layers import Layers

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
MIN_SIZE, MAX_SIZE = 64, 2048


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


@dataclass
class _LastRender:
    """The previous ``render``: what an incremental hint edit starts from."""

    key: str
    styles: StyleCode
    hint_map: torch.Tensor  # (1, 4, h, w) float32 on the CPU
    rgb: np.ndarray  # (N, h, w, 3) uint8
    # every decoder level's output for that hint map, one list per batch of references decoded
    # together (``incremental.decode_keeping_levels``); None where they were not kept
    levels: list[list[torch.Tensor]] | None = None


def _same_styles(a: StyleCode, b: StyleCode) -> bool:
    return (
        len(a) == len(b)
        and a.vector.shape == b.vector.shape
        and a.tokens.shape == b.tokens.shape
        and a.vector.device == b.vector.device
        and bool(torch.equal(a.vector, b.vector))
        and bool(torch.equal(a.present, b.present))
        and bool(torch.equal(a.tokens, b.tokens))
    )


def changed_box(before: torch.Tensor, after: torch.Tensor) -> tuple[int, int, int, int] | None:
    """(y0, y1, x0, x1) bounding the pixels where two hint maps differ; None if they are equal."""
    diff = (before != after).any(dim=1)[0]
    rows = torch.nonzero(diff.any(dim=1)).flatten()
    if rows.numel() == 0:
        return None
    cols = torch.nonzero(diff.any(dim=0)).flatten()
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _rgb_decoder(generator: Generator) -> Callable[[HintedFeatures, StyleCode], torch.Tensor]:
    """``generator.decode_hinted`` returning the colors alone (what the decode loop and
    ``torch.compile`` take); ``generator`` may also be the onnxruntime stand-in."""

    def decode(hinted: HintedFeatures, style: StyleCode) -> torch.Tensor:
        return generator.decode_hinted(hinted, style).rgb

    return decode


def _to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """Decoder colors (B, 3, h, w) in [-1, 1] as uint8 (B, h, w, 3) on the CPU."""
    rgb = rgb.float().add_(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)
    return rgb.permute(0, 2, 3, 1).cpu().numpy()


def _digest(array: np.ndarray, *extra: object) -> str:
    h = hashlib.sha1(np.ascontiguousarray(array).tobytes())
    h.update(repr((array.shape, *extra)).encode())
    return h.hexdigest()


class Colorizer:
    """Colorize sketches from style references and color hints.

    >>> colorizer = Colorizer.from_pretrained()
    >>> images = colorizer.colorize("sketch.png", styles=["a.png", "b.png"], size=512)
    """

    #: refinement when ``colorize`` is given no ``mode`` (``refine.MODES``)
    default_mode: str = DEFAULT_MODE
    #: the network sees each hint spread over its region up to this share of the longer side from
    #: the hint (None: the whole region; 0: hints as drawn); ``from_pretrained`` sets what the
    #: weights were trained with
    hint_reach: float | None = 0.03
    #: how far ``soft`` and ``flat`` move the region colors toward the reference's own spread of
    #: colors (``refine.transfer_colors``; 0: the network's colors, 1: the reference's chroma spread)
    reference_colors: float = 0.5
    #: reference hints per output (``correspondence``): colors matched from the reference to the
    #: sketch's regions, given to the network beside the user's hints; 0 (the default) turns them
    #: off, 24 is the measured setting (model card: better with a reference of the same drawing,
    #: worse against the original colors with another illustration as the reference)
    reference_hints: int = 0
    #: a region gets a reference hint only where its cells' best matches are at least this similar
    #: on average (``correspondence.MIN_SIMILARITY``): a reference that holds something like the
    #: drawing gives hints, a landscape mostly none
    reference_similarity: float = MIN_SIMILARITY
    #: and a reference gives hints only where the whole sketch matches it at least this well on
    #: average (``correspondence.MIN_IMAGE_SIMILARITY``): a colored copy of the drawing passes, a
    #: patch-shuffled copy or another character mostly does not
    reference_image_similarity: float = MIN_IMAGE_SIMILARITY
    #: the alpha of reference hints in the hint map the network sees; ``from_pretrained`` sets what
    #: the weights were trained with (``models.trained_reference_hint_alpha``; 1, as a user's
    #: hints, for the shipped weights)
    reference_hint_alpha: float = 1.0
    #: the alpha at which the matcher's region colors fill their regions in the hint map the
    #: network shades from (``matched_hint_map``)
    matched_alpha: float = 1.0
    #: regions whose matched color is less probable than this are left to the network (``soft``);
    #: ``flat`` gives every region its matched color
    match_confidence: float = 0.0
    #: the sampling temperature of ``colorize(seed=N)`` for N other than 0 (``Matcher.assign``)
    match_temperature: float = 0.5

    def __init__(
        self,
        model: ColorizationModel,
        *,
        device: str | torch.device | None = None,
        bf16: bool | None = None,
        channels_last: bool = True,
        compile: bool = False,
        line_overlay: float = 1.0,
        reference_colors: float | None = None,
        reference_hints: int | None = None,
        attention_sharpness: float = 1.0,
        cache_size: int = 8,
        incremental: bool = True,
        backend: str = "torch",
        matcher: Matcher | None = None,
    ) -> None:
        """``bf16``: None picks bf16 autocast where the hardware runs it fast (AVX-512 BF16 or AMX
        CPUs, bf16 GPUs) and fp16 autocast on GPUs without bf16; False keeps float32 everywhere.
        ``compile``: ``torch.compile`` the encoder and decoder (measured in ``bench/RESULTS.md``:
        over a minute of compiling on the first call, and not faster on a 2-core bf16 CPU). ``incremental``: re-decode only the region a hint edit touches.
        ``line_overlay``: how dark the sketch lines are laid over the colors (1: as drawn; 0: the
        network's colors alone; ``check_strength``). ``reference_colors``: how far ``soft``
        and ``flat`` move the region colors toward the reference's spread of colors (None: the
        class default, 0.5). ``reference_hints``: how many point hints matched from each reference
        the network gets beside the user's (None: the class default, 0: none; 24 is the measured
        setting; ``render_references``). ``attention_sharpness``: the scale of the network's
        attention logits (1: as trained; above 1 each part of the sketch leans on its best-matching
        reference tokens: more colors, less of the reference's overall look; model card).
        ``backend="onnxruntime"``: run the generator on onnxruntime in float32 (needs ``onnx``
        and ``onnxruntime``; on the AVX2 CPU measured in ``bench/RESULTS.md`` PyTorch float32 is
        faster, and much faster for hint edits).
        ``matcher``: the region matcher (``matching.Matcher``) that chooses each region's color from
        each reference before the network shades it (None: the network alone, as before v0.4).
        """
        if backend not in ("torch", "onnxruntime"):
            raise S2PError(f"unknown backend {backend!r}: use 'torch' or 'onnxruntime'")
        line_overlay = check_strength(line_overlay, "line_overlay")
        if reference_colors is not None:
            self.reference_colors = check_strength(reference_colors, "reference_colors")
        if reference_hints is not None:
            self.reference_hints = check_count(reference_hints, "reference_hints")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.config = model.config
        self.bf16 = bf16_available(self.device) if bf16 is None else bool(bf16)
        self.amp_dtype: torch.dtype | None = self.autocast_dtype(self.device, bf16)
        self.channels_last = channels_last
        if channels_last:
            self.model.to(memory_format=torch.channels_last)
        # the fast copy (shares the weights); torch.compile takes the plain attention kernel
        self.inference_model = optimize_for_inference(self.model, chunked_attention=not compile)
        generator = self.inference_model.generator
        self._encode_sketch = generator.encode_sketch
        self._hint_features = generator.hint_features
        self._decode_hinted = _rgb_decoder(generator)
        self._encode_style = self.inference_model.style_encoder
        self.backend = backend
        self.compiled = bool(compile)
        if backend == "onnxruntime":
            if self.device.type != "cpu" or compile:
                raise S2PError("the onnxruntime backend runs on the CPU, without compile=True")
            from .onnx_export import OnnxGenerator

            runtime = OnnxGenerator(self.model)
            self.bf16, self.amp_dtype, self.channels_last = False, None, False
            self._encode_sketch, self._hint_features, self._decode_hinted = (
                runtime.encode_sketch, runtime.hint_features, _rgb_decoder(runtime))
        if self.amp_dtype is not None:
            # the frozen pretrained networks of the inference copy keep their weights in the autocast
            # dtype (the same results; no 22 M-weight cast per reference)
            store_backbones_for_autocast(self.inference_model, self.amp_dtype)
        if compile:
            self._encode_sketch = torch.compile(generator.encode_sketch, dynamic=True)
            self._hint_features = torch.compile(generator.hint_features, dynamic=True)
            self._decode_hinted = torch.compile(_rgb_decoder(generator), dynamic=True)
        self.line_overlay = float(line_overlay)
        self.cache_size = cache_size
        self.incremental = incremental
        self.receptive_radius = generator.receptive_radius()
        self._sketches: OrderedDict[str, PreparedSketch] = OrderedDict()
        self._styles: OrderedDict[str, StyleCode] = OrderedDict()
        self._shades: OrderedDict[str, np.ndarray] = OrderedDict()
        # the recent renders, one per set of references (each reference has its own with the
        # matcher): what a hint edit starts from; decoder levels are kept by the newest alone
        self._renders: list[_LastRender] = []
        self.max_kept_renders = 9
        self._clicks: tuple[tuple, np.ndarray] | None = None
        self._matches: OrderedDict[tuple, ReferenceMatch | SketchCells] = OrderedDict()  # and each sketch's cells
        # References decoded at once, capped by pixels. The part shared by all references runs once
        # per call anyway; on a CPU one reference at a time from 256 px up is faster (its
        # activations stay in cache: 2.9 s vs 4.3 s for four at 512 px) and bounds peak memory,
        # while a GPU wants large batches.
        self.max_batch_pixels = 8 * 512 * 512 if self.device.type == "cuda" else 128 * 128 * 4
        # references encoded at once: on a CPU three at 256 px took as long as nine in one batch and
        # held half the memory (+78 MB against +151 MB); a GPU takes them all
        self.max_style_batch_pixels = 64 * 256 * 256 if self.device.type == "cuda" else 3 * 256 * 256
        # an edit whose region (with its margins) covers more than this share is decoded in full
        self.max_incremental_share = 0.7
        # the decoder levels of the last render are kept for level-wise hint edits up to this
        # size (bf16 at 512 px: 30 MB per reference; above it, edits decode a window instead)
        self.max_level_cache_bytes = 256 * 2**20
        self._attention_sharpness = 1.0
        self.attention_sharpness = attention_sharpness
        self.matcher = matcher
        if matcher is not None and self.device.type == "cpu":
            matcher.bf16 = self.bf16  # the matcher's frozen features in the colorizer's precision
        self._reference_parts: OrderedDict[str, ReferenceParts] = OrderedDict()

    @property
    def attention_adjustable(self) -> bool:
        """Whether ``attention_sharpness`` can leave 1: the PyTorch backend and a model with attention."""
        return self.backend == "torch" and self.config.style_transfer == "attention"

    @property
    def attention_sharpness(self) -> float:
        """The scale of the network's attention logits (``ReferenceAttention.sharpness``; 1: as trained)."""
        return self._attention_sharpness

    @attention_sharpness.setter
    def attention_sharpness(self, value: float) -> None:
        value = check_sharpness(value, "attention_sharpness")
        if value != 1.0 and not self.attention_adjustable:
            raise S2PError("attention_sharpness needs the torch backend and a model with attention")
        if value != self._attention_sharpness:
            set_attention_sharpness(self.model, value)
            set_attention_sharpness(self.inference_model, value)
            self._renders.clear()  # the kept renders were computed with the old one
        self._attention_sharpness = value

    @staticmethod
    def autocast_dtype(device: torch.device, bf16: bool | None = None, backend: str = "torch") -> torch.dtype | None:
        """The autocast dtype a colorizer on ``device`` runs in (None: float32), as ``bf16`` and
        ``backend`` ask (``__init__``): bf16 where the hardware runs it fast (or where asked),
        fp16 on GPUs without bf16, float32 with ``bf16=False`` and on onnxruntime."""
        if backend != "torch":
            return None
        if bf16_available(device) if bf16 is None else bool(bf16):
            return torch.bfloat16
        return torch.float16 if bf16 is None and device.type == "cuda" else None  # pre-Ampere: fp16 cores

    @classmethod
    def from_pretrained(
        cls, weights: str | os.PathLike | None = None, device: str | torch.device | None = None, **kwargs
    ) -> "Colorizer":
        """Load shipped weights (``weights=None``), a weights folder, or a ``.safetensors`` file.

        The network sees hints spread as it was trained to (``hint_reach`` from
        ``models.trained_hint_reach``: 0.03 for the shipped weights, 0 for v0.2's and older), and
        reference hints at the alpha it was trained with (``reference_hint_alpha``).
        ``matcher``: the shipped region matcher by default, a matcher folder, or False for none.
        """
        path = PRETRAINED_DIR if weights is None else weights
        if "matcher" not in kwargs or isinstance(kwargs["matcher"], (str, os.PathLike)):
            where = kwargs.get("matcher")
            shipped = (PRETRAINED_DIR / "matcher" / "matcher.safetensors").is_file()
            kwargs["matcher"] = Matcher.from_pretrained(where) if where is not None or shipped else None
        elif kwargs["matcher"] is False:
            kwargs["matcher"] = None
        # the frozen backbones are read straight into the precision the colorizer runs in: this
        # colorizer owns the model and runs it only under its autocast (no float32 copies kept)
        backbone_dtype = cls.autocast_dtype(resolve_device(device), kwargs.get("bf16"), kwargs.get("backend", "torch"))
        colorizer = cls(load_model(path, backbone_dtype), device=device, **kwargs)
        colorizer.hint_reach = trained_hint_reach(path)
        colorizer.reference_hint_alpha = trained_reference_hint_alpha(path)
        return colorizer

    # ------------------------------------------------------------------ cached stages
    def _autocast(self):
        dtype = self.amp_dtype or torch.bfloat16
        return torch.autocast(self.device.type, dtype=dtype, enabled=self.amp_dtype is not None)

    def clear_cache(self) -> None:
        """Forget cached sketches, style codes and the last render (the next call starts fresh)."""
        self._sketches.clear()
        self._styles.clear()
        self._shades.clear()
        self._renders.clear()
        self._clicks = None
        self._reference_parts.clear()

    def _to_device(self, t: torch.Tensor) -> torch.Tensor:
        t = t.to(self.device)
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last and t.dim() == 4 else t

    def prepare_sketch(self, sketch: ImageSource, size: int = 512) -> PreparedSketch:
        """Load, clean and encode a sketch at processing size ``size`` (longer side); cached."""
        if not isinstance(size, int) or isinstance(size, bool) or not MIN_SIZE <= size <= MAX_SIZE:
            raise S2PError(f"size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
        if isinstance(sketch, PreparedSketch):
            return sketch
        rgb = load_image(sketch, mode="RGB")
        key = _digest(rgb, size)
        if key in self._sketches:
            self._sketches.move_to_end(key)
            return self._sketches[key]
        lines = cleanup_sketch(rgb)
        small = resize_long_side(lines, size, multiple=self.config.multiple)
        tensor = torch.from_numpy(255 - small).float().div_(255)[None, None]
        encode = self._eager_generator().encode_sketch if self._observed() else self._encode_sketch
        with torch.inference_mode(), self._autocast():
            features = encode(self._to_device(tensor))
        prepared = PreparedSketch(key, lines, lines.shape[:2], tensor, features)
        self._remember(self._sketches, key, prepared)
        return prepared

    def encode_styles(self, styles: Sequence[ImageSource] | None) -> StyleCode:
        """Style codes for the references (one per reference; one "no reference" code if none)."""
        if not styles:
            with torch.inference_mode():
                return self._encode_style.empty(1, torch.zeros((), device=self.device))
        codes = []
        pending: dict[int, tuple[str, torch.Tensor]] = {}
        for i, style in enumerate(styles):
            if isinstance(style, StyleCode):
                codes.append(style)
                continue
            rgb = load_image(style, mode="RGB")
            key = _digest(rgb, self.config.style_size)
            codes.append(self._styles.get(key))
            if codes[-1] is None:
                side = self.config.style_size
                small = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)
                pending[i] = (key, torch.from_numpy(small).permute(2, 0, 1).float().div(127.5).sub(1))
        if pending:
            encode = self.model.style_encoder if self._watches_definition() else self._encode_style
            chunk = max(1, self.max_style_batch_pixels // self.config.style_size**2)
            waiting = list(pending.items())
            for start in range(0, len(waiting), chunk):  # the same codes in any batch (tested)
                part = waiting[start:start + chunk]
                batch = self._to_device(torch.stack([t for _, (_, t) in part]))
                with torch.inference_mode(), self._autocast():
                    encoded = encode(batch)
                for j, (i, (key, _)) in enumerate(part):
                    code = encoded.select(slice(j, j + 1))
                    codes[i] = code
                    self._remember(self._styles, key, code)
        return StyleCode.cat(codes)

    def _remember(self, cache: OrderedDict, key: str, value: object) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > max(1, self.cache_size) * (8 if cache is self._styles or cache is self._matches or cache is self._reference_parts else 1):
            cache.popitem(last=False)

    def reference_samples(self, styles: Sequence[ImageSource] | None) -> list[np.ndarray | None]:
        """Each reference's CIELAB color samples (``refine.reference_samples``); None for a style code."""
        return [None if isinstance(style, StyleCode) else reference_samples(load_image(style, mode="RGB"))
                for style in styles or []]

    def regions(self, prepared: PreparedSketch) -> RegionMap:
        """The sketch's line-bounded regions at the processing size (made once per prepared sketch)."""
        if prepared.regions is None:
            lines = prepared.processing_lines
            prepared.regions = region_map(lines)
        return prepared.regions

    def hint_array(self, hints: object, prepared: PreparedSketch, clicks_only: bool = False) -> np.ndarray:
        """The hints as drawn: float32 (h, w, 4) at the processing size (``clicks_only``: the point
        hints alone, the ones that act as paint buckets)."""
        h, w = prepared.processing_size
        hints = Hints.load(hints)
        if clicks_only:
            hints = Hints(points=list(hints.points))
        return hints.to_map(h, w)

    def _click_map(self, hints: Hints, prepared: PreparedSketch) -> np.ndarray:
        """``hint_array(hints, prepared, clicks_only=True)``, read-only, drawn once for the last
        hints: ``hint_map`` and ``paint_buckets`` of one call both read it."""
        key = (prepared.key, prepared.processing_size, tuple(hints.points))
        if self._clicks is None or self._clicks[0] != key:
            clicks = self.hint_array(hints, prepared, clicks_only=True)
            clicks.flags.writeable = False
            self._clicks = (key, clicks)
        return self._clicks[1]

    def hint_map(self, hints: object, prepared: PreparedSketch) -> torch.Tensor:
        """The (1, 4, h, w) hint map the network sees, at the processing size.

        Every hint (a click, a stroke, a raster hint) is spread over the part of its line-bounded
        region within ``hint_reach`` of it, so that the network's shading follows the region:
        drawn pixels keep their own color, and where the spreads of several hints meet in one
        region, each pixel takes the color of the nearest hint. ``hint_reach=0``: as drawn.
        """
        hints = Hints.load(hints)
        drawn_beyond_clicks = bool(hints.strokes) or hints.raster is not None
        if self.hint_reach == 0 or not (hints.points or drawn_beyond_clicks):
            array = self.hint_array(hints, prepared)
        else:
            drawn = self.hint_array(hints, prepared) if drawn_beyond_clicks else self._click_map(hints, prepared)
            reach = None if self.hint_reach is None else self.hint_reach * max(drawn.shape[:2])
            array = spread_hints(drawn, self.regions(prepared), reach)  # a new map; drawn pixels kept
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]

    def matched_hints(self, prepared: PreparedSketch, reference: ImageSource, hints: object = None,
                      count: int | None = None) -> Hints:
        """The reference hints for one reference (``correspondence.reference_hints``): up to
        ``count`` (None: ``self.reference_hints``) point hints with colors matched from the
        reference, none in a region the user's ``hints`` already color."""
        count = self.reference_hints if count is None else check_count(count, "reference_hints")
        if count == 0:
            return Hints()
        rgb = load_image(reference, mode="RGB")
        key = (prepared.key, prepared.processing_size, _digest(rgb, MATCH_SIDE))
        match = self._matches.get(key)
        if match is None:
            cells_key = (prepared.key, prepared.processing_size)
            cells = self._matches.get(cells_key)
            if cells is None:
                lines = prepared.processing_lines
                cells = sketch_cells(lines)
                self._remember(self._matches, cells_key, cells)
            match = match_reference(cells, rgb)
            self._remember(self._matches, key, match)
        hints = Hints.load(hints)
        hinted = self.hint_array(hints, prepared)[:, :, 3] > 0 if not hints.is_empty() else None
        return reference_hints(match, self.regions(prepared), count, hinted=hinted,
                               min_similarity=self.reference_similarity,
                               min_image_similarity=self.reference_image_similarity)

    # ------------------------------------------------------------------ the matcher
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
        """A reference's color segments and pooled features (``Matcher.reference_parts``), cached."""
        if self.matcher is None:
            raise S2PError("this colorizer has no region matcher")
        rgb = load_image(reference, mode="RGB")
        key = _digest(rgb, "parts")
        parts = self._reference_parts.get(key)
        if parts is None:
            parts = self.matcher.reference_parts(rgb)
            self._remember(self._reference_parts, key, parts)
        else:
            self._reference_parts.move_to_end(key)
        return parts

    def prepare_references(self, references: Sequence[ImageSource]) -> None:
        """Segment and pool the references not yet cached, all at once (``Matcher.reference_parts_many``:
        the segmentations side by side on the CPU's cores); ``reference_parts`` then finds them."""
        if self.matcher is None:
            raise S2PError("this colorizer has no region matcher")
        missing: dict[str, np.ndarray] = {}
        for reference in references:
            rgb = load_image(reference, mode="RGB")
            key = _digest(rgb, "parts")
            if key not in self._reference_parts:
                missing[key] = rgb
        for key, parts in zip(missing, self.matcher.reference_parts_many(list(missing.values()))):
            self._remember(self._reference_parts, key, parts)

    def region_colors(self, prepared: PreparedSketch, reference: ImageSource, seed: int = 0) -> RegionColors | None:
        """Each region's color chosen from ``reference`` by the matcher (``Matcher.assign``): the
        most probable with ``seed`` 0, sampled among the plausible ones with another seed. None
        for a reference too small to hold a color segment (it goes to the network alone)."""
        parts = self.reference_parts(reference)
        if parts.segments.count == 0:
            return None
        return self.matcher.assign(self.sketch_parts(prepared), parts,  # type: ignore[union-attr]
                                   seed=seed, temperature=self.match_temperature)

    def _user_regions(self, prepared: PreparedSketch, hints: Hints) -> np.ndarray:
        """bool (regions,): the regions that hold a user's hint (they keep the user's color)."""
        regions = self.regions(prepared)
        hinted = np.zeros(regions.count, bool)
        if not hints.is_empty():
            drawn = self.hint_array(hints, prepared)[:, :, 3] > 0
            hinted[np.unique(regions.labels[drawn])] = True
        return hinted

    def matched_flat(self, prepared: PreparedSketch, colors: RegionColors) -> np.ndarray:
        """uint8 (h, w, 3): every region in its matched color, at the processing size."""
        return colors.rgb[self.regions(prepared).labels]

    def matched_hint_map(self, prepared: PreparedSketch, hints: Hints, colors: RegionColors,
                         user: tuple[torch.Tensor, np.ndarray] | None = None) -> torch.Tensor:
        """The hint map the network shades from: the user's hints as ``hint_map`` gives them, and
        every other region whose matched color is at least ``match_confidence`` probable
        filled with it at ``matched_alpha``. ``user``: the user's ``hint_map`` and
        ``_user_regions`` where the caller has them (one computation for many references)."""
        regions = self.regions(prepared)
        user_map, user_regions = user if user is not None else (self.hint_map(hints, prepared),
                                                                 self._user_regions(prepared, hints))
        fill = (colors.confidence >= self.match_confidence) & ~user_regions
        where = torch.from_numpy(fill[regions.labels])[None, None]
        rgb = torch.from_numpy(colors.rgb[regions.labels].transpose(2, 0, 1).astype(np.float32) / 255.0)[None]
        matched = torch.cat([rgb * self.matched_alpha, torch.full_like(rgb[:, :1], self.matched_alpha)], dim=1)
        return torch.where(where & (user_map[:, 3:] == 0), matched, user_map)

    def render_references(self, prepared: PreparedSketch, hints: object, styles: Sequence[ImageSource] | None,
                          codes: StyleCode | None = None, count: int | None = None, *,
                          mode: str | None = None, seed: int = 0) -> np.ndarray:
        """The drafts, uint8 (N, h, w, 3), one per reference, before refinement.

        With a matcher (``matches_regions``) and a mode other than ``raw``, each reference's region
        colors (``region_colors``) are the draft in ``flat`` (no network) and fill the hint map the
        network shades from otherwise (``matched_hint_map``); the user's hints keep their regions.
        Without one (or in ``raw``), the network's outputs with the user's ``hints`` plus that
        reference's point hints (``matched_hints``, ``count`` of them). ``codes``: the references'
        ``encode_styles`` where the caller has them. A reference given as a style code gets no
        matching (there is no image to match). The references that get no hints of their own are
        decoded as one batch with the user's hints, as ``render`` does."""
        hints = Hints.load(hints)
        styles = list(styles or [])
        mode = check_mode(self.default_mode if mode is None else mode)
        matching = self.matches_regions and mode != "raw"
        if matching:
            self.prepare_references([s for s in styles if not isinstance(s, StyleCode)])
        colors = [self.region_colors(prepared, s, seed) if matching and not isinstance(s, StyleCode) else None
                  for s in styles]
        if matching and mode == "flat" and styles and all(c is not None for c in colors):
            return np.stack([self.matched_flat(prepared, c) for c in colors])  # type: ignore[arg-type]
        codes = self.encode_styles(styles or None) if codes is None else codes
        count = self.reference_hints if count is None else check_count(count, "reference_hints")
        maps: list[torch.Tensor | None] = []
        user = ((self.hint_map(hints, prepared), self._user_regions(prepared, hints))
                if any(c is not None for c in colors) else None)  # the user's part: once for every reference
        for style, matched in zip(styles, colors):
            if isinstance(style, StyleCode):
                maps.append(None)
            elif matched is not None:
                maps.append(self.matched_hint_map(prepared, hints, matched, user))
            elif count and not matching:
                extra = self.matched_hints(prepared, style, hints, count)
                maps.append(None if extra.is_empty() else self.reference_hint_map(prepared, hints, extra))
            else:
                maps.append(None)
        plain = [i for i, m in enumerate(maps) if m is None]
        if len(plain) == len(styles):  # no reference hints at all (or no references)
            return self.render(prepared, self.hint_map(hints, prepared), codes)
        outputs: list[np.ndarray | None] = [None] * len(styles)
        if plain:  # the references without hints of their own: one batch, the user's hints alone
            for i, rgb in zip(plain, self.render(prepared, self.hint_map(hints, prepared),
                                                 codes.select(torch.tensor(plain)))):
                outputs[i] = rgb
        for i, hint_map in enumerate(maps):
            if hint_map is not None:
                outputs[i] = self.render(prepared, hint_map, codes.select(slice(i, i + 1)))[0]
        return np.stack(outputs)

    def reference_hint_map(self, prepared: PreparedSketch, hints: object, matched: Hints) -> torch.Tensor:
        """The hint map with the user's ``hints`` and one reference's ``matched`` hints
        (``matched_hints``): both spread over their regions, the reference hints at
        ``reference_hint_alpha`` (at 1 they are drawn as the user's)."""
        hints = Hints.load(hints)
        merged = Hints(points=list(hints.points) + list(matched.points), strokes=list(hints.strokes),
                       raster=hints.raster)
        if self.reference_hint_alpha == 1.0 or matched.is_empty():
            return self.hint_map(merged, prepared)
        user = self.hint_map(hints, prepared)
        both = self.hint_map(merged, prepared)  # the reference hints spread as the user's would be
        from_reference = (user[:, 3:] == 0) & (both[:, 3:] > 0)
        return torch.where(from_reference, both * self.reference_hint_alpha, user)

    def refine(
        self,
        prepared: PreparedSketch,
        rgb: np.ndarray,
        hints: object = None,
        mode: str | None = None,
        palette: Palette | None = None,
        recolor: dict[int, tuple[int, int, int]] | None = None,
        bucket: tuple[np.ndarray, np.ndarray] | None = None,
        reference: np.ndarray | None = None,
        reference_colors: float | None = None,
    ) -> np.ndarray:
        """Region refinement of one network output at the processing size (``refine.refine``).

        In ``flat`` every hint fills its region (the most used color, ``refine.bucket_fill``); in
        ``soft`` the point hints do (clicks are paint buckets) while strokes and raster hints are
        left to the network, which follows them better than a fill does where outlines are open.
        ``bucket``: ``paint_buckets(hints, prepared, mode)``, computed once for many outputs.
        ``reference``: the output's reference as ``reference_samples``; the region colors move
        ``reference_colors`` (None: ``self.reference_colors``) of the way to its spread of colors.
        """
        mode = check_mode(self.default_mode if mode is None else mode)
        if mode == "raw" and palette is None and not recolor:
            return rgb
        if bucket is None:
            bucket = self.paint_buckets(hints, prepared, mode)
        return refine(rgb, self.regions(prepared), mode, None,
                      palette_colors=None if palette is None else palette.array(), assignment=recolor, bucket=bucket,
                      reference_lab=reference,
                      reference_strength=self.reference_colors if reference_colors is None else reference_colors)

    def paint_buckets(self, hints: object, prepared: PreparedSketch, mode: str | None = None
                      ) -> tuple[np.ndarray, np.ndarray] | None:
        """What the hints fill in ``mode``: ``refine.bucket_fill``'s (colors, where), or None.

        It depends on the sketch and the hints only, so the outputs of every reference share it.
        """
        mode = check_mode(self.default_mode if mode is None else mode)
        if hints is None or mode == "raw":
            return None
        hints = Hints.load(hints)
        clicks = self._click_map(hints, prepared) if mode == "soft" else self.hint_array(hints, prepared)
        return bucket_fill(clicks, self.regions(prepared))

    @property
    def _last(self) -> _LastRender | None:
        """The newest kept render (None: none kept)."""
        return self._renders[-1] if self._renders else None

    def _kept_render(self, key: str, size: tuple[int, int], styles: StyleCode) -> _LastRender | None:
        """The kept render of this sketch at this size with these style codes, taken out of the store."""
        for i, kept in enumerate(self._renders):
            if kept.key == key and kept.rgb.shape[1:3] == size and _same_styles(kept.styles, styles):
                return self._renders.pop(i)
        return None

    def _forget_levels(self) -> None:
        """Free the decoder levels every kept render holds (one set at a time: 30 MB per reference at
        512 px in bf16)."""
        for kept in self._renders:
            kept.levels = None

    def _keep_render(self, render: _LastRender) -> None:
        if render.levels is not None:
            self._forget_levels()
        self._renders.append(render)
        del self._renders[:-max(1, self.max_kept_renders)]

    def render(self, prepared: PreparedSketch, hint_map: torch.Tensor, styles: StyleCode) -> np.ndarray:
        """Run the decoder: uint8 (N, h, w, 3) at the processing size.

        When only the hints changed since a recent call with the same sketch and style codes (the
        last ``max_kept_renders`` are kept: one per reference when each has its own hint map), only
        the region the edit can affect is decoded again: level by level where that decode kept its
        levels (the newest render, within ``keeps_levels``), else a window around it; the result is
        the same as a full decode.
        """
        h, w = prepared.processing_size
        hint_map = hint_map.detach().to("cpu", torch.float32)
        if tuple(hint_map.shape[-2:]) != (h, w):
            raise S2PError(f"hint map is {tuple(hint_map.shape[-2:])}, the sketch is processed at {(h, w)}")
        observed = self._observed()
        last = self._kept_render(prepared.key, (h, w), styles) if self.incremental and not observed else None
        window = plan = None
        if last is not None:
            box = changed_box(last.hint_map, hint_map)
            if box is None:
                self._renders.append(last)
                return last.rgb.copy()
            batches = -(-len(styles) // max(1, self.max_batch_pixels // (h * w)))
            if last.levels is not None and len(last.levels) == batches:  # kept per batch of references
                plan = self.edit_plan(prepared, box)
                if plan.output_share > self.max_incremental_share:
                    plan = None
            if plan is None:
                window = self.edit_window(box, h, w)
                last.levels = None  # stale after this edit: free them before decoding
        if plan is None and window is None:
            last = None  # a full decode: free that render's levels first
            if self.keeps_levels(prepared, len(styles)):
                self._forget_levels()
        levels = None
        if plan is not None:
            levels = last.levels  # type: ignore[union-attr]  (out of the store: rewritten in place)
            patch = self.redecode(prepared, hint_map, styles, levels, plan)
            y0, y1, x0, x1 = plan.output
            rgb = last.rgb.copy()  # type: ignore[union-attr]
            rgb[:, y0:y1, x0:x1] = patch
        elif last is not None and window is not None:
            (y0, y1, x0, x1), (ay0, ay1, ax0, ax1) = window
            patch = self.decode_window(prepared, hint_map, styles, (y0, y1, x0, x1), observed)
            rgb = last.rgb.copy()
            rgb[:, ay0:ay1, ax0:ax1] = patch[:, ay0 - y0 : ay1 - y0, ax0 - x0 : ax1 - x0]
        elif self.incremental and not observed and self.keeps_levels(prepared, len(styles)):
            rgb, levels = self.decode_levels(prepared, hint_map, styles)
        else:
            rgb = self.decode_window(prepared, hint_map, styles, None, observed)
        if self.incremental and not observed:  # copies: callers may edit their tensors in place
            kept = StyleCode(styles.vector.clone(), styles.tokens.clone(), styles.present.clone())
            self._keep_render(_LastRender(prepared.key, kept, hint_map.clone(), rgb, levels))
            return rgb.copy()
        self._renders.clear()
        return rgb

    def _observed(self) -> bool:
        """True while something watches the decoder (kept attention maps, forward hooks).

        Then every render runs the whole decoder eagerly, and nothing is reused, so that hooks
        and attention maps see the full image (``_eager_generator`` says which generator).
        """
        from torch.nn.modules import module as nn_module

        if nn_module._global_forward_hooks or nn_module._global_forward_pre_hooks:
            return True
        return self._watches_definition()

    def _watches_definition(self) -> bool:
        """True while attention maps are kept or hooks sit on the model's own modules."""
        if any(m.keep_weights for m in self.model.generator.attention_modules()):
            return True
        return any(m._forward_hooks or m._forward_pre_hooks for m in self.model.modules())

    def _eager_generator(self) -> Generator:
        """The generator an observed render runs, eagerly.

        The definition (``self.model``) while its own modules are watched, so that hooks and
        kept attention maps see the layers they were put on; with only global hooks (a FLOP
        counter, a profiler) the fast copy, which those see as well.
        """
        return (self.model if self._watches_definition() else self.inference_model).generator

    def edit_window(
        self, box: tuple[int, int, int, int], h: int, w: int
    ) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]] | None:
        """For a hint edit inside ``box``: the window to decode and the region it gets right.

        The output can change only within ``receptive_radius`` of the edit (the affected region);
        a window decoded with that margin again around the region computes the region exactly
        (zero padding and bilinear clamping at the window's edges reach no further). The window
        is aligned to the generator's down-sampling grid. None: decode the whole image.
        """
        r, m = self.receptive_radius, self.config.multiple
        y0, y1, x0, x1 = box
        ay0, ay1, ax0, ax1 = max(0, y0 - r), min(h, y1 + r), max(0, x0 - r), min(w, x1 + r)
        wy0, wx0 = max(0, ay0 - r) // m * m, max(0, ax0 - r) // m * m
        wy1, wx1 = min(h, -(-(ay1 + r) // m) * m), min(w, -(-(ax1 + r) // m) * m)
        if (wy1 - wy0) * (wx1 - wx0) > self.max_incremental_share * h * w:
            return None
        return (wy0, wy1, wx0, wx1), (ay0, ay1, ax0, ax1)

    def keeps_levels(self, prepared: PreparedSketch, references: int) -> bool:
        """Whether a full decode of ``references`` outputs keeps its levels for hint edits: on the
        PyTorch backend, uncompiled, and within ``max_level_cache_bytes``."""
        if self.backend != "torch" or self.compiled or self.max_level_cache_bytes <= 0:
            return False
        generator = self.inference_model.generator
        item = 2 if self.amp_dtype is not None else prepared.features.skips[0].element_size()
        skips = prepared.features.skips
        pixels = skips[-1].shape[-2:].numel() * generator.widths[-1]
        pixels += sum(s.shape[-2:].numel() * c for s, c in zip(skips[:-1], generator.widths[:-1]))
        return references * pixels * item <= self.max_level_cache_bytes

    def edit_plan(self, prepared: PreparedSketch, box: tuple[int, int, int, int]) -> EditPlan:
        """Where a hint edit inside ``box`` changes each decoder level (``incremental.plan_edit``)."""
        sizes = [tuple(s.shape[-2:]) for s in prepared.features.skips]
        return plan_edit(self.inference_model.generator, sizes, box)

    def decode_levels(self, prepared: PreparedSketch, hint_map: torch.Tensor, styles: StyleCode
                      ) -> tuple[np.ndarray, list[list[torch.Tensor]]]:
        """A full decode (uint8 (N, h, w, 3)) that keeps every decoder level's output, one list per
        batch of references (what ``redecode`` updates)."""
        h, w = hint_map.shape[-2:]
        generator = self.inference_model.generator
        chunk = max(1, self.max_batch_pixels // (h * w))
        outputs, levels = [], []
        with torch.inference_mode(), self._autocast():
            hinted: HintedFeatures = self._hint_features(prepared.features, self._to_device(hint_map))
            for start in range(0, len(styles), chunk):
                rgb, kept = decode_keeping_levels(generator, hinted, styles.select(slice(start, start + chunk)))
                outputs.append(_to_uint8(rgb))
                levels.append(kept)
        return (np.concatenate(outputs) if len(outputs) > 1 else outputs[0]), levels

    def redecode(self, prepared: PreparedSketch, hint_map: torch.Tensor, styles: StyleCode,
                 levels: list[list[torch.Tensor]], plan: EditPlan) -> np.ndarray:
        """The colors (uint8 (N, ...)) on ``plan.output`` for a hint map that differs from the one
        ``levels`` hold only inside ``plan.box``; ``levels`` are brought up to date in place."""
        generator = self.inference_model.generator
        h, w = hint_map.shape[-2:]
        chunk = max(1, self.max_batch_pixels // (h * w))
        outputs = []
        with torch.inference_mode(), self._autocast():
            device_map = self._to_device(hint_map)
            for j, start in enumerate(range(0, len(styles), chunk)):
                rgb = redecode(generator, prepared.features, device_map, styles.select(slice(start, start + chunk)),
                               levels[j], plan)
                outputs.append(_to_uint8(rgb))
        return np.concatenate(outputs) if len(outputs) > 1 else outputs[0]

    def decode_window(
        self,
        prepared: PreparedSketch,
        hint_map: torch.Tensor,
        styles: StyleCode,
        window: tuple[int, int, int, int] | None,
        eager: bool = False,
    ) -> np.ndarray:
        """Decode the whole image, or a window (y0, y1, x0, x1) on the down-sampling grid.

        uint8 (N, h, w, 3). ``eager``: run ``_eager_generator`` uncompiled, on PyTorch.
        """
        features = prepared.features
        if window is not None:
            y0, y1, x0, x1 = window
            skips = []
            for level, skip in enumerate(features.skips):
                s = 2**level
                skips.append(self._to_device(skip[..., y0 // s : y1 // s, x0 // s : x1 // s]))
            features = SketchFeatures(skips)
            hint_map = hint_map[..., y0:y1, x0:x1]
        h, w = hint_map.shape[-2:]
        generator = self._eager_generator() if eager else None
        hint_features = generator.hint_features if generator is not None else self._hint_features
        decode = _rgb_decoder(generator) if generator is not None else self._decode_hinted
        chunk = max(1, self.max_batch_pixels // (h * w))
        outputs = []
        with torch.inference_mode(), self._autocast():
            hinted: HintedFeatures = hint_features(features, self._to_device(hint_map))
            for start in range(0, len(styles), chunk):
                outputs.append(_to_uint8(decode(hinted, styles.select(slice(start, start + chunk)))))
        return np.concatenate(outputs) if len(outputs) > 1 else outputs[0]

    def _full_size(self, prepared: PreparedSketch, rgb: np.ndarray) -> np.ndarray:
        """One output (uint8, processing size) at the sketch's original size, without its lines."""
        height, width = prepared.original_size
        rgb = np.ascontiguousarray(rgb)
        if rgb.shape[:2] == (height, width):
            return rgb.copy()
        interp = cv2.INTER_CUBIC if height * width > rgb.shape[0] * rgb.shape[1] else cv2.INTER_AREA
        return cv2.resize(rgb, (width, height), interpolation=interp)

    def finish(self, prepared: PreparedSketch, rgb: np.ndarray) -> Image.Image:
        """Upsample one output to the sketch's original size and lay the sketch lines over it."""
        full = self._full_size(prepared, rgb)
        if self.line_overlay > 0:
            # full * (1 - overlay * (1 - lines)) in one rounded uint8 pass, the shade cached per sketch
            full = cv2.multiply(full, self._shade(prepared), scale=1.0 / 255.0)
        return Image.fromarray(full)

    def layers(self, prepared: PreparedSketch, rgb: np.ndarray) -> "Layers":
        """One output taken apart as an artist stacks it (``layers.split_layers``): the line art
        as cleaned, each region's flat color (its median over the region's non-line pixels) and
        the shading that turns the flat colors into the output, at the sketch's original size.
        ``Layers.color`` is what ``finish`` gives."""
        from .layers import flat_from_regions, split_layers

        full = self._full_size(prepared, rgb)
        height, width = prepared.original_size
        regions = self.regions(prepared).resized(height, width)
        flat = flat_from_regions(full, regions.labels, voters=~regions.lines)
        return split_layers(full, flat, prepared.lines, line_opacity=self.line_overlay)

    def _shade(self, prepared: PreparedSketch) -> np.ndarray:
        """uint8 (H, W, 3) line shade at the original size: 255 on paper, darker on the lines."""
        key = f"{prepared.key}:{self.line_overlay}"
        if key not in self._shades:
            lines = prepared.lines
            if self.line_overlay != 1.0:
                shade = 255.0 - self.line_overlay * (255.0 - lines.astype(np.float32))
                lines = np.clip(np.rint(shade), 0, 255).astype(np.uint8)
            self._remember(self._shades, key, cv2.merge([lines, lines, lines]))
        else:
            self._shades.move_to_end(key)
        return self._shades[key]

    # ------------------------------------------------------------------ the contract
    def colorize(
        self,
        sketch: ImageSource,
        styles: Sequence[ImageSource] | None = None,
        hints: object = None,
        size: int = 512,
        seed: int = 0,
        mode: str | None = None,
        palette: object = None,
        recolor: dict[int, tuple[int, int, int]] | None = None,
        reference_hints: int | None = None,
        layers: bool = False,
    ) -> list[Image.Image] | list["Layers"]:
        """Colorize ``sketch`` once per style reference (or once from hints alone).

        ``sketch`` and each style: a path, a PIL image or a uint8 array (HxW or HxWx3 RGB).
        ``hints``: a ``Hints``, the hints JSON dict, a path to a JSON file, or None. ``size``: the
        processing resolution of the longer side. ``seed``: which of the matcher's plausible region
        colorings (0: the most probable; another seed samples another composition among them, the
        same seed the same one; ``Matcher.assign``); without a matcher, or in ``raw``, the result
        does not depend on it. ``mode``: the region refinement,
        ``"soft"``, ``"flat"`` or ``"raw"`` (None: ``default_mode``). ``palette``: a ``Palette``,
        its JSON dict or file, or an image to take one from; every region is snapped to its
        nearest palette color. ``recolor``: region label (``regions(prepared)``) -> RGB, regions
        recolored by hand. ``reference_hints``: point hints matched from each reference that the
        network gets beside ``hints`` (None: ``self.reference_hints``; 0: none;
        ``render_references``). Returns RGB images at the sketch's original size; with ``layers``,
        each as ``layers.Layers`` instead (line art, flat colors, shading; ``Layers.image`` is the
        picture, ``layers.save_layers`` writes the PNGs and a layered PSD).
        """
        if isinstance(styles, (str, os.PathLike, np.ndarray, Image.Image)):
            styles = [styles]
        mode = check_mode(self.default_mode if mode is None else mode)
        palette = load_palette(palette)
        prepared = self.prepare_sketch(sketch, size)
        hints = Hints.load(hints)
        # each reference decoded once, for its style code and its colors
        styles = [s if isinstance(s, StyleCode) else load_image(s, mode="RGB") for s in styles or []]
        codes = self.encode_styles(styles or None)
        bucket = self.paint_buckets(hints, prepared, mode)
        samples = (self.reference_samples(styles) if styles and self.reference_colors > 0 and mode != "raw"
                   else [None] * max(1, len(styles)))
        rendered = self.render_references(prepared, hints, styles, codes, reference_hints, mode=mode, seed=seed)
        refined = [self.refine(prepared, rgb, hints, mode, palette, recolor, bucket, reference)
                   for rgb, reference in zip(rendered, samples)]
        if layers:
            return [self.layers(prepared, rgb) for rgb in refined]
        return [self.finish(prepared, rgb) for rgb in refined]
