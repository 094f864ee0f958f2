"""Medians and boxes per label: the values scipy.ndimage gives, on random and real label maps."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from s2p_lab.labelstats import label_boxes, label_medians


def _maps(seed: int) -> tuple[np.ndarray, np.ndarray, int]:
    rng = np.random.default_rng(seed)
    h, w = rng.integers(1, 70, 2)
    count = int(rng.integers(1, 40))
    blocks = rng.integers(0, count + 1, (max(1, h // 5), max(1, w // 5)))
    labels = np.kron(blocks, np.ones((5, 5), np.int32))[:h, :w].astype(np.int32)
    labels[rng.random(labels.shape) < 0.1] = rng.integers(0, count + 3)  # specks, labels beyond count too
    values = rng.normal(50, 30, (*labels.shape, 3)).astype(np.float32)
    values[..., 1] = np.round(values[..., 1])  # ties
    return labels, values, count


@pytest.mark.parametrize("seed", range(12))
def test_medians_and_boxes_are_scipys(seed: int) -> None:
    labels, values, count = _maps(seed)
    index = np.arange(1, count + 1)
    present = np.bincount(labels.ravel(), minlength=count + 1)[1 : count + 1] > 0
    medians = label_medians(values, labels, count)
    for c in range(3):
        want = np.asarray(ndimage.median(values[..., c], labels, index), np.float64)
        assert np.array_equal(medians[present, c], want[present])
        assert np.isnan(medians[~present, c]).all()
    assert np.array_equal(label_medians(values[..., 0], labels, count)[present], medians[present, 0])
    assert label_boxes(labels, count) == ndimage.find_objects(labels, max_label=count)


def test_a_real_segmentation_keeps_its_colors(sample_dir) -> None:
    from s2p_lab.evaluation.color import rgb_to_lab
    from s2p_lab.imageio import load_image, resize_long_side
    from s2p_lab.segments import segment_color_regions

    rgb = resize_long_side(load_image(sample_dir / "styles" / "sunset.png", mode="RGB"), 256)
    labels = segment_color_regions(rgb)
    count = int(labels.max())
    lab = rgb_to_lab(rgb)
    want = np.stack([ndimage.median(lab[..., c], labels, np.arange(1, count + 1)) for c in range(3)], axis=1)
    assert count > 3 and np.array_equal(label_medians(lab, labels, count), want)
    assert label_boxes(labels, count) == ndimage.find_objects(labels, max_label=count)
