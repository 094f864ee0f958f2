"""Reference hints: colors matched from the reference to the sketch's regions (``correspondence``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from s2p_lab.colorizer import Colorizer
from s2p_lab.correspondence import check_count, match_reference, reference_hints
from s2p_lab.evaluation.color import rgb_to_lab
from s2p_lab.errors import S2PError
from s2p_lab.evaluation.color import ciede2000
from s2p_lab.hints import Hints, Point
from s2p_lab.imageio import load_image, resize_long_side
from s2p_lab.regions import region_map


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer.from_pretrained(matcher=False)  # reference hints are the network-alone path


def test_counts_are_whole_numbers_from_0_to_1000() -> None:
    assert check_count(0) == 0 and check_count(24) == 24 and check_count(24.0) == 24
    for bad in (-1, 1.5, "many", None, 1001, float("nan")):
        with pytest.raises(S2PError, match="reference-hint-count must be a whole number"):
            check_count(bad)


def test_a_one_color_reference_gives_that_color_everywhere(sample_dir: Path) -> None:
    lines = load_image(sample_dir / "sketches" / "girl_portrait.png", mode="L")
    lines = resize_long_side(lines, 256)
    teal = np.zeros((200, 300, 3), np.uint8)
    teal[:] = (20, 160, 150)
    match = match_reference(lines, teal)
    cells = match.confidence.shape
    assert match.lab.shape[:2] == cells and max(cells) == 16, "16 px cells at 256 px"
    assert np.allclose(match.lab, rgb_to_lab(teal[:1, :1])[0, 0], atol=0.5)
    hints = reference_hints(match, region_map(lines), 5)
    assert len(hints.points) == 5
    assert all(np.abs(np.array(p.rgb) - (20, 160, 150)).max() <= 1 for p in hints.points)


def test_hints_sit_inside_distinct_regions_and_leave_the_users_regions_alone(sample_dir: Path) -> None:
    lines = resize_long_side(load_image(sample_dir / "sketches" / "house_landscape.png", mode="L"), 256)
    reference = load_image(sample_dir / "styles" / "autumn_leaves.png", mode="RGB")
    regions = region_map(lines)
    match = match_reference(lines, reference)
    every = reference_hints(match, regions, 1000)
    h, w = regions.shape

    def region_of(p: Point) -> int:
        return int(regions.labels[min(h - 1, int(p.y * h)), min(w - 1, int(p.x * w))])

    owners = [region_of(p) for p in every.points]
    assert len(set(owners)) == len(owners) >= 3, "one hint per region"
    assert reference_hints(match, regions, 2).points == every.points[:2], "the most confident and largest first"
    assert reference_hints(match, regions, 0).is_empty()
    # a user hint in the first region removes that region's reference hint and changes no other
    user = Hints(points=[every.points[0]]).to_map(h, w)[:, :, 3] > 0
    without = reference_hints(match, regions, 1000, hinted=user)
    assert without.points == every.points[1:]


def test_a_mirrored_own_reference_gives_the_illustrations_colors(shared_data: Path) -> None:
    """On held-out illustrations, each hint's color is closer to the illustration's own color at
    the hint than the colors of the same hints handed round to the wrong places."""
    from s2p_lab.evaluation.baselines import flipped_recrop
    from s2p_lab.evaluation.runner import evenly, list_images
    from s2p_lab.sketch import extract_sketch
    from s2p_lab.splits import is_holdout

    right, shifted = [], []
    for path in evenly([p for p in list_images(shared_data / "illustrations") if is_holdout(p.name)], 6):
        target = resize_long_side(load_image(path, mode="RGB"), 384)
        lines = extract_sketch(target, method="xdog")
        hints = reference_hints(match_reference(lines, flipped_recrop(target)), region_map(lines), 24)
        h, w = lines.shape
        truth = rgb_to_lab(np.array([target[int(p.y * h), int(p.x * w)] for p in hints.points], np.uint8))
        given = rgb_to_lab(np.array([p.rgb for p in hints.points], np.uint8))
        right.append(ciede2000(given, truth).mean())
        shifted.append(ciede2000(np.roll(given, 1, axis=0), truth).mean())
    assert np.mean(right) < 0.8 * np.mean(shifted), (right, shifted)


@pytest.fixture(scope="module")
def mirrored_colored_portrait(colorizer: Colorizer, sample_dir: Path) -> np.ndarray:
    """A reference that holds the drawing itself: the sample portrait colorized, then mirrored."""
    colored = colorizer.colorize(sample_dir / "sketches" / "girl_portrait.png", [sample_dir / "styles" / "sunset.png"],
                                 size=192, reference_hint_count=0)[0]
    return np.ascontiguousarray(np.asarray(colored)[:, ::-1])


def test_only_a_reference_that_looks_like_the_drawing_gives_hints(colorizer: Colorizer, sample_dir: Path,
                                                                   mirrored_colored_portrait: np.ndarray) -> None:
    prepared = colorizer.prepare_sketch(sample_dir / "sketches" / "girl_portrait.png", 192)
    own = len(colorizer.matched_hints(prepared, mirrored_colored_portrait, count=24).points)
    landscapes = [len(colorizer.matched_hints(prepared, path, count=24).points)
                  for path in sorted((sample_dir / "styles").glob("*.png"))]
    assert own >= 8 and max(landscapes) < own and np.mean(landscapes) <= 3, (own, landscapes)
    # the same colors cut into 8 x 8 shuffled patches: each part still matches some patch, but the
    # sketch as a whole no longer matches well enough for any hint
    from s2p_lab.evaluation.baselines import shuffle_patches

    shuffled = shuffle_patches(mirrored_colored_portrait, seed=0)
    assert len(colorizer.matched_hints(prepared, shuffled, count=24).points) == 0
    colorizer.reference_image_similarity = 0.0
    try:
        assert len(colorizer.matched_hints(prepared, shuffled, count=24).points) > 0, "the whole-sketch floor stops them"
    finally:
        del colorizer.reference_image_similarity


def test_the_colorizer_gives_the_network_reference_hints(colorizer: Colorizer, sample_dir: Path,
                                                         mirrored_colored_portrait: np.ndarray) -> None:
    sketch = sample_dir / "sketches" / "girl_portrait.png"
    style = mirrored_colored_portrait
    assert colorizer.reference_hint_count == 0, "off by default"
    plain = np.asarray(colorizer.colorize(sketch, [style], size=192, mode="raw")[0])
    hinted = np.asarray(colorizer.colorize(sketch, [style], size=192, mode="raw", reference_hint_count=24)[0])
    assert np.abs(plain.astype(int) - hinted).mean() > 1.0, "the reference hints change what the network paints"
    prepared = colorizer.prepare_sketch(sketch, 192)
    codes = colorizer.encode_styles([style])
    # a reference given as a style code has no image to match: the plain network's output
    assert np.array_equal(colorizer.render_references(prepared, None, [codes], codes, count=24),
                          colorizer.render(prepared, colorizer.hint_map(None, prepared), codes))
    # with references as images, each output is the network with that reference's hints
    second = sample_dir / "styles" / "neon_city.png"
    both = colorizer.render_references(prepared, None, [style, second], count=24)
    for i, ref in enumerate((style, second)):
        alone = colorizer.render(prepared, colorizer.hint_map(colorizer.matched_hints(prepared, ref, count=24), prepared),
                                 colorizer.encode_styles([ref]))
        assert np.array_equal(both[i], alone[0])


def test_command_line_refuses_a_bad_count_in_one_line(tmp_path: Path, sample_dir: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "s2p_lab.cli", "colorize", str(sample_dir / "sketches" / "cat_sitting.png"),
                           "--style", str(sample_dir / "styles" / "desert.png"), "--reference-hint-count", "-3",
                           "-o", str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "--reference-hint-count must be a whole number" in done.stderr
    assert not (tmp_path / "out").exists()


def test_reference_hints_reach_the_network_at_the_alpha_it_was_trained_with(colorizer: Colorizer, sample_dir: Path,
                                                                          mirrored_colored_portrait: np.ndarray) -> None:
    """Weights trained with simulated reference hints (``synthesis.p_reference_hints``) saw them at
    ``reference_hint_alpha``: the colorizer sends them so, beside the user's hints at alpha 1; at 1
    (the shipped weights) they are drawn as the user's."""
    prepared = colorizer.prepare_sketch(sample_dir / "sketches" / "girl_portrait.png", 192)
    user = Hints(points=[Point(0.5, 0.2, (200, 30, 30), 0.02)])
    matched = colorizer.matched_hints(prepared, mirrored_colored_portrait, user, count=24)
    assert len(matched.points) >= 8
    merged = Hints(points=user.points + matched.points)
    trained = colorizer.reference_hint_alpha
    assert trained == 1.0
    assert torch.equal(colorizer.reference_hint_map(prepared, user, matched), colorizer.hint_map(merged, prepared))
    colorizer.reference_hint_alpha = 0.5
    try:
        both = colorizer.reference_hint_map(prepared, user, matched)[0]
        alone = colorizer.hint_map(user, prepared)[0]
        users = alone[3] > 0
        assert torch.equal(both[:, users], alone[:, users]), "the user's hints as they were"
        assert set(both[3].unique().tolist()) == {0.0, 0.5, 1.0}
        theirs = both[3] == 0.5
        assert theirs.sum() > users.sum()
        # the colors are the matched ones, premultiplied by the alpha
        spread = colorizer.hint_map(merged, prepared)[0]
        assert torch.allclose(both[:3, theirs], 0.5 * spread[:3, theirs])
        assert torch.equal(colorizer.reference_hint_map(prepared, user, Hints()), alone[None])
    finally:
        colorizer.reference_hint_alpha = trained
