"""Palettes: extraction, JSON round trip, typed errors, colors locked across two sketches."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from s2p_lab import Colorizer
from s2p_lab.palettes import Palette, PaletteError, extract_palette, load_palette
from s2p_lab.refine import snap_to_palette


def blocks(colors: list[tuple[int, int, int]], size: int = 40) -> np.ndarray:
    image = np.zeros((size, size * len(colors), 3), np.uint8)
    for i, c in enumerate(colors):
        image[:, i * size : (i + 1) * size] = c
    return image


def test_extract_finds_the_main_colors_most_used_first() -> None:
    image = blocks([(220, 30, 40), (220, 30, 40), (30, 60, 220), (40, 180, 60)])  # red comes first
    palette = extract_palette(image, k=3)
    assert len(palette) == 3
    got = palette.array().astype(int)
    assert np.abs(got[0] - [220, 30, 40]).max() <= 4
    for color in ((30, 60, 220), (40, 180, 60)):
        assert np.abs(got - color).max(axis=1).min() <= 4


def test_paper_and_lines_are_left_out() -> None:
    image = blocks([(255, 255, 255), (255, 255, 255), (0, 0, 0), (200, 120, 40)])
    palette = extract_palette(image, k=2)
    assert all(max(c) < 250 and max(c) > 40 for c in palette.colors)


def test_json_round_trip(tmp_path: Path) -> None:
    palette = Palette([(1, 2, 3), (250, 128, 0)], names=["ink", "orange"])
    path = palette.save(tmp_path / "sub" / "p.json")
    assert Palette.load(path) == palette
    assert load_palette(str(path)) == palette
    assert load_palette(palette.to_dict()) == palette
    assert palette.hex() == ["#010203", "#fa8000"]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ('{"colors": [[300, 0, 0]]}', "color 0"),
        ('{"colors": [[1, 2]]}', "color 0"),
        ('{"colors": []}', "at least one"),
        ('{"colors": [[1, 2, 3]], "names": ["a", "b"]}', "names"),
        ('{"colours": [[1, 2, 3]]}', "colors"),
        ('[1, 2, 3]', "JSON object"),
        ("{not json", "not valid JSON"),
    ],
)
def test_bad_palettes_raise_typed_errors(tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(PaletteError, match=needle):
        Palette.load(path)


def test_missing_file() -> None:
    with pytest.raises(PaletteError, match="nowhere.json"):
        load_palette("nowhere.json")


def test_snap_to_nearest_palette_color() -> None:
    colors = np.array([[250, 10, 10], [10, 10, 240], [128, 128, 128]], np.uint8)
    palette = np.array([[255, 0, 0], [0, 0, 255]], np.uint8)
    assert snap_to_palette(colors, palette)[:2].tolist() == [[255, 0, 0], [0, 0, 255]]


def test_a_palette_locks_two_sketches_of_one_character(sample_dir: Path) -> None:
    """Color one portrait, take its palette, color the pencil version with it: every region of
    the second result (flat) is a palette color."""
    colorizer = Colorizer.from_pretrained(device="cpu")
    first = colorizer.colorize(sample_dir / "sketches" / "girl_portrait.png",
                               styles=[sample_dir / "styles" / "sunset.png"], size=128, mode="flat")[0]
    palette = extract_palette(first, k=6)
    second_path = sample_dir / "sketches_photo" / "pencil_girl.jpg"
    prepared = colorizer.prepare_sketch(second_path, 128)
    regions = colorizer.regions(prepared)
    draft = colorizer.render(prepared, colorizer.hint_map(None, prepared),
                             colorizer.encode_styles([sample_dir / "styles" / "night_sky.png"]))[0]
    locked = colorizer.refine(prepared, draft, None, "flat", palette)
    allowed = {tuple(c) for c in palette.colors}
    assert {tuple(c) for c in np.unique(locked.reshape(-1, 3), axis=0)} <= allowed
    assert regions.count > 5
    # the public call takes the palette as an object, a dict or a file
    out = colorizer.colorize(second_path, styles=[sample_dir / "styles" / "night_sky.png"], size=128,
                             mode="flat", palette=palette.to_dict())[0]
    assert out.size == Image.open(second_path).size
