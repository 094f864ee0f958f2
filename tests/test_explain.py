"""The explanation tools: attention maps, palettes, style ablation and interpolation."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from s2p_lab import Colorizer, Hints
from s2p_lab import explain
from s2p_lab.errors import S2PError
from s2p_lab.models import StyleCode

from model_helpers import assert_same_colors, tolerance_of


def _sketch() -> np.ndarray:
    sketch = np.full((96, 80, 3), 255, np.uint8)
    sketch[::16] = 0
    sketch[:, ::20] = 0
    return sketch


def _reference(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    ref = np.zeros((64, 48, 3), np.uint8)
    ref[:32] = rng.integers(0, 255, 3)
    ref[32:] = rng.integers(0, 255, 3)
    return ref


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer.from_pretrained(device="cpu")


@pytest.fixture(scope="module")
def setup(colorizer):
    prepared = colorizer.prepare_sketch(_sketch(), 64)
    codes = colorizer.encode_styles([_reference(1), _reference(2)])
    return prepared, codes


# ------------------------------------------------------------------ attention


def test_attention_map_shape_range_and_state_restored(colorizer, setup):
    prepared, codes = setup
    modules = colorizer.model.generator.attention_modules()
    assert modules, "the shipped model uses attention"
    heat = explain.attention_map(colorizer, prepared, None, codes, (0.3, 0.6))
    side = colorizer.config.style_size
    assert heat.shape == (side, side) and heat.dtype == np.float32
    assert np.isfinite(heat).all() and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    assert all(not m.keep_weights and m.last_weights is None for m in modules)

    sized = explain.attention_map(colorizer, prepared, Hints(), codes, (0.3, 0.6), size=(64, 48))
    assert sized.shape == (64, 48)


@pytest.mark.numerics
def test_attention_layers_are_distributions_on_the_token_grid(colorizer, setup):
    prepared, codes = setup
    layers = explain.attention_layers(colorizer, prepared, None, codes)
    assert len(layers) == len(colorizer.model.generator.attention_modules())
    count = codes.tokens.shape[1]
    assert layers.grid ** 2 == count
    # each weight is rounded to the precision that ran (bf16: kept in it) or comes from a softmax's
    # few float32 roundings: a row sums to 1 within a few roundings (measured: 0.14 of bf16's and
    # 2.3 of float32's)
    atol = 4 * tolerance_of(colorizer).rounding
    for w in layers.weights:
        assert w.ndim == 3 and w.shape[-1] == count
        np.testing.assert_allclose(w.astype(np.float64).sum(-1), 1.0, rtol=0, atol=atol)
    # the finest layer has the most cells
    assert layers.weights[-1].shape[0] >= layers.weights[0].shape[0]


def test_attention_at_averages_layers_at_the_point():
    grid = 4
    coarse = np.zeros((2, 2, grid * grid), np.float32)
    fine = np.zeros((4, 4, grid * grid), np.float32)
    coarse[..., 0] = 1.0  # the coarse layer always looks at the top-left cell
    fine[3, 0, 15] = 1.0  # the fine layer, at the bottom-left cell, looks at the bottom-right cell
    fine[..., 5] += (fine.sum(-1) == 0)
    layers = explain.AttentionLayers([coarse, fine], grid)
    heat = explain.attention_at(layers, (0.1, 0.9))
    assert heat.shape == (grid, grid)
    assert heat[0, 0] == pytest.approx(1.0) and heat[3, 3] == pytest.approx(1.0)
    assert heat[1, 1] == 0
    with pytest.raises(S2PError):
        explain.attention_at(layers, (1.5, 0.2))


def test_attention_overlay_highlights_hot_cells():
    ref = np.full((32, 32, 3), 128, np.uint8)
    heat = np.zeros((4, 4), np.float32)
    heat[0, 0] = 1.0
    out = explain.attention_overlay(ref, heat)
    assert out.shape == ref.shape and out.dtype == np.uint8
    assert out[:4, :4].astype(int).sum() > out[-4:, -4:].astype(int).sum()


# ------------------------------------------------------------------ palettes


def test_palette_finds_the_colors_and_their_shares():
    image = np.zeros((40, 40, 3), np.uint8)
    image[:, :30] = (220, 30, 40)
    image[:, 30:] = (20, 60, 200)
    image[::7, ::7] = (250, 250, 250)
    for space in ("lab", "rgb"):
        colors = explain.palette(image, k=3, space=space)
        assert len(colors) == 3
        assert sum(s for _, s in colors) == pytest.approx(1.0)
        (first, share), (second, _) = colors[0], colors[1]
        assert np.abs(np.subtract(first, (220, 30, 40))).max() <= 3 and share > 0.6
        assert np.abs(np.subtract(second, (20, 60, 200))).max() <= 3
    assert explain.palette(image, 3) == explain.palette(image, 3)  # seeded: repeatable


def test_palette_small_images_masks_and_errors():
    flat = np.full((5, 5, 3), 9, np.uint8)
    assert explain.palette(flat, 4) == [((9, 9, 9), 1.0)]
    image = np.zeros((20, 20, 3), np.uint8)
    image[:10] = 200
    mask = np.zeros((20, 20), bool)
    mask[:10] = True
    assert explain.palette(image, 2, mask=mask) == [((200, 200, 200), 1.0)]
    assert explain.palette(image, 2, mask=np.zeros((20, 20), bool)) == []
    with pytest.raises(S2PError):
        explain.palette(image, 0)
    with pytest.raises(S2PError):
        explain.palette(image, 2, space="hsv")


def test_palette_strip_widths_follow_shares():
    strip = explain.palette_strip([((255, 0, 0), 0.75), ((0, 0, 255), 0.25)], width=100, height=10)
    assert strip.shape == (10, 100, 3)
    assert (strip[:, :75] == (255, 0, 0)).all() and (strip[:, 75:] == (0, 0, 255)).all()
    assert (explain.palette_strip([], 20, 5) == 235).all()


# ------------------------------------------------------------------ ablation and interpolation


def test_style_groups_cover_the_vector():
    slices = explain.style_groups(256, 8)
    assert len(slices) == 8 and slices[0] == slice(0, 32) and slices[-1].stop == 256
    assert sum(s.stop - s.start for s in explain.style_groups(10, 3)) == 10
    with pytest.raises(S2PError):
        explain.style_groups(8, 0)


def test_mask_style_zeroes_only_the_chosen_groups(setup):
    _, codes = setup
    code = codes.select(slice(0, 1))
    masked = explain.mask_style(code, [1], groups=8)
    vector = masked.vector.float()
    assert torch.all(vector[:, 32:64] == 0)
    assert torch.equal(masked.vector[:, :32], code.vector[:, :32])
    assert torch.equal(masked.vector[:, 64:], code.vector[:, 64:])
    assert torch.equal(masked.tokens, code.tokens)
    assert not torch.equal(code.vector[:, 32:64].float(), torch.zeros(1, 32))  # the original is untouched
    with pytest.raises(S2PError):
        explain.mask_style(code, [8], groups=8)


def test_ablate_style_groups_renders_one_image_per_group_plus_attention_off(colorizer, setup):
    prepared, codes = setup
    images = explain.ablate_style_groups(colorizer, prepared, None, codes, groups=4)
    h, w = prepared.processing_size
    assert len(images) == 5 and len(explain.ablation_labels(4)) == 5
    assert all(img.shape == (h, w, 3) and img.dtype == np.uint8 for img in images)
    base = colorizer.render(prepared, colorizer.hint_map(None, prepared), codes.select(slice(0, 1)))[0]
    # bypassing attention must change the output (its layers add a reference-dependent update) ...
    assert np.abs(images[-1].astype(int) - base).mean() > 0
    # ... and the hooks are gone afterwards: rendering again gives the base image
    again = colorizer.render(prepared, colorizer.hint_map(None, prepared), codes.select(slice(0, 1)))[0]
    np.testing.assert_array_equal(again, base)
    assert len(explain.ablate_style_groups(colorizer, prepared, None, codes, groups=4, tokens=False)) == 4


@pytest.mark.numerics
def test_interpolate_styles_is_a_convex_combination(setup):
    _, codes = setup
    a, b = codes.select(slice(0, 1)), codes.select(slice(1, 2))
    start, end = explain.interpolate_styles(a, b, 0.0), explain.interpolate_styles(a, b, 1.0)
    assert torch.equal(start.vector, a.vector) and torch.equal(end.tokens, b.tokens)
    mid = explain.interpolate_styles(a, b, 0.5)
    # mixed in float32 and rounded once to the codes' precision: the midpoint rounded the same way
    expected = (a.vector.float() + b.vector.float()) / 2
    assert torch.equal(mid.vector, expected.to(a.vector.dtype))
    assert mid.vector.dtype == a.vector.dtype and mid.present.item() == pytest.approx(1.0)
    empty = StyleCode(torch.zeros_like(a.vector), torch.zeros_like(a.tokens), torch.zeros(1))
    assert explain.interpolate_styles(a, empty, 0.25).present.item() == pytest.approx(0.75)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(S2PError):
            explain.interpolate_styles(a, b, bad)
    with pytest.raises(S2PError):
        explain.interpolate_styles(codes, a, 0.5)


@pytest.mark.numerics
def test_interpolation_strip_ends_at_the_references(colorizer, setup):
    prepared, codes = setup
    a, b = codes.select(slice(0, 1)), codes.select(slice(1, 2))
    strip = explain.interpolation_strip(colorizer, prepared, None, a, b, steps=3)
    hint_map = colorizer.hint_map(None, prepared)
    assert len(strip) == 3
    # a batch of 3 and a batch of 1 may round differently: as much as the precision that ran may
    for image, code in ((strip[0], a), (strip[-1], b)):
        single = colorizer.render(prepared, hint_map, code)[0]
        assert_same_colors(image, single, tolerance_of(colorizer), "a strip's end vs its reference alone")


def test_global_model_has_no_attention_maps(setup):
    from s2p_lab.models import ColorizationModel, ModelConfig

    model = ColorizationModel(ModelConfig(base_channels=8, style_channels=8, style_size=32, style_transfer="global"))
    small = Colorizer(model, device="cpu")
    prepared = small.prepare_sketch(_sketch(), 64)
    code = small.encode_styles([_reference(3)])
    with pytest.raises(S2PError, match="no attention"):
        explain.attention_map(small, prepared, None, code, (0.5, 0.5))
    rgb, layers = explain.render_with_attention(small, prepared, None, code)
    assert layers is None and rgb.shape[-1] == 3
    assert len(explain.ablate_style_groups(small, prepared, None, code, groups=2)) == 2
