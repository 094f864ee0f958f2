"""The non-learned baselines: what they draw, and the targets each must fail on real data."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from s2p_lab.evaluation import (
    figure_mask,
    flipped_recrop,
    gray_wash,
    mean_color,
    paste,
    rgb_to_lab,
    shuffle_patches,
    shuffled_paste,
    wash,
)

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _sketch(h: int = 80, w: int = 64) -> np.ndarray:
    sketch = np.full((h, w), 255, np.uint8)
    cv2.ellipse(sketch, (w // 2, h // 2), (w // 3, h // 3), 0, 0, 360, 0, 2)
    cv2.line(sketch, (w // 2, h // 4), (w // 2, 3 * h // 4), 0, 1)
    return sketch


def _reference(h: int = 50, w: int = 70) -> np.ndarray:
    rng = np.random.default_rng(3)
    return cv2.resize(rng.integers(0, 255, (5, 7, 3)).astype(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST)


def test_paste_is_the_reference_under_the_lines() -> None:
    sketch, ref = _sketch(), _reference()
    out = paste(sketch, ref)
    assert out.shape == sketch.shape + (3,)
    resized = cv2.resize(ref, (sketch.shape[1], sketch.shape[0]), interpolation=cv2.INTER_CUBIC)
    paper = sketch == 255
    assert np.array_equal(out[paper], resized[paper])
    assert (out[sketch == 0] == 0).all()


def test_shuffled_paste_keeps_the_colors_and_moves_the_patches() -> None:
    img = cv2.resize(_reference(), (64, 64), interpolation=cv2.INTER_NEAREST)
    shuffled = shuffle_patches(img, 8, seed=1)
    assert shuffled.shape == img.shape and not np.array_equal(shuffled, img)
    key = lambda a: sorted(map(bytes, a.reshape(64, -1, 3).reshape(-1, 3)))  # noqa: E731
    assert key(shuffled) == key(img)  # a permutation of the same pixels
    assert np.array_equal(shuffle_patches(img, 8, seed=1), shuffled)  # seeded
    out = shuffled_paste(_sketch(64, 64), img, seed=1)
    assert np.array_equal(out[_sketch(64, 64) == 255], shuffled[_sketch(64, 64) == 255])


def test_wash_is_one_color_on_the_figure_and_white_paper() -> None:
    sketch = _sketch()
    figure = figure_mask(sketch)
    assert figure[sketch.shape[0] // 2, sketch.shape[1] // 2 + 5] and not figure[1, 1]
    color = mean_color(_reference())
    out = wash(sketch, color)
    inside = figure & (sketch == 255)
    assert (out[inside] == color).all() and (out[~figure] == 255).all()
    gray = gray_wash(sketch, color)
    lab = rgb_to_lab(gray[inside])
    assert np.abs(lab[:, 1:]).max() < 1.0  # neutral
    assert abs(lab[0, 0] - rgb_to_lab(np.array(color, np.uint8))[0]) < 1.0  # same lightness


def test_mean_color_ignores_paper() -> None:
    img = np.full((10, 10, 3), 255, np.uint8)
    img[:5] = (200, 30, 40)
    assert mean_color(img) == (200, 30, 40)
    assert mean_color(np.full((4, 4, 3), 255, np.uint8)) == (128, 128, 128)


def test_flipped_recrop_cannot_be_copied_pixel_for_pixel() -> None:
    img = _reference(60, 80)
    ref = flipped_recrop(img)
    assert ref.shape == img.shape
    assert np.abs(ref.astype(int) - img.astype(int)).mean() > 20


# --------------------------------------------------------------------------- the targets they must fail


@pytest.fixture(scope="module")
def small_run() -> dict:
    if not (DATA / "illustrations").is_dir():
        pytest.skip(f"shared image data not found at {DATA}")
    from s2p_lab.colorizer import Colorizer
    from s2p_lab.errors import S2PError
    from s2p_lab.evaluation import evaluate

    try:
        colorizer = Colorizer.from_pretrained(device="cpu")
    except S2PError as exc:
        pytest.skip(f"shipped weights unavailable: {exc}")
    return evaluate(colorizer, DATA, n_refs=9, size=128, n_sketches=3, n_pairs=4, hint_count=4, seed=0,
                    progress=False, hint_auc_pairs=1, n_real=24)


def _failed(result: dict, name: str) -> set[str]:
    return {k for k, t in result["baselines"][name]["targets"].items() if t["pass"] is False}


def test_paste_fails_region_color(small_run: dict) -> None:
    assert "region_de00_ratio_to_wash" in _failed(small_run, "paste")
    assert small_run["baselines"]["paste"]["passed"] is False


def test_shuffled_paste_fails_region_color(small_run: dict) -> None:
    assert "region_de00_ratio_to_wash" in _failed(small_run, "shuffled_paste")
    assert small_run["baselines"]["shuffled_paste"]["passed"] is False


def test_wash_fails_region_color_and_hue_entropy(small_run: dict) -> None:
    assert {"region_de00_ratio_to_wash", "hue_entropy_median"} <= _failed(small_run, "wash")
    assert small_run["baselines"]["wash"]["passed"] is False


def test_no_reference_fails_reference_effect_and_style(small_run: dict) -> None:
    assert {"reference_effect_own_db", "style_top1"} <= _failed(small_run, "no_reference")
    assert small_run["baselines"]["no_reference"]["passed"] is False


def test_painting_the_hints_fails_hint_auc(small_run: dict) -> None:
    b = small_run["baselines"]["paint_hints"]
    assert b["hint_de00_under_disc"] < small_run["model"]["hint_de00_under_disc"]  # the disc is exact
    if small_run["hint_auc"]["available"]:
        assert "hint_auc_psnr" in _failed(small_run, "paint_hints")
    assert b["passed"] is False
