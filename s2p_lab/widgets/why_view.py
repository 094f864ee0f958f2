"""The *why?* tool of :class:`~s2p_lab.widgets.ColorizeApp`: what one region of the sketch took from
each selected reference (the region matcher's choice and its runners-up), as data and as HTML."""

from __future__ import annotations

import html
from collections.abc import Sequence

import ipywidgets as W
import numpy as np

from ..hints import Hints
from .common import png_bytes, thumbnail
from .references import Reference

WHY_CANDIDATES = 3  # colors shown per reference by the *why?* tool: the chosen one and runners-up


def why_panel() -> W.HTML:
    """The (initially empty) panel where the *why?* tool writes its answer."""
    why = W.HTML(layout=W.Layout(width="100%"))
    why.add_class("s2p-why")
    return why


def region_explanation(colorizer, prepared, x: float, y: float, refs: Sequence[Reference],
                       hints: Hints | None, mode: str) -> tuple[list[dict], str]:
    """What the region under fractional ``(x, y)`` of the ``prepared`` sketch took from each of
    ``refs``, and the HTML that shows it; ``hints`` are the user's (None when there are none),
    ``mode`` the refinement. See :meth:`ColorizeApp.explain_region` for the dicts."""
    regions = colorizer.regions(prepared)
    label = regions.at(x, y)
    share = regions.pixel_counts[label] / regions.labels.size
    head = f"<b>Region {label}</b> ({share:.1%} of the sketch)"
    if not getattr(colorizer, "matches_regions", False) or mode == "raw" or not refs:
        why = ("no region matcher: the network alone chooses the colors" if not getattr(colorizer, "matches_regions", False)
               else "in raw mode the network alone chooses the colors" if refs else "no reference selected")
        return [], f"<div style='font-size:12px'>{head}: {why}.</div>"
    drawn = colorizer.hint_array(hints, prepared)[:, :, 3] > 0 if hints is not None else None
    hinted = bool(drawn is not None and drawn[regions.labels == label].any())
    from ..matching.predict import lab_to_rgb8

    prior_rgb = lab_to_rgb8(colorizer.matcher.model.prior_lab.numpy())
    rows, answer = [], []
    for ref in refs:
        colors = colorizer.region_colors(prepared, ref.rgb)  # seed 0, as the variants
        if colors is None:
            rows.append(f"<tr><td>{html.escape(ref.name)}</td><td colspan=2>no color segment in this reference</td></tr>")
            continue
        parts = colorizer.reference_parts(ref.rgb)
        candidates = []
        for source, p in list(zip(colors.top[label], colors.top_p[label]))[:WHY_CANDIDATES]:
            source = int(source)
            rgb = prior_rgb[-1 - source] if source < 0 else lab_to_rgb8(parts.segments.lab[source])
            candidates.append((source, tuple(int(c) for c in rgb), float(p)))
        source = int(colors.source[label])
        answer.append({"reference": ref.name, "region": label, "source": source,
                       "rgb": tuple(int(c) for c in colors.rgb[label]), "probability": float(colors.confidence[label]),
                       "candidates": candidates, "hinted": hinted})
        lit = segment_thumbnail(ref.rgb, parts.segments.labels, source)
        swatches = "".join(
            f"<span class='s2p-why-candidate' title='{'skin prior' if s < 0 else f'segment {s}'}' "
            f"style='display:inline-block;text-align:center;margin-right:6px'>"
            f"<span style='display:block;width:34px;height:20px;background:rgb{rgb};border:1px solid #90a4ae'></span>"
            f"{p:.2f}</span>" for s, rgb, p in candidates)
        took = "the skin prior (no such color here)" if source < 0 else f"segment {source}"
        rows.append(f"<tr><td style='padding-right:8px'>{html.escape(ref.name)}<br>"
                    f"<span style='color:#546e7a'>took {took}</span></td>"
                    f"<td style='padding-right:8px'>{lit}</td><td>{swatches}</td></tr>")
    note = " A hint of yours lies in it: your color wins there." if hinted else ""
    return answer, (f"<div style='font-size:12px'>{head}: the color chosen from each reference, then the "
                    f"runners-up, with the matcher's probabilities.{note}<table>{''.join(rows)}</table></div>")


def segment_thumbnail(rgb: np.ndarray, segments: np.ndarray, source: int, side: int = 96) -> str:
    """The reference with the segment ``source`` lit (the rest dimmed), as an HTML image."""
    import base64

    import cv2

    view = cv2.resize(np.ascontiguousarray(rgb[:, :, :3]), segments.shape[::-1], interpolation=cv2.INTER_AREA)
    view = view.astype(np.float32)
    if source >= 0:
        view[segments != source + 1] *= 0.3
    else:  # the skin prior: nothing of the reference
        view *= 0.3
    small = thumbnail(view.astype(np.uint8), side)
    data = base64.b64encode(png_bytes(small)).decode()
    return f"<img class='s2p-why-reference' src='data:image/png;base64,{data}'>"
