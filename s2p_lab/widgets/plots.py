"""Matplotlib figures for the notebooks: image grids and live training curves."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def image_grid(
    images: Sequence[object],
    titles: Sequence[str] | None = None,
    *,
    ncols: int = 3,
    size: float = 3.0,
    suptitle: str | None = None,
    insets: Sequence[object] | None = None,
):
    """A matplotlib ``Figure`` with the images in a grid, each titled, axes hidden.

    ``images``: PIL images or uint8 arrays (HxW gray or HxWx3). ``insets``: optional small images
    (e.g. the reference each output was colored from) drawn in the top-right corner of each cell.
    Returns the figure (displayed by the notebook when it is a cell's last value).
    """
    import matplotlib.pyplot as plt

    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    first = np.asarray(images[0])
    aspect = first.shape[0] / first.shape[1]
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, nrows * (size * aspect + 0.4) + (0.5 if suptitle else 0.1)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        arr = np.asarray(images[i])
        ax.imshow(arr, cmap="gray" if arr.ndim == 2 else None, vmin=0, vmax=255)
        if titles is not None and i < len(titles):
            ax.set_title(str(titles[i]), fontsize=10)
        if insets is not None and i < len(insets) and insets[i] is not None:
            inset = np.asarray(insets[i])
            ratio = inset.shape[0] / inset.shape[1]
            box = ax.inset_axes([0.64, 1.0 - 0.34 * ratio * arr.shape[1] / arr.shape[0] - 0.02, 0.34,
                                 0.34 * ratio * arr.shape[1] / arr.shape[0]])
            box.imshow(inset)
            box.set_xticks([])
            box.set_yticks([])
            for spine in box.spines.values():
                spine.set_edgecolor("white")
                spine.set_linewidth(1.5)
    if suptitle:
        fig.suptitle(suptitle, fontsize=12)
    fig.tight_layout()
    plt.close(fig)  # shown once, by the notebook, not twice
    return fig


class LiveTrainingPlot:
    """A ``Trainer.fit(callback=...)`` callback that redraws loss curves and a sample grid in place.

    Every logged step updates the curves of ``keys`` (those present in the records); every
    ``grid_every`` logged steps the fixed batch's sample grid (columns: sketch, hints, reference,
    output, target) is redrawn. In a notebook the figure updates in one output area; elsewhere
    it just keeps the figure (``self.figure``) up to date.
    """

    def __init__(self, keys: Sequence[str] = ("l1", "gray_guide", "color_guide", "total"), grid_every: int = 2,
                 grid_rows: int = 4, title: str = "training") -> None:
        import matplotlib.pyplot as plt

        self.keys = list(keys)
        self.grid_every = max(1, int(grid_every))
        self.grid_rows = int(grid_rows)
        self.calls = 0
        self.figure, (self.ax_loss, self.ax_grid) = plt.subplots(
            1, 2, figsize=(12, 4.2), gridspec_kw={"width_ratios": [1, 1.25]}
        )
        self.figure.suptitle(title)
        self.ax_loss.set_xlabel("step")
        self.ax_loss.set_ylabel("loss")
        self.ax_loss.set_title("losses (lower is better)")
        self.ax_loss.grid(alpha=0.3)
        self.ax_grid.axis("off")
        self.ax_grid.set_title("sketch | hints | reference | output | target")
        self._lines: dict[str, object] = {}
        self._handle = None
        plt.close(self.figure)

    def __call__(self, trainer, record: dict) -> None:
        self.calls += 1
        history = trainer.history
        steps = [r["step"] for r in history]
        for key in self.keys:
            values = [r.get(key) for r in history]
            if all(v is None for v in values):
                continue
            ys = [np.nan if v is None else v for v in values]
            if key not in self._lines:
                (self._lines[key],) = self.ax_loss.plot(steps, ys, marker=".", label=key)
                self.ax_loss.legend(loc="upper right", fontsize=9)
            else:
                self._lines[key].set_data(steps, ys)  # type: ignore[attr-defined]
        self.ax_loss.relim()
        self.ax_loss.autoscale_view()
        if (self.calls == 1 or self.calls % self.grid_every == 0) and getattr(trainer, "fixed_batch", None) is not None:
            batch = {k: v[: self.grid_rows] for k, v in trainer.fixed_batch.items()}
            for im in list(self.ax_grid.images):
                im.remove()
            self.ax_grid.imshow(trainer.sample_grid(batch))
            self.ax_grid.set_title(f"step {record['step']}: sketch | hints | reference | output | target", fontsize=10)
        ips = record.get("images_per_s")
        self.figure.suptitle(
            f"step {record['step']}  l1 {record.get('l1', float('nan')):.3f}"
            + (f"  {ips:.1f} images/s" if ips else "")
            + f"  {record.get('seconds', 0):.0f} s"
        )
        self.show()

    def show(self) -> None:
        """Display the figure (first call) or update it in place (later calls)."""
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:  # pragma: no cover - IPython comes with the notebook extra
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            self._handle = display(self.figure, display_id=True)
        else:
            self._handle.update(self.figure)


def draw_hints(image: object, hints: object, *, outline: bool = True) -> np.ndarray:
    """The image (uint8 RGB) with the hints painted over it, each outlined so it stands out."""
    import cv2

    from ..hints import Hints
    from ..imageio import load_image

    rgb = load_image(image, mode="RGB").copy()
    h, w = rgb.shape[:2]
    hint_map = Hints.load(hints).to_map(h, w)
    mask = hint_map[..., 3] > 0
    if outline:
        ring = cv2.dilate(mask.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool) & ~mask
        rgb[ring] = (20, 20, 20)
    rgb[mask] = np.rint(hint_map[mask, :3] * 255).astype(np.uint8)
    return rgb


def palette_figure(references: Sequence[object], outputs: Sequence[object], names: Sequence[str], k: int = 6,
                   paper_mask: np.ndarray | None = None):
    """Rows of reference | its palette | output | the output's palette (k-means in Lab)."""
    import matplotlib.pyplot as plt

    from ..explain import palette, palette_strip

    n = len(references)
    fig, axes = plt.subplots(n, 4, figsize=(12, 2.4 * n), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1.3, 1, 1.3]})
    for row, (ref, out, name) in enumerate(zip(references, outputs, names)):
        ref, out = np.asarray(ref), np.asarray(out)
        mask = paper_mask if paper_mask is not None and paper_mask.shape == out.shape[:2] else None
        panels = [
            (ref, f"reference: {name}"),
            (palette_strip(palette(ref, k), 260, 60, gap=1), "reference palette"),
            (out, "output"),
            (palette_strip(palette(out, k, mask=mask), 260, 60, gap=1), "output palette (lines left out)"),
        ]
        for ax, (img, title) in zip(axes[row], panels):
            ax.imshow(img)
            ax.set_title(title, fontsize=9)
            ax.axis("off")
    fig.tight_layout()
    plt.close(fig)
    return fig


def attention_figure(output: object, reference: object, layers, points: Sequence[tuple[float, float]]):
    """For each point: the output with the point marked, and the reference lit where it attended."""
    import matplotlib.pyplot as plt

    from ..explain import attention_at, attention_overlay

    out, ref = np.asarray(output), np.asarray(reference)
    n = len(points)
    fig, axes = plt.subplots(2, n, figsize=(3.4 * n, 7), squeeze=False)
    colors = plt.cm.tab10.colors
    for i, (x, y) in enumerate(points):
        ax = axes[0, i]
        ax.imshow(out)
        ax.plot([x * out.shape[1]], [y * out.shape[0]], "o", ms=14, mfc="none", mec=colors[i % 10], mew=3)
        ax.set_title(f"output, point ({x:.2f}, {y:.2f})", fontsize=9)
        ax.axis("off")
        heat = attention_at(layers, (x, y), ref.shape[:2])
        grid = attention_at(layers, (x, y))
        ax = axes[1, i]
        ax.imshow(attention_overlay(ref, heat))
        ax.set_title(f"attended reference (max/mean {1 / max(float(grid.mean()), 1e-6):.1f})", fontsize=9)
        for spine in ax.spines.values():
            spine.set_edgecolor(colors[i % 10])
            spine.set_linewidth(3)
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    plt.close(fig)
    return fig
