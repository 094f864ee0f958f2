"""The controls of :class:`~s2p_lab.widgets.ColorizeApp`, built in groups: the status line, the
sketch chooser, the hint tools, the model's settings, and the run and save row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as W

from ..refine import DEFAULT_MODE, MODES as REFINE_MODES

SWATCHES = ("#e8344e", "#f59f2a", "#f7d84a", "#43b05c", "#2f9fd8", "#3d4fc4", "#9b51e0", "#f2b8a0", "#5b3a29", "#ffffff")
MODES = (("point", "point"), ("stroke", "stroke"), ("eraser", "eraser"), ("recolor", "recolor"), ("why?", "why"))


def status_line() -> W.HTML:
    """The status line (:func:`~s2p_lab.widgets.common.message_html` fills it)."""
    status = W.HTML(layout=W.Layout(width="100%", min_height="22px"))
    status.add_class("s2p-status")
    return status


def sketch_chooser(names: list[str]) -> tuple[W.Dropdown, W.FileUpload]:
    """The sketch dropdown over ``names`` and the sketch upload."""
    sketch_select = W.Dropdown(options=names, description="Sketch", layout=W.Layout(width="250px"))
    sketch_select.add_class("s2p-sketch-select")
    sketch_upload = W.FileUpload(accept="image/*", multiple=False, description="Upload sketch",
                                 layout=W.Layout(width="170px"))
    sketch_upload.add_class("s2p-sketch-upload")
    return sketch_select, sketch_upload


def color_tools() -> tuple[W.ColorPicker, W.HBox]:
    """The hint color picker and a row of swatches that set it."""
    color = W.ColorPicker(value=SWATCHES[0], concise=False, description="Color", layout=W.Layout(width="190px"))
    color.add_class("s2p-color")
    swatches = []
    for value in SWATCHES:
        b = W.Button(tooltip=value, layout=W.Layout(width="22px", height="22px", padding="0", margin="1px"))
        b.style.button_color = value
        b.add_class("s2p-swatch")
        b.on_click(lambda _b, v=value: setattr(color, "value", v))
        swatches.append(b)
    return color, W.HBox(swatches, layout=W.Layout(flex_flow="row wrap", width="250px"))


def hint_tools(hint_size: float, live: bool) -> tuple[W.ToggleButtons, W.FloatSlider, W.Button, W.Button,
                                                      W.Checkbox, W.HTML]:
    """The canvas tool, the hint size, *Undo*, *Clear*, the live-recolor switch and the hint count."""
    mode = W.ToggleButtons(options=MODES, value="point", style={"button_width": "74px"})
    mode.add_class("s2p-mode")
    size = W.FloatSlider(value=hint_size, min=0.004, max=0.06, step=0.001, readout_format=".3f",
                         description="Hint size", continuous_update=False, layout=W.Layout(width="300px"))
    size.add_class("s2p-hint-size")
    undo_button = W.Button(description="Undo", icon="undo", layout=W.Layout(width="90px"))
    undo_button.add_class("s2p-undo")
    clear_button = W.Button(description="Clear", icon="trash", layout=W.Layout(width="90px"))
    clear_button.add_class("s2p-clear")
    live_box = W.Checkbox(value=live, description="Recolor on every hint edit", indent=False)
    live_box.add_class("s2p-live")
    return mode, size, undo_button, clear_button, live_box, W.HTML()


def model_controls(colorizer) -> tuple[W.ToggleButtons, W.FloatSlider, W.FloatSlider, W.IntSlider, W.FloatSlider]:
    """The refinement mode and the *Ref. colors*, *Matched*, *Ref. hints* and *Sharpness* sliders, set
    from ``colorizer`` (its defaults when it is None) and disabled where it has no such setting."""
    default_mode = getattr(colorizer, "default_mode", DEFAULT_MODE)
    refine_mode = W.ToggleButtons(options=list(REFINE_MODES), value=default_mode, description="Refine",
                                  style={"button_width": "54px"},
                                  tooltips=["the network alone", "smoothed within regions, hints fill their region",
                                            "one color per region"])
    refine_mode.add_class("s2p-refine")
    reference_colors = W.FloatSlider(value=float(getattr(colorizer, "reference_color_strength", 0.0)), min=0.0,
                                     max=1.0, step=0.05, readout_format=".2f",
                                     description="Ref. colors", continuous_update=False,
                                     tooltip="how far region colors move toward the reference's own colors",
                                     layout=W.Layout(width="300px"))
    reference_colors.add_class("s2p-reference-colors")
    matched_colors = W.FloatSlider(value=float(getattr(colorizer, "matched_color_strength", 1.0)), min=0.0, max=1.0,
                                   step=0.05, readout_format=".2f", description="Matched", continuous_update=False,
                                   tooltip="how far each region moves to the color the matcher chose for it in soft "
                                           "mode (1: that color with the network's shading, 0: the network's colors)",
                                   layout=W.Layout(width="300px"))
    matched_colors.add_class("s2p-matched-colors")
    if not getattr(colorizer, "matches_regions", False):
        matched_colors.disabled = True
        matched_colors.tooltip = "no region matcher (Colorizer(matcher=None))"
    reference_hints = W.IntSlider(value=int(getattr(colorizer, "reference_hint_count", 0)), min=0, max=48, step=4,
                                  description="Ref. hints", continuous_update=False,
                                  tooltip="point hints matched from each reference to the sketch's regions, "
                                          "given to the network beside yours (0: none)",
                                  layout=W.Layout(width="300px"))
    reference_hints.add_class("s2p-reference-hints")
    if getattr(colorizer, "matches_regions", False):  # the matcher colors every region: no point hints on top
        reference_hints.disabled = True
        reference_hints.tooltip = "off while the region matcher chooses the colors (Colorizer(matcher=None) for point hints)"
    sharpness = float(getattr(colorizer, "attention_sharpness", 1.0))
    attention_sharpness = W.FloatSlider(value=sharpness, min=0.5, max=8.0, step=0.5, readout_format=".1f",
                                        description="Sharpness", continuous_update=False,
                                        tooltip="the network's attention to the reference: 1 as trained, "
                                                "higher takes more of the reference's colors, less of its look",
                                        layout=W.Layout(width="300px"))
    attention_sharpness.disabled = not getattr(colorizer, "attention_adjustable", False)
    attention_sharpness.add_class("s2p-attention-sharpness")
    return refine_mode, reference_colors, matched_colors, reference_hints, attention_sharpness


def run_controls(size: int, out_dir: str | Path) -> tuple[W.Dropdown, W.Button, W.Text, W.Button, W.HTML]:
    """The output size, *Colorize*, the save folder, *Save* and the list of saved files."""
    size_select = W.Dropdown(options=sorted({256, 384, 512, 768, int(size)}), value=int(size),
                             description="Size (px)", layout=W.Layout(width="170px"))
    size_select.add_class("s2p-size")
    colorize_button = W.Button(description="Colorize", button_style="primary", icon="paint-brush",
                               layout=W.Layout(width="140px"))
    colorize_button.add_class("s2p-colorize")
    save_dir = W.Text(value=str(out_dir), description="Folder", layout=W.Layout(width="360px"))
    save_dir.add_class("s2p-save-dir")
    save_button = W.Button(description="Save", icon="save", layout=W.Layout(width="100px"))
    save_button.add_class("s2p-save")
    saved = W.HTML(layout=W.Layout(width="100%"))
    saved.add_class("s2p-saved")
    return size_select, colorize_button, save_dir, save_button, saved


def app_layout(app: Any) -> list[W.Widget]:
    """The rows of a :class:`~s2p_lab.widgets.ColorizeApp` (``app``): the sketch, canvas and tools on
    the left, the references and *Colorize* on the right, then the status, the variants and *Save*."""
    title = W.HTML("<h3 style='margin:2px 0'>Colorize a sketch</h3>"
                   "<span style='color:#546e7a'>Pick references, click hints onto the sketch "
                   "(a drag draws a stroke), press Colorize.</span>")
    left = W.VBox(
        [
            W.HBox([app.sketch_select, app.sketch_upload]),
            app.canvas_box,
            W.HBox([app.mode, app.hint_count], layout=W.Layout(align_items="center")),
            W.HBox([app.color, app.swatches], layout=W.Layout(align_items="center")),
            app.hint_size,
            W.HBox([app.undo_button, app.clear_button, app.live], layout=W.Layout(align_items="center")),
            app.refine_mode,
            app.reference_color_strength,
            app.matched_color_strength,
            app.reference_hint_count,
            app.attention_sharpness,
        ],
        layout=W.Layout(width=f"{max(app.canvas_size + 20, 440)}px", margin="0 16px 0 0"),
    )
    right = W.VBox(
        [
            W.HTML("<b>References</b> <span style='color:#546e7a'>(toggle to use; one variant each)</span>"),
            app.gallery,
            W.HBox([app.style_upload, app.all_button, app.none_button]),
            W.HBox([app.size, app.colorize_button], layout=W.Layout(align_items="center", margin="8px 0")),
        ],
        layout=W.Layout(flex="1 1 360px", min_width="300px"),
    )
    return [
        title,
        W.HBox([left, right], layout=W.Layout(flex_flow="row wrap", width="100%")),
        app.status,
        app.why,
        W.HTML("<b>Variants</b>"),
        app.variants,
        W.HBox([app.save_dir, app.save_button]),
        app.saved,
    ]
