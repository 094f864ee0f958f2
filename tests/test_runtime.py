"""The precision policy: ``S2P_PRECISION`` on the CPU, explicit choices over it, and the
tolerance each precision gives a comparison of two network outputs."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from s2p_lab import Colorizer
from s2p_lab.errors import S2PError
from s2p_lab.models import ColorizationModel, ModelConfig
from s2p_lab.runtime import (PRECISION_ENV, bf16_available, forced_precision, hardware_bf16, output_tolerance,
                             precision, precision_of)
from s2p_lab.train import TrainConfig, Trainer

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tiny_model(tiny_config: ModelConfig) -> ColorizationModel:
    return ColorizationModel(tiny_config).eval()


@pytest.mark.parametrize("value, name", [("float32", "float32"), ("fp32", "float32"), ("bf16", "bfloat16"),
                                         ("BFloat16", "bfloat16"), (" bf16 ", "bfloat16")])
def test_the_variable_forces_the_cpu_precision(monkeypatch: pytest.MonkeyPatch, tiny_model, value: str,
                                               name: str) -> None:
    monkeypatch.setenv(PRECISION_ENV, value)
    assert forced_precision() == name and precision(CPU) == name
    assert bf16_available(CPU) == (name == "bfloat16")
    colorizer = Colorizer(tiny_model, device="cpu")
    assert colorizer.bf16 == (name == "bfloat16") and precision_of(colorizer.amp_dtype) == name
    # an explicit argument wins over the variable
    other = name != "bfloat16"
    assert Colorizer(tiny_model, device="cpu", bf16=other).bf16 is other
    assert precision(CPU, bf16=other) == ("bfloat16" if other else "float32")


@pytest.mark.parametrize("value", [None, "", "auto", "AUTO"])
def test_unset_or_auto_leaves_the_hardware_choice(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv(PRECISION_ENV, raising=False)
    else:
        monkeypatch.setenv(PRECISION_ENV, value)
    assert forced_precision() is None
    assert bf16_available(CPU) == hardware_bf16(CPU)
    assert precision(CPU) == ("bfloat16" if hardware_bf16(CPU) else "float32")


@pytest.mark.parametrize("value", ["float16", "fp64", "yes", "1"])
def test_a_bad_value_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tiny_model, value: str) -> None:
    monkeypatch.setenv(PRECISION_ENV, value)
    with pytest.raises(S2PError, match=f"{PRECISION_ENV}='{value}'.*float32, bf16 or auto"):
        bf16_available(CPU)
    with pytest.raises(S2PError, match=PRECISION_ENV):
        Colorizer(tiny_model, device="cpu")
    assert Colorizer(tiny_model, device="cpu", bf16=False).bf16 is False  # an explicit choice never reads it


def test_the_trainer_follows_the_variable_unless_its_config_says(monkeypatch: pytest.MonkeyPatch, tiny_config,
                                                                 sample_dir: Path, tmp_path: Path) -> None:
    def trainer(**changes) -> Trainer:
        config = TrainConfig(data=str(sample_dir / "styles"), out=str(tmp_path / "run"), steps=1, size=32, batch=2,
                             channels_last=False, model=tiny_config, **changes)
        return Trainer(config, progress=False)

    for value, bf16 in (("float32", False), ("bf16", True)):
        monkeypatch.setenv(PRECISION_ENV, value)
        assert trainer().bf16 is bf16
        assert trainer(bf16=not bf16).bf16 is (not bf16)


def test_tolerances_follow_the_precision() -> None:
    f32, bf16, f16 = (output_tolerance(p) for p in ("float32", "bfloat16", "float16"))
    assert [t.precision for t in (f32, bf16, f16)] == ["float32", "bfloat16", "float16"]
    assert output_tolerance(torch.bfloat16) is bf16 and output_tolerance(None) is f32
    # unit roundoff: half the spacing of the precision's numbers at 1
    for tol, dtype in ((f32, torch.float32), (bf16, torch.bfloat16), (f16, torch.float16)):
        assert tol.rounding == torch.finfo(dtype).eps / 2
    # bf16 rounds coarser than float32: every bound at least as wide, the image bounds wider
    for field in ("levels", "share", "edit_levels", "edit_share", "refined_mean", "refined_p99"):
        assert getattr(bf16, field) >= getattr(f32, field), field
    assert bf16.levels > f32.levels and bf16.refined_p99 > f32.refined_p99
    with pytest.raises(S2PError, match="no tolerance"):
        output_tolerance("float64")
