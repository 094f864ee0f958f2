"""``ColorizeApp``: pick a sketch and references, click or draw color hints, see the variants."""

from __future__ import annotations

import html
import math
import re
import time
from dataclasses import dataclass
from pathlib import Path

import ipywidgets as W
import numpy as np
from ipycanvas import Canvas, hold_canvas
from PIL import Image

from ..errors import S2PError
from ..hints import Hints, Point, Stroke
from ..imageio import ImageSource, load_image, save_image
from ..palettes import Palette, extract_palette
from ..refine import DEFAULT_MODE, MODES as REFINE_MODES
from .common import (
    SAMPLE_DATA,
    fit_size,
    guarded,
    hex_to_rgb,
    load_upload,
    message_html,
    status_text,
    named_sources,
    png_bytes,
    resize_to,
    thumbnail,
    upload_items,
)

SWATCHES = ("#e8344e", "#f59f2a", "#f7d84a", "#43b05c", "#2f9fd8", "#3d4fc4", "#9b51e0", "#f2b8a0", "#5b3a29", "#ffffff")
MODES = (("point", "point"), ("stroke", "stroke"), ("eraser", "eraser"), ("recolor", "recolor"), ("why?", "why"))
WHY_CANDIDATES = 3  # colors shown per reference by the *why?* tool: the chosen one and runners-up
PALETTE_SIZE = 6  # colors in the palette strip beside each variant
DRAG_PIXELS = 5.0  # a press that moves further than this on the canvas draws a stroke, not a point
ERASE_PIXELS = 12.0  # the eraser removes the nearest hint within this distance


@dataclass
class _Reference:
    name: str
    rgb: np.ndarray
    toggle: W.ToggleButton
    card: W.VBox


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"


class ColorizeApp(W.VBox):
    """Interactive colorization of one sketch with several style references and color hints.

    * choose a sketch (sample sketches, or upload one);
    * toggle references in the gallery (sample styles, or upload more);
    * on the canvas: in *point* mode a click places a point hint (a drag draws a stroke), in
      *stroke* mode a drag draws a stroke, the *eraser* removes the hint nearest to the click,
      *recolor* paints the clicked region (of the line-bounded regions) in the current color,
      *why?* shows what the clicked region took from each selected reference (the region matcher's
      choice: the reference's part it came from, or the skin prior, and the runners-up with their
      probabilities; ``explain_region``);
      Undo and Clear edit the hint list; the color picker and swatches set the hint color;
    * *Refine* picks the region refinement: ``soft`` (the network's shading, smoothed inside the
      regions, a hint colors its region), ``flat`` (one color per region) or ``raw``; *Ref. colors*
      how far the region colors move toward each reference's own spread of colors (not in ``raw``);
    * **Colorize** shows one variant per reference side by side; after that, every hint edit
      recolors at once (the sketch and reference encodings are cached, only the decoder reruns);
    * beside each variant its palette: a click on a swatch takes its color (and the *recolor*
      tool), so a region can be recolored from the variant's own colors;
    * **Save** writes the variants (PNG), their palettes and the hints (JSON) into a folder.

    Bad input (an upload that is not an image, a corrupt file, no sketch) is reported in the status
    line; the app never stops working. ``app`` is an ``ipywidgets.VBox``: display it directly.
    """

    def __init__(
        self,
        colorizer=None,
        sketches: object = None,
        styles: object = None,
        *,
        selected: int | list[str] = 3,
        size: int = 384,
        canvas_size: int = 384,
        variant_width: int = 232,
        out_dir: str | Path = "colorized",
        live: bool = True,
        hint_size: float = 0.015,
    ) -> None:
        super().__init__()
        self.add_class("s2p-colorize-app")
        self._colorizer = colorizer
        self.canvas_size = int(canvas_size)
        self.variant_width = int(variant_width)
        self.last_error: str | None = None
        self.items: list[Point | Stroke] = []
        self.recolored: dict[int, tuple[int, int, int]] = {}  # region label -> color, by the recolor tool
        self.palettes: list[Palette] = []
        self.results: list[Image.Image] = []
        self.result_names: list[str] = []
        self.renders = 0
        self.saved_paths: list[Path] = []
        self._sketch: np.ndarray | None = None
        self._sketch_name = ""
        self._sketch_sources: dict[str, ImageSource] = named_sources(sketches, SAMPLE_DATA / "sketches")
        self._refs: list[_Reference] = []
        self._press: tuple[float, float] | None = None
        self._stroke: list[tuple[float, float]] = []
        self._canvas_bg: np.ndarray | None = None

        # ---- status line
        self.status = W.HTML(layout=W.Layout(width="100%", min_height="22px"))
        self.status.add_class("s2p-status")
        self.saved = W.HTML(layout=W.Layout(width="100%"))
        self.saved.add_class("s2p-saved")
        self.why = W.HTML(layout=W.Layout(width="100%"))  # the *why?* tool's answer
        self.why.add_class("s2p-why")

        # ---- sketch chooser and canvas
        self.sketch_select = W.Dropdown(
            options=list(self._sketch_sources), description="Sketch", layout=W.Layout(width="250px")
        )
        self.sketch_select.add_class("s2p-sketch-select")
        self.sketch_upload = W.FileUpload(accept="image/*", multiple=False, description="Upload sketch",
                                          layout=W.Layout(width="170px"))
        self.sketch_upload.add_class("s2p-sketch-upload")
        side = self.canvas_size
        self.canvas = Canvas(width=side, height=side, layout=W.Layout(width=f"{side}px", height=f"{side}px"))
        self.canvas.add_class("s2p-hint-canvas")
        self.canvas_box = W.Box(
            [self.canvas],
            layout=W.Layout(width=f"{side + 2}px", height=f"{side + 2}px", border="1px solid #cfd8dc",
                            align_items="center", justify_content="center"),
        )

        # ---- hint tools
        self.color = W.ColorPicker(value=SWATCHES[0], concise=False, description="Color",
                                   layout=W.Layout(width="190px"))
        self.color.add_class("s2p-color")
        swatches = []
        for value in SWATCHES:
            b = W.Button(tooltip=value, layout=W.Layout(width="22px", height="22px", padding="0", margin="1px"))
            b.style.button_color = value
            b.add_class("s2p-swatch")
            b.on_click(lambda _b, v=value: setattr(self.color, "value", v))
            swatches.append(b)
        self.swatches = W.HBox(swatches, layout=W.Layout(flex_flow="row wrap", width="250px"))
        self.mode = W.ToggleButtons(options=MODES, value="point", style={"button_width": "74px"})
        self.mode.add_class("s2p-mode")
        self.hint_size = W.FloatSlider(value=hint_size, min=0.004, max=0.06, step=0.001, readout_format=".3f",
                                       description="Hint size", continuous_update=False,
                                       layout=W.Layout(width="300px"))
        self.hint_size.add_class("s2p-hint-size")
        self.undo_button = W.Button(description="Undo", icon="undo", layout=W.Layout(width="90px"))
        self.undo_button.add_class("s2p-undo")
        self.clear_button = W.Button(description="Clear", icon="trash", layout=W.Layout(width="90px"))
        self.clear_button.add_class("s2p-clear")
        default_mode = getattr(colorizer, "default_mode", DEFAULT_MODE)
        self.refine_mode = W.ToggleButtons(options=list(REFINE_MODES), value=default_mode, description="Refine",
                                           style={"button_width": "54px"},
                                           tooltips=["the network alone", "smoothed within regions, hints fill their region",
                                                     "one color per region"])
        self.refine_mode.add_class("s2p-refine")
        self.reference_colors = W.FloatSlider(value=float(getattr(colorizer, "reference_colors", 0.0)), min=0.0,
                                              max=1.0, step=0.05, readout_format=".2f",
                                              description="Ref. colors", continuous_update=False,
                                              tooltip="how far region colors move toward the reference's own colors",
                                              layout=W.Layout(width="300px"))
        self.reference_colors.add_class("s2p-reference-colors")
        self.reference_hints = W.IntSlider(value=int(getattr(colorizer, "reference_hints", 0)), min=0, max=48, step=4,
                                           description="Ref. hints", continuous_update=False,
                                           tooltip="point hints matched from each reference to the sketch's regions, "
                                                   "given to the network beside yours (0: none)",
                                           layout=W.Layout(width="300px"))
        self.reference_hints.add_class("s2p-reference-hints")
        if getattr(colorizer, "matches_regions", False):  # the matcher colors every region: no point hints on top
            self.reference_hints.disabled = True
            self.reference_hints.tooltip = "off while the region matcher chooses the colors (Colorizer(matcher=None) for point hints)"
        sharpness = float(getattr(colorizer, "attention_sharpness", 1.0))
        self.attention_sharpness = W.FloatSlider(value=sharpness, min=0.5, max=8.0, step=0.5, readout_format=".1f",
                                                 description="Sharpness", continuous_update=False,
                                                 tooltip="the network's attention to the reference: 1 as trained, "
                                                         "higher takes more of the reference's colors, less of its look",
                                                 layout=W.Layout(width="300px"))
        self.attention_sharpness.disabled = not getattr(colorizer, "attention_adjustable", False)
        self.attention_sharpness.add_class("s2p-attention-sharpness")
        self.live = W.Checkbox(value=live, description="Recolor on every hint edit", indent=False)
        self.live.add_class("s2p-live")
        self.hint_count = W.HTML()

        # ---- references
        self.gallery = W.HBox(layout=W.Layout(flex_flow="row wrap", width="100%", max_height="300px",
                                              overflow="auto", align_content="flex-start"))
        self.gallery.add_class("s2p-gallery")
        self.style_upload = W.FileUpload(accept="image/*", multiple=True, description="Add references",
                                         layout=W.Layout(width="160px"))
        self.style_upload.add_class("s2p-style-upload")
        self.all_button = W.Button(description="All", layout=W.Layout(width="60px"))
        self.none_button = W.Button(description="None", layout=W.Layout(width="60px"))

        # ---- run and save
        self.size = W.Dropdown(options=sorted({256, 384, 512, 768, int(size)}), value=int(size),
                               description="Size (px)", layout=W.Layout(width="170px"))
        self.size.add_class("s2p-size")
        self.colorize_button = W.Button(description="Colorize", button_style="primary", icon="paint-brush",
                                        layout=W.Layout(width="140px"))
        self.colorize_button.add_class("s2p-colorize")
        self.variants = W.HBox(layout=W.Layout(flex_flow="row wrap", width="100%", align_items="flex-start"))
        self.variants.add_class("s2p-variants")
        self.save_dir = W.Text(value=str(out_dir), description="Folder", layout=W.Layout(width="360px"))
        self.save_dir.add_class("s2p-save-dir")
        self.save_button = W.Button(description="Save", icon="save", layout=W.Layout(width="100px"))
        self.save_button.add_class("s2p-save")

        # ---- wiring
        self.sketch_select.observe(self._on_sketch_choice, names="value")
        self.sketch_upload.observe(self._on_sketch_upload, names="value")
        self.style_upload.observe(self._on_style_upload, names="value")
        self.canvas.on_mouse_down(self._on_mouse_down)
        self.canvas.on_mouse_move(self._on_mouse_move)
        self.canvas.on_mouse_up(self._on_mouse_up)
        self.canvas.on_mouse_out(self._on_mouse_up)
        self.canvas.on_client_ready(self._redraw)
        self.refine_mode.observe(lambda _c: self._after_edit(), names="value")
        self.reference_colors.observe(lambda _c: self._after_edit(), names="value")
        self.reference_hints.observe(lambda _c: self._after_edit(), names="value")
        self.attention_sharpness.observe(lambda _c: self._after_edit(), names="value")
        self.size.observe(lambda _c: self.recolored.clear(), names="value")  # labels belong to one size
        self.undo_button.on_click(self.undo)
        self.clear_button.on_click(self.clear_hints)
        self.colorize_button.on_click(self.colorize)
        self.save_button.on_click(self.save)
        self.all_button.on_click(lambda _b: self.select_references([r.name for r in self._refs]))
        self.none_button.on_click(lambda _b: self.select_references([]))

        # ---- layout
        title = W.HTML("<h3 style='margin:2px 0'>Colorize a sketch</h3>"
                       "<span style='color:#546e7a'>Pick references, click hints onto the sketch "
                       "(a drag draws a stroke), press Colorize.</span>")
        left = W.VBox(
            [
                W.HBox([self.sketch_select, self.sketch_upload]),
                self.canvas_box,
                W.HBox([self.mode, self.hint_count], layout=W.Layout(align_items="center")),
                W.HBox([self.color, self.swatches], layout=W.Layout(align_items="center")),
                self.hint_size,
                W.HBox([self.undo_button, self.clear_button, self.live], layout=W.Layout(align_items="center")),
                self.refine_mode,
                self.reference_colors,
                self.reference_hints,
                self.attention_sharpness,
            ],
            layout=W.Layout(width=f"{max(side + 20, 440)}px", margin="0 16px 0 0"),
        )
        right = W.VBox(
            [
                W.HTML("<b>References</b> <span style='color:#546e7a'>(toggle to use; one variant each)</span>"),
                self.gallery,
                W.HBox([self.style_upload, self.all_button, self.none_button]),
                W.HBox([self.size, self.colorize_button], layout=W.Layout(align_items="center", margin="8px 0")),
            ],
            layout=W.Layout(flex="1 1 360px", min_width="300px"),
        )
        self.children = [
            title,
            W.HBox([left, right], layout=W.Layout(flex_flow="row wrap", width="100%")),
            self.status,
            self.why,
            W.HTML("<b>Variants</b>"),
            self.variants,
            W.HBox([self.save_dir, self.save_button]),
            self.saved,
        ]

        for name, source in named_sources(styles, SAMPLE_DATA / "styles").items():
            self._add_reference_safely(name, source)
        names = [r.name for r in self._refs]
        self.select_references(names[: int(selected)] if isinstance(selected, int) else list(selected))
        if self._sketch_sources:
            self._on_sketch_choice({"new": self.sketch_select.value})
        else:
            self._fit_canvas(self.canvas_size, self.canvas_size)
            self.show_status("Upload a sketch to begin (no sample sketches found).")
        self._update_hint_count()

    # ------------------------------------------------------------------ public API
    @property
    def widget(self) -> "ColorizeApp":
        """The app itself (it is a ``VBox``); kept for symmetry with other notebook kits."""
        return self

    @property
    def colorizer(self):
        """The colorizer, loaded with the shipped weights on first use when none was given."""
        if self._colorizer is None:
            from ..colorizer import Colorizer

            self.show_status("loading the model ...", "busy")
            self._colorizer = Colorizer.from_pretrained()
        return self._colorizer

    @property
    def hints(self) -> Hints:
        """The current hints (in the order they were placed)."""
        hints = Hints()
        for item in self.items:
            if isinstance(item, Point):
                hints.add_point(item.x, item.y, item.rgb, item.radius)
            else:
                hints.add_stroke(item.xy, item.rgb, item.width)
        return hints

    @property
    def reference_names(self) -> list[str]:
        return [r.name for r in self._refs]

    @property
    def selected_names(self) -> list[str]:
        return [r.name for r in self._refs if r.toggle.value]

    def show_status(self, text: str, kind: str = "info") -> None:
        self.status.value = message_html(text, kind)

    @property
    def status_text(self) -> str:
        """The status line as plain text (for tests and logs)."""
        return status_text(self.status.value)

    def select_sketch(self, name: str) -> None:
        if name not in self._sketch_sources:
            raise S2PError(f"no sketch named {name!r}; choose from {', '.join(self._sketch_sources)}")
        self.sketch_select.value = name

    @guarded
    def add_sketch(self, name: str, source: ImageSource) -> None:
        """Add a sketch to the chooser and select it (ImageError on an unusable image)."""
        rgb = load_image(source, mode="RGB")
        while name in self._sketch_sources:
            name += "'"
        self._sketch_sources[name] = rgb
        self.sketch_select.options = list(self._sketch_sources)
        self.sketch_select.value = name

    @guarded
    def add_reference(self, name: str, source: ImageSource, selected: bool = True) -> None:
        """Add a reference to the gallery (ImageError on an unusable image)."""
        self._add_reference(name, load_image(source, mode="RGB"), selected)

    def select_references(self, names: list[str]) -> None:
        wanted = set(names)
        for r in self._refs:
            r.toggle.value = r.name in wanted

    def add_hint_point(self, x: float, y: float, rgb: tuple[int, int, int] | None = None,
                       radius: float | None = None) -> None:
        """Place a point hint at fractional ``(x, y)`` (what a click on the canvas does)."""
        rgb = rgb if rgb is not None else hex_to_rgb(self.color.value)
        self.items.append(Point(float(x), float(y), tuple(rgb), float(radius or self.hint_size.value)))
        self._after_edit()

    def recolor_region(self, x: float, y: float, rgb: tuple[int, int, int] | None = None) -> int:
        """Paint the region under fractional ``(x, y)`` in ``rgb`` (default: the current color), as a
        click with the *recolor* tool does; returns the region's label."""
        if self._sketch is None:
            raise S2PError("no sketch: choose one or upload an image first")
        colorizer = self.colorizer
        prepared = colorizer.prepare_sketch(self._sketch, int(self.size.value))
        label = colorizer.regions(prepared).at(x, y)
        self.recolored[label] = tuple(rgb if rgb is not None else hex_to_rgb(self.color.value))
        self._after_edit()
        return label

    def explain_region(self, x: float, y: float) -> list[dict]:
        """What the region under fractional ``(x, y)`` took from each selected reference, as a
        click with the *why?* tool shows it below the status line: the color the region matcher
        chose (``source``: the reference segment it came from, or -1 - k for prior color k, the
        skin prior), its probability, and the runners-up (``candidates``: source, RGB,
        probability). The variants show these colors where no hint of the user's lies in the
        region; a list with one dict per reference, empty without a matcher or in ``raw``."""
        if self._sketch is None:
            raise S2PError("no sketch: choose one or upload an image first")
        colorizer = self.colorizer
        prepared = colorizer.prepare_sketch(self._sketch, int(self.size.value))
        regions = colorizer.regions(prepared)
        label = regions.at(x, y)
        share = regions.pixel_counts[label] / regions.labels.size
        refs = [r for r in self._refs if r.toggle.value]
        head = f"<b>Region {label}</b> ({share:.1%} of the sketch)"
        if not getattr(colorizer, "matches_regions", False) or self.refine_mode.value == "raw" or not refs:
            why = ("no region matcher: the network alone chooses the colors" if not getattr(colorizer, "matches_regions", False)
                   else "in raw mode the network alone chooses the colors" if refs else "no reference selected")
            self.why.value = f"<div style='font-size:12px'>{head}: {why}.</div>"
            return []
        drawn = colorizer.hint_array(self.hints, prepared)[:, :, 3] > 0 if self.items else None
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
            lit = self._segment_thumbnail(ref.rgb, parts.segments.labels, source)
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
        self.why.value = (f"<div style='font-size:12px'>{head}: the color chosen from each reference, then the "
                          f"runners-up, with the matcher's probabilities.{note}<table>{''.join(rows)}</table></div>")
        return answer

    @staticmethod
    def _segment_thumbnail(rgb: np.ndarray, segments: np.ndarray, source: int, side: int = 96) -> str:
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

    @guarded
    def undo(self, _button: object = None) -> None:
        """Remove the most recent hint."""
        if self.items:
            self.items.pop()
            self._after_edit()

    @guarded
    def clear_hints(self, _button: object = None) -> None:
        """Remove every hint and every recolored region."""
        if self.items or self.recolored:
            self.items.clear()
            self.recolored.clear()
            self._after_edit()

    @guarded
    def colorize(self, _button: object = None) -> None:
        """Colorize the sketch once per selected reference (once from hints alone if none)."""
        self._render(reason="colorized")

    @guarded
    def save(self, _button: object = None) -> list[Path]:
        """Write the shown variants as PNG and the hints as JSON into the folder; list the paths."""
        if not self.results:
            raise S2PError("nothing to save yet: press Colorize first")
        folder = Path(self.save_dir.value.strip() or "colorized").expanduser()
        stem = _safe_name(self._sketch_name)
        paths = [
            save_image(image, folder / f"{stem}__{_safe_name(name)}.png")
            for name, image in zip(self.result_names, self.results)
        ]
        paths += [palette.save(folder / f"{stem}__{_safe_name(name)}__palette.json")
                  for name, palette in zip(self.result_names, self.palettes)]
        paths.append(self.hints.save(folder / f"{stem}__hints.json"))
        self.saved_paths = [p.resolve() for p in paths]
        items = "".join(f"<li><code>{p}</code></li>" for p in self.saved_paths)
        self.saved.value = f"<div style='font-size:12px'>Saved:<ul style='margin:2px 0'>{items}</ul></div>"
        self.show_status(f"saved {len(paths)} files into {folder.resolve()}", "ok")
        return self.saved_paths

    # ------------------------------------------------------------------ rendering
    def _render(self, reason: str) -> None:
        if self._sketch is None:
            raise S2PError("no sketch: choose one or upload an image first")
        colorizer = self.colorizer
        self.colorize_button.disabled = True
        self.show_status("colorizing ...", "busy")
        try:
            started = time.perf_counter()
            prepared = colorizer.prepare_sketch(self._sketch, int(self.size.value))  # cached per sketch and size
            refs = [r for r in self._refs if r.toggle.value]
            codes = colorizer.encode_styles([r.rgb for r in refs] or None)  # cached per reference
            hints = self.hints
            if not self.attention_sharpness.disabled:  # the slider sets the colorizer's own setting
                colorizer.attention_sharpness = float(self.attention_sharpness.value)
            mode = self.refine_mode.value
            outputs = colorizer.render_references(prepared, hints, [r.rgb for r in refs], codes,
                                                  count=int(self.reference_hints.value), mode=mode)
            bucket = colorizer.paint_buckets(hints, prepared, mode)  # shared by every variant
            strength = float(self.reference_colors.value)
            samples = (colorizer.reference_samples([r.rgb for r in refs]) if refs and strength > 0
                       else [None] * len(outputs))
            self.results = [colorizer.finish(prepared, colorizer.refine(prepared, rgb, hints, mode,
                                                                         recolor=dict(self.recolored), bucket=bucket,
                                                                         reference=reference,
                                                                         reference_colors=strength))
                            for rgb, reference in zip(outputs, samples)]
            self.palettes = [extract_palette(image, PALETTE_SIZE) for image in self.results]
            self.result_names = [r.name for r in refs] or ["hints only"]
            self.renders += 1
            self._show_variants()
            seconds = time.perf_counter() - started
            count = len(self.results)
            self.show_status(
                f"{reason}: {count} variant{'s' if count != 1 else ''} at {self.size.value} px "
                f"with {len(self.items)} hint{'s' if len(self.items) != 1 else ''} in {seconds:.1f} s",
                "ok",
            )
        finally:
            self.colorize_button.disabled = False

    def _show_variants(self) -> None:
        cards = list(self.variants.children)
        same = len(cards) == len(self.results) and all(
            c.children[0].value == self._label_html(n) for c, n in zip(cards, self.result_names)
        )
        if not same:
            cards = []
            for name in self.result_names:
                image = W.Image(format="png", layout=W.Layout(width=f"{self.variant_width}px", height="auto"))
                image.add_class("s2p-variant")
                strip = W.HBox(layout=W.Layout(flex_flow="row wrap", justify_content="center"))
                strip.add_class("s2p-palette")
                card = W.VBox([W.HTML(self._label_html(name)), image, strip],
                              layout=W.Layout(margin="0 10px 10px 0", align_items="center"))
                card.add_class("s2p-variant-card")
                cards.append(card)
        shown = 2 * self.variant_width  # sharp on high-density screens, light to send
        for card, result, palette in zip(cards, self.results, self.palettes):
            rgb = np.asarray(result)
            card.children[1].value = png_bytes(thumbnail(rgb, shown) if max(rgb.shape[:2]) > shown else rgb)
            card.children[2].children = [self._swatch(c) for c in palette.hex()]
        if not same:
            self.variants.children = cards

    def _swatch(self, value: str) -> W.Button:
        """A palette swatch: a click takes its color and the recolor tool."""
        b = W.Button(tooltip=f"{value}: click, then click a region to recolor it",
                     layout=W.Layout(width="24px", height="18px", padding="0", margin="1px"))
        b.style.button_color = value
        b.add_class("s2p-palette-swatch")

        def take(_b: object) -> None:
            self.color.value = value
            self.mode.value = "recolor"

        b.on_click(take)
        return b

    @staticmethod
    def _label_html(name: str) -> str:
        label = html.escape(name.replace("_", " "))
        return f"<div style='font-size:12px;font-weight:600;text-align:center;line-height:1.5'>{label}</div>"

    # ------------------------------------------------------------------ sketch
    @guarded
    def _on_sketch_choice(self, change: dict) -> None:
        name = change["new"]
        if name is None:
            return
        rgb = load_image(self._sketch_sources[name], mode="RGB")
        self._sketch, self._sketch_name = rgb, str(name)
        self.items.clear()
        self.recolored.clear()
        self.results, self.result_names = [], []
        self.variants.children = []
        self.saved.value = ""
        height, width = fit_size(rgb.shape[0], rgb.shape[1], self.canvas_size)
        self._canvas_bg = resize_to(rgb, height, width)
        self._fit_canvas(width, height)
        self._update_hint_count()
        self.show_status(f"sketch {name!r} ({rgb.shape[1]}x{rgb.shape[0]}): place hints, then press Colorize")

    @guarded
    def _on_sketch_upload(self, change: dict) -> None:
        items = upload_items(change["new"])
        if not items:
            return
        self.sketch_upload.value = ()
        name, content = items[-1]
        rgb = load_upload(name, content)
        self.add_sketch(f"upload: {Path(name).stem}", rgb)

    # ------------------------------------------------------------------ references
    def _add_reference_safely(self, name: str, source: ImageSource) -> None:
        try:
            self._add_reference(name, load_image(source, mode="RGB"), False)
        except S2PError as exc:
            self.show_status(f"skipped reference {name!r}: {exc}", "error")

    def _add_reference(self, name: str, rgb: np.ndarray, selected: bool) -> None:
        while name in self.reference_names:
            name += "'"
        thumb = W.Image(value=png_bytes(thumbnail(rgb, 84)), format="png",
                        layout=W.Layout(max_width="84px", max_height="84px"))
        label = name.replace("_", " ")
        toggle = W.ToggleButton(value=selected, description=label if len(label) <= 14 else label[:13] + "…",
                                tooltip=name, layout=W.Layout(width="100px", height="26px", padding="0 2px"))
        toggle.style.font_size = "11px"
        toggle.add_class("s2p-reference-toggle")
        card = W.VBox([W.Box([thumb], layout=W.Layout(height="86px", align_items="center",
                                                      justify_content="center")), toggle],
                      layout=W.Layout(width="104px", margin="0 6px 6px 0", align_items="center",
                                      border="2px solid transparent"))
        card.add_class("s2p-reference")
        ref = _Reference(name, rgb, toggle, card)
        toggle.observe(lambda change, r=ref: self._style_card(r), names="value")
        self._refs.append(ref)
        self._style_card(ref)
        self.gallery.children = [r.card for r in self._refs]

    @staticmethod
    def _style_card(ref: _Reference) -> None:
        ref.toggle.button_style = "info" if ref.toggle.value else ""
        ref.card.layout.border = "2px solid #2f9fd8" if ref.toggle.value else "2px solid transparent"

    @guarded
    def _on_style_upload(self, change: dict) -> None:
        items = upload_items(change["new"])
        if not items:
            return
        self.style_upload.value = ()
        added, problems = [], []
        for name, content in items:
            try:
                self._add_reference(Path(name).stem, load_upload(name, content), True)
                added.append(name)
            except S2PError as exc:
                problems.append(str(exc))
        if problems:
            self.show_status("; ".join(problems) + (f" (added {', '.join(added)})" if added else ""), "error")
        else:
            self.show_status(f"added reference{'s' if len(added) > 1 else ''} {', '.join(added)}", "ok")

    # ------------------------------------------------------------------ canvas
    def _fit_canvas(self, width: int, height: int) -> None:
        self.canvas.width, self.canvas.height = width, height
        self.canvas.layout.width, self.canvas.layout.height = f"{width}px", f"{height}px"
        self._redraw()

    def _to_fraction(self, x: float, y: float) -> tuple[float, float]:
        return (min(max(x / self.canvas.width, 0.0), 1.0), min(max(y / self.canvas.height, 0.0), 1.0))

    def _redraw(self, *_args: object) -> None:
        with hold_canvas():
            self.canvas.clear()
            if self._canvas_bg is not None:
                self.canvas.put_image_data(self._canvas_bg, 0, 0)
            for item in self.items:
                self._draw_item(item)

    def _draw_item(self, item: Point | Stroke) -> None:
        c = self.canvas
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

    @guarded
    def _on_mouse_down(self, x: float, y: float) -> None:
        if self._sketch is None:
            raise S2PError("no sketch: choose one or upload an image first")
        if self.mode.value == "eraser":
            self._erase_at(x, y)
            return
        if self.mode.value == "recolor":
            self.recolor_region(*self._to_fraction(x, y))
            return
        if self.mode.value == "why":
            self.explain_region(*self._to_fraction(x, y))
            return
        self._press = (x, y)
        self._stroke = [(x, y)]

    @guarded
    def _on_mouse_move(self, x: float, y: float) -> None:
        if self._press is None:
            return
        last = self._stroke[-1]
        if math.hypot(x - last[0], y - last[1]) < 2.0:
            return
        dragging = self.mode.value == "stroke" or math.hypot(x - self._press[0], y - self._press[1]) > DRAG_PIXELS
        self._stroke.append((x, y))
        if dragging:
            c = self.canvas
            c.stroke_style = self.color.value
            c.line_width = max(2.0, self._stroke_width() * max(c.width, c.height))
            c.line_cap = "round"
            c.stroke_line(last[0], last[1], x, y)

    @guarded
    def _on_mouse_up(self, x: float, y: float) -> None:
        if self._press is None:
            return
        press, path = self._press, self._stroke + [(x, y)]
        self._press, self._stroke = None, []
        rgb = hex_to_rgb(self.color.value)
        moved = max(math.hypot(px - press[0], py - press[1]) for px, py in path)
        if self.mode.value == "point" and moved <= DRAG_PIXELS:
            fx, fy = self._to_fraction(*press)
            self.items.append(Point(fx, fy, rgb, float(self.hint_size.value)))
        else:
            xy = tuple(self._to_fraction(px, py) for px, py in _dedupe(path))
            self.items.append(Stroke(xy, rgb, self._stroke_width()))
        self._after_edit()

    def _stroke_width(self) -> float:
        return float(self.hint_size.value) * 0.8

    def _erase_at(self, x: float, y: float) -> None:
        if not self.items:
            return
        w, h = self.canvas.width, self.canvas.height
        long_side = max(w, h)

        def distance(item: Point | Stroke) -> float:
            if isinstance(item, Point):
                return math.hypot(item.x * w - x, item.y * h - y) - item.radius * long_side
            pts = [(px * w, py * h) for px, py in item.xy]
            segs = zip(pts, pts[1:]) if len(pts) > 1 else [(pts[0], pts[0])]
            return min(_segment_distance((x, y), a, b) for a, b in segs) - item.width * long_side / 2

        best = min(range(len(self.items)), key=lambda i: distance(self.items[i]))
        if distance(self.items[best]) <= ERASE_PIXELS:
            del self.items[best]
            self._after_edit()
        else:
            self.show_status("eraser: no hint close to the click")

    def _after_edit(self) -> None:
        self._redraw()
        self._update_hint_count()
        if self.live.value and self.results:
            self._render(reason="recolored")

    def _update_hint_count(self) -> None:
        n = len(self.items)
        self.hint_count.value = f"<span style='color:#546e7a;margin-left:8px'>{n} hint{'s' if n != 1 else ''}</span>"


def _dedupe(path: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = [path[0]]
    for p in path[1:]:
        if p != out[-1]:
            out.append(p)
    return out


def _segment_distance(p: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
    ax, ay = a
    dx, dy = b[0] - ax, b[1] - ay
    length2 = dx * dx + dy * dy
    t = 0.0 if length2 == 0 else max(0.0, min(1.0, ((p[0] - ax) * dx + (p[1] - ay) * dy) / length2))
    return math.hypot(p[0] - (ax + t * dx), p[1] - (ay + t * dy))


__all__ = ["ColorizeApp"]
