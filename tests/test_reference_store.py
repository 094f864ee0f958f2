"""Encoded references kept on disk (``reference_store``): the same colors as encoding them again,
DINOv2-S never read when every style code is stored, damaged files encoded again, the command
line's opt-out, and where the folder is."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from s2p_lab import Colorizer
from s2p_lab.reference_store import ReferenceStore, StoredStyleCodes, default_store_folder
from s2p_lab.weights import load_tensors


def _inputs(sample_dir: Path) -> tuple[str, list[str]]:
    styles = sorted(str(p) for p in (sample_dir / "styles").glob("*.png"))[:2]
    return str(sample_dir / "sketches" / "girl_portrait.png"), styles


def _images(results) -> list[np.ndarray]:
    return [np.asarray(r) for r in results]


def _stored(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.safetensors"))


def test_stored_references_color_the_same_and_dinov2_is_never_read(sample_dir: Path, tmp_path: Path) -> None:
    sketch, styles = _inputs(sample_dir)
    fresh = _images(Colorizer.from_pretrained(reference_store=False).colorize(sketch, styles, size=256))
    first = Colorizer.from_pretrained(reference_store=tmp_path)
    made = _images(first.colorize(sketch, styles, size=256))
    files = _stored(tmp_path)
    assert {f.parent.name for f in files} == {"style", "parts"} and len(files) == 4  # per reference: code and parts
    later = Colorizer.from_pretrained(reference_store=tmp_path)
    read = _images(later.colorize(sketch, styles, size=256))
    for a, b, c in zip(fresh, made, read):
        assert np.array_equal(a, b) and np.array_equal(a, c)
    assert first.model.style_encoder.backbone.loaded
    assert not later.model.style_encoder.backbone.loaded  # 22 M weights not read: every code was stored
    other = Colorizer.from_pretrained(reference_store=tmp_path).colorize(sketch, styles[:1] + [str(sample_dir / "styles" / "sunset.png")],
                                                                         size=256)
    assert len(other) == 2 and len(_stored(tmp_path)) == 6  # a new reference is encoded and kept


def test_damaged_files_are_encoded_again_and_replaced(sample_dir: Path, tmp_path: Path) -> None:
    sketch, styles = _inputs(sample_dir)
    expected = _images(Colorizer.from_pretrained(reference_store=tmp_path).colorize(sketch, styles, size=256))
    # both codes damaged, so that they are encoded again in the same batch as at first (in float32
    # a code's last bits depend on the batch it was encoded in); the parts are made one by one
    cut, changed = sorted((tmp_path / "references" / "style").glob("*.safetensors"))
    parts_file = next((tmp_path / "references" / "parts").glob("*.safetensors"))
    cut.write_bytes(cut.read_bytes()[:100])  # cut short
    for damaged in (changed, parts_file):
        data = bytearray(damaged.read_bytes())
        data[-50:] = bytes(50)  # the tensors changed under the checksum
        damaged.write_bytes(bytes(data))
    again = Colorizer.from_pretrained(reference_store=tmp_path)
    for a, b in zip(expected, _images(again.colorize(sketch, styles, size=256))):
        assert np.array_equal(a, b)
    assert again.model.style_encoder.backbone.loaded  # the codes had to be encoded again
    for f in (cut, changed, parts_file):
        load_tensors(f)  # whole again: no error


def test_the_fingerprint_follows_the_weights_and_the_precision(tmp_path: Path) -> None:
    store = ReferenceStore(tmp_path)
    colorizer = Colorizer.from_pretrained(reference_store=False)
    encoder = colorizer.model.style_encoder
    cpu = torch.device("cpu")
    bf16 = StoredStyleCodes(store, encoder, 128, cpu, "torch.bfloat16/torch").fingerprint()
    float32 = StoredStyleCodes(store, encoder, 128, cpu, "None/torch").fingerprint()
    assert bf16 != float32
    assert StoredStyleCodes(store, encoder, 128, cpu, "torch.bfloat16/torch").fingerprint() == bf16
    with torch.no_grad():
        next(encoder.parameters()).add_(1e-3)  # other weights: other codes
    assert StoredStyleCodes(store, encoder, 128, cpu, "torch.bfloat16/torch").fingerprint() != bf16


def test_the_least_recently_used_files_go_first(tmp_path: Path) -> None:
    store = ReferenceStore(tmp_path, max_files=2)
    one = {"x": torch.zeros(3)}
    for key in ("a", "b"):
        store.save("style", "f", key, one)
        time.sleep(0.02)
    assert store.load("style", "f", "a") is not None  # "a" used again: "b" is now the oldest
    time.sleep(0.02)
    store.save("style", "f", "c", one)
    assert store.load("style", "f", "b") is None
    assert store.load("style", "f", "a") is not None and store.load("style", "f", "c") is not None
    assert store.load("style", "other fingerprint", "a") is None


def test_an_unwritable_folder_warns_once_and_colorizes(sample_dir: Path, tmp_path: Path) -> None:
    sketch, styles = _inputs(sample_dir)
    blocked = tmp_path / "a file"
    blocked.write_text("not a folder")
    colorizer = Colorizer.from_pretrained(reference_store=blocked)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        results = colorizer.colorize(sketch, styles, size=256)
    assert len(results) == 2
    kept = [w for w in caught if "references are not kept" in str(w.message)]
    assert len(kept) <= 2  # once per store user: the style codes and the matcher's parts
    assert kept and blocked.read_text() == "not a folder"


def test_where_the_store_is(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for off in ("off", "", "0", "None"):
        monkeypatch.setenv("S2P_CACHE_DIR", off)
        assert default_store_folder() is None
    monkeypatch.setenv("S2P_CACHE_DIR", str(tmp_path / "here"))
    assert default_store_folder() == tmp_path / "here"
    monkeypatch.delenv("S2P_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_store_folder() == tmp_path / "xdg" / "s2p-lab"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_store_folder() == tmp_path / "home" / ".cache" / "s2p-lab"


def test_the_command_keeps_references_unless_told_not_to(sample_dir: Path, tmp_path: Path) -> None:
    sketch, styles = _inputs(sample_dir)
    env = {**os.environ, "S2P_CACHE_DIR": str(tmp_path / "store")}
    base = [sys.executable, "-m", "s2p_lab.cli", "colorize", sketch, "--style", styles[0], "--size", "256"]
    done = subprocess.run(base + ["--no-reference-store", "-o", str(tmp_path / "a")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "store").exists()
    done = subprocess.run(base + ["-o", str(tmp_path / "b")], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert len(_stored(tmp_path / "store")) == 2
    for name in os.listdir(tmp_path / "a"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
