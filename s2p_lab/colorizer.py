"""``Colorizer``: the user-facing predictor, shaped as prepare then predict.

**Prepare** (once per input, cached by content): ``prepare_sketch`` cleans and encodes a sketch
(``prepared.PreparedSketch``: its encoder features, and on first use its regions and the matcher's
region features); ``encode_styles`` gives each reference its style code; ``prepare_references``
its color segments and their features (``region_matching``, ``matching.Matcher``).

**Predict** (many times: references, hints, modes): ``colorize`` builds each reference's hint map
(``hint_encoding``: the user's hints spread as the network was trained to see them, and the colors
the region matcher chose for the other regions), renders it (``rendering.Renderer``: batches of
references, kept renders, incremental hint edits), refines it region by region (``refine``) and
finishes it at the sketch's size with its lines laid over (``finishing``).

Speed (``bench/RESULTS.md``): bf16 where the hardware runs it fast, the networks rewritten for inference
in a copy sharing the weights (``models.inference``), references encoded once per machine (``reference_store``).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import torch
from PIL import Image

from .correspondence import MIN_IMAGE_SIMILARITY, MIN_SIMILARITY, MatchStore, check_count, reference_hints
from .errors import S2PError
from .hint_encoding import spread_within_reach, to_network_input, with_reference_hints
from .hints import Hints
from .imageio import ImageSource, content_digest, load_image, resize_long_side
from .models import ColorizationModel, StyleCode, load_model
from .models.blocks import check_sharpness, set_attention_sharpness
from .palettes import Palette, load_palette
from .refine import DEFAULT_MODE, bucket_fill, check_strength, check_mode, reference_samples, refine
from .regions import RegionMap, region_map
from .renamed import RenamedAttribute, renamed_keywords
from .finishing import Finisher
from .prepared import PreparedSketch
from .reference_store import StoredStyleCodes, open_store
from .rendering import Placement, Renderer, runnable_networks
from .matching.predict import Matcher, RegionColors
from .region_matching import RegionMatching
from .runtime import autocast_dtype, bf16_available, resolve_device
from .sketch import cleanup_sketch

if TYPE_CHECKING:
    from .layers import Layers

PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"
MIN_SIZE, MAX_SIZE = 64, 2048


class Colorizer(RegionMatching):
    """Colorize sketches from style references and color hints.

    >>> colorizer = Colorizer.from_pretrained()
    >>> images = colorizer.colorize("sketch.png", styles=["a.png", "b.png"], size=512)
    """

    #: refinement when ``colorize`` is given no ``mode`` (``refine.MODES``)
    default_mode: str = DEFAULT_MODE
    #: the network sees each hint spread over its region up to this share of the longer side from
    #: the hint (None: the whole region; 0: hints as drawn); set from the model config to what the
    #: weights were trained with (``ModelConfig.hint_encoding``: 0.03 for the shipped weights)
    hint_reach: float | None
    #: how far ``soft`` and ``flat`` move the region colors toward the reference's own spread of
    #: colors (``refine.transfer_colors``; 0: the network's colors, 1: the reference's chroma spread);
    #: the regions the matcher colors then move ``matched_color_strength`` of the way to their own
    reference_color_strength: float = 0.5
    #: reference hints per output (``correspondence``): colors matched from the reference to the
    #: sketch's regions, given to the network beside the user's hints; 0 (the default): none, 24:
    #: the measured setting (model card: better with a reference of the same drawing only)
    reference_hint_count: int = 0
    #: a region gets a reference hint only where its cells' best matches are at least this similar
    #: on average (``correspondence.MIN_SIMILARITY``): a landscape gives hardly any
    reference_similarity: float = MIN_SIMILARITY
    #: and a reference gives hints only where the whole sketch matches it at least this well on
    #: average (``correspondence.MIN_IMAGE_SIMILARITY``): a colored copy of the drawing passes
    reference_image_similarity: float = MIN_IMAGE_SIMILARITY
    #: the alpha of reference hints in the hint map the network sees, as the weights were trained
    #: (``ModelConfig.hint_encoding``; 1, as a user's hints, for the shipped weights)
    reference_hint_alpha: float
    #: earlier names of ``reference_color_strength`` and ``reference_hint_count`` (deprecated)
    reference_colors = RenamedAttribute("reference_color_strength")
    reference_hints = RenamedAttribute("reference_hint_count")

    @renamed_keywords(reference_colors="reference_color_strength", reference_hints="reference_hint_count")
    def __init__(
        self,
        model: ColorizationModel,
        *,
        device: str | torch.device | None = None,
        bf16: bool | None = None,
        channels_last: bool = True,
        compile: bool = False,
        line_overlay: float = 1.0,
        reference_color_strength: float | None = None,
        reference_hint_count: int | None = None,
        attention_sharpness: float = 1.0,
        cache_size: int = 8,
        incremental: bool = True,
        backend: str = "torch",
        matcher: Matcher | None = None,
        reference_store: str | os.PathLike | bool | None = None,
    ) -> None:
        """``bf16``: None picks bf16 autocast where the hardware runs it fast (AVX-512 BF16 or AMX
        CPUs, bf16 GPUs) and fp16 autocast on GPUs without bf16; False keeps float32 everywhere.
        ``compile``: ``torch.compile`` the encoder and decoder (over a minute of compiling, not faster
        on a 2-core bf16 CPU). ``incremental``: re-decode only the region a hint edit touches.
        ``line_overlay``: how dark the sketch lines are laid over the colors (1: as drawn; 0: the
        network's colors alone; ``check_strength``). ``reference_color_strength``: how far ``soft``
        and ``flat`` move the region colors toward the reference's spread of colors (None: the
        class default, 0.5). ``reference_hint_count``: how many point hints matched from each reference
        the network gets beside the user's (None: the class default, 0: none; 24 is the measured
        setting; ``render_references``). ``attention_sharpness``: the scale of the network's
        attention logits (1: as trained; above 1 each part of the sketch leans on its best-matching
        reference tokens: more colors, less of the reference's overall look; model card).
        ``backend="onnxruntime"``: the generator on onnxruntime in float32 (the ``onnx`` extra;
        slower than PyTorch's float32 on the AVX2 CPU measured, ``bench/RESULTS.md``).
        ``matcher``: the region matcher (``matching.Matcher``) that chooses each region's color from
        each reference before the network shades it (None: the network alone, as before v0.4).
        ``reference_store``: the folder where references' style codes and matcher parts are kept
        for later processes (None: ``$S2P_CACHE_DIR`` or ``~/.cache/s2p-lab``; False: none).
        """
        if backend not in ("torch", "onnxruntime"):
            raise S2PError(f"unknown backend {backend!r}: use 'torch' or 'onnxruntime'")
        line_overlay = check_strength(line_overlay, "line_overlay")
        if reference_color_strength is not None:
            self.reference_color_strength = check_strength(reference_color_strength, "reference_color_strength")
        if reference_hint_count is not None:
            self.reference_hint_count = check_count(reference_hint_count, "reference_hint_count")
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.config = model.config
        self.hint_reach = model.config.hint_encoding.reach
        self.reference_hint_alpha = model.config.hint_encoding.reference_alpha
        self.bf16 = bf16_available(self.device) if bf16 is None else bool(bf16)
        self.amp_dtype: torch.dtype | None = self.autocast_dtype(self.device, bf16)
        self.backend, self.compiled = backend, bool(compile)
        networks = runnable_networks(self.model, Placement(self.device, self.amp_dtype, channels_last), backend, compile)
        self.placement, self.inference_model = networks.placement, networks.fast
        self.amp_dtype, self.channels_last = self.placement.amp_dtype, self.placement.channels_last
        self.bf16 = self.bf16 and backend == "torch"  # onnxruntime runs in float32
        self._encode_sketch, self._encode_style = networks.encode_sketch, networks.encode_style
        #: the decoder's runs: batches of references, kept renders, incremental hint edits
        self.renderer = Renderer(self.model, self.inference_model, self.placement, hint_features=networks.hint_features,
                                 decode_hinted=networks.decode_hinted, levels_kept=backend == "torch" and not compile,
                                 incremental=incremental)
        self.line_overlay = float(line_overlay)
        self.cache_size = cache_size
        self._sketches: OrderedDict[str, PreparedSketch] = OrderedDict()
        self._styles: OrderedDict[str, StyleCode] = OrderedDict()
        #: outputs at the original size with the lines laid over, or taken apart in layers
        self.finisher = Finisher(cache_size)
        self._clicks: tuple[tuple, np.ndarray] | None = None
        self._matches = MatchStore(8 * max(1, cache_size))  # reference matches and each sketch's cells
        # references encoded at once: on a CPU three at 256 px took as long as nine in one batch and
        # held half the memory (+78 MB against +151 MB); a GPU takes them all
        self.max_style_batch_pixels = 64 * 256 * 256 if self.device.type == "cuda" else 3 * 256 * 256
        self._attention_sharpness = 1.0
        self.attention_sharpness = attention_sharpness
        self.matcher = matcher
        if matcher is not None and self.device.type == "cpu":
            matcher.bf16 = self.bf16  # the matcher's frozen features in the colorizer's precision
        store = open_store(reference_store)  # style codes here, the matcher's parts in the matcher
        self.stored_styles = StoredStyleCodes.open(store, self.model, self.device, f"{self.amp_dtype}/{backend}")
        if matcher is not None:
            matcher.store = store

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
            self.renderer.clear()  # the kept renders were computed with the old one
        self._attention_sharpness = value

    #: the autocast dtype a colorizer on a device runs in (``runtime.autocast_dtype``)
    autocast_dtype = staticmethod(autocast_dtype)

    @classmethod
    def from_pretrained(
        cls, weights: str | os.PathLike | None = None, device: str | torch.device | None = None, **kwargs
    ) -> "Colorizer":
        """Load shipped weights (``weights=None``), a weights folder, or a ``.safetensors`` file.

        The network sees hints as it was trained to (its config's ``hint_encoding``: each hint
        spread over 3 % of the longer side for the shipped weights, as drawn for v0.2's and older).
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
        return cls(load_model(path, backbone_dtype), device=device, **kwargs)

    # ------------------------------------------------------------------ cached stages
    def clear_cache(self) -> None:
        """Forget cached sketches, style codes and the last render (the reference store on disk stays)."""
        self._sketches.clear()
        self._styles.clear()
        self.finisher.clear()
        self.renderer.clear()
        self._clicks = None
        if self.matcher is not None:
            self.matcher.forget_references()

    def prepare_sketch(self, sketch: ImageSource, size: int = 512) -> PreparedSketch:
        """Load, clean and encode a sketch at processing size ``size`` (longer side); cached."""
        if not isinstance(size, int) or isinstance(size, bool) or not MIN_SIZE <= size <= MAX_SIZE:
            raise S2PError(f"size must be an integer from {MIN_SIZE} to {MAX_SIZE}, got {size!r}")
        if isinstance(sketch, PreparedSketch):
            return sketch
        rgb = load_image(sketch, mode="RGB")
        key = content_digest(rgb, size)
        if key in self._sketches:
            self._sketches.move_to_end(key)
            return self._sketches[key]
        lines = cleanup_sketch(rgb)
        small = resize_long_side(lines, size, multiple=self.config.multiple)
        tensor = torch.from_numpy(255 - small).float().div_(255)[None, None]
        encode = self.renderer.eager_generator().encode_sketch if self.renderer.observed() else self._encode_sketch
        with torch.inference_mode(), self.placement.autocast():
            features = encode(self.placement.to_device(tensor))
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
        watched = self.renderer.watches_definition()  # then the definition encodes, and nothing is stored
        stored = None if watched else self.stored_styles
        for i, style in enumerate(styles):
            if isinstance(style, StyleCode):
                codes.append(style)
                continue
            rgb = load_image(style, mode="RGB")
            key = content_digest(rgb, self.config.style_size)
            known = self._styles.get(key)
            codes.append(known if known is not None or stored is None else stored.load(key))
            if codes[-1] is not None:
                self._remember(self._styles, key, codes[-1])
            else:
                side = self.config.style_size
                small = cv2.resize(rgb, (side, side), interpolation=cv2.INTER_AREA)
                pending[i] = (key, torch.from_numpy(small).permute(2, 0, 1).float().div(127.5).sub(1))
        if pending:
            encode = self.model.style_encoder if watched else self._encode_style
            chunk = max(1, self.max_style_batch_pixels // self.config.style_size**2)
            waiting = list(pending.items())
            for start in range(0, len(waiting), chunk):  # the same codes in any batch (tested)
                part = waiting[start:start + chunk]
                batch = self.placement.to_device(torch.stack([t for _, (_, t) in part]))
                with torch.inference_mode(), self.placement.autocast():
                    encoded = encode(batch)
                for j, (i, (key, _)) in enumerate(part):
                    code = encoded.select(slice(j, j + 1))
                    codes[i] = code
                    self._remember(self._styles, key, code)
                    if stored is not None:
                        stored.save(key, code)
        return StyleCode.cat(codes)

    def _remember(self, cache: OrderedDict, key: str, value: object) -> None:
        cache[key] = value
        cache.move_to_end(key)
        while len(cache) > max(1, self.cache_size) * (8 if cache is self._styles else 1):
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
        region, each pixel takes the color of the nearest hint. ``hint_reach=0``: as drawn
        (``hint_encoding.spread_within_reach``, as the network's training drew them).
        """
        return to_network_input(self._spread_hints(Hints.load(hints), prepared))

    def _spread_hints(self, hints: Hints, prepared: PreparedSketch) -> np.ndarray:
        """``hint_map`` as an (h, w, 4) array."""
        drawn_beyond_clicks = bool(hints.strokes) or hints.raster is not None
        if self.hint_reach == 0 or not (hints.points or drawn_beyond_clicks):
            return self.hint_array(hints, prepared)
        drawn = self.hint_array(hints, prepared) if drawn_beyond_clicks else self._click_map(hints, prepared)
        return spread_within_reach(drawn, self.regions(prepared), self.hint_reach)  # a new map; drawn pixels kept

    def matched_hints(self, prepared: PreparedSketch, reference: ImageSource, hints: object = None,
                      count: int | None = None) -> Hints:
        """The reference hints for one reference (``correspondence.reference_hints``): up to
        ``count`` (None: ``self.reference_hint_count``) point hints with colors matched from the
        reference, none in a region the user's ``hints`` already color."""
        count = self.reference_hint_count if count is None else check_count(count, "reference_hint_count")
        if count == 0:
            return Hints()
        match = self._matches.match((prepared.key, prepared.processing_size), prepared.processing_lines,
                                    load_image(reference, mode="RGB"))
        hints = Hints.load(hints)
        hinted = self.hint_array(hints, prepared)[:, :, 3] > 0 if not hints.is_empty() else None
        return reference_hints(match, self.regions(prepared), count, hinted=hinted,
                               min_similarity=self.reference_similarity,
                               min_image_similarity=self.reference_image_similarity)

    # ------------------------------------------------------------------ the drafts
    def render_references(self, prepared: PreparedSketch, hints: object, styles: Sequence[ImageSource] | None,
                          codes: StyleCode | None = None, count: int | None = None, *,
                          mode: str | None = None, seed: int = 0,
                          colors: Sequence[RegionColors | None] | None = None) -> np.ndarray:
        """The drafts, uint8 (N, h, w, 3), one per reference, before refinement.

        With a matcher (``matches_regions``) and a mode other than ``raw``, each reference's region
        colors (``region_colors``) are the draft in ``flat`` (no network) and fill the hint map the
        network shades from otherwise (``matched_hint_map``); the user's hints keep their regions.
        Without one (or in ``raw``), the network's outputs with the user's ``hints`` plus that
        reference's point hints (``matched_hints``, ``count`` of them). ``codes``: the references'
        ``encode_styles`` where the caller has them. A reference given as a style code gets no
        matching (there is no image to match). The references that get no hints of their own are
        decoded as one batch with the user's hints, as ``render`` does. ``colors``: the
        ``matched_colors`` of ``styles`` where the caller has them."""
        hints = Hints.load(hints)
        styles = list(styles or [])
        mode = check_mode(self.default_mode if mode is None else mode)
        matching = self.matches_regions and mode != "raw"
        colors = self.matched_colors(prepared, styles, mode, seed) if colors is None else list(colors)
        if matching and mode == "flat" and styles and all(c is not None for c in colors):
            return np.stack([self.matched_flat(prepared, c) for c in colors])  # type: ignore[arg-type]
        codes = self.encode_styles(styles or None) if codes is None else codes
        count = self.reference_hint_count if count is None else check_count(count, "reference_hint_count")
        maps: list[torch.Tensor | None] = []
        # the user's hints spread once for every reference
        user = self._spread_hints(hints, prepared) if any(c is not None for c in colors) else None
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
        ``reference_hint_alpha`` (``hint_encoding.with_reference_hints``, as in training)."""
        hints = Hints.load(hints)
        user = self._spread_hints(hints, prepared)
        if matched.is_empty():
            return to_network_input(user)
        regions = self.regions(prepared)
        reference = spread_within_reach(matched.to_map(*prepared.processing_size), regions, self.hint_reach)
        return to_network_input(with_reference_hints(user, reference, regions, self.reference_hint_alpha))

    @renamed_keywords(reference_colors="reference_color_strength")
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
        reference_color_strength: float | None = None,
        matched: RegionColors | None = None,
        matched_color_strength: float | None = None,
    ) -> np.ndarray:
        """Region refinement of one network output at the processing size (``refine.refine``).

        In ``flat`` every hint fills its region (the most used color, ``refine.bucket_fill``); in
        ``soft`` the point hints do (clicks are paint buckets) while strokes and raster hints are
        left to the network, which follows them better than a fill does where outlines are open.
        ``bucket``: ``paint_buckets(hints, prepared, mode)``, computed once for many outputs.
        ``reference``: the output's reference as ``reference_samples``; the region colors move
        ``reference_color_strength`` (None: ``self.reference_color_strength``) of the way to its spread of colors.
        ``matched``: the output's ``matched_colors``; in ``soft`` its regions move ``matched_strengths``
        (``matched_color_strength``, None: ``self.matched_color_strength``) to them.
        """
        mode = check_mode(self.default_mode if mode is None else mode)
        if mode == "raw" and palette is None and not recolor:
            return rgb
        if bucket is None:
            bucket = self.paint_buckets(hints, prepared, mode)
        chosen = (None if matched is None or mode != "soft"
                  else (matched.rgb, self.matched_strengths(prepared, hints, matched, matched_color_strength)))
        return refine(rgb, self.regions(prepared), mode, None,
                      palette_colors=None if palette is None else palette.array(), assignment=recolor, bucket=bucket,
                      reference_lab=reference,
                      reference_strength=(self.reference_color_strength if reference_color_strength is None
                                          else reference_color_strength), region_colors=chosen)

    def refined_drafts(self, prepared: PreparedSketch, hints: object, styles: Sequence[ImageSource] | None,
                       codes: StyleCode | None = None, *, mode: str | None = None, seed: int = 0,
                       count: int | None = None, palette: Palette | None = None,
                       recolor: dict[int, tuple[int, int, int]] | None = None,
                       reference_color_strength: float | None = None,
                       matched_color_strength: float | None = None) -> list[np.ndarray]:
        """Each reference's draft (``render_references``) refined (``refine``): uint8 (h, w, 3) at
        the processing size, one per reference (one from the hints alone without any), what
        ``colorize`` finishes. The matcher's colors, the hints' paint buckets and the references'
        color samples are made once for every output; the strengths default to the colorizer's."""
        mode = check_mode(self.default_mode if mode is None else mode)
        hints = Hints.load(hints)
        styles = list(styles or [])
        strength = self.reference_color_strength if reference_color_strength is None else reference_color_strength
        bucket = self.paint_buckets(hints, prepared, mode)
        samples = (self.reference_samples(styles) if styles and strength > 0 and mode != "raw"
                   else [None] * max(1, len(styles)))
        colors = self.matched_colors(prepared, styles, mode, seed) + [None]  # [None]: hints alone
        rendered = self.render_references(prepared, hints, styles, codes, count, mode=mode, seed=seed,
                                          colors=colors[:len(styles)])
        return [self.refine(prepared, rgb, hints, mode, palette, recolor, bucket, reference, strength, matched,
                            matched_color_strength)
                for rgb, reference, matched in zip(rendered, samples, colors)]

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

    def render(self, prepared: PreparedSketch, hint_map: torch.Tensor, styles: StyleCode) -> np.ndarray:
        """Run the decoder: uint8 (N, h, w, 3) at the processing size (``rendering.Renderer.render``:
        after a recent render of the same sketch and style codes, a hint edit decodes only what it
        can change; the result is the same as a full decode)."""
        return self.renderer.render(prepared, hint_map, styles)

    def finish(self, prepared: PreparedSketch, rgb: np.ndarray) -> Image.Image:
        """Upsample one output to the sketch's original size and lay the sketch lines over it
        at ``line_overlay`` (``finishing.Finisher.finish``)."""
        return self.finisher.finish(prepared, rgb, self.line_overlay)

    def layers(self, prepared: PreparedSketch, rgb: np.ndarray) -> "Layers":
        """One output taken apart as an artist stacks it (``finishing.Finisher.layers``): the line
        art, each region's flat color and the shading, at the sketch's original size."""
        return self.finisher.layers(prepared, rgb, self.regions(prepared), self.line_overlay)

    # ------------------------------------------------------------------ the contract
    @renamed_keywords(reference_hints="reference_hint_count")
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
        reference_hint_count: int | None = None,
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
        recolored by hand. ``reference_hint_count``: point hints matched from each reference that the
        network gets beside ``hints`` (None: ``self.reference_hint_count``; 0: none;
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
        refined = self.refined_drafts(prepared, hints, styles, codes, mode=mode, seed=seed, count=reference_hint_count,
                                      palette=palette, recolor=recolor)
        if layers:
            return [self.layers(prepared, rgb) for rgb in refined]
        return [self.finish(prepared, rgb) for rgb in refined]
