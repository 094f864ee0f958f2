"""Color hints: hint sets, their JSON form, and the 4-channel hint map.

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

Simulated hints for training and deterministic hints for evaluation are in
:mod:`s2p_lab.hint_simulation`. The hint map (:meth:`Hints.to_map`) is float32 HxWx4: channels 0-2 are the
hint color in ``[0, 1]`` times alpha, channel 3 is alpha (1 inside a hint, 0 elsewhere).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from .errors import HintsError
from .hint_checks import MAX_SIZE, check_keys, fraction_value, json_type, number_value, rgb_value, size_value, xy_value
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
]

DEFAULT_RADIUS = 0.01
DEFAULT_WIDTH = 0.008
MAX_FILE_BYTES = 10 * 1024 * 1024
"""Hints files (and JSON strings) larger than this are refused."""
MAX_RASTER_POINTS = 2048
"""``to_dict()`` of a raster hint keeps at most this many points (evenly subsampled)."""

_TOP_KEYS = ("points", "strokes")
_POINT_KEYS = ("x", "y", "rgb", "radius")
_STROKE_KEYS = ("xy", "rgb", "width")
_SHIFT = 4  # cv2 drawing: 4 fractional bits for sub-pixel positions
_ONE = 1 << _SHIFT


@dataclass(frozen=True)
class Point:
    """A filled disc at ``(x, y)`` (fractions of width, height); ``radius`` is a fraction of the
    image's longer side (``0 < radius <= 0.25``)."""

    x: float
    y: float
    rgb: tuple[int, int, int]
    radius: float = DEFAULT_RADIUS

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", fraction_value(self.x, "point.x"))
        object.__setattr__(self, "y", fraction_value(self.y, "point.y"))
        object.__setattr__(self, "rgb", rgb_value(self.rgb, "point.rgb"))
        object.__setattr__(self, "radius", size_value(self.radius, "point.radius"))

    @classmethod
    def from_dict(cls, obj: object, path: str = "point") -> Point:
        """Validate one JSON point; messages use ``path`` (e.g. ``points[3]``)."""
        d = check_keys(obj, path, _POINT_KEYS, ("x", "y", "rgb"))
        return cls(
            x=fraction_value(d["x"], f"{path}.x"),
            y=fraction_value(d["y"], f"{path}.y"),
            rgb=rgb_value(d["rgb"], f"{path}.rgb"),
            radius=size_value(d.get("radius", DEFAULT_RADIUS), f"{path}.radius"),
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
        object.__setattr__(self, "xy", xy_value(self.xy, "stroke.xy"))
        object.__setattr__(self, "rgb", rgb_value(self.rgb, "stroke.rgb"))
        object.__setattr__(self, "width", size_value(self.width, "stroke.width"))

    @classmethod
    def from_dict(cls, obj: object, path: str = "stroke") -> Stroke:
        """Validate one JSON stroke; messages use ``path`` (e.g. ``strokes[0]``)."""
        d = check_keys(obj, path, _STROKE_KEYS, ("xy", "rgb"))
        return cls(
            xy=xy_value(d["xy"], f"{path}.xy"),
            rgb=rgb_value(d["rgb"], f"{path}.rgb"),
            width=size_value(d.get("width", DEFAULT_WIDTH), f"{path}.width"),
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
        obj = check_keys(d, "hints", _TOP_KEYS, ())
        lists = {}
        for key in _TOP_KEYS:
            items = obj.get(key)
            if items is None:
                items = []
            if not isinstance(items, (list, tuple)):
                raise HintsError(f"{key}: expected a list, got {json_type(items)}")
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
