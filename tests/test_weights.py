"""Weights on disk: round trips, and every way a weights file can be wrong.

Pickle payloads are real (they would create a marker file when unpickled); the tests check that
s2p-lab refuses them by their first bytes and that the marker never appears.
"""

from __future__ import annotations

import json
import os
import pickle
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from s2p_lab.cli import main as cli_main
from s2p_lab.colorizer import Colorizer
from s2p_lab.errors import CheckpointError, S2PError, WeightsError
from s2p_lab.hint_encoding import HintEncoding
from s2p_lab.models import ColorizationModel, ModelConfig, load_model, save_model
from s2p_lab.models.build import CONFIG_NAME, WEIGHTS_NAME
from s2p_lab.weights import load_tensors, read_metadata, save_tensors

SMALL = dict(base_channels=8, style_channels=8, style_dim=16, token_dim=16, attention_heads=2, disc_channels=8)


@pytest.fixture(autouse=True)
def _inside_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


def small_config(**changes) -> ModelConfig:
    return ModelConfig(**{**SMALL, **changes})


@pytest.fixture(scope="module")
def model() -> ColorizationModel:
    torch.manual_seed(0)
    return ColorizationModel(small_config()).eval()


@pytest.fixture
def saved(model: ColorizationModel, tmp_path: Path) -> Path:
    return save_model(model, tmp_path / "weights")


def _same_state(a: torch.nn.Module, b: torch.nn.Module) -> None:
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


# ---------------------------------------------------------------------------------- round trip


def test_round_trip_folder_and_file(model: ColorizationModel, saved: Path) -> None:
    assert (saved / WEIGHTS_NAME).is_file() and (saved / CONFIG_NAME).is_file()
    for source in (saved, saved / WEIGHTS_NAME, str(saved)):
        loaded = load_model(source)
        assert loaded.config == model.config
        assert not loaded.training
        _same_state(model, loaded)
    config = json.loads((saved / CONFIG_NAME).read_text())
    assert config["model"] == model.config.to_dict()
    assert not list(saved.glob("*.tmp")), "atomic writes must not leave temporary files"


def test_round_trip_gives_the_same_colors(model: ColorizationModel, saved: Path) -> None:
    rng = np.random.default_rng(0)
    sketch = np.full((48, 64), 255, np.uint8)
    sketch[10:12, :] = 0
    sketch[:, 30:32] = 0
    style = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    a = Colorizer(model, device="cpu", bf16=False).colorize(sketch, styles=[style], size=64)
    b = Colorizer.from_pretrained(saved, device="cpu", bf16=False, matcher=False).colorize(sketch, styles=[style], size=64)
    assert a[0].size == b[0].size == (64, 48)
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[0]))


def test_the_hint_encoding_is_saved_with_the_weights(model: ColorizationModel, saved: Path, tmp_path: Path) -> None:
    """The model config's ``hint_encoding`` (how far each hint spreads, the alpha of reference
    hints) goes into the header and ``config.json`` and sets how the colorizer sends hints."""
    assert load_model(saved).config.hint_encoding == HintEncoding(0.0, 1.0)
    colorizer = Colorizer.from_pretrained(saved, device="cpu", matcher=False)
    assert (colorizer.hint_reach, colorizer.reference_hint_alpha) == (0.0, 1.0)
    trained = ColorizationModel(small_config(hint_encoding=HintEncoding(0.05, 0.5)))
    folder = save_model(trained, tmp_path / "trained")
    assert json.loads((folder / CONFIG_NAME).read_text())["model"]["hint_encoding"] == {"reach": 0.05, "reference_alpha": 0.5}
    assert json.loads(read_metadata(folder / WEIGHTS_NAME)["s2p.model_config"])["hint_encoding"]["reach"] == 0.05
    for source in (folder, folder / WEIGHTS_NAME):
        assert load_model(source).config.hint_encoding == HintEncoding(0.05, 0.5)
    colorizer = Colorizer.from_pretrained(folder, device="cpu", matcher=False)
    assert (colorizer.hint_reach, colorizer.reference_hint_alpha) == (0.05, 0.5)
    assert Colorizer(trained, device="cpu").hint_reach == 0.05, "a colorizer reads it from the model's config"
    shipped = load_model(Path(__file__).resolve().parents[1] / "s2p_lab" / "pretrained").config.hint_encoding
    assert shipped == HintEncoding(0.03, 1.0)
    for i, (field, bad) in enumerate([("reach", -0.1), ("reach", 2), ("reach", "far"), ("reach", True),
                                      ("reference_alpha", 0), ("reference_alpha", -0.5), ("reference_alpha", 1.5),
                                      ("reference_alpha", "half"), ("reference_alpha", True),
                                      ("reference_alpha", None), ("spread", 0.1)]):
        broken = _bare_weights(model, tmp_path / f"bad{i}", {"model": {**SMALL, "hint_encoding": {field: bad}}})
        with pytest.raises(WeightsError, match=f"hint_encoding.{field}"):
            Colorizer.from_pretrained(broken, device="cpu", matcher=False)


def test_a_training_run_records_the_encoding_of_its_synthesis() -> None:
    """``HintEncoding.from_synthesis``: the reach only where the run spread hints at all, the
    reference alpha only where it gave reference hints (else 1: as a user's)."""
    assert HintEncoding.from_synthesis({"p_spread_hints": 0.5, "hint_reach": 0.04}).reach == 0.04
    assert HintEncoding.from_synthesis({"p_spread_hints": 0.0, "hint_reach": 0.04}).reach == 0.0
    assert HintEncoding.from_synthesis({"p_reference_hints": 0.5, "reference_hint_alpha": 0.3}).reference_alpha == 0.3
    assert HintEncoding.from_synthesis({"p_reference_hints": 0.0, "reference_hint_alpha": 0.3}).reference_alpha == 1.0
    assert HintEncoding.from_synthesis({}) == HintEncoding() == HintEncoding(0.0, 1.0)
    from s2p_lab.train_config import TrainConfig

    config = TrainConfig.from_dict({"synthesis": {"p_spread_hints": 0.5, "hint_reach": 0.04, "p_reference_hints": 0.2}})
    assert config.validate().model.hint_encoding == HintEncoding(0.04, 0.5)


def _old_weights(model: ColorizationModel, folder: Path, beside: dict | None, train_config: dict | None = None,
                 checkpoint: bool = False) -> Path:
    """Weights as saved before the hint encoding was a field of the model config: a header
    config without it, and (where given) the ``config.json`` of then beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    meta = {"s2p.model_config": json.dumps(SMALL)}
    if train_config is not None:
        meta["s2p.train_config"] = json.dumps(train_config)
    state = {f"model.{k}" if checkpoint else k: v for k, v in model.state_dict().items()}
    save_tensors(folder / ("ckpt-0000002.safetensors" if checkpoint else WEIGHTS_NAME), state, meta)
    if beside is not None:
        (folder / CONFIG_NAME).write_text(json.dumps(beside))
    return folder


def test_weights_from_before_the_hint_encoding_was_in_the_model_config(model: ColorizationModel, tmp_path: Path) -> None:
    """Old files load with the encoding they were trained with: the ``config.json`` beside them
    (top-level ``hint_reach`` and ``reference_hint_alpha``, null: no record), a checkpoint's own
    training config, else hints as drawn and reference hints as a user's (v0.2 and older)."""
    def encoding(folder: Path) -> HintEncoding:
        return load_model(folder).config.hint_encoding

    assert encoding(_old_weights(model, tmp_path / "none", None)) == HintEncoding(0.0, 1.0)
    assert encoding(_old_weights(model, tmp_path / "v02", {"model": SMALL})) == HintEncoding(0.0, 1.0)
    old = _old_weights(model, tmp_path / "v03", {"model": SMALL, "hint_reach": 0.03})
    assert encoding(old) == encoding(old / WEIGHTS_NAME) == HintEncoding(0.03, 1.0)
    both = _old_weights(model, tmp_path / "both", {"model": SMALL, "hint_reach": 0.05, "reference_hint_alpha": 0.5})
    assert encoding(both) == HintEncoding(0.05, 0.5)
    assert Colorizer.from_pretrained(both, device="cpu", matcher=False).reference_hint_alpha == 0.5
    assert encoding(_old_weights(model, tmp_path / "null", {"model": SMALL, "hint_reach": None})) == HintEncoding()
    # the shipped v0.3: an old header, today's config.json beside it
    today = {"model": {**SMALL, "hint_encoding": {"reach": 0.03, "reference_alpha": 1.0}}}
    assert encoding(_old_weights(model, tmp_path / "today", today)) == HintEncoding(0.03, 1.0)
    bare = _bare_weights(model, tmp_path / "bare", {"model": SMALL, "hint_reach": 0.05})
    assert encoding(bare) == HintEncoding(0.05, 1.0)
    synthesis = {"synthesis": {"p_spread_hints": 0.5, "hint_reach": 0.04}}
    checkpoint = _old_weights(model, tmp_path / "ckpt", None, synthesis, checkpoint=True)
    assert load_model(checkpoint / "ckpt-0000002.safetensors").config.hint_encoding == HintEncoding(0.04, 1.0)
    for i, bad in enumerate((-0.1, 2, "far", True)):
        broken = _old_weights(model, tmp_path / f"bad{i}", {"model": SMALL, "hint_reach": bad})
        with pytest.raises(WeightsError, match="hint_encoding.reach"):
            Colorizer.from_pretrained(broken, device="cpu", matcher=False)
    broken = _old_weights(model, tmp_path / "bad_alpha", {"model": SMALL, "reference_hint_alpha": 0})
    with pytest.raises(WeightsError, match="hint_encoding.reference_alpha"):
        load_model(broken)


def test_saved_files_are_readable_by_others(saved: Path) -> None:
    """Atomic writes go through a private temp file; the result must get normal permissions."""
    umask = os.umask(0)
    os.umask(umask)
    for name in (WEIGHTS_NAME, CONFIG_NAME):
        mode = stat.S_IMODE((saved / name).stat().st_mode)
        assert mode == 0o666 & ~umask, f"{name}: mode {oct(mode)}"


def test_tensor_round_trip_with_metadata(tmp_path: Path) -> None:
    tensors = {
        "a": torch.arange(12, dtype=torch.float32).reshape(3, 4),
        "b": torch.tensor([1, 2, 3], dtype=torch.int64),
        "empty": torch.zeros(0),
        "half": torch.ones(2, 2, dtype=torch.bfloat16),
    }
    path = save_tensors(tmp_path / "t.safetensors", tensors, {"note": "hello"})
    loaded, meta = load_tensors(path)
    assert meta["note"] == "hello" and "s2p.sha256" in meta
    assert read_metadata(path)["note"] == "hello"
    for k, v in tensors.items():
        assert loaded[k].dtype == v.dtype and torch.equal(loaded[k], v)


def test_overwrite_is_atomic_and_clean(model: ColorizationModel, saved: Path) -> None:
    save_model(model, saved)  # a second save replaces both files
    load_model(saved)
    assert sorted(p.name for p in saved.iterdir()) == [CONFIG_NAME, WEIGHTS_NAME]


# ---------------------------------------------------------------------------------- pickles


class _Evil:
    """Unpickling this creates ``marker`` (what a malicious weights file could do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch '{self.marker}'",))


def _pickle_bytes(marker: Path, protocol: int) -> bytes:
    return pickle.dumps({"weight": _Evil(marker)}, protocol=protocol)


def test_the_payload_is_live(tmp_path: Path) -> None:
    """Sanity check of the test itself: unpickling the payload really creates the marker."""
    marker = tmp_path / "proof"
    pickle.loads(_pickle_bytes(marker, 2))
    assert marker.exists()


def _assert_refused_everywhere(folder: Path, file: Path, marker: Path, capsys: pytest.CaptureFixture) -> None:
    for source in (folder, file):
        with pytest.raises(WeightsError) as info:
            load_model(source)
        assert file.name in str(info.value)
        with pytest.raises(WeightsError):
            Colorizer.from_pretrained(source, device="cpu")
    with pytest.raises(WeightsError):
        load_tensors(file)
    sketch = folder / "sketch.png"
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(sketch)
    capsys.readouterr()
    code = cli_main(["colorize", str(sketch), "--weights", str(file), "--size", "64", "-o", str(folder / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("s2p: error: ") and file.name in err
    assert not (folder / "out").exists()
    assert not marker.exists(), "the pickle was unpickled"


@pytest.mark.parametrize("protocol", range(0, pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_named_safetensors_is_refused(tmp_path: Path, protocol: int, capsys) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "weights"
    folder.mkdir()
    file = folder / WEIGHTS_NAME
    file.write_bytes(_pickle_bytes(marker, protocol))
    (folder / CONFIG_NAME).write_text(json.dumps({"model": SMALL}))
    _assert_refused_everywhere(folder, file, marker, capsys)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_pickle_named_pt_is_refused(tmp_path: Path, protocol: int, capsys) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "weights"
    folder.mkdir()
    file = folder / "evil.pt"
    file.write_bytes(_pickle_bytes(marker, protocol))
    (folder / CONFIG_NAME).write_text(json.dumps({"model": SMALL}))
    with pytest.raises(WeightsError, match="pickle"):
        load_model(file)
    with pytest.raises(WeightsError, match="pickle"):
        Colorizer.from_pretrained(file, device="cpu")
    # a folder holding only the .pt file has no weights at all
    with pytest.raises(WeightsError, match="no model.safetensors"):
        load_model(folder)
    capsys.readouterr()
    sketch = tmp_path / "sketch.png"
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(sketch)
    code = cli_main(["colorize", str(sketch), "--weights", str(file), "--size", "64", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "evil.pt" in err and "pickle" in err
    assert not marker.exists()


def test_pickle_refused_by_the_real_command_line(tmp_path: Path) -> None:
    """The installed command, in its own process: exit 2, one line, nothing unpickled."""
    marker = tmp_path / "pwned"
    file = tmp_path / "evil.pt"
    file.write_bytes(_pickle_bytes(marker, pickle.HIGHEST_PROTOCOL))
    (tmp_path / CONFIG_NAME).write_text(json.dumps({"model": SMALL}))
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(tmp_path / "sketch.png")
    proc = subprocess.run(
        [sys.executable, "-m", "s2p_lab.cli", "colorize", "sketch.png", "--weights", "evil.pt", "--size", "64", "-o", "out"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "evil.pt" in proc.stderr
    assert not marker.exists()
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("legacy", [False, True])
def test_torch_save_files_are_refused(model: ColorizationModel, tmp_path: Path, legacy: bool) -> None:
    marker = tmp_path / "pwned"
    folder = tmp_path / "weights"
    folder.mkdir()
    file = folder / WEIGHTS_NAME
    state = dict(model.state_dict())
    state["payload"] = _Evil(marker)  # type: ignore[assignment]
    torch.save(state, file, _use_new_zipfile_serialization=not legacy)
    head = file.read_bytes()[:2]
    assert head == (b"\x80\x02" if legacy else b"PK")
    (folder / CONFIG_NAME).write_text(json.dumps({"model": SMALL}))
    for source in (folder, file):
        with pytest.raises(WeightsError, match="pickle or torch.save"):
            load_model(source)
    with pytest.raises(CheckpointError, match="pickle or torch.save"):
        load_tensors(file, error=CheckpointError)
    assert not marker.exists()


# ---------------------------------------------------------------------------------- damaged files


def test_truncated_files_are_refused_naming_the_file(saved: Path, tmp_path: Path) -> None:
    data = (saved / WEIGHTS_NAME).read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    cuts = [0, 1, 7, 8, 9, 8 + header_len // 2, 8 + header_len, 8 + header_len + 1,
            len(data) // 2, len(data) - 4, len(data) - 1]
    for cut in cuts:
        folder = tmp_path / f"cut{cut}"
        folder.mkdir()
        (folder / WEIGHTS_NAME).write_bytes(data[:cut])
        (folder / CONFIG_NAME).write_bytes((saved / CONFIG_NAME).read_bytes())
        with pytest.raises(WeightsError) as info:
            load_model(folder)
        message = str(info.value)
        assert WEIGHTS_NAME in message and "\n" not in message, (cut, message)
        assert any(w in message for w in ("truncated", "corrupt", "empty", "not a safetensors")), (cut, message)
        with pytest.raises(CheckpointError, match=WEIGHTS_NAME):
            load_tensors(folder / WEIGHTS_NAME, error=CheckpointError)


def test_flipped_byte_in_tensor_data_fails_the_checksum(saved: Path) -> None:
    file = saved / WEIGHTS_NAME
    data = bytearray(file.read_bytes())
    header_len = int.from_bytes(data[:8], "little")
    start = 8 + header_len
    for offset in (start, start + (len(data) - start) // 2, len(data) - 1):
        damaged = bytearray(data)
        damaged[offset] ^= 0x10
        file.write_bytes(bytes(damaged))
        with pytest.raises(WeightsError, match="checksum mismatch"):
            load_model(saved)
        with pytest.raises(CheckpointError, match="checksum mismatch"):
            load_tensors(file, error=CheckpointError)
        tensors, _ = load_tensors(file, verify=False)  # the data itself still parses
        assert tensors
    file.write_bytes(bytes(data))
    load_model(saved)


def test_garbage_header_and_not_safetensors(tmp_path: Path, saved: Path) -> None:
    folder = tmp_path / "w"
    folder.mkdir()
    (folder / CONFIG_NAME).write_bytes((saved / CONFIG_NAME).read_bytes())
    data = (saved / WEIGHTS_NAME).read_bytes()
    header_len = int.from_bytes(data[:8], "little")
    cases = {
        "text": b"hello, these are not weights at all\n" * 4,
        "png": b"\x89PNG\r\n\x1a\n" + bytes(64),
        "header not json": data[:8] + b"{" + b"x" * (header_len - 1) + data[8 + header_len:],
        "huge header length": (2**62).to_bytes(8, "little") + b"{}",
        "offsets out of range": data[:8] + data[8:8 + header_len].replace(b'"data_offsets":[0,', b'"data_offsets":[9,', 1)
        + data[8 + header_len:],
    }
    for name, payload in cases.items():
        (folder / WEIGHTS_NAME).write_bytes(payload)
        with pytest.raises(WeightsError) as info:
            load_model(folder)
        assert WEIGHTS_NAME in str(info.value), name


def test_a_folder_as_the_weights_file(tmp_path: Path) -> None:
    (tmp_path / "w" / WEIGHTS_NAME).mkdir(parents=True)
    with pytest.raises(WeightsError):
        load_tensors(tmp_path / "w" / WEIGHTS_NAME)


# ---------------------------------------------------------------------------------- configs


def _bare_weights(model: ColorizationModel, folder: Path, config: object) -> Path:
    """Weights without a config in their header, so that config.json is what counts."""
    folder.mkdir(parents=True, exist_ok=True)
    save_tensors(folder / WEIGHTS_NAME, model.state_dict())
    (folder / CONFIG_NAME).write_text(config if isinstance(config, str) else json.dumps(config))
    return folder


def test_config_json_is_used_without_header_config(model: ColorizationModel, tmp_path: Path) -> None:
    folder = _bare_weights(model, tmp_path / "w", {"model": SMALL})
    _same_state(model, load_model(folder))
    folder = _bare_weights(model, tmp_path / "flat", SMALL)  # the plain form, without "model"
    _same_state(model, load_model(folder))


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"colour_mode": "fancy"}, "colour_mode"),
        ({"base_chanels": 8}, "base_chanels"),
        ({"base_channels": "8"}, "base_channels"),
        ({"base_channels": 8.0}, "base_channels"),
        ({"base_channels": True}, "base_channels"),
        ({"levels": None}, "levels"),
        ({"guide_decoders": "yes"}, "guide_decoders"),
        ({"style_transfer": 3}, "style_transfer"),
        ({"style_transfer": "magic"}, "style_transfer"),
        ({"levels": 99}, "levels"),
        ({"style_size": 100}, "style_size"),
        ({"base_channels": -4}, "base_channels"),
    ],
)
def test_bad_config_json_names_the_field(model: ColorizationModel, tmp_path: Path, change: dict, field: str) -> None:
    folder = _bare_weights(model, tmp_path / "w", {"model": {**SMALL, **change}})
    with pytest.raises(WeightsError) as info:
        load_model(folder)
    assert field in str(info.value)
    with pytest.raises(WeightsError, match=field):
        Colorizer.from_pretrained(folder, device="cpu")


@pytest.mark.parametrize(
    "text", ["{not json", "[1, 2, 3]", '"a string"', '{"model": [8]}', "", "null"],
)
def test_config_json_that_is_not_an_object(model: ColorizationModel, tmp_path: Path, text: str) -> None:
    folder = _bare_weights(model, tmp_path / "w", text)
    with pytest.raises(WeightsError, match="config"):
        load_model(folder)


def test_bad_config_in_the_header_names_the_field(model: ColorizationModel, tmp_path: Path) -> None:
    save_tensors(tmp_path / WEIGHTS_NAME, model.state_dict(), {"s2p.model_config": json.dumps({**SMALL, "levels": "3"})})
    with pytest.raises(WeightsError, match="levels"):
        load_model(tmp_path / WEIGHTS_NAME)


def test_missing_config(model: ColorizationModel, tmp_path: Path) -> None:
    save_tensors(tmp_path / WEIGHTS_NAME, model.state_dict())
    with pytest.raises(WeightsError, match=CONFIG_NAME):
        load_model(tmp_path)


def test_shape_mismatch_names_a_tensor_and_both_shapes(tmp_path: Path) -> None:
    wide = ColorizationModel(small_config(base_channels=16))
    folder = _bare_weights(wide, tmp_path / "w", {"model": SMALL})
    with pytest.raises(WeightsError) as info:
        load_model(folder)
    message = str(info.value)
    assert "shape mismatch" in message and WEIGHTS_NAME in message
    wide_state, narrow_state = wide.state_dict(), ColorizationModel(small_config()).state_dict()
    named = [k for k in wide_state if f"{k}:" in message]
    assert named, message
    key = named[0]
    assert str(tuple(wide_state[key].shape)) in message and str(tuple(narrow_state[key].shape)) in message


def test_missing_and_unexpected_tensors(model: ColorizationModel, tmp_path: Path) -> None:
    state = dict(model.state_dict())
    dropped = sorted(state)[0]
    del state[dropped]
    state["extra.weight"] = torch.zeros(1)
    folder = tmp_path / "w"
    save_tensors(folder / WEIGHTS_NAME, state)
    (folder / CONFIG_NAME).write_text(json.dumps({"model": SMALL}))
    with pytest.raises(WeightsError) as info:
        load_model(folder)
    assert "missing" in str(info.value) and "unexpected" in str(info.value)


def test_weights_of_another_architecture(model: ColorizationModel, tmp_path: Path) -> None:
    other = ColorizationModel(small_config(style_transfer="global", guide_decoders=False))
    folder = _bare_weights(other, tmp_path / "w", {"model": SMALL})
    with pytest.raises(WeightsError, match="do not match the model config"):
        load_model(folder)


# ---------------------------------------------------------------------------------- missing


def test_missing_weights(tmp_path: Path, capsys) -> None:
    with pytest.raises(WeightsError, match="not found"):
        load_model(tmp_path / "nowhere")
    with pytest.raises(WeightsError, match="not found"):
        load_model(tmp_path / "nowhere.safetensors")
    with pytest.raises(WeightsError, match="not found"):
        Colorizer.from_pretrained(tmp_path / "nowhere", device="cpu")
    (tmp_path / "empty").mkdir()
    with pytest.raises(WeightsError, match="no model.safetensors"):
        load_model(tmp_path / "empty")
    with pytest.raises(CheckpointError, match="not found"):
        load_tensors(tmp_path / "nowhere.safetensors", error=CheckpointError)
    with pytest.raises(WeightsError, match="not found"):
        read_metadata(tmp_path / "nowhere.safetensors")
    Image.fromarray(np.full((32, 32), 255, np.uint8)).save(tmp_path / "s.png")
    capsys.readouterr()
    code = cli_main(["colorize", str(tmp_path / "s.png"), "--weights", str(tmp_path / "nowhere"), "-o", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "nowhere" in err


def test_every_weights_error_is_a_user_error() -> None:
    assert issubclass(WeightsError, S2PError) and issubclass(CheckpointError, WeightsError)


def test_section_takes_one_part_of_a_checkpoint() -> None:
    from s2p_lab.weights import section

    t = torch.zeros(1)
    tensors = {"model.a.weight": t, "model.b": t, "models.x": t, "ema.a.weight": t, "disc.c": t, "model": t}
    assert sorted(section(tensors, "model")) == ["a.weight", "b"]
    assert list(section(tensors, "ema")) == ["a.weight"]
    assert section(tensors, "opt_g") == {}
