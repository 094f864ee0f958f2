"""Level-wise incremental hint edits (``models/incremental.py``) compute what a full decode computes.

Random weights with random normalization statistics (``randomized_model``) and the shipped
weights; float32 and bf16; square and non-square; edits in the middle and at the image's edges;
one batch of references and several; the pretrained sketch features on and off.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from s2p_lab import Colorizer
from s2p_lab.rendering import changed_box
from s2p_lab.models import ModelConfig
from s2p_lab.models.incremental import decode_in_bands, decode_keeping_levels, plan_edit, redecode

from model_helpers import assert_same_edit, randomized_model, tolerance_of


def _point(x: float, y: float, rgb: tuple[int, int, int], radius: float = 0.02) -> dict:
    return {"x": x, "y": y, "rgb": list(rgb), "radius": radius}


BEFORE = {"points": [_point(0.3, 0.35, (200, 30, 40))]}
EDITS = [
    {"points": BEFORE["points"] + [_point(0.62, 0.55, (30, 60, 220))]},  # a new click
    {"points": [_point(0.3, 0.35, (40, 200, 60))]},  # a recolored click
    {"points": [_point(0.3, 0.35, (40, 200, 60)), _point(0.01, 0.98, (250, 220, 30))]},  # at a corner
    {"points": []},  # every click removed
]


def _configs(tiny: ModelConfig) -> dict[str, ModelConfig]:
    base = tiny.to_dict()
    return {
        "attention": tiny,
        "global_4_levels": ModelConfig(**{**base, "style_transfer": "global", "levels": 4, "mid_blocks": 1}),
        "sketch_backbone": ModelConfig(**{**base, "sketch_backbone": "efficientnet_lite0"}),
    }


def _sketch(height: int, width: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random((height, width)) > 0.9, 0, 255).astype(np.uint8)


def _styles(count: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(count)]


@pytest.mark.parametrize("bf16", [False, True])
@pytest.mark.parametrize("design", ["attention", "global_4_levels", "sketch_backbone"])
def test_edits_equal_a_full_decode(tiny_config: ModelConfig, design: str, bf16: bool) -> None:
    model = randomized_model(_configs(tiny_config)[design])
    sketch, styles = _sketch(256, 320), _styles(3)
    incremental = Colorizer(model, bf16=bf16)
    full = Colorizer(model, bf16=bf16, incremental=False)
    # two batches of references (levels are kept per batch); the same in both, as bf16 rounds
    # a batch of two a little differently from one reference alone
    incremental.renderer.max_batch_pixels = full.renderer.max_batch_pixels = 2 * 256 * 320
    plans = []
    run = incremental.renderer.redecode
    incremental.renderer.redecode = lambda *a, **k: (plans.append(a[4]), run(*a, **k))[1]
    incremental.colorize(sketch, styles, hints=BEFORE, size=320, mode="raw")
    for hints in EDITS:
        got = incremental.colorize(sketch, styles, hints=hints, size=320, mode="raw")
        want = full.colorize(sketch, styles, hints=hints, size=320, mode="raw")
        for a, b in zip(got, want):  # a window's convolutions may round a rare last bit differently
            assert_same_edit(a, b, tolerance_of(incremental), "level-wise edit vs full decode")
    # at 320 px the decoder's reach covers most of the image: the wider edits are decoded in full
    assert plans, "edits ran level-wise"
    assert min(p.output_share for p in plans) < 0.5, "a single click re-decodes a part of the image"


def test_kept_levels_and_colors_match_a_fresh_decode_in_float32(tiny_config: ModelConfig) -> None:
    """On the floats: after an edit, every kept level and the recomputed colors equal those of a
    full decode of the new hint map, and the colors change nowhere outside the planned region."""
    model = randomized_model(tiny_config)
    colorizer = Colorizer(model, bf16=False)
    generator = colorizer.inference_model.generator
    prepared = colorizer.prepare_sketch(_sketch(192, 256, 1), 256)
    codes = colorizer.encode_styles(_styles(2, 1))
    before, after = (colorizer.hint_map(h, prepared) for h in (BEFORE, EDITS[0]))
    box = changed_box(before, after)
    sizes = [tuple(s.shape[-2:]) for s in prepared.features.skips]
    plan = plan_edit(generator, sizes, box)
    with torch.inference_mode():
        old_rgb, levels = decode_keeping_levels(generator, generator.hint_features(prepared.features, before), codes)
        new_rgb, fresh = decode_keeping_levels(generator, generator.hint_features(prepared.features, after), codes)
        patch = redecode(generator, prepared.features, after, codes, levels, plan)
    for kept, want in zip(levels, fresh):
        assert (kept - want).abs().max().item() <= 1e-5
    y0, y1, x0, x1 = plan.output
    assert (patch - new_rgb[..., y0:y1, x0:x1]).abs().max().item() <= 1e-5
    changed = (new_rgb - old_rgb).abs().amax(dim=(0, 1)) > 0
    outside = changed.clone()
    outside[y0:y1, x0:x1] = False
    assert changed.any() and not outside.any(), "the plan holds every pixel the edit changes"
    assert plan.output_share < 0.6


@pytest.mark.numerics
def test_shipped_weights_edit_equals_a_full_decode(sample_dir) -> None:
    incremental = Colorizer.from_pretrained()
    full = Colorizer(incremental.model, bf16=incremental.bf16, incremental=False)
    sketch = sample_dir / "sketches" / "girl_portrait.png"
    styles = [sample_dir / "styles" / "sunset.png"]
    incremental.colorize(sketch, styles, hints=BEFORE, size=384, mode="raw")
    assert incremental.renderer.last is not None and incremental.renderer.last.levels is not None
    got = incremental.colorize(sketch, styles, hints=EDITS[0], size=384, mode="raw")
    want = full.colorize(sketch, styles, hints=EDITS[0], size=384, mode="raw")
    assert_same_edit(got[0], want[0], tolerance_of(incremental), "shipped weights, level-wise edit vs full decode")


def test_levels_are_not_kept_beyond_the_budget(tiny_config: ModelConfig) -> None:
    model = randomized_model(tiny_config)
    colorizer = Colorizer(model, bf16=False)
    sketch, styles = _sketch(128, 128), _styles(2)
    colorizer.colorize(sketch, styles, hints=BEFORE, size=128)
    assert colorizer.renderer.last.levels is not None
    kept = sum(t.numel() * t.element_size() for batch in colorizer.renderer.last.levels for t in batch)
    colorizer.renderer.max_level_cache_bytes = kept - 1
    colorizer.clear_cache()
    colorizer.colorize(sketch, styles, hints=BEFORE, size=128)
    assert colorizer.renderer.last is not None and colorizer.renderer.last.levels is None
    windows = []
    decode = colorizer.renderer.decode_window
    colorizer.renderer.decode_window = lambda *a, **k: (windows.append(a[3]), decode(*a, **k))[1]
    edited = colorizer.colorize(sketch, styles, hints=EDITS[0], size=128)
    want = Colorizer(model, bf16=False, incremental=False).colorize(sketch, styles, hints=EDITS[0], size=128)
    assert len(windows) == 1 and all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(edited, want))


@pytest.mark.parametrize("shared", [False, True])
@pytest.mark.parametrize("design", ["attention", "global_4_levels", "sketch_backbone"])
def test_decoding_in_bands_equals_a_whole_decode_in_float32(tiny_config: ModelConfig, design: str, shared: bool) -> None:
    """The finest level a band of rows at a time (bands that do not divide the height, a band of
    one row, a band taller than the image): the colors and every level equal a whole decode's."""
    model = randomized_model(_configs(tiny_config)[design])
    colorizer = Colorizer(model, bf16=False)
    generator = colorizer.inference_model.generator
    prepared = colorizer.prepare_sketch(_sketch(192, 256, 2), 256)
    codes = colorizer.encode_styles(_styles(2, 2))
    hint_map = colorizer.hint_map(EDITS[2], prepared)
    with torch.inference_mode():
        hinted = generator.hint_features(prepared.features, hint_map)
        want, want_levels = decode_keeping_levels(generator, hinted, codes)
        for rows in (1, 37, 64, 1000):
            got, levels = decode_in_bands(generator, prepared.features, hint_map, codes, rows, keep_levels=True,
                                          hinted=hinted if shared else None)
            assert got.shape == want.shape and (got - want).abs().max().item() <= 1e-5, rows
            assert len(levels) == len(want_levels)
            for kept, fresh in zip(levels, want_levels):
                assert kept.shape == fresh.shape and (kept - fresh).abs().max().item() <= 1e-5, rows
            alone, none = decode_in_bands(generator, prepared.features, hint_map, codes, rows)
            assert none is None and torch.equal(alone, got) if not shared else (alone - got).abs().max().item() <= 1e-5


@pytest.mark.parametrize("bf16", [False, True])
def test_the_renderer_decodes_in_bands_within_its_budget(tiny_config: ModelConfig, bf16: bool) -> None:
    """A budget smaller than one finest-level activation splits the decode into bands (full
    decodes, level-keeping decodes and the level-wise edits after them): the same colors as a
    colorizer that decodes whole, in both precisions."""
    model = randomized_model(tiny_config)
    banded = Colorizer(model, bf16=bf16)
    whole = Colorizer(model, bf16=bf16, incremental=False)
    whole.renderer.max_band_bytes = 0
    once = Colorizer(model, bf16=bf16, incremental=False)
    sketch, styles = _sketch(256, 320), _styles(3)
    prepared = banded.prepare_sketch(sketch, 320)
    width = banded.inference_model.generator.widths[0] * prepared.features.skips[0].shape[-1]
    banded.renderer.max_band_bytes = once.renderer.max_band_bytes = 64 * width * (2 if bf16 else 4)  # 4 bands of 64 rows
    assert prepared.features.skips[0].shape[-2] == 256 and banded.renderer.band_rows(prepared, 1) == 64
    assert whole.renderer.band_rows(prepared, 1) is None
    calls = []
    import s2p_lab.rendering as rendering

    run = rendering.decode_in_bands
    try:
        rendering.decode_in_bands = lambda *a, **k: (calls.append(a[4]), run(*a, **k))[1]
        for references in (styles[:1], styles):  # one batch (bands make their hinted skips), three
            for hints in [BEFORE, *EDITS]:
                want = whole.colorize(sketch, references, hints=hints, size=320, mode="raw")
                for colorizer in (banded, once):
                    got = colorizer.colorize(sketch, references, hints=hints, size=320, mode="raw")
                    for a, b in zip(got, want):
                        assert_same_edit(a, b, tolerance_of(whole), "banded vs whole decode")
    finally:
        rendering.decode_in_bands = run
    assert calls and set(calls) == {64}
    assert banded.renderer.last is not None and banded.renderer.last.levels is not None
