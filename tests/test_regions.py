"""Regions from the lines: gaps closed, hatching kept in few regions, lines absorbed; trapped balls part
narrow places."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from s2p_lab.errors import S2PError
from s2p_lab.imageio import load_image, resize_long_side
from s2p_lab.regions import RegionMap, ball_radii, line_mask, region_map, region_overlay, trapped_ball_regions
from s2p_lab.sketch import cleanup_sketch


def ring_with_gap(canvas: np.ndarray, center: tuple[int, int], radius: int, gap: int, ink: int = 0,
                  thickness: int = 2) -> None:
    """A circle outline with a ``gap`` px opening on its right side."""
    cv2.circle(canvas, center, radius, ink, thickness, cv2.LINE_AA)
    cx, cy = center
    canvas[cy - gap // 2 : cy - gap // 2 + gap, cx + radius - thickness - 2 : cx + radius + thickness + 2] = 255


def test_every_pixel_has_a_consecutive_label() -> None:
    sketch = np.full((120, 160), 255, np.uint8)
    cv2.rectangle(sketch, (20, 20), (80, 90), 0, 2)
    cv2.line(sketch, (100, 0), (100, 119), 0, 3)
    regions = region_map(sketch)
    assert regions.labels.shape == sketch.shape and regions.labels.dtype == np.int32
    assert regions.labels.min() == 0
    assert set(np.unique(regions.labels)) == set(range(regions.count))
    # inside the box, outside it, right of the vertical line: three regions, lines absorbed
    assert regions.count == 3
    assert regions.lines[20, 50] and regions.labels[20, 50] in (regions.at(0.3, 0.45), regions.at(0.05, 0.05))
    assert len({regions.at(0.3, 0.45), regions.at(0.05, 0.05), regions.at(0.9, 0.5)}) == 3


MAPS = [region_map, trapped_ball_regions]


@pytest.mark.parametrize("make", MAPS)
@pytest.mark.parametrize("gap", [2, 3])
def test_a_closed_shape_with_a_small_gap_is_one_region(gap: int, make: Callable[..., RegionMap]) -> None:
    sketch = np.full((256, 256), 255, np.uint8)
    ring_with_gap(sketch, (128, 128), 60, gap)
    regions = make(sketch)
    inside, outside = regions.labels[128, 128], regions.labels[10, 10]
    assert inside != outside
    disc = np.zeros_like(sketch)
    cv2.circle(disc, (128, 128), 55, 1, -1)
    assert (regions.labels[disc > 0] == inside).mean() > 0.98


@pytest.mark.parametrize("make", MAPS)
def test_wide_openings_stay_open(make: Callable[..., RegionMap]) -> None:
    sketch = np.full((256, 256), 255, np.uint8)
    ring_with_gap(sketch, (128, 128), 60, 40)
    regions = make(sketch)
    assert regions.labels[128, 128] == regions.labels[10, 10]


def test_hatching_does_not_explode() -> None:
    sketch = np.full((256, 256), 255, np.uint8)
    cv2.rectangle(sketch, (30, 30), (220, 220), 0, 2)
    for x in range(40, 130, 4):  # dense hatching in the left half of the box
        cv2.line(sketch, (x, 40), (x + 30, 210), 60, 1)
    regions = region_map(sketch)
    assert regions.count < 40
    assert regions.labels[128, 200] == regions.labels[60, 200]  # the right half is one region


def _dumbbell(neck: int) -> np.ndarray:
    """The outline of two discs joined by a neck ``neck`` px wide (no line across it)."""
    shape = np.zeros((256, 320), np.uint8)
    cv2.circle(shape, (97, 128), 60, 1, -1)
    cv2.circle(shape, (223, 128), 60, 1, -1)
    shape[128 - neck // 2 : 128 - neck // 2 + neck, 150:170] = 1
    contours, _ = cv2.findContours(shape, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    sketch = np.full(shape.shape, 255, np.uint8)
    cv2.drawContours(sketch, contours, -1, 0, 1)
    return sketch


@pytest.mark.parametrize("neck", [10, 12])
def test_trapped_balls_part_a_narrow_place_that_region_map_keeps_whole(neck: int) -> None:
    sketch = _dumbbell(neck)
    parts = trapped_ball_regions(sketch)  # 256 px: balls of radius 6 and less, too wide for the neck
    assert len({parts.labels[128, 80], parts.labels[128, 240], parts.labels[5, 5]}) == 3
    assert set(np.unique(parts.labels)) == set(range(parts.count))
    whole = region_map(sketch)
    assert whole.labels[128, 80] == whole.labels[128, 240] != whole.labels[5, 5]
    # a ball that fits through the neck keeps the two discs together
    assert len(set(trapped_ball_regions(sketch, radius=2).labels[128, [80, 240]])) == 1


def test_trapped_balls_keep_hatching_in_few_regions_and_check_the_radius() -> None:
    sketch = np.full((256, 256), 255, np.uint8)
    cv2.rectangle(sketch, (30, 30), (220, 220), 0, 2)
    for x in range(40, 130, 4):
        cv2.line(sketch, (x, 40), (x + 30, 210), 60, 1)
    parts = trapped_ball_regions(sketch)
    # the strips between strokes merge; the band beside the strokes' ends parts at each end
    assert parts.count < 60
    assert parts.labels[128, 200] == parts.labels[60, 200]
    assert ball_radii(12) == [12, 8, 5, 3, 2, 1] and ball_radii(0) == []
    assert trapped_ball_regions(np.full((32, 48), 255, np.uint8)).count == 1
    with pytest.raises(S2PError):
        trapped_ball_regions(sketch, radius=99)


def test_faint_lines_are_found_and_paper_noise_is_not() -> None:
    rng = np.random.default_rng(0)
    sketch = np.clip(rng.normal(248, 2, (128, 128)), 0, 255).astype(np.uint8)
    cv2.line(sketch, (64, 0), (64, 127), 170, 2)  # faint pencil
    mask = line_mask(sketch)
    assert mask[:, 64].mean() > 0.9
    assert mask[:, :50].mean() < 0.01
    assert region_map(sketch).count == 2


def test_blank_and_bad_sketches() -> None:
    assert region_map(np.full((32, 48), 255, np.uint8)).count == 1
    with pytest.raises(S2PError):
        region_map(np.zeros((10, 10), np.float32))
    with pytest.raises(S2PError):
        region_map(np.zeros((10, 10), np.uint8), levels=9)


def test_overlay_and_resize() -> None:
    sketch = np.full((64, 64, 3), 255, np.uint8)
    cv2.rectangle(sketch, (10, 10), (50, 50), (0, 0, 0), 2)
    regions = region_map(sketch)
    picture = region_overlay(regions)
    assert picture.shape == (64, 64, 3) and picture.dtype == np.uint8
    big = regions.resized(128, 128)
    assert big.count == regions.count and big.labels[64, 64] == regions.labels[32, 32]


def test_the_sample_pencil_portrait_has_one_face(sample_dir: Path) -> None:
    for name in ("sketches/girl_portrait.png", "sketches_photo/pencil_girl.jpg"):
        lines = resize_long_side(cleanup_sketch(load_image(sample_dir / name)), 512)
        regions = region_map(lines)
        face = {regions.at(x, y) for x, y in ((0.5, 0.52), (0.42, 0.56), (0.58, 0.56), (0.5, 0.62))}
        assert len(face) == 1, name
        assert regions.at(0.02, 0.02) not in face
        assert 10 < regions.count < 300


def _real_sketches(shared_data: Path) -> list[np.ndarray]:
    from s2p_lab.fileio import list_image_files

    paths = list_image_files(shared_data / "sketches")
    if not paths:
        pytest.skip("no real sketches in the shared data")
    return [resize_long_side(cleanup_sketch(load_image(p)), 512) for p in paths]


def test_real_sketches_give_a_sane_number_of_regions(shared_data: Path) -> None:
    counts = [region_map(lines).count for lines in _real_sketches(shared_data)]
    assert max(counts) < 600, counts  # hatching and pencil texture do not explode into thousands
    assert np.median(counts) > 10


def test_a_gapped_ring_drawn_on_real_sketches_is_one_region(shared_data: Path) -> None:
    for lines in _real_sketches(shared_data)[::6]:
        # the sketch's own darkest ink, the ring in a white margin beside the drawing
        ink = int(np.percentile(lines[lines < 250], 5)) if (lines < 250).any() else 0
        canvas = np.full((lines.shape[0], lines.shape[1] + 160), 255, np.uint8)
        canvas[:, : lines.shape[1]] = lines
        center = (lines.shape[1] + 80, lines.shape[0] // 2)
        ring_with_gap(canvas, center, 60, 3, ink=ink)
        regions = region_map(canvas)
        inside = regions.labels[center[1], center[0]]
        assert inside != regions.labels[center[1], center[0] + 75]
        assert (regions.labels[center[1] - 40 : center[1] + 40, center[0] - 40 : center[0] + 40] == inside).all()
