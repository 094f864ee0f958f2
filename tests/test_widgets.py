"""The notebook apps driven from Python: canvas events through ipycanvas' own handler, buttons
with ``.click()``, uploads by setting ``FileUpload.value`` the way the browser does."""

from __future__ import annotations

import datetime
import io
import json

import numpy as np
import pytest
from PIL import Image, ImageFilter

pytest.importorskip("ipywidgets")
pytest.importorskip("ipycanvas")

from s2p_lab import Colorizer, Hints  # noqa: E402
from s2p_lab.widgets import (  # noqa: E402
    ColorizeApp,
    ExtractorExplorer,
    LiveTrainingPlot,
    TransferExplorer,
    decode_png,
    draw_hints,
    image_grid,
)
from s2p_lab.palettes import Palette  # noqa: E402
from s2p_lab.widgets.common import hex_to_rgb, named_sources, rgb_to_hex, status_text, upload_items  # noqa: E402

from model_helpers import assert_same_colors, tolerance_of  # noqa: E402

SIZE = 64


def _sketch(h: int = 120, w: int = 96) -> np.ndarray:
    sketch = np.full((h, w, 3), 255, np.uint8)
    sketch[::24] = 0
    sketch[:, ::24] = 0
    return sketch


def _style(color: tuple[int, int, int]) -> np.ndarray:
    style = np.zeros((48, 64, 3), np.uint8)
    style[:] = color
    style[:16] = (255 - np.array(color)) // 2
    return style


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _upload(name: str, content: bytes) -> dict:
    """One entry of ``FileUpload.value`` as the browser fills it (ipywidgets 8)."""
    return {"name": name, "type": "", "size": len(content), "content": memoryview(content),
            "last_modified": datetime.datetime.now(datetime.timezone.utc)}


def _event(canvas, name: str, x: float, y: float) -> None:
    canvas._handle_frontend_event(canvas, {"event": name, "x": x, "y": y}, [])


def _click(app: ColorizeApp, fx: float, fy: float) -> None:
    x, y = fx * app.canvas.width, fy * app.canvas.height
    _event(app.canvas, "mouse_down", x, y)
    _event(app.canvas, "mouse_up", x, y)


def _variant_bytes(app: ColorizeApp) -> list[bytes]:
    return [card.children[1].value for card in app.variants.children]


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer.from_pretrained(device="cpu")


@pytest.fixture
def app(colorizer, tmp_path) -> ColorizeApp:
    styles = {"red": _style((210, 40, 50)), "blue": _style((30, 70, 200)), "green": _style((40, 160, 60))}
    return ColorizeApp(colorizer, sketches={"grid": _sketch(), "wide": _sketch(80, 140)}, styles=styles,
                       selected=2, size=SIZE, canvas_size=200, out_dir=tmp_path / "out")


# ------------------------------------------------------------------ ColorizeApp


def test_layout_tags_and_fixed_canvas(app):
    assert "s2p-hint-canvas" in app.canvas._dom_classes
    assert "s2p-colorize" in app.colorize_button._dom_classes
    assert "s2p-status" in app.status._dom_classes
    # the canvas keeps the sketch's aspect, fixed in pixels (no scaling of click coordinates)
    assert (app.canvas.width, app.canvas.height) == (160, 200)
    assert app.canvas.layout.width == "160px" and app.canvas.layout.height == "200px"
    assert app.selected_names == ["red", "blue"]
    assert app.reference_names == ["red", "blue", "green"]
    app.select_sketch("wide")
    assert (app.canvas.width, app.canvas.height) == (200, 114)


def test_colorize_shows_one_labeled_variant_per_reference(app):
    assert app.variants.children == ()
    app.colorize_button.click()
    assert app.last_error is None, app.last_error
    assert len(app.variants.children) == 2 and len(app.results) == 2
    assert app.result_names == ["red", "blue"]
    for card, name in zip(app.variants.children, ["red", "blue"]):
        assert name in card.children[0].value.replace(" ", "_")
        assert "s2p-variant" in card.children[1]._dom_classes
        assert decode_png(card.children[1].value).shape[2] == 3
    assert app.results[0].size == (96, 120)  # the sketch's own size
    assert "2 variants" in app.status_text
    app.select_references(["green"])
    app.colorize_button.click()
    assert app.result_names == ["green"] and len(app.variants.children) == 1


def test_no_reference_gives_one_hints_only_variant(app):
    app.none_button.click()
    app.colorize()
    assert app.result_names == ["hints only"] and len(app.results) == 1


def test_click_places_a_point_at_the_clicked_fraction_in_the_picked_color(app, colorizer):
    app.color.value = "#ff00ff"
    _click(app, 0.25, 0.75)
    (point,) = app.hints.points
    assert point.rgb == (255, 0, 255)
    assert (point.x, point.y) == pytest.approx((0.25, 0.75))
    assert point.radius == pytest.approx(app.hint_size.value)
    # the hint map the model gets is magenta exactly there
    prepared = colorizer.prepare_sketch(app._sketch, SIZE)
    hint_map = colorizer.hint_map(app.hints, prepared)[0].numpy()
    h, w = prepared.processing_size
    y, x = int(0.75 * h), int(0.25 * w)
    assert hint_map[3, y, x] == 1.0
    np.testing.assert_allclose(hint_map[:3, y, x], [1.0, 0.0, 1.0])


def test_hint_edit_recolors_with_cached_encodings_only(app, colorizer, monkeypatch):
    app.colorize()
    before = _variant_bytes(app)
    renders = app.renders
    calls = {"sketch": 0, "style": 0, "colorize": 0}

    def counting(name, fn):
        def wrapped(*args, **kwargs):
            calls[name] += 1
            return fn(*args, **kwargs)
        return wrapped

    monkeypatch.setattr(colorizer, "_encode_sketch", counting("sketch", colorizer._encode_sketch))
    monkeypatch.setattr(colorizer, "_encode_style", counting("style", colorizer._encode_style))
    monkeypatch.setattr(colorizer, "colorize", counting("colorize", colorizer.colorize))
    app.color.value = "#00ff00"
    _click(app, 0.5, 0.5)
    assert app.renders == renders + 1, app.status_text
    assert calls == {"sketch": 0, "style": 0, "colorize": 0}
    after = _variant_bytes(app)
    assert len(after) == len(before) and all(a != b for a, b in zip(after, before))
    assert "recolored" in app.status_text and "1 hint" in app.status_text


@pytest.mark.numerics
def test_app_result_equals_the_library_with_the_same_hints(app, colorizer):
    app.color.value = "#ff00ff"
    _click(app, 0.3, 0.4)
    app.colorize()
    direct = colorizer.colorize(app._sketch, styles=[app._refs[0].rgb, app._refs[1].rgb], hints=app.hints, size=SIZE)
    for shown, expected in zip(app.results, direct):
        assert_same_colors(shown, expected, tolerance_of(colorizer), "the app vs the library")


def test_live_off_waits_for_colorize(app):
    app.colorize()
    app.live.value = False
    before = _variant_bytes(app)
    _click(app, 0.5, 0.5)
    assert _variant_bytes(app) == before
    app.colorize_button.click()
    assert _variant_bytes(app) != before


def test_drag_draws_a_stroke_stroke_mode_eraser_undo_clear(app):
    c = app.canvas
    _event(c, "mouse_down", 20, 20)
    for x in (30, 45, 60):
        _event(c, "mouse_move", x, 40)
    _event(c, "mouse_up", 70, 40)
    (stroke,) = app.hints.strokes
    assert stroke.xy[0] == pytest.approx((20 / 160, 20 / 200)) and stroke.xy[-1] == pytest.approx((70 / 160, 40 / 200))
    assert len(stroke.xy) >= 4

    app.mode.value = "stroke"
    _click(app, 0.8, 0.8)  # a click in stroke mode is a dot-like stroke
    assert len(app.hints.strokes) == 2 and len(app.hints.strokes[1].xy) == 1
    app.mode.value = "point"
    _click(app, 0.5, 0.9)
    assert len(app.items) == 3

    app.mode.value = "eraser"
    _event(c, "mouse_down", 0.5 * 160 + 2, 0.9 * 200)  # near the point
    assert len(app.items) == 2 and not app.hints.points
    _event(c, "mouse_down", 150, 5)  # far from everything
    assert len(app.items) == 2 and "no hint close" in app.status_text

    app.undo_button.click()
    assert len(app.items) == 1 and app.hints.strokes[0] == stroke
    app.clear_button.click()
    assert app.items == [] and app.hints.is_empty()
    app.undo_button.click()  # nothing to undo: no error
    assert app.last_error is None


def test_swatch_sets_the_color(app):
    swatch = app.swatches.children[3]
    swatch.click()
    assert app.color.value == swatch.tooltip
    _click(app, 0.1, 0.1)
    assert app.hints.points[0].rgb == hex_to_rgb(swatch.tooltip)


def test_bad_uploads_show_a_message_and_the_app_keeps_working(app):
    app.sketch_upload.value = (_upload("notes.txt", b"this is not an image"),)
    assert "notes.txt" in app.status_text and "not a recognized image" in app.status_text
    assert app.sketch_upload.value == ()
    corrupt = _png(_sketch())[:200]
    app.sketch_upload.value = (_upload("broken.png", corrupt),)
    assert "broken.png" in app.status_text
    app.sketch_upload.value = (_upload("empty.png", b""),)
    assert "empty.png" in app.status_text
    assert app.sketch_select.value == "grid"  # unchanged

    app.style_upload.value = (_upload("good.png", _png(_style((250, 200, 0)))), _upload("bad.jpg", b"\xff\xd8\xff junk"))
    assert "bad.jpg" in app.status_text and "added good.png" in app.status_text
    assert "good" in app.reference_names and "good" in app.selected_names

    app.colorize_button.click()
    assert app.last_error is None and len(app.results) == 3


def test_uploaded_sketch_is_selected_and_clears_hints(app):
    _click(app, 0.5, 0.5)
    app.sketch_upload.value = (_upload("mine.png", _png(_sketch(64, 64))),)
    assert app.sketch_select.value == "upload: mine"
    assert app.items == [] and (app.canvas.width, app.canvas.height) == (200, 200)
    app.colorize()
    assert app.results[0].size == (64, 64)


def test_save_writes_pngs_and_hints_and_lists_paths(app, tmp_path):
    app.save_button.click()
    assert "press Colorize first" in app.status_text
    app.color.value = "#123456"
    _click(app, 0.5, 0.5)
    app.colorize()
    app.save_dir.value = str(tmp_path / "saved")
    app.save_button.click()
    paths = app.saved_paths
    assert [p.name for p in paths] == ["grid__red.png", "grid__blue.png", "grid__red__palette.json",
                                       "grid__blue__palette.json", "grid__hints.json"]
    for p in paths:
        assert p.exists() and str(p) in app.saved.value
    assert Image.open(paths[0]).size == (96, 120)
    np.testing.assert_array_equal(np.asarray(Image.open(paths[0]).convert("RGB")), np.asarray(app.results[0]))
    assert Palette.load(paths[2]) == app.palettes[0]
    assert Hints.load(paths[4]) == app.hints
    assert json.loads(paths[4].read_text())["points"][0]["rgb"] == [0x12, 0x34, 0x56]


@pytest.mark.numerics
def test_refine_modes_palette_strips_and_recolor_by_region(app, colorizer):
    app.refine_mode.value = "flat"
    app.colorize()
    strips = [card.children[2] for card in app.variants.children]
    assert [len(s.children) for s in strips] == [len(p) for p in app.palettes] and all(app.palettes)
    # a swatch click takes its color and the recolor tool
    swatch = strips[0].children[-1]
    swatch.click()
    assert app.mode.value == "recolor" and app.color.value == app.palettes[0].hex()[-1]
    # a click with the recolor tool paints the whole clicked cell of the grid, nothing else
    app.color.value = "#00ff00"
    _click(app, 0.37, 0.5)
    assert len(app.recolored) == 1 and not app.items
    result = np.asarray(app.results[0])
    prepared = colorizer.prepare_sketch(app._sketch, SIZE)
    regions = colorizer.regions(prepared).resized(*result.shape[:2])
    label = regions.at(0.37, 0.5)
    inside = (regions.labels == label) & ~regions.lines
    inside &= ~np.asarray(Image.fromarray(regions.lines.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(5))).astype(bool)
    assert (np.abs(result[inside].astype(int) - [0, 255, 0]).max(axis=1) <= 12).mean() > 0.95
    assert (np.abs(result[regions.labels != label].astype(int) - [0, 255, 0]).max(axis=1) > 40).mean() > 0.9
    # the library gives the same picture for the same recoloring
    direct = colorizer.colorize(app._sketch, styles=[app._refs[0].rgb, app._refs[1].rgb], size=SIZE, mode="flat",
                                recolor=app.recolored)[0]
    assert_same_colors(direct, result, tolerance_of(colorizer), "the app vs the library, recolored")
    app.clear_hints()
    assert not app.recolored
    app.refine_mode.value = "raw"
    raw = np.asarray(app.results[0])
    assert not np.array_equal(raw, result)


def test_the_why_tool_shows_what_a_region_took_from_each_reference(app, colorizer):
    app.colorize()
    app.mode.value = "why"
    _click(app, 0.37, 0.5)
    assert not app.items and "1 hint" not in app.hint_count.value, "a click with the why? tool places no hint"
    assert "Region" in app.why.value and app.why.value.count("s2p-why-reference") == 2
    answer = app.explain_region(0.37, 0.5)
    assert [a["reference"] for a in answer] == ["red", "blue"]
    prepared = colorizer.prepare_sketch(app._sketch, SIZE)
    regions = colorizer.regions(prepared)
    label = regions.at(0.37, 0.5)
    flat = colorizer.render_references(prepared, None, [r.rgb for r in app._refs[:2]], mode="flat")
    for a, painted in zip(answer, flat):
        assert a["region"] == label and not a["hinted"]
        # the chosen color is the one the matcher paints the region in, and the most probable candidate
        assert {tuple(c) for c in painted[regions.labels == label]} == {a["rgb"]}
        chances = [p for _, _, p in a["candidates"]]
        assert chances == sorted(chances, reverse=True) and 0 < chances[0] <= 1
        assert chances[0] == pytest.approx(a["probability"])
        assert a["candidates"][0][1] == a["rgb"]
    app.add_hint_point(0.37, 0.5, (0, 255, 0))
    assert all(a["hinted"] for a in app.explain_region(0.37, 0.5)) and "your color wins" in app.why.value
    app.refine_mode.value = "raw"
    assert app.explain_region(0.37, 0.5) == [] and "raw" in app.why.value


def _first_variant_as_the_library_gives_it(app, colorizer) -> tuple[np.ndarray, list, object]:
    """Colorize in the app with *Live* on, check its first variant against ``colorize`` with the
    selected references, and return it (int), those references and the precision's tolerance."""
    app.live.value = True
    app.colorize()
    styles = [r.rgb for r in app._refs if r.toggle.value]
    first = np.asarray(app.results[0], int)
    tol = tolerance_of(colorizer)
    assert_same_colors(colorizer.colorize(app._sketch, styles=styles, size=SIZE)[0], first, tol, "the app vs the library")
    return first, styles, tol


@pytest.mark.numerics
def test_reference_color_strength_slider(app, colorizer, monkeypatch):
    """The slider starts at the colorizer's default, where the app gives the library's picture;
    moving it recolors the variants (live), and 0 gives the network's colors as ``soft`` alone. (The
    matcher's colors are not kept here, *Matched* 0: kept, they replace every region's color.)"""
    assert app.reference_color_strength.value == colorizer.reference_color_strength
    app.refine_mode.value = "soft"
    app.matched_color_strength.value = 0.0
    monkeypatch.setattr(colorizer, "matched_color_strength", 0.0)  # the colorizer's settings come back after the test
    default, styles, tol = _first_variant_as_the_library_gives_it(app, colorizer)
    app.reference_color_strength.value = 0.0
    plain = np.asarray(app.results[0], int)
    assert np.abs(plain - default).mean() > 0.5
    monkeypatch.setattr(colorizer, "reference_color_strength", 0.0)
    alone = colorizer.colorize(app._sketch, styles=styles, size=SIZE)[0]
    assert_same_colors(alone, plain, tol, "the app vs the library, reference colors 0")
    app.reference_color_strength.value = Colorizer.reference_color_strength


@pytest.mark.numerics
def test_matched_color_strength_slider(app, colorizer):
    """*Matched* starts at the colorizer's default (each region in its matched color, shaded), where
    the app gives the library's picture; at 0 the variants are the network's colors, as the
    library gives them with ``matched_color_strength`` 0; without a matcher it is disabled."""
    assert colorizer.matches_regions and app.matched_color_strength.value == colorizer.matched_color_strength == 1.0
    assert not app.matched_color_strength.disabled
    app.refine_mode.value = "soft"
    kept, styles, tol = _first_variant_as_the_library_gives_it(app, colorizer)
    app.matched_color_strength.value = 0.0
    network = np.asarray(app.results[0], int)
    assert np.abs(network - kept).mean() > 0.5, "the slider recolors the variants"
    colorizer.matched_color_strength = 0.0
    try:
        alone = colorizer.colorize(app._sketch, styles=styles, size=SIZE)[0]
    finally:
        del colorizer.matched_color_strength
    assert_same_colors(alone, network, tol, "the app vs the library, matched colors 0")
    plain = ColorizeApp(Colorizer.from_pretrained(device="cpu", matcher=False), sketches={"grid": _sketch()},
                        styles={"red": _style((210, 40, 50))}, size=SIZE, canvas_size=200)
    assert plain.matched_color_strength.disabled


@pytest.mark.numerics
def test_reference_hint_count_slider(app, colorizer):
    """The slider starts at the colorizer's count (0: off), where the app gives the library's
    picture; at 24 each variant is the network with its reference's matched hints, as
    ``colorize(reference_hint_count=24)`` gives it (the similarity floors lowered so that the test's
    flat references get hints too)."""
    assert app.reference_hint_count.value == colorizer.reference_hint_count == 0
    assert app.reference_hint_count.disabled == colorizer.matches_regions, "the matcher's colors leave no room for point hints"
    matcher, colorizer.matcher = colorizer.matcher, None  # reference hints are the network-alone path
    try:
        _reference_hint_count_slider(app, colorizer)
    finally:
        colorizer.matcher = matcher


def _reference_hint_count_slider(app, colorizer):
    plain, styles, tol = _first_variant_as_the_library_gives_it(app, colorizer)
    colorizer.reference_similarity = colorizer.reference_image_similarity = 0.0
    try:
        app.reference_hint_count.value = 24
        hinted = np.asarray(app.results[0], int)
        direct = colorizer.colorize(app._sketch, styles=styles, size=SIZE, reference_hint_count=24)[0]
    finally:
        del colorizer.reference_similarity, colorizer.reference_image_similarity
    assert np.abs(hinted - plain).mean() > 0.5
    assert_same_colors(direct, hinted, tol, "the app vs the library, 24 reference hints")
    app.reference_hint_count.value = 0


def test_internal_errors_are_reported_not_raised(app, colorizer, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("decoder exploded\nsecond line")

    monkeypatch.setattr(colorizer, "render", broken)
    app.colorize_button.click()
    assert app.status_text == "internal error: RuntimeError: decoder exploded"
    assert "Traceback" in app.last_error
    assert app.colorize_button.disabled is False
    monkeypatch.undo()
    app.colorize_button.click()
    assert len(app.results) == 2


def test_app_without_sketches_asks_for_an_upload(colorizer):
    app = ColorizeApp(colorizer, sketches={}, styles={"red": _style((200, 0, 0))}, size=SIZE)
    assert "Upload a sketch" in app.status_text
    app.colorize_button.click()
    assert "no sketch" in app.status_text
    _event(app.canvas, "mouse_down", 10, 10)
    assert "no sketch" in app.status_text


def test_add_sketch_and_reference_api(app):
    app.add_reference("yellow", _style((240, 220, 0)), selected=False)
    assert "yellow" in app.reference_names and "yellow" not in app.selected_names
    app.add_sketch("extra", b"not an image")
    assert "not a recognized image" in app.status_text
    app.add_sketch("extra", _sketch(50, 70))
    assert app.sketch_select.value == "extra"


# ------------------------------------------------------------------ TransferExplorer


@pytest.fixture
def explorer(colorizer) -> TransferExplorer:
    styles = {"red": _style((210, 40, 50)), "blue": _style((30, 70, 200))}
    return TransferExplorer(colorizer, _sketch(), styles, size=SIZE, display=160, groups=4)


def test_transfer_explorer_renders_palettes_and_attention(explorer):
    assert explorer.last_error is None, explorer.last_error
    assert explorer.output is not None and explorer.output.shape == (120, 96, 3)
    assert explorer.reference_palette and explorer.output_palette
    assert explorer.heat is not None and explorer.heat.max() == pytest.approx(1.0)
    assert explorer.reference_image.value and explorer.palette_ref.value and explorer.palette_out.value
    assert "s2p-transfer-output" in explorer.canvas._dom_classes


def test_transfer_click_moves_the_attention_without_rerendering(explorer):
    renders = explorer.renders
    heat_center = explorer.heat.copy()
    _event(explorer.canvas, "mouse_down", 5, 5)
    assert explorer.point == pytest.approx((5 / explorer.canvas.width, 5 / explorer.canvas.height))
    assert explorer.renders == renders
    expected = explorer.layers and explorer.heat
    assert expected is not None and explorer.heat.shape == heat_center.shape


def test_transfer_toggles_and_mix_rerender(explorer):
    base = explorer.output.copy()
    renders = explorer.renders
    explorer.group_toggles[0].value = False
    assert explorer.renders == renders + 1 and explorer.groups_off == [0]
    assert explorer.style_code().vector[:, :64].float().abs().sum() == 0
    explorer.attention_toggle.value = False
    assert explorer.heat is None and "attention off" in explorer.status_text
    assert np.abs(explorer.output.astype(int) - base).mean() > 0
    explorer.reset_button.click()
    assert explorer.groups_off == [] and explorer.attention_toggle.value
    explorer.mix.value = 1.0
    assert explorer.ref_b.value == "blue"
    shown = explorer.shown_reference()
    assert tuple(shown[-1, -1]) == (30, 70, 200)  # fully B


# ------------------------------------------------------------------ ExtractorExplorer and plots


def test_extractor_explorer_sliders_rerun_one_extractor():
    image = np.zeros((80, 80, 3), np.uint8)
    image[20:60, 20:60] = (200, 80, 40)
    ex = ExtractorExplorer(image, size=80, width=120, cleanup=True)
    assert set(ex.outputs) == {"xdog", "highpass", "adaptive", "cleanup"}
    before = ex.outputs["xdog"].copy()
    ex._sliders["xdog"]["sigma"].value = 2.0
    assert ex.params("xdog")["sigma"] == 2.0
    assert not np.array_equal(before, ex.outputs["xdog"])
    ex.reset("xdog")
    np.testing.assert_array_equal(before, ex.outputs["xdog"])
    assert ex.last_error is None


def test_image_grid_and_draw_hints():
    fig = image_grid([np.zeros((10, 12, 3), np.uint8)] * 4, titles=list("abcd"), ncols=3, insets=[np.ones((5, 5, 3), np.uint8)] * 4)
    assert len(fig.axes) >= 6 and fig.axes[0].get_title() == "a"
    sketch = np.full((50, 50, 3), 255, np.uint8)
    drawn = draw_hints(sketch, {"points": [{"x": 0.5, "y": 0.5, "rgb": [255, 0, 0], "radius": 0.1}]})
    assert tuple(drawn[25, 25]) == (255, 0, 0) and tuple(drawn[2, 2]) == (255, 255, 255)


def test_live_training_plot_updates_from_records():
    class FakeTrainer:
        history: list[dict] = []
        fixed_batch = {"x": np.zeros((8, 1))}

        def sample_grid(self, batch):
            return np.zeros((20, 50, 3), np.uint8)

    trainer = FakeTrainer()
    plot = LiveTrainingPlot(grid_every=1)
    for step in (5, 10):
        record = {"step": step, "l1": 1.0 / step, "total": 2.0 / step, "seconds": step, "images_per_s": 3.0}
        trainer.history.append(record)
        plot(trainer, record)
    lines = {line.get_label(): line for line in plot.ax_loss.get_lines()}
    assert set(lines) == {"l1", "total"}
    np.testing.assert_allclose(lines["l1"].get_ydata(), [0.2, 0.1])
    assert len(plot.ax_grid.images) == 1 and "step 10" in plot.figure._suptitle.get_text()


# ------------------------------------------------------------------ helpers


def test_helpers():
    assert hex_to_rgb("#e8344e") == (232, 52, 78) and hex_to_rgb("#f0a") == (255, 0, 170)
    assert rgb_to_hex((232, 52, 78)) == "#e8344e"
    with pytest.raises(Exception, match="not a color"):
        hex_to_rgb("red")
    assert upload_items(()) == [] and upload_items(None) == []
    assert upload_items({"a.png": {"name": "a.png", "content": b"x"}}) == [("a.png", b"x")]
    assert list(named_sources(["x/a.png", "y/a.png"])) == ["a", "a'"]
    assert status_text("<div>&#9888; it&#x27;s bad</div>") == "it's bad"


@pytest.mark.numerics
def test_attention_sharpness_slider(app, colorizer):
    """The slider starts at the colorizer's sharpness (1); at 4 each variant is what the colorizer
    gives at 4 (the slider sets the colorizer's own setting), and back at 1 the first picture."""
    assert app.attention_sharpness.value == colorizer.attention_sharpness == 1.0
    assert not app.attention_sharpness.disabled
    mode = app.refine_mode.value
    app.refine_mode.value = "raw"  # the network alone: with the matcher its attention only shades given colors
    app.live.value = True
    app.colorize()
    styles = [r.rgb for r in app._refs if r.toggle.value]
    plain = np.asarray(app.results[0], int)
    tol = tolerance_of(colorizer)
    try:
        app.attention_sharpness.value = 4.0
        assert colorizer.attention_sharpness == 4.0
        sharp = np.asarray(app.results[0], int)
        direct = colorizer.colorize(app._sketch, styles=styles, size=SIZE, mode="raw")[0]
        assert np.abs(sharp - plain).mean() > 3
        assert_same_colors(direct, sharp, tol, "the app vs the library, sharpness 4")
        app.attention_sharpness.value = 1.0
        assert_same_colors(app.results[0], plain, tol, "sharpness back at 1 vs the first picture")
    finally:
        colorizer.attention_sharpness = 1.0
        app.attention_sharpness.value = 1.0
        app.refine_mode.value = mode
