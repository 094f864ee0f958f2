"""Running the decoder for a ``Colorizer``, and reusing recent renders for hint edits.

``Renderer.render`` turns a prepared sketch, a hint map and the references' style codes into colors
at the processing size. The references are decoded a few at a time (``max_batch_pixels``): the part
shared by all references runs once per call; on a CPU one reference at a time from 256 px up is
faster (its activations stay in cache: 2.9 s vs 4.3 s for four at 512 px) and bounds peak memory,
while a GPU wants large batches. On the PyTorch backend the finest decoder level runs in bands of
rows (``max_band_bytes``, ``models.incremental.decode_in_bands``): the same colors, no
full-resolution activation held whole.

Hint edits are incremental: the decoder has no image-wide operation, so an edit changes each decoder
level only near it. The newest full decode keeps every level's output (``models.incremental``), and
an edit recomputes each level only where it can change, pasting into those (where they are not
kept: the edit's window, with the decoder's receptive field around it, is decoded again). The last
``max_kept_renders`` renders are kept, one per set of references (with the region matcher each
reference has its own hint map). While something watches the networks (forward hooks, kept
attention maps), every render runs the whole decoder eagerly and nothing is reused.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import numpy as np
import torch

from .errors import S2PError
from .models import ColorizationModel, Generator, HintedFeatures, SketchFeatures, StyleCode
from .models.incremental import EditPlan, decode_in_bands, decode_keeping_levels, plan_edit, redecode
from .prepared import PreparedSketch

__all__ = ["KeptRender", "Networks", "Placement", "Renderer", "changed_box", "rgb_decoder", "runnable_networks", "to_uint8"]


@dataclass(frozen=True)
class Placement:
    """Where the networks run and in which precision (``amp_dtype`` None: float32)."""

    device: torch.device
    amp_dtype: torch.dtype | None
    channels_last: bool

    def autocast(self) -> AbstractContextManager:
        """The autocast context the networks run in (disabled for float32)."""
        return torch.autocast(self.device.type, dtype=self.amp_dtype or torch.bfloat16, enabled=self.amp_dtype is not None)

    def to_device(self, t: torch.Tensor) -> torch.Tensor:
        """``t`` on the device, channels-last where the networks take it so."""
        t = t.to(self.device)
        return t.contiguous(memory_format=torch.channels_last) if self.channels_last and t.dim() == 4 else t


@dataclass
class KeptRender:
    """A previous render: what an incremental hint edit starts from."""

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


def rgb_decoder(generator: Generator) -> Callable[[HintedFeatures, StyleCode], torch.Tensor]:
    """``generator.decode_hinted`` returning the colors alone (what the decode loop and
    ``torch.compile`` take); ``generator`` may also be the onnxruntime stand-in."""

    def decode(hinted: HintedFeatures, style: StyleCode) -> torch.Tensor:
        return generator.decode_hinted(hinted, style).rgb

    return decode


def to_uint8(rgb: torch.Tensor) -> np.ndarray:
    """Decoder colors (B, 3, h, w) in [-1, 1] as uint8 (B, h, w, 3) on the CPU."""
    rgb = rgb.float().add_(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8)
    return rgb.permute(0, 2, 3, 1).cpu().numpy()


@dataclass(frozen=True)
class Networks:
    """The networks as a colorizer runs them: ``fast``, the model's inference copy (it shares the
    weights), and the four stages on the chosen backend, in ``placement``."""

    placement: Placement
    fast: ColorizationModel
    encode_sketch: Callable
    encode_style: Callable
    hint_features: Callable
    decode_hinted: Callable


def runnable_networks(model: ColorizationModel, placement: Placement, backend: str = "torch",
                      compile: bool = False) -> Networks:
    """``model`` (in eval mode, on ``placement.device``) made ready to run: channels-last where
    asked, rewritten for inference (``models.inference.optimize_for_inference``; with ``compile``
    the plain attention kernel and ``torch.compile``), its frozen backbones stored in the autocast
    dtype, or its generator on onnxruntime in float32 (``backend="onnxruntime"``, CPU only)."""
    from .models import optimize_for_inference
    from .models.pretrained_features import store_backbones_for_autocast

    if backend not in ("torch", "onnxruntime"):
        raise S2PError(f"unknown backend {backend!r}: use 'torch' or 'onnxruntime'")
    if backend == "onnxruntime" and (placement.device.type != "cpu" or compile):
        raise S2PError("the onnxruntime backend runs on the CPU, without compile=True")
    if placement.channels_last:
        model.to(memory_format=torch.channels_last)
    fast = optimize_for_inference(model, chunked_attention=not compile)
    generator = fast.generator
    stages: tuple = (generator.encode_sketch, generator.hint_features, rgb_decoder(generator))
    if backend == "onnxruntime":
        from .onnx_export import OnnxGenerator

        runtime = OnnxGenerator(model)
        placement = Placement(placement.device, None, False)
        stages = (runtime.encode_sketch, runtime.hint_features, rgb_decoder(runtime))
    if placement.amp_dtype is not None:
        # the frozen pretrained networks of the inference copy keep their weights in the autocast
        # dtype (the same results; no 22 M-weight cast per reference)
        store_backbones_for_autocast(fast, placement.amp_dtype)
    if compile:
        stages = tuple(torch.compile(f, dynamic=True) for f in stages)
    return Networks(placement, fast, stages[0], fast.style_encoder, stages[1], stages[2])


class Renderer:
    """The decoder's runs for one colorizer: batches of references, kept renders, hint edits.

    ``model``: the plain definition (run while watched); ``fast``: its inference copy
    (``models.inference.optimize_for_inference``), whose decoder the edits replay.
    ``hint_features`` / ``decode_hinted``: the decode path as the colorizer runs it (the fast
    copy's, compiled or on onnxruntime); ``levels_kept``: whether decoder levels can be kept
    (the PyTorch backend, uncompiled).
    """

    def __init__(self, model: ColorizationModel, fast: ColorizationModel, placement: Placement, *,
                 hint_features: Callable, decode_hinted: Callable, levels_kept: bool = True,
                 incremental: bool = True) -> None:
        self.model, self.fast, self.placement = model, fast, placement
        self.hint_features, self.decode_hinted = hint_features, decode_hinted
        self.levels_kept = levels_kept
        #: re-decode only the region a hint edit touches
        self.incremental = incremental
        self.receptive_radius = fast.generator.receptive_radius()
        self.multiple = model.config.multiple
        gpu = placement.device.type == "cuda"
        #: reference outputs decoded at once, capped by pixels (a CPU: one at a time from 256 px up)
        self.max_batch_pixels = 8 * 512 * 512 if gpu else 128 * 128 * 4
        #: an edit whose region (with its margins) covers more than this share is decoded in full
        self.max_incremental_share = 0.7
        #: the decoder levels of a render are kept for level-wise hint edits up to this size (bf16
        #: at 512 px: 30 MB per reference; above it, edits decode a window instead)
        self.max_level_cache_bytes = 256 * 2**20
        #: recent renders kept for hint edits (decoder levels by the newest alone)
        self.max_kept_renders = 9
        #: a full decode runs its finest level in bands of rows, each of whose activations (one
        #: tensor of the finest level's width) holds at most this many bytes: 4 bands in float32 and
        #: 2 in bf16 at 512 px, the same colors (``incremental.decode_in_bands``); 0: whole
        self.max_band_bytes = 8 * 2**20
        self.renders: list[KeptRender] = []

    @property
    def last(self) -> KeptRender | None:
        """The newest kept render (None: none kept)."""
        return self.renders[-1] if self.renders else None

    def clear(self) -> None:
        """Forget the kept renders (the next render decodes in full)."""
        self.renders.clear()

    # ------------------------------------------------------------------ who watches
    def watches_definition(self) -> bool:
        """True while attention maps are kept or hooks sit on the model's own modules."""
        if any(m.keep_weights for m in self.model.generator.attention_modules()):
            return True
        return any(m._forward_hooks or m._forward_pre_hooks for m in self.model.modules())

    def observed(self) -> bool:
        """True while something watches the decoder (kept attention maps, forward hooks).

        Then every render runs the whole decoder eagerly, and nothing is reused, so that hooks
        and attention maps see the full image (``eager_generator`` says which generator).
        """
        from torch.nn.modules import module as nn_module

        if nn_module._global_forward_hooks or nn_module._global_forward_pre_hooks:
            return True
        return self.watches_definition()

    def eager_generator(self) -> Generator:
        """The generator an observed render runs, eagerly.

        The definition (``model``) while its own modules are watched, so that hooks and kept
        attention maps see the layers they were put on; with only global hooks (a FLOP counter, a
        profiler) the fast copy, which those see as well.
        """
        return (self.model if self.watches_definition() else self.fast).generator

    # ------------------------------------------------------------------ kept renders
    def _kept_render(self, key: str, size: tuple[int, int], styles: StyleCode) -> KeptRender | None:
        """The kept render of this sketch at this size with these style codes, taken out of the store."""
        for i, kept in enumerate(self.renders):
            if kept.key == key and kept.rgb.shape[1:3] == size and _same_styles(kept.styles, styles):
                return self.renders.pop(i)
        return None

    def _forget_levels(self) -> None:
        """Free the decoder levels every kept render holds (one set at a time: 30 MB per reference at
        512 px in bf16)."""
        for kept in self.renders:
            kept.levels = None

    def _keep(self, render: KeptRender) -> None:
        if render.levels is not None:
            self._forget_levels()
        self.renders.append(render)
        del self.renders[:-max(1, self.max_kept_renders)]

    # ------------------------------------------------------------------ decoding
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
        observed = self.observed()
        last = self._kept_render(prepared.key, (h, w), styles) if self.incremental and not observed else None
        window = plan = None
        if last is not None:
            box = changed_box(last.hint_map, hint_map)
            if box is None:
                self.renders.append(last)
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
            self._keep(KeptRender(prepared.key, kept, hint_map.clone(), rgb, levels))
            return rgb.copy()
        self.renders.clear()
        return rgb

    def edit_window(
        self, box: tuple[int, int, int, int], h: int, w: int
    ) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]] | None:
        """For a hint edit inside ``box``: the window to decode and the region it gets right.

        The output can change only within ``receptive_radius`` of the edit (the affected region);
        a window decoded with that margin again around the region computes the region exactly
        (zero padding and bilinear clamping at the window's edges reach no further). The window
        is aligned to the generator's down-sampling grid. None: decode the whole image.
        """
        r, m = self.receptive_radius, self.multiple
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
        if not self.levels_kept or self.max_level_cache_bytes <= 0:
            return False
        generator = self.fast.generator
        item = 2 if self.placement.amp_dtype is not None else prepared.features.skips[0].element_size()
        skips = prepared.features.skips
        pixels = skips[-1].shape[-2:].numel() * generator.widths[-1]
        pixels += sum(s.shape[-2:].numel() * c for s, c in zip(skips[:-1], generator.widths[:-1]))
        return references * pixels * item <= self.max_level_cache_bytes

    def band_rows(self, prepared: PreparedSketch, references: int) -> int | None:
        """Output rows per band of the finest decoder level (``max_band_bytes``), bands of equal
        height; None: decode whole (one band would do, or the decoder is not run level by level)."""
        if not self.levels_kept or self.max_band_bytes <= 0:
            return None
        skip = prepared.features.skips[0]
        h, w = skip.shape[-2:]
        item = 2 if self.placement.amp_dtype is not None else skip.element_size()
        row_bytes = references * self.fast.generator.widths[0] * w * item
        bands = -(-h * row_bytes // self.max_band_bytes)
        return -(-h // bands) if bands > 1 else None

    def edit_plan(self, prepared: PreparedSketch, box: tuple[int, int, int, int]) -> EditPlan:
        """Where a hint edit inside ``box`` changes each decoder level (``incremental.plan_edit``)."""
        sizes = [tuple(s.shape[-2:]) for s in prepared.features.skips]
        return plan_edit(self.fast.generator, sizes, box)

    def decode_levels(self, prepared: PreparedSketch, hint_map: torch.Tensor, styles: StyleCode
                      ) -> tuple[np.ndarray, list[list[torch.Tensor]]]:
        """A full decode (uint8 (N, h, w, 3)) that keeps every decoder level's output, one list per
        batch of references (what ``redecode`` updates)."""
        h, w = hint_map.shape[-2:]
        generator = self.fast.generator
        chunk = max(1, self.max_batch_pixels // (h * w))
        outputs, levels = [], []
        rows = self.band_rows(prepared, min(chunk, len(styles)))
        with torch.inference_mode(), self.placement.autocast():
            device_map = self.placement.to_device(hint_map)
            if rows is not None:
                return self._decode_in_bands(prepared.features, device_map, styles, chunk, rows, keep_levels=True)
            hinted: HintedFeatures = self.hint_features(prepared.features, device_map)
            for start in range(0, len(styles), chunk):
                rgb, kept = decode_keeping_levels(generator, hinted, styles.select(slice(start, start + chunk)))
                outputs.append(to_uint8(rgb))
                levels.append(kept)
        return (np.concatenate(outputs) if len(outputs) > 1 else outputs[0]), levels

    def _decode_in_bands(self, features: SketchFeatures, hint_map: torch.Tensor, styles: StyleCode, chunk: int,
                         rows: int, keep_levels: bool = False) -> tuple[np.ndarray, list[list[torch.Tensor]]]:
        """A full decode with the finest level in bands of ``rows`` (``incremental.decode_in_bands``),
        ``chunk`` references at a time: uint8 (N, h, w, 3) and, with ``keep_levels``, every level's
        output per batch. The hinted features are made once where several batches share them, else
        a band at a time. Runs inside the caller's inference mode and autocast."""
        hinted = self.hint_features(features, hint_map) if chunk < len(styles) else None
        outputs, levels = [], []
        for start in range(0, len(styles), chunk):
            rgb, kept = decode_in_bands(self.fast.generator, features, hint_map, styles.select(slice(start, start + chunk)),
                                        rows, keep_levels=keep_levels, hinted=hinted)
            outputs.append(to_uint8(rgb))
            levels.append(kept)
        return (np.concatenate(outputs) if len(outputs) > 1 else outputs[0]), levels

    def redecode(self, prepared: PreparedSketch, hint_map: torch.Tensor, styles: StyleCode,
                 levels: list[list[torch.Tensor]], plan: EditPlan) -> np.ndarray:
        """The colors (uint8 (N, ...)) on ``plan.output`` for a hint map that differs from the one
        ``levels`` hold only inside ``plan.box``; ``levels`` are brought up to date in place."""
        generator = self.fast.generator
        h, w = hint_map.shape[-2:]
        chunk = max(1, self.max_batch_pixels // (h * w))
        outputs = []
        with torch.inference_mode(), self.placement.autocast():
            device_map = self.placement.to_device(hint_map)
            for j, start in enumerate(range(0, len(styles), chunk)):
                rgb = redecode(generator, prepared.features, device_map, styles.select(slice(start, start + chunk)),
                               levels[j], plan)
                outputs.append(to_uint8(rgb))
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

        uint8 (N, h, w, 3). ``eager``: run ``eager_generator`` uncompiled, on PyTorch.
        """
        features = prepared.features
        if window is not None:
            y0, y1, x0, x1 = window
            skips = []
            for level, skip in enumerate(features.skips):
                s = 2**level
                skips.append(self.placement.to_device(skip[..., y0 // s : y1 // s, x0 // s : x1 // s]))
            features = SketchFeatures(skips)
            hint_map = hint_map[..., y0:y1, x0:x1]
        h, w = hint_map.shape[-2:]
        generator = self.eager_generator() if eager else None
        hint_features = generator.hint_features if generator is not None else self.hint_features
        decode = rgb_decoder(generator) if generator is not None else self.decode_hinted
        chunk = max(1, self.max_batch_pixels // (h * w))
        rows = self.band_rows(prepared, min(chunk, len(styles))) if window is None and not eager else None
        outputs = []
        with torch.inference_mode(), self.placement.autocast():
            device_map = self.placement.to_device(hint_map)
            if rows is not None:  # the finest level a band at a time
                return self._decode_in_bands(features, device_map, styles, chunk, rows)[0]
            hinted: HintedFeatures = hint_features(features, device_map)
            for start in range(0, len(styles), chunk):
                outputs.append(to_uint8(decode(hinted, styles.select(slice(start, start + chunk)))))
        return np.concatenate(outputs) if len(outputs) > 1 else outputs[0]
