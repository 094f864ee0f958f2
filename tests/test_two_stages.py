"""The default colorization in two stages: the shipped matcher chooses each region's color from the
reference, the network shades it; ``flat`` is the matcher alone, ``raw`` the network alone; the
user's hints keep their regions; layers and a layered PSD."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from s2p_lab import Colorizer, Hints
from s2p_lab.cli import main as cli_main

SIZE = 128


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer.from_pretrained()


@pytest.fixture(scope="module")
def sketch(sample_dir: Path) -> Path:
    return sample_dir / "sketches" / "girl_portrait.png"


@pytest.fixture(scope="module")
def style(sample_dir: Path) -> Path:
    return sample_dir / "styles" / "sunset.png"


def test_the_shipped_colorizer_matches_regions(colorizer: Colorizer) -> None:
    assert colorizer.matches_regions and colorizer.matcher.meta["name"] == "matcher-v2"
    assert not Colorizer.from_pretrained(matcher=False).matches_regions


def test_flat_gives_every_region_a_reference_color_or_the_prior(colorizer: Colorizer, sketch: Path, style: Path) -> None:
    prepared = colorizer.prepare_sketch(sketch, SIZE)
    flat = colorizer.render_references(prepared, None, [style], mode="flat")[0]
    regions = colorizer.regions(prepared)
    parts = colorizer.reference_parts(style)
    allowed = {tuple(c) for c in __import__("s2p_lab.matching.predict", fromlist=["lab_to_rgb8"]).lab_to_rgb8(
        np.concatenate([parts.segments.lab, colorizer.matcher.model.prior_lab.numpy()]))}
    for label in range(regions.count):
        colors = np.unique(flat[regions.labels == label], axis=0)
        assert len(colors) == 1 and tuple(colors[0]) in allowed
    assert len(np.unique(flat.reshape(-1, 3), axis=0)) >= 3, "parts take different colors, not one wash"


def test_a_hint_keeps_its_region_from_the_matcher(colorizer: Colorizer, sketch: Path, style: Path) -> None:
    prepared = colorizer.prepare_sketch(sketch, SIZE)
    regions = colorizer.regions(prepared)
    biggest_inner = int(np.argsort(regions.pixel_counts)[-2])  # a large region that is not the background
    ys, xs = np.nonzero(regions.labels == biggest_inner)
    h, w = regions.shape
    hint = Hints.from_dict({"points": [{"x": (xs[len(xs) // 2] + 0.5) / w, "y": (ys[len(ys) // 2] + 0.5) / h,
                                        "rgb": [20, 200, 40], "radius": 0.01}]})
    colors = colorizer.region_colors(prepared, style)
    hint_map = colorizer.matched_hint_map(prepared, hint, colors).numpy()[0]
    inside = regions.labels == biggest_inner
    drawn = inside & (hint_map[3] > 0)
    assert drawn.any() and np.allclose(hint_map[:3][:, drawn].T, np.array([20, 200, 40]) / 255.0, atol=0.01), \
        "the hinted region holds the user's color alone, not the matcher's"
    others = (regions.labels != biggest_inner) & (hint_map[3] > 0)
    assert others.mean() > 0.5, "the other regions are filled with their matched colors"
    out = np.asarray(colorizer.colorize(sketch, [style], hints=hint, size=SIZE, mode="flat")[0].resize((w, h), Image.NEAREST))
    share = (np.abs(out[inside].astype(int) - [20, 200, 40]).max(axis=1) < 40).mean()
    assert share > 0.8, share


def test_raw_is_the_network_alone(colorizer: Colorizer, sketch: Path, style: Path) -> None:
    alone = Colorizer.from_pretrained(matcher=False, bf16=colorizer.bf16)
    a = np.asarray(colorizer.colorize(sketch, [style], size=SIZE, mode="raw")[0])
    b = np.asarray(alone.colorize(sketch, [style], size=SIZE, mode="raw")[0])
    assert np.array_equal(a, b)


def test_soft_shades_the_matched_colors_and_leaves_hinted_regions_to_the_user(colorizer: Colorizer, sketch: Path,
                                                                             style: Path) -> None:
    from s2p_lab.refine import region_medians

    prepared = colorizer.prepare_sketch(sketch, SIZE)
    regions = colorizer.regions(prepared)
    colors = colorizer.matched_colors(prepared, [style])[0]
    assert colors is not None
    draft = colorizer.render_references(prepared, None, [style], colors=[colors])[0]
    inner = int(np.argsort(regions.pixel_counts)[-2])
    ys, xs = np.nonzero(regions.labels == inner)
    h, w = regions.shape
    hint = Hints.from_dict({"points": [{"x": (xs[len(xs) // 2] + 0.5) / w, "y": (ys[len(ys) // 2] + 0.5) / h,
                                        "rgb": [20, 200, 40], "radius": 0.01}]})
    before = colorizer.matched_color_strength
    try:
        colorizer.matched_color_strength = 1.0
        strengths = colorizer.matched_strengths(prepared, hint, colors)
        assert strengths[inner] == 0 and strengths.sum() >= regions.count - 3, "the user's region is left out"
        reached = np.unique(regions.labels[colorizer.hint_map(hint, prepared).numpy()[0, 3] > 0])
        assert np.array_equal(np.flatnonzero(strengths == 0), reached), "as the network's hint map leaves them"
        shaded = colorizer.refine(prepared, draft, None, "soft", matched=colors)
        colorizer.matched_color_strength = 0.0
        network = colorizer.refine(prepared, draft, None, "soft", matched=colors)
        assert np.array_equal(network, colorizer.refine(prepared, draft, None, "soft")), "0: the network's colors"
    finally:
        colorizer.matched_color_strength = before
    medians = region_medians(shaded, regions.labels, regions.count, ~regions.lines).astype(int)
    big = regions.pixel_counts >= 200
    off = np.abs(medians - colors.rgb.astype(int)).max(axis=1)
    assert np.median(off[big]) <= 3, "each region's median lands on its matched color"
    assert np.mean(off[big] <= 12) > 0.9, off[big]
    inside = shaded[regions.labels == inner].astype(float)
    assert inside.std(axis=0).max() > 0.5, "the network's shading stays on top"
    assert not np.array_equal(shaded, network)


def test_a_one_color_reference_gives_its_color_or_skin(colorizer: Colorizer, sketch: Path) -> None:
    gray = np.full((16, 16, 3), (120, 130, 140), np.uint8)
    prepared = colorizer.prepare_sketch(sketch, SIZE)
    colors = colorizer.region_colors(prepared, gray)
    assert colors is not None
    prior = tuple(__import__("s2p_lab.matching.predict", fromlist=["lab_to_rgb8"]).lab_to_rgb8(
        colorizer.matcher.model.prior_lab.numpy())[0])
    assert {tuple(c) for c in colors.rgb} <= {(120, 130, 140), prior}


def test_layers_give_back_the_picture(colorizer: Colorizer, sketch: Path, style: Path) -> None:
    picture = np.asarray(colorizer.colorize(sketch, [style], size=SIZE)[0])
    layers = colorizer.colorize(sketch, [style], size=SIZE, layers=True)[0]
    assert np.array_equal(np.asarray(layers.image), picture)
    assert layers.lines.shape == picture.shape[:2] and layers.flat.shape == picture.shape


def test_the_command_line_writes_layers_and_takes_the_matcher_options(tmp_path: Path, sketch: Path, style: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    code = cli_main(["colorize", str(sketch), "--style", str(style), "--size", str(SIZE), "--layers",
                     "-o", str(tmp_path / "out")])
    assert code == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert "sunset.png" in names and "sunset.psd" in names and "sunset_flat.png" in names
    from psd_tools import PSDImage

    assert len(list(PSDImage.open(tmp_path / "out" / "sunset.psd"))) == 4
    code = cli_main(["colorize", str(sketch), "--style", str(style), "--size", str(SIZE), "--matcher", "none",
                     "-o", str(tmp_path / "plain")])
    assert code == 0 and (tmp_path / "plain" / "sunset.png").is_file()
    capsys.readouterr()
    code = cli_main(["colorize", str(sketch), "--style", str(style), "--match-confidence", "2", "-o", str(tmp_path / "x")])
    err = capsys.readouterr().err
    assert code == 2 and "--match-confidence" in err and err.count("\n") == 1


def test_the_matchers_choices_can_be_drawn(colorizer: Colorizer, sketch: Path, style: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from s2p_lab.errors import S2PError
    from s2p_lab.imageio import load_image
    from s2p_lab.matching.explain import choice_figure, region_at, score_matrix_figure

    prepared = colorizer.prepare_sketch(sketch, SIZE)
    reference = load_image(style)
    figure = choice_figure(colorizer, prepared, reference, [(0.5, 0.45), (0.5, 0.9)])
    assert len(figure.axes) == 6
    matrix = score_matrix_figure(colorizer, prepared, reference, regions_shown=5)
    heat = matrix.axes[1].images[0].get_array()
    assert heat.shape == (5, len(colorizer.reference_parts(style).segments.palette) + 1)
    assert np.allclose(np.asarray(heat).sum(axis=1), 1.0, atol=1e-5), "each row: one region's probabilities"
    labels = colorizer.regions(prepared).labels
    assert region_at(labels, 0.0, 0.0) == labels[0, 0]
    with pytest.raises(S2PError, match="inside the sketch"):
        region_at(labels, 1.5, 0.2)


@pytest.mark.numerics
def test_a_hint_edit_with_several_references_redecodes_only_around_it(sketch: Path, sample_dir: Path) -> None:
    """Each reference has its own hint map with the matcher: each keeps its render, so a hint edit
    decodes a window around the edit for every reference (level by level for the newest), and
    gives what a fresh colorizer gives (at 512 px: at smaller sizes the window is most of the image)."""
    from model_helpers import assert_same_edit, tolerance_of

    styles = sorted((sample_dir / "styles").glob("*.png"))[:3]
    before = {"points": [{"x": 0.3, "y": 0.3, "rgb": [200, 40, 40], "radius": 0.01}]}
    after = {"points": before["points"] + [{"x": 0.5, "y": 0.85, "rgb": [40, 40, 200], "radius": 0.01}]}
    colorizer = Colorizer.from_pretrained()
    colorizer.colorize(sketch, styles, before, size=512)
    assert len(colorizer.renderer.renders) == 3 and [r.levels is not None for r in colorizer.renderer.renders] == [False, False, True]
    windows: list[object] = []
    decode_window = colorizer.renderer.decode_window
    colorizer.renderer.decode_window = lambda *args, **kwargs: windows.append(args[3]) or decode_window(*args, **kwargs)
    edited = colorizer.colorize(sketch, styles, after, size=512)
    assert len(windows) == 2 and all(w is not None for w in windows), "two windows and one level-wise edit"
    fresh = Colorizer.from_pretrained().colorize(sketch, styles, after, size=512)
    for got, want in zip(edited, fresh):
        assert_same_edit(got, want, tolerance_of(colorizer), "several references")
