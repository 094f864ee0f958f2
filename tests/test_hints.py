"""Hints: JSON contract and validation, rendering to the hint map, simulation, evaluation hints."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s2p_lab.errors import HintsError
from s2p_lab.hints import (
    MAX_FILE_BYTES,
    MAX_RASTER_POINTS,
    Hints,
    Point,
    Stroke,
)
from s2p_lab.hint_simulation import deterministic_hints, region_scribbles, simulate_hints

HYPOTHESIS = settings(
    database=None, deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow]
)

SAMPLE = {
    "points": [
        {"x": 0.31, "y": 0.52, "rgb": [230, 40, 60], "radius": 0.01},
        {"x": 0.0, "y": 1.0, "rgb": [0, 0, 0], "radius": 0.25},
    ],
    "strokes": [{"xy": [[0.1, 0.2], [0.15, 0.22], [0.2, 0.3]], "rgb": [20, 90, 200], "width": 0.008}],
}


def check_map(m: np.ndarray, h: int, w: int) -> None:
    assert m.shape == (h, w, 4) and m.dtype == np.float32
    assert np.isfinite(m).all() and m.min() >= 0.0 and m.max() <= 1.0
    assert set(np.unique(m[..., 3]).tolist()) <= {0.0, 1.0}
    assert (m[..., :3] <= m[..., 3:4]).all()  # color is premultiplied by alpha


# ----------------------------------------------------------------------------------------------
# JSON and coercion


def test_dict_and_json_round_trip(tmp_path: Path) -> None:
    hints = Hints.from_dict(SAMPLE)
    assert len(hints.points) == 2 and len(hints.strokes) == 1 and len(hints) == 3
    assert hints.to_dict() == SAMPLE
    assert Hints.from_json(hints.to_json()) == hints
    assert Hints.from_json(hints.to_json(indent=None).encode()) == hints
    path = hints.save(tmp_path / "sub" / "h.json")
    assert path.is_file() and sorted(p.name for p in path.parent.iterdir()) == ["h.json"]
    assert Hints.from_json(path) == hints
    assert Hints.from_json(str(path)) == hints
    assert json.loads(path.read_text()) == SAMPLE


def test_defaults_and_optional_keys() -> None:
    hints = Hints.from_dict({"points": [{"x": 0, "y": 1, "rgb": [1, 2, 3]}]})
    assert hints.points[0] == Point(0.0, 1.0, (1, 2, 3), 0.01)
    assert Hints.from_dict({"strokes": [{"xy": [[0.5, 0.5]], "rgb": [1, 2, 3]}]}).strokes[0].width == 0.008
    assert Hints.from_dict({}).is_empty()
    assert Hints.from_dict({"points": None, "strokes": []}).is_empty()
    assert Hints.from_dict({"points": [{"x": 0.5, "y": 0.5, "rgb": [1.0, 2, 3]}]}).points[0].rgb == (1, 2, 3)


def test_load_coerces_everything(tmp_path: Path) -> None:
    hints = Hints.from_dict(SAMPLE)
    path = hints.save(tmp_path / "h.json")
    assert Hints.load(None).is_empty()
    assert Hints.load(hints) is hints
    assert Hints.load(SAMPLE) == hints
    assert Hints.load(path) == hints
    assert Hints.load(str(path)) == hints
    assert Hints.load(json.dumps(SAMPLE)) == hints
    assert Hints.load("  " + json.dumps(SAMPLE)) == hints
    with pytest.raises(HintsError):
        Hints.load(42)
    with pytest.raises(HintsError):
        Hints.load([SAMPLE])


def test_file_errors(tmp_path: Path) -> None:
    with pytest.raises(HintsError, match=r"gone\.json.*not found"):
        Hints.from_json(tmp_path / "gone.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"points": [\n  {"x": 0.1,, "y": 2}\n]}')
    with pytest.raises(HintsError) as exc:
        Hints.from_json(bad)
    assert "bad.json" in str(exc.value) and "line 2 column" in str(exc.value)
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(HintsError, match="directory"):
        Hints.load(tmp_path / "dir.json")
    huge = tmp_path / "huge.json"
    with open(huge, "wb") as fh:
        fh.truncate(MAX_FILE_BYTES + 1)  # sparse: fast to make
    with pytest.raises(HintsError, match="10 MB"):
        Hints.from_json(huge)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(HintsError, match="bin.json"):
        Hints.from_json(binary)
    nested = tmp_path / "deep.json"
    nested.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(HintsError):
        Hints.from_json(nested)
    invalid = tmp_path / "invalid.json"
    invalid.write_text(json.dumps({"points": [{"x": 2, "y": 0, "rgb": [0, 0, 0]}]}))
    with pytest.raises(HintsError, match=r"invalid\.json: points\[0\]\.x: 2 is outside 0\.\.1"):
        Hints.from_json(invalid)


def _point(**kw: object) -> dict:
    base: dict = {"x": 0.5, "y": 0.5, "rgb": [10, 20, 30]}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not ...}


@pytest.mark.parametrize(
    "data,message",
    [
        ({"points": [_point(), _point(), _point(rgb=[1, 300, 2])]}, "points[2].rgb[1]: 300 is outside 0..255"),
        ({"strokes": [{"xy": [[0, 0], [0, 0], [0, 0], [1.7, 0]], "rgb": [0, 0, 0]}]},
         "strokes[0].xy[3]: x=1.7 is outside 0..1"),
        ({"strokes": [{"xy": [[0, -0.5]], "rgb": [0, 0, 0]}]}, "strokes[0].xy[0]: y=-0.5 is outside 0..1"),
        ({"points": [_point(y=...)]}, 'points[0]: missing "y"'),
        ({"points": [_point(rgb=...)]}, 'points[0]: missing "rgb"'),
        ({"strokes": [{"rgb": [0, 0, 0]}]}, 'strokes[0]: missing "xy"'),
        ({"points": [_point(x=float("nan"))]}, "points[0].x: nan is not a finite number"),
        ({"points": [_point(y=float("inf"))]}, "points[0].y: inf is not a finite number"),
        ({"points": [_point(x=True)]}, "points[0].x: expected a number, got boolean"),
        ({"points": [_point(x="0.5")]}, "points[0].x: expected a number, got string"),
        ({"points": [_point(x=None)]}, "points[0].x: expected a number, got null"),
        ({"points": [_point(x=10**400)]}, "points[0].x:"),
        ({"points": [_point(rgb=[1, True, 3])]}, "points[0].rgb[1]: expected an integer 0..255, got boolean"),
        ({"points": [_point(rgb=[1, 2.5, 3])]}, "points[0].rgb[1]: 2.5 is not an integer"),
        ({"points": [_point(rgb=[1, 2])]}, "points[0].rgb: expected [r, g, b], got an array of length 2"),
        ({"points": [_point(rgb="red")]}, "points[0].rgb: expected [r, g, b], got string"),
        ({"points": [_point(rgb=[-1, 0, 0])]}, "points[0].rgb[0]: -1 is outside 0..255"),
        ({"points": [_point(radius=0)]}, "points[0].radius: 0 is outside (0, 0.25]"),
        ({"points": [_point(radius=0.3)]}, "points[0].radius: 0.3 is outside (0, 0.25]"),
        ({"points": [_point(colour=[1, 2, 3])]}, 'points[0]: unknown key(s) "colour"'),
        ({"points": [[0.5, 0.5]]}, "points[0]: expected an object, got array"),
        ({"points": {"x": 1}}, "points: expected a list, got object"),
        ({"strokes": "abc"}, "strokes: expected a list, got string"),
        ({"strokes": [{"xy": [], "rgb": [0, 0, 0]}]}, "strokes[0].xy: a stroke needs at least 1 point"),
        ({"strokes": [{"xy": [[0.1, 0.2, 0.3]], "rgb": [0, 0, 0]}]},
         "strokes[0].xy[0]: expected [x, y], got an array of length 3"),
        ({"strokes": [{"xy": [0.1, 0.2], "rgb": [0, 0, 0]}]}, "strokes[0].xy[0]: expected [x, y], got number"),
        ({"strokes": [{"xy": [[0.1, 0.2]], "rgb": [0, 0, 0], "width": -1}]}, "strokes[0].width: -1 is outside"),
        ({"points": [], "colors": [], "extra": 1}, 'hints: unknown key(s) "colors", "extra"'),
        ([1, 2, 3], "hints: expected an object, got array"),
        ("text", "hints: expected an object, got string"),
    ],
)
def test_validation_messages_name_the_field(data: object, message: str) -> None:
    with pytest.raises(HintsError) as exc:
        Hints.from_dict(data)
    text = str(exc.value)
    assert "\n" not in text
    assert text.startswith(message), text


def test_items_validate_on_construction() -> None:
    with pytest.raises(HintsError, match="point.x"):
        Point(1.5, 0.5, (0, 0, 0))
    with pytest.raises(HintsError, match="stroke.xy"):
        Stroke((), (0, 0, 0))
    with pytest.raises(HintsError, match="rgb"):
        Stroke(((0.1, 0.1),), (0, 0, 256))
    p = Point(np.float32(0.5), 1, np.array([1, 2, 3]))  # numpy scalars are fine
    assert p.x == 0.5 and p.y == 1.0 and p.rgb == (1, 2, 3)
    assert isinstance(p.rgb[0], int)


# ----------------------------------------------------------------------------------------------
# rendering


def test_point_to_map() -> None:
    hints = Hints.from_dict({"points": [{"x": 0.25, "y": 0.5, "rgb": [255, 128, 0], "radius": 0.02}]})
    m = hints.to_map(100, 200)  # radius 0.02 * 200 = 4 px around column 49.5, row 49.5
    check_map(m, 100, 200)
    np.testing.assert_allclose(m[50, 50], [1.0, 128 / 255, 0.0, 1.0], atol=1e-6)
    ys, xs = np.nonzero(m[..., 3])
    assert abs(ys.mean() - 49.5) < 1 and abs(xs.mean() - 49.5) < 1
    assert abs(len(ys) - math.pi * 16) < 20
    assert (ys.max() - ys.min()) <= 9 and (xs.max() - xs.min()) <= 9
    assert m[10, 150].tolist() == [0, 0, 0, 0]
    np.testing.assert_array_equal(m, hints.to_map(100, 200))  # deterministic


def test_stroke_to_map() -> None:
    hints = Hints.from_dict({"strokes": [{"xy": [[0.1, 0.5], [0.9, 0.5]], "rgb": [0, 0, 255], "width": 0.02}]})
    m = hints.to_map(100, 200)  # 4 px thick horizontal line at row 49.5 from column 19.5 to 179.5
    check_map(m, 100, 200)
    np.testing.assert_allclose(m[50, 100], [0, 0, 1, 1])
    assert m[50, 5, 3] == 0 and m[50, 195, 3] == 0 and m[40, 100, 3] == 0 and m[60, 100, 3] == 0
    rows = np.nonzero(m[:, 100, 3])[0]
    assert 3 <= len(rows) <= 6
    cols = np.nonzero(m[50, :, 3])[0]
    assert cols.min() <= 20 and cols.max() >= 179


def test_minimum_one_pixel_and_single_point_stroke() -> None:
    hints = Hints.from_dict({
        "points": [{"x": 0.5, "y": 0.5, "rgb": [9, 9, 9], "radius": 1e-6}],
        "strokes": [{"xy": [[0.1, 0.1]], "rgb": [200, 0, 0], "width": 1e-6}],
    })
    m = hints.to_map(32, 32)
    check_map(m, 32, 32)
    assert m[16, 16, 3] == 1 or m[15, 15, 3] == 1
    assert m[3, 3, 3] == 1 or m[2, 2, 3] == 1


def test_points_drawn_over_strokes_and_later_over_earlier() -> None:
    hints = Hints()
    hints.add_stroke([(0.0, 0.5), (1.0, 0.5)], (0, 255, 0), 0.1)
    hints.add_point(0.5, 0.5, (255, 0, 0), 0.05)
    hints.add_point(0.5, 0.5, (0, 0, 255), 0.02)
    m = hints.to_map(64, 64)
    np.testing.assert_allclose(m[32, 32], [0, 0, 1, 1])
    np.testing.assert_allclose(m[32, 29], [1, 0, 0, 1])
    np.testing.assert_allclose(m[32, 5], [0, 1, 0, 1])


def test_empty_map_and_bad_size() -> None:
    m = Hints().to_map(7, 5)
    check_map(m, 7, 5)
    assert not m.any()
    with pytest.raises(ValueError):
        Hints().to_map(0, 5)


def test_from_arrays_round_trip() -> None:
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (40, 30, 3), dtype=np.uint8)
    mask = np.zeros((40, 30), np.uint8)
    mask[5:40:6, 3:30:5] = 7  # isolated pixels, nonzero = hinted
    hints = Hints.from_arrays(color, mask)
    assert len(hints) == int((mask != 0).sum()) and not hints.is_empty()
    m = hints.to_map(40, 30)
    check_map(m, 40, 30)
    np.testing.assert_array_equal(m[..., 3] == 1, mask != 0)
    assert np.abs(m[mask != 0, :3] - color[mask != 0] / 255.0).max() < 1e-6
    big = hints.to_map(80, 60)  # nearest neighbour: each hinted pixel becomes a 2x2 block
    assert big[..., 3].sum() == 4 * (mask != 0).sum()
    small = hints.to_map(10, 8)  # shrinking keeps every hint
    assert small[..., 3].sum() > 0
    check_map(small, 10, 8)

    d = hints.to_dict()
    assert len(d["points"]) == (mask != 0).sum() and d["strokes"] == []
    again = Hints.from_dict(d)
    m2 = again.to_map(40, 30)
    rows, cols = np.nonzero(mask)
    assert np.abs(m2[rows, cols, :3] - color[rows, cols] / 255.0).max() < 1e-6
    assert (m2[rows, cols, 3] == 1).all()
    assert Hints.from_json(hints.to_json()) == again


def test_from_arrays_subsamples_dense_masks_and_validates() -> None:
    hints = Hints.from_arrays(np.zeros((100, 100, 3), np.uint8), np.ones((100, 100), bool))
    assert len(hints.to_dict()["points"]) == MAX_RASTER_POINTS
    with pytest.raises(HintsError, match="color_rgb"):
        Hints.from_arrays(np.zeros((10, 10), np.uint8), np.ones((10, 10)))
    with pytest.raises(HintsError, match="color_rgb"):
        Hints.from_arrays(np.zeros((10, 10, 3), np.float32), np.ones((10, 10)))
    with pytest.raises(HintsError, match="mask"):
        Hints.from_arrays(np.zeros((10, 10, 3), np.uint8), np.ones((10, 11)))
    assert Hints.from_arrays(np.zeros((10, 10, 3), np.uint8), np.zeros((10, 10))).is_empty()


def test_from_arrays_copies_its_inputs() -> None:
    color = np.zeros((10, 10, 3), np.uint8)
    mask = np.zeros((10, 10), bool)
    hints = Hints.from_arrays(color, mask)
    mask[:] = True
    assert hints.is_empty()


def test_editing_and_undo() -> None:
    base = Hints()
    one = base.with_point(0.1, 0.1, (1, 2, 3))
    two = one.with_stroke([(0.2, 0.2), (0.3, 0.3)], (4, 5, 6))
    three = two.with_point(0.4, 0.4, (7, 8, 9), radius=0.02)
    assert (len(base), len(one), len(two), len(three)) == (0, 1, 2, 3)
    assert not base and three
    undone = three.without_last()
    assert undone == two and len(undone.strokes) == 1
    assert undone.without_last() == one
    assert undone.without_last().without_last().is_empty()
    assert Hints().without_last().is_empty()
    raster = Hints.from_arrays(np.zeros((4, 4, 3), np.uint8), np.ones((4, 4)))
    edited = raster.with_point(0.5, 0.5, (1, 1, 1))
    assert edited.without_last() == raster
    assert edited.without_last().without_last().is_empty()
    with pytest.raises(HintsError):
        base.add_point(2.0, 0.1, (1, 2, 3))
    assert base.is_empty()


# ----------------------------------------------------------------------------------------------
# simulation and evaluation hints


def test_simulate_hints_shapes_ranges_and_colors() -> None:
    target = np.zeros((64, 48, 3), np.uint8)
    target[:] = (200, 100, 50)
    rng = np.random.default_rng(0)
    nonempty = 0
    for _ in range(50):
        m = simulate_hints(target, rng, p_none=0.0)
        check_map(m, 64, 48)
        hinted = m[..., 3] == 1
        assert hinted.any()
        nonempty += 1
        assert np.abs(m[hinted, :3] - np.array([200, 100, 50]) / 255.0).max() < 1e-6
    assert nonempty == 50
    assert not simulate_hints(target, rng, p_none=1.0).any()
    floats = simulate_hints(target.astype(np.float32) / 255.0, np.random.default_rng(1), p_none=0.0)
    check_map(floats, 64, 48)


def test_simulate_hints_determinism_and_p_none() -> None:
    target = np.random.default_rng(3).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    a = [simulate_hints(target, np.random.default_rng(7)) for _ in range(3)]
    for m in a[1:]:
        np.testing.assert_array_equal(a[0], m)
    rng = np.random.default_rng(11)
    empty = sum(not simulate_hints(target, rng, p_none=0.5).any() for _ in range(400))
    assert 150 < empty < 250
    rng = np.random.default_rng(12)
    sizes = [simulate_hints(target, rng, p_none=0.0, max_count=1)[..., 3].sum() for _ in range(100)]
    assert max(sizes) <= 120  # one hint at most: a patch, a small disc or a short stroke


def _three_regions() -> tuple[np.ndarray, list[tuple[np.ndarray, tuple[int, int, int]]]]:
    """A 96 x 128 picture of three flat regions (and their masks and colors)."""
    target = np.zeros((96, 128, 3), np.uint8)
    masks = np.zeros((3, 96, 128), bool)
    masks[0, :, :64] = True
    masks[1, :48, 64:] = True
    masks[2, 48:, 64:] = True
    colors = [(230, 40, 60), (20, 90, 200), (250, 220, 120)]
    for mask, color in zip(masks, colors):
        target[mask] = color
    return target, list(zip(masks, colors))


def test_region_scribbles_follow_regions_in_their_colors() -> None:
    target, regions = _three_regions()
    rng = np.random.default_rng(0)
    for grid in (32, 64):
        m = region_scribbles(target, rng, fraction=1.0, grid=grid)
        check_map(m, 96, 128)
        for mask, color in regions:
            hinted = (m[..., 3] == 1) & mask
            assert hinted.sum() >= 8, "every region gets a scribble at fraction 1"
            np.testing.assert_allclose(m[hinted, :3], np.tile(np.array(color) / 255.0, (hinted.sum(), 1)), atol=0.02)
            # a scribble, not a fill: it covers a small part of its region
            assert hinted.sum() < 0.25 * mask.sum()
    one = region_scribbles(target, np.random.default_rng(1), fraction=0.0, grid=32)
    touched = sum(bool(((one[..., 3] == 1) & mask).any()) for mask, _ in regions)
    assert touched == 1, "at least one region is hinted, and only one at fraction 0"
    a = region_scribbles(target, np.random.default_rng(5))
    b = region_scribbles(target, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def test_region_scribbles_on_real_color_images(sample_dir: Path) -> None:
    from s2p_lab.imageio import load_image

    paths = sorted((sample_dir / "styles").glob("*.png"))[:3]
    assert paths, "sample styles missing"
    rng = np.random.default_rng(2)
    for path in paths:
        img = load_image(path)
        m = region_scribbles(img, rng, fraction=1.0)
        check_map(m, *img.shape[:2])
        hinted = m[..., 3] == 1
        assert 0.002 < hinted.mean() < 0.3
        # region-mean colors are close to the colors under the scribble
        diff = np.abs(m[hinted, :3] - img[hinted] / 255.0).mean()
        assert diff < 0.2, diff
    tiny = region_scribbles(np.full((16, 16, 3), 128, np.uint8), rng)
    check_map(tiny, 16, 16)


def test_simulate_hints_region_mode() -> None:
    target, regions = _three_regions()
    rng = np.random.default_rng(4)
    maps = [simulate_hints(target, rng, p_none=0.0, p_regions=1.0) for _ in range(20)]
    for m in maps:
        check_map(m, 96, 128)
        assert m[..., 3].any()
    # region mode hints long scribbles; the sparse mode never covers this much with one hint
    assert max(m[..., 3].sum() for m in maps) > 120
    never = [simulate_hints(target, rng, p_none=0.0, p_regions=0.0, max_count=1)[..., 3].sum() for _ in range(50)]
    assert max(never) <= 120


def test_deterministic_hints() -> None:
    target = np.full((80, 100, 3), 255, np.uint8)  # white background
    target[20:60, 30:80] = (40, 160, 220)  # one colored region ...
    target[40, :] = 0  # ... crossed by a dark line
    a = deterministic_hints(target, 12, seed=5)
    assert a == deterministic_hints(target, 12, seed=5)
    assert a != deterministic_hints(target, 12, seed=6)
    assert deterministic_hints(target, 5, seed=5).points == a.points[:5]
    assert len(a.points) == 12 and not a.strokes
    for p in a.points:
        assert p.rgb == (40, 160, 220)
        assert 30 <= p.x * 100 <= 80 and 20 <= p.y * 80 <= 60
        assert abs(p.y * 80 - 40.5) > 1
        assert p.radius == 0.01
    assert deterministic_hints(target, 0).is_empty()
    many = deterministic_hints(np.zeros((16, 16, 3), np.uint8), 300, seed=1, radius=0.05)
    assert len(many.points) == 300
    with pytest.raises(ValueError):
        deterministic_hints(target, -1)


# ----------------------------------------------------------------------------------------------
# property tests

fractions = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
sizes = st.floats(min_value=0.0, max_value=0.25, exclude_min=True, allow_nan=False)
colors = st.lists(st.integers(0, 255), min_size=3, max_size=3)
points = st.fixed_dictionaries(
    {"x": fractions, "y": fractions, "rgb": colors}, optional={"radius": sizes}
)
strokes = st.fixed_dictionaries(
    {"xy": st.lists(st.tuples(fractions, fractions).map(list), min_size=1, max_size=6), "rgb": colors},
    optional={"width": sizes},
)
valid_hints = st.fixed_dictionaries(
    {}, optional={"points": st.lists(points, max_size=6), "strokes": st.lists(strokes, max_size=4)}
)


def _with_defaults(d: dict) -> dict:
    return {
        "points": [{"radius": 0.01, **p} for p in d.get("points", [])],
        "strokes": [{"width": 0.008, **s} for s in d.get("strokes", [])],
    }


@HYPOTHESIS
@given(valid_hints, st.integers(1, 48), st.integers(1, 48))
def test_property_valid_hints_round_trip_and_render(d: dict, h: int, w: int) -> None:
    hints = Hints.from_dict(d)
    assert hints.to_dict() == _with_defaults(d)
    assert Hints.from_dict(hints.to_dict()) == hints
    assert Hints.from_json(hints.to_json()) == hints
    m = hints.to_map(h, w)
    check_map(m, h, w)
    if hints.points or hints.strokes:
        assert m[..., 3].any()


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
)
junk = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=20,
)
junk_item = st.dictionaries(
    st.sampled_from(["x", "y", "rgb", "radius", "xy", "width", "other"]),
    junk | st.lists(junk | st.lists(junk, max_size=3), max_size=4),
    max_size=5,
)
structured_junk = st.dictionaries(
    st.sampled_from(["points", "strokes", "extra"]),
    st.lists(junk_item | junk, max_size=4) | junk,
    max_size=3,
)


@HYPOTHESIS
@given(junk | structured_junk)
def test_property_junk_raises_only_hints_error(data: object) -> None:
    try:
        hints = Hints.from_dict(data)
    except HintsError as exc:
        assert "\n" not in str(exc)
    else:
        check_map(hints.to_map(9, 11), 9, 11)
