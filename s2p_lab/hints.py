"""Color hints: hint sets, their JSON form, the 4-channel hint map, and hint simulation.

A hint set is a list of *points* (filled discs) and *strokes* (polylines), each with a color.
Its JSON form (the contract other code relies on)::

    {"points":  [{"x": 0.31, "y": 0.52, "rgb": [230, 40, 60], "radius": 0.01}],
     "strokes": [{"xy": [[0.1, 0.2], [0.15, 0.22]], "rgb": [20, 90, 200], "width": 0.008}]}

* ``x`` and ``y`` are fractions of the image's width and height, in ``[0, 1]``; the point
  ``x`` lies at pixel column ``x * W - 0.5`` (so ``(c + 0.5) / W`` is the center of column ``c``);
* ``radius`` and ``width`` are fractions of the image's **longer** side, ``> 0`` and ``<= 0.25``
  (defaults 0.01 and 0.008); on a map they are at least one pixel;
* ``rgb`` is three integers in ``0..255``;
* both keys are optional, other keys are refused; ``{}`` means no hints.

Every problem raises :class:`~s2p_lab.errors.HintsError` whose one-line message names the field,
for example ``points[2].rgb[1]: 300 is outside 0..255``.

The hint map (:meth:`Hints.to_map`, :func:`simulate_hints`) is float32 HxWx4: channels 0-2 are the
hint color in ``[0, 1]`` times alpha, channel 3 is alpha (1 inside a hint, 0 elsewhere).
"""

from __future__ import annotations

import json
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import HintsError
from .imageio import write_bytes_atomic

__all__ = [
    "DEFAULT_RADIUS",
    "DEFAULT_WIDTH",
    "MAX_FILE_BYTES",
    "MAX_RASTER_POINTS",
    "MAX_SIZE",
    "Hints",
    "Point",
    "RasterHints",
    "Stroke",
    "deterministic_hints",
    "region_scribbles",
    "simulate_hints",
]

DEFAULT_RADIUS = 0.01
DEFAULT_WIDTH = 0.008
MAX_SIZE = 0.25
"""Largest allowed ``radius`` / ``width`` (as a fraction of the longer side)."""
MAX_FILE_BYTES = 10 * 1024 * 1024
"""Hints files (and JSON strings) larger than this are refused."""
MAX_RASTER_POINTS = 2048
"""``to_dict()`` of a raster hint keeps at most this many points (evenly subsampled)."""

_TOP_KEYS = ("points", "strokes")
_POINT_KEYS = ("x", "y", "rgb", "radius")
_STROKE_KEYS = ("xy", "rgb", "width")
_SHIFT = 4  # cv2 drawing: 4 fractional bits for sub-pixel positions
_ONE = 1 << _SHIFT


# ----------------------------------------------------------------------------------------------
# validation helpers


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, (bool, np.bool_)):
        return "boolean"
    if isinstance(value, numbers.Number):
        return "number"
    if isinstance(value, (str, bytes)):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _show(value: object) -> str:
    text = repr(value) if not isinstance(value, float) else repr(float(value))
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


def _number(value: object, path: str, label: str = "") -> float:
    """A finite real number (bools refused). ``label`` prefixes the value in messages (``x=``)."""
    prefix = f"{label}: " if label else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise HintsError(f"{path}: {prefix}expected a number, got {_json_type(value)}")
    try:
        number = float(value)
    except (OverflowError, ValueError, TypeError):
        raise HintsError(f"{path}: {prefix}{_show(value)} is not a usable number") from None
    if not math.isfinite(number):
        raise HintsError(f"{path}: {prefix}{_show(number)} is not a finite number")
    return number


def _fraction(value: object, path: str, label: str = "") -> float:
    number = _number(value, path, label)
    if not 0.0 <= number <= 1.0:
        shown = f"{label}={_show(value)}" if label else _show(value)
        raise HintsError(f"{path}: {shown} is outside 0..1")
    return number


def _size(value: object, path: str) -> float:
    number = _number(value, path)
    if not 0.0 < number <= MAX_SIZE:
        raise HintsError(
            f"{path}: {_show(value)} is outside (0, {MAX_SIZE}] "
            f"(a fraction of the image's longer side)"
        )
    return number


def _rgb(value: object, path: str) -> tuple[int, int, int]:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise HintsError(f"{path}: expected [r, g, b], got {_json_type(value)}")
    if len(value) != 3:
        raise HintsError(f"{path}: expected [r, g, b], got an array of length {len(value)}")
    out = []
    for i, channel in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(channel, (bool, np.bool_)) or not isinstance(channel, numbers.Real):
            raise HintsError(f"{where}: expected an integer 0..255, got {_json_type(channel)}")
        if isinstance(channel, numbers.Integral):
            integer = int(channel)
        else:
            number = _number(channel, where)
            if not number.is_integer():
                raise HintsError(f"{where}: {_show(channel)} is not an integer")
            integer = int(number)
        if not 0 <= integer <= 255:
            raise HintsError(f"{where}: {_show(channel)} is outside 0..255")
        out.append(integer)
    return (out[0], out[1], out[2])


def _xy(value: object, path: str) -> tuple[tuple[float, float], ...]:
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, (list, tuple)):
        raise HintsError(f"{path}: expected a list of [x, y] pairs, got {_json_type(value)}")
    if len(value) == 0:
        raise HintsError(f"{path}: a stroke needs at least 1 point")
    out = []
    for i, pair in enumerate(value):
        where = f"{path}[{i}]"
        if isinstance(pair, np.ndarray):
            pair = pair.tolist()
        if not isinstance(pair, (list, tuple)):
            raise HintsError(f"{where}: expected [x, y], got {_json_type(pair)}")
        if len(pair) != 2:
            raise HintsError(f"{where}: expected [x, y], got an array of length {len(pair)}")
        out.append((_fraction(pair[0], where, "x"), _fraction(pair[1], where, "y")))
    return tuple(out)


def _key_name(key: object) -> str:
    if not isinstance(key, str):
        return _show(key)
    text = json.dumps(key)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_keys(obj: object, path: str, allowed: Sequence[str], required: Sequence[str]) -> Mapping:
    if not isinstance(obj, Mapping):
        raise HintsError(f"{path}: expected an object, got {_json_type(obj)}")
    unknown = [k for k in obj if k not in allowed]
    if unknown:
        names = ", ".join(_key_name(k) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        expected = ", ".join(f'"{k}"' for k in allowed)
        raise HintsError(f"{path}: unknown key(s) {names} (expected {expected})")
    for key in required:
        if key not in obj:
            raise HintsError(f'{path}: missing "{key}"')
    return obj


# ----------------------------------------------------------------------------------------------
# hint items


@dataclass(frozen=True)
class Point:
    """A filled disc at ``(x, y)`` (fractions of width, height); ``radius`` is a fraction of the
    image's longer side (``0 < radius <= 0.25``)."""

    x: float
    y: float
    rgb: tuple[int, int, int]
    radius: float = DEFAULT_RADIUS

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", _fraction(self.x, "point.x"))
        object.__setattr__(self, "y", _fraction(self.y, "point.y"))
        object.__setattr__(self, "rgb", _rgb(self.rgb, "point.rgb"))
        object.__setattr__(self, "radius", _size(self.radius, "point.radius"))

    @classmethod
    def from_dict(cls, obj: object, path: str = "point") -> Point:
        """Validate one JSON point; messages use ``path`` (e.g. ``points[3]``)."""
        d = _check_keys(obj, path, _POINT_KEYS, ("x", "y", "rgb"))
        return cls(
            x=_fraction(d["x"], f"{path}.x"),
            y=_fraction(d["y"], f"{path}.y"),
            rgb=_rgb(d["rgb"], f"{path}.rgb"),
            radius=_size(d.get("radius", DEFAULT_RADIUS), f"{path}.radius"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"x": self.x, "y": self.y, "rgb": list(self.rgb), "radius": self.radius}


@dataclass(frozen=True)
class Stroke:
    """A polyline through ``xy`` (fractions of width, height; at least one point); ``width`` is
    a fraction of the image's longer side (``0 < width <= 0.25``)."""

    xy: tuple[tuple[float, float], ...]
    rgb: tuple[int, int, int]
    width: float = DEFAULT_WIDTH

    def __post_init__(self) -> None:
        object.__setattr__(self, "xy", _xy(self.xy, "stroke.xy"))
        object.__setattr__(self, "rgb", _rgb(self.rgb, "stroke.rgb"))
        object.__setattr__(self, "width", _size(self.width, "stroke.width"))

    @classmethod
    def from_dict(cls, obj: object, path: str = "stroke") -> Stroke:
        """Validate one JSON stroke; messages use ``path`` (e.g. ``strokes[0]``)."""
        d = _check_keys(obj, path, _STROKE_KEYS, ("xy", "rgb"))
        return cls(
            xy=_xy(d["xy"], f"{path}.xy"),
            rgb=_rgb(d["rgb"], f"{path}.rgb"),
            width=_size(d.get("width", DEFAULT_WIDTH), f"{path}.width"),
        )

    def to_dict(self) -> dict[str, Any]:
        return {"xy": [list(p) for p in self.xy], "rgb": list(self.rgb), "width": self.width}


@dataclass(frozen=True, eq=False)
class RasterHints:
    """Hints given as pixels: ``color`` HxWx3 uint8 and ``mask`` HxW bool (True = hinted)."""

    color: np.ndarray
    mask: np.ndarray

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RasterHints):
            return NotImplemented
        return np.array_equal(self.mask, other.mask) and np.array_equal(
            np.where(self.mask[..., None], self.color, 0), np.where(other.mask[..., None], other.color, 0)
        )

    __hash__ = None  # type: ignore[assignment]

    def resized(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Color and mask at another size.

        Enlarging uses nearest neighbour. Shrinking keeps every hint: a target pixel is hinted
        when any source pixel under it is, with the mean color of those hinted pixels.
        """
        h, w = self.mask.shape
        if (h, w) == (height, width):
            return self.color, self.mask
        if height <= h and width <= w:
            m = self.mask.astype(np.float32)
            weighted = self.color.astype(np.float32) * m[..., None]
            area_m = cv2.resize(m, (width, height), interpolation=cv2.INTER_AREA)
            area_c = cv2.resize(weighted, (width, height), interpolation=cv2.INTER_AREA)
            mask = area_m > 1e-6
            color = np.zeros((height, width, 3), np.uint8)
            color[mask] = np.clip(
                np.rint(area_c[mask] / area_m[mask][:, None]), 0, 255
            ).astype(np.uint8)
            return color, mask
        color = cv2.resize(self.color, (width, height), interpolation=cv2.INTER_NEAREST)
        mask = cv2.resize(
            self.mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST
        ).astype(bool)
        return color, mask

    def to_points(self, limit: int = MAX_RASTER_POINTS) -> list[Point]:
        """Hinted pixels as one-pixel points, evenly subsampled to at most ``limit``."""
        h, w = self.mask.shape
        rows, cols = np.nonzero(self.mask)
        if rows.size > limit:
            keep = np.unique(np.linspace(0, rows.size - 1, limit).round().astype(np.int64))
            rows, cols = rows[keep], cols[keep]
        radius = min(MAX_SIZE, 0.5 / max(h, w))
        colors = self.color[rows, cols]
        return [
            Point((c + 0.5) / w, (r + 0.5) / h, (int(k[0]), int(k[1]), int(k[2])), radius)
            for r, c, k in zip(rows.tolist(), cols.tolist(), colors)
        ]


# ----------------------------------------------------------------------------------------------
# hint sets


def _read_json_text(source: str | os.PathLike | bytes) -> tuple[str, str]:
    """(text, name for messages) from a path, a JSON string or JSON bytes."""
    if isinstance(source, (bytes, bytearray)):
        if len(source) > MAX_FILE_BYTES:
            raise HintsError(f"hints: JSON data of {len(source):,} bytes is over the 10 MB limit")
        try:
            return bytes(source).decode("utf-8-sig"), "hints"
        except UnicodeDecodeError as exc:
            raise HintsError(f"hints: JSON data is not UTF-8 ({exc.reason})") from None
    if isinstance(source, str) and source.lstrip().startswith(("{", "[")):
        if len(source) > MAX_FILE_BYTES:
            raise HintsError(f"hints: JSON text of {len(source):,} characters is over the 10 MB limit")
        return source, "hints"
    try:
        path = Path(os.fspath(source))
    except TypeError:
        raise HintsError(f"hints: expected a path or JSON text, got {type(source).__name__}") from None
    name = path.name or str(path)
    try:
        size = path.stat().st_size
        is_dir = path.is_dir()
    except FileNotFoundError:
        raise HintsError(f"{name}: hints file not found ({path})") from None
    except (OSError, ValueError) as exc:
        raise HintsError(f"{name}: cannot access hints file ({type(exc).__name__})") from None
    if is_dir:
        raise HintsError(f"{name}: is a directory, not a hints file")
    if size > MAX_FILE_BYTES:
        raise HintsError(f"{name}: hints file of {size:,} bytes is over the 10 MB limit")
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise HintsError(f"{name}: cannot read hints file ({type(exc).__name__})") from None
    if len(data) > MAX_FILE_BYTES:
        raise HintsError(f"{name}: hints file is over the 10 MB limit")
    try:
        return data.decode("utf-8-sig"), name
    except UnicodeDecodeError as exc:
        raise HintsError(f"{name}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None


@dataclass(eq=False)
class Hints:
    """A set of color hints: ``points``, ``strokes`` and an optional ``raster`` part.

    Build one with :meth:`from_dict`, :meth:`from_json`, :meth:`load`, :meth:`from_arrays`, or
    by adding items (:meth:`add_point`, :meth:`with_point`, ...). :meth:`to_map` renders it.
    """

    points: list[Point] = field(default_factory=list)
    strokes: list[Stroke] = field(default_factory=list)
    raster: RasterHints | None = None
    _order: list[str] = field(default_factory=list, init=False, repr=False)

    def __post_init__(self) -> None:
        self.points = list(self.points)
        self.strokes = list(self.strokes)
        for i, p in enumerate(self.points):
            if not isinstance(p, Point):
                raise HintsError(f"points[{i}]: expected a Point, got {type(p).__name__}")
        for i, s in enumerate(self.strokes):
            if not isinstance(s, Stroke):
                raise HintsError(f"strokes[{i}]: expected a Stroke, got {type(s).__name__}")
        if self.raster is not None and not isinstance(self.raster, RasterHints):
            raise HintsError(f"raster: expected RasterHints, got {type(self.raster).__name__}")

    # -- construction ------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, d: object) -> Hints:
        """Validate a hints dict (the JSON contract); raises :class:`HintsError` naming the field."""
        if d is None:
            return cls()
        obj = _check_keys(d, "hints", _TOP_KEYS, ())
        lists = {}
        for key in _TOP_KEYS:
            items = obj.get(key)
            if items is None:
                items = []
            if not isinstance(items, (list, tuple)):
                raise HintsError(f"{key}: expected a list, got {_json_type(items)}")
            lists[key] = items
        points = [Point.from_dict(p, f"points[{i}]") for i, p in enumerate(lists["points"])]
        strokes = [Stroke.from_dict(s, f"strokes[{i}]") for i, s in enumerate(lists["strokes"])]
        return cls(points, strokes)

    @classmethod
    def from_json(cls, text_or_path: str | os.PathLike | bytes) -> Hints:
        """Parse JSON text (a string starting with ``{``), JSON bytes, or a ``.json`` file path."""
        text, name = _read_json_text(text_or_path)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise HintsError(
                f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
            ) from None
        except (ValueError, RecursionError) as exc:
            raise HintsError(f"{name}: invalid JSON ({type(exc).__name__})") from None
        try:
            return cls.from_dict(data)
        except HintsError as exc:
            if name == "hints":
                raise
            raise HintsError(f"{name}: {exc}") from None

    @classmethod
    def load(cls, obj: object) -> Hints:
        """Coerce ``None`` | ``Hints`` | dict | path to a JSON file | JSON string into ``Hints``."""
        if obj is None:
            return cls()
        if isinstance(obj, Hints):
            return obj
        if isinstance(obj, Mapping):
            return cls.from_dict(obj)
        if isinstance(obj, (str, os.PathLike, bytes, bytearray)):
            return cls.from_json(obj)
        raise HintsError(
            f"hints: expected a Hints, a dict, a JSON file path or JSON text, got {type(obj).__name__}"
        )

    @classmethod
    def from_arrays(cls, color_rgb: np.ndarray, mask: np.ndarray) -> Hints:
        """Raster hints: ``color_rgb`` HxWx3 uint8 and ``mask`` HxW (nonzero = hinted)."""
        color = np.asarray(color_rgb)
        m = np.asarray(mask)
        if color.ndim != 3 or color.shape[2] != 3 or color.dtype != np.uint8:
            raise HintsError(
                f"color_rgb: expected an HxWx3 uint8 array, got shape {color.shape} {color.dtype}"
            )
        if m.ndim == 3 and m.shape[2] == 1:
            m = m[..., 0]
        if m.shape != color.shape[:2]:
            raise HintsError(
                f"mask: expected shape {color.shape[:2]} to match color_rgb, got {m.shape}"
            )
        if m.dtype.kind not in "biuf":
            raise HintsError(f"mask: expected a numeric or bool array, got {m.dtype}")
        if color.shape[0] < 1 or color.shape[1] < 1:
            raise HintsError(f"color_rgb: empty array of shape {color.shape}")
        color_copy = np.ascontiguousarray(color).copy()
        mask_copy = np.ascontiguousarray(m != 0)
        color_copy.flags.writeable = False
        mask_copy.flags.writeable = False
        return cls(raster=RasterHints(color_copy, mask_copy))

    # -- conversion --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; a raster part becomes (at most 2048, subsampled) one-pixel points."""
        points = self.raster.to_points() if self.raster is not None else []
        return {
            "points": [p.to_dict() for p in points + self.points],
            "strokes": [s.to_dict() for s in self.strokes],
        }

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON text of :meth:`to_dict`."""
        return json.dumps(self.to_dict(), indent=indent)

    def save(self, path: str | os.PathLike) -> Path:
        """Write the JSON form atomically (parent folders created); returns the path."""
        try:
            return write_bytes_atomic(path, (self.to_json() + "\n").encode("utf-8"))
        except OSError as exc:
            raise HintsError(f"{Path(path).name}: cannot write hints file ({exc.strerror or exc})") from None

    def to_map(self, height: int, width: int) -> np.ndarray:
        """Render to a float32 HxWx4 map: rgb/255 * alpha in channels 0-2, alpha in channel 3.

        Points are filled discs of radius ``max(1, radius * max(H, W))`` pixels, strokes are
        polylines of thickness ``max(1, round(width * max(H, W)))`` pixels. Later items are drawn
        over earlier ones: the raster part first, then strokes, then points. Deterministic.
        """
        height, width = int(height), int(width)
        if height < 1 or width < 1:
            raise ValueError(f"map size must be positive, got {height}x{width}")
        canvas = np.zeros((height, width, 4), np.uint8)
        if self.raster is not None:
            color, mask = self.raster.resized(height, width)
            canvas[mask, :3] = color[mask]
            canvas[mask, 3] = 1
        long_side = max(height, width)
        for stroke in self.strokes:
            thickness = max(1, int(round(stroke.width * long_side)))
            ink = (*stroke.rgb, 1)
            pts = np.array(
                [[_fixed(x * width - 0.5), _fixed(y * height - 0.5)] for x, y in stroke.xy],
                np.int64,
            )
            if len(pts) == 1 or (pts == pts[0]).all():
                radius = _fixed(max(1.0, thickness / 2.0))
                cv2.circle(canvas, (int(pts[0, 0]), int(pts[0, 1])), radius, ink, -1,
                           cv2.LINE_8, _SHIFT)
            else:
                cv2.polylines(canvas, [pts.astype(np.int32)], False, ink, thickness,
                              cv2.LINE_8, _SHIFT)
        for point in self.points:
            radius = _fixed(max(1.0, point.radius * long_side))
            center = (_fixed(point.x * width - 0.5), _fixed(point.y * height - 0.5))
            cv2.circle(canvas, center, radius, (*point.rgb, 1), -1, cv2.LINE_8, _SHIFT)
        out = canvas.astype(np.float32)
        out[..., :3] *= 1.0 / 255.0
        return out

    # -- editing -----------------------------------------------------------------------------

    def is_empty(self) -> bool:
        """True when there is nothing to draw."""
        return len(self) == 0

    def __len__(self) -> int:
        """Points + strokes + hinted raster pixels."""
        raster = int(self.raster.mask.sum()) if self.raster is not None else 0
        return len(self.points) + len(self.strokes) + raster

    def __bool__(self) -> bool:
        return not self.is_empty()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Hints):
            return NotImplemented
        return (
            self.points == other.points
            and self.strokes == other.strokes
            and self.raster == other.raster
        )

    __hash__ = None  # type: ignore[assignment]

    def copy(self) -> Hints:
        """A shallow copy (items are immutable)."""
        new = Hints(list(self.points), list(self.strokes), self.raster)
        new._order = self._history()
        return new

    def add_point(
        self, x: float, y: float, rgb: Iterable[int], radius: float = DEFAULT_RADIUS
    ) -> Point:
        """Append a point in place and return it."""
        point = Point(x, y, tuple(rgb), radius)  # type: ignore[arg-type]
        self._order = self._history() + ["p"]
        self.points.append(point)
        return point

    def add_stroke(
        self, xy: Iterable[Sequence[float]], rgb: Iterable[int], width: float = DEFAULT_WIDTH
    ) -> Stroke:
        """Append a stroke in place and return it."""
        stroke = Stroke(tuple(tuple(p) for p in xy), tuple(rgb), width)  # type: ignore[arg-type]
        self._order = self._history() + ["s"]
        self.strokes.append(stroke)
        return stroke

    def with_point(
        self, x: float, y: float, rgb: Iterable[int], radius: float = DEFAULT_RADIUS
    ) -> Hints:
        """A new hint set with one more point."""
        new = self.copy()
        new.add_point(x, y, rgb, radius)
        return new

    def with_stroke(
        self, xy: Iterable[Sequence[float]], rgb: Iterable[int], width: float = DEFAULT_WIDTH
    ) -> Hints:
        """A new hint set with one more stroke."""
        new = self.copy()
        new.add_stroke(xy, rgb, width)
        return new

    def without_last(self) -> Hints:
        """A new hint set without the most recently added point or stroke (for undo).

        With no points or strokes left, the raster part is dropped; an empty set stays empty.
        """
        order = self._history()
        points, strokes = list(self.points), list(self.strokes)
        if order:
            kind = order.pop()
            (points if kind == "p" else strokes).pop()
            new = Hints(points, strokes, self.raster)
            new._order = order
            return new
        return Hints()

    def _history(self) -> list[str]:
        """Order in which points ('p') and strokes ('s') were added, repaired if lists changed."""
        order = self._order
        if order.count("p") != len(self.points) or order.count("s") != len(self.strokes):
            order = ["p"] * len(self.points) + ["s"] * len(self.strokes)
        return list(order)


def _fixed(value: float) -> int:
    """A pixel coordinate as cv2 fixed point (``_SHIFT`` fractional bits), clamped to int32."""
    return int(max(-(1 << 26), min(1 << 26, round(value * _ONE))))


# ----------------------------------------------------------------------------------------------
# simulation (training) and deterministic hints (evaluation)

_DISCS = {
    r: (np.add.outer(np.arange(-r, r + 1) ** 2, np.arange(-r, r + 1) ** 2) <= r * r + r)
    for r in (1, 2)
}


def _target_scale(target: np.ndarray) -> float:
    if target.ndim != 3 or target.shape[2] != 3 or target.shape[0] < 1 or target.shape[1] < 1:
        raise ValueError(f"target_rgb must be HxWx3, got shape {target.shape}")
    if target.dtype == np.uint8:
        return 1.0 / 255.0
    if target.dtype.kind == "f":
        return 1.0
    raise ValueError(f"target_rgb must be uint8 or float in 0..1, got {target.dtype}")


def simulate_hints(
    target_rgb: np.ndarray,
    rng: np.random.Generator,
    *,
    mean_count: float = 8.0,
    p_none: float = 0.5,
    max_count: int = 40,
    p_regions: float = 0.0,
) -> np.ndarray:
    """A random hint map (float32 HxWx4) sampled from the ground-truth colors, for training.

    With probability ``p_none`` the map is empty. Otherwise, with probability ``p_regions``, the
    map holds :func:`region_scribbles` (a random share of the picture's color regions, each with one
    scribble in its mean color), as a user paints flat regions. Otherwise a geometric number of
    sparse hints (mean ``mean_count``, at most ``max_count``): 80% points (a 3x3 patch or a disc of
    radius 1-2 px, colored by the target's mean under it) and 20% short random-walk strokes 2-3 px
    wide, colored by the target's median under them. ``target_rgb`` is HxWx3 uint8 (or float in
    0..1).
    """
    scale = _target_scale(target_rgb)
    h, w = target_rgb.shape[:2]
    out = np.zeros((h, w, 4), np.float32)
    if rng.random() < p_none or max_count < 1:
        return out
    if p_regions > 0.0 and rng.random() < p_regions:
        return region_scribbles(target_rgb, rng)
    count = min(int(rng.geometric(min(1.0, 1.0 / max(mean_count, 1.0)))), int(max_count))
    for _ in range(count):
        kind = rng.random()
        if kind < 0.2:
            _sim_stroke(target_rgb, out, rng, scale)
            continue
        cy, cx = int(rng.integers(h)), int(rng.integers(w))
        if kind < 0.6:  # 3x3 patch
            y0, y1, x0, x1 = max(cy - 1, 0), min(cy + 2, h), max(cx - 1, 0), min(cx + 2, w)
            patch = target_rgb[y0:y1, x0:x1].reshape(-1, 3)
            out[y0:y1, x0:x1, :3] = patch.mean(axis=0) * scale
            out[y0:y1, x0:x1, 3] = 1.0
        else:  # disc of radius 1 or 2
            r = 1 if kind < 0.8 else 2
            disc = _DISCS[r]
            y0, y1, x0, x1 = max(cy - r, 0), min(cy + r + 1, h), max(cx - r, 0), min(cx + r + 1, w)
            sel = disc[y0 - cy + r : y1 - cy + r, x0 - cx + r : x1 - cx + r]
            region = out[y0:y1, x0:x1]
            color = target_rgb[y0:y1, x0:x1][sel].mean(axis=0) * scale
            region[sel, :3] = color
            region[sel, 3] = 1.0
    return out


def _sim_stroke(target: np.ndarray, out: np.ndarray, rng: np.random.Generator, scale: float) -> None:
    h, w = target.shape[:2]
    steps = int(rng.integers(2, 7))
    angle = rng.uniform(0.0, 2.0 * math.pi)
    turns = rng.normal(0.0, 0.5, steps)
    lengths = rng.uniform(1.5, 4.0, steps)
    angles = angle + np.cumsum(turns)
    xs = np.concatenate([[rng.uniform(0, w)], lengths * np.cos(angles)]).cumsum()
    ys = np.concatenate([[rng.uniform(0, h)], lengths * np.sin(angles)]).cumsum()
    xs = np.clip(xs, 0, w - 1)
    ys = np.clip(ys, 0, h - 1)
    thickness = int(rng.integers(2, 4))
    pad = thickness + 1
    x0, x1 = max(int(xs.min()) - pad, 0), min(int(xs.max()) + pad + 1, w)
    y0, y1 = max(int(ys.min()) - pad, 0), min(int(ys.max()) + pad + 1, h)
    local = np.zeros((y1 - y0, x1 - x0), np.uint8)
    pts = np.stack([np.rint(xs - x0), np.rint(ys - y0)], axis=1).astype(np.int32)
    cv2.polylines(local, [pts], False, 1, thickness, cv2.LINE_8)
    sel = local.astype(bool)
    if not sel.any():
        return
    color = np.median(target[y0:y1, x0:x1][sel], axis=0) * scale
    region = out[y0:y1, x0:x1]
    region[sel, :3] = color
    region[sel, 3] = 1.0


def _kmeans_labels(values: np.ndarray, k: int, rng: np.random.Generator, *, sample: int = 512,
                   iterations: int = 6) -> np.ndarray:
    """Labels of a small k-means of N x C float values: centers fitted on a random subsample."""
    n = values.shape[0]
    fit = values[rng.choice(n, size=min(n, sample), replace=False)]
    k = max(1, min(k, len(fit)))
    centers = fit[rng.choice(len(fit), size=k, replace=False)].astype(np.float64)

    def assign(x: np.ndarray) -> np.ndarray:
        d = (x * x).sum(axis=1)[:, None] - 2.0 * x @ centers.T + (centers * centers).sum(axis=1)[None]
        return d.argmin(axis=1)

    for _ in range(iterations):
        labels = assign(fit)
        counts = np.bincount(labels, minlength=k)
        for c in range(fit.shape[1]):
            sums = np.bincount(labels, weights=fit[:, c], minlength=k)
            centers[:, c] = np.where(counts > 0, sums / np.maximum(counts, 1), centers[:, c])
    return assign(values.astype(np.float64))


def region_scribbles(
    target_rgb: np.ndarray,
    rng: np.random.Generator,
    *,
    fraction: float | None = None,
    grid: int | None = None,
    min_area: int = 6,
) -> np.ndarray:
    """A hint map (float32 HxWx4) of scribbles that follow the target's flat color regions.

    The target is cut into regions at a coarse ``grid`` (the longer side in cells; random 32 or 64
    when ``None``): a k-means of its Lab colors (5-12 clusters), then the connected parts of each
    cluster of at least ``min_area`` cells. A share ``fraction`` of the regions (random in 0.05..1
    when ``None``; the largest first, or a random choice) gets one scribble each: a polyline through
    2-5 points of the region's inner half, ordered along the region's main axis, clipped to the
    region and one cell wide, in the region's mean color. This is how people hint flat-colored line
    art, and what region-based hint benchmarks give a colorizer.
    """
    scale = _target_scale(target_rgb)
    h, w = target_rgb.shape[:2]
    out = np.zeros((h, w, 4), np.float32)
    img = np.asarray(target_rgb, np.float32) * (scale * 255.0)
    cells = int(grid) if grid else int(rng.choice([32, 64]))
    f = min(1.0, cells / max(h, w))
    gh, gw = max(1, round(h * f)), max(1, round(w * f))
    small = cv2.resize(img, (gw, gh), interpolation=cv2.INTER_AREA) if (gh, gw) != (h, w) else img
    lab = cv2.cvtColor(np.clip(small / 255.0, 0.0, 1.0).astype(np.float32), cv2.COLOR_RGB2LAB)
    labels = _kmeans_labels(lab.reshape(-1, 3), int(rng.integers(5, 13)), rng).reshape(gh, gw).astype(np.uint8)
    if min(gh, gw) >= 3:
        labels = cv2.medianBlur(labels, 3)
    # connected parts of every cluster -> one region id per cell (0: too small to hint)
    regions = np.zeros((gh, gw), np.int32)
    next_id = 1
    for value in np.unique(labels):
        count, comp = cv2.connectedComponents((labels == value).astype(np.uint8), connectivity=4)
        if count > 1:
            inside = comp > 0
            regions[inside] = comp[inside] + (next_id - 1)
            next_id += count - 1
    ids = regions.ravel()
    area = np.bincount(ids, minlength=next_id)
    area[0] = 0
    usable = np.nonzero(area >= min_area)[0]
    if usable.size == 0:
        return out
    usable = usable[np.argsort(-area[usable], kind="stable")]
    share = float(rng.uniform(0.05, 1.0)) if fraction is None else float(min(max(fraction, 0.0), 1.0))
    keep = max(1, int(math.ceil(share * usable.size)))
    chosen = usable[:keep] if rng.random() < 0.5 else usable[rng.permutation(usable.size)[:keep]]
    # distance of every cell to its region's border, and each region's deepest distance
    border = np.zeros((gh, gw), bool)
    border[:-1] |= regions[:-1] != regions[1:]
    border[1:] |= regions[1:] != regions[:-1]
    border[:, :-1] |= regions[:, :-1] != regions[:, 1:]
    border[:, 1:] |= regions[:, 1:] != regions[:, :-1]
    dist = cv2.distanceTransform(np.pad((~border).astype(np.uint8), 1), cv2.DIST_L2, 3)[1:-1, 1:-1] + 1.0
    deepest = np.zeros(next_id, np.float32)
    np.maximum.at(deepest, ids, dist.ravel())
    inner = dist.ravel() >= 0.5 * deepest[ids]
    selected = np.zeros(next_id, bool)
    selected[chosen] = True
    cells_idx = np.nonzero(inner & selected[ids])[0]
    order = np.argsort(ids[cells_idx], kind="stable")
    cells_idx = cells_idx[order]
    starts = np.searchsorted(ids[cells_idx], chosen)
    ends = np.searchsorted(ids[cells_idx], chosen, side="right")
    canvas = np.zeros((gh, gw), np.int32)
    for region, s0, s1 in zip(chosen.tolist(), starts.tolist(), ends.tolist()):
        members = cells_idx[s0:s1]
        if members.size == 0:
            continue
        n = min(members.size, int(rng.integers(2, 6)))
        pick = members[rng.choice(members.size, size=n, replace=False)]
        py, px = np.divmod(pick, gw)
        pts = np.stack([px, py], axis=1).astype(np.float64)
        if n > 1:
            centered = pts - pts.mean(axis=0)
            cxx, cyy, cxy = (centered[:, 0] ** 2).sum(), (centered[:, 1] ** 2).sum(), (centered[:, 0] * centered[:, 1]).sum()
            angle = 0.5 * math.atan2(2.0 * cxy, cxx - cyy)
            pts = pts[np.argsort(centered @ np.array([math.cos(angle), math.sin(angle)]))]
        cv2.polylines(canvas, [pts.astype(np.int32).reshape(-1, 1, 2)], False, int(region), 1, cv2.LINE_8)
    strokes = np.where(canvas == regions, canvas, 0)
    present = np.unique(strokes)
    present = present[present > 0]
    if present.size == 0:
        return out
    flat_small = small.reshape(-1, 3)
    means = np.stack([np.bincount(ids, weights=flat_small[:, c], minlength=next_id) for c in range(3)], axis=1)
    means = means / np.maximum(area, 1)[:, None]  # region 0 (too small) is never drawn
    full = cv2.resize(strokes, (w, h), interpolation=cv2.INTER_NEAREST) if (gh, gw) != (h, w) else strokes
    hinted = full > 0
    out[hinted, :3] = np.clip(means[full[hinted]] / 255.0, 0.0, 1.0)
    out[hinted, 3] = 1.0
    return out


def deterministic_hints(
    target_rgb: np.ndarray, count: int, seed: int = 0, radius: float = DEFAULT_RADIUS
) -> Hints:
    """``count`` point hints at seeded positions, for evaluation.

    Positions avoid near-white background and dark line pixels where possible (preferring spots
    whose whole disc is clear of them); colors are the target's mean under each disc. The result
    depends only on the inputs, and the hints for ``count=k`` are the first ``k`` of those for any
    larger ``count`` (same target and seed).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    _size(radius, "radius")
    target = np.asarray(target_rgb)
    _target_scale(target)
    hints = Hints()
    if count == 0:
        return hints
    img = target if target.dtype == np.uint8 else np.clip(np.rint(target * 255.0), 0, 255).astype(np.uint8)
    h, w = img.shape[:2]
    long_side = max(h, w)
    r_px = max(1.0, radius * long_side)
    gray = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
    usable = ((gray < 235) & (gray > 60)).astype(np.uint8)
    k = int(math.ceil(r_px)) * 2 + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    inner = cv2.erode(usable, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    usable_b = usable.astype(bool)
    rng = np.random.default_rng(seed)
    flat = np.arange(h * w)
    tiers = [flat[inner.ravel()], flat[usable_b.ravel() & ~inner.ravel()], flat[~usable_b.ravel()]]
    order = np.concatenate([rng.permutation(t) for t in tiers])
    if count > order.size:
        order = np.resize(order, count)
    chosen = order[:count]
    ys, xs = np.divmod(chosen, w)
    yy, xx = np.ogrid[:h, :w]
    ri = int(math.ceil(r_px))
    for cy, cx in zip(ys.tolist(), xs.tolist()):
        y0, y1, x0, x1 = max(cy - ri, 0), min(cy + ri + 1, h), max(cx - ri, 0), min(cx + ri + 1, w)
        disc = (yy[y0:y1] - cy) ** 2 + (xx[:, x0:x1] - cx) ** 2 <= r_px * r_px
        color = img[y0:y1, x0:x1][disc].mean(axis=0)
        rgb = tuple(int(v) for v in np.clip(np.rint(color), 0, 255))
        hints.add_point((cx + 0.5) / w, (cy + 0.5) / h, rgb, radius)
    return hints
