"""Training references: the colors of the target, never its layout."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from s2p_lab.data import IllustrationDataset, SynthesisConfig
from s2p_lab.imageio import load_image
from s2p_lab.references import ColorJitter, random_warp, shuffle_patches, synthesize_reference

SIDE = 64


@pytest.fixture(scope="module")
def illustrations(sample_dir: Path) -> list[np.ndarray]:
    names = ["sunset", "neon_city", "autumn_leaves", "ocean_beach"]
    return [load_image(sample_dir / "styles" / f"{name}.png") for name in names]


def aligned_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of the luminance of two same-size images, pixel by pixel."""
    return float(np.corrcoef(a.astype(float).mean(axis=2).ravel(), b.astype(float).mean(axis=2).ravel())[0, 1])


def test_reference_layout_differs_from_the_image(illustrations: list[np.ndarray]) -> None:
    for image in illustrations:
        target = cv2.resize(image, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
        assert aligned_correlation(target, target) > 0.99  # the measure sees a copy
        scores = [aligned_correlation(target, synthesize_reference(image, np.random.default_rng(s), SIDE))
                  for s in range(30)]
        assert np.median(scores) < 0.3, scores
        assert max(scores) < 0.9, "no reference may be a near copy of the layout"


def test_reference_keeps_the_colors(illustrations: list[np.ndarray]) -> None:
    for image in illustrations:
        reference = synthesize_reference(image, np.random.default_rng(0), SIDE)
        assert reference.shape == (SIDE, SIDE, 3) and reference.dtype == np.uint8
        mean_image = image.reshape(-1, 3).mean(axis=0)
        mean_reference = reference.reshape(-1, 3).mean(axis=0)
        others = [o.reshape(-1, 3).mean(axis=0) for o in illustrations if o is not image]
        # closer to its own illustration's mean color than to any other illustration's
        assert np.abs(mean_reference - mean_image).sum() < min(np.abs(mean_reference - o).sum() for o in others)


def test_training_samples_cannot_copy_the_target(sample_dir: Path) -> None:
    ds = IllustrationDataset(sample_dir / "styles", SynthesisConfig(size=SIDE, style_size=SIDE), holdout=False)
    scores = []
    for number in range(40):
        sample = ds[(number % len(ds), number)]
        to_rgb = lambda t: ((t.permute(1, 2, 0).numpy() + 1) * 127.5).astype(np.uint8)  # noqa: E731
        scores.append(aligned_correlation(to_rgb(sample["target"]), to_rgb(sample["reference"])))
    assert np.median(scores) < 0.3, scores
    assert max(scores) < 0.95, scores


def test_shuffle_patches_is_a_permutation_of_patches() -> None:
    image = np.arange(16 * 16 * 3, dtype=np.uint8).reshape(16, 16, 3)
    shuffled = shuffle_patches(image, 4, np.random.default_rng(1))
    assert shuffled.shape == image.shape and not np.array_equal(shuffled, image)
    patches = lambda a: sorted(a[r : r + 4, c : c + 4].tobytes() for r in range(0, 16, 4) for c in range(0, 16, 4))  # noqa: E731
    assert patches(shuffled) == patches(image)


def test_random_warp_keeps_the_size_and_moves_pixels(illustrations: list[np.ndarray]) -> None:
    image = cv2.resize(illustrations[1], (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    warped = random_warp(image, np.random.default_rng(2))
    assert warped.shape == image.shape
    assert np.abs(warped.astype(int) - image.astype(int)).mean() > 5


def test_color_jitter_is_shared_and_rotates_hue() -> None:
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 220
    jitter = ColorJitter(hue_shift=60, saturation=1.0)  # OpenCV hue units: 120 degrees
    shifted = jitter(red)
    assert shifted[0, 0, 1] > 150 and shifted[0, 0, 0] < 60, "red turns green"
    assert np.array_equal(jitter(red), shifted), "the same jitter gives the same colors to target and reference"
    assert ColorJitter.random(np.random.default_rng(0), p=0.0) == ColorJitter()
