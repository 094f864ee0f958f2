"""``ColorizeApp``: pick a sketch and references, click or draw color hints, see the variants."""

from __future__ import annotations

import math
import time
from pathlib import Path

import ipywidgets as W
import numpy as np
from PIL import Image

from ..errors import S2PError
from ..hints import Hints, Point, Stroke
from ..imageio import ImageSource, load_image
from ..palettes import Palette, extract_palette
from .common import (SAMPLE_DATA, fit_size, guarded, hex_to_rgb, load_upload, message_html, named_sources, resize_to,
                     status_text, upload_items)
from .controls import app_layout, color_tools, hint_tools, model_controls, run_controls, sketch_chooser, status_line
from .hint_canvas import (DRAG_PIXELS, draw_drag, drawn_hint, fit_canvas, hint_canvas, nearest_hint, redraw,
                          to_fraction, to_hints)
from .references import Reference, reference_card, reference_controls
from .variants import PALETTE_SIZE, save_variants, saved_html, show_variants, variants_box
from .why_view import region_explanation, why_panel


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
        self._refs: list[Reference] = []
        self._press: tuple[float, float] | None = None
        self._stroke: list[tuple[float, float]] = []
        self._canvas_bg: np.ndarray | None = None

        # ---- widgets, built in groups (controls.py, hint_canvas.py, references.py, variants.py, why_view.py)
        self.status = status_line()
        self.why = why_panel()  # the *why?* tool's answer
        self.sketch_select, self.sketch_upload = sketch_chooser(list(self._sketch_sources))
        self.canvas, self.canvas_box = hint_canvas(self.canvas_size)
        self.color, self.swatches = color_tools()
        self.mode, self.hint_size, self.undo_button, self.clear_button, self.live, self.hint_count = hint_tools(
            hint_size, live)
        (self.refine_mode, self.reference_color_strength, self.matched_color_strength, self.reference_hint_count,
         self.attention_sharpness) = model_controls(colorizer)
        self.gallery, self.style_upload, self.all_button, self.none_button = reference_controls()
        self.size, self.colorize_button, self.save_dir, self.save_button, self.saved = run_controls(size, out_dir)
        self.variants = variants_box()

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
        self.reference_color_strength.observe(lambda _c: self._after_edit(), names="value")
        self.matched_color_strength.observe(lambda _c: self._after_edit(), names="value")
        self.reference_hint_count.observe(lambda _c: self._after_edit(), names="value")
        self.attention_sharpness.observe(lambda _c: self._after_edit(), names="value")
        self.size.observe(lambda _c: self.recolored.clear(), names="value")  # labels belong to one size
        self.undo_button.on_click(self.undo)
        self.clear_button.on_click(self.clear_hints)
        self.colorize_button.on_click(self.colorize)
        self.save_button.on_click(self.save)
        self.all_button.on_click(lambda _b: self.select_references([r.name for r in self._refs]))
        self.none_button.on_click(lambda _b: self.select_references([]))

        self.children = app_layout(self)

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
        return to_hints(self.items)

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
        refs = [r for r in self._refs if r.toggle.value]
        answer, self.why.value = region_explanation(colorizer, prepared, x, y, refs,
                                                    self.hints if self.items else None, self.refine_mode.value)
        return answer

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
        paths = save_variants(folder, self._sketch_name, self.result_names, self.results, self.palettes, self.hints)
        self.saved_paths = [p.resolve() for p in paths]
        self.saved.value = saved_html(self.saved_paths)
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
            refined = colorizer.refined_drafts(prepared, hints, [r.rgb for r in refs], codes,
                                               mode=self.refine_mode.value, count=int(self.reference_hint_count.value),
                                               recolor=dict(self.recolored),
                                               reference_color_strength=float(self.reference_color_strength.value),
                                               matched_color_strength=float(self.matched_color_strength.value))
            self.results = [colorizer.finish(prepared, rgb) for rgb in refined]
            self.palettes = [extract_palette(image, PALETTE_SIZE) for image in self.results]
            self.result_names = [r.name for r in refs] or ["hints only"]
            self.renders += 1
            show_variants(self.variants, self.result_names, self.results, self.palettes, self.variant_width,
                          self._take_color)
            seconds = time.perf_counter() - started
            count = len(self.results)
            self.show_status(
                f"{reason}: {count} variant{'s' if count != 1 else ''} at {self.size.value} px "
                f"with {len(self.items)} hint{'s' if len(self.items) != 1 else ''} in {seconds:.1f} s",
                "ok",
            )
        finally:
            self.colorize_button.disabled = False

    def _take_color(self, value: str) -> None:
        """A click on a palette swatch: take its color and the recolor tool."""
        self.color.value = value
        self.mode.value = "recolor"

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
        self._refs.append(reference_card(name, rgb, selected))
        self.gallery.children = [r.card for r in self._refs]

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
        fit_canvas(self.canvas, width, height)
        self._redraw()

    def _redraw(self, *_args: object) -> None:
        redraw(self.canvas, self._canvas_bg, self.items)

    @guarded
    def _on_mouse_down(self, x: float, y: float) -> None:
        if self._sketch is None:
            raise S2PError("no sketch: choose one or upload an image first")
        if self.mode.value == "eraser":
            self._erase_at(x, y)
            return
        if self.mode.value == "recolor":
            self.recolor_region(*to_fraction(self.canvas, x, y))
            return
        if self.mode.value == "why":
            self.explain_region(*to_fraction(self.canvas, x, y))
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
            draw_drag(self.canvas, self.color.value, self._stroke_width(), last, x, y)

    @guarded
    def _on_mouse_up(self, x: float, y: float) -> None:
        if self._press is None:
            return
        press, path = self._press, self._stroke + [(x, y)]
        self._press, self._stroke = None, []
        self.items.append(drawn_hint(self.canvas, press, path, hex_to_rgb(self.color.value),
                                     float(self.hint_size.value), self._stroke_width(), self.mode.value == "point"))
        self._after_edit()

    def _stroke_width(self) -> float:
        return float(self.hint_size.value) * 0.8

    def _erase_at(self, x: float, y: float) -> None:
        if not self.items:
            return
        index = nearest_hint(self.items, x, y, self.canvas.width, self.canvas.height)
        if index is not None:
            del self.items[index]
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


__all__ = ["ColorizeApp"]
