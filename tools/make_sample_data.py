"""Generate the project's own sample images into ``sample_data/``.

Everything here is drawn from code with numpy, Pillow and OpenCV: four line-art sketches, the
portrait again as a photographed pencil drawing (for the cleanup demo), nine procedural style
references and a hints file for the portrait. The output is deterministic (fixed seeds), so the
committed files can be checked against a fresh run::

    python tools/make_sample_data.py              # writes sample_data/
    python tools/make_sample_data.py --out /tmp/x # writes somewhere else
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

SS = 4  # line art is drawn at SS x the output size and box-filtered down: anti-aliased lines
ROOT = Path(__file__).resolve().parent.parent

Pt = tuple[float, float]


# ============================================================================ curves


def bezier(*ctrl: Pt, n: int = 48) -> np.ndarray:
    """Points along a Bezier curve of any degree (Bernstein form)."""
    c = np.asarray(ctrl, dtype=np.float64)
    deg = len(c) - 1
    t = np.linspace(0.0, 1.0, n)[:, None]
    out = np.zeros((n, 2))
    for i, p in enumerate(c):
        out += math.comb(deg, i) * t**i * (1 - t) ** (deg - i) * p
    return out


def spline(points: Sequence[Pt], closed: bool = False, n: int = 14) -> np.ndarray:
    """Catmull-Rom spline through ``points`` (``n`` samples per span)."""
    p = np.asarray(points, dtype=np.float64)
    if closed:
        p = np.concatenate([p[-1:], p, p[:2]])
    else:
        p = np.concatenate([2 * p[:1] - p[1:2], p, 2 * p[-1:] - p[-2:-1]])
    t = np.linspace(0.0, 1.0, n, endpoint=False)[:, None]
    t2, t3 = t * t, t * t * t
    segs = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        segs.append(0.5 * ((2 * p1) + (-p0 + p2) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2
                           + (-p0 + 3 * p1 - 3 * p2 + p3) * t3))
    segs.append(p[-2][None] if not closed else p[1][None])
    return np.concatenate(segs)


def ellipse(c: Pt, rx: float, ry: float, a0: float = 0.0, a1: float = 360.0, rot: float = 0.0,
            n: int = 72) -> np.ndarray:
    """Points on an (arc of an) ellipse; angles in degrees, y down."""
    a = np.radians(np.linspace(a0, a1, n))
    x, y = rx * np.cos(a), ry * np.sin(a)
    r = math.radians(rot)
    return np.stack([c[0] + x * math.cos(r) - y * math.sin(r),
                     c[1] + x * math.sin(r) + y * math.cos(r)], 1)


def scallops(c: Pt, rx: float, ry: float, bumps: int, depth: float, phase: float = 0.0,
             n: int = 360) -> np.ndarray:
    """A closed bumpy outline (clouds, tree crowns): arcs meeting in inward cusps."""
    a = np.linspace(0, 2 * np.pi, n, endpoint=False)
    k = 1.0 - depth + depth * np.abs(np.sin(bumps * (a + phase) / 2))
    return np.stack([c[0] + rx * k * np.cos(a), c[1] + ry * k * np.sin(a)], 1)


def tube(path: np.ndarray, w0: float, w1: float, round_end: bool = True) -> np.ndarray:
    """A closed outline around ``path`` whose width goes from ``w0`` to ``w1`` (tails, stems)."""
    d = np.gradient(path, axis=0)
    d /= np.linalg.norm(d, axis=1, keepdims=True) + 1e-9
    nrm = np.stack([-d[:, 1], d[:, 0]], 1)
    w = np.linspace(w0, w1, len(path))[:, None] / 2
    left, right = path + nrm * w, path - nrm * w
    cap = []
    if round_end and w1 > 0:
        ang = math.atan2(nrm[-1, 1], nrm[-1, 0])
        cap = ellipse(tuple(path[-1]), w[-1, 0], w[-1, 0], math.degrees(ang),
                      math.degrees(ang) - 180, n=12)[1:-1]
    return np.concatenate([left, np.asarray(cap).reshape(-1, 2), right[::-1]])


def mirror(points: np.ndarray, cx: float) -> np.ndarray:
    """Mirror points about the vertical line ``x = cx``."""
    p = np.array(points, dtype=np.float64)
    p[:, 0] = 2 * cx - p[:, 0]
    return p


def smooth_noise(h: int, w: int, rng: np.random.Generator, cell: float, octaves: int = 4) -> np.ndarray:
    """Fractal value noise in [0, 1], float32 HxW (upsampled random grids, octave sum)."""
    out = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        gh, gw = max(2, int(h / cell) + 2), max(2, int(w / cell) + 2)
        grid = rng.random((gh, gw)).astype(np.float32)
        out += amp * cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
        total += amp
        amp *= 0.5
        cell /= 2.0
    out /= total
    lo, hi = float(out.min()), float(out.max())
    return (out - lo) / max(hi - lo, 1e-6)


# ============================================================================ line-art canvas


class Ink:
    """A line-art canvas drawn at ``SS`` x resolution; :meth:`image` gives anti-aliased gray.

    Shapes are drawn back to front: :meth:`shape` fills a closed outline with paper and strokes
    it, so nearer shapes hide what lies behind them and every region stays closed. ``wobble``
    (pixels) displaces points with a smooth random field and ``tremor`` adds per-stroke jitter;
    both are 0 for clean line art and used for the pencil rendering.
    """

    def __init__(self, w: int, h: int, *, ink: int = 0, wobble: float = 0.0, tremor: float = 0.0,
                 seed: int = 0, width_scale: float = 1.0) -> None:
        self.w, self.h = w, h
        self.ink = ink
        self.width_scale = width_scale
        self.im = Image.new("L", (w * SS, h * SS), 255)
        self.draw = ImageDraw.Draw(self.im)
        self.rng = np.random.default_rng(seed)
        self.tremor = tremor
        self.field = None
        if wobble > 0:
            fx = smooth_noise(h // 8 + 2, w // 8 + 2, self.rng, 6.0, 2) - 0.5
            fy = smooth_noise(h // 8 + 2, w // 8 + 2, self.rng, 6.0, 2) - 0.5
            self.field = (fx * 2 * wobble, fy * 2 * wobble)

    def _warp(self, pts: np.ndarray, tremor: bool = True) -> np.ndarray:
        p = np.asarray(pts, dtype=np.float64).reshape(-1, 2)
        if self.field is not None:
            ix = np.clip((p[:, 0] / 8).astype(int), 0, self.field[0].shape[1] - 1)
            iy = np.clip((p[:, 1] / 8).astype(int), 0, self.field[0].shape[0] - 1)
            p = p + np.stack([self.field[0][iy, ix], self.field[1][iy, ix]], 1)
        if tremor and self.tremor > 0 and len(p) > 1:
            k = max(2, len(p) // 12)
            off = self.rng.normal(0, self.tremor, (k, 2))
            t = np.linspace(0, k - 1, len(p))
            p = p + np.stack([np.interp(t, np.arange(k), off[:, 0]),
                              np.interp(t, np.arange(k), off[:, 1])], 1)
        return p

    def stroke(self, pts: Iterable[Pt] | np.ndarray, width: float = 2.0,
               taper: float | tuple[float, float] = 0.0, closed: bool = False,
               ink: int | None = None) -> None:
        """A pen stroke along ``pts``; ``taper`` thins it over that fraction at each end."""
        p = self._warp(np.asarray(pts, dtype=np.float64))
        if closed:
            p = np.concatenate([p, p[:1]])
        n = len(p)
        t0, t1 = (taper, taper) if isinstance(taper, (int, float)) else taper
        t = np.linspace(0, 1, n)
        prof = np.ones(n)
        if t0 > 0:
            prof = np.minimum(prof, np.clip(t / t0, 0.15, 1))
        if t1 > 0:
            prof = np.minimum(prof, np.clip((1 - t) / t1, 0.15, 1))
        wid = width * self.width_scale * prof * SS
        color = self.ink if ink is None else ink
        q = p * SS
        for i in range(n - 1):
            wi = max(1, round((wid[i] + wid[i + 1]) / 2))
            self.draw.line([tuple(q[i]), tuple(q[i + 1])], fill=color, width=wi)
        for i in range(n):
            r = wid[i] / 2
            if r >= 1.0:
                self.draw.ellipse([q[i, 0] - r, q[i, 1] - r, q[i, 0] + r, q[i, 1] + r], fill=color)

    def fill(self, pts: np.ndarray, value: int = 255) -> None:
        """Fill a closed polygon (``255``: paper, hiding what is behind)."""
        p = self._warp(pts, tremor=False)
        self.draw.polygon([tuple(x) for x in (p * SS)], fill=value)

    def shape(self, pts: np.ndarray, width: float = 2.0, fill: int = 255) -> None:
        """A closed region: paper fill (hides what is behind), then its outline."""
        self.fill(pts, fill)
        self.stroke(pts, width, closed=True)

    def dot(self, c: Pt, r: float, value: int | None = None) -> None:
        """A filled disc (pupils, highlights, bells)."""
        x, y = self._warp(np.array([c]), tremor=False)[0]
        v = self.ink if value is None else value
        self.draw.ellipse([(x - r) * SS, (y - r) * SS, (x + r) * SS, (y + r) * SS], fill=v)

    def image(self) -> Image.Image:
        """The drawing at output size, gray (``L``), box-filtered: anti-aliased."""
        return self.im.reduce(SS)


# ============================================================================ sketches


def _clip_paste(ink: Ink, layer: Ink, outline: np.ndarray) -> None:
    """Copy ``layer`` into ``ink`` inside the closed ``outline`` only (irises in eye openings)."""
    mask = Image.new("L", ink.im.size, 0)
    ImageDraw.Draw(mask).polygon([tuple(x) for x in ink._warp(outline, tremor=False) * SS], fill=255)
    ink.im.paste(layer.im, (0, 0), mask)


def _layer(ink: Ink) -> Ink:
    """A blank canvas with the same size and pen as ``ink``."""
    return Ink(ink.w, ink.h, ink=ink.ink, width_scale=ink.width_scale)


def draw_girl(ink: Ink) -> dict[str, Pt]:
    """Anime-style girl portrait (576 x 720). Returns named anchor points for the hints file."""
    cx = 288.0
    top_l = [(150, 300), (148, 214), (176, 148), (230, 110), (cx, 98)]
    head_top = np.concatenate([spline(top_l), mirror(spline(top_l), cx)[::-1][1:]])

    # ---- back hair: behind the head, falling behind the shoulders
    side_l = spline([(150, 300), (140, 380), (128, 460), (112, 540), (96, 620), (84, 720)])
    back = np.concatenate([mirror(side_l, cx)[::-1], head_top[1:-1], side_l])
    ink.shape(back, 2.6)
    for x0, x1 in [(152, 104), (170, 128)]:
        s = bezier((x0, 300), (x0 - 6, 400), (x1 + 8, 500), (x1, 600), n=40)
        ink.stroke(s, 1.2, taper=0.35)
        ink.stroke(mirror(s, cx), 1.2, taper=0.35)

    # ---- body: shoulders and a sailor uniform
    sh_l = spline([(252, 506), (214, 540), (150, 566), (84, 598), (44, 656), (30, 720)])
    body = np.concatenate([sh_l, [(30, 730), (546, 730)], mirror(sh_l, cx)[::-1]])
    ink.shape(body, 2.6)
    for side in (-1, 1):  # sleeve folds
        ink.stroke(bezier((cx + side * 214, 640), (cx + side * 226, 670), (cx + side * 232, 712), n=16),
                   1.2, taper=0.4)
    neck_l = bezier((254, 430), (256, 466), (254, 492), (250, 516), n=20)
    neck = np.concatenate([neck_l, bezier((250, 516), (cx, 534), (326, 516), n=20),
                           mirror(neck_l, cx)[::-1]])
    ink.shape(neck, 2.2)
    ink.stroke(bezier((266, 474), (278, 484), (290, 486), n=12), 1.1, taper=0.4)  # shadow under jaw
    col_l = spline([(246, 510), (204, 540), (146, 564), (100, 590), (118, 640), (170, 652),
                    (226, 642), (cx, 664)])
    collar = np.concatenate([col_l, mirror(col_l, cx)[::-1][1:]])
    ink.shape(collar, 2.4)
    inner_l = spline([(248, 522), (266, 578), (cx, 630)])
    shirt = np.concatenate([inner_l, mirror(inner_l, cx)[::-1][1:], [(328, 516), (cx, 534), (248, 516)]])
    ink.shape(shirt, 2.0)
    ink.stroke(bezier((268, 536), (cx, 548), (308, 536), n=12), 1.1, taper=0.3)  # collarbone hint
    stripe_l = spline([(112, 600), (130, 630), (172, 640), (224, 630), (262, 644)])
    ink.stroke(stripe_l, 1.4)
    ink.stroke(mirror(stripe_l, cx), 1.4)
    for side in (-1, 1):  # ribbon tails, then loops and knot
        tail = np.array([(cx + side * 6, 662), (cx + side * 22, 690), (cx + side * 28, 724),
                         (cx + side * 46, 724), (cx + side * 36, 688), (cx + side * 16, 656)])
        ink.shape(spline(tail, closed=True, n=8), 2.0)
    for side in (-1, 1):
        loop = [(cx, 650), (cx + side * 30, 626), (cx + side * 58, 632), (cx + side * 54, 666),
                (cx + side * 26, 670)]
        ink.shape(spline(loop, closed=True, n=10), 2.2)
        ink.stroke(bezier((cx + side * 14, 652), (cx + side * 30, 646), (cx + side * 42, 656), n=10),
                   1.0, taper=0.4)
    ink.shape(ellipse((cx, 654), 12, 14), 2.2)

    # ---- face
    face_l = spline([(156, 250), (160, 310), (176, 370), (210, 420), (250, 452), (cx, 466)])
    face = np.concatenate([face_l, mirror(face_l, cx)[::-1][1:]])
    ink.fill(np.concatenate([face, [(420, 200), (156, 200)]]))
    ink.stroke(face, 2.6)

    # ---- eyes
    anchors: dict[str, Pt] = {}
    for side in (-1, 1):
        ex = cx + side * 58.0
        o, i_ = ex + side * 40, ex - side * 30  # outer / inner corner x
        upper = bezier((i_, 340), (ex - side * 4, 310), (ex + side * 26, 306), (o, 332), n=40)
        lower = spline([(o, 332), (o - side * 5, 372), (ex + side * 8, 400), (ex - side * 20, 394),
                        (i_, 340)], n=10)
        layer = _layer(ink)
        ic, rx, ry = (ex + side * 2, 358.0), 27.0, 39.0
        layer.shape(ellipse(ic, rx, ry), 2.0)
        layer.stroke(ellipse((ic[0], ic[1] + 3), 20, 30, 15, 165), 1.1)  # lower iris ring
        layer.fill(ellipse((ic[0], ic[1] + 4), 10, 16), 0)  # pupil
        for k in range(5):  # upper iris shading, clipped to the iris
            dy = -ry + 8 + 4.5 * k
            half = rx * math.sqrt(1 - (dy / ry) ** 2) - 2
            layer.stroke([(ic[0] - half, ic[1] + dy + 1), (ic[0], ic[1] + dy - 1),
                          (ic[0] + half, ic[1] + dy + 1)], 1.0)
        layer.dot((ex - 9, 344), 9.0, 255)
        layer.stroke(ellipse((ex - 9, 344), 9.0, 9.0), 1.0)
        layer.dot((ex + 11, 380), 4.0, 255)
        _clip_paste(ink, layer, np.concatenate([upper, lower[1:]]))
        ink.stroke(upper, 5.0, taper=(0.35, 0.05))
        ink.stroke(bezier((o - side * 6, 332), (o + side * 6, 326), (o + side * 12, 316), n=10),
                   3.0, taper=(0.0, 0.8))  # lash flick
        ink.stroke(bezier((ex + side * 16, 394), (ex + side * 2, 401), (ex - side * 16, 396), n=16),
                   1.6, taper=0.4)  # lower lash
        ink.stroke(bezier((i_ - side * 2, 322), (ex, 296), (o - side * 6, 312), n=24), 1.2,
                   taper=0.35)  # double eyelid
        ink.stroke(bezier((i_ - side * 2, 282), (ex, 268), (o + side * 4, 280), n=24), 2.0,
                   taper=(0.15, 0.6))  # brow
        for k in range(3):  # blush hatching
            bx = ex + side * (4 + 10 * k)
            ink.stroke([(bx + 7, 408), (bx - 1, 422)], 1.2, taper=0.4)
        anchors["eye_l" if side < 0 else "eye_r"] = (ic[0], ic[1] + 16)
    ink.stroke(bezier((cx + 3, 404), (cx - 2, 410), (cx - 4, 414), n=8), 1.6, taper=0.3)  # nose
    ink.stroke(bezier((cx - 16, 438), (cx - 4, 444), (cx + 6, 443), (cx + 16, 436), n=16), 1.9,
               taper=0.3)  # mouth
    ink.stroke(bezier((cx - 5, 450), (cx, 452), (cx + 5, 450), n=8), 1.0, taper=0.4)

    # ---- front hair: long side locks, then the bangs
    for side in (-1, 1):
        lock = np.concatenate([
            bezier((cx + side * 128, 240), (cx + side * 144, 360), (cx + side * 140, 470),
                   (cx + side * 160, 610), n=40),
            bezier((cx + side * 160, 610), (cx + side * 148, 560), (cx + side * 126, 470),
                   (cx + side * 112, 340), n=40)[1:],
            bezier((cx + side * 112, 340), (cx + side * 104, 290), (cx + side * 98, 250),
                   (cx + side * 96, 240), n=12)[1:]])
        ink.shape(lock, 2.4)
        ink.stroke(bezier((cx + side * 118, 320), (cx + side * 132, 420), (cx + side * 136, 500),
                          (cx + side * 150, 580), n=30), 1.1, taper=0.35)
    tips = [(150, 300), (164, 344), (190, 236), (206, 312), (232, 214), (246, 300), (262, 236),
            (276, 334), (296, 196), (322, 306), (344, 228), (364, 300), (388, 214), (412, 342),
            (426, 300)]
    edge = [np.array([tips[0]], np.float64)]
    for a, b in zip(tips[:-1], tips[1:]):
        if b[1] > a[1]:  # valley -> tip: fall straight down, then sweep in to the point
            dy = b[1] - a[1]
            c1, c2 = (a[0] - 2, a[1] + 0.45 * dy), (b[0] - 0.35 * (b[0] - a[0]), b[1] - 0.3 * dy)
        else:  # tip -> valley, the mirror image
            dy = a[1] - b[1]
            c1, c2 = (a[0] + 0.35 * (b[0] - a[0]), a[1] - 0.3 * dy), (b[0] + 2, b[1] + 0.45 * dy)
        edge.append(bezier(a, c1, c2, b, n=24)[1:])
    bangs = np.concatenate([head_top, np.concatenate(edge)[::-1][1:]])
    ink.shape(bangs, 2.6)
    for k in range(1, len(tips) - 1, 2):  # strands down every lock
        tx, ty = tips[k]
        s = bezier((cx + (tx - cx) * 0.3, 118), (cx + (tx - cx) * 0.8, 150), (tx, ty - 90),
                   (tx, ty - 26), n=30)
        ink.stroke(s, 1.1, taper=(0.5, 0.3))
        if 1 < k < len(tips) - 2:
            vx = tips[k + 1][0]
            s2 = bezier((cx + (vx - cx) * 0.6, 140), (vx - 4, 176), (vx - 6, 226), n=20)
            ink.stroke(s2, 1.0, taper=0.4)
    ink.stroke(bezier((206, 160), (236, 132), (272, 122), n=20), 1.1, taper=0.4)  # shine
    ink.stroke(bezier((304, 122), (340, 130), (366, 156), n=20), 1.1, taper=0.4)
    ahoge = np.concatenate([bezier((280, 102), (268, 62), (300, 48), (320, 60), n=20),
                            bezier((320, 60), (296, 64), (290, 84), (298, 102), n=20)])
    ink.shape(ahoge, 2.0)
    bx, by = 404.0, 160.0  # hair bow
    for ang in (-35, 35):
        r = math.radians(ang)
        tip = (bx + 50 * math.cos(r), by + 50 * math.sin(r))
        loop = [(bx, by), (tip[0] - 10, tip[1] - 20), (tip[0] + 6, tip[1] + 2), (tip[0] - 14, tip[1] + 20)]
        ink.shape(spline(loop, closed=True, n=10), 2.2)
        ink.stroke(bezier((bx + 10, by + 3 * math.sin(r)), (bx + 24, by + 16 * math.sin(r)),
                          (bx + 34, by + 26 * math.sin(r)), n=10), 1.0, taper=0.4)
    ink.shape(ellipse((bx, by), 11, 12), 2.2)
    anchors.update({
        "hair_bangs": (250, 170), "hair_crown": (330, 150), "hair_lock": (cx + 134, 450),
        "skin_cheek": (214, 400), "skin_neck": (cx, 500), "collar": (190, 590),
        "shirt": (cx, 590), "ribbon": (cx + 42, 650), "bow": (bx + 34, by - 14),
        "mouth": (cx, 441),
    })
    return anchors


def draw_cat(ink: Ink) -> None:
    """A cat sitting, seen from the front (640 x 640)."""
    cx = 320.0
    # tail curling round the front paws
    path = bezier((440, 540), (540, 520), (560, 610), (420, 610), (260, 612), (200, 600), n=80)

    def tail(canvas: Ink) -> None:
        canvas.shape(tube(path, 34, 26), 2.6)
        for k in range(5):  # rings
            p = path[18 + k * 12]
            canvas.stroke([(p[0] - 4, p[1] - 12), (p[0] + 6, p[1] + 12)], 1.6, taper=0.4)

    tail(ink)
    # body
    body_l = [(cx, 250), (262, 268), (228, 330), (206, 420), (200, 500), (214, 566), (248, 596),
              (cx, 600)]
    body = np.concatenate([spline(body_l), mirror(spline(body_l), cx)[::-1][1:]])
    ink.shape(body, 2.8)
    # collar (clipped to the body) with a bell
    layer = _layer(ink)
    band = np.concatenate([bezier((190, 280), (cx, 336), (450, 280), n=30),
                           bezier((450, 296), (cx, 354), (190, 296), n=30)])
    layer.shape(band, 2.2)
    _clip_paste(ink, layer, body)
    ink.stroke(body, 2.8, closed=True)
    # the tail passes in front of the bottom of the body
    layer = _layer(ink)
    tail(layer)
    _clip_paste(ink, layer, np.concatenate([body[body[:, 1] > 560], [(440, 640), (200, 640)]]))
    # haunches
    ink.stroke(bezier((236, 440), (196, 480), (208, 560), (262, 592), n=40), 2.0, taper=(0.4, 0.1))
    ink.stroke(bezier((404, 440), (444, 480), (432, 560), (378, 592), n=40), 2.0, taper=(0.4, 0.1))
    # front legs (open strokes down from the chest) and paws
    for side in (-1, 1):
        x0 = cx + side * 34
        ink.stroke(bezier((x0 - side * 20, 370), (x0 - side * 30, 450), (x0 - side * 28, 530),
                          (x0 - side * 26, 584), n=40), 2.4, taper=(0.5, 0.0))
        ink.stroke(bezier((x0 + side * 14, 410), (x0 + side * 22, 470), (x0 + side * 24, 540),
                          (x0 + side * 24, 584), n=40), 2.4, taper=(0.4, 0.0))
        paw = np.concatenate([bezier((x0 - side * 26, 580), (x0 - side * 30, 610), (x0 + side * 28, 612),
                                     (x0 + side * 24, 580), n=30),
                              bezier((x0 + side * 24, 580), (x0, 574), (x0 - side * 26, 580), n=12)[1:]])
        ink.fill(paw)
        ink.stroke(paw[:30], 2.4)
        for dx in (-9, 8):
            ink.stroke([(x0 + dx, 594), (x0 + dx + 1, 604)], 1.4)
    # chest fluff
    for k in range(3):
        x = cx - 16 + k * 16
        y = 374 + (0 if k % 2 else 6)
        ink.stroke([(x - 6, y - 14), (x, y), (x + 5, y - 12)], 1.3, taper=0.3)
    ink.shape(ellipse((cx, 334), 15, 15), 2.2)
    ink.stroke([(cx - 14, 334), (cx + 14, 334)], 1.4)
    ink.dot((cx, 342), 3.0)
    # ears, then the head over their bases
    for side in (-1, 1):
        ear = [(cx + side * 40, 150), (cx + side * 92, 78), (cx + side * 100, 84),
               (cx + side * 104, 180)]
        ink.shape(spline(ear, closed=True, n=10), 2.6)
        ink.stroke(bezier((cx + side * 56, 150), (cx + side * 86, 102), (cx + side * 94, 100),
                          (cx + side * 96, 160), n=30), 1.4, taper=0.3)
        for k in range(3):
            ink.stroke([(cx + side * (80 + 4 * k), 140 + 6 * k), (cx + side * (88 + 3 * k), 118 + 8 * k)],
                       0.9, taper=0.5)
    head_l = [(cx, 118), (262, 126), (224, 160), (212, 206), (200, 238), (222, 250), (214, 262),
              (246, 278), (cx, 288)]
    head = np.concatenate([spline(head_l), mirror(spline(head_l), cx)[::-1][1:]])
    ink.shape(head, 2.8)
    # tabby marks
    for dx, ln in [(-16, 28), (0, 36), (16, 28)]:
        ink.stroke([(cx + dx, 126), (cx + dx * 0.8, 126 + ln)], 2.2, taper=(0.1, 0.7))
    for side in (-1, 1):
        for k in range(2):
            y = 212 + k * 14
            ink.stroke([(cx + side * 112, y), (cx + side * 88, y + 6)], 1.8, taper=(0.1, 0.7))
    # eyes: almond with a slit pupil
    for side in (-1, 1):
        ex = cx + side * 44
        inner, outer = ex - side * 26, ex + side * 28
        almond = np.concatenate([
            bezier((inner, 200), (ex - side * 14, 170), (ex + side * 16, 166), (outer, 190), n=24),
            bezier((outer, 190), (ex + side * 16, 226), (ex - side * 14, 228), (inner, 200), n=24)[1:]])
        layer = _layer(ink)
        layer.shape(ellipse((ex, 197), 21, 21), 1.6)
        layer.stroke(ellipse((ex, 199), 15, 15, 20, 160), 1.0)
        layer.fill(ellipse((ex, 197), 7, 19), 0)
        layer.dot((ex - 8, 188), 4.5, 255)
        _clip_paste(ink, layer, almond)
        ink.stroke(almond, 2.8, closed=True)
        ink.stroke(bezier((inner, 200), (inner + side * 6, 208), (inner + side * 6, 216), n=8), 1.6,
                   taper=(0, 0.8))
    # nose, mouth, whiskers
    nose = np.array([(cx - 11, 228), (cx + 11, 228), (cx, 240)])
    ink.shape(spline(nose, closed=True, n=6), 2.0)
    ink.stroke([(cx, 240), (cx, 250)], 1.8)
    ink.stroke(bezier((cx, 250), (cx - 8, 260), (cx - 18, 256), n=12), 1.8, taper=(0, 0.3))
    ink.stroke(bezier((cx, 250), (cx + 8, 260), (cx + 18, 256), n=12), 1.8, taper=(0, 0.3))
    for side in (-1, 1):
        for dy in (-6, 4, 14):
            ink.stroke(bezier((cx + side * 36, 244 + dy * 0.4), (cx + side * 90, 236 + dy),
                              (cx + side * 140, 238 + dy * 2.2), n=24), 1.3, taper=(0.05, 0.8))
    # ground
    ink.stroke(bezier((150, 618), (300, 622), (480, 620), (560, 614), n=40), 1.6, taper=0.2)


def petal_flower(ink: Ink, c: Pt, r: float, petals: int, rot: float, inner: float = 0.28) -> None:
    """A daisy-like flower: pointed petals round a dotted center."""
    for k in range(petals):
        a = math.radians(rot + k * 360 / petals)
        d = np.array([math.cos(a), math.sin(a)])
        n_ = np.array([-d[1], d[0]])
        base = np.array(c) + d * r * inner * 0.8
        tip = np.array(c) + d * r
        w = r * 0.55 * math.pi / petals * 1.6
        p1 = base + n_ * w * 0.3 + d * r * 0.3
        p2 = tip - d * r * 0.25 + n_ * w
        q2 = tip - d * r * 0.25 - n_ * w
        q1 = base - n_ * w * 0.3 + d * r * 0.3
        pts = np.concatenate([bezier(tuple(base), tuple(p1), tuple(p2), tuple(tip), n=20),
                              bezier(tuple(tip), tuple(q2), tuple(q1), tuple(base), n=20)])
        ink.shape(pts, 1.8)
        ink.stroke(bezier(tuple(base + d * r * 0.2), tuple(base + d * r * 0.45),
                          tuple(tip - d * r * 0.25), n=10), 0.9, taper=0.4)
    ink.shape(ellipse(c, r * inner, r * inner), 2.2)
    rng = np.random.default_rng(int(c[0] * 7 + c[1]))
    for _ in range(9):
        a, rr = rng.uniform(0, 2 * np.pi), r * inner * math.sqrt(rng.uniform(0, 0.6))
        ink.dot((c[0] + rr * math.cos(a), c[1] + rr * math.sin(a)), 1.6)


def leaf(ink: Ink, base: Pt, tip: Pt, width: float, bend: float = 0.0) -> None:
    """An almond leaf with a midrib and two veins."""
    b, t = np.array(base), np.array(tip)
    d = t - b
    n_ = np.array([-d[1], d[0]]) / (np.linalg.norm(d) + 1e-9)
    m1 = b + d * 0.3 + n_ * width + n_ * bend
    m2 = b + d * 0.7 + n_ * width * 0.8 + n_ * bend
    k1 = b + d * 0.3 - n_ * width + n_ * bend
    k2 = b + d * 0.7 - n_ * width * 0.8 + n_ * bend
    pts = np.concatenate([bezier(tuple(b), tuple(m1), tuple(m2), tuple(t), n=24),
                          bezier(tuple(t), tuple(k2), tuple(k1), tuple(b), n=24)])
    ink.shape(pts, 2.0)
    mid = bezier(tuple(b), tuple(b + d * 0.5 + n_ * bend), tuple(t - d * 0.1), n=20)
    ink.stroke(mid, 1.1, taper=(0, 0.6))
    for f in (0.35, 0.6):
        p = mid[int(f * 19)]
        for s in (-1, 1):
            ink.stroke([tuple(p), tuple(p + d * 0.12 + n_ * s * width * 0.5)], 0.8, taper=(0, 0.6))


def draw_flowers(ink: Ink) -> None:
    """A still life: vase with flowers, an apple and a cup on a table (560 x 700)."""
    cx = 262.0
    # table: top seen at a slight angle, front edge, a cloth hanging over it
    ink.stroke([(-4, 520), (564, 520)], 2.0)
    ink.shape(np.array([(-4, 596), (564, 596), (564, 626), (-4, 626)]), 2.4)
    cloth = np.concatenate([[(150, 540), (420, 540)], spline([(446, 596), (438, 640), (452, 690)], n=10),
                            spline([(452, 690), (400, 676), (352, 694), (300, 678), (250, 696), (200, 680),
                                    (150, 694), (118, 686)], n=8),
                            spline([(118, 686), (130, 640), (122, 596)], n=10)])
    ink.shape(cloth, 2.2)
    for x0, x1 in [(200, 196), (300, 304), (380, 392)]:  # folds
        ink.stroke(bezier((x0, 604), (x0 - 4, 640), (x1, 676), n=16), 1.1, taper=0.4)
    ink.stroke([(150, 540), (122, 596)], 2.2)
    ink.stroke([(420, 540), (446, 596)], 2.2)
    # stems (behind the vase)
    heads = [((150, 200), 64, 10, 5.0), ((286, 118), 70, 12, 12.0), ((408, 232), 58, 9, 0.0)]
    for (hx, hy), *_ in heads:
        s = bezier((cx + (hx - cx) * 0.15, 360), (cx + (hx - cx) * 0.3, 300), (hx, hy + 120), (hx, hy),
                   n=40)
        ink.shape(tube(s, 7, 6, round_end=False), 1.8)
    leaf(ink, (230, 300), (120, 318), 22, bend=-10)
    leaf(ink, (300, 290), (400, 330), 22, bend=8)
    leaf(ink, (262, 250), (236, 160), 16, bend=-6)
    # tulip, upper right
    def tp(x: float, y: float) -> Pt:
        return (x + 74, y - 116)

    stem = bezier((296, 360), (330, 250), (384, 170), tp(356, 266), n=30)
    ink.shape(tube(stem, 6, 5, round_end=False), 1.8)
    cup = [tp(334, 226), tp(336, 256), tp(356, 270), tp(376, 256), tp(380, 226), tp(368, 238), tp(358, 214),
           tp(346, 236)]
    ink.shape(spline(cup, closed=True, n=8), 2.2)
    ink.shape(np.concatenate([bezier(tp(346, 236), tp(344, 214), tp(352, 200), tp(358, 194), n=12),
                              bezier(tp(358, 194), tp(364, 200), tp(372, 214), tp(368, 238), n=12)[1:],
                              bezier(tp(368, 238), tp(360, 250), tp(354, 250), tp(346, 236),
                                     n=8)[1:]]), 2.0)
    for (hx, hy), r, npet, rot in heads:
        petal_flower(ink, (hx, hy), r, npet, rot)
    # vase: symmetric profile
    half = spline([(cx, 318), (cx + 38, 318), (cx + 30, 350), (cx + 34, 392), (cx + 80, 450),
                   (cx + 86, 500), (cx + 66, 540), (cx + 48, 562), (cx, 564)])
    vase = np.concatenate([half, mirror(half, cx)[::-1][1:]])
    ink.shape(vase, 2.8)
    ink.shape(ellipse((cx, 320), 38, 9), 2.2)
    ink.fill(ellipse((cx, 321), 30, 5), 0)
    ink.stroke(bezier((cx - 40, 410), (cx - 10, 426), (cx + 10, 426), (cx + 40, 410), n=24), 1.3)
    ink.stroke(bezier((cx - 76, 470), (cx - 20, 494), (cx + 20, 494), (cx + 76, 470), n=30), 1.3)
    ink.stroke(bezier((cx - 70, 490), (cx - 20, 514), (cx + 20, 514), (cx + 70, 490), n=30), 1.3)
    for k in range(5):  # wave pattern between the two bands
        x = cx - 56 + k * 28
        ink.stroke(bezier((x - 10, 488), (x, 474), (x + 10, 488), n=10), 1.0)
    ink.stroke(bezier((cx - 52, 440), (cx - 66, 470), (cx - 62, 510), n=20), 1.2, taper=0.4)  # shine
    # apple
    ax, ay = 430.0, 514.0
    apple = spline([(ax, ay - 34), (ax + 26, ay - 44), (ax + 48, ay - 20), (ax + 44, ay + 22),
                    (ax + 20, ay + 46), (ax, ay + 40), (ax - 20, ay + 46), (ax - 44, ay + 22),
                    (ax - 48, ay - 20), (ax - 26, ay - 44)], closed=True, n=10)
    ink.shape(apple, 2.6)
    ink.stroke(bezier((ax, ay - 34), (ax - 2, ay - 52), (ax + 6, ay - 64), n=12), 2.4)
    leaf(ink, (ax + 2, ay - 50), (ax + 40, ay - 70), 10, bend=-4)
    ink.stroke(bezier((ax - 32, ay - 14), (ax - 36, ay + 4), (ax - 26, ay + 20), n=12), 1.2, taper=0.4)
    # small cup on the left
    ux, uy = 92.0, 500.0
    cup = np.concatenate([[(ux - 40, uy)], bezier((ux - 40, uy), (ux - 38, uy + 50), (ux - 20, uy + 62),
                                                 (ux, uy + 62), n=20)[1:],
                          bezier((ux, uy + 62), (ux + 20, uy + 62), (ux + 38, uy + 50), (ux + 40, uy),
                                 n=20)[1:]])
    handle = tube(bezier((ux + 36, uy + 12), (ux + 66, uy + 6), (ux + 64, uy + 40), (ux + 28, uy + 46),
                         n=30), 8, 8)
    ink.shape(handle, 2.0)
    ink.shape(cup, 2.4)
    ink.shape(ellipse((ux, uy), 40, 9), 2.0)
    ink.shape(ellipse((ux, uy + 64), 30, 5, 0, 180), 1.6)
    ink.stroke(ellipse((ux, uy + 2), 32, 5, 200, 340), 1.0)
    for k in range(3):  # steam
        x = ux - 14 + k * 14
        ink.stroke(bezier((x, uy - 14), (x - 10, uy - 34), (x + 10, uy - 50), (x, uy - 72), n=20), 1.2,
                   taper=0.5)


def draw_house(ink: Ink) -> None:
    """A small house in a landscape with trees, clouds and a path (768 x 512)."""
    rng = np.random.default_rng(7)
    # sun and clouds
    ink.shape(ellipse((660, 80), 38, 38), 2.2)
    for k in range(12):
        a = math.radians(k * 30 + 8)
        ink.stroke([(660 + 50 * math.cos(a), 80 + 50 * math.sin(a)),
                    (660 + 66 * math.cos(a), 80 + 66 * math.sin(a))], 1.8, taper=0.3)
    for (x, y, rx, ry, b) in [(140, 76, 74, 30, 9), (296, 48, 52, 22, 8), (560, 150, 44, 18, 7)]:
        cl = scallops((x, y), rx, ry, b, 0.22, phase=0.3)
        flat = cl.copy()
        flat[:, 1] = np.minimum(flat[:, 1], y + ry * 0.55)
        ink.shape(flat, 2.0)
        ink.stroke(bezier((x - rx * 0.5, y + ry * 0.3), (x, y + ry * 0.45), (x + rx * 0.4, y + ry * 0.3),
                          n=16), 1.0, taper=0.4)
    # hills
    far = spline([(-10, 300), (120, 250), (260, 270), (420, 230), (600, 262), (780, 236)])
    ink.shape(np.concatenate([far, [(780, 520), (-10, 520)]]), 2.0)
    near = spline([(-10, 360), (160, 330), (380, 350), (560, 318), (780, 340)])
    ink.shape(np.concatenate([near, [(780, 520), (-10, 520)]]), 2.4)
    # pine trees on the left
    for (tx, ty, hgt, w) in [(70, 352, 170, 60), (136, 346, 130, 48)]:
        ink.shape(np.array([(tx - 7, ty + 18), (tx + 7, ty + 18), (tx + 7, ty - 10), (tx - 7, ty - 10)]),
                  2.0)
        tiers = 4
        for k in reversed(range(tiers)):  # lowest tier first: upper tiers overlap it
            top = ty - hgt + k * hgt / tiers * 0.7
            bot = ty - hgt + (k + 1) * hgt / tiers * 0.9 + 6
            half = w * (0.45 + 0.55 * (k + 1) / tiers)
            mid = top + (bot - top) * 0.6
            pts = np.concatenate([bezier((tx, top), (tx - half * 0.4, mid), (tx - half, bot), n=16),
                                  bezier((tx - half, bot), (tx, bot - 8), (tx + half, bot), n=16)[1:],
                                  bezier((tx + half, bot), (tx + half * 0.4, mid), (tx, top), n=16)[1:]])
            ink.shape(pts, 2.0)
    # house
    hx0, hx1, hy0, hy1 = 260.0, 460.0, 250.0, 400.0
    ink.shape(np.array([(hx0, hy0), (hx1, hy0), (hx1, hy1), (hx0, hy1)]), 2.6)
    roof = np.array([(hx0 - 26, hy0 + 4), (360, 150), (hx1 + 26, hy0 + 4)])
    ink.shape(roof, 2.8)
    def eave(x: float) -> float:  # the right roof slope
        return 150 + (x - 360) * (hy0 + 4 - 150) / (hx1 + 26 - 360)
    ink.shape(np.array([(400, 148), (428, 148), (428, eave(428)), (400, eave(400))]), 2.2)  # chimney
    ink.shape(np.array([(394, 140), (434, 140), (434, 150), (394, 150)]), 2.0)
    for k in range(3):  # smoke
        c = (420 + k * 16, 122 - k * 26)
        ink.stroke(ellipse(c, 10 + k * 4, 8 + k * 3, 90, 420), 1.3, taper=0.3)
    for k in range(1, 4):  # tile rows
        y = 150 + (hy0 + 4 - 150) * k / 4
        half = (hx1 + 26 - 360) * k / 4
        ink.stroke([(360 - half + 3, y), (360 + half - 3, y)], 1.0)
        for j in range(-k, k + 1):
            x = 360 + j * half / (k + 0.5)
            ink.stroke([(x, y), (x, y + 10)], 0.9)
    ink.shape(ellipse((360, 200), 13, 13), 1.8)  # attic window
    ink.stroke([(347, 200), (373, 200)], 1.2)
    ink.stroke([(360, 187), (360, 213)], 1.2)
    # door
    ink.shape(np.concatenate([[(340, hy1)], bezier((340, 320), (340, 298), (380, 298), (380, 320), n=16),
                              [(380, hy1)]]), 2.4)
    ink.dot((372, 362), 3.0)
    ink.stroke([(332, hy1 + 1), (388, hy1 + 1)], 2.2)
    # windows with panes and flower boxes
    for wx in (280, 404):
        ink.shape(np.array([(wx, 290), (wx + 40, 290), (wx + 40, 336), (wx, 336)]), 2.2)
        ink.stroke([(wx + 20, 290), (wx + 20, 336)], 1.3)
        ink.stroke([(wx, 313), (wx + 40, 313)], 1.3)
        ink.shape(np.array([(wx - 6, 336), (wx + 46, 336), (wx + 42, 350), (wx - 2, 350)]), 1.8)
        for k in range(4):
            ink.shape(ellipse((wx + 4 + k * 11, 332), 5, 5), 1.2)
    # path to the door
    left = spline([(340, 402), (326, 440), (290, 480), (270, 520)])
    right = spline([(380, 402), (400, 440), (430, 480), (470, 520)])
    ink.stroke(left, 2.0)
    ink.stroke(right, 2.0)
    for k, y in enumerate((424, 452, 484)):
        ink.stroke([(342 - k * 18, y), (378 + k * 18, y)], 0.8, taper=0.2)
    # round tree on the right
    ink.shape(np.array([(594, 420), (622, 420), (616, 300), (600, 300)]), 2.4)
    ink.stroke(bezier((608, 340), (630, 320), (650, 300), n=12), 2.0, taper=(0, 0.6))
    crown = scallops((608, 250), 92, 78, 11, 0.16, phase=0.2)
    ink.shape(crown, 2.6)
    for _ in range(7):
        a = rng.uniform(0, 2 * np.pi)
        r = rng.uniform(20, 55)
        c = (608 + r * math.cos(a), 250 + r * math.sin(a) * 0.8)
        ink.stroke(ellipse(c, 12, 8, 200, 340), 1.0, taper=0.3)
    # fence
    for k in range(6):
        x = 486 + k * 18
        ink.shape(np.array([(x, 384), (x + 6, 376), (x + 12, 384), (x + 12, 430), (x, 430)]), 1.8)
    ink.stroke([(480, 398), (594, 398)], 1.6)
    ink.stroke([(480, 416), (594, 416)], 1.6)
    # grass tufts and small flowers
    for x, y in [(180, 440), (220, 470), (520, 470), (600, 490), (120, 490), (700, 420), (60, 430)]:
        for dx, h in ((-10, 12), (-4, 20), (2, 24), (8, 16), (13, 10)):
            ink.stroke(bezier((x + dx * 0.3, y), (x + dx * 0.6, y - h * 0.6), (x + dx, y - h), n=8), 1.3,
                       taper=(0, 0.9))
    for x, y in [(230, 420), (250, 436), (470, 444), (700, 460)]:
        petal_flower(ink, (x, y), 9, 5, 0, inner=0.35)


SKETCHES: dict[str, tuple[int, int, Callable[[Ink], object]]] = {
    "girl_portrait": (576, 720, draw_girl),
    "cat_sitting": (640, 640, draw_cat),
    "flowers_still_life": (560, 700, draw_flowers),
    "house_landscape": (768, 512, draw_house),
}


def pencil_photo(seed: int = 11) -> Image.Image:
    """The portrait as a photographed pencil drawing: gray jittered lines, warm paper, vignette."""
    w, h = 576, 720
    rng = np.random.default_rng(seed)
    lines = np.zeros((h, w), np.float32)
    for k, (wob, trem, seed_k, ink_v) in enumerate([(2.0, 0.7, seed, 70), (2.4, 0.9, seed + 1, 150)]):
        ink = Ink(w, h, ink=ink_v, wobble=wob, tremor=trem, seed=seed_k, width_scale=0.8 if k else 0.9)
        draw_girl(ink)
        dark = 1.0 - np.asarray(ink.image(), np.float32) / 255.0
        lines = np.maximum(lines, dark) if k == 0 else lines + 0.35 * dark * (1 - lines)
    grain = smooth_noise(h, w, rng, 2.0, 2)
    lines *= 0.75 + 0.35 * grain  # graphite grain
    lines = np.clip(lines, 0, 1)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1.0 - 0.3 * ((xx / w - 0.25) ** 2 + (yy / h - 0.2) ** 2)  # lamp upper left
    light -= 0.10 * (yy / h)  # a shade towards the bottom
    light -= 0.12 * np.clip((xx / w - 0.7) * 3, 0, 1) * np.clip((yy / h - 0.6) * 2.5, 0, 1)  # hand shadow
    paper = np.array([238, 226, 200], np.float32)  # warm paper
    fibers = smooth_noise(h, w, rng, 24.0, 4)[..., None]
    img = paper * (0.95 + 0.05 * fibers) * light[..., None]
    graphite = np.array([70, 68, 72], np.float32)
    img = img * (1 - lines[..., None]) + graphite * light[..., None] * lines[..., None]
    img += rng.normal(0, 3.0, img.shape).astype(np.float32)
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    return Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8))


# ============================================================================ style references


def _grad(h: int, w: int, stops: Sequence[tuple[float, Sequence[float]]]) -> np.ndarray:
    """Vertical gradient through color stops [(pos 0..1, rgb), ...]."""
    t = np.linspace(0, 1, h)
    pos = [s[0] for s in stops]
    cols = np.array([s[1] for s in stops], np.float32)
    rows = np.stack([np.interp(t, pos, cols[:, c]) for c in range(3)], 1).astype(np.float32)
    return np.repeat(rows[:, None, :], w, 1)


def _blend(img: np.ndarray, mask: np.ndarray, color: Sequence[float] | np.ndarray) -> np.ndarray:
    m = mask[..., None] if mask.ndim == 2 else mask
    return img * (1 - m) + np.asarray(color, np.float32) * m


def _poly_mask(h: int, w: int, pts: np.ndarray, soft: float = 0.8) -> np.ndarray:
    m = np.zeros((h * 2, w * 2), np.uint8)
    cv2.fillPoly(m, [np.round(np.asarray(pts) * 2).astype(np.int32)], 255)
    m = cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    return cv2.GaussianBlur(m, (0, 0), soft) if soft > 0 else m


def _disc(h: int, w: int, c: Pt, r: float, soft: float = 1.0) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    d = np.sqrt((xx - c[0]) ** 2 + (yy - c[1]) ** 2)
    return np.clip((r - d) / max(soft, 1e-3) + 0.5, 0, 1)


def _window(img: np.ndarray, pts: np.ndarray, pad: float) -> tuple[int, int, int, int] | None:
    """Integer bounding box (y0, y1, x0, x1) of ``pts`` grown by ``pad``, clipped to ``img``."""
    h, w = img.shape[:2]
    x0, y0 = np.floor(pts.min(0) - pad).astype(int)
    x1, y1 = np.ceil(pts.max(0) + pad).astype(int)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    return (y0, y1, x0, x1) if x1 > x0 and y1 > y0 else None


def _paint_poly(img: np.ndarray, pts: np.ndarray, color: Sequence[float] | np.ndarray,
                alpha: float = 1.0, soft: float = 0.8) -> None:
    """Blend a soft-edged filled polygon into ``img`` in place (work on its bounding box only)."""
    pts = np.asarray(pts, np.float64)
    box = _window(img, pts, 4 + 3 * soft)
    if box is None:
        return
    y0, y1, x0, x1 = box
    local = pts - (x0, y0)
    m = np.zeros(((y1 - y0) * 2, (x1 - x0) * 2), np.uint8)
    cv2.fillPoly(m, [np.round(local * 2).astype(np.int32)], 255)
    m = cv2.resize(m, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    if soft > 0:
        m = cv2.GaussianBlur(m, (0, 0), soft)
    img[y0:y1, x0:x1] = _blend(img[y0:y1, x0:x1], m * alpha, color)


def _paint_disc(img: np.ndarray, c: Pt, r: float, color: Sequence[float] | np.ndarray,
                alpha: float = 1.0, soft: float = 1.0) -> None:
    """Blend a soft-edged disc into ``img`` in place."""
    box = _window(img, np.array([c]), r + 2 * soft + 1)
    if box is None:
        return
    y0, y1, x0, x1 = box
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    d = np.sqrt((xx - c[0]) ** 2 + (yy - c[1]) ** 2)
    m = np.clip((r - d) / max(soft, 1e-3) + 0.5, 0, 1)
    img[y0:y1, x0:x1] = _blend(img[y0:y1, x0:x1], m * alpha, color)


def _finish(img: np.ndarray, rng: np.random.Generator, grain: float = 2.0) -> Image.Image:
    img = img + rng.normal(0, grain, img.shape[:2])[..., None].astype(np.float32)
    return Image.fromarray(np.clip(img + 0.5, 0, 255).astype(np.uint8))


def style_sunset(rng: np.random.Generator, h: int = 384, w: int = 512) -> Image.Image:
    """Sunset sky over the sea: violet to orange, a glowing sun and its reflection."""
    hor = int(h * 0.6)
    img = _grad(h, w, [(0, (58, 34, 96)), (0.3, (168, 62, 120)), (0.5, (246, 120, 72)),
                       (0.6, (255, 196, 110)), (0.61, (120, 60, 90)), (1.0, (34, 22, 60))])
    sun = (w * 0.62, hor - 26)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    glow = np.exp(-((xx - sun[0]) ** 2 + (yy - sun[1]) ** 2) / (2 * 70.0**2)) * (yy < hor)
    img = _blend(img, glow * 0.7, (255, 214, 140))
    img = _blend(img, _disc(h, w, sun, 30, 1.5) * (yy < hor), (255, 244, 200))
    clouds = cv2.resize(smooth_noise(h, w // 4, rng, 14, 4), (w, h), interpolation=cv2.INTER_CUBIC)
    cmask = np.clip((clouds - 0.55) * 4, 0, 1) * np.clip((hor - 50 - yy) / 40, 0, 1) * 0.8
    img = _blend(img, cmask, (250, 150, 150))
    img = _blend(img, cmask * np.clip((yy - 60) / 200, 0, 1) * 0.5, (120, 50, 100))
    # sea: horizontal ripples reflecting the sun
    ripple = cv2.resize(smooth_noise(h, w // 6, rng, 3, 3), (w, h), interpolation=cv2.INTER_CUBIC)
    sea = (yy >= hor).astype(np.float32)
    refl = np.exp(-((xx - sun[0]) ** 2) / (2 * np.maximum(18 + (yy - hor) * 0.6, 1) ** 2)) * sea
    img = _blend(img, np.clip(refl * np.clip((ripple - 0.45) * 5, 0, 1) * 1.2, 0, 1), (255, 190, 110))
    img = _blend(img, sea * np.clip((0.4 - ripple) * 4, 0, 1) * 0.35, (20, 14, 40))
    img = _blend(img, sea * np.clip((ripple - 0.6) * 4, 0, 1) * 0.25, (240, 130, 120))
    # islands
    isl = np.array([(0, hor), (40, hor - 26), (110, hor - 40), (160, hor - 16), (200, hor), ])
    img = _blend(img, _poly_mask(h, w, isl), (46, 26, 60))
    isl2 = np.array([(w - 150, hor), (w - 100, hor - 14), (w - 40, hor - 20), (w, hor - 12), (w, hor)])
    img = _blend(img, _poly_mask(h, w, isl2), (60, 32, 70))
    return _finish(img, rng)


def style_ocean(rng: np.random.Generator, h: int = 384, w: int = 512) -> Image.Image:
    """Deep-blue ocean meeting a sandy beach under a pale sky."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = _grad(h, w, [(0, (150, 200, 240)), (0.3, (210, 235, 250)), (0.31, (20, 60, 140)),
                       (0.55, (20, 110, 170)), (0.75, (60, 190, 200)), (1.0, (90, 220, 210))])
    n = cv2.resize(smooth_noise(h, w // 3, rng, 20, 4), (w, h), interpolation=cv2.INTER_CUBIC)
    sky = yy < h * 0.3
    img = _blend(img, np.clip((n - 0.6) * 3, 0, 1) * sky * 0.8, (255, 255, 255))
    waves = cv2.resize(smooth_noise(h, w // 5, rng, 4, 3), (w, h), interpolation=cv2.INTER_CUBIC)
    sea = (yy >= h * 0.31)
    img = _blend(img, np.clip((waves - 0.62) * 5, 0, 1) * sea * 0.5, (200, 240, 250))
    img = _blend(img, np.clip((0.32 - waves) * 4, 0, 1) * sea * 0.4, (10, 40, 100))
    shore = h * 0.7 + 30 * np.sin(xx / w * 5 + 0.5) + 16 * (n - 0.5) * 2
    foam = np.clip(1 - np.abs(yy - shore) / 7, 0, 1)
    sand = np.clip((yy - shore) / 3, 0, 1)
    sand_col = _grad(h, w, [(0, (238, 214, 170)), (1, (214, 180, 130))])
    tex = smooth_noise(h, w, rng, 6, 2)[..., None]
    img = img * (1 - sand[..., None]) + sand_col * (0.9 + 0.15 * tex) * sand[..., None]
    img = _blend(img, np.clip((yy - shore + 12) / 12, 0, 1) * (1 - sand) * 0.5, (140, 220, 210))
    img = _blend(img, foam * 0.9, (250, 252, 250))
    for cx_, cy_ in [(w * 0.2, h * 0.9), (w * 0.75, h * 0.86)]:
        _paint_disc(img, (cx_, cy_), 9, (240, 150, 130), soft=1.5)
        _paint_disc(img, (cx_ + 2, cy_ + 1), 4, (250, 200, 180), soft=1.5)
    return _finish(img, rng)


def _pine(h: int, w: int, x: float, base: float, height: float, width: float) -> np.ndarray:
    pts = [(x, base - height)]
    tiers = 5
    for k in range(tiers):
        y = base - height + height * (k + 1) / tiers
        pts.append((x + width / 2 * (k + 1) / tiers, y))
        if k < tiers - 1:
            pts.append((x + width / 5 * (k + 1) / tiers, y - 4))
    right = np.array(pts)
    left = mirror(right[1:], x)[::-1]
    return _poly_mask(h, w, np.concatenate([right, [(x + 3, base + 14), (x - 3, base + 14)], left]), 0.6)


def style_forest(rng: np.random.Generator, h: int = 384, w: int = 512) -> Image.Image:
    """Layered pine forest in greens, misty, with a sunlit meadow."""
    img = _grad(h, w, [(0, (196, 226, 214)), (0.5, (226, 240, 214)), (1.0, (140, 190, 110))])
    layers = [((150, 190, 160), 0.45, 80, 46), ((92, 150, 110), 0.6, 110, 58),
              ((46, 110, 70), 0.78, 150, 70), ((20, 70, 40), 0.98, 200, 86)]
    for col, base_f, height, width in layers:
        base = h * base_f
        mask = np.zeros((h, w), np.float32)
        x = -rng.uniform(0, width)
        while x < w + width:
            hh = height * rng.uniform(0.7, 1.1)
            tree = _pine(h, w, x, base + rng.uniform(-6, 6), hh, width * rng.uniform(0.8, 1.1))
            mask = np.maximum(mask, tree)
            x += width * rng.uniform(0.45, 0.7)
        ground = np.zeros((h, w), np.float32)
        ground[int(base):] = 1
        mask = np.maximum(mask, ground)
        img = _blend(img, mask, col)
        mist = smooth_noise(h, w, rng, 80, 3)
        yy = np.arange(h, dtype=np.float32)[:, None]
        img = _blend(img, np.clip((mist - 0.4), 0, 1) * np.exp(-((yy - base) ** 2) / (2 * 20.0**2)) * 0.6,
                     (230, 240, 225))
    # meadow with yellow flowers in the foreground
    for _ in range(40):
        c = (rng.uniform(0, w), rng.uniform(h * 0.88, h))
        _paint_disc(img, c, rng.uniform(1.5, 3), (250, 220, 70))
    return _finish(img, rng)


def _blossom(img: np.ndarray, c: Pt, r: float, col: Sequence[float], rng: np.random.Generator) -> None:
    h, w = img.shape[:2]
    x0, y0 = int(max(0, c[0] - r - 3)), int(max(0, c[1] - r - 3))
    x1, y1 = int(min(w, c[0] + r + 4)), int(min(h, c[1] + r + 4))
    if x1 <= x0 or y1 <= y0:
        return
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    a = np.arctan2(yy - c[1], xx - c[0]) + rng.uniform(0, 6.28)
    rad = r * (0.72 + 0.28 * np.abs(np.cos(2.5 * a)))
    d = np.sqrt((xx - c[0]) ** 2 + (yy - c[1]) ** 2)
    m = np.clip(rad - d + 0.5, 0, 1)[..., None]
    shade = np.clip(d / max(r, 1), 0, 1)[..., None]
    color = (np.array(col, np.float32) * (1 - 0.15 * shade)
             + np.array([255, 250, 250], np.float32) * 0.15 * shade)
    img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - m) + color * m
    m2 = np.clip(r * 0.22 - d + 0.5, 0, 1)[..., None]
    img[y0:y1, x0:x1] = img[y0:y1, x0:x1] * (1 - m2) + np.array([200, 60, 110], np.float32) * m2


def _branches(mask: np.ndarray, p: Pt, ang: float, length: float, width: float, depth: int,
              rng: np.random.Generator, tips: list[Pt]) -> None:
    q = (p[0] + length * math.cos(ang), p[1] + length * math.sin(ang))
    cv2.line(mask, (int(p[0] * 4), int(p[1] * 4)), (int(q[0] * 4), int(q[1] * 4)), 255,
             max(1, int(width * 4)), cv2.LINE_AA)
    if depth == 0:
        tips.append(q)
        return
    for da in (-0.45, 0.35):
        _branches(mask, q, ang + da + rng.uniform(-0.2, 0.2), length * rng.uniform(0.65, 0.8),
                  width * 0.65, depth - 1, rng, tips)


def style_cherry(rng: np.random.Generator, h: int = 384, w: int = 512) -> Image.Image:
    """Pink cherry blossoms on dark branches against a soft spring sky."""
    img = _grad(h, w, [(0, (170, 210, 240)), (0.7, (236, 230, 244)), (1.0, (250, 226, 236))])
    n = smooth_noise(h, w, rng, 120, 3)
    img = _blend(img, np.clip(n - 0.5, 0, 1) * 0.6, (255, 255, 255))
    mask = np.zeros((h * 4, w * 4), np.uint8)
    tips: list[Pt] = []
    _branches(mask, (-10, h * 0.75), -0.35, 150, 18, 5, rng, tips)
    _branches(mask, (w + 10, h * 0.3), math.pi + 0.2, 130, 14, 4, rng, tips)
    bm = cv2.resize(mask, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    img = _blend(img, bm, (70, 40, 46))
    pinks = [(250, 180, 200), (244, 150, 180), (255, 210, 224), (236, 120, 160)]
    for t in tips:
        for _ in range(6):
            c = (t[0] + rng.normal(0, 16), t[1] + rng.normal(0, 14))
            _blossom(img, c, rng.uniform(6, 12), pinks[int(rng.integers(0, 4))], rng)
    for _ in range(30):  # falling petals
        c = (rng.uniform(0, w), rng.uniform(0, h))
        _paint_disc(img, c, rng.uniform(1.5, 3.5), pinks[int(rng.integers(0, 4))], alpha=0.9)
    return _finish(img, rng)


def style_autumn(rng: np.random.Generator, h: int = 384, w: int = 512) -> Image.Image:
    """Autumn leaves: reds, oranges and yellows scattered over a warm ground."""
    img = _grad(h, w, [(0, (120, 60, 30)), (1.0, (70, 36, 20))])
    n = smooth_noise(h, w, rng, 40, 4)[..., None]
    img = img * (0.8 + 0.4 * n)
    cols = [(210, 50, 30), (236, 110, 30), (248, 170, 40), (180, 30, 40), (240, 200, 80), (150, 70, 30)]
    for _ in range(120):
        c = np.array([rng.uniform(-20, w + 20), rng.uniform(-20, h + 20)])
        r = rng.uniform(14, 34)
        rot = rng.uniform(0, 2 * math.pi)
        a = np.linspace(0, 2 * math.pi, 60, endpoint=False)
        rad = r * (0.45 + 0.55 * (1 - np.abs(np.sin(2.5 * a))) ** 1.3) * (0.8 + 0.2 * np.cos(a))
        pts = np.stack([c[0] + rad * np.cos(a + rot), c[1] + rad * np.sin(a + rot)], 1)
        col = np.array(cols[int(rng.integers(0, len(cols)))], np.float32) * rng.uniform(0.85, 1.1)
        if rng.random() < 0.5:  # a soft shadow on what lies below
            _paint_poly(img, pts + (4, 5), (30, 10, 5), alpha=0.35, soft=2.0)
        _paint_poly(img, pts, np.clip(col, 0, 255), soft=0.5)
        for k in range(5):  # veins to the lobes
            ang = rot + k * 2 * math.pi / 5
            vein = np.array([c, c + r * 0.75 * np.array([math.cos(ang), math.sin(ang)])])
            _paint_poly(img, np.concatenate([vein, vein[::-1] + 0.8]), np.clip(col * 0.7, 0, 255),
                        alpha=0.6, soft=0.4)
    return _finish(img, rng)


def style_neon(rng: np.random.Generator, h: int = 384, w: int = 512) -> Image.Image:
    """Neon night city: dark skyline, magenta and cyan signs, reflections on a wet street."""
    img = _grad(h, w, [(0, (14, 8, 40)), (0.6, (60, 20, 90)), (0.7, (30, 10, 50)), (1.0, (10, 6, 24))])
    street = int(h * 0.7)
    x = 0.0
    glow = np.zeros((h, w, 3), np.float32)
    neon = [(255, 40, 200), (40, 230, 255), (180, 80, 255), (255, 90, 120)]
    while x < w:
        bw = rng.uniform(40, 80)
        top = rng.uniform(h * 0.15, h * 0.5)
        x0, x1, y0 = int(x), int(min(w, x + bw)), int(top)
        shade = rng.uniform(18, 40)
        img[y0:street, x0:x1] = (shade * 0.6, shade * 0.5, shade * 1.1)
        for wy in range(y0 + 8, street - 10, 12):
            for wx in range(x0 + 6, x1 - 8, 10):
                if rng.random() < 0.35:
                    img[wy:wy + 5, wx:wx + 5] = (250, 220, 150) if rng.random() < 0.6 else (120, 230, 255)
        if rng.random() < 0.7:
            col = np.array(neon[int(rng.integers(0, 4))], np.float32)
            sy = int(rng.uniform(y0 + 20, street - 40))
            sign = np.zeros((h, w), np.float32)
            sign[sy:sy + 14, x0 + 6:x1 - 6] = 1
            glow += cv2.GaussianBlur(sign, (0, 0), 8)[..., None] * col * 1.5
            img = _blend(img, sign, col)
        x += bw + rng.uniform(0, 8)
    img += glow
    # wet street reflects the upper half, blurred and darker
    refl = cv2.GaussianBlur(img[street - (h - street):street][::-1], (0, 0), 2.5)
    ripple = smooth_noise(h - street, w, rng, 6, 2)[..., None]
    img[street:] = refl * (0.35 + 0.3 * ripple) + np.array([10, 6, 24], np.float32) * 0.5
    line = np.zeros((h, w), np.float32)
    line[street:street + 2] = 1
    img = _blend(img, line, (255, 60, 200))
    img += cv2.GaussianBlur(line, (0, 0), 5)[..., None] * np.array([200, 40, 160], np.float32)
    return _finish(img, rng, 3.0)


def style_candy(rng: np.random.Generator, h: int = 384, w: int = 512) -> Image.Image:
    """Pastel candy: stripes, polka dots and swirl lollipops in pink, mint, lemon and lilac."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    stripes = (np.sin((xx + yy) / 14.0) > 0).astype(np.float32)
    stripes = cv2.GaussianBlur(stripes, (0, 0), 0.8)
    img = _blend(np.ones((h, w, 3), np.float32) * np.array([255, 214, 228], np.float32), stripes,
                 (255, 238, 244))
    for _ in range(60):
        c = (rng.uniform(0, w), rng.uniform(0, h))
        _paint_disc(img, c, rng.uniform(4, 9),
                    [(186, 236, 214), (255, 246, 170), (214, 196, 250)][int(rng.integers(0, 3))], soft=1.2)
    pastel = [(170, 226, 214), (255, 180, 206), (200, 180, 250), (255, 232, 150), (160, 210, 250)]
    pops = [((w * (0.14 + 0.18 * k) + rng.uniform(-10, 10), h * rng.uniform(0.35, 0.6)),
             rng.uniform(44, 60)) for k in range(5)]
    for c, _ in pops:  # sticks behind every candy
        img[int(c[1]):, int(c[0]) - 4:int(c[0]) + 4] = (250, 250, 246)
    for k, (c, r) in enumerate(pops):
        _paint_disc(img, c, r + 3, (255, 255, 255), soft=1.5)
        y0, y1, x0, x1 = _window(img, np.array([c]), r + 4)
        yy_, xx_ = yy[y0:y1, x0:x1], xx[y0:y1, x0:x1]
        a = np.arctan2(yy_ - c[1], xx_ - c[0])
        d = np.sqrt((xx_ - c[0]) ** 2 + (yy_ - c[1]) ** 2)
        swirl = np.clip(np.sin(a * 2 + d / 7.0) * 4 + 0.5, 0, 1)
        disc = np.clip(r - d + 0.5, 0, 1)
        patch = _blend(img[y0:y1, x0:x1], disc * swirl, pastel[k])
        img[y0:y1, x0:x1] = _blend(patch, disc * (1 - swirl), pastel[(k + 2) % 5])
        _paint_disc(img, (c[0] - r * 0.35, c[1] - r * 0.35), r * 0.18, (255, 255, 255), alpha=0.6, soft=4)
    clouds = smooth_noise(h, w, rng, 70, 3)
    img = _blend(img, np.clip((clouds - 0.6) * 3, 0, 1) * np.clip((yy - h * 0.7) / 40, 0, 1) * 0.9,
                 (255, 255, 255))
    return _finish(img, rng, 1.5)


def style_desert(rng: np.random.Generator, h: int = 384, w: int = 512) -> Image.Image:
    """Desert: ochre dunes with soft shading under a turquoise sky, a cactus and the sun."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = _grad(h, w, [(0, (40, 150, 190)), (0.45, (130, 215, 220)), (0.55, (230, 240, 220)),
                       (1, (230, 240, 220))])
    img = _blend(img, _disc(h, w, (w * 0.78, h * 0.18), 26, 2), (255, 250, 220))
    dunes = [((236, 180, 100), 0.5, 30, 0.9), ((214, 140, 70), 0.62, 36, 1.7),
             ((190, 110, 50), 0.78, 40, 2.6), ((160, 86, 40), 0.92, 30, 3.4)]
    for col, base, amp, ph in dunes:
        crest = h * base + amp * np.sin(xx / w * 4.2 + ph) + amp * 0.4 * np.sin(xx / w * 9 + ph * 2)
        m = np.clip(yy - crest + 0.5, 0, 1)
        # shaded lee side: darker where the crest slopes down to the right
        slope = np.gradient(crest, axis=1)
        shade = np.clip(slope * 0.6, 0, 0.45)
        c = np.array(col, np.float32)
        body = c * (1 - shade[..., None]) + np.array([120, 60, 40], np.float32) * shade[..., None]
        ripples = (np.sin((yy - crest) / 3.2 + xx / 40) > 0.7).astype(np.float32) * 0.08
        body = body * (1 - ripples[..., None])
        img = img * (1 - m[..., None]) + body * m[..., None]
    # cactus
    cx_, base = w * 0.22, h * 0.8
    cact = np.zeros((h * 2, w * 2), np.uint8)
    def seg(p, q, r):
        cv2.line(cact, (int(p[0] * 2), int(p[1] * 2)), (int(q[0] * 2), int(q[1] * 2)), 255, int(r * 4),
                 cv2.LINE_AA)
    seg((cx_, base), (cx_, base - 110), 11)
    seg((cx_, base - 50), (cx_ - 30, base - 50), 8)
    seg((cx_ - 30, base - 50), (cx_ - 30, base - 86), 8)
    seg((cx_, base - 66), (cx_ + 28, base - 66), 8)
    seg((cx_ + 28, base - 66), (cx_ + 28, base - 96), 8)
    cm = cv2.resize(cact, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    img = _blend(img, cm, (60, 130, 80))
    img = _blend(img, cm * (np.sin(xx / 2.5) > 0.6) * 0.35, (30, 80, 50))
    return _finish(img, rng)


def style_night(rng: np.random.Generator, h: int = 384, w: int = 512) -> Image.Image:
    """Purple night sky: stars, a milky way band, a crescent moon over dark mountains."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = _grad(h, w, [(0, (20, 10, 50)), (0.5, (70, 30, 110)), (0.8, (150, 70, 150)), (1, (60, 30, 80))])
    band = np.exp(-((yy - (h * 0.55 - xx * 0.5)) ** 2) / (2 * 50.0**2))
    n = smooth_noise(h, w, rng, 40, 5)
    img = _blend(img, band * n * 0.7, (210, 170, 240))
    img = _blend(img, band * np.clip(n - 0.6, 0, 1) * 1.5, (120, 200, 255))
    stars = rng.random((h, w)) < 0.004
    bright = rng.uniform(0.3, 1, (h, w)) * stars
    sm = cv2.GaussianBlur(bright.astype(np.float32), (0, 0), 0.7) * 4
    img = _blend(img, np.clip(sm, 0, 1), (255, 250, 230))
    moon = _disc(h, w, (w * 0.76, h * 0.2), 30, 1.5) * (1 - _disc(h, w, (w * 0.76 + 13, h * 0.2 - 8), 27,
                                                                  1.5))
    halo = np.exp(-((xx - w * 0.76) ** 2 + (yy - h * 0.2) ** 2) / (2 * 50.0**2)) * 0.35
    img = _blend(img, halo, (200, 180, 255))
    img = _blend(img, moon, (255, 244, 200))
    for col, base, amp, ph in [((50, 24, 70), 0.72, 50, 0.3), ((24, 12, 40), 0.84, 40, 2.0)]:
        ridge = (h * base - amp * np.abs(np.sin(xx / w * 3.5 + ph))
                 - amp * 0.3 * np.abs(np.sin(xx / w * 11 + ph)))
        img = _blend(img, np.clip(yy - ridge + 0.5, 0, 1), col)
    # a few lit windows in a village
    for _ in range(14):
        x, y = rng.uniform(40, w - 40), rng.uniform(h * 0.9, h * 0.97)
        img[int(y):int(y) + 3, int(x):int(x) + 3] = (255, 210, 120)
    return _finish(img, rng)


STYLES: dict[str, Callable[[np.random.Generator], Image.Image]] = {
    "sunset": style_sunset,
    "ocean_beach": style_ocean,
    "green_forest": style_forest,
    "cherry_blossom": style_cherry,
    "autumn_leaves": style_autumn,
    "neon_city": style_neon,
    "pastel_candy": style_candy,
    "desert": style_desert,
    "night_sky": style_night,
}


# ============================================================================ hints and main


def girl_hints(anchors: dict[str, Pt], w: int = 576, h: int = 720) -> dict:
    """The hints file for the portrait: a few color points, fractions of width and height."""
    colors = {
        "hair_bangs": (168, 98, 66), "hair_crown": (168, 98, 66), "hair_lock": (150, 86, 60),
        "skin_cheek": (252, 222, 204), "skin_neck": (244, 208, 190), "eye_l": (70, 120, 210),
        "eye_r": (70, 120, 210), "collar": (36, 48, 110), "shirt": (246, 246, 250),
        "ribbon": (220, 40, 64), "bow": (220, 40, 64), "mouth": (230, 120, 120),
    }
    points = []
    for name, rgb in colors.items():
        x, y = anchors[name]
        points.append({"x": round((x + 0.5) / w, 4), "y": round((y + 0.5) / h, 4), "rgb": list(rgb),
                       "radius": 0.006 if name in ("eye_l", "eye_r", "mouth") else 0.012})
    return {"points": points,
            "strokes": [{"xy": [[round(x / w, 4), round(y / h, 4)] for x, y in
                                [(160, 360), (157, 420), (151, 500)]],
                         "rgb": [150, 86, 60], "width": 0.01}]}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "sample_data", help="output folder")
    args = ap.parse_args(argv)
    out: Path = args.out
    for sub in ("sketches", "sketches_photo", "styles", "hints"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    anchors: dict[str, Pt] = {}
    for name, (w, h, fn) in SKETCHES.items():
        ink = Ink(w, h)
        result = fn(ink)
        if name == "girl_portrait":
            anchors = result  # type: ignore[assignment]
        ink.image().save(out / "sketches" / f"{name}.png")
    pencil_photo().save(out / "sketches_photo" / "pencil_girl.jpg", quality=88)
    for k, (name, fn) in enumerate(STYLES.items()):
        fn(np.random.default_rng(100 + k)).save(out / "styles" / f"{name}.png")
    (out / "hints" / "girl_hints.json").write_text(json.dumps(girl_hints(anchors), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
