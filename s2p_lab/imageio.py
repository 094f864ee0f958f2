"""Image input and output: the one place that turns files into arrays and back.

Everything a user hands in as an image (a path, encoded bytes, a ``PIL.Image`` or a numpy array)
goes through :func:`load_image`, which validates it and returns a plain ``uint8`` array:

* files are identified from their content, never from their suffix, and only common raster
  formats are accepted (PNG, JPEG, GIF, WebP, BMP, TIFF, PPM, ICO, PSD, QOI, JPEG 2000, AVIF);
* the declared size is checked against a pixel limit *before* any pixel is decoded (a guard
  against decompression bombs), then the image is decoded in full, so a truncated or corrupt file
  is refused instead of silently coming back partly grey;
* every mode is brought to 8-bit RGB (or L): transparent pixels are composited on white,
  16-bit and float images are scaled by their actual value range, CMYK and YCbCr are converted;
* EXIF orientation is applied; of an animated image only the first frame is used, with an
  :class:`ImageWarning`.

Every problem raises :class:`~s2p_lab.errors.ImageError` (or
:class:`~s2p_lab.errors.ImageTooLargeError`) with a one-line message that names the file and the
reason. :func:`save_image` writes atomically, so an existing file is never left half-written.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import stat
import warnings
from pathlib import Path
from typing import Union

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError, ImageTooLargeError
from .fileio import write_bytes_atomic

__all__ = [
    "content_digest",
    "DEFAULT_MAX_PIXELS",
    "MAX_ASPECT",
    "MIN_SIDE",
    "ImageSource",
    "ImageWarning",
    "describe",
    "get_max_pixels",
    "load_image",
    "resize_long_side",
    "save_image",
    "to_pil",
    "write_bytes_atomic",
]

DEFAULT_MAX_PIXELS = 40_000_000
"""Default limit on ``width * height``; override per call (``max_pixels=``) or with the
``S2P_MAX_PIXELS`` environment variable."""

MAX_PIXELS_ENV = "S2P_MAX_PIXELS"
MIN_SIDE = 16
"""Images whose shorter side is below this many pixels are refused."""
MAX_ASPECT = 12.0
"""Images whose longer side is more than this many times the shorter side are refused."""

ImageSource = Union[str, os.PathLike, bytes, Image.Image, np.ndarray]

# Formats identified from file content. Formats that run external programs (EPS), have no magic
# number (TGA, DIB) or make little sense for illustrations are left out on purpose.
_WANTED_FORMATS = (
    "PNG", "JPEG", "MPO", "GIF", "WEBP", "BMP", "TIFF", "PPM", "ICO", "PSD", "QOI",
    "JPEG2000", "AVIF",
)
_HIGH_DEPTH_MODES = {"I", "I;16", "I;16L", "I;16B", "I;16N", "I;16S", "I;32", "F"}
_MAX_REASON_CHARS = 200


class ImageWarning(UserWarning):
    """Something about an image was not used as given (extra animation frames, bad EXIF data)."""


# ----------------------------------------------------------------------------------------------
# small helpers


def describe(source: object) -> str:
    """A short human name for an image source, for messages (a file's name, or a summary)."""
    if isinstance(source, (str, os.PathLike)):
        try:
            path = Path(source)
        except TypeError:
            return repr(source)[:60]
        return path.name or str(path)
    if isinstance(source, (bytes, bytearray, memoryview)):
        return f"<{len(source)} bytes>"
    if isinstance(source, Image.Image):
        return f"<PIL image {source.mode} {source.width}x{source.height}>"
    if isinstance(source, np.ndarray):
        shape = "x".join(str(s) for s in source.shape) or "scalar"
        return f"<array {shape} {source.dtype}>"
    return f"<{type(source).__name__}>"


def _one_line(text: object) -> str:
    """Collapse whitespace so that a message stays on one line, and keep it short."""
    line = " ".join(str(text).split())
    if len(line) > _MAX_REASON_CHARS:
        line = line[: _MAX_REASON_CHARS - 3] + "..."
    return line


def _reason(exc: BaseException) -> str:
    text = _one_line(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def get_max_pixels(max_pixels: int | None = None) -> int:
    """The pixel limit in effect: ``max_pixels`` if given, else ``$S2P_MAX_PIXELS``, else the default."""
    if max_pixels is not None:
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)):
            raise TypeError(f"max_pixels must be an int, got {type(max_pixels).__name__}")
        if max_pixels <= 0:
            raise ValueError(f"max_pixels must be positive, got {max_pixels}")
        return int(max_pixels)
    env = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not env:
        return DEFAULT_MAX_PIXELS
    try:
        value = float(env.replace("_", "")) if any(c in env for c in ".eE") else int(env)
    except ValueError:
        raise ImageError(f"{MAX_PIXELS_ENV}={env!r} is not a positive integer") from None
    if not np.isfinite(value) or value <= 0:
        raise ImageError(f"{MAX_PIXELS_ENV}={env!r} is not a positive integer")
    return int(value)


def _check_size(name: str, width: int, height: int, limit: int) -> None:
    """Refuse images over the pixel limit, too small, or too elongated (cheap; before decoding)."""
    pixels = int(width) * int(height)
    if pixels > limit:
        raise ImageTooLargeError(
            f"{name}: {width}x{height} = {pixels:,} pixels is over the limit of {limit:,}; "
            f"raise it with max_pixels=... or the {MAX_PIXELS_ENV} environment variable"
        )
    short, long = min(width, height), max(width, height)
    if short > 0 and long / short > MAX_ASPECT:
        raise ImageError(
            f"{name}: {width}x{height} has an aspect ratio of {long / short:.1f}:1, "
            f"over the maximum of {MAX_ASPECT:g}:1"
        )
    if short < MIN_SIDE:
        raise ImageError(
            f"{name}: {width}x{height} is too small (each side must be at least {MIN_SIDE} px)"
        )


def _allowed_formats() -> list[str]:
    Image.init()
    return [f for f in _WANTED_FORMATS if f in Image.OPEN]


# ----------------------------------------------------------------------------------------------
# arrays


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """RGBA uint8 -> RGB uint8 over a white background (exact rounding, uint16 arithmetic)."""
    rgb = rgba[..., :3].astype(np.uint16)
    inv_alpha = 255 - rgba[..., 3:4].astype(np.uint16)
    out = rgb + ((255 - rgb) * inv_alpha + 127) // 255
    return out.astype(np.uint8)


def _scale_by_range(values: np.ndarray) -> np.ndarray:
    """Scale a high-bit-depth or float single-channel image to uint8 by its actual value range."""
    data = values.astype(np.float64, copy=False)
    finite = np.isfinite(data)
    if not finite.any():
        return np.zeros(data.shape, np.uint8)
    lo = float(data[finite].min())
    hi = float(data[finite].max())
    if not finite.all():
        data = np.where(np.isnan(data), lo, np.clip(data, lo, hi))
    if hi > lo:
        scaled = (data - lo) * (255.0 / (hi - lo))
    else:  # constant image: keep its meaning if it lies in a usual range
        if 0.0 <= lo <= 1.0 and values.dtype.kind == "f":
            level = lo * 255.0
        elif 0.0 <= lo <= 255.0:
            level = lo
        elif 0.0 <= lo <= 65535.0:
            level = lo / 257.0
        else:
            level = 255.0 if lo > 0 else 0.0
        scaled = np.full(data.shape, level)
    return np.clip(np.rint(scaled), 0, 255).astype(np.uint8)


def _coerce_array(array: np.ndarray, name: str) -> np.ndarray:
    """Validate a numpy image and return uint8 HxW, HxWx3 or HxWx4 (a fresh, writable copy)."""
    arr = np.asarray(array)
    shape = "x".join(str(s) for s in arr.shape) or "scalar"
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if not (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] in (3, 4))):
        raise ImageError(
            f"{name}: array of shape {shape} is not an image (expected HxW, HxWx1, HxWx3 or HxWx4)"
        )
    kind = arr.dtype.kind
    if arr.dtype == np.uint8:
        out = np.array(arr, dtype=np.uint8, order="C", copy=True)
    elif kind == "b":
        out = arr.astype(np.uint8) * np.uint8(255)
    elif arr.dtype == np.uint16:
        out = ((arr.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    elif kind == "f":
        if arr.size and not np.isfinite(arr).all():
            raise ImageError(f"{name}: float array {shape} contains NaN or infinity")
        lo = float(arr.min()) if arr.size else 0.0
        hi = float(arr.max()) if arr.size else 0.0
        if lo < -1e-3 or hi > 1.0 + 1e-3:
            raise ImageError(
                f"{name}: float array {shape} {arr.dtype} has values in {lo:g}..{hi:g}, "
                f"expected 0..1"
            )
        out = np.rint(np.clip(arr.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
    elif kind in "iu":
        lo = int(arr.min()) if arr.size else 0
        hi = int(arr.max()) if arr.size else 0
        if lo < 0 or hi > 255:
            raise ImageError(
                f"{name}: integer array {shape} {arr.dtype} has values in {lo}..{hi}, "
                f"expected 0..255 (or use uint8, uint16, bool or float in 0..1)"
            )
        out = arr.astype(np.uint8)
    else:
        raise ImageError(
            f"{name}: array dtype {arr.dtype} is not supported "
            f"(expected uint8, uint16, bool or float in 0..1)"
        )
    return np.ascontiguousarray(out)


def _finish(arr: np.ndarray, mode: str) -> np.ndarray:
    """uint8 HxW / HxWx3 / HxWx4 -> the requested mode, contiguous and writable."""
    if arr.ndim == 3 and arr.shape[2] == 4:
        arr = _composite_on_white(arr)
    if mode == "RGB":
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.ndim == 3:
        arr = cv2.cvtColor(np.ascontiguousarray(arr), cv2.COLOR_RGB2GRAY)
    arr = np.ascontiguousarray(arr)
    if not arr.flags.writeable:
        arr = arr.copy()
    return arr


def _has_transparency(im: Image.Image) -> bool:
    if hasattr(im, "has_transparency_data"):  # Pillow >= 10.1
        return bool(im.has_transparency_data)
    return "A" in im.getbands() or "transparency" in im.info


def _pil_to_uint8(im: Image.Image) -> np.ndarray:
    """A loaded PIL image of any mode -> uint8 HxW, HxWx3 or HxWx4 (alpha still separate)."""
    mode = im.mode
    if mode in _HIGH_DEPTH_MODES:
        return _scale_by_range(np.asarray(im))
    if mode in ("1", "L"):
        if "transparency" in im.info:
            return np.asarray(im.convert("RGBA"))
        return np.asarray(im.convert("L") if mode == "1" else im)
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or _has_transparency(im):
        try:
            return np.asarray(im.convert("RGBA"))
        except ValueError:
            return np.asarray(im.convert("LA").convert("RGBA"))
    if mode == "RGB":
        return np.asarray(im)
    return np.asarray(im.convert("RGB"))


# ----------------------------------------------------------------------------------------------
# loading


def _apply_exif_orientation(im: Image.Image, name: str) -> Image.Image:
    try:
        orientation = im.getexif().get(0x0112, 1)
        if orientation in (2, 3, 4, 5, 6, 7, 8):
            return ImageOps.exif_transpose(im)
    except Exception as exc:  # corrupt EXIF must not make the image unusable
        warnings.warn(
            f"{name}: ignoring unreadable EXIF orientation ({_reason(exc)})", ImageWarning,
            stacklevel=4,
        )
    return im


def _decode_opened(im: Image.Image, name: str, limit: int, *, first_frame: bool) -> np.ndarray:
    """Size-check, fully decode and convert an opened (lazy) PIL image."""
    _check_size(name, im.width, im.height, limit)
    # a layered PSD opens on its merged picture (Pillow numbers its layers from 1): that is the image
    if first_frame and im.format != "PSD":
        try:
            animated = bool(getattr(im, "is_animated", False))
        except Exception:
            animated = False
        if animated:
            warnings.warn(
                f"{name}: has several frames (an animation or pages); using only the first frame",
                ImageWarning,
                stacklevel=4,
            )
        if animated or getattr(im, "tell", lambda: 0)() != 0:
            im.seek(0)
            _check_size(name, im.width, im.height, limit)
    im.load()
    _check_size(name, im.width, im.height, limit)
    im = _apply_exif_orientation(im, name)
    return _pil_to_uint8(im)


def _bomb_message(name: str, exc: Exception, limit: int) -> str:
    """Message for Pillow's own decompression-bomb refusal (raised while reading the header)."""
    match = re.search(r"\((\d+) pixels\)", str(exc))
    declared = f"{int(match.group(1)):,} pixels" if match else "too many pixels"
    pil_limit = Image.MAX_IMAGE_PIXELS
    if pil_limit and limit > 2 * pil_limit:
        return (
            f"{name}: declares {declared}, over Pillow's own limit of {2 * pil_limit:,}; "
            f"raise PIL.Image.MAX_IMAGE_PIXELS as well as max_pixels / {MAX_PIXELS_ENV}"
        )
    return (
        f"{name}: declares {declared}, over the limit of {limit:,}; "
        f"raise it with max_pixels=... or the {MAX_PIXELS_ENV} environment variable"
    )


def _decode(fp: io.IOBase | io.BytesIO, name: str, limit: int) -> np.ndarray:
    formats = _allowed_formats()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fp, formats=formats) as im:
                return _decode_opened(im, name, limit, first_frame=True)
    except ImageError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(_bomb_message(name, exc, limit)) from None
    except UnidentifiedImageError:
        supported = ", ".join(f for f in formats if f not in ("MPO",))
        raise ImageError(f"{name}: not a recognized image file (supported: {supported})") from None
    except MemoryError:
        raise ImageError(f"{name}: not enough memory to decode this image") from None
    except Exception as exc:  # noqa: BLE001 - decoders raise many types on corrupt input
        text = str(exc).lower()
        what = "truncated image data" if "truncat" in text else "corrupt image data"
        raise ImageError(f"{name}: {what} ({_reason(exc)})") from None


def _load_path(path: Path, name: str, limit: int) -> np.ndarray:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageError(f"{name}: file not found ({path})") from None
    except (OSError, ValueError) as exc:
        raise ImageError(f"{name}: cannot access file ({_reason(exc)})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ImageError(f"{name}: is a directory, not an image file")
    if not stat.S_ISREG(st.st_mode):
        raise ImageError(f"{name}: not a regular file")
    if st.st_size == 0:
        raise ImageError(f"{name}: empty file")
    try:
        fp = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise ImageError(f"{name}: cannot read file ({_reason(exc)})") from None
    with fp:
        return _decode(fp, name, limit)


def load_image(
    source: ImageSource, *, mode: str = "RGB", max_pixels: int | None = None
) -> np.ndarray:
    """Load and validate an image; return ``uint8`` HxWx3 (``mode="RGB"``) or HxW (``mode="L"``).

    ``source`` is a path, encoded file bytes, a ``PIL.Image`` (used at its current frame) or a
    numpy array (HxW, HxWx1, HxWx3 or HxWx4; uint8, bool, uint16 or float in 0..1). Transparency
    is composited on white. ``max_pixels`` overrides the pixel limit (see :func:`get_max_pixels`).
    Raises :class:`ImageError` / :class:`ImageTooLargeError` with a one-line reason.
    """
    if mode not in ("RGB", "L"):
        raise ValueError(f"mode must be 'RGB' or 'L', got {mode!r}")
    limit = get_max_pixels(max_pixels)
    name = describe(source)

    if isinstance(source, np.ndarray):
        if source.ndim in (2, 3):
            _check_size(name, source.shape[1], source.shape[0], limit)
        return _finish(_coerce_array(source, name), mode)

    if isinstance(source, Image.Image):
        _check_size(name, source.width, source.height, limit)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", Image.DecompressionBombWarning)
                arr = _decode_opened(source, name, limit, first_frame=False)
        except ImageError:
            raise
        except MemoryError:
            raise ImageError(f"{name}: not enough memory to decode this image") from None
        except Exception as exc:  # noqa: BLE001
            raise ImageError(f"{name}: cannot decode image ({_reason(exc)})") from None
        return _finish(arr, mode)

    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) == 0:
            raise ImageError(f"{name}: empty data")
        return _finish(_decode(io.BytesIO(bytes(source)), name, limit), mode)

    if isinstance(source, (str, os.PathLike)):
        try:
            path = Path(os.fspath(source))
        except TypeError as exc:
            raise ImageError(f"{name}: not a usable path ({_reason(exc)})") from None
        if str(path) in ("", "."):
            raise ImageError("empty path given as an image")
        return _finish(_load_path(path, name, limit), mode)

    raise ImageError(
        f"{name}: unsupported image source type {type(source).__name__} "
        f"(expected a path, bytes, a PIL image or a numpy array)"
    )


# ----------------------------------------------------------------------------------------------
# conversion and saving


def to_pil(array: np.ndarray | Image.Image) -> Image.Image:
    """A numpy image (HxW, HxWx1, HxWx3, HxWx4; uint8/bool/uint16/float 0..1) as a PIL image.

    PIL images are returned unchanged. No size limits are applied here.
    """
    if isinstance(array, Image.Image):
        return array
    arr = _coerce_array(np.asarray(array), describe(array))
    return Image.fromarray(arr)


def _format_for(path: Path) -> str:
    Image.init()
    suffix = path.suffix.lower()
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None or fmt not in Image.SAVE:
        raise ImageError(f"{path.name}: cannot tell an image format from the suffix {suffix!r}")
    return fmt


#: zlib level of the PNGs ``save_image`` writes (1: fastest).
PNG_COMPRESS_LEVEL = 1


def save_image(image: np.ndarray | Image.Image, path: str | os.PathLike) -> Path:
    """Save an image atomically; the format comes from the suffix (PNG when there is none).

    Parent folders are created; a path without a suffix gets ``.png``. Formats without alpha
    (JPEG, BMP, ...) get transparent pixels composited on white. PNGs are written with zlib's
    fastest setting (OpenCV's default too): nine 720x576 colorizations in 0.14 s instead of
    Pillow's default 0.42 s, for files a quarter larger (the pixels are the same). Returns the
    written path.
    """
    target = Path(path)
    if not target.suffix:
        target = target.with_name(target.name + ".png")
    fmt = _format_for(target)
    im = to_pil(image)
    if fmt in ("JPEG", "MPO", "BMP", "PPM") and im.mode not in ("L", "RGB"):
        if im.mode in ("1", "L", "P", "I", "I;16", "F") and not _has_transparency(im):
            im = Image.fromarray(_finish(_pil_to_uint8(im), "L"))
        else:
            im = Image.fromarray(_finish(_pil_to_uint8(im), "RGB"))
    buffer = io.BytesIO()
    try:
        im.save(buffer, format=fmt, **({"compress_level": PNG_COMPRESS_LEVEL} if fmt == "PNG" else {}))
    except (OSError, ValueError, KeyError) as exc:
        raise ImageError(f"{target.name}: cannot encode as {fmt} ({_reason(exc)})") from None
    try:
        return write_bytes_atomic(target, buffer.getvalue())
    except OSError as exc:
        raise ImageError(f"{target.name}: cannot write file ({_reason(exc)})") from None


def resize_long_side(
    image: np.ndarray, size: int, *, multiple: int = 1, interpolation: int | None = None
) -> np.ndarray:
    """Resize so that the longer side is ``size``, keeping the aspect ratio.

    Each side is then rounded to a multiple of ``multiple`` (at least ``multiple``).
    Interpolation defaults to ``cv2.INTER_AREA`` when shrinking and ``cv2.INTER_CUBIC`` when
    growing (clipped to the input's value range). Works on HxW and HxWxC arrays.
    """
    if int(size) < 1:
        raise ValueError(f"size must be at least 1, got {size}")
    if int(multiple) < 1:
        raise ValueError(f"multiple must be at least 1, got {multiple}")
    arr = np.asarray(image)
    if arr.ndim not in (2, 3) or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"expected an HxW or HxWxC image, got shape {arr.shape}")
    h, w = arr.shape[:2]
    scale = int(size) / max(h, w)
    new_h = max(1, int(h * scale + 0.5))
    new_w = max(1, int(w * scale + 0.5))
    m = int(multiple)
    new_h = max(m, int(new_h / m + 0.5) * m)
    new_w = max(m, int(new_w / m + 0.5) * m)
    if (new_h, new_w) == (h, w):
        return arr.copy()

    is_bool = arr.dtype == np.bool_
    work = arr.astype(np.uint8) if is_bool else arr
    if interpolation is None:
        if is_bool:
            interpolation = cv2.INTER_NEAREST
        elif new_h <= h and new_w <= w:
            interpolation = cv2.INTER_AREA
        else:
            interpolation = cv2.INTER_CUBIC
    out = cv2.resize(np.ascontiguousarray(work), (new_w, new_h), interpolation=interpolation)
    if arr.ndim == 3 and out.ndim == 2:
        out = out[:, :, None]
    if interpolation in (cv2.INTER_CUBIC, cv2.INTER_LANCZOS4) and work.dtype.kind == "f":
        out = np.clip(out, work.min(), work.max())
    if is_bool:
        out = out.astype(bool)
    return out


def content_digest(array: np.ndarray, *extra: object) -> str:
    """A key for an array's content (its bytes and shape) and ``extra``: what the caches of
    prepared sketches, style codes, reference parts and matches are keyed by."""
    digest = hashlib.sha1(np.ascontiguousarray(array).tobytes())
    digest.update(repr((array.shape, *extra)).encode())
    return digest.hexdigest()
