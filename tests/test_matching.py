"""The region matcher: segments, pooled features, the head and its loss, training and resume,
assignment with seeds, and its two baselines."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from s2p_lab.errors import S2PError
from s2p_lab.matching.dataset import build_example, cache_features, label_medians, load_example, make_reference
from s2p_lab.matching.features import PartFeatures, pool_parts
from s2p_lab.matching.model import MatcherConfig, RegionMatcher, class_log_probs, load_matcher, save_matcher
from s2p_lab.matching.predict import Matcher, ReferenceParts, nearest_feature_colors, random_colors, reference_parts
from s2p_lab.matching.training import MatcherTrainConfig, train_matcher
from s2p_lab.segments import color_segments, segment_color_regions


def _blocks_image(h: int = 96, w: int = 128) -> np.ndarray:
    """Three flat colors in three blocks, on white."""
    img = np.full((h, w, 3), 255, np.uint8)
    img[10:50, 10:60] = (200, 40, 40)
    img[10:50, 70:120] = (40, 60, 200)
    img[60:90, 20:110] = (250, 210, 180)
    return img


def _illustration(seed: int, size: int = 160) -> np.ndarray:
    """A small synthetic 'illustration': outlined shapes of flat colors on white."""
    import cv2

    rng = np.random.default_rng(seed)
    img = np.full((size, size, 3), 255, np.uint8)
    for _ in range(5):
        color = tuple(int(c) for c in rng.integers(0, 256, 3))
        center = tuple(int(c) for c in rng.integers(30, size - 30, 2))
        axes = tuple(int(a) for a in rng.integers(12, 40, 2))
        cv2.ellipse(img, center, axes, float(rng.uniform(0, 180)), 0, 360, color, -1)
        cv2.ellipse(img, center, axes, 0, 0, 360, (0, 0, 0), 2)
    return img


def test_color_segments_finds_each_block_with_its_color_and_place() -> None:
    img = _blocks_image()
    seg = color_segments(img, clusters=4)
    assert seg.count == 4  # three blocks and the white paper
    from s2p_lab.evaluation.color import ciede2000, rgb_to_lab

    for color, (y0, y1, x0, x1) in (((200, 40, 40), (10, 50, 10, 60)), ((40, 60, 200), (10, 50, 70, 120))):
        inside = seg.labels[(y0 + y1) // 2, (x0 + x1) // 2] - 1
        assert ciede2000(seg.lab[inside], rgb_to_lab(np.array(color, np.uint8))) < 2
        assert seg.areas[inside] == (y1 - y0) * (x1 - x0)
        assert np.allclose(seg.centers[inside], [(x0 + x1) / 2 / 128, (y0 + y1) / 2 / 96], atol=0.01)
    assert np.array_equal(segment_color_regions(img, clusters=4), seg.labels)


def test_the_evaluation_keeps_its_segmentation() -> None:
    from s2p_lab.evaluation import segment_color_regions as evaluation_segments

    img = _illustration(3)
    assert np.array_equal(evaluation_segments(img), segment_color_regions(img))


def test_label_medians_are_each_labels_lower_median() -> None:
    rng = np.random.default_rng(0)
    values = rng.normal(size=(5000, 3))
    labels = rng.integers(-1, 7, 5000)
    medians, counts = label_medians(values, labels, 8)
    for label in range(7):
        column = np.sort(values[labels == label, 1])
        assert medians[label, 1] == column[(len(column) - 1) // 2]
        assert counts[label] == len(column)
    assert counts[7] == 0 and np.all(medians[7] == 0)


def test_pooling_averages_each_part_exactly() -> None:
    grid = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(2, 4, 4)
    labels = np.full((32, 32), -1, np.int64)
    labels[:, :16] = 0  # the left half: grid columns 0-1
    labels[:8, 16:] = 1  # the top right cell block: grid row 0, columns 2-3
    parts = pool_parts({"efficientnet": grid}, labels, 3)
    assert np.allclose(parts.efficientnet[0], grid[:, :, :2].mean(dim=(1, 2)).numpy())
    assert np.allclose(parts.efficientnet[1], grid[:, :1, 2:].mean(dim=(1, 2)).numpy())
    assert np.all(parts.efficientnet[2] == 0) and parts.areas[2] == 0
    assert np.allclose(parts.geometry[0, :2], [0.25, 0.5]) and np.isclose(parts.geometry[0, 6], np.sqrt(0.5))


def test_class_log_probs_sum_segments_per_color() -> None:
    logits = torch.tensor([[1.0, 2.0, 0.5, -1.0]])  # 4 segments of 3 palette colors
    log_p = class_log_probs(logits, torch.tensor([1, 0, 1, 2]), 3)
    p = torch.softmax(logits, 1)[0]
    assert torch.allclose(log_p.exp()[0], torch.stack([p[1], p[0] + p[2], p[3]]))
    assert torch.isclose(log_p.exp().sum(), torch.tensor(1.0))


def test_references_come_from_the_illustration_and_turn_hues_with_the_truth() -> None:
    target = _illustration(1)
    rng = np.random.default_rng(0)
    flip, degrees = make_reference(target, "flip", rng)
    assert degrees == 0 and flip.shape == target.shape
    kinds = {make_reference(target, "warp", np.random.default_rng(s))[1] != 0 for s in range(20)}
    assert kinds == {True, False}, "half of the warped references turn every hue"
    with pytest.raises(ValueError):
        make_reference(target, "melt", rng)


@pytest.fixture(scope="module")
def small_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real feature cache of six synthetic illustrations (written as files, as the command does)."""
    from PIL import Image

    folder = tmp_path_factory.mktemp("illustrations")
    paths = []
    for i in range(6):
        path = folder / f"synthetic_{i:04d}.png"
        Image.fromarray(_illustration(i, 192)).save(path)
        paths.append(path)
    out = tmp_path_factory.mktemp("cache")
    summary = cache_features(paths, out, progress=False)
    assert summary["built"] == 6 and not summary["failed"]
    return out


def test_the_cache_holds_regions_truths_and_references(small_cache: Path) -> None:
    example = load_example(next(small_cache.glob("*.npz")))
    regions = len(example.sketch["truth"])
    assert example.sketch["efficientnet"].shape == (regions, 152)
    assert len(example.references) == 2
    for ref in example.references:
        assert ref["truth"].shape == (regions, 3)
        assert len(ref["lab"]) == len(ref["cluster"]) == len(ref["efficientnet"]) > 0
    again = cache_features(sorted(Path(small_cache.parent).glob("illustrations*/*.png")), small_cache, progress=False)
    assert again["built"] == 0, "cached images are skipped (the command resumes)"


def test_the_cache_refuses_held_out_illustrations(tmp_path: Path) -> None:
    with pytest.raises(S2PError, match="held-out"):
        cache_features([tmp_path / "touhou_0001.jpg"], tmp_path / "cache", progress=False)


def _config(cache: Path, out: Path, steps: int) -> MatcherTrainConfig:
    return MatcherTrainConfig(cache=str(cache), out=str(out), steps=steps, batch=4, log_every=5, checkpoint_every=10,
                              warmup=5, model=MatcherConfig(dim=32, hidden=64))


def test_training_lowers_the_loss_and_resumes_exactly(small_cache: Path, tmp_path: Path) -> None:
    whole = train_matcher(_config(small_cache, tmp_path / "whole", 40), progress=False)
    history = json.loads((whole / "trainer.json").read_text())["history"]
    assert history[-1]["loss"] < history[0]["loss"]
    assert (whole / "loss.png").stat().st_size > 0
    train_matcher(_config(small_cache, tmp_path / "split", 40), progress=False, until=20)
    split = train_matcher(_config(small_cache, tmp_path / "split", 40), resume=True, progress=False)
    a, _ = load_matcher(whole)
    b, _ = load_matcher(split)
    for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(x, y), name
    with pytest.raises(S2PError, match="--resume"):
        train_matcher(_config(small_cache, tmp_path / "whole", 40), progress=False)


def test_features_of_one_side_are_never_mixed_with_another(small_cache: Path, tmp_path: Path) -> None:
    """The side the frozen features are computed at is part of the matcher: a cache records it,
    training refuses a config of another side, and so does a cache built at another side."""
    from s2p_lab.matching.dataset import cache_feature_side
    from s2p_lab.matching.features import FEATURE_SIDE

    assert cache_feature_side(small_cache) == FEATURE_SIDE
    with pytest.raises(S2PError, match="computed at"):
        train_matcher(MatcherTrainConfig(cache=str(small_cache), out=str(tmp_path / "m"), steps=2,
                                         model=MatcherConfig(dim=32, hidden=64, feature_side=320)), progress=False)
    with pytest.raises(S2PError, match="computed at"):
        cache_features(sorted(Path(small_cache.parent).glob("illustrations*/*.png")), small_cache, progress=False,
                       side=320)
    # a matcher saved before the side was written down reads 320 px (matcher-v1)
    folder = train_matcher(_config(small_cache, tmp_path / "new", 2), progress=False)
    meta = json.loads((folder / "matcher.json").read_text())
    assert meta["config"]["feature_side"] == FEATURE_SIDE
    del meta["config"]["feature_side"]
    (folder / "matcher.json").write_text(json.dumps(meta))
    assert load_matcher(folder)[0].config.feature_side == 320


def test_weights_load_only_from_safetensors_with_their_config(tmp_path: Path) -> None:
    model = RegionMatcher(MatcherConfig(dim=16, hidden=32), np.zeros((1, 3)))
    save_matcher(model, tmp_path)
    loaded, meta = load_matcher(tmp_path)
    assert meta["config"]["dim"] == 16
    (tmp_path / "matcher.json").write_text(json.dumps({"config": {"dim": 8, "hidden": 32}}))
    with pytest.raises(S2PError, match="do not fit"):
        load_matcher(tmp_path)
    with pytest.raises(S2PError, match="no matcher weights"):
        load_matcher(tmp_path / "missing")


def _parts(features: np.ndarray) -> PartFeatures:
    n = len(features)
    return PartFeatures(features.astype(np.float32), None, np.zeros((n, 7), np.float32), np.ones(n))


def test_the_baselines_pick_the_nearest_feature_and_random_segments_by_area() -> None:
    reference = reference_parts(_blocks_image())
    sketch = _parts(reference.features.efficientnet)  # the same parts on both sides
    chosen = nearest_feature_colors(sketch, reference)
    assert np.array_equal(chosen.source, np.arange(reference.segments.count))
    drawn = random_colors(4000, reference, seed=0)
    shares = np.bincount(drawn.source, minlength=reference.segments.count) / 4000
    expected = reference.segments.areas / reference.segments.areas.sum()
    assert np.allclose(shares, expected, atol=0.03)


def test_seed_zero_takes_the_best_color_and_other_seeds_sample_plausible_ones() -> None:
    torch.manual_seed(0)
    model = RegionMatcher(MatcherConfig(dim=16, hidden=32, temperature=1.0), np.array([[80, 10, 15]]))
    matcher = Matcher(model)
    reference = reference_parts(_illustration(5, 192))
    sketch = _parts(np.random.default_rng(1).normal(size=(40, 152)))
    best = matcher.assign(sketch, reference)
    probs, _, _ = matcher.candidates(sketch, reference)
    assert np.allclose(best.confidence, probs.max(axis=1))
    one, again, two = (matcher.assign(sketch, reference, seed=s) for s in (1, 1, 2))
    assert np.array_equal(one.rgb, again.rgb)
    assert not np.array_equal(one.rgb, two.rgb)
    assert np.all(one.top_p[:, 0] >= one.top_p[:, -1])


def test_a_region_taken_for_skin_keeps_a_skin_color() -> None:
    """Under a reference without skin tones, a region the skin head is sure of takes the prior;
    under one with a skin tone, that tone."""
    from s2p_lab.evaluation.color import is_skin

    model = RegionMatcher(MatcherConfig(dim=16, hidden=32), np.array([[80.0, 10.0, 15.0]]))
    with torch.no_grad():
        model.prior_head[-1].bias.fill_(10.0)  # every region is skin
    matcher = Matcher(model)
    sketch = _parts(np.random.default_rng(1).normal(size=(12, 152)))
    landscape = np.zeros((64, 64, 3), np.uint8)
    landscape[:32] = (40, 90, 200)
    landscape[32:] = (30, 140, 60)
    colors = matcher.assign(sketch, reference_parts(landscape))
    assert np.all(colors.source == -1) and np.all(is_skin(colors.lab))
    with_skin = landscape.copy()
    with_skin[20:44, 20:44] = (240, 200, 170)
    colors = matcher.assign(sketch, reference_parts(with_skin))
    assert np.all(colors.source >= 0) and np.all(is_skin(colors.lab))
    # a head that gives every region 0.3: skin only from a prior confidence of 0.3 down
    with torch.no_grad():
        model.prior_head[-1].weight.zero_()
        model.prior_head[-1].bias.fill_(float(np.log(0.3 / 0.7)))
    assert np.allclose(matcher.prior_probs(sketch), 0.3, atol=1e-5)
    assert not np.any(matcher.assign(sketch, reference_parts(landscape)).source == -1)
    matcher.prior_confidence = 0.25
    assert np.all(matcher.assign(sketch, reference_parts(landscape)).source == -1)


def test_the_matcher_evaluation_checks_its_prior_confidence(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from s2p_lab.cli import main

    capsys.readouterr()
    assert main(["matcher", "eval", "--data", str(tmp_path), "--prior-confidence", "1.5"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--prior-confidence must be a number from 0 to 1" in err


def test_every_matcher_config_loads_and_the_shipped_matcher_comes_from_one() -> None:
    root = Path(__file__).resolve().parents[1]
    configs = sorted((root / "configs").glob("matcher-*.json"))
    assert configs
    for path in configs:
        config = MatcherTrainConfig.load(path)
        assert config.out.startswith("runs/") and config.cache.startswith("runs/") and config.purpose
    _, meta = load_matcher(root / "s2p_lab" / "pretrained" / "matcher")
    shipped = MatcherTrainConfig.load(root / meta["config_file"])
    assert meta["config"] == {**meta["config"], **vars(shipped.model)} and meta["trained_steps"] == shipped.steps
    with pytest.raises(S2PError, match="unknown matcher config field"):
        MatcherTrainConfig.load(configs[0], {"stepz": 3})


def test_the_frozen_similarity_is_added_to_the_heads_logits() -> None:
    """``MatcherConfig.frozen_similarity`` w: each region's logits for each segment are the head's
    plus w times the untrained block-10 cosine similarity (``frozen_similarity``); 0 is the head
    alone, and under a large w each region's best segment is the nearest-feature baseline's."""
    from s2p_lab.matching.predict import frozen_similarity

    torch.manual_seed(0)
    reference = reference_parts(_illustration(5, 192))
    sketch = _parts(np.random.default_rng(1).normal(size=(30, 152)))
    model = RegionMatcher(MatcherConfig(dim=16, hidden=32), np.array([[80, 10, 15]]))
    _, head = Matcher(model).class_log_probs(sketch, reference)
    model.config.frozen_similarity = 7.5
    _, blended = Matcher(model).class_log_probs(sketch, reference)
    cosine = frozen_similarity(sketch, reference.features)
    assert np.allclose(blended.numpy() - head.numpy(), 7.5 * cosine, atol=1e-4)
    model.config.frozen_similarity = 1e4
    _, dominated = Matcher(model).class_log_probs(sketch, reference)
    assert np.array_equal(dominated.numpy().argmax(axis=1), nearest_feature_colors(sketch, reference).source)
    assert load_matcher(Path(__file__).resolve().parents[1] / "s2p_lab/pretrained/matcher")[0].config.frozen_similarity == 7.5
