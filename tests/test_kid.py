"""KID and its EfficientNet-Lite0 features: the estimator, the port of the weights, the ordering."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from s2p_lab.evaluation import image_features, kid

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def test_kid_is_about_zero_for_one_distribution_and_grows_with_the_shift() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 16))
    b = rng.normal(size=(200, 16))
    same = kid(a, b, subsets=50, subset_size=100)
    assert same["subset_size"] == 100 and same["kid_std"] > 0
    shifts = [kid(a, b + s, subsets=50, subset_size=100)["kid"] for s in (0.2, 0.5, 1.0)]
    assert shifts[0] < shifts[1] < shifts[2]
    assert abs(same["kid"]) < 0.1 * shifts[0]
    assert kid(a, b + 0.5, subsets=50)["kid"] == pytest.approx(kid(b + 0.5, a, subsets=50)["kid"], rel=0.2)


def test_kid_is_unbiased_on_small_samples() -> None:
    # the unbiased estimator averages to ~0 for samples of one distribution, even with 10 per set
    rng = np.random.default_rng(1)
    values = [kid(rng.normal(size=(10, 8)), rng.normal(size=(10, 8)), subsets=5, seed=s)["kid"] for s in range(200)]
    assert abs(np.mean(values)) < 3 * np.std(values) / np.sqrt(len(values))
    assert np.isnan(kid(rng.normal(size=(1, 8)), rng.normal(size=(5, 8)))["kid"])


def test_the_efficientnet_port_classifies_photos_as_imagenet_expects() -> None:
    skdata = pytest.importorskip("skimage.data", reason="scikit-image's sample photos are not installed")
    import torch

    from s2p_lab.backbones.efficientnet_lite import load_efficientnet_lite0

    net = load_efficientnet_lite0()
    photos = {"chelsea": range(281, 286), "coffee": [967]}  # ImageNet cat classes; espresso
    for name, classes in photos.items():
        img = cv2.resize(getattr(skdata, name)(), (224, 224), interpolation=cv2.INTER_AREA)
        x = torch.from_numpy(img).permute(2, 0, 1)[None].float() / 255.0
        with torch.no_grad():
            top = int(net(x).argmax())
        assert top in classes, (name, top)


def test_features_are_1280_d_and_deterministic() -> None:
    from s2p_lab.imageio import load_image

    styles = sorted((SAMPLE / "styles").glob("*.png"))[:3]
    imgs = [load_image(p, mode="RGB") for p in styles]
    f1 = image_features(imgs)
    f2 = image_features(imgs[::-1])[::-1]
    assert f1.shape == (3, 1280) and np.isfinite(f1).all()
    assert np.allclose(f1, f2, atol=1e-4)


def test_kid_tells_color_images_from_their_gray_and_line_versions() -> None:
    from s2p_lab.imageio import load_image

    styles = [load_image(p, mode="RGB") for p in sorted((SAMPLE / "styles").glob("*.png"))]
    crops = []
    for img in styles:  # four crops each: more samples of the same distribution
        h, w = img.shape[:2]
        crops += [img[: h * 3 // 4, : w * 3 // 4], img[h // 4:, w // 4:], img[: h * 3 // 4, w // 4:],
                  img[h // 4:, : w * 3 // 4]]
    real = image_features(crops[0::2])
    probe = image_features(crops[1::2])
    gray = image_features([np.repeat(cv2.cvtColor(c, cv2.COLOR_RGB2GRAY)[:, :, None], 3, 2) for c in crops[1::2]])
    edges = image_features([np.repeat(255 - cv2.Canny(c, 80, 160)[:, :, None], 3, 2) for c in crops[1::2]])
    k_real, k_gray, k_edges = (kid(real, f, subsets=30)["kid"] for f in (probe, gray, edges))
    assert k_real < k_gray < k_edges


def test_recolor_hue_keeps_the_drawing_and_turns_its_colors() -> None:
    from s2p_lab.evaluation.runner import recolor_hue

    image = np.zeros((8, 8, 3), np.uint8)
    image[:4] = (220, 30, 30)  # red
    image[4:] = (255, 255, 255)  # paper
    turned = recolor_hue(image)
    assert turned[0, 0, 1] > turned[0, 0, 0] and turned[0, 0, 1] > turned[0, 0, 2], "red turns green at 120 degrees"
    assert (turned[4:] == 255).all(), "paper stays paper"
    assert np.array_equal(recolor_hue(image, 0.0), image)


def test_pair_kid_says_whether_the_sets_come_in_a_persons_order() -> None:
    from s2p_lab.evaluation.runner import PAIR_KID_SETS, pair_kid

    rng = np.random.default_rng(0)
    pool = rng.normal(size=(120, 8))
    shifts = {"real_held_out": 0.0, "recolored": 0.3, "model": 0.6, "wash": 0.9, "gray": 1.2, "lines": 2.0}
    feats = {n: rng.normal(size=(60, 8)) + shifts[n] for n in PAIR_KID_SETS}
    good = pair_kid({"n_pairs": 60, "_features": feats}, pool)
    assert good["ordered_as_a_person_would"] and good["order_best_first"][-1] == "lines"
    swapped = dict(feats, wash=feats["gray"], gray=feats["wash"])
    assert not pair_kid({"n_pairs": 60, "_features": swapped}, pool)["ordered_as_a_person_would"]
