"""The hint canvas of :class:`~s2p_lab.widgets.ColorizeApp`: drawing hints over the sketch, and the
geometry of clicks and drags (canvas pixels to sketch fractions, which hint a click erases)."""

from __future__ import annotations

import math

import ipywidgets as W
import numpy as np
from ipycanvas import Canvas, hold_canvas

from ..hints import Hints, Point, Stroke

DRAG_PIXELS = 5.0  # a press that moves further than this on the canvas draws a stroke, not a point
ERASE_PIXELS = 12.0  # the eraser removes the nearest hint within this distance


def hint_canvas(side: int) -> tuple[Canvas, W.Box]:
    """A square canvas of ``side`` pixels and the framed box that holds it."""
    canvas = Canvas(width=side, height=side, layout=W.Layout(width=f"{side}px", height=f"{side}px"))
    canvas.add_class("s2p-hint-canvas")
    box = W.Box(
        [canvas],
        layout=W.Layout(width=f"{side + 2}px", height=f"{side + 2}px", border="1px solid #cfd8dc",
                        align_items="center", justify_content="center"),
    )
    return canvas, box


def fit_canvas(canvas: Canvas, width: int, height: int) -> None:
    """Resize the canvas (its pixels and its on-screen size) to ``width`` x ``height``."""
    canvas.width, canvas.height = width, height
    canvas.layout.width, canvas.layout.height = f"{width}px", f"{height}px"


def to_fraction(canvas: Canvas, x: float, y: float) -> tuple[float, float]:
    """Canvas pixels ``(x, y)`` as fractions of the canvas' width and height, clipped to [0, 1]."""
    return (min(max(x / canvas.width, 0.0), 1.0), min(max(y / canvas.height, 0.0), 1.0))


def redraw(canvas: Canvas, background: np.ndarray | None, items: list[Point | Stroke]) -> None:
    """Draw the sketch ``background`` (if any) and every hint on it, in one batch."""
    with hold_canvas():
        canvas.clear()
        if background is not None:
            canvas.put_image_data(background, 0, 0)
        for item in items:
            draw_item(canvas, item)


def draw_item(c: Canvas, item: Point | Stroke) -> None:
    """Draw one hint: a point as a ringed disc, a stroke as a round-capped line."""
    w, h = c.width, c.height
    long_side = max(w, h)
    color = "#{:02x}{:02x}{:02x}".format(*item.rgb)
    if isinstance(item, Point):
        x, y, r = item.x * w, item.y * h, max(2.0, item.radius * long_side)
        c.fill_style = color
        c.fill_circle(x, y, r)
        c.line_width = 1.5
        c.stroke_style = "#ffffff"
        c.stroke_circle(x, y, r + 1)
        c.line_width = 1
        c.stroke_style = "#263238"
        c.stroke_circle(x, y, r + 2.5)
    else:
        points = [(px * w, py * h) for px, py in item.xy]
        width = max(2.0, item.width * long_side)
        c.stroke_style = color
        c.line_width = width
        c.line_cap = "round"
        c.line_join = "round"
        if len(points) == 1:
            c.fill_style = color
            c.fill_circle(points[0][0], points[0][1], width / 2)
        else:
            c.stroke_lines(points)


def draw_drag(c: Canvas, color: str, width: float, last: tuple[float, float], x: float, y: float) -> None:
    """Draw the newest piece of a stroke being dragged (``width`` as a fraction of the long side)."""
    c.stroke_style = color
    c.line_width = max(2.0, width * max(c.width, c.height))
    c.line_cap = "round"
    c.stroke_line(last[0], last[1], x, y)


def drawn_hint(canvas: Canvas, press: tuple[float, float], path: list[tuple[float, float]],
               rgb: tuple[int, int, int], radius: float, width: float, point_mode: bool) -> Point | Stroke:
    """The hint a press at ``press`` that moved along ``path`` (canvas pixels) draws: a point of
    ``radius`` in point mode unless it moved further than ``DRAG_PIXELS``, else a stroke of ``width``."""
    moved = max(math.hypot(px - press[0], py - press[1]) for px, py in path)
    if point_mode and moved <= DRAG_PIXELS:
        fx, fy = to_fraction(canvas, *press)
        return Point(fx, fy, rgb, radius)
    xy = tuple(to_fraction(canvas, px, py) for px, py in dedupe(path))
    return Stroke(xy, rgb, width)


def to_hints(items: list[Point | Stroke]) -> Hints:
    """The canvas' hint items as :class:`~s2p_lab.hints.Hints` (in the order they were placed)."""
    hints = Hints()
    for item in items:
        if isinstance(item, Point):
            hints.add_point(item.x, item.y, item.rgb, item.radius)
        else:
            hints.add_stroke(item.xy, item.rgb, item.width)
    return hints


def nearest_hint(items: list[Point | Stroke], x: float, y: float, width: int, height: int) -> int | None:
    """Index of the hint nearest to canvas pixel ``(x, y)`` if within ``ERASE_PIXELS``, else None."""
    if not items:
        return None
    long_side = max(width, height)

    def distance(item: Point | Stroke) -> float:
        if isinstance(item, Point):
            return math.hypot(item.x * width - x, item.y * height - y) - item.radius * long_side
        pts = [(px * width, py * height) for px, py in item.xy]
        segs = zip(pts, pts[1:]) if len(pts) > 1 else [(pts[0], pts[0])]
        return min(segment_distance((x, y), a, b) for a, b in segs) - item.width * long_side / 2

    best = min(range(len(items)), key=lambda i: distance(items[i]))
    return best if distance(items[best]) <= ERASE_PIXELS else None


def dedupe(path: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """``path`` without consecutive repeated points."""
    out = [path[0]]
    for p in path[1:]:
        if p != out[-1]:
            out.append(p)
    return out


def segment_distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    """Distance from point ``p`` to the segment ``a``-``b``."""
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))
