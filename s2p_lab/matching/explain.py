"""What the matcher chose, as pictures: for a place on the sketch, the region there, the reference
segment (or the skin prior) it took and the runners-up; and the matrix of every large region's
probabilities over the reference's palette colors. Used by notebook 03."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import S2PError

if TYPE_CHECKING:
    from ..colorizer import Colorizer, PreparedSketch

__all__ = ["choice_figure", "region_at", "score_matrix_figure"]


def region_at(labels: np.ndarray, x: float, y: float) -> int:
    """The region label under the point (``x``, ``y``), fractions of the width and height."""
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        raise S2PError(f"a point must lie inside the sketch (fractions 0..1), got ({x}, {y})")
    h, w = labels.shape
    return int(labels[min(h - 1, int(y * h)), min(w - 1, int(x * w))])


def _swatch(rgb: np.ndarray) -> np.ndarray:
    return np.broadcast_to(np.asarray(rgb, np.uint8), (8, 8, 3))


def choice_figure(colorizer: "Colorizer", prepared: "PreparedSketch", reference: np.ndarray,
                  points: list[tuple[float, float]], seed: int = 0) -> Any:
    """For each point: the sketch with the region there lit, the reference with the segment it
    took lit (or the skin prior's color), and its chosen color and runners-up with their
    probabilities. Returns a matplotlib figure."""
    import matplotlib.pyplot as plt

    from .predict import lab_to_rgb8

    regions = colorizer.regions(prepared)
    parts = colorizer.reference_parts(reference)
    colors = colorizer.region_colors(prepared, reference, seed)
    if colors is None:
        raise S2PError("the reference has no color segment to match")
    prior_rgb = lab_to_rgb8(colorizer.matcher.model.prior_lab.numpy())  # type: ignore[union-attr]
    lines = prepared.processing_lines
    segment_labels = parts.segments.labels
    fig, axes = plt.subplots(len(points), 3, figsize=(9, 3 * len(points)), squeeze=False)
    for row, (x, y) in enumerate(points):
        region = region_at(regions.labels, x, y)
        sketch_view = np.repeat(lines[:, :, None], 3, axis=2).astype(np.float32) * 0.45
        sketch_view[regions.labels == region] = (255, 80, 80)
        axes[row, 0].imshow(sketch_view.astype(np.uint8))
        axes[row, 0].plot([x * lines.shape[1]], [y * lines.shape[0]], "wo", markersize=5)
        axes[row, 0].set_title(f"region {region} ({regions.pixel_counts[region] / regions.labels.size:.1%})")
        source = int(colors.source[region])
        ref_small = np.asarray(reference[:, :, :3])
        import cv2

        ref_view = cv2.resize(ref_small, segment_labels.shape[::-1], interpolation=cv2.INTER_AREA).astype(np.float32)
        if source >= 0:
            ref_view[segment_labels != source + 1] *= 0.3
            axes[row, 1].set_title(f"took segment {source}")
        else:
            ref_view *= 0.3
            axes[row, 1].set_title("took the skin prior (no such color here)")
        axes[row, 1].imshow(ref_view.astype(np.uint8))
        strip = []
        names = []
        for src, p in zip(colors.top[region], colors.top_p[region]):
            rgb = prior_rgb[-1 - src] if src < 0 else lab_to_rgb8(parts.segments.lab[src])
            strip.append(_swatch(rgb))
            names.append(f"{'prior' if src < 0 else f'seg {src}'}\n{p:.2f}")
        axes[row, 2].imshow(np.concatenate(strip, axis=1))
        axes[row, 2].set_xticks([4 + 8 * i for i in range(len(strip))], names)
        axes[row, 2].set_yticks([])
        axes[row, 2].set_title("chosen, then runners-up")
        for ax in axes[row, :2]:
            ax.axis("off")
    fig.suptitle("What each region took from the reference (probabilities of the matcher)")
    fig.tight_layout()
    return fig


def score_matrix_figure(colorizer: "Colorizer", prepared: "PreparedSketch", reference: np.ndarray,
                        regions_shown: int = 16) -> Any:
    """The matcher's probabilities of the ``regions_shown`` largest regions (rows) over the
    reference's palette colors and the skin prior (columns, drawn as swatches). Returns a
    matplotlib figure."""
    import matplotlib.pyplot as plt

    from .predict import lab_to_rgb8

    if colorizer.matcher is None:
        raise S2PError("this colorizer has no region matcher")
    regions = colorizer.regions(prepared)
    parts = colorizer.reference_parts(reference)
    probs, _, _ = colorizer.matcher.candidates(colorizer.sketch_parts(prepared), parts)
    palette = lab_to_rgb8(np.concatenate([parts.segments.palette, colorizer.matcher.model.prior_lab.numpy()]))
    shown = np.argsort(-regions.pixel_counts)[:regions_shown]
    fig, (top, ax) = plt.subplots(2, 1, figsize=(0.5 * len(palette) + 2, 0.35 * len(shown) + 1.5),
                                  gridspec_kw={"height_ratios": [1, max(2, len(shown) // 2)]}, sharex=True)
    top.imshow(palette[None], aspect="auto", extent=(-0.5, len(palette) - 0.5, 0, 1))
    top.set_yticks([])
    top.set_title("reference palette colors (last: skin prior)")
    image = ax.imshow(probs[shown], aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_yticks(range(len(shown)), [f"region {r} ({regions.pixel_counts[r] / regions.labels.size:.1%})" for r in shown])
    ax.set_xticks(range(len(palette)), [str(i) for i in range(len(palette) - 1)] + ["skin"])
    ax.set_xlabel("color")
    fig.colorbar(image, ax=ax, label="probability")
    fig.tight_layout()
    return fig
