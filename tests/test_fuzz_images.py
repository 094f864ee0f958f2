"""Bounded fuzzing of load_image: corrupt files must give a valid array or an ImageError, nothing else."""

from __future__ import annotations

import io
import struct
import traceback
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image

from s2p_lab.errors import ImageError
from s2p_lab.imageio import MIN_SIDE, load_image

FUZZ_SEED = 20240601
FUZZ_COUNT = 300
FUZZ_LIMIT = 1_000_000  # small pixel limit: header edits must not make the run slow
FORMATS = ("PNG", "JPEG", "GIF", "WEBP", "BMP")
HYPOTHESIS = settings(
    database=None, deadline=None, max_examples=200, suppress_health_check=[HealthCheck.too_slow]
)


@pytest.fixture(autouse=True)
def _no_env_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("S2P_MAX_PIXELS", raising=False)


def _base_image() -> Image.Image:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:40, 0:48]
    arr = np.stack([xx * 5, yy * 6, (xx + yy) * 3], axis=-1).astype(np.int32)
    arr += rng.integers(-20, 20, arr.shape)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def _encode(fmt: str) -> bytes:
    im = _base_image()
    buf = io.BytesIO()
    if fmt == "GIF":
        im.convert("P", palette=Image.Palette.ADAPTIVE).save(buf, "GIF")
    elif fmt == "WEBP":
        im.save(buf, "WEBP", quality=80)
    else:
        im.save(buf, fmt)
    return buf.getvalue()


def _set_dims(data: bytearray, fmt: str, w: int, h: int) -> None:
    """Write new dimensions into the format's header (without fixing checksums unless PNG-fixed)."""
    if fmt == "PNG":
        data[16:24] = struct.pack(">II", w & 0xFFFFFFFF, h & 0xFFFFFFFF)
    elif fmt == "BMP":
        data[18:26] = struct.pack("<ii", max(min(w, 2**31 - 1), -(2**31)), max(min(h, 2**31 - 1), -(2**31)))
    elif fmt == "GIF":
        data[6:10] = struct.pack("<HH", w & 0xFFFF, h & 0xFFFF)
    elif fmt == "JPEG":
        for marker in (b"\xff\xc0", b"\xff\xc2", b"\xff\xc1"):
            at = data.find(marker)
            if at >= 0:
                data[at + 5 : at + 9] = struct.pack(">HH", h & 0xFFFF, w & 0xFFFF)
                return
    elif fmt == "WEBP":
        at = data.find(b"\x9d\x01\x2a")
        if at >= 0:
            data[at + 3 : at + 7] = struct.pack("<HH", w & 0x3FFF, h & 0x3FFF)


def _fix_png_ihdr_crc(data: bytearray) -> None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 33 and data[12:16] == b"IHDR":
        data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))


def _mutate(data: bytes, fmt: str, rng: np.random.Generator) -> tuple[bytes, str]:
    out = bytearray(data)
    ops = []
    for _ in range(1 if rng.random() < 0.7 else 2):
        op = str(rng.choice(["flip", "truncate", "insert", "delete", "dims", "dims_fixed"]))
        ops.append(op)
        n = len(out)
        if n == 0:
            break
        if op == "flip":
            head = rng.random() < 0.5  # headers are where parsers branch most
            for _ in range(int(rng.integers(1, 9))):
                pos = int(rng.integers(0, min(n, 128) if head else n))
                out[pos] ^= 1 << int(rng.integers(0, 8))
        elif op == "truncate":
            del out[int(rng.integers(0, n)) :]
        elif op == "insert":
            pos = int(rng.integers(0, n + 1))
            out[pos:pos] = rng.bytes(int(rng.integers(1, 65)))
        elif op == "delete":
            pos = int(rng.integers(0, n))
            del out[pos : pos + int(rng.integers(1, 65))]
        else:
            choices = [0, 1, MIN_SIDE - 1, MIN_SIDE, 17, 255, 1000, 4096, 30000, 65535, 2**31 - 1]
            w = int(rng.choice(choices)) if rng.random() < 0.7 else int(rng.integers(0, 70000))
            h = int(rng.choice(choices)) if rng.random() < 0.7 else int(rng.integers(0, 70000))
            _set_dims(out, fmt, w, h)
            if op == "dims_fixed":
                _fix_png_ihdr_crc(out)
    return bytes(out), "+".join(ops)


def _check_outcome(call: Callable[[], np.ndarray], limit: int) -> str | None:
    """None when the outcome is acceptable, else a description of what went wrong."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            arr = call()
    except ImageError as exc:
        if "\n" in str(exc):
            return f"multi-line ImageError: {exc!r}"
        return None
    except Exception:  # noqa: BLE001 - the point of the test
        return traceback.format_exc(limit=-3)
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8:
        return f"bad result type {type(arr).__name__} {getattr(arr, 'dtype', None)}"
    if arr.ndim != 3 or arr.shape[2] != 3:
        return f"bad result shape {arr.shape}"
    h, w = arr.shape[:2]
    if min(h, w) < MIN_SIDE or h * w > limit:
        return f"result {w}x{h} breaks the size rules"
    return None


def test_fuzz_mutated_files(tmp_path: Path) -> None:
    bases = {fmt: _encode(fmt) for fmt in FORMATS}
    for fmt, data in bases.items():  # the unmutated files load
        assert load_image(data).shape == (40, 48, 3), fmt
    failures = []
    outcomes = {"ok": 0, "error": 0}
    for i in range(FUZZ_COUNT):
        seed = FUZZ_SEED + i
        fmt = FORMATS[i % len(FORMATS)]
        rng = np.random.default_rng(seed)
        mutated, ops = _mutate(bases[fmt], fmt, rng)
        path = tmp_path / f"fuzz.{fmt.lower()}"
        path.write_bytes(mutated)
        problem = _check_outcome(lambda p=path: load_image(p, max_pixels=FUZZ_LIMIT), FUZZ_LIMIT)
        if problem is not None:
            failures.append(f"seed={seed} format={fmt} mutation={ops}: {problem}")
        else:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    load_image(mutated, max_pixels=FUZZ_LIMIT)
                outcomes["ok"] += 1
            except ImageError:
                outcomes["error"] += 1
    assert not failures, "\n".join(failures[:10])
    assert outcomes["ok"] > 0 and outcomes["error"] > 0, outcomes  # the fuzzing hits both paths


MAGIC = [
    b"",
    b"\x89PNG\r\n\x1a\n",
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
    b"\xff\xd8\xff\xe0",
    b"\xff\xd8\xff\xc0\x00\x11\x08",
    b"GIF89a",
    b"GIF87a\x20\x00\x20\x00",
    b"BM",
    b"RIFF\x00\x01\x00\x00WEBPVP8 ",
    b"RIFF\x00\x01\x00\x00WEBPVP8L",
    b"II*\x00",
    b"MM\x00*",
    b"P6\n32 32\n255\n",
    b"\x00\x00\x01\x00",
    b"8BPS",
    b"qoif",
]


@HYPOTHESIS
@given(st.sampled_from(MAGIC), st.binary(max_size=600))
def test_property_random_bytes(prefix: bytes, body: bytes) -> None:
    data = prefix + body
    if not data:
        data = b"\x00"
    problem = _check_outcome(lambda: load_image(data, max_pixels=FUZZ_LIMIT), FUZZ_LIMIT)
    assert problem is None, f"prefix={prefix!r} body={body[:64]!r}...: {problem}"


@HYPOTHESIS
@given(
    hnp.arrays(
        dtype=st.sampled_from(
            [np.uint8, np.uint16, np.int16, np.int64, np.float16, np.float32, np.float64, np.bool_]
        ),
        shape=hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=24),
    )
)
def test_property_random_arrays(array: np.ndarray) -> None:
    problem = _check_outcome(lambda: load_image(array), 10**9)
    assert problem is None, f"shape={array.shape} dtype={array.dtype}: {problem}"
