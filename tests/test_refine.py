"""Refinement modes: flat colors per region, paint-bucket hints, soft smoothing that stops at lines."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from s2p_lab import Colorizer, Hints
from s2p_lab.errors import S2PError
from s2p_lab.refine import (bucket_fill, check_mode, flat, reference_samples, refine, soft, spread_hints,
                            transfer_colors)
from s2p_lab.regions import region_map

from model_helpers import assert_same_colors, assert_same_refined, tolerance_of


@pytest.fixture(scope="module")
def two_boxes():
    """A sketch with a box on the left (region A), the paper around it (region B)."""
    sketch = np.full((96, 128), 255, np.uint8)
    cv2.rectangle(sketch, (10, 10), (60, 85), 0, 2)
    regions = region_map(sketch)
    inside, outside = regions.labels[48, 35], regions.labels[48, 100]
    assert inside != outside
    return sketch, regions, inside, outside


def noisy_draft(shape: tuple[int, int], seed: int = 0) -> np.ndarray:
    """A blotchy network-like draft: a smooth random color field that ignores the lines."""
    rng = np.random.default_rng(seed)
    small = rng.integers(40, 220, (4, 5, 3)).astype(np.uint8)
    return cv2.resize(small, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)


def point_map(shape: tuple[int, int], x: int, y: int, rgb: tuple[int, int, int], r: int = 2) -> np.ndarray:
    out = np.zeros((*shape, 4), np.float32)
    cv2.circle(out, (x, y), r, (*[c / 255 for c in rgb], 1.0), -1)
    return out


def test_flat_gives_one_color_per_region(two_boxes) -> None:
    _, regions, inside, outside = two_boxes
    out = flat(noisy_draft(regions.shape), regions)
    for label in (inside, outside):
        colors = np.unique(out[regions.labels == label].reshape(-1, 3), axis=0)
        assert len(colors) == 1


def test_a_point_hint_fills_its_whole_region(two_boxes) -> None:
    _, regions, inside, outside = two_boxes
    draft = noisy_draft(regions.shape)
    hints = point_map(regions.shape, 35, 48, (250, 20, 200))
    for out in (flat(draft, regions, hints), soft(draft, regions, hints, shading=0.0)):
        region = out[regions.labels == inside].astype(int)
        assert (np.abs(region - [250, 20, 200]).max(axis=1) <= 3).mean() > 0.97
        # the paper around the box is not painted
        assert (np.abs(out[regions.labels == outside].astype(int) - [250, 20, 200]).max(axis=1) > 30).mean() > 0.97


def test_a_dot_on_an_outline_belongs_to_the_small_region(two_boxes) -> None:
    _, regions, inside, outside = two_boxes
    hints = point_map(regions.shape, 60, 48, (0, 200, 0), r=3)  # centered on the box's right edge
    fill, where = bucket_fill(hints, regions)
    assert where[regions.labels == inside].all() and not where[regions.labels == outside].any()


def test_two_hint_colors_in_one_region_split_it_near_each_click(two_boxes) -> None:
    _, regions, inside, _ = two_boxes
    hints = point_map(regions.shape, 20, 20, (255, 0, 0)) + point_map(regions.shape, 50, 75, (0, 0, 255))
    out = flat(noisy_draft(regions.shape), regions, hints, split_reach=None)
    assert tuple(out[22, 22]) == (255, 0, 0) and tuple(out[73, 48]) == (0, 0, 255)


def test_spread_hints_reach(two_boxes) -> None:
    _, regions, inside, outside = two_boxes
    hints = point_map(regions.shape, 35, 48, (10, 20, 30), r=1)
    near = spread_hints(hints, regions, reach=5)
    whole = spread_hints(hints, regions)
    assert near[48, 38, 3] == 1 and near[48, 50, 3] == 0
    assert (whole[..., 3][regions.labels == inside] == 1).all()
    assert not whole[..., 3][regions.labels == outside].any()


def test_soft_keeps_shading_and_stops_at_lines() -> None:
    sketch = np.full((64, 128), 255, np.uint8)
    sketch[:, 63:65] = 0
    regions = region_map(sketch)
    draft = np.zeros((64, 128, 3), np.uint8)
    draft[:, :64] = (200, 40, 40)
    draft[:, 64:] = (40, 40, 200)
    draft[:, :64] += np.linspace(0, 50, 64, dtype=np.uint8)[:, None, None]  # shading down the left
    out = soft(draft, regions).astype(int)
    blurred = cv2.blur(draft, (9, 9)).astype(int)
    # at 3 px from the line the colors stay far closer to the draft than a plain blur's
    assert np.abs(out[:, 60] - draft[:, 60]).mean() < 0.5 * np.abs(blurred[:, 60] - draft[:, 60]).mean()
    assert out[60, 30, 0] - out[3, 30, 0] > 30  # the shading stays


def test_modes_are_checked() -> None:
    assert check_mode("flat") == "flat"
    with pytest.raises(S2PError, match="raw, soft, flat"):
        check_mode("cel")
    with pytest.raises(S2PError):
        refine(np.zeros((8, 8, 3), np.uint8), None, "flat")


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer.from_pretrained(device="cpu")


@pytest.mark.numerics
def test_colorize_paint_bucket_on_the_face(colorizer: Colorizer, sample_dir: Path) -> None:
    """A click on the face colors the whole face in flat and soft, only a spot in raw."""
    sketch = sample_dir / "sketches" / "girl_portrait.png"
    hints = Hints().with_point(0.5, 0.55, (40, 200, 60), 0.01)
    prepared = colorizer.prepare_sketch(sketch, 256)
    regions = colorizer.regions(prepared).resized(*prepared.original_size)
    face = regions.labels == regions.at(0.5, 0.55)
    free = face & ~cv2.dilate(regions.lines.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    shares = {}
    trained = colorizer.hint_reach
    for mode, reach in (("raw", 0.0), ("raw", 0.03), ("soft", 0.03), ("flat", 0.03)):
        colorizer.hint_reach = reach
        try:
            out = np.asarray(colorizer.colorize(sketch, hints=hints, size=256, mode=mode)[0]).astype(int)
        finally:
            colorizer.hint_reach = trained
        green = (out[..., 1] - np.maximum(out[..., 0], out[..., 2])) > 60
        shares[mode, reach] = green[free].mean()
    assert shares["flat", 0.03] > 0.95 and shares["soft", 0.03] > 0.8, shares
    # the network alone colors a spot; seeing the hint spread near the click, more of the face
    assert shares["raw", 0.0] < 0.6, shares
    assert shares["raw", 0.03] > shares["raw", 0.0] + 0.1, shares


def test_strokes_and_raster_hints_reach_the_network_spread_over_their_region(colorizer: Colorizer, two_boxes) -> None:
    """The network sees a stroke or a raster hint carried over the part of its region near it, as a
    click: the drawn pixels keep their color, nothing crosses the outline, ``hint_reach=0`` is as drawn."""
    sketch = two_boxes[0]
    prepared = colorizer.prepare_sketch(sketch, 128)
    assert prepared.processing_size == sketch.shape
    labels = colorizer.regions(prepared).labels
    inside, outside = labels[48, 35], labels[48, 100]
    red = (200, 30, 40)
    stroke = Hints.from_dict({"strokes": [{"xy": [[0.22, 0.5], [0.32, 0.5]], "rgb": list(red), "width": 0.01}]})
    mask = np.zeros(sketch.shape, np.uint8)
    mask[46:50, 28:41] = 1
    raster = Hints.from_arrays(np.where(mask[..., None] > 0, np.array(red, np.uint8), 0).astype(np.uint8), mask)
    for hints in (stroke, raster):
        drawn = colorizer.hint_array(hints, prepared)
        trained = colorizer.hint_reach
        colorizer.hint_reach = 0.1  # 12.8 px at 128 px
        try:
            seen = colorizer.hint_map(hints, prepared)[0].numpy().transpose(1, 2, 0)
            colorizer.hint_reach = 0
            as_drawn = colorizer.hint_map(hints, prepared)[0].numpy().transpose(1, 2, 0)
        finally:
            colorizer.hint_reach = trained
        assert np.array_equal(as_drawn, drawn)
        on = drawn[..., 3] > 0
        assert on.any() and np.array_equal(seen[on], drawn[on])
        hinted = seen[..., 3] > 0
        assert hinted[58, 35] and hinted[48, 20]  # 10 px below the stroke, 8 px left of its end
        np.testing.assert_allclose(seen[58, 35, :3] / seen[58, 35, 3], np.array(red) / 255, atol=1e-6)
        assert not hinted[20, 35]  # 26 px away: out of reach
        assert not hinted[labels == outside].any() and hinted.sum() > 3 * on.sum()
        assert (labels[hinted & ~colorizer.regions(prepared).lines] == inside).all()


def test_colorize_rejects_unknown_modes(colorizer: Colorizer, sample_dir: Path) -> None:
    with pytest.raises(S2PError, match="mode"):
        colorizer.colorize(sample_dir / "sketches" / "cat_sitting.png", size=64, mode="cel")


@pytest.mark.numerics
@pytest.mark.parametrize("mode", ["soft", "flat", "raw"])
def test_a_shared_bucket_gives_what_each_output_would_compute(mode: str) -> None:
    """``colorize`` fills the hints once for all references; each output is as if refined alone."""
    sample = Path(__file__).resolve().parents[1] / "sample_data"
    colorizer = Colorizer.from_pretrained()
    sketch, hints = sample / "sketches" / "girl_portrait.png", sample / "hints" / "girl_hints.json"
    styles = sorted((sample / "styles").glob("*.png"))[:3]
    prepared = colorizer.prepare_sketch(sketch, 128)
    drafts = colorizer.render(prepared, colorizer.hint_map(hints, prepared), colorizer.encode_styles(styles))
    shared = colorizer.paint_buckets(hints, prepared, mode)
    assert (shared is None) == (mode == "raw")
    if shared is not None:
        assert shared[1].any(), "the sample hints fill some regions"
    for draft in drafts:
        alone = colorizer.refine(prepared, draft, hints, mode)
        assert np.array_equal(colorizer.refine(prepared, draft, hints, mode, bucket=shared), alone)
    together = colorizer.colorize(sketch, styles, hints=hints, size=128, mode=mode)
    singles = [colorizer.colorize(sketch, [s], hints=hints, size=128, mode=mode)[0] for s in styles]
    # batched decoding rounds differently, by as much as the precision that ran may
    tol = tolerance_of(colorizer)
    for a, b in zip(together, singles):
        if mode == "raw":
            assert_same_colors(a, b, tol, "batched vs single decode")
        else:  # the reference colors stretch the draft's chroma, and with it those rounding differences
            assert_same_refined(a, b, tol, f"batched vs single decode, {mode}")


def _lab(colors: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.asarray(colors, np.uint8)[None].astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)[0]


def test_transfer_colors_takes_the_references_spread_and_keeps_lightness_and_order() -> None:
    # a wash: twelve regions of nearly one orange, told apart only by small chroma steps
    rng = np.random.default_rng(0)
    wash = np.clip(np.array([200, 140, 90]) + rng.integers(-6, 7, (12, 3)), 0, 255).astype(np.uint8)
    areas = rng.integers(50, 500, 12)
    # a reference of two colors: two thirds blue, one third red
    ref = np.zeros((30, 30, 3), np.uint8)
    ref[:20], ref[20:] = (120, 150, 210), (215, 120, 110)
    samples = reference_samples(ref)
    assert np.array_equal(transfer_colors(wash, areas, samples, 0.0), wash)
    out = transfer_colors(wash, areas, samples, 1.0)
    lab_in, lab_out = _lab(wash), _lab(out)
    assert np.abs(lab_out[:, 0] - lab_in[:, 0]).max() < 8  # the network's lightness stays
    # the chroma spread is the reference's: about two thirds of the area bluish, a third reddish
    blue_area = areas[lab_out[:, 2] < 0].sum() / areas.sum()
    assert 0.5 < blue_area < 0.85
    assert lab_out[:, 2].max() - lab_out[:, 2].min() > 5 * (lab_in[:, 2].max() - lab_in[:, 2].min())
    # the network's ordering along each chroma axis is kept
    for axis in (1, 2):
        order = np.argsort(lab_in[:, axis], kind="stable")
        assert np.all(np.diff(lab_out[order, axis]) >= -1.0)
    half = _lab(transfer_colors(wash, areas, samples, 0.5))
    assert np.all(np.abs(half[:, 1:] - (lab_in[:, 1:] + lab_out[:, 1:]) / 2) < 4)


def test_reference_samples_leave_out_the_ink() -> None:
    ref = np.full((40, 40, 3), (230, 120, 160), np.uint8)
    ref[::4] = 0  # lines
    samples = reference_samples(ref)
    assert samples.shape[1] == 3 and samples[:, 0].min() > 20
    assert len(reference_samples(np.zeros((8, 8, 3), np.uint8))) == 64  # all ink: kept


@pytest.mark.numerics
def test_reference_color_strength_in_colorize(colorizer: Colorizer, sample_dir: Path) -> None:
    sketch, style = sample_dir / "sketches" / "girl_portrait.png", sample_dir / "styles" / "neon_city.png"
    try:
        colorizer.matched_color_strength = 0.0  # else every region takes its matched color, a reference color already
        colorizer.reference_color_strength = 0.0
        plain_soft, = colorizer.colorize(sketch, [style], size=128)
        plain_raw, = colorizer.colorize(sketch, [style], size=128, mode="raw")
        plain_bare, = colorizer.colorize(sketch, None, size=128)
        colorizer.reference_color_strength = 1.0
        moved, = colorizer.colorize(sketch, [style], size=128)
        raw, = colorizer.colorize(sketch, [style], size=128, mode="raw")
        bare, = colorizer.colorize(sketch, None, size=128)
    finally:
        del colorizer.reference_color_strength, colorizer.matched_color_strength  # back to the class defaults
    assert np.array_equal(np.asarray(raw), np.asarray(plain_raw))  # raw is the network alone
    assert np.abs(np.asarray(moved, np.int16) - np.asarray(plain_soft, np.int16)).mean() > 2
    assert np.array_equal(np.asarray(bare), np.asarray(plain_bare))  # no reference: nothing to move to


def test_transfer_colors_change_little_when_the_draft_changes_little() -> None:
    """A near-tie swapped by a small change of one region moves no color by a jump, and a region
    given no weight (one a hint fills) does not move the others whatever its color."""
    rng = np.random.default_rng(3)
    wash = np.clip(np.array([150, 150, 160]) + rng.integers(-3, 4, (40, 3)), 0, 255).astype(np.uint8)
    areas = rng.integers(100, 1000, 40).astype(float)
    ref = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)  # a noise reference: the widest spread
    samples = reference_samples(ref)
    base = _lab(transfer_colors(wash, areas, samples, 1.0))
    for i in range(5):
        nudged = wash.copy()
        nudged[i] = np.clip(nudged[i].astype(int) + (1, -1, 1), 0, 255)
        moved = _lab(transfer_colors(nudged, areas, samples, 1.0))
        others = np.arange(len(wash)) != i
        assert np.abs(moved[others] - base[others]).max() < 6, i
    weights = areas.copy()
    weights[0] = 0.0
    before = transfer_colors(wash, weights, samples, 1.0)
    repainted = wash.copy()
    repainted[0] = (10, 240, 20)
    after = transfer_colors(repainted, weights, samples, 1.0)
    assert np.array_equal(after[1:], before[1:])
