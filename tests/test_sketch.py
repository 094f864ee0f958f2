"""Sketch extraction, cleanup of real sketches, line augmentation, and the sample-data generator."""

from __future__ import annotations

import importlib.util
import json
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from s2p_lab.errors import ImageError
from s2p_lab.sketch import (
    EXTRACTORS,
    adaptive,
    augment_lines,
    cleanup_sketch,
    extract_sketch,
    highpass,
    xdog,
)

ROOT = Path(__file__).resolve().parents[1]


def _load(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        gray = im.mode in ("L", "LA", "I", "I;16")
        return np.asarray(im.convert("L" if gray else "RGB"))


def _illustration(size: int = 160) -> tuple[np.ndarray, np.ndarray]:
    """A tiny flat-colored 'illustration' and a mask of its shape edges (within 2 px)."""
    img = np.full((size, size, 3), (236, 226, 214), np.uint8)
    cv2.circle(img, (size // 2, size // 2), size // 4, (200, 60, 70), -1, cv2.LINE_AA)
    cv2.rectangle(img, (10, 10), (50, 40), (40, 90, 170), -1)
    shape = np.zeros((size, size), np.uint8)
    cv2.circle(shape, (size // 2, size // 2), size // 4, 255, -1)
    cv2.rectangle(shape, (10, 10), (50, 40), 255, -1)
    edge = cv2.morphologyEx(shape, cv2.MORPH_GRADIENT, np.ones((5, 5), np.uint8)) > 0
    return img, edge


def _line_art(size: int = 256, seed: int = 0, value: int = 0) -> np.ndarray:
    """Clean anti-aliased line art: curves and an outlined ellipse on white."""
    rng = np.random.default_rng(seed)
    img = np.full((size, size), 255, np.uint8)
    for _ in range(8):
        pts = rng.integers(8, size - 8, (4, 2)).astype(np.int32)
        cv2.polylines(img, [pts], False, value, int(rng.integers(1, 3)), cv2.LINE_AA)
    center, axes = (size // 2, size // 2), (size // 4, size // 5)
    cv2.ellipse(img, center, axes, 0, 0, 360, value, 2, cv2.LINE_AA)
    return img


def _photographed(lines: np.ndarray, ink_rgb=(70, 68, 72), seed: int = 1) -> np.ndarray:
    """``lines`` (255 = paper) as if photographed: warm tinted paper, uneven light, noise."""
    h, w = lines.shape
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1.0 - 0.35 * ((xx / w - 0.2) ** 2 + (yy / h - 0.3) ** 2) - 0.12 * yy / h
    a = (1.0 - lines.astype(np.float32) / 255.0)[..., None]
    paper = np.array([236, 222, 190], np.float32)
    img = (paper * (1 - a) + np.array(ink_rgb, np.float32) * a) * light[..., None]
    img += rng.normal(0, 3.0, img.shape)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------------- extractors


@pytest.mark.parametrize("name", sorted(EXTRACTORS))
@pytest.mark.parametrize("gray_input", [False, True])
def test_extractor_lines_follow_shape_edges(name: str, gray_input: bool) -> None:
    img, edge = _illustration()
    if gray_input:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    out = EXTRACTORS[name](img)
    assert out.dtype == np.uint8 and out.shape == img.shape[:2]
    assert (out > 200).mean() > 0.8, "mostly white paper"
    assert out[~edge].mean() > 245, "flat regions stay paper"
    assert out[edge].mean() < out[~edge].mean() - 30, "lines along the shape's edges"
    assert (out[edge] < 128).mean() > 0.15


def test_extractors_on_sample_line_art(sample_dir: Path) -> None:
    """Extracting from line art puts lines where the drawing's lines are."""
    sketch = _load(sample_dir / "sketches" / "girl_portrait.png")
    lines = sketch < 128
    near = cv2.dilate((sketch < 224).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    for name, fn in EXTRACTORS.items():
        out = fn(sketch)
        assert out.shape == sketch.shape and out.dtype == np.uint8
        dark = out < 128
        assert dark.sum() > 0.3 * lines.sum(), name
        assert (dark & near).sum() > 0.97 * dark.sum(), f"{name}: dark pixels away from lines"
        assert (out[~near] > 240).mean() > 0.99, name


def test_extractors_on_sample_styles(sample_dir: Path) -> None:
    for path in sorted((sample_dir / "styles").glob("*.png"))[:3]:
        img = _load(path)
        for fn in EXTRACTORS.values():
            out = fn(img)
            assert out.shape == img.shape[:2] and out.dtype == np.uint8
            assert (out > 200).mean() > 0.5, path.name


def test_extractor_parameters_matter() -> None:
    img, edge = _illustration()
    thin, thick = xdog(img, sigma=0.5), xdog(img, sigma=1.2)
    assert (thick < 128).sum() > (thin < 128).sum()
    assert (highpass(img, kernel=7) < 200).sum() > (highpass(img, kernel=3) < 200).sum()
    assert (adaptive(img, c=2.0) < 200).sum() >= (adaptive(img, c=20.0) < 200).sum()


def test_flat_image_is_blank_paper() -> None:
    flat = np.full((64, 80, 3), 120, np.uint8)
    for fn in EXTRACTORS.values():
        assert (fn(flat) == 255).all()


def test_extract_sketch_dispatch_and_unknown_method() -> None:
    img, _ = _illustration(96)
    for name, fn in EXTRACTORS.items():
        np.testing.assert_array_equal(extract_sketch(img, name), fn(img))
    np.testing.assert_array_equal(extract_sketch(img), xdog(img))
    np.testing.assert_array_equal(extract_sketch(img, "xdog", sigma=0.9), xdog(img, sigma=0.9))
    with pytest.raises(ValueError) as err:
        extract_sketch(img, "pencil")
    for name in EXTRACTORS:
        assert name in str(err.value)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((32, 32), np.float32),
        np.zeros((0, 32), np.uint8),
        np.zeros((32, 32, 2), np.uint8),
        np.zeros((2, 32, 32, 3), np.uint8),
        [[0, 255], [255, 0]],
    ],
)
def test_unusable_arrays_raise_image_error(bad) -> None:
    for fn in (xdog, highpass, adaptive, cleanup_sketch):
        with pytest.raises(ImageError):
            fn(bad)
    with pytest.raises(ImageError):
        augment_lines(bad, np.random.default_rng(0))


def test_rgba_and_single_channel_inputs() -> None:
    img, _ = _illustration(64)
    rgba = np.dstack([img, np.full(img.shape[:2], 255, np.uint8)])
    np.testing.assert_array_equal(xdog(rgba), xdog(img))
    gray = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    np.testing.assert_array_equal(highpass(gray[..., None]), highpass(gray))


def test_extractors_are_fast() -> None:
    img = cv2.resize(_illustration(160)[0], (384, 384))
    for name, fn in EXTRACTORS.items():
        fn(img)
        t = time.process_time()
        for _ in range(5):
            fn(img)
        # a few ms of CPU each; CPU time (not wall time) so that a busy machine does not matter
        assert (time.process_time() - t) / 5 < 0.05, name


# ---------------------------------------------------------------------------------- cleanup


def test_cleanup_flattens_tinted_uneven_photo() -> None:
    clean = _line_art(320)
    photo = _photographed(clean)
    out = cleanup_sketch(photo)
    assert out.dtype == np.uint8 and out.shape == clean.shape
    near = cv2.dilate((clean < 250).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert (out[~near] > 240).mean() >= 0.95, "paper comes out white"
    assert np.median(out[clean < 64]) < 100, "lines come out dark"


def test_cleanup_of_sample_pencil_photo(sample_dir: Path) -> None:
    photo = _load(sample_dir / "sketches_photo" / "pencil_girl.jpg")
    truth = _load(sample_dir / "sketches" / "girl_portrait.png")
    out = cleanup_sketch(photo)
    assert out.shape == truth.shape
    # the pencil lines wobble a few pixels away from the clean drawing
    near = cv2.dilate((truth < 250).astype(np.uint8), np.ones((11, 11), np.uint8)) > 0
    assert (out[~near] > 240).mean() >= 0.95
    photo_gray = cv2.cvtColor(photo, cv2.COLOR_RGB2GRAY)
    assert (out[~near] > 240).mean() > (photo_gray[~near] > 240).mean() + 0.5
    cores = cv2.erode((truth < 64).astype(np.uint8), np.ones((2, 2), np.uint8)) > 0
    assert np.median(cv2.erode(out, np.ones((5, 5), np.uint8))[cores]) < 128


def test_cleanup_turns_blue_lines_dark() -> None:
    clean = _line_art(256, seed=3)
    ink = (1.0 - clean.astype(np.float32) / 255.0)[..., None]
    blue = np.array([90, 150, 225], np.float32)  # light blue pencil
    img = np.clip(255 * (1 - ink) + blue * ink + 0.5, 0, 255).astype(np.uint8)
    out = cleanup_sketch(img)
    cores = clean < 64
    assert np.median(out[cores]) < 80
    # plain luminance would have left them mid-gray
    assert np.median(cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)[cores]) > 120
    assert (out[clean == 255] > 240).mean() > 0.98


def test_cleanup_leaves_clean_line_art_nearly_unchanged(sample_dir: Path) -> None:
    drawings = [_line_art(256, seed=5)]
    drawings += [_load(p) for p in sorted((sample_dir / "sketches").glob("*.png"))]
    for art in drawings:
        out = cleanup_sketch(art)
        diff = np.abs(out.astype(np.int16) - art.astype(np.int16))
        assert diff.mean() < 1.0
        assert (diff > 24).mean() < 0.002


def test_cleanup_removes_isolated_specks() -> None:
    art = _line_art(256, seed=7)
    speckled = art.copy()
    rng = np.random.default_rng(0)
    ys, xs = rng.integers(0, 256, 40), rng.integers(0, 256, 40)
    far = cv2.dilate((art < 250).astype(np.uint8), np.ones((9, 9), np.uint8)) == 0
    keep = far[ys, xs]
    speckled[ys[keep], xs[keep]] = 30
    out = cleanup_sketch(speckled)
    assert keep.sum() > 10
    assert (out[ys[keep], xs[keep]] > 240).all()
    assert np.median(out[art < 64]) < 64


def test_cleanup_is_fast_at_1024px() -> None:
    photo = _photographed(cv2.resize(_line_art(256), (1024, 1024)), seed=2)
    cleanup_sketch(photo)
    t = time.process_time()
    cleanup_sketch(photo)
    assert time.process_time() - t < 0.5  # about 20 ms of CPU


# ---------------------------------------------------------------------------------- augmentation


def test_augment_lines_shape_dtype_and_determinism() -> None:
    sketch = xdog(_illustration(128)[0])
    a = [augment_lines(sketch, np.random.default_rng(42)) for _ in range(2)]
    np.testing.assert_array_equal(a[0], a[1])
    rng = np.random.default_rng(1)
    outs = [augment_lines(sketch, rng) for _ in range(12)]
    for out in outs:
        assert out.shape == sketch.shape and out.dtype == np.uint8
        assert (out > 200).mean() > 0.7, "still line art on paper"
    assert len({o.tobytes() for o in outs}) > 6, "the augmentations vary"
    assert any((o < 128).sum() < 0.8 * (sketch < 128).sum() for o in outs), "some lighter lines"
    assert any((o < 128).sum() > 1.2 * (sketch < 128).sum() for o in outs), "some thicker lines"
    assert augment_lines(sketch, np.random.default_rng(3)) is not sketch


def test_augment_lines_keeps_lines_visible() -> None:
    sketch = _line_art(128, seed=2)
    rng = np.random.default_rng(0)
    for _ in range(30):
        out = augment_lines(sketch, rng)
        assert out[sketch < 32].mean() < out[sketch == 255].mean() - 60


# ---------------------------------------------------------------------------------- sample data


def test_make_sample_data_regenerates_committed_files(sample_dir: Path, tmp_path: Path) -> None:
    script = ROOT / "tools" / "make_sample_data.py"
    spec = importlib.util.spec_from_file_location("make_sample_data", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--out", str(tmp_path)]) == 0
    made = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file())
    committed = sorted(p.relative_to(sample_dir) for p in sample_dir.rglob("*")
                       if p.is_file() and p.name != "README.md")
    assert made == committed
    assert len([p for p in made if p.parts[0] == "sketches"]) == 4
    assert len([p for p in made if p.parts[0] == "styles"]) == 9
    for rel in made:
        if rel.suffix == ".json":
            new, old = ((d / rel).read_text() for d in (tmp_path, sample_dir))
            assert json.loads(new) == json.loads(old)
            continue
        new, old = _load(tmp_path / rel), _load(sample_dir / rel)
        assert new.shape == old.shape, rel
        # identical here; a different OpenCV/zlib/libjpeg build may round a level differently
        assert np.abs(new.astype(np.int16) - old.astype(np.int16)).max() <= 2, rel


def test_sample_data_is_what_it_claims(sample_dir: Path) -> None:
    from s2p_lab.hints import Hints

    for path in sorted((sample_dir / "sketches").glob("*.png")):
        art = _load(path)
        assert art.ndim == 2 and 512 <= max(art.shape) <= 768
        assert (art > 240).mean() > 0.85 and (art < 32).mean() > 0.01, path.name
        assert len(np.unique(art)) >= 16, "anti-aliased"
    hues = []
    for path in sorted((sample_dir / "styles").glob("*.png")):
        img = _load(path)
        assert img.ndim == 3 and 384 <= max(img.shape[:2]) <= 512
        hsv = cv2.cvtColor(img, cv2.COLOR_RGB2HSV)
        assert hsv[..., 1].mean() > 25, f"{path.name} is colorful"
        hues.append(np.bincount(hsv[..., 0].ravel() // 15, minlength=12) / hsv[..., 0].size)
    hues = np.array(hues)
    # different palettes: no two references have (nearly) the same hue histogram
    dist = np.abs(hues[:, None] - hues[None]).sum(-1) + 2 * np.eye(len(hues))
    assert dist.min() > 0.3
    hints = Hints.load(sample_dir / "hints" / "girl_hints.json") if hasattr(Hints, "load") else \
        Hints.from_dict(json.loads((sample_dir / "hints" / "girl_hints.json").read_text()))
    portrait = _load(sample_dir / "sketches" / "girl_portrait.png")
    hint_map = hints.to_map(*portrait.shape)
    assert hint_map[..., 3].sum() > 0
    assert (portrait[hint_map[..., 3] > 0] > 128).mean() > 0.8, "hints sit inside regions"


# ---------------------------------------------------------------------------------- shared data


def test_on_shared_illustrations_and_sketches(shared_data: Path) -> None:
    for name in ("genshin_0080.jpg", "touhou_0102.jpg", "holoenface_0218.jpg"):
        path = shared_data / "illustrations" / name
        if not path.exists():
            continue
        img = _load(path)
        for method, fn in EXTRACTORS.items():
            out = fn(img)
            assert out.shape == img.shape[:2]
            assert (out > 200).mean() > 0.6, (name, method)
            assert (out < 128).mean() > 0.005, (name, method)
    sketches = shared_data / "sketches"
    for name in ("style2paints_0014.png", "style2paints_0062.png", "style2paints_0038.png"):
        path = sketches / name
        if not path.exists():
            continue
        img = _load(path)  # photographed pencil, tinted paper
        out = cleanup_sketch(img)
        assert (out > 240).mean() > 0.7, name
        gray = img if img.ndim == 2 else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        assert (out > 240).mean() > (gray > 240).mean(), name
    path = sketches / "style2paints_0011.png"  # blue lines
    if path.exists():
        img = _load(path).astype(np.int16)
        blue = (img[..., 2] - img[..., 0] > 60) & (img[..., 2] < 230)
        out = cleanup_sketch(img.astype(np.uint8))
        assert blue.sum() > 1000 and np.median(out[blue]) < 100
