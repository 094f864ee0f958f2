"""Renamed options: the earlier spellings still work, with a DeprecationWarning naming the new one.

Each option is named as the setting it sets (``--line-overlay`` sets ``line_overlay``), a strength
as a strength, a count as a count.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from s2p_lab.cli import build_parser
from s2p_lab.colorizer import Colorizer
from s2p_lab.models import ColorizationModel
from s2p_lab.train_cli import config_from_args


@pytest.fixture(scope="module")
def colorizer(tiny_config) -> Colorizer:
    return Colorizer(ColorizationModel(tiny_config), device="cpu", bf16=False)


def test_old_keywords_and_attributes_of_the_colorizer(tiny_config, colorizer: Colorizer) -> None:
    with pytest.warns(DeprecationWarning, match="is deprecated: use reference_"):
        old = Colorizer(colorizer.model, device="cpu", bf16=False, reference_colors=0.2, reference_hints=3)
    assert (old.reference_color_strength, old.reference_hint_count) == (0.2, 3)
    with pytest.warns(DeprecationWarning, match="use reference_hint_count"):
        assert old.reference_hints == 3
    with pytest.warns(DeprecationWarning, match="use reference_color_strength"):
        old.reference_colors = 0.7
    assert old.reference_color_strength == 0.7
    with pytest.warns(DeprecationWarning):
        del old.reference_colors
    assert old.reference_color_strength == Colorizer.reference_color_strength == 0.5, "back to the class default"
    with pytest.raises(TypeError, match="both"):
        Colorizer(colorizer.model, reference_colors=0.2, reference_color_strength=0.3)
    sketch = np.full((48, 64), 255, np.uint8)
    sketch[20:22, :] = 0
    style = np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    new = colorizer.colorize(sketch, [style], size=64, reference_hint_count=0)[0]
    with pytest.warns(DeprecationWarning, match="reference_hints="):
        old_way = colorizer.colorize(sketch, [style], size=64, reference_hints=0)[0]
    assert np.array_equal(np.asarray(new), np.asarray(old_way))
    prepared = colorizer.prepare_sketch(sketch, 64)
    rgb = np.full((*prepared.processing_size, 3), 128, np.uint8)
    with pytest.warns(DeprecationWarning, match="reference_colors="):
        colorizer.refine(prepared, rgb, mode="soft", reference_colors=0.0)


@pytest.mark.parametrize(("old", "new", "dest", "value"), [
    ("--line-strength", "--line-overlay", "line_overlay", 0.5),
    ("--reference-colors", "--reference-color-strength", "reference_color_strength", 0.25),
    ("--reference-hints", "--reference-hint-count", "reference_hint_count", 24),
])
@pytest.mark.parametrize("command", ["colorize", "eval"])
def test_old_options_of_colorize_and_eval(command: str, old: str, new: str, dest: str, value: object, capsys) -> None:
    base = ["colorize", "sketch.png", "-o", "out"] if command == "colorize" else ["eval", "--pairs", "p"]
    parser = build_parser(base)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert getattr(parser.parse_args(base + [new, str(value)]), dest) == value
    with pytest.warns(DeprecationWarning, match=f"{old} is deprecated: use {new}"):
        assert getattr(parser.parse_args(base + [old, str(value)]), dest) == value
    with pytest.raises(SystemExit):
        parser.parse_args([command, "--help"])
    help_text = capsys.readouterr().out
    assert new in help_text and old not in help_text, "--help shows the current spelling only"


def test_old_option_of_train(tmp_path) -> None:
    parser = build_parser(["train"])
    base = ["train", "--data", str(tmp_path), "--out", str(tmp_path / "run")]
    assert config_from_args(parser.parse_args(base + ["--keep-checkpoints", "5"])).keep_checkpoints == 5
    with pytest.warns(DeprecationWarning, match="--keep is deprecated: use --keep-checkpoints"):
        assert config_from_args(parser.parse_args(base + ["--keep", "4"])).keep_checkpoints == 4
