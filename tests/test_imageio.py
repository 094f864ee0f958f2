"""Image input/output: every bad-input class, every mode, limits, saving and resizing."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from s2p_lab.errors import ImageError, ImageTooLargeError
from s2p_lab.imageio import (
    DEFAULT_MAX_PIXELS,
    MAX_ASPECT,
    MIN_SIDE,
    ImageWarning,
    describe,
    get_max_pixels,
    load_image,
    resize_long_side,
    save_image,
    to_pil,
    write_bytes_atomic,
)


@pytest.fixture(autouse=True)
def _no_env_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S2P_MAX_PIXELS", raising=False)


def noise(h: int, w: int, seed: int = 0, channels: int = 3) -> np.ndarray:
    shape = (h, w) if channels == 1 else (h, w, channels)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_declaring(width: int, height: int, payload_rows: int = 1) -> bytes:
    """A well-formed PNG header declaring width x height with a tiny (valid) IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = b"\x00" * (1 + 3 * min(width, 64)) * payload_rows
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(raw))
        + png_chunk(b"IEND", b"")
    )


def assert_one_line(exc: pytest.ExceptionInfo, *needles: str) -> None:
    text = str(exc.value)
    assert "\n" not in text
    for needle in needles:
        assert needle in text, text


# ----------------------------------------------------------------------------------------------
# bad inputs


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as exc:
        load_image(tmp_path / "nope.png")
    assert_one_line(exc, "nope.png", "not found")


def test_directory(tmp_path: Path) -> None:
    (tmp_path / "dir.png").mkdir()
    with pytest.raises(ImageError) as exc:
        load_image(tmp_path / "dir.png")
    assert_one_line(exc, "dir.png", "directory")


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(ImageError) as exc:
        load_image(write(tmp_path / "empty.png", b""))
    assert_one_line(exc, "empty.png", "empty")


def test_empty_bytes() -> None:
    with pytest.raises(ImageError):
        load_image(b"")


@pytest.mark.parametrize("fmt,suffix", [("PNG", "png"), ("JPEG", "jpg")])
@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.95])
def test_truncated(tmp_path: Path, fmt: str, suffix: str, fraction: float) -> None:
    data = encode(Image.fromarray(noise(64, 64)), fmt)
    path = write(tmp_path / f"cut.{suffix}", data[: int(len(data) * fraction)])
    with pytest.raises(ImageError) as exc:
        load_image(path)
    assert_one_line(exc, "cut." + suffix)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_random_bytes(tmp_path: Path) -> None:
    path = write(tmp_path / "random.png", np.random.default_rng(1).bytes(4096))
    with pytest.raises(ImageError) as exc:
        load_image(path)
    assert_one_line(exc, "random.png", "not a recognized image")


def test_text_file_renamed_png(tmp_path: Path) -> None:
    path = write(tmp_path / "notes.png", b"hello, this is not an image\n" * 20)
    with pytest.raises(ImageError) as exc:
        load_image(path)
    assert_one_line(exc, "notes.png")


def test_unsupported_source_type() -> None:
    with pytest.raises(ImageError):
        load_image(12345)  # type: ignore[arg-type]


def test_bomb_png_refused_fast(tmp_path: Path) -> None:
    path = write(tmp_path / "bomb.png", png_declaring(30000, 30000))
    assert path.stat().st_size < 500
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError) as exc:
        load_image(path)
    assert time.perf_counter() - start < 1.0
    assert_one_line(exc, "bomb.png", "S2P_MAX_PIXELS", "max_pixels")


def test_bomb_under_pillow_limit_refused_by_ours(tmp_path: Path) -> None:
    # 8000 x 8000 = 64 M pixels: under Pillow's own guard, over our default of 40 M.
    path = write(tmp_path / "big.png", png_declaring(8000, 8000))
    start = time.perf_counter()
    with pytest.raises(ImageTooLargeError) as exc:
        load_image(path)
    assert time.perf_counter() - start < 1.0
    assert_one_line(exc, "big.png", "8000x8000", f"{DEFAULT_MAX_PIXELS:,}")


def test_limit_by_argument_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path / "img.png", encode(Image.fromarray(noise(40, 50)), "PNG"))
    assert load_image(path).shape == (40, 50, 3)
    with pytest.raises(ImageTooLargeError):
        load_image(path, max_pixels=1999)
    assert load_image(path, max_pixels=2000).shape == (40, 50, 3)
    monkeypatch.setenv("S2P_MAX_PIXELS", "1000")
    assert get_max_pixels() == 1000
    with pytest.raises(ImageTooLargeError) as exc:
        load_image(path)
    assert_one_line(exc, "img.png", "1,000")
    assert load_image(path, max_pixels=5000).shape == (40, 50, 3)  # the argument wins
    monkeypatch.setenv("S2P_MAX_PIXELS", "lots")
    with pytest.raises(ImageError):
        load_image(path)


def test_limit_guards_arrays_and_pil_images() -> None:
    with pytest.raises(ImageTooLargeError):
        load_image(np.zeros((100, 100), np.uint8), max_pixels=5000)
    with pytest.raises(ImageTooLargeError):
        load_image(Image.new("RGB", (100, 100)), max_pixels=5000)


@pytest.mark.parametrize("size", [(1, 1), (MIN_SIDE - 1, 100), (5000, 10), (20, 5000)])
def test_too_small_or_too_elongated(tmp_path: Path, size: tuple[int, int]) -> None:
    w, h = size
    path = write(tmp_path / "odd.png", encode(Image.new("L", (w, h), 128), "PNG"))
    with pytest.raises(ImageError) as exc:
        load_image(path)
    assert_one_line(exc, "odd.png", f"{w}x{h}")


def test_aspect_limit_boundary() -> None:
    side = MIN_SIDE
    assert load_image(np.zeros((side, int(side * MAX_ASPECT)), np.uint8)).shape[1] == side * 12
    with pytest.raises(ImageError, match="aspect"):
        load_image(np.zeros((side, int(side * MAX_ASPECT) + 1), np.uint8))


# ----------------------------------------------------------------------------------------------
# modes


def test_rgb_png_exact(tmp_path: Path) -> None:
    arr = noise(20, 30)
    path = write(tmp_path / "a.png", encode(Image.fromarray(arr), "PNG"))
    out = load_image(str(path))
    assert out.dtype == np.uint8 and out.shape == (20, 30, 3)
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable and out.flags.c_contiguous
    gray = load_image(path, mode="L")
    assert gray.shape == (20, 30)
    np.testing.assert_array_equal(gray, cv2.cvtColor(arr, cv2.COLOR_RGB2GRAY))


def test_bytes_and_bytearray_input() -> None:
    data = encode(Image.fromarray(noise(20, 20)), "PNG")
    np.testing.assert_array_equal(load_image(data), load_image(bytearray(data)))


def test_bad_mode_argument() -> None:
    with pytest.raises(ValueError):
        load_image(np.zeros((20, 20), np.uint8), mode="CMYK")


@pytest.mark.parametrize("mode", ["1", "L"])
def test_gray_modes(tmp_path: Path, mode: str) -> None:
    im = Image.fromarray((noise(20, 20, channels=1) > 127).astype(np.uint8) * 255).convert(mode)
    out = load_image(write(tmp_path / "g.png", encode(im, "PNG")))
    assert out.shape == (20, 20, 3)
    assert set(np.unique(out).tolist()) <= {0, 255}
    assert (out[..., 0] == out[..., 1]).all()


def test_16bit_png_scaled_by_range(tmp_path: Path) -> None:
    ramp = np.linspace(0, 65535, 32 * 32).reshape(32, 32).astype(np.uint16)
    path = write(tmp_path / "deep.png", encode(Image.fromarray(ramp), "PNG"))
    with Image.open(path) as im:
        assert im.mode.startswith("I")
    out = load_image(path, mode="L")
    assert out.min() == 0 and out.max() == 255
    assert (np.diff(out.ravel().astype(int)) >= 0).all()
    assert 100 < out.mean() < 155  # a naive clip to 255 would make it almost all white

    narrow = (1000 + np.arange(32 * 32).reshape(32, 32) * 2).astype(np.uint16)
    out = load_image(write(tmp_path / "narrow.png", encode(Image.fromarray(narrow), "PNG")), mode="L")
    assert out.min() == 0 and out.max() == 255


def test_float_tiff_scaled_by_range(tmp_path: Path) -> None:
    data = np.linspace(-3.0, 5.0, 24 * 24, dtype=np.float32).reshape(24, 24)
    path = write(tmp_path / "f.tif", encode(Image.fromarray(data, mode="F"), "TIFF"))
    out = load_image(path, mode="L")
    assert out[0, 0] == 0 and out[-1, -1] == 255


def test_cmyk_jpeg(tmp_path: Path) -> None:
    im = Image.new("CMYK", (32, 32), (0, 255, 255, 0))  # red
    path = write(tmp_path / "cmyk.jpg", encode(im, "JPEG", quality=95))
    with Image.open(path) as check:
        assert check.mode == "CMYK"
    out = load_image(path)
    r, g, b = out.reshape(-1, 3).mean(axis=0)
    assert r > 200 and g < 60 and b < 60


def test_ycbcr_and_palette_without_transparency(tmp_path: Path) -> None:
    arr = np.zeros((20, 20, 3), np.uint8)
    arr[:, :10] = (0, 200, 0)
    ycc = Image.fromarray(arr).convert("YCbCr")
    out = load_image(ycc)
    assert abs(int(out[5, 2, 1]) - 200) < 6
    pal = Image.fromarray(arr).convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    out = load_image(write(tmp_path / "p.png", encode(pal, "PNG")))
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_transparency(tmp_path: Path, fmt: str) -> None:
    idx = np.zeros((20, 20), np.uint8)
    idx[:, 10:] = 1
    im = Image.fromarray(idx, mode="L").convert("P")
    im.putpalette([10, 20, 30, 200, 0, 0] + [0] * (256 * 3 - 6))
    im.info["transparency"] = 0
    path = write(tmp_path / f"pal.{fmt.lower()}", encode(im, fmt, transparency=0))
    out = load_image(path)
    assert tuple(out[3, 3]) == (255, 255, 255)
    assert tuple(out[3, 15]) == (200, 0, 0)


def test_rgba_composited_on_white(tmp_path: Path) -> None:
    arr = np.zeros((20, 20, 4), np.uint8)
    arr[..., :3] = (255, 0, 0)
    arr[:, 5:10, 3] = 255
    arr[:, 10:15] = (0, 0, 0, 128)
    path = write(tmp_path / "rgba.png", encode(Image.fromarray(arr), "PNG"))
    out = load_image(path)
    assert tuple(out[0, 0]) == (255, 255, 255)  # fully transparent pixel -> white
    assert tuple(out[0, 6]) == (255, 0, 0)
    assert np.abs(out[0, 12].astype(int) - 127).max() <= 1


def test_la_and_pa_composited_on_white(tmp_path: Path) -> None:
    la = np.zeros((20, 20, 2), np.uint8)
    la[:, 10:, 1] = 255
    out = load_image(write(tmp_path / "la.png", encode(Image.fromarray(la, mode="LA"), "PNG")))
    assert tuple(out[0, 0]) == (255, 255, 255) and tuple(out[0, 15]) == (0, 0, 0)
    pa = Image.merge("PA", [Image.fromarray(la[..., 0]), Image.fromarray(la[..., 1])])
    pa.putpalette([0, 0, 0] * 256)
    out = load_image(pa, mode="L")
    assert out[0, 0] == 255 and out[0, 15] == 0


def test_rgb_with_color_key_transparency(tmp_path: Path) -> None:
    arr = np.zeros((20, 20, 3), np.uint8)
    arr[:, 10:] = (0, 0, 255)
    path = write(tmp_path / "key.png", encode(Image.fromarray(arr), "PNG", transparency=(0, 0, 0)))
    out = load_image(path)
    assert tuple(out[0, 0]) == (255, 255, 255) and tuple(out[0, 15]) == (0, 0, 255)


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animated_first_frame_with_warning(tmp_path: Path, fmt: str) -> None:
    frames = [Image.new("RGB", (24, 24), c) for c in ((255, 0, 0), (0, 0, 255), (0, 255, 0))]
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, **kwargs)
    path = write(tmp_path / f"anim.{fmt.lower()}", data)
    with pytest.warns(ImageWarning, match="first frame"):
        out = load_image(path)
    assert tuple(out[12, 12]) == (255, 0, 0)


def test_exif_orientation_6_rotates(tmp_path: Path) -> None:
    arr = np.zeros((20, 40, 3), np.uint8)  # 40 wide, 20 high: left red, right blue
    arr[:, :20] = (255, 0, 0)
    arr[:, 20:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = write(tmp_path / "rot.jpg", encode(Image.fromarray(arr), "JPEG", exif=exif, quality=95))
    out = load_image(path)
    assert out.shape == (40, 20, 3)  # turned 90 degrees clockwise: the left half is now on top
    assert out[5, 10, 0] > 200 and out[5, 10, 2] < 60
    assert out[35, 10, 2] > 200 and out[35, 10, 0] < 60


@pytest.mark.parametrize("fmt", ["BMP", "TIFF", "WEBP", "PPM"])
def test_other_formats(tmp_path: Path, fmt: str) -> None:
    arr = noise(20, 24)
    kwargs = {"lossless": True} if fmt == "WEBP" else {}
    out = load_image(write(tmp_path / f"x.{fmt.lower()}", encode(Image.fromarray(arr), fmt, **kwargs)))
    np.testing.assert_array_equal(out, arr)


def test_pil_input_modes() -> None:
    deep = Image.fromarray(np.arange(400, dtype=np.uint16).reshape(20, 20) * 100)
    out = load_image(deep, mode="L")
    assert out.min() == 0 and out.max() == 255
    assert load_image(Image.new("RGBA", (20, 20), (0, 0, 0, 0)))[0, 0].tolist() == [255] * 3


# ----------------------------------------------------------------------------------------------
# numpy inputs


@pytest.mark.parametrize(
    "array,expected",
    [
        (np.full((20, 20), 7, np.uint8), 7),
        (np.full((20, 20, 1), 7, np.uint8), 7),
        (np.full((20, 20, 3), 7, np.uint8), 7),
        (np.ones((20, 20), bool), 255),
        (np.full((20, 20), 65535, np.uint16), 255),
        (np.full((20, 20), 257 * 100, np.uint16), 100),
        (np.full((20, 20, 3), 0.5, np.float32), 128),
        (np.full((20, 20), 1.0, np.float64), 255),
        (np.full((20, 20), 9, np.int64), 9),
    ],
)
def test_numpy_inputs(array: np.ndarray, expected: int) -> None:
    out = load_image(array)
    assert out.dtype == np.uint8 and out.shape == (20, 20, 3)
    assert (out == expected).all()
    assert out is not array


def test_numpy_rgba_composited() -> None:
    arr = np.zeros((20, 20, 4), np.uint8)
    arr[..., 3] = 0
    assert (load_image(arr) == 255).all()


def test_numpy_input_is_copied() -> None:
    arr = np.zeros((20, 20, 3), np.uint8)
    out = load_image(arr)
    out[0, 0] = 9
    assert arr[0, 0, 0] == 0


@pytest.mark.parametrize(
    "array,needle",
    [
        (np.zeros((20, 20, 2), np.uint8), "20x20x2"),
        (np.zeros((20, 20, 5), np.uint8), "20x20x5"),
        (np.zeros((2, 20, 20, 3), np.uint8), "2x20x20x3"),
        (np.zeros((20,), np.uint8), "20"),
        (np.full((20, 20), 1.5, np.float32), "0..1"),
        (np.full((20, 20), np.nan, np.float32), "NaN"),
        (np.full((20, 20), 300, np.int32), "int32"),
        (np.full((20, 20), -1, np.int8), "int8"),
        (np.zeros((20, 20), np.complex64), "complex64"),
        (np.zeros((20, 20), object), "object"),
        (np.zeros((4, 4), np.uint8), "too small"),
    ],
)
def test_bad_numpy_inputs(array: np.ndarray, needle: str) -> None:
    with pytest.raises(ImageError) as exc:
        load_image(array)
    assert_one_line(exc, needle)


def test_describe_and_to_pil(tmp_path: Path) -> None:
    assert describe(tmp_path / "some" / "file.png") == "file.png"
    assert describe(b"abc") == "<3 bytes>"
    assert "20x30x3" in describe(np.zeros((20, 30, 3), np.uint8))
    assert "RGB 4x5" in describe(Image.new("RGB", (4, 5)))
    assert to_pil(np.zeros((5, 6), np.uint8)).mode == "L"
    assert to_pil(np.zeros((5, 6, 3), np.float32)).mode == "RGB"
    assert to_pil(np.zeros((5, 6, 4), np.uint8)).mode == "RGBA"
    im = Image.new("RGB", (3, 3))
    assert to_pil(im) is im


# ----------------------------------------------------------------------------------------------
# saving


def test_save_round_trip_creates_parents(tmp_path: Path) -> None:
    arr = noise(20, 30)
    path = save_image(arr, tmp_path / "a" / "b" / "out.png")
    assert path == tmp_path / "a" / "b" / "out.png" and path.is_file()
    np.testing.assert_array_equal(load_image(path), arr)
    assert [p.name for p in path.parent.iterdir()] == ["out.png"]  # no temp files left


def test_save_overwrites_atomically_and_keeps_old_file_on_failure(tmp_path: Path) -> None:
    path = tmp_path / "out.png"
    save_image(noise(20, 20, seed=1), path)
    before = path.read_bytes()
    with pytest.raises(ImageError):
        save_image(np.zeros((20, 20, 2), np.uint8), path)
    assert path.read_bytes() == before
    new = noise(20, 20, seed=2)
    save_image(Image.fromarray(new), path)
    np.testing.assert_array_equal(load_image(path), new)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.png"]


def test_save_formats_and_suffixes(tmp_path: Path) -> None:
    rgba = np.zeros((20, 20, 4), np.uint8)
    jpg = save_image(rgba, tmp_path / "x.jpg")
    assert (load_image(jpg) > 250).all()  # alpha composited on white for JPEG
    with Image.open(jpg) as im:
        assert im.format == "JPEG"
    bare = save_image(noise(20, 20), tmp_path / "noext")
    assert bare.name == "noext.png"
    with Image.open(bare) as im:
        assert im.format == "PNG"
    with pytest.raises(ImageError):
        save_image(noise(20, 20), tmp_path / "x.notaformat")


def test_save_into_unwritable_place(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises((ImageError, OSError)):
        save_image(noise(20, 20), tmp_path / "file" / "out.png")


def test_write_bytes_atomic(tmp_path: Path) -> None:
    path = write_bytes_atomic(tmp_path / "d" / "f.bin", b"abc")
    assert path.read_bytes() == b"abc"
    write_bytes_atomic(path, b"xyz")
    assert path.read_bytes() == b"xyz"
    assert os.listdir(path.parent) == ["f.bin"]


# ----------------------------------------------------------------------------------------------
# resizing


def test_resize_long_side_shapes() -> None:
    assert resize_long_side(np.zeros((100, 50, 3), np.uint8), 64).shape == (64, 32, 3)
    assert resize_long_side(np.zeros((50, 100), np.uint8), 200).shape == (100, 200)
    assert resize_long_side(np.zeros((300, 200, 3), np.uint8), 512, multiple=32).shape == (512, 352, 3)
    assert resize_long_side(np.zeros((1000, 20), np.uint8), 64, multiple=8).shape == (64, 8)
    assert resize_long_side(np.zeros((20, 30, 1), np.float32), 60).shape == (40, 60, 1)
    same = np.zeros((10, 20, 3), np.uint8)
    out = resize_long_side(same, 20)
    assert out.shape == same.shape and out is not same


def test_resize_values() -> None:
    arr = np.zeros((64, 64), np.uint8)
    arr[:, 32:] = 255
    small = resize_long_side(arr, 32)  # INTER_AREA: exact block means
    assert small[0, 0] == 0 and small[0, -1] == 255
    step = np.zeros((16, 16), np.float32)
    step[:, 8:] = 1.0
    big = resize_long_side(step, 64)  # cubic overshoot is clipped to the input range
    assert big.min() >= 0.0 and big.max() <= 1.0
    nearest = resize_long_side(arr, 128, interpolation=cv2.INTER_NEAREST)
    assert set(np.unique(nearest).tolist()) == {0, 255}
    mask = resize_long_side(np.eye(16, dtype=bool), 32)
    assert mask.dtype == bool and mask.shape == (32, 32)


def test_resize_bad_arguments() -> None:
    with pytest.raises(ValueError):
        resize_long_side(np.zeros((10, 10), np.uint8), 0)
    with pytest.raises(ValueError):
        resize_long_side(np.zeros((10, 10), np.uint8), 10, multiple=0)
