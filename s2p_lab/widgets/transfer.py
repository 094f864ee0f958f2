"""``TransferExplorer``: what an output took from its reference, one click at a time."""

from __future__ import annotations

import time

import cv2
import ipywidgets as W
import numpy as np
from ipycanvas import Canvas, hold_canvas

from .. import explain
from ..errors import S2PError
from ..imageio import ImageSource, load_image
from .common import SAMPLE_DATA, fit_size, guarded, message_html, named_sources, png_bytes, resize_to, status_text


class TransferExplorer(W.VBox):
    """One output next to its reference, with the tools of :mod:`s2p_lab.explain`.

    * click the output: the reference lights up where that region attended (attention map);
    * palettes of the reference and of the output side by side (k-means in Lab);
    * toggles switch groups of the global style vector off (zeroed), or the attention path;
    * a slider mixes the style codes of reference A and reference B (``t=0`` is A).

    The sketch and the references are encoded once; every change reruns the decoder only, and a
    click reads the attention weights kept from the last render (no rerun).
    """

    def __init__(
        self,
        colorizer,
        sketch: ImageSource,
        styles: object = None,
        *,
        hints: object = None,
        size: int = 256,
        display: int = 320,
        groups: int = 8,
        palette_k: int = 6,
    ) -> None:
        super().__init__()
        self.add_class("s2p-transfer-explorer")
        self.colorizer = colorizer
        self.display = int(display)
        self.groups = int(groups)
        self.palette_k = int(palette_k)
        self.last_error: str | None = None
        self.point = (0.5, 0.5)
        self.output: np.ndarray | None = None  # finished output at the sketch's size
        self.heat: np.ndarray | None = None  # attention map over the shown reference, 0..1
        self.layers: explain.AttentionLayers | None = None
        self.reference_palette: explain.Palette = []
        self.output_palette: explain.Palette = []
        self.renders = 0

        sources = named_sources(styles, SAMPLE_DATA / "styles")
        if not sources:
            raise S2PError("TransferExplorer needs at least one style reference")
        self.references = {name: load_image(src, mode="RGB") for name, src in sources.items()}
        names = list(self.references)
        self.prepared = colorizer.prepare_sketch(sketch, size)
        self.hint_map = colorizer.hint_map(hints, self.prepared)
        all_codes = colorizer.encode_styles(list(self.references.values()))
        self.codes = {name: all_codes.select(slice(i, i + 1)) for i, name in enumerate(names)}
        self._paper = self.prepared.lines >= 200  # palette of the output: colored regions, not lines

        # ---- widgets
        self.status = W.HTML(layout=W.Layout(width="100%", min_height="22px"))
        self.status.add_class("s2p-status")
        self.ref_a = W.Dropdown(options=names, value=names[0], description="Reference A",
                                layout=W.Layout(width="300px"))
        self.ref_a.add_class("s2p-ref-a")
        self.ref_b = W.Dropdown(options=names, value=names[1 if len(names) > 1 else 0], description="Reference B",
                                layout=W.Layout(width="300px"))
        self.ref_b.add_class("s2p-ref-b")
        self.mix = W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="A → B",
                                 continuous_update=False, readout_format=".2f", layout=W.Layout(width="360px"))
        self.mix.add_class("s2p-mix")
        out_h, out_w = fit_size(*self.prepared.original_size, self.display)
        self.canvas = Canvas(width=out_w, height=out_h, layout=W.Layout(width=f"{out_w}px", height=f"{out_h}px"))
        self.canvas.add_class("s2p-transfer-output")
        self.reference_image = W.Image(format="png", layout=W.Layout(width=f"{self.display}px", height="auto"))
        self.reference_image.add_class("s2p-transfer-reference")
        self.reference_caption = W.HTML()
        self.palette_ref = W.Image(format="png", layout=W.Layout(width=f"{self.display}px", height="36px"))
        self.palette_out = W.Image(format="png", layout=W.Layout(width=f"{self.display}px", height="36px"))
        for p in (self.palette_ref, self.palette_out):
            p.add_class("s2p-palette")
        slices = explain.style_groups(self.colorizer.config.style_dim, self.groups)
        self.group_toggles = []
        for g, sl in enumerate(slices):
            t = W.ToggleButton(value=True, description=str(g + 1), tooltip=f"style vector entries {sl.start}-{sl.stop - 1}",
                               button_style="success", layout=W.Layout(width="42px"))
            t.add_class("s2p-group-toggle")
            t.observe(self._on_toggle, names="value")
            self.group_toggles.append(t)
        has_attention = bool(self.colorizer.model.generator.attention_modules())
        self.attention_toggle = W.ToggleButton(value=has_attention, disabled=not has_attention,
                                               description="attention", button_style="success" if has_attention else "",
                                               tooltip="the spatial path: output regions look up reference tokens",
                                               layout=W.Layout(width="110px"))
        self.attention_toggle.add_class("s2p-attention-toggle")
        self.attention_toggle.observe(self._on_toggle, names="value")
        self.reset_button = W.Button(description="All on", layout=W.Layout(width="80px"))
        self.reset_button.on_click(self._reset_toggles)

        for w in (self.ref_a, self.ref_b, self.mix):
            w.observe(lambda _c: self.render(), names="value")
        self.canvas.on_mouse_down(self._on_click)
        self.canvas.on_client_ready(lambda *_: self._draw_output())

        col = f"{self.display + 16}px"
        small = "<span style='font-size:12px;color:#37474f'>{}</span>"
        panels = W.GridBox(
            [
                W.HTML("<b>Output</b> <span style='color:#546e7a'>(click a region)</span>"),
                W.HTML("<b>Reference</b> <span style='color:#546e7a'>(bright: where that region looked)</span>"),
                W.Box([self.canvas], layout=W.Layout(width=f"{out_w}px", height=f"{out_h}px")),
                W.VBox([self.reference_image, self.reference_caption]),
                W.VBox([W.HTML(small.format("output palette (colored regions, lines left out)")), self.palette_out]),
                W.VBox([W.HTML(small.format("reference palette")), self.palette_ref]),
            ],
            layout=W.Layout(grid_template_columns=f"{col} {col}", grid_gap="6px 18px", align_items="flex-start"),
        )
        self.children = [
            W.HTML("<h3 style='margin:2px 0'>What transferred from the reference?</h3>"
                   "<span style='color:#546e7a'>Click the output: the reference stays bright where that region "
                   "took its color from. Switch parts of the style off, or mix two references.</span>"),
            W.HBox([self.ref_a, self.ref_b]),
            self.mix,
            panels,
            W.HTML("<b>Style vector groups</b> <span style='color:#546e7a'>(green = on; off zeroes those entries "
                   "of the FiLM vector; <i>attention</i> is the spatial token path)</span>"),
            W.HBox([*self.group_toggles, self.attention_toggle, self.reset_button],
                   layout=W.Layout(flex_flow="row wrap")),
            self.status,
        ]
        self.render()

    # ------------------------------------------------------------------ public API
    def show_status(self, text: str, kind: str = "info") -> None:
        self.status.value = message_html(text, kind)

    @property
    def status_text(self) -> str:
        return status_text(self.status.value)

    @property
    def groups_off(self) -> list[int]:
        return [g for g, t in enumerate(self.group_toggles) if not t.value]

    def style_code(self):
        """The code being rendered: A mixed toward B by the slider, with the switched-off groups zeroed."""
        a, b = self.codes[self.ref_a.value], self.codes[self.ref_b.value]
        t = float(self.mix.value)
        code = explain.interpolate_styles(a, b, t) if t > 0 and self.ref_a.value != self.ref_b.value else a
        return explain.mask_style(code, self.groups_off, self.groups)

    def shown_reference(self) -> np.ndarray:
        """Reference A cross-faded into B (stretched to A's frame, as the tokens are) by the slider."""
        a = self.references[self.ref_a.value]
        t = float(self.mix.value)
        if t <= 0 or self.ref_a.value == self.ref_b.value:
            return a
        b = resize_to(self.references[self.ref_b.value], *a.shape[:2])
        return np.clip(np.rint(a * (1 - t) + b * t), 0, 255).astype(np.uint8)

    @guarded
    def render(self) -> None:
        """Rerun the decoder with the current code and refresh output, palettes and attention."""
        started = time.perf_counter()
        self.show_status("rendering ...", "busy")
        rgb, self.layers = explain.render_with_attention(
            self.colorizer, self.prepared, self.hint_map, self.style_code(), tokens=self.attention_toggle.value
        )
        self.output = np.asarray(self.colorizer.finish(self.prepared, rgb))
        self.renders += 1
        self._draw_output()
        reference = self.shown_reference()
        self.reference_palette = explain.palette(reference, self.palette_k)
        self.output_palette = explain.palette(self.output, self.palette_k, mask=self._paper)
        width = self.display
        self.palette_ref.value = png_bytes(explain.palette_strip(self.reference_palette, width, 36, gap=1))
        self.palette_out.value = png_bytes(explain.palette_strip(self.output_palette, width, 36, gap=1))
        self._update_attention()
        off = self.groups_off
        parts = [f"rendered in {time.perf_counter() - started:.1f} s"]
        if off:
            parts.append("groups off: " + ", ".join(str(g + 1) for g in off))
        if not self.attention_toggle.value:
            parts.append("attention off")
        self.show_status("; ".join(parts), "ok")

    @guarded
    def set_point(self, x: float, y: float) -> None:
        """Show the attention of the output at fractional ``(x, y)`` (what a click does)."""
        if not (0 <= x <= 1 and 0 <= y <= 1):
            raise S2PError(f"point ({x}, {y}) is outside the output")
        self.point = (float(x), float(y))
        self._draw_output()
        self._update_attention()

    # ------------------------------------------------------------------ internals
    def _on_click(self, x: float, y: float) -> None:
        self.set_point(min(max(x / self.canvas.width, 0.0), 1.0), min(max(y / self.canvas.height, 0.0), 1.0))

    def _on_toggle(self, change: dict) -> None:
        owner = change["owner"]
        owner.button_style = "success" if change["new"] else ""
        self.render()

    def _reset_toggles(self, _button: object = None) -> None:
        changed = [t for t in (*self.group_toggles, self.attention_toggle) if not t.value and not t.disabled]
        with self.hold_trait_notifications():
            for t in changed:
                t.unobserve(self._on_toggle, names="value")
                t.value, t.button_style = True, "success"
                t.observe(self._on_toggle, names="value")
        if changed:
            self.render()

    def _draw_output(self) -> None:
        if self.output is None:
            return
        c = self.canvas
        shown = resize_to(self.output, c.height, c.width)
        x, y = self.point[0] * c.width, self.point[1] * c.height
        with hold_canvas():
            c.clear()
            c.put_image_data(shown, 0, 0)
            c.line_width = 2
            c.stroke_style = "#ffffff"
            c.stroke_circle(x, y, 9)
            c.stroke_style = "#111111"
            c.stroke_circle(x, y, 11)
            c.stroke_line(x - 16, y, x - 6, y)
            c.stroke_line(x + 6, y, x + 16, y)
            c.stroke_line(x, y - 16, x, y - 6)
            c.stroke_line(x, y + 6, x, y + 16)

    def _update_attention(self) -> None:
        reference = self.shown_reference()
        h, w = fit_size(reference.shape[0], reference.shape[1], self.display)
        shown = resize_to(reference, h, w)
        if self.layers is None:
            self.heat = None
            self.reference_image.value = png_bytes(shown)
            self.reference_caption.value = ("<div style='font-size:12px;color:#546e7a;line-height:1.35'>attention is "
                                            "off: only the global style vector reaches the output</div>")
            return
        self.heat = explain.attention_at(self.layers, self.point, (h, w))
        grid = explain.attention_at(self.layers, self.point)
        row, col = np.unravel_index(int(np.argmax(grid)), grid.shape)
        overlay = explain.attention_overlay(shown, self.heat)
        # outline the strongest cell: with a weak (nearly uniform) map it is the only visible cue
        cell_h, cell_w = h / grid.shape[0], w / grid.shape[1]
        cv2.rectangle(overlay, (int(col * cell_w), int(row * cell_h)),
                      (int((col + 1) * cell_w) - 1, int((row + 1) * cell_h) - 1), (255, 255, 255), 2)
        cv2.rectangle(overlay, (int(col * cell_w) - 2, int(row * cell_h) - 2),
                      (int((col + 1) * cell_w) + 1, int((row + 1) * cell_h) + 1), (20, 20, 20), 1)
        self.reference_image.value = png_bytes(overlay)
        self.reference_caption.value = (
            "<div style='font-size:12px;color:#546e7a;line-height:1.35;margin-top:4px'>"
            f"output point ({self.point[0]:.2f}, {self.point[1]:.2f}): "
            f"strongest cell (boxed) row {row + 1}, column {col + 1} of {grid.shape[0]}x{grid.shape[1]}; "
            f"max/mean {1.0 / max(float(grid.mean()), 1e-6):.1f} (1 = looked everywhere alike)</div>"
        )
