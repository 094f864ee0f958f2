"""Layers (s2p_lab/layers.py): split, composite, region flat colors, PNG + PSD files read back."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from s2p_lab.errors import ImageError, S2PError
from s2p_lab.layers import (
    Layers,
    composite,
    flat_from_regions,
    save_layers,
    split_layers,
    write_psd,
)

psd_tools = pytest.importorskip("psd_tools")
from psd_tools import PSDImage  # noqa: E402
from psd_tools.constants import BlendMode  # noqa: E402

H, W = 64, 96


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int32) - b.astype(np.int32)).max())


@pytest.fixture(scope="module")
def scene() -> dict[str, np.ndarray]:
    """Regions (a 3x4 grid), shading gradients across them, two highlights, and lines."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    labels = ((yy // 22) * 4 + (xx // 24)).astype(np.int32)
    palette = np.array(
        [[230, 190, 170], [40, 30, 60], [250, 250, 250], [0, 0, 0], [200, 40, 60], [60, 140, 220],
         [255, 220, 0], [20, 200, 120], [128, 128, 128], [255, 255, 255], [90, 60, 30], [180, 160, 240]],
        np.float32,
    )
    flat = palette[labels].astype(np.uint8)
    shade = 0.35 + 0.75 * (xx / W) + 0.15 * np.sin(yy / 6.0)  # shadow on the left, light on the right
    glow = 110.0 * np.exp(-((xx - 70) ** 2 + (yy - 15) ** 2) / 40.0) + 80.0 * np.exp(-((xx - 20) ** 2 + (yy - 50) ** 2) / 25.0)
    tint = np.array([1.0, 0.93, 1.08], np.float32)  # colored shading: channels move differently
    colors = palette[labels] * shade[..., None] * tint + glow[..., None] + rng.normal(0, 3, (H, W, 3))
    colors = np.clip(np.rint(colors), 0, 255).astype(np.uint8)
    lines = np.full((H, W), 255, np.uint8)
    lines[22, :] = 0
    lines[44, :] = 30
    lines[:, 24] = 60
    lines[:, 48:50] = 140  # anti-aliased, soft lines
    lines[5:60, 72] = 200
    return {"colors": colors, "flat": flat, "lines": lines, "labels": labels}


@pytest.fixture(scope="module")
def layers(scene: dict[str, np.ndarray]) -> Layers:
    return split_layers(scene["colors"], flat_from_regions(scene["colors"], scene["labels"]), scene["lines"])


@pytest.fixture(scope="module")
def psd_path(layers: Layers, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_psd(layers, tmp_path_factory.mktemp("psd") / "scene.psd")


def _finish(colors: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """What Colorizer.finish returns at line_overlay=1 (the same OpenCV call)."""
    return cv2.multiply(colors, cv2.merge([lines, lines, lines]), scale=1.0 / 255.0)


# ---------------------------------------------------------------------------------------------- split / composite


def test_round_trip_reproduces_the_colorized_image(scene, layers) -> None:
    assert np.array_equal(layers.color, _finish(scene["colors"], scene["lines"]))
    assert _max_diff(composite(layers), layers.color) <= 1
    # without lines the stack gives back the colors themselves
    paper = np.full((H, W), 255, np.uint8)
    bare = split_layers(scene["colors"], layers.flat, paper)
    assert _max_diff(composite(bare), scene["colors"]) <= 1


def test_round_trip_with_the_given_flat_colors(scene) -> None:
    split = split_layers(scene["colors"], scene["flat"], scene["lines"])
    assert _max_diff(composite(split), _finish(scene["colors"], scene["lines"])) <= 1


def test_every_pair_of_flat_and_final_level_round_trips() -> None:
    """All 256 x 256 (flat, colored) levels, black and white included, in every channel."""
    f, c = np.meshgrid(np.arange(256, dtype=np.uint8), np.arange(256, dtype=np.uint8))
    flat = np.stack([f, c, f], axis=2)
    colors = np.stack([c, f, np.flipud(c)], axis=2)
    split = split_layers(colors, flat, np.full(f.shape, 255, np.uint8))
    assert _max_diff(composite(split), colors) <= 1


def test_shading_layers_are_neutral_where_nothing_changes(scene, layers) -> None:
    same = split_layers(layers.flat, layers.flat, scene["lines"])
    assert (same.shadow == 255).all() and (same.light == 0).all()
    colors = scene["colors"]
    darker, brighter = colors < layers.flat, colors > layers.flat
    assert (layers.light[darker] == 0).all() and (layers.shadow[brighter] == 255).all()
    assert darker.any() and brighter.any()  # the scene has both shadows and highlights


def test_line_opacity_matches_the_colorizer_overlay(scene) -> None:
    colors, lines = scene["colors"], scene["lines"]
    split = split_layers(colors, scene["flat"], lines, line_opacity=0.5)
    shade = np.clip(np.rint(255.0 - 0.5 * (255.0 - lines.astype(np.float32))), 0, 255).astype(np.uint8)
    assert np.array_equal(split.color, _finish(colors, shade))
    assert _max_diff(composite(split), split.color) <= 1
    none = split_layers(colors, scene["flat"], lines, line_opacity=0.0)
    assert np.array_equal(none.color, colors)


def test_lines_layer_is_the_input_untouched(scene, layers) -> None:
    lines = scene["lines"].copy()
    split = split_layers(scene["colors"], layers.flat, lines)
    assert split.lines.dtype == np.uint8 and np.array_equal(split.lines, scene["lines"])
    lines[0, 0] = 7  # a later edit of the caller's array does not reach the layers
    assert split.lines[0, 0] == 255
    assert not split.lines.flags.writeable and not split.flat.flags.writeable
    assert split.size == (W, H)
    assert split.shading == (split.shadow, split.light)


def test_transparent_lines_match_multiply(scene, layers) -> None:
    rgba = layers.lines_rgba
    assert rgba.shape == (H, W, 4) and (rgba[..., :3] == 0).all()
    assert np.array_equal(rgba[..., 3], 255 - scene["lines"])
    below = scene["colors"].astype(np.float32)
    normal_over = below * (1.0 - rgba[..., 3:4] / 255.0)
    assert _max_diff(np.rint(normal_over), _finish(scene["colors"], scene["lines"])) <= 1


# ---------------------------------------------------------------------------------------------- flat colors


def _lower_medians(colors: np.ndarray, labels: np.ndarray) -> dict[int, np.ndarray]:
    return {
        int(k): np.array([np.sort(colors[..., c][labels == k])[((labels == k).sum() - 1) // 2] for c in range(3)])
        for k in np.unique(labels)
    }


def test_flat_from_regions_is_each_regions_median(scene) -> None:
    colors, labels = scene["colors"], scene["labels"]
    flat = flat_from_regions(colors, labels)
    assert flat.shape == colors.shape and flat.dtype == np.uint8
    for k, median in _lower_medians(colors, labels).items():
        assert (flat[labels == k] == median).all()


def test_flat_from_regions_voters_and_sparse_labels(scene) -> None:
    colors, labels = scene["colors"], scene["labels"]
    voters = scene["lines"] == 255
    flat = flat_from_regions(colors, labels, voters=voters)
    for k in range(12):
        region = labels == k
        vals = colors[region & voters]
        assert (flat[region] == np.sort(vals, axis=0)[(len(vals) - 1) // 2]).all()
    sparse = np.where(labels < 6, 0, 10**9).astype(np.int64)  # two labels, far apart
    flat2 = flat_from_regions(colors, sparse)
    assert len(np.unique(flat2.reshape(-1, 3), axis=0)) <= 2
    assert np.array_equal(flat2[sparse == 0][0], _lower_medians(colors, (sparse > 0).astype(np.int32))[0])


def test_flat_from_regions_with_very_many_regions() -> None:
    """Beyond 65,536 regions the medians come from sorting; each pixel its own region keeps it."""
    rng = np.random.default_rng(1)
    colors = rng.integers(0, 256, (260, 260, 3), dtype=np.uint8)
    labels = np.arange(260 * 260, dtype=np.int32).reshape(260, 260)
    assert np.array_equal(flat_from_regions(colors, labels), colors)
    pairs = labels // 2  # two pixels a region: the lower median is the smaller value
    expected = np.minimum(colors.reshape(-1, 2, 3)[:, 0], colors.reshape(-1, 2, 3)[:, 1])
    assert np.array_equal(flat_from_regions(colors, pairs).reshape(-1, 2, 3)[:, 0], expected)


# ---------------------------------------------------------------------------------------------- PSD


def test_psd_layers_read_back(layers, psd_path) -> None:
    psd = PSDImage.open(psd_path)
    assert psd.size == (W, H) and psd.depth == 8 and len(psd) == 4
    assert [layer.name for layer in psd] == ["flat colors", "shading shadows", "shading lights", "line art"]
    assert [layer.blend_mode for layer in psd] == [
        BlendMode.NORMAL, BlendMode.MULTIPLY, BlendMode.SCREEN, BlendMode.MULTIPLY
    ]
    expected = [layers.flat, layers.shadow, layers.light, np.repeat(layers.lines[..., None], 3, axis=2)]
    for layer, array in zip(psd, expected):
        assert layer.kind == "pixel" and layer.opacity == 255 and layer.visible
        assert layer.bbox == (0, 0, W, H)
        pixels = np.asarray(layer.topil().convert("RGB"))
        assert np.array_equal(pixels, array), layer.name


def test_psd_composites_like_ours(layers, psd_path) -> None:
    ours = composite(layers)
    psd = PSDImage.open(psd_path)
    preview = np.asarray(psd.composite().convert("RGB"))  # the merged image stored in the file
    rendered = np.asarray(psd.composite(ignore_preview=True).convert("RGB"))  # psd-tools blending
    assert _max_diff(preview, ours) <= 1
    assert _max_diff(rendered, ours) <= 1
    with Image.open(psd_path) as im:  # Pillow reads the merged image: what a viewer without layers shows
        assert _max_diff(np.asarray(im.convert("RGB")), layers.color) <= 1


def test_psd_line_opacity(scene, tmp_path) -> None:
    split = split_layers(scene["colors"], scene["flat"], scene["lines"], line_opacity=0.4)
    psd = PSDImage.open(write_psd(split, tmp_path / "soft"))
    assert (tmp_path / "soft.psd").is_file()
    assert psd[3].opacity == round(0.4 * 255)
    rendered = np.asarray(psd.composite(ignore_preview=True).convert("RGB"))
    assert _max_diff(rendered, split.color) <= 1


def test_save_layers_writes_pngs_and_psd(layers, tmp_path) -> None:
    (tmp_path / "x.psd").write_bytes(b"old")  # replaced whole
    written = save_layers(layers, tmp_path, "x")
    assert set(written) == {"lines", "lines_alpha", "flat", "shadow", "light", "psd"}
    assert {p.name for p in tmp_path.iterdir()} == {
        "x_lines.png", "x_lines_alpha.png", "x_flat.png", "x_shading_shadow.png", "x_shading_light.png", "x.psd"
    }
    with Image.open(written["lines"]) as im:
        assert im.mode == "L" and np.array_equal(np.asarray(im), layers.lines)
    with Image.open(written["lines_alpha"]) as im:
        assert im.mode == "RGBA" and np.array_equal(np.asarray(im), layers.lines_rgba)
    for key, array in (("flat", layers.flat), ("shadow", layers.shadow), ("light", layers.light)):
        with Image.open(written[key]) as im:
            assert im.mode == "RGB" and np.array_equal(np.asarray(im), array), key
    assert len(PSDImage.open(written["psd"])) == 4


def test_importing_layers_does_not_import_psd_tools() -> None:
    code = "import sys, s2p_lab.layers; assert 'psd_tools' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("colors", "flat", "lines", "match"),
    [
        ("gray", "rgb", "gray", "colors must be HxWx3"),
        ("rgb", "rgb", "rgb", "lines must be HxW gray"),
        ("float", "rgb", "gray", "colors must be uint8"),
        ("rgb", "small", "gray", "flat is 48x64 but colors is 96x64"),
        ("rgb", "rgb", "small_gray", "lines is 48x64 but colors is 96x64"),
        ("list", "rgb", "gray", "colors must be a HxWx3 RGB uint8 numpy array, got list"),
    ],
)
def test_bad_images_raise_image_error(colors, flat, lines, match) -> None:
    arrays = {
        "rgb": np.zeros((H, W, 3), np.uint8),
        "gray": np.zeros((H, W), np.uint8),
        "float": np.zeros((H, W, 3), np.float32),
        "small": np.zeros((64, 48, 3), np.uint8),
        "small_gray": np.zeros((64, 48), np.uint8),
        "list": [[0]],
    }
    with pytest.raises(ImageError, match=match) as info:
        split_layers(arrays[colors], arrays[flat], arrays[lines])
    assert "\n" not in str(info.value)


def test_other_bad_inputs(scene, layers, tmp_path) -> None:
    colors, labels = scene["colors"], scene["labels"]
    with pytest.raises(S2PError, match="line_opacity must be between 0 and 1"):
        split_layers(colors, colors, scene["lines"], line_opacity=1.5)
    with pytest.raises(S2PError, match="labels must be an integer"):
        flat_from_regions(colors, labels.astype(np.float32))
    with pytest.raises(S2PError, match="labels have shape 64x95"):
        flat_from_regions(colors, labels[:, :-1])
    with pytest.raises(S2PError, match="labels must be 0..n-1"):
        flat_from_regions(colors, labels - 1)
    with pytest.raises(S2PError, match="voters must be"):
        flat_from_regions(colors, labels, voters=np.ones((2, 2), bool))
    with pytest.raises(ImageError, match="shadow is 96x63"):
        Layers(layers.lines, layers.flat, layers.shadow[:-1], layers.light, layers.color)
    with pytest.raises(ImageError, match=r"must end in \.psd"):
        write_psd(layers, tmp_path / "x.png")
    with pytest.raises(S2PError, match="stem must be a plain file name"):
        save_layers(layers, tmp_path, "a/b")
    with pytest.raises(S2PError, match="expected Layers"):
        composite(colors)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


def test_a_written_psd_loads_back_as_its_merged_picture(tmp_path) -> None:
    """``imageio.load_image`` takes a layered PSD (as ``--layers`` writes it) as its merged
    picture, without a warning about frames."""
    import warnings

    from s2p_lab.imageio import load_image
    from s2p_lab.layers import composite, split_layers, write_psd

    rng = np.random.default_rng(3)
    colors = rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)
    flat = np.full_like(colors, 128)
    lines = np.full((40, 56), 255, np.uint8)
    lines[10:12, :] = 0
    layers = split_layers(colors, flat, lines)
    path = write_psd(layers, tmp_path / "page.psd")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loaded = load_image(path, mode="RGB")
    assert loaded.shape == colors.shape
    assert np.abs(loaded.astype(int) - composite(layers).astype(int)).max() <= 1
