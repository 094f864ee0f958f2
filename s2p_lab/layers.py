"""Layers: the colorized picture taken apart the way a painter stacks it in an image editor.

Style2Paints users asked for the result as layers they can keep painting on (lllyasviel/
style2paints#155, #205). :func:`split_layers` cuts one colorized image into four layers and
:func:`write_psd` writes them as one layered PSD, the file image editors (Photoshop, Krita, GIMP,
Clip Studio Paint) exchange layers in. From the bottom up:

1. **flat colors** (Normal): one color per region: hair, skin, each piece of cloth. Change a
   region's color here (a paint bucket) and the shading above keeps working on the new color.
2. **shading shadows** (Multiply): white where nothing is shaded, darker and tinted where the
   shadows are. Multiply only ever darkens: white leaves the colors below as they are.
3. **shading lights** (Screen): black where nothing is lit, brighter where the highlights and
   the glow are. Screen only ever brightens: black leaves the colors below as they are.
4. **line art** (Multiply): the sketch exactly as given, gray on white paper. Multiply keeps its
   white paper invisible and lays its lines over everything below. (The same lines with the paper
   transparent instead, black ink whose opacity is the line's darkness, come as
   :attr:`Layers.lines_rgba`: laid over in Normal mode that gives the very same picture.)

Shadows and lights are found channel by channel: where the colorized image is darker than the
flat color the shadow layer holds ``colors / flat``; where it is brighter the light layer holds
``(colors - flat) / (255 - flat)``. Stacked, they give back the colorized image to within one level
(8-bit layers; each stored value is rounded once). :func:`composite` is that stack in numpy,
blend mode for blend mode as Photoshop defines them (Multiply ``a * b``, Screen
``1 - (1 - a) * (1 - b)``, a layer's opacity mixing its result with what lies below).

The document is 8-bit RGB and the layers blend on the 8-bit values as stored, as image editors blend
an 8-bit RGB document. Multiply and Screen are among the few blend modes every editor that reads PSD
layers knows by the same formula.
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from PIL import Image

import cv2
import numpy as np

from .errors import ImageError, S2PError
from .fileio import write_bytes_atomic
from .imageio import save_image
from .refine import check_strength, region_medians

__all__ = [
    "BLEND_MODES",
    "LayerSpec",
    "Layers",
    "composite",
    "flat_from_regions",
    "save_layers",
    "split_layers",
    "write_psd",
]

BLEND_MODES = ("normal", "multiply", "screen")
"""The blend modes the layer stack uses (names as image editors show them)."""

PSD_MAX_SIDE = 30_000
"""The PSD format's limit on each side (larger documents need PSB)."""

_MAX_HISTOGRAM_REGIONS = 1 << 16  # beyond this, region medians are found by sorting (memory bound)


class LayerSpec(NamedTuple):
    """One layer of the stack: its name, pixels (uint8 HxW or HxWx3), blend mode and opacity 0..1."""

    name: str
    image: np.ndarray
    blend_mode: str
    opacity: float


# ----------------------------------------------------------------------------------------------
# checks


def _check_image(array: object, name: str, *, gray: bool) -> np.ndarray:
    """``array`` if it is a uint8 HxW (``gray``) or HxWx3 numpy image; else a one-line ImageError."""
    want = "HxW gray" if gray else "HxWx3 RGB"
    if not isinstance(array, np.ndarray):
        raise ImageError(f"layers: {name} must be a {want} uint8 numpy array, got {type(array).__name__}")
    shape = "x".join(str(s) for s in array.shape) or "scalar"
    if gray and array.ndim != 2:
        raise ImageError(f"layers: {name} must be {want} (paper = 255), got shape {shape}")
    if not gray and (array.ndim != 3 or array.shape[2] != 3):
        raise ImageError(f"layers: {name} must be {want}, got shape {shape}")
    if array.dtype != np.uint8:
        raise ImageError(f"layers: {name} must be uint8, got {array.dtype}")
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise ImageError(f"layers: {name} is empty (shape {shape})")
    return array


def _check_same_size(reference: str, size: tuple[int, int], **others: np.ndarray) -> None:
    for name, array in others.items():
        if array.shape[:2] != size:
            raise ImageError(
                f"layers: {name} is {array.shape[1]}x{array.shape[0]} but {reference} is "
                f"{size[1]}x{size[0]} (width x height); all layers must have the sketch's size"
            )


def _frozen(array: np.ndarray) -> np.ndarray:
    """A read-only, contiguous copy (the layers never change once made)."""
    out = np.array(array, dtype=np.uint8, order="C", copy=True)
    out.flags.writeable = False
    return out


# ----------------------------------------------------------------------------------------------
# the layers


@dataclass(frozen=True, eq=False)
class Layers:
    """A colorized sketch as layers, uint8 at the sketch's original size (arrays are read-only).

    ``lines``: the line art as given (HxW gray, paper = 255), laid over in Multiply at
    ``line_opacity``. ``flat``: one color per region (HxWx3). ``shadow`` (HxWx3, Multiply; white =
    none) and ``light`` (HxWx3, Screen; black = none): the shading. ``color``: the finished
    picture these layers reproduce (HxWx3; the colorizer's own result).
    """

    lines: np.ndarray
    flat: np.ndarray
    shadow: np.ndarray
    light: np.ndarray
    color: np.ndarray
    line_opacity: float = 1.0

    def __post_init__(self) -> None:
        lines = _check_image(self.lines, "lines", gray=True)
        arrays = {
            name: _check_image(getattr(self, name), name, gray=False)
            for name in ("flat", "shadow", "light", "color")
        }
        _check_same_size("lines", lines.shape, **arrays)
        object.__setattr__(self, "lines", _frozen(lines))
        for name, array in arrays.items():
            object.__setattr__(self, name, _frozen(array))
        object.__setattr__(self, "line_opacity", check_strength(self.line_opacity, "line_opacity"))

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) in pixels."""
        return int(self.lines.shape[1]), int(self.lines.shape[0])

    @property
    def shading(self) -> tuple[np.ndarray, np.ndarray]:
        """The two shading layers, (shadow in Multiply, light in Screen)."""
        return self.shadow, self.light

    @property
    def image(self) -> "Image.Image":
        """The composite picture (``color``) as an RGB PIL image."""
        from PIL import Image

        return Image.fromarray(self.color)

    @property
    def lines_rgba(self) -> np.ndarray:
        """The line art on transparent paper: black ink, opacity = darkness x ``line_opacity``.

        HxWx4 uint8. Laid over in Normal mode it darkens exactly as the gray lines in Multiply do
        (``c * (1 - a)`` with ``a = 1 - lines / 255``).
        """
        h, w = self.lines.shape
        rgba = np.zeros((h, w, 4), np.uint8)
        alpha = 255.0 - self.lines.astype(np.float32)
        if self.line_opacity != 1.0:
            alpha *= self.line_opacity
        rgba[..., 3] = np.rint(alpha).astype(np.uint8)
        return rgba

    def stack(self) -> list[LayerSpec]:
        """The layers bottom to top, as an image editor shows them (names, blend modes, opacity)."""
        return [
            LayerSpec("flat colors", self.flat, "normal", 1.0),
            LayerSpec("shading shadows", self.shadow, "multiply", 1.0),
            LayerSpec("shading lights", self.light, "screen", 1.0),
            LayerSpec("line art", self.lines, "multiply", self.line_opacity),
        ]


def _lay_lines(colors: np.ndarray, lines: np.ndarray, opacity: float) -> np.ndarray:
    """The colorizer's own line overlay (``Colorizer.finish``): ``colors * shade / 255``, rounded."""
    if opacity == 0.0:
        return colors.copy()
    shade = lines
    if opacity != 1.0:
        shade = np.clip(np.rint(255.0 - opacity * (255.0 - lines.astype(np.float32))), 0, 255).astype(np.uint8)
    return cv2.multiply(np.ascontiguousarray(colors), cv2.merge([shade, shade, shade]), scale=1.0 / 255.0)


@functools.cache
def _shading_tables() -> tuple[np.ndarray, np.ndarray]:
    """Shadow and light level for every (flat, colored) pair of levels: two 65,536-entry tables."""
    f, c = np.meshgrid(np.arange(256.0), np.arange(256.0), indexing="ij")
    # Multiply: flat * shadow / 255 = colors  ->  shadow = 255 * colors / flat   (flat > colors >= 0)
    shadow = np.where(c < f, 255.0 * c / np.maximum(f, 1.0), 255.0)
    # Screen: 255 - (255 - flat) * (255 - light) / 255 = colors  ->  light = 255 * (colors - flat) / (255 - flat)
    light = np.where(c > f, 255.0 * (c - f) / np.maximum(255.0 - f, 1.0), 0.0)
    return tuple(np.clip(np.rint(t), 0, 255).astype(np.uint8).ravel() for t in (shadow, light))  # type: ignore[return-value]


def split_layers(
    colors: np.ndarray, flat: np.ndarray, lines: np.ndarray, *, line_opacity: float = 1.0
) -> Layers:
    """Take a colorized sketch apart into flat colors, shadows, lights and line art.

    ``colors``: the colored image before the lines are laid over it (HxWx3 uint8). ``flat``: the
    flat color of each region (HxWx3 uint8; see :func:`flat_from_regions`). ``lines``: the line
    art (HxW uint8, paper = 255), kept untouched. ``line_opacity``: how dark the lines were laid
    over (the colorizer's ``line_overlay``; the line layer's opacity). Raises :class:`ImageError`
    on a wrong shape or dtype.
    """
    colors = _check_image(colors, "colors", gray=False)
    flat = _check_image(flat, "flat", gray=False)
    lines = _check_image(lines, "lines", gray=True)
    _check_same_size("colors", colors.shape[:2], flat=flat, lines=lines)
    line_opacity = check_strength(line_opacity, "line_opacity")

    index = flat.astype(np.uint16) << 8 | colors  # (flat, colored) level pair, one table look-up each
    shadow_table, light_table = _shading_tables()
    return Layers(
        lines=lines,
        flat=flat,
        shadow=shadow_table[index],
        light=light_table[index],
        color=_lay_lines(colors, lines, line_opacity),
        line_opacity=line_opacity,
    )


def _blend(backdrop: np.ndarray, source: np.ndarray, mode: str) -> np.ndarray:
    """One separable blend mode on 0..1 floats (Adobe's definitions)."""
    if mode == "normal":
        return source
    if mode == "multiply":
        return backdrop * source
    if mode == "screen":
        return backdrop + source - backdrop * source
    raise ValueError(f"unknown blend mode {mode!r}")


def composite(layers: Layers) -> np.ndarray:
    """Flatten the layer stack as an image editor does: uint8 HxWx3.

    Every layer is opaque and covers the canvas; each blends onto what lies below with its mode,
    then is mixed in by its opacity (``below + opacity * (blended - below)``). Computed in float
    and rounded once, as psd-tools composites.
    """
    if not isinstance(layers, Layers):
        raise S2PError(f"composite: expected Layers, got {type(layers).__name__}")
    out: np.ndarray | None = None
    for spec in layers.stack():
        src = spec.image.astype(np.float32) / 255.0
        if src.ndim == 2:
            src = src[:, :, None]
        if out is None:
            out = np.broadcast_to(src, (*src.shape[:2], 3)).copy()
            continue
        blended = _blend(out, src, spec.blend_mode)
        out = blended if spec.opacity == 1.0 else out + spec.opacity * (blended - out)
    assert out is not None
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


# ----------------------------------------------------------------------------------------------
# flat colors


def _sorted_medians(colors: np.ndarray, labels: np.ndarray, count: int) -> np.ndarray:
    """Lower per-channel median of each label 0..count-1, by sorting (for very many labels)."""
    flat_labels = labels.ravel().astype(np.int64)
    sizes = np.bincount(flat_labels, minlength=count)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    picks = starts + np.maximum(sizes - 1, 0) // 2
    out = np.zeros((count, 3), np.uint8)
    for k in range(3):
        keys = np.sort(flat_labels * 256 + colors[..., k].ravel())
        out[:, k] = np.where(sizes > 0, keys[np.minimum(picks, keys.size - 1)] & 255, 0)
    return out


def flat_from_regions(
    colors: np.ndarray, labels: np.ndarray, *, voters: np.ndarray | None = None
) -> np.ndarray:
    """One color per region: each region's per-channel median of ``colors`` (HxWx3 uint8).

    ``labels``: int HxW label map, regions 0..n-1 (``RegionMap.labels``). ``voters``: optional bool
    HxW mask of the pixels that vote (e.g. not the line pixels); a region with no voter uses all
    its pixels. The lower median of each channel, as the colorizer's ``flat`` mode takes it.
    """
    colors = _check_image(colors, "colors", gray=False)
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        got = labels.dtype if isinstance(labels, np.ndarray) else type(labels).__name__
        raise S2PError(f"layers: labels must be an integer numpy array (HxW), got {got}")
    if labels.shape != colors.shape[:2]:
        raise S2PError(
            f"layers: labels have shape {'x'.join(map(str, labels.shape))} but colors are "
            f"{colors.shape[0]}x{colors.shape[1]} (height x width)"
        )
    if voters is not None:
        if not isinstance(voters, np.ndarray) or voters.shape != labels.shape:
            raise S2PError("layers: voters must be a bool numpy array of the labels' shape")
        voters = voters.astype(bool, copy=False)
    if int(labels.min()) < 0:
        raise S2PError(f"layers: labels must be 0..n-1, found {int(labels.min())}")
    count = int(labels.max()) + 1
    if count > labels.size:  # sparse labels: number the ones used
        used, labels = np.unique(labels, return_inverse=True)
        labels = labels.reshape(colors.shape[:2])
        count = int(used.size)
    if count > _MAX_HISTOGRAM_REGIONS:
        if voters is not None:
            has = np.bincount(labels[voters].ravel(), minlength=count) > 0
            keep = voters | ~has[labels]
            # regions keep only their voters: give non-voters a label of their own, past the end
            labels = np.where(keep, labels, count)
            medians = _sorted_medians(colors, labels, count + 1)[:count]
        else:
            medians = _sorted_medians(colors, labels, count)
    else:
        medians = region_medians(colors, labels.astype(np.int32, copy=False), count, voters)
    return np.take(medians, labels, axis=0)


# ----------------------------------------------------------------------------------------------
# files


def _psd_bytes(layers: Layers) -> bytes:
    try:
        from psd_tools import PSDImage
        from psd_tools.constants import BlendMode
    except ImportError as exc:  # a declared dependency: only a broken environment lacks it
        raise S2PError(f"writing a PSD needs psd-tools (pip install 'psd-tools>=1.12.1'): {exc}") from None
    from PIL import Image

    modes = {"normal": BlendMode.NORMAL, "multiply": BlendMode.MULTIPLY, "screen": BlendMode.SCREEN}
    psd = PSDImage.new("RGB", layers.size, color=255)
    for spec in layers.stack():
        image = spec.image if spec.image.ndim == 3 else np.repeat(spec.image[:, :, None], 3, axis=2)
        psd.create_pixel_layer(
            Image.fromarray(np.ascontiguousarray(image), "RGB"),
            name=spec.name,
            opacity=int(round(spec.opacity * 255)),
            blend_mode=modes[spec.blend_mode],
        )
    buffer = io.BytesIO()
    psd.save(buffer)  # also renders the merged preview that viewers without layer support show
    return buffer.getvalue()


def write_psd(layers: Layers, path: str | os.PathLike) -> Path:
    """Write ``layers`` as one layered 8-bit RGB PSD (psd-tools), atomically; returns the path.

    Layers bottom to top: "flat colors" (Normal), "shading shadows" (Multiply), "shading lights"
    (Screen), "line art" (Multiply, at ``line_opacity``). A path without a suffix gets ``.psd``.
    """
    if not isinstance(layers, Layers):
        raise S2PError(f"write_psd: expected Layers, got {type(layers).__name__}")
    target = Path(path)
    if not target.suffix:
        target = target.with_name(target.name + ".psd")
    if target.suffix.lower() != ".psd":
        raise ImageError(f"{target.name}: a layered file must end in .psd")
    width, height = layers.size
    if max(width, height) > PSD_MAX_SIDE:
        raise ImageError(f"{target.name}: {width}x{height} is over the PSD limit of {PSD_MAX_SIDE} px a side")
    data = _psd_bytes(layers)
    try:
        return write_bytes_atomic(target, data)
    except OSError as exc:
        raise ImageError(f"{target.name}: cannot write file ({type(exc).__name__}: {exc})") from None


def save_layers(layers: Layers, out_dir: str | os.PathLike, stem: str) -> dict[str, Path]:
    """Write every layer as a PNG and all of them as one PSD into ``out_dir``; returns name -> path.

    Files: ``{stem}_lines.png`` (the line art as given), ``{stem}_lines_alpha.png`` (the same on
    transparent paper), ``{stem}_flat.png``, ``{stem}_shading_shadow.png`` (Multiply),
    ``{stem}_shading_light.png`` (Screen) and ``{stem}.psd``. Each file is written atomically.
    """
    if not isinstance(layers, Layers):
        raise S2PError(f"save_layers: expected Layers, got {type(layers).__name__}")
    if not stem or stem in (".", "..") or any(sep in stem for sep in ("/", "\\", os.sep)):
        raise S2PError(f"save_layers: stem must be a plain file name, got {stem!r}")
    folder = Path(out_dir)
    images = {
        "lines": (f"{stem}_lines.png", layers.lines),
        "lines_alpha": (f"{stem}_lines_alpha.png", layers.lines_rgba),
        "flat": (f"{stem}_flat.png", layers.flat),
        "shadow": (f"{stem}_shading_shadow.png", layers.shadow),
        "light": (f"{stem}_shading_light.png", layers.light),
    }
    written = {key: save_image(image, folder / name) for key, (name, image) in images.items()}
    written["psd"] = write_psd(layers, folder / f"{stem}.psd")
    return written
