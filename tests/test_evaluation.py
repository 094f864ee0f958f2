"""Tests of the metrics in ``s2p_lab.evaluation`` and of the benchmark on the shared data."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from s2p_lab.errors import ImageError, S2PError
from s2p_lab.evaluation import (
    TARGETS,
    ciede2000,
    color_signature,
    colorfulness,
    evaluate,
    hint_adherence,
    hue_entropy,
    lab_to_rgb,
    line_fidelity,
    main,
    pick_references,
    psnr,
    region_color_error,
    rgb_to_lab,
    score_targets,
    segment_color_regions,
    ssim,
    style_retrieval,
    style_retrieval_top1,
    training_statistics,
)
from s2p_lab.hints import Hints

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
needs_data = pytest.mark.skipif(
    not (DATA / "illustrations").is_dir(),
    reason=f"shared image data not found at {DATA} (only present where the data set is installed)",
)

# --------------------------------------------------------------------------- color science

# All 34 pairs of Sharma, Wu and Dalal (2005), Table 1: (Lab1, Lab2, CIEDE2000).
SHARMA = [
    ((50.0000, 2.6772, -79.7751), (50.0000, 0.0000, -82.7485), 2.0425),
    ((50.0000, 3.1571, -77.2803), (50.0000, 0.0000, -82.7485), 2.8615),
    ((50.0000, 2.8361, -74.0200), (50.0000, 0.0000, -82.7485), 3.4412),
    ((50.0000, -1.3802, -84.2814), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -1.1848, -84.8006), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, -0.9009, -85.5211), (50.0000, 0.0000, -82.7485), 1.0000),
    ((50.0000, 0.0000, 0.0000), (50.0000, -1.0000, 2.0000), 2.3669),
    ((50.0000, -1.0000, 2.0000), (50.0000, 0.0000, 0.0000), 2.3669),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0009), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0010), 7.1792),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0011), 7.2195),
    ((50.0000, 2.4900, -0.0010), (50.0000, -2.4900, 0.0012), 7.2195),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0009, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0010, -2.4900), 4.8045),
    ((50.0000, -0.0010, 2.4900), (50.0000, 0.0011, -2.4900), 4.7461),
    ((50.0000, 2.5000, 0.0000), (50.0000, 0.0000, -2.5000), 4.3065),
    ((50.0000, 2.5000, 0.0000), (73.0000, 25.0000, -18.0000), 27.1492),
    ((50.0000, 2.5000, 0.0000), (61.0000, -5.0000, 29.0000), 22.8977),
    ((50.0000, 2.5000, 0.0000), (56.0000, -27.0000, -3.0000), 31.9030),
    ((50.0000, 2.5000, 0.0000), (58.0000, 24.0000, 15.0000), 19.4535),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.1736, 0.5854), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2972, 0.0000), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 1.8634, 0.5757), 1.0000),
    ((50.0000, 2.5000, 0.0000), (50.0000, 3.2592, 0.3350), 1.0000),
    ((60.2574, -34.0099, 36.2677), (60.4626, -34.1751, 39.4387), 1.2644),
    ((63.0109, -31.0961, -5.8663), (62.8187, -29.7946, -4.0864), 1.2630),
    ((61.2901, 3.7196, -5.3901), (61.4292, 2.2480, -4.9620), 1.8731),
    ((35.0831, -44.1164, 3.7933), (35.0232, -40.0716, 1.5901), 1.8645),
    ((22.7233, 20.0904, -46.6940), (23.0331, 14.9730, -42.5619), 2.0373),
    ((36.4612, 47.8580, 18.3852), (36.2715, 50.5065, 21.2231), 1.4146),
    ((90.8027, -2.0831, 1.4410), (91.1528, -1.6435, 0.0447), 1.4441),
    ((90.9257, -0.5406, -0.9208), (88.6381, -0.8985, -0.7239), 1.5381),
    ((6.7747, -0.2908, -2.4247), (5.8714, -0.0985, -2.2286), 0.6377),
    ((2.0776, 0.0795, -1.1350), (0.9033, -0.0636, -0.5514), 0.9082),
]


def test_ciede2000_matches_sharma_test_data() -> None:
    lab1 = np.array([p[0] for p in SHARMA])
    lab2 = np.array([p[1] for p in SHARMA])
    expected = np.array([p[2] for p in SHARMA])
    np.testing.assert_allclose(ciede2000(lab1, lab2), expected, atol=1e-4)
    np.testing.assert_allclose(ciede2000(lab2, lab1), expected, atol=1e-4)  # symmetric
    for l1, l2, de in SHARMA[:3]:  # scalar inputs give 0-d results
        assert float(ciede2000(np.array(l1), np.array(l2))) == pytest.approx(de, abs=1e-4)


lab_values = st.tuples(st.floats(0, 100), st.floats(-120, 120), st.floats(-120, 120))


@settings(max_examples=60, deadline=None)
@given(lab_values, lab_values)
def test_ciede2000_is_a_symmetric_nonnegative_difference(c1: tuple, c2: tuple) -> None:
    a, b = np.array(c1), np.array(c2)
    d = float(ciede2000(a, b))
    assert d >= 0.0 and math.isfinite(d)
    assert d == pytest.approx(float(ciede2000(b, a)), abs=1e-9)
    assert float(ciede2000(a, a)) == pytest.approx(0.0, abs=1e-9)


def test_rgb_to_lab_known_colors() -> None:
    rgb = np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128]],
                   np.uint8)
    expected = np.array([
        [100.0, 0.0, 0.0],
        [0.0, 0.0, 0.0],
        [53.2408, 80.0925, 67.2032],
        [87.7347, -86.1827, 83.1793],
        [32.2970, 79.1875, -107.8602],
        [53.5850, 0.0, 0.0],
    ])
    lab = rgb_to_lab(rgb)
    assert lab.dtype == np.float64 and lab.shape == (6, 3)
    np.testing.assert_allclose(lab, expected, atol=2e-3)
    np.testing.assert_allclose(rgb_to_lab(rgb.astype(np.float32) / 255.0), lab, atol=1e-4)
    image = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    assert rgb_to_lab(image).shape == (5, 7, 3)
    with pytest.raises(ImageError):
        rgb_to_lab(np.zeros((4, 4), np.uint8))


def test_lab_to_rgb_gives_every_color_back() -> None:
    """``lab_to_rgb`` inverts ``rgb_to_lab`` exactly on uint8 colors (the project's one CIELAB, the
    reference hints' too); colors outside sRGB are clipped."""
    rgb = np.random.default_rng(0).integers(0, 256, (200_000, 3), dtype=np.uint8)
    assert np.array_equal(lab_to_rgb(rgb_to_lab(rgb)), rgb)
    corners = np.array(np.meshgrid([0, 255], [0, 255], [0, 255], indexing="ij"), np.uint8).reshape(3, -1).T
    assert np.array_equal(lab_to_rgb(rgb_to_lab(corners)), corners)
    assert lab_to_rgb(np.array([[100.0, 0.0, 0.0], [50.0, 200.0, 0.0]])).tolist()[0] == [255, 255, 255]
    assert lab_to_rgb(np.zeros((4, 5, 3))).shape == (4, 5, 3)
    with pytest.raises(ImageError):
        lab_to_rgb(np.zeros((4, 4)))


def _hue_stripes(hues: list[float], lightness: float = 60.0, chroma: float = 30.0,
                 width: int = 8, height: int = 24) -> np.ndarray:
    rad = np.radians(hues)
    lab = np.stack([np.full(len(hues), lightness), chroma * np.cos(rad), chroma * np.sin(rad)], axis=-1)
    colors = lab_to_rgb(lab)
    return np.repeat(np.repeat(colors[None], height, axis=0), width, axis=1)


# --------------------------------------------------------------------------- palette statistics


def test_hue_entropy_one_hue_and_twelve_hues() -> None:
    one = _hue_stripes([200.0] * 12)
    assert hue_entropy(one) == pytest.approx(0.0, abs=1e-9)
    twelve = _hue_stripes([15.0 + 30.0 * k for k in range(12)])
    assert hue_entropy(twelve) == pytest.approx(math.log2(12), abs=1e-6)
    two = _hue_stripes([15.0] * 6 + [195.0] * 6)
    assert hue_entropy(two) == pytest.approx(1.0, abs=1e-6)


def test_hue_entropy_ignores_neutral_pixels() -> None:
    gray = np.repeat(np.arange(256, dtype=np.uint8)[None, :, None], 3, axis=2)
    assert hue_entropy(gray) == 0.0
    # a faint tint below the chroma threshold does not count, a strong one does
    faint = _hue_stripes([15.0 + 30.0 * k for k in range(12)], chroma=8.0)
    assert hue_entropy(faint) == 0.0
    mixed = np.concatenate([faint, _hue_stripes([100.0] * 12)], axis=1)
    assert hue_entropy(mixed) == pytest.approx(0.0, abs=1e-9)


def test_colorfulness_gray_is_zero_and_saturated_is_large() -> None:
    gray = np.repeat(np.linspace(0, 255, 64).astype(np.uint8)[None, :, None], 3, axis=2)
    assert colorfulness(np.repeat(gray, 8, axis=0)) == pytest.approx(0.0, abs=1e-9)
    primaries = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0]], np.uint8)
    saturated = primaries[np.random.default_rng(1).integers(0, 4, (32, 32))]
    assert colorfulness(saturated) > 100.0
    # the formula on two pixels: rg = (255, -255), yb = (127.5, 127.5)
    two = np.array([[[255, 0, 0], [0, 255, 0]]], np.uint8)
    assert colorfulness(two) == pytest.approx(255.0 + 0.3 * 127.5)


# --------------------------------------------------------------------------- fidelity


def test_psnr_and_ssim_of_identical_and_known_images() -> None:
    rng = np.random.default_rng(2)
    image = cv2.GaussianBlur(rng.integers(0, 256, (40, 50, 3), dtype=np.uint8), (5, 5), 1.5)
    assert psnr(image, image) == math.inf  # no cap
    assert ssim(image, image) == pytest.approx(1.0, abs=1e-12)
    zeros = np.zeros((8, 8, 3), np.uint8)
    assert psnr(zeros, zeros + 1) == pytest.approx(10 * math.log10(255.0 ** 2), abs=1e-9)
    noisy = np.clip(image.astype(int) + rng.integers(-30, 31, image.shape), 0, 255).astype(np.uint8)
    s = ssim(image, noisy)
    assert 0.0 < s < 0.95
    assert s == pytest.approx(ssim(noisy, image), abs=1e-12)
    assert psnr(image, noisy) < psnr(image, cv2.GaussianBlur(noisy, (3, 3), 0.5)) + 10
    gray = image[:, :, 1]
    assert psnr(gray, np.repeat(gray[:, :, None], 3, axis=2)) == math.inf
    with pytest.raises(ImageError):
        psnr(image, image[:-1])
    with pytest.raises(ImageError):
        ssim(image.astype(np.float32), image)


# --------------------------------------------------------------------------- style retrieval


def _palette_image(rng: np.random.Generator, hues: list[float], size: tuple[int, int] = (96, 128)) -> np.ndarray:
    """Random blobs in the given Lab hues with varied lightness and chroma."""
    h, w = size
    labels = cv2.resize(rng.integers(0, len(hues), (6, 8)).astype(np.uint8), (w, h),
                        interpolation=cv2.INTER_NEAREST)
    light = cv2.resize(rng.uniform(35, 85, (6, 8)), (w, h), interpolation=cv2.INTER_LINEAR)
    chroma = cv2.resize(rng.uniform(25, 55, (6, 8)), (w, h), interpolation=cv2.INTER_LINEAR)
    hue = np.radians(np.asarray(hues)[labels] + rng.normal(0, 6, (h, w)))
    return lab_to_rgb(np.stack([light, chroma * np.cos(hue), chroma * np.sin(hue)], axis=-1))


def _recolored_copy(ref: np.ndarray, rng: np.random.Generator, size: tuple[int, int]) -> np.ndarray:
    """What a colorizer might make of a reference: its colors rearranged, less saturated, on paper,
    with dark lines multiplied on top, at another size."""
    h, w = size
    img = cv2.resize(ref, (w, h), interpolation=cv2.INTER_AREA).astype(np.float64)
    bh, bw = h // 4, w // 4
    blocks = [img[i * bh:(i + 1) * bh, j * bw:(j + 1) * bw].copy() for i in range(4) for j in range(4)]
    for k, b in enumerate(rng.permutation(16)):
        i, j = divmod(k, 4)
        img[i * bh:(i + 1) * bh, j * bw:(j + 1) * bw] = blocks[b]
    gray = img.mean(axis=2, keepdims=True)
    img = gray + 0.7 * (img - gray)
    paper = cv2.resize((rng.random((4, 4)) < 0.3).astype(np.uint8), (w, h),
                       interpolation=cv2.INTER_NEAREST).astype(bool)
    img[paper] = 245
    lines = np.full((h, w), 255, np.uint8)
    for _ in range(12):
        p0 = tuple(int(v) for v in rng.integers(0, [w, h]))
        p1 = tuple(int(v) for v in rng.integers(0, [w, h]))
        cv2.line(lines, p0, p1, 20, 2)
    return np.clip(img * lines[:, :, None] / 255.0, 0, 255).astype(np.uint8)


def test_style_retrieval_finds_the_reference_of_recolored_copies() -> None:
    rng = np.random.default_rng(3)
    palettes = [[10.0, 60.0], [100.0, 150.0], [200.0, 250.0], [300.0, 40.0], [130.0], [270.0, 330.0]]
    refs = [_palette_image(rng, hues) for hues in palettes]
    outputs = [_recolored_copy(r, rng, (150, 110)) for r in refs]  # other size and aspect
    assert style_retrieval_top1(outputs, refs) == 1.0
    found = style_retrieval(outputs[::-1], refs)
    assert found.tolist() == list(range(len(refs)))[::-1]
    assert style_retrieval_top1(outputs[:2], refs, targets=[0, 1]) == 1.0
    # an output without any color retrieves nothing
    blank = np.full((32, 32, 3), 200, np.uint8)
    assert color_signature(blank).sum() == 0.0
    assert style_retrieval([blank], refs).tolist() == [-1]
    sig = color_signature(refs[0])
    assert sig.shape == (36,) and sig.sum() == pytest.approx(1.0)
    with pytest.raises(S2PError):
        style_retrieval_top1(outputs[:2], refs)


@needs_data
def test_style_retrieval_on_the_shared_style_references() -> None:
    paths = sorted((DATA / "styles").glob("*.jpg"))
    refs = [np.asarray(Image.open(p).convert("RGB").reduce(2)) for p in paths]
    rng = np.random.default_rng(4)
    outputs = [_recolored_copy(r, rng, (128, 96)) for r in refs]
    assert style_retrieval_top1(outputs, refs) >= 0.9


def test_pick_references_is_seeded_and_sorted() -> None:
    paths = [Path(f"style_{i:02d}.jpg") for i in range(24)]
    a = pick_references(paths[::-1], 9, seed=0)
    assert a == pick_references(paths, 9, seed=0)
    assert a == sorted(a) and len(set(a)) == 9
    assert a != pick_references(paths, 9, seed=1)
    with pytest.raises(S2PError):
        pick_references(paths[:3], 9)


# --------------------------------------------------------------------------- hints and lines


def test_hint_adherence_zero_when_the_output_has_the_hint_colors() -> None:
    hints = Hints.from_dict({
        "points": [{"x": 0.25, "y": 0.3, "rgb": [230, 40, 60], "radius": 0.03},
                   {"x": 0.7, "y": 0.6, "rgb": [30, 90, 200], "radius": 0.02}],
        "strokes": [{"xy": [[0.1, 0.8], [0.5, 0.9], [0.9, 0.8]], "rgb": [40, 180, 60], "width": 0.02}],
    })
    h, w = 90, 120
    output = np.full((h, w, 3), 128, np.uint8)
    hint_map = hints.to_map(h, w)
    painted = hint_map[..., 3] > 0
    output[painted] = np.rint(hint_map[..., :3][painted] * 255).astype(np.uint8)
    # the measuring discs reach a pixel beyond what to_map draws: paint generous discs too
    for p in hints.points:
        cv2.circle(output, (int(p.x * w), int(p.y * h)), int(p.radius * w) + 2, p.rgb, -1)
    for s in hints.strokes:
        pts = (np.array(s.xy) * [w, h]).astype(np.int32)
        cv2.polylines(output, [pts], False, s.rgb, int(s.width * w) + 3)
    assert hint_adherence(output, hints) < 0.5
    assert hint_adherence(output, hints.to_dict()) < 0.5  # the JSON form works the same
    assert hint_adherence(np.full((h, w, 3), 128, np.uint8), hints) > 20.0
    assert math.isnan(hint_adherence(output, Hints()))


def test_hint_adherence_of_raster_hints() -> None:
    h, w = 40, 50
    color = np.zeros((h, w, 3), np.uint8)
    mask = np.zeros((h, w), bool)
    color[5:10, 5:20] = (250, 200, 30)
    mask[5:10, 5:20] = True
    color[25:35, 30:33] = (20, 20, 160)
    mask[25:35, 30:33] = True
    output = np.where(mask[..., None], color, 255).astype(np.uint8)
    hints = Hints.from_arrays(color, mask)
    assert hint_adherence(output, hints) == pytest.approx(0.0, abs=1e-6)
    shifted = output.copy()
    shifted[25:35, 30:33] = (160, 20, 20)  # one of two components wrong
    de = float(ciede2000(rgb_to_lab(np.array([20, 20, 160], np.uint8)),
                         rgb_to_lab(np.array([160, 20, 20], np.uint8))))
    assert hint_adherence(shifted, hints) == pytest.approx(de / 2, rel=1e-6)


def _line_sketch(h: int = 96, w: int = 128) -> np.ndarray:
    sketch = np.full((h, w), 255, np.uint8)
    rng = np.random.default_rng(5)
    for _ in range(10):
        cv2.line(sketch, tuple(int(v) for v in rng.integers(0, [w, h])),
                 tuple(int(v) for v in rng.integers(0, [w, h])), int(rng.integers(0, 80)), 2, cv2.LINE_AA)
    return sketch


def test_line_fidelity_one_for_multiplied_lines_zero_for_a_flat_fill() -> None:
    sketch = _line_sketch()
    h, w = sketch.shape
    uniform = np.full((h, w, 3), (230, 180, 160), np.float64)
    darkened = np.rint(uniform * sketch[:, :, None] / 255.0).astype(np.uint8)
    assert line_fidelity(darkened, sketch) > 0.98
    regions = cv2.resize(np.random.default_rng(6).integers(60, 255, (3, 4, 3)).astype(np.uint8), (w, h),
                         interpolation=cv2.INTER_NEAREST)
    multiplied = np.rint(regions * (sketch[:, :, None] / 255.0)).astype(np.uint8)
    assert line_fidelity(multiplied, sketch) > 0.95
    assert line_fidelity(uniform.astype(np.uint8), sketch) == 0.0
    assert line_fidelity(regions, sketch) < 0.1
    faded = np.rint(regions * (1 - 0.5 * (1 - sketch[:, :, None] / 255.0))).astype(np.uint8)
    assert 0.3 < line_fidelity(faded, sketch) < 0.7
    # a sketch at another size is resized to the output; a blank sketch has no lines
    big = cv2.resize(sketch, (2 * w, 2 * h), interpolation=cv2.INTER_NEAREST)
    assert line_fidelity(darkened, big) > 0.9
    assert math.isnan(line_fidelity(darkened, np.full((h, w), 255, np.uint8)))


# --------------------------------------------------------------------------- shared data


@needs_data
def test_hue_entropy_of_training_illustrations() -> None:
    from s2p_lab.splits import split_paths

    train, _ = split_paths(sorted((DATA / "illustrations").glob("*.jpg")))
    sample = train[:: max(1, len(train) // 20)][:20]
    values = [hue_entropy(np.asarray(Image.open(p).convert("RGB").reduce(2))) for p in sample]
    assert 1.3 <= float(np.median(values)) <= 2.6


@needs_data
def test_training_statistics_are_cached(tmp_path: Path) -> None:
    from s2p_lab.splits import split_paths

    train, _ = split_paths(sorted((DATA / "illustrations").glob("*.jpg")))
    subset = train[:: len(train) // 6][:6]
    first = training_statistics(subset, size=64, cache_dir=tmp_path, progress=False)
    again = training_statistics(subset, size=64, cache_dir=tmp_path, progress=False)
    assert not first["cached"] and again["cached"]
    assert first["n_images"] == 6
    c = again["colorfulness"]
    assert 0 < c["q25"] <= c["median"] <= c["q75"]


# --------------------------------------------------------------------------- the benchmark


def _small_colorizer():
    """The real Colorizer: shipped weights when present, else a small untrained model."""
    colorizer_module = pytest.importorskip("s2p_lab.colorizer", reason="s2p_lab.colorizer not importable yet")
    from s2p_lab.models import ColorizationModel, ModelConfig

    try:
        return colorizer_module.Colorizer.from_pretrained(device="cpu")
    except S2PError:
        import torch

        torch.manual_seed(0)
        config = ModelConfig(base_channels=8, levels=2, mid_blocks=1, style_dim=16, style_size=32,
                             style_channels=8, token_dim=16, attention_heads=2, disc_channels=8)
        return colorizer_module.Colorizer(ColorizationModel(config), device="cpu")


@needs_data
def test_evaluate_end_to_end_tiny(tmp_path: Path) -> None:
    colorizer = _small_colorizer()
    grid = tmp_path / "grid.png"
    result = evaluate(colorizer, DATA, n_refs=3, size=64, n_sketches=2, n_pairs=2, hint_count=4,
                      seed=0, grid_path=grid, progress=False, hint_auc_pairs=1, n_real=8)
    json.dumps(result, allow_nan=False)  # plain JSON
    s = result["settings"]
    assert (s["size"], s["n_refs"], s["extractor"], s["n_sketches"], s["n_pairs"]) == (64, 3, "xdog", 2, 2)
    assert len(s["references"]) == 3
    assert set(result["baselines"]) >= {"paste", "shuffled_paste", "wash", "no_reference"}
    for name, b in result["baselines"].items():
        assert set(b) >= set(result["model"]), name
        assert b["passed"] is False, name
    m = result["model"]
    assert 0.0 <= m["style_top1"] <= 1.0 and m["region_de00"] > 0 and m["kid"] is not None
    assert result["baselines"]["wash"]["region_de00_ratio_to_wash"] == pytest.approx(1.0)
    assert m["region_de00_ratio_to_wash"] == pytest.approx(
        m["region_de00"] / result["baselines"]["wash"]["region_de00"])
    assert result["baselines"]["no_reference"]["reference_effect_own_db"] == pytest.approx(0.0, abs=1e-9)
    assert set(result["targets"]) == set(TARGETS)
    assert result["passed"] == (not result["not_measured"] and all(t["pass"] for t in result["targets"].values()))
    ha = result["hint_auc"]
    if not ha["available"]:
        assert "install with scripts/install_hintauc.sh" in ha["reason"]
        assert result["targets"]["hint_auc_psnr"]["pass"] is None and result["passed"] is False
        assert "hint_auc_psnr" in result["not_measured"]
    kid = result["kid"]["sets"]
    assert {"real", "model", "wash", "gray", "lines"} <= set(kid)
    with Image.open(grid) as im:
        assert im.width == 8 * 160 and im.height > 4 * 160


def test_passed_needs_every_target_measured() -> None:
    good = {k: (t + 1.0 if op == ">=" else t - 0.1) for k, (op, t) in TARGETS.items()}
    assert score_targets(good)["passed"] is True
    missing = dict(good, hint_auc_psnr=None)
    scored = score_targets(missing, {"hint_auc_psnr": "not measured: install with scripts/install_hintauc.sh"})
    assert scored["passed"] is False and scored["not_measured"] == ["hint_auc_psnr"]
    assert "install" in scored["targets"]["hint_auc_psnr"]["reason"]
    bad = dict(good, style_top1=0.5)
    assert score_targets(bad)["passed"] is False


def test_command_line_rejects_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "--data" in capsys.readouterr().err
    assert main(["--sketches", str(tmp_path)]) == 2
    assert main(["--pairs", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main(["--pairs", str(tmp_path)]) == 2
    assert "no images" in capsys.readouterr().err
    assert main(["--pairs", str(tmp_path), "--line-overlay", "2"]) == 2
    assert "--line-overlay" in capsys.readouterr().err
    assert main(["--pairs", str(tmp_path), "--reference-color-strength", "-1"]) == 2
    assert "--reference-color-strength" in capsys.readouterr().err


def test_command_line_runs_with_saved_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    colorizer = _small_colorizer()
    from s2p_lab.models import save_model

    weights = save_model(colorizer.model.cpu(), tmp_path / "weights")
    rng = np.random.default_rng(7)
    for sub in ("pairs", "sketches", "styles"):
        (tmp_path / sub).mkdir()
    for i in range(2):
        Image.fromarray(_palette_image(rng, [40.0 * i + 10, 200.0], (64, 80))).save(tmp_path / "pairs" / f"p{i}.png")
        Image.fromarray(_line_sketch(64, 64)).save(tmp_path / "sketches" / f"s{i}.png")
    for i in range(3):
        Image.fromarray(_palette_image(rng, [120.0 * i], (48, 48))).save(tmp_path / "styles" / f"r{i}.png")
    out = tmp_path / "result.json"
    code = main(["--pairs", str(tmp_path / "pairs"), "--sketches", str(tmp_path / "sketches"),
                 "--styles", str(tmp_path / "styles"), "--n-refs", "3", "--size", "64", "--weights",
                 str(weights), "--device", "cpu", "--json", str(out), "--no-progress", "--include-training",
                 "--n-real", "4", "--hint-auc-pairs", "1", "--line-overlay", "0.7", "--reference-color-strength", "0.25"])
    assert code == 0
    result = json.loads(out.read_text())
    assert result["settings"]["line_overlay"] == 0.7
    assert result["settings"]["reference_color_strength"] == 0.25
    ha = result["hint_auc"]
    if ha["available"]:  # one image: its own Hint-AUC is the mean
        model = ha["methods"]["model"]
        assert list(model["per_image"]) == ["p0.png"]
        assert model["per_image"]["p0.png"]["psnr"] == pytest.approx(model["psnr"])
    assert result["retrieval"]["n_outputs"] == 6
    assert result["pairs"]["n_pairs"] == 2
    assert set(result["baselines"]) >= {"paste", "shuffled_paste", "wash", "no_reference"}
    assert "model" in result["kid"]["sets"]  # the pairs folder serves as the real illustrations
    assert (tmp_path / "result_grid.png").is_file()  # a picture in every run
    assert "style_top1" in capsys.readouterr().out


# --------------------------------------------------------------------------- regions and hint spread


def _flat_figure(h: int = 96, w: int = 128) -> np.ndarray:
    """A white image with three flat colored shapes (regions of one color each)."""
    img = np.full((h, w, 3), 255, np.uint8)
    cv2.rectangle(img, (10, 10), (60, 80), (220, 60, 50), -1)
    cv2.circle(img, (95, 40), 22, (40, 90, 210), -1)
    cv2.rectangle(img, (70, 70), (120, 90), (60, 170, 80), -1)
    return img


def test_color_regions_follow_flat_colors() -> None:
    img = _flat_figure()
    labels = segment_color_regions(img)
    assert labels.shape == img.shape[:2] and labels.max() >= 4  # paper + three shapes
    for y, x in ((40, 30), (40, 95), (80, 100)):  # each shape is one region, apart from the paper
        region = labels == labels[y, x]
        assert labels[y, x] > 0 and region[y - 5:y + 5, x - 5:x + 5].all()
        assert not region[2, 2]


def test_region_color_error_zero_for_a_copy_larger_for_a_wash() -> None:
    img = _flat_figure()
    labels = segment_color_regions(img)
    assert region_color_error(img, img, labels) == pytest.approx(0.0, abs=1e-9)
    figure = (img < 236).any(axis=2)
    wash = img.copy()
    wash[figure] = img[figure].reshape(-1, 3).mean(axis=0).round().astype(np.uint8)
    shifted = img.copy()
    shifted[figure] = np.clip(img[figure].astype(int) + 12, 0, 255).astype(np.uint8)
    de_wash = region_color_error(wash, img, labels)
    de_shift = region_color_error(shifted, img, labels)
    assert 0 < de_shift < de_wash
    # the error is area-weighted: recoloring the biggest shape costs more than the smallest
    big, small = img.copy(), img.copy()
    big[10:81, 10:61] = (128, 128, 128)
    small[70:91, 70:121] = (128, 128, 128)
    small[10:81, 10:61] = img[10:81, 10:61]
    assert region_color_error(big, img, labels) > region_color_error(small, img, labels)


def test_hint_spread_rewards_filling_the_region_not_painting_the_disc() -> None:
    from s2p_lab.evaluation import hint_spread_error, paint_hints

    img = _flat_figure()
    labels = segment_color_regions(img)
    hints = Hints.load({"points": [{"x": 35 / 128, "y": 45 / 96, "rgb": [220, 60, 50], "radius": 0.03},
                                   {"x": 95 / 128, "y": 40 / 96, "rgb": [40, 90, 210], "radius": 0.03}]})
    sketch = np.full(img.shape[:2], 255, np.uint8)
    painted = paint_hints(sketch, hints)
    assert hint_adherence(painted, hints) < 1.0  # under the disc, painting is perfect
    assert hint_spread_error(painted, hints, labels) > 20.0  # away from it, the paper shows
    assert hint_spread_error(img, hints, labels) < 1.0  # the filled regions spread the hints


def test_missing_hintauc_is_reported_not_fatal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import sys

    from s2p_lab.evaluation import evaluate_hint_auc

    monkeypatch.setitem(sys.modules, "hintauc", None)  # as if the package were not installed
    Image.fromarray(np.full((32, 32, 3), 200, np.uint8)).save(tmp_path / "a.png")
    res = evaluate_hint_auc(None, [tmp_path / "a.png"], size=64, progress=False)
    assert res["available"] is False
    assert "not measured" in res["reason"] and "scripts/install_hintauc.sh" in res["reason"]


def test_hint_auc_per_image_figures_average_to_the_whole(tmp_path: Path) -> None:
    hintauc = pytest.importorskip("hintauc", reason="Hint-AUC needs hintauc: scripts/install_hintauc.sh")
    from s2p_lab.evaluation import evaluate_hint_auc
    from s2p_lab.evaluation.baselines import paint_hints
    from s2p_lab.sketch import extract_sketch

    rng = np.random.default_rng(3)
    paths = []
    for i, hues in enumerate(([10.0, 200.0], [90.0, 300.0, 150.0])):
        paths.append(tmp_path / f"im{i}.png")
        Image.fromarray(_palette_image(rng, hues, (80, 96))).save(paths[-1])
    res = evaluate_hint_auc(None, paths, size=96, progress=False, methods=("paint_hints",))
    figures = res["methods"]["paint_hints"]
    assert sorted(figures["per_image"]) == ["im0.png", "im1.png"]
    per_image = [figures["per_image"][p.name]["psnr"] for p in paths]
    assert per_image[0] != pytest.approx(per_image[1])  # two different images, two figures
    assert figures["psnr"] == pytest.approx(np.mean(per_image))

    # the same as hintauc scoring both images in one call
    from s2p_lab.imageio import load_image, resize_long_side

    samples = []
    for p in paths:
        target = resize_long_side(load_image(p, mode="RGB"), 96)
        samples.append((extract_sketch(target, method="xdog"), np.ascontiguousarray(target[:, :, ::-1])))

    def colorize_bgr(sample: dict) -> np.ndarray:
        hints = Hints.from_arrays(np.ascontiguousarray(np.asarray(sample["hint_color"])[:, :, ::-1]),
                                  np.asarray(sample["hint_mask"]))
        return np.ascontiguousarray(paint_hints(np.asarray(sample["line_art"]), hints)[:, :, ::-1])

    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = hintauc.evaluate_colorizer(colorize_bgr, samples, metrics=("psnr", "ssim"),
                                           hint_type="scribble", path_method="geodesic")
    assert figures["psnr"] == pytest.approx(whole["hint_auc"]["psnr"], rel=1e-6)
    assert figures["ssim"] == pytest.approx(whole["hint_auc"]["ssim"], rel=1e-6)
