"""The Colorizer contract: inputs of every accepted kind, one output per reference, caching."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from s2p_lab import Colorizer, Hints
from s2p_lab.errors import HintsError, ImageError, S2PError

from model_helpers import assert_same_colors, assert_same_refined, tolerance_of


@pytest.fixture(scope="module")
def colorizer() -> Colorizer:
    return Colorizer.from_pretrained()


@pytest.fixture(scope="module")
def sketch_path(sample_dir: Path) -> Path:
    return sorted((sample_dir / "sketches").glob("*.png"))[0]


@pytest.fixture(scope="module")
def style_paths(sample_dir: Path) -> list[Path]:
    return sorted((sample_dir / "styles").glob("*.png"))


@pytest.mark.numerics
def test_one_and_three_references(colorizer: Colorizer, sketch_path: Path, style_paths: list[Path]) -> None:
    sketch = Image.open(sketch_path)
    one = colorizer.colorize(sketch_path, styles=[style_paths[0]], size=128)
    three = colorizer.colorize(sketch_path, styles=style_paths[:3], size=128)
    assert len(one) == 1 and len(three) == 3
    for image in one + three:
        assert image.mode == "RGB" and image.size == sketch.size
    arrays = [np.asarray(im, dtype=np.float32) for im in three]
    assert np.abs(arrays[0] - arrays[1]).mean() > 1.0, "different references give different colors"
    # batched call equals the single call for the same reference (``soft``: refined), up to the
    # rounding of the precision that ran
    assert_same_refined(one[0], three[0], tolerance_of(colorizer), "one vs three references")


def test_hints_only_and_nothing(colorizer: Colorizer, sketch_path: Path) -> None:
    hints = {"points": [{"x": 0.5, "y": 0.5, "rgb": [230, 40, 60], "radius": 0.05}]}
    hinted = colorizer.colorize(sketch_path, styles=None, hints=hints, size=128)
    plain = colorizer.colorize(sketch_path, styles=[], size=128)
    assert len(hinted) == 1 and len(plain) == 1
    assert not np.array_equal(np.asarray(hinted[0]), np.asarray(plain[0])), "hints change the result"


def test_accepts_arrays_pil_and_hint_kinds(colorizer: Colorizer, sketch_path: Path, style_paths: list[Path], tmp_path: Path) -> None:
    gray = np.asarray(Image.open(sketch_path).convert("L"))
    style = np.asarray(Image.open(style_paths[1]).convert("RGB"))
    h, w = gray.shape
    color = np.zeros((h, w, 3), np.uint8); color[:] = (20, 200, 40)
    mask = np.zeros((h, w), np.uint8); mask[h // 3 : h // 3 + 8, w // 3 : w // 3 + 8] = 1
    hints_file = tmp_path / "h.json"
    Hints.from_dict({"points": [{"x": 0.3, "y": 0.3, "rgb": [20, 200, 40]}]}).save(hints_file)
    for hints in (Hints.from_arrays(color, mask), hints_file, str(hints_file), None):
        out = colorizer.colorize(gray, styles=[Image.fromarray(style)], hints=hints, size=96)
        assert out[0].size == (w, h)


def test_hint_edit_reuses_cached_encodings(colorizer: Colorizer, sketch_path: Path, style_paths: list[Path]) -> None:
    colorizer.colorize(sketch_path, styles=style_paths[:2], size=128)
    prepared = colorizer.prepare_sketch(sketch_path, 128)
    assert colorizer.prepare_sketch(sketch_path, 128) is prepared
    codes = colorizer.encode_styles(style_paths[:2])
    again = colorizer.encode_styles(style_paths[:2])
    np.testing.assert_array_equal(codes.vector.float().numpy(), again.vector.float().numpy())


@pytest.mark.numerics
def test_references_encoded_a_few_at_a_time_get_the_codes_of_one_batch(sample_dir: Path) -> None:
    """``max_style_batch_pixels`` bounds memory only: the shipped encoders give every reference the
    same code whatever batch it is in (bit for bit in bf16; in float32 the global vector's matmuls
    round by batch size, 4e-7 measured)."""
    styles = sorted((sample_dir / "styles").glob("*.png"))[:5]
    one_batch = Colorizer.from_pretrained(matcher=False)
    one_batch.max_style_batch_pixels = 10**9
    in_twos = Colorizer.from_pretrained(matcher=False)
    in_twos.max_style_batch_pixels = 2 * in_twos.config.style_size**2
    a, b = one_batch.encode_styles(styles), in_twos.encode_styles(styles)
    if one_batch.amp_dtype == torch.bfloat16:
        assert torch.equal(a.vector, b.vector) and torch.equal(a.tokens, b.tokens)
    torch.testing.assert_close(a.vector, b.vector, rtol=0, atol=1e-5)
    torch.testing.assert_close(a.tokens, b.tokens, rtol=0, atol=1e-5)


def test_bad_inputs_raise_typed_errors(colorizer: Colorizer, sketch_path: Path, tmp_path: Path) -> None:
    with pytest.raises(ImageError):
        colorizer.colorize(tmp_path / "missing.png")
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    with pytest.raises(ImageError):
        colorizer.colorize(sketch_path, styles=[empty], size=64)
    with pytest.raises(HintsError, match="rgb"):
        colorizer.colorize(sketch_path, hints={"points": [{"x": 0.1, "y": 0.1, "rgb": [300, 0, 0]}]}, size=64)
    with pytest.raises(S2PError, match="size"):
        colorizer.colorize(sketch_path, size=5)
    for strength in (-0.5, 1.01, float("nan")):
        with pytest.raises(S2PError, match="line_overlay"):
            Colorizer(colorizer.model, line_overlay=strength)


def test_real_sketch_with_three_real_references(colorizer: Colorizer, shared_data: Path) -> None:
    sketch = sorted((shared_data / "sketches").glob("*.png"))[0]
    styles = sorted((shared_data / "styles").glob("*.jpg"))[:3]
    images = colorizer.colorize(sketch, styles=styles, size=256)
    size = Image.open(sketch).size
    assert [im.size for im in images] == [size] * 3
    means = [np.asarray(im, np.float32).reshape(-1, 3).mean(0) for im in images]
    assert max(np.abs(means[0] - means[1]).max(), np.abs(means[0] - means[2]).max()) > 2.0


# not `numerics`: 18 colorizations at 192 px take 3.5 min in bf16 emulated on an AVX2 CPU, most of
# .ci/run's second run there; it runs in the default precision only
def test_shipped_model_follows_region_scribbles(colorizer: Colorizer, style_paths: list[Path]) -> None:
    """Scribbles in every color region (no reference) bring the output closer to the picture."""
    from s2p_lab.evaluation import psnr
    from s2p_lab.hint_simulation import region_scribbles
    from s2p_lab.imageio import load_image, resize_long_side
    from s2p_lab.sketch import extract_sketch

    gains = []
    for path in style_paths:
        target = resize_long_side(load_image(path), 192)
        sketch = extract_sketch(target, method="xdog")
        hint_map = region_scribbles(target, np.random.default_rng(0), fraction=1.0, grid=48)
        hints = Hints.from_arrays(np.rint(hint_map[..., :3] * 255).astype(np.uint8), hint_map[..., 3] > 0)
        plain = np.asarray(colorizer.colorize(sketch, styles=None, size=192)[0])
        hinted = np.asarray(colorizer.colorize(sketch, styles=None, hints=hints, size=192)[0])
        gains.append(psnr(hinted, target) - psnr(plain, target))
    assert float(np.median(gains)) > 2.0, gains


def test_seed_picks_a_composition_and_leaves_the_global_generator_alone(colorizer: Colorizer, sketch_path: Path,
                                                                         style_paths: list[Path]) -> None:
    """``seed`` 0 is the matcher's most probable coloring; another seed samples another plausible
    one, the same seed the same one; torch's global generator is never touched; without a
    matcher the seed changes nothing."""
    import torch

    assert colorizer.matches_regions
    torch.manual_seed(123)
    state = torch.get_rng_state()
    first = np.asarray(colorizer.colorize(sketch_path, styles=[style_paths[0]], size=96, seed=0, mode="flat")[0])
    assert torch.equal(torch.get_rng_state(), state), "colorize must not reseed torch's global generator"
    again = np.asarray(colorizer.colorize(sketch_path, styles=[style_paths[0]], size=96, seed=0, mode="flat")[0])
    assert np.array_equal(first, again)
    sampled = [np.asarray(colorizer.colorize(sketch_path, styles=[style_paths[0]], size=96, seed=s, mode="flat")[0])
               for s in (1, 1, 2)]
    assert np.array_equal(sampled[0], sampled[1]), "the same seed gives the same image"
    assert not np.array_equal(sampled[0], sampled[2]) or not np.array_equal(sampled[0], first), \
        "other seeds give other compositions"
    matcher, colorizer.matcher = colorizer.matcher, None
    try:
        colorizer.clear_cache()
        a = colorizer.colorize(sketch_path, styles=[style_paths[0]], size=96, seed=7)
        b = colorizer.colorize(sketch_path, styles=[style_paths[0]], size=96, seed=8)
        assert np.array_equal(np.asarray(a[0]), np.asarray(b[0])), "the network alone draws no random numbers"
    finally:
        colorizer.matcher = matcher


@pytest.mark.numerics
def test_attention_sharpness(colorizer: Colorizer, sketch_path: Path, style_paths: list[Path]) -> None:
    """Sharper attention changes the colors; changing it drops the last render (an edit after it
    equals a fresh colorizer's output); 1 gives back the trained network's output."""
    styles = style_paths[:2]
    tol = tolerance_of(colorizer)
    colorizer.clear_cache()
    default = [np.asarray(im, np.float32) for im in colorizer.colorize(sketch_path, styles, size=128, mode="raw")]
    sharp_colorizer = Colorizer.from_pretrained(attention_sharpness=4.0)
    sharp = [np.asarray(im, np.float32) for im in sharp_colorizer.colorize(sketch_path, styles, size=128, mode="raw")]
    assert min(np.abs(a - b).mean() for a, b in zip(default, sharp)) > 0.5
    try:
        colorizer.attention_sharpness = 4.0  # after a render of the same sketch and references
        again = [np.asarray(im, np.float32) for im in colorizer.colorize(sketch_path, styles, size=128, mode="raw")]
        for a, b in zip(again, sharp):
            assert_same_colors(a, b, tol, "sharpness set after a render vs a fresh colorizer")
        colorizer.attention_sharpness = 1.0
        back = [np.asarray(im, np.float32) for im in colorizer.colorize(sketch_path, styles, size=128, mode="raw")]
        for a, b in zip(back, default):
            assert_same_colors(a, b, tol, "sharpness back at 1 vs the first render")
    finally:
        colorizer.attention_sharpness = 1.0


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), 100.0, "sharp"])
def test_bad_attention_sharpness(colorizer: Colorizer, value: object) -> None:
    with pytest.raises(S2PError, match="attention_sharpness"):
        colorizer.attention_sharpness = value  # type: ignore[assignment]
    assert colorizer.attention_sharpness == 1.0
