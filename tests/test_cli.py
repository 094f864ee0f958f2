"""The ``s2p`` command line: exit codes (0 ok, 2 bad input, 1 internal error) and messages.

Most cases call ``s2p_lab.cli.main`` in this process (the same code the console script runs); a
few run the installed ``s2p`` command in its own process to check the real exit status and
streams. Every bad input must give exit status 2 and exactly one line on stderr.
"""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from s2p_lab.cli import guarded, main as cli_main
from s2p_lab.errors import HintsError
from s2p_lab.sketch import EXTRACTORS

S2P = Path(sys.executable).with_name("s2p")
SKETCH_SIZE = (72, 56)  # width, height: not a multiple of anything, not square


@pytest.fixture(autouse=True)
def _inside_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("S2P_MAX_PIXELS", raising=False)


def run(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """``s2p ARGV`` in this process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    try:
        code = cli_main([str(a) for a in argv])
    except SystemExit as exc:  # argparse: --help, usage errors
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def assert_bad_input(result: tuple[int, str, str], *needles: str) -> str:
    code, out, err = result
    assert code == 2, (code, err)
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert err.startswith("s2p") and ": error: " in err, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, (needle, err)
    return err


# ---------------------------------------------------------------------------------- inputs


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("inputs")
    w, h = SKETCH_SIZE
    sketch = np.full((h, w), 255, np.uint8)
    sketch[8:10, 4:-4] = 0
    sketch[4:-4, 30:32] = 0
    sketch[40:42, 10:60] = 40
    Image.fromarray(sketch).save(root / "sketch.png")
    rng = np.random.default_rng(0)
    for name, color in (("red", (220, 30, 40)), ("blue", (30, 60, 220))):
        ref = np.empty((48, 64, 3), np.uint8)
        ref[:] = color
        ref[10:30, 10:40] = rng.integers(0, 256, 3)
        Image.fromarray(ref).save(root / f"{name}.png")
    color = np.asarray(Image.open(root / "red.png").convert("RGB").resize((64, 64)))
    Image.fromarray(color).save(root / "illustration.png")
    (root / "hints.json").write_text(json.dumps({
        "points": [{"x": 0.3, "y": 0.5, "rgb": [230, 40, 60], "radius": 0.05}],
        "strokes": [{"xy": [[0.1, 0.8], [0.9, 0.8]], "rgb": [20, 90, 200], "width": 0.02}],
    }))
    return {p.stem: p for p in root.iterdir()}


def colorize(files: dict[str, Path], *extra: object, sketch: object = None) -> list[object]:
    return ["colorize", sketch if sketch is not None else files["sketch"], "--size", "64", *extra]


# ---------------------------------------------------------------------------------- colorize ok


def test_colorize_one_png_per_reference(files, tmp_path: Path, capsys) -> None:
    code, out, err = run(colorize(files, "--style", files["red"], "--style", files["blue"], "-o", "out"), capsys)
    assert code == 0, err
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == ["blue.png", "red.png"]
    assert [Path(line).name for line in out.split()] == ["red.png", "blue.png"]
    for name in written:
        with Image.open(tmp_path / "out" / name) as im:
            assert im.format == "PNG" and im.mode == "RGB" and im.size == SKETCH_SIZE


def test_colorize_without_reference_names_the_sketch(files, tmp_path: Path, capsys) -> None:
    code, out, err = run(colorize(files, "--hints", files["hints"], "--seed", "3", "-o", tmp_path / "o"), capsys)
    assert code == 0, err
    assert [p.name for p in (tmp_path / "o").iterdir()] == ["sketch.png"]
    with Image.open(tmp_path / "o" / "sketch.png") as im:
        assert im.size == SKETCH_SIZE


def test_colorize_same_reference_name_twice(files, tmp_path: Path, capsys) -> None:
    other = tmp_path / "other"
    other.mkdir()
    (other / "red.png").write_bytes(files["blue"].read_bytes())
    code, _, err = run(colorize(files, "--style", files["red"], "--style", other / "red.png", "-o", "out"), capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["red-2.png", "red.png"]


def test_colorize_a_folder_and_files_one_subfolder_each(files, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "sketches"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        (folder / name).write_bytes(files["sketch"].read_bytes())
    (folder / "notes.txt").write_text("not an image, not listed")
    code, out, err = run(["colorize", folder, files["sketch"], "--size", "64", "--style", files["red"],
                          "--mode", "flat", "-o", "out"], capsys)
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a", "b", "sketch"]
    for sub in ("a", "b", "sketch"):
        assert [p.name for p in (tmp_path / "out" / sub).iterdir()] == ["red.png"]
    assert sorted(Path(line).parent.name for line in out.split()) == ["a", "b", "sketch"]


def test_colorize_a_folder_goes_on_after_a_bad_file(files, tmp_path: Path, capsys) -> None:
    folder = tmp_path / "sketches"
    folder.mkdir()
    (folder / "a.png").write_bytes(files["sketch"].read_bytes())
    (folder / "broken.png").write_bytes(b"these are not pixels\n" * 20)
    (folder / "c.png").write_bytes(files["sketch"].read_bytes())
    code, out, err = run(["colorize", folder, "--size", "64", "-o", "out"], capsys)
    assert code == 2
    lines = [line for line in err.splitlines() if line.startswith("s2p: error")]
    assert len(lines) == 2 and "broken.png" in lines[0] and "1 of 3 sketches failed" in lines[1], err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a", "c"]


def test_colorize_modes_and_palettes(files, tmp_path: Path, capsys) -> None:
    code, out, err = run(colorize(files, "--style", files["red"], "--mode", "flat", "--save-palette", "p.json",
                                  "-o", "flat"), capsys)
    assert code == 0, err
    palette = json.loads((tmp_path / "p.json").read_text())
    assert 1 <= len(palette["colors"]) <= 8
    code, _, err = run(colorize(files, "--style", files["blue"], "--mode", "flat", "--palette", "p.json",
                                "-o", "locked"), capsys)
    assert code == 0, err
    allowed = {tuple(c) for c in palette["colors"]}
    with Image.open(tmp_path / "locked" / "blue.png") as im:
        pixels = np.asarray(im).reshape(-1, 3)
    # away from the lines the pixels are palette colors; the exceptions are where two regions meet
    # (their colors interpolated from the processing size), also beyond line ends where closed gaps part them
    paper = np.asarray(Image.open(files["sketch"]).convert("L")) == 255
    far = cv2.erode(paper.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool).reshape(-1)
    exact = np.array([tuple(c) in allowed for c in pixels[far]])
    assert exact.mean() > 0.97, exact.mean()
    code, _, err = run(colorize(files, "--palette", files["red"], "-o", "from-image"), capsys)
    assert code == 0, err
    assert_bad_input(run(colorize(files, "--palette", "nowhere.json", "-o", "x"), capsys), "nowhere.json")
    (tmp_path / "bad.json").write_text('{"colors": [[1, 2, 300]]}')
    assert_bad_input(run(colorize(files, "--palette", "bad.json", "-o", "x"), capsys), "palette color 0")
    code, _, err = run(colorize(files, "--mode", "cel", "-o", "x"), capsys)
    assert code == 2 and "cel" in err


def test_the_installed_command(files, tmp_path: Path) -> None:
    """The console script in its own process: success, then one bad input."""
    assert S2P.exists(), S2P
    proc = subprocess.run([S2P, *map(str, colorize(files, "--style", files["red"], "-o", "out"))],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 0, proc.stderr
    with Image.open(tmp_path / "out" / "red.png") as im:
        assert im.size == SKETCH_SIZE
    proc = subprocess.run([S2P, *map(str, colorize(files, "-o", "out", sketch="missing.png"))],
                          cwd=tmp_path, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("s2p: error: missing.png")


# ---------------------------------------------------------------------------------- bad images


def _png_declaring(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 193)) + chunk(b"IEND", b"")


def _bad_images(files: dict[str, Path], folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, words the message must contain)."""
    png = files["sketch"].read_bytes()
    cases = {
        "missing": (folder / "missing.png", None, "not found"),
        "empty": (folder / "empty.png", b"", "empty file"),
        "truncated": (folder / "truncated.png", png[: len(png) // 2], "truncated.png"),
        "header only": (folder / "header.png", png[:40], "header.png"),
        "text": (folder / "notes.png", b"these are not pixels\n" * 20, "not a recognized image"),
        "pickle": (folder / "evil.png", b"\x80\x04\x95" + bytes(40), "not a recognized image"),
        "bomb": (folder / "bomb.png", _png_declaring(30000, 30000), "pixels"),
        "tiny": (folder / "tiny.png", None, "too small"),
        "folder": (folder / "folder.png", None, "directory"),
    }
    out = {}
    for name, (path, data, needle) in cases.items():
        if data is not None:
            path.write_bytes(data)
        out[name] = (path, needle)
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(folder / "tiny.png")
    (folder / "folder.png").mkdir()
    return out


def test_bad_sketches(files, tmp_path: Path, capsys) -> None:
    for name, (path, needle) in _bad_images(files, tmp_path).items():
        started = time.perf_counter()
        result = run(colorize(files, "--style", files["red"], "-o", "out", sketch=path), capsys)
        assert_bad_input(result, path.name, needle)
        if name == "bomb":
            assert time.perf_counter() - started < 20, "a 30000x30000 PNG must be refused before decoding"
    assert not (tmp_path / "out").exists(), "nothing is written when an input is bad"


def test_bad_references(files, tmp_path: Path, capsys) -> None:
    for name, (path, needle) in _bad_images(files, tmp_path).items():
        result = run(colorize(files, "--style", files["red"], "--style", path, "-o", "out"), capsys)
        assert_bad_input(result, path.name, needle)
    assert not (tmp_path / "out").exists()


# ---------------------------------------------------------------------------------- hints


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"points": [{"x": 0.5, "y": 0.5, "rgb": [300, 0, 0]}]}', "points[0].rgb[0]"),
        ('{"points": [{"x": 1.5, "y": 0.5, "rgb": [3, 0, 0]}]}', "points[0]"),
        ('{"points": [{"x": 0.5, "y": 0.5, "rgb": [3, 0]}]}', "points[0].rgb"),
        ('{"points": [{"x": 0.5, "y": 0.5, "rgb": [3, 0, 0], "radius": 0}]}', "points[0].radius"),
        ('{"points": [{"x": 0.5, "y": 0.5, "rgb": [3, 0, 0], "colour": 1}]}', "colour"),
        ('{"strokes": [{"xy": [[0.1, 0.1], [2, 0.2]], "rgb": [1, 2, 3]}]}', "strokes[0].xy[1]"),
        ('{"strokes": [{"xy": "0.1,0.1", "rgb": [1, 2, 3]}]}', "strokes[0].xy"),
        ('{"strokes": [{"xy": [[0.1, 0.1]], "rgb": [1, 2, 3], "width": 9}]}', "strokes[0].width"),
        ('{"points": {"x": 0.5}}', "points"),
        ('{"dots": []}', "dots"),
        ('[1, 2]', "hints"),
        ('{"points": [', "invalid JSON"),
        ("", "invalid JSON"),
    ],
)
def test_bad_hints_name_the_field(files, tmp_path: Path, capsys, content: str, needle: str) -> None:
    (tmp_path / "bad.json").write_text(content)
    result = run(colorize(files, "--hints", "bad.json", "-o", "out"), capsys)
    assert_bad_input(result, "bad.json", needle)
    assert not (tmp_path / "out").exists()


def test_hints_file_problems(files, tmp_path: Path, capsys) -> None:
    assert_bad_input(run(colorize(files, "--hints", "nowhere.json", "-o", "out"), capsys), "nowhere.json", "not found")
    (tmp_path / "dir.json").mkdir()
    assert_bad_input(run(colorize(files, "--hints", "dir.json", "-o", "out"), capsys), "dir.json", "directory")
    (tmp_path / "latin1.json").write_bytes(b'{"points": [], "x": "\xe9"}')
    assert_bad_input(run(colorize(files, "--hints", "latin1.json", "-o", "out"), capsys), "latin1.json", "UTF-8")


# ---------------------------------------------------------------------------------- options


def test_line_overlay_lightens_only_the_lines(files, tmp_path: Path, capsys) -> None:
    outputs = {}
    for strength in ("1", "0.5", "0"):
        code, _, err = run(colorize(files, "--style", files["red"], "--line-overlay", strength,
                                    "-o", tmp_path / strength), capsys)
        assert code == 0, err
        with Image.open(tmp_path / strength / "red.png") as im:
            outputs[strength] = np.asarray(im.convert("RGB")).astype(int)
    sketch = np.asarray(Image.open(files["sketch"]).convert("L"))
    lines, paper = sketch < 128, sketch == 255
    mean_on_lines = {k: v[lines].mean() for k, v in outputs.items()}
    assert mean_on_lines["1"] < mean_on_lines["0.5"] < mean_on_lines["0"], mean_on_lines
    far = paper.copy()  # paper pixels away from any line keep their color at every strength
    far[1:] &= paper[:-1]
    far[:-1] &= paper[1:]
    far[:, 1:] &= paper[:, :-1]
    far[:, :-1] &= paper[:, 1:]
    assert np.abs(outputs["1"][far] - outputs["0"][far]).max() <= 1


@pytest.mark.parametrize("strength", ["-0.1", "1.5", "nan"])
def test_bad_line_overlay(files, capsys, strength: str) -> None:
    assert_bad_input(run(colorize(files, "-o", "out", "--line-overlay", strength), capsys), "--line-overlay")
    assert_bad_input(run(colorize(files, "-o", "out", "--reference-color-strength", strength), capsys), "--reference-color-strength")


@pytest.mark.parametrize("sharpness", ["0", "-2", "nan", "17"])
def test_bad_attention_sharpness(files, capsys, sharpness: str) -> None:
    assert_bad_input(run(colorize(files, "-o", "out", "--attention-sharpness", sharpness), capsys),
                     "--attention-sharpness")
    assert_bad_input(run(["eval", "--data", "missing", "--attention-sharpness", sharpness], capsys),
                     "--attention-sharpness")


def test_reference_color_strength_moves_the_colors_toward_the_reference(files, tmp_path: Path, capsys) -> None:
    """The network alone (``--matcher none``): the same network output at 0 and 1; at 1 the colors
    are nearer the (red) reference's."""
    outputs = {}
    for strength in ("0", "1"):
        for mode in ("soft", "raw"):
            code, _, err = run(colorize(files, "--style", files["red"], "--reference-color-strength", strength, "--matcher", "none",
                                        "--mode", mode, "-o", tmp_path / f"{mode}{strength}"), capsys)
            assert code == 0, err
            with Image.open(tmp_path / f"{mode}{strength}" / "red.png") as im:
                outputs[mode, strength] = np.asarray(im.convert("RGB")).astype(int)
    assert np.array_equal(outputs["raw", "0"], outputs["raw", "1"])  # raw: the network alone
    redness = {k: (v[..., 0] - v[..., 1:].mean(-1)).mean() for k, v in outputs.items() if k[0] == "soft"}
    assert redness["soft", "1"] > redness["soft", "0"] + 3, redness


@pytest.mark.parametrize("size", ["5", "0", "-64", "63", "100000"])
def test_bad_size(files, capsys, size: str) -> None:
    assert_bad_input(run(colorize(files, "-o", "out", "--size", size), capsys), "size")


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["paint"],
        ["--frobnicate", "colorize"],
        ["colorize", "s.png", "-o", "out", "--frobnicate"],
        ["colorize", "s.png"],
        ["colorize", "s.png", "-o", "out", "--size", "big"],
        ["colorize", "s.png", "-o", "out", "--seed", "1.5"],
        ["extract", "s.png"],
        ["extract", "s.png", "-o", "x.png", "--method", "crayon"],
        ["train"],
        ["train", "--data", "d", "--steps", "ten"],
    ],
)
def test_usage_errors(argv: list[str], capsys) -> None:
    code, out, err = run(argv, capsys)
    assert code == 2
    assert err.count("\n") == 1 and ": error: " in err and "Traceback" not in err


def test_help_is_not_an_error(capsys) -> None:
    code, out, _ = run(["--help"], capsys)
    assert code == 0 and "colorize" in out


def test_unknown_device(files, capsys) -> None:
    assert_bad_input(run(colorize(files, "-o", "out", "--device", "tpu9"), capsys), "tpu9")
    if not torch.cuda.is_available():
        assert_bad_input(run(colorize(files, "-o", "out", "--device", "cuda"), capsys), "cuda")


def test_output_folder_is_a_file(files, tmp_path: Path, capsys) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    assert_bad_input(run(colorize(files, "-o", "taken"), capsys), "sketch.png")
    assert (tmp_path / "taken").read_text() == "a file, not a folder"


def test_unknown_subcommand_in_a_real_process(tmp_path: Path) -> None:
    proc = subprocess.run([S2P, "paint", "x.png"], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "paint" in proc.stderr


# ---------------------------------------------------------------------------------- extract


@pytest.mark.parametrize("method", sorted(EXTRACTORS) + ["cleanup"])
def test_extract_each_method(files, tmp_path: Path, capsys, method: str) -> None:
    source = files["sketch"] if method == "cleanup" else files["illustration"]
    code, out, err = run(["extract", source, "--method", method, "-o", "lines/out.png"], capsys)
    assert code == 0, err
    assert Path(out.strip()).name == "out.png"
    with Image.open(tmp_path / "lines" / "out.png") as im, Image.open(source) as src:
        assert im.size == src.size
        assert im.mode == "L"


def test_extract_bad_inputs(files, tmp_path: Path, capsys) -> None:
    for name, (path, needle) in _bad_images(files, tmp_path).items():
        assert_bad_input(run(["extract", path, "-o", "x.png"], capsys), path.name, needle)
    assert_bad_input(run(["extract", files["illustration"], "-o", "x.unknown"], capsys), "x.unknown")
    assert not (tmp_path / "x.png").exists()


# ---------------------------------------------------------------------------------- train


def test_train_bad_data(tmp_path: Path, capsys) -> None:
    assert_bad_input(run(["train", "--data", "missing_dir", "--steps", "1", "--out", "run"], capsys), "missing_dir")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "readme.txt").write_text("no images here")
    assert_bad_input(run(["train", "--data", "empty", "--steps", "1", "--out", "run"], capsys), "empty")
    assert_bad_input(run(["train", "--data", "empty", "--size", "33", "--out", "run"], capsys), "--size")
    assert not (tmp_path / "run").exists()


def test_train_init_with_unfitting_weights(tmp_path: Path, capsys) -> None:
    """--init with weights of another width: a user error naming the option, not a crash."""
    folder = tmp_path / "data"
    folder.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)).save(folder / "a.png")
    from s2p_lab.colorizer import PRETRAINED_DIR

    result = run(["train", "--data", folder, "--steps", "1", "--size", "32", "--batch", "1", "--out", "run",
                  "--base-channels", "8", "--init", PRETRAINED_DIR, "--no-progress"], capsys)
    assert_bad_input(result, "--init")


# ---------------------------------------------------------------------------------- --debug, exit 1


def test_debug_shows_a_traceback(files, capsys) -> None:
    code, _, err = run(["--debug", *colorize(files, "-o", "out", sketch="missing.png")], capsys)
    assert code == 2
    assert "Traceback (most recent call last)" in err and "ImageError" in err
    assert err.rstrip("\n").splitlines()[-1].startswith("s2p: error: missing.png")


def test_debug_in_a_real_process(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"points": [{"x": 2}]}')
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(tmp_path / "s.png")
    proc = subprocess.run([S2P, "--debug", "colorize", "s.png", "--hints", "bad.json", "--size", "64", "-o", "out"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" in proc.stderr and "HintsError" in proc.stderr


def test_internal_errors_exit_1_in_one_line(capsys) -> None:
    def broken() -> int:
        return {}["missing"]

    assert guarded(broken) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("s2p: internal error: KeyError") and "--debug" in err
    assert guarded(broken, debug=True) == 1
    assert "Traceback" in capsys.readouterr().err


def test_user_errors_exit_2_in_one_line(capsys) -> None:
    def bad() -> int:
        raise HintsError("points[0].x: 2 is outside 0..1\nsecond line")

    assert guarded(bad) == 2
    assert capsys.readouterr().err == "s2p: error: points[0].x: 2 is outside 0..1 second line\n"
    assert guarded(lambda: 0) == 0
