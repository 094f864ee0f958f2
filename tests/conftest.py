"""Shared fixtures: paths to the repository's sample data and the optional shared data set; the
header line naming the precision the networks run in by default (``S2P_PRECISION``).

The tests keep no encoded references between processes (``S2P_CACHE_DIR=off``, inherited by the
commands, notebooks and JupyterLab they start): each test encodes what it uses and nothing is
written outside its temporary folders; ``tests/test_reference_store.py`` turns the store on where
it tests it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ["S2P_CACHE_DIR"] = "off"

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SHARED = ROOT.parent / "shared" / "data"


def pytest_report_header(config: pytest.Config) -> str:
    """Which precision the library's default colorizer and trainer run in, and why, e.g.
    ``s2p-lab numerics: bfloat16 (AVX-512 BF16)``; a bad ``S2P_PRECISION`` stops the run."""
    import os

    import torch

    from s2p_lab.errors import S2PError
    from s2p_lab.runtime import PRECISION_ENV, forced_precision, hardware_bf16, precision, resolve_device

    device = resolve_device(None)
    try:
        name, forced = precision(device), forced_precision()
    except S2PError as exc:
        raise pytest.UsageError(str(exc)) from exc
    if device.type == "cuda":
        return f"s2p-lab numerics: {name} (CUDA: {torch.cuda.get_device_name(device)}; {PRECISION_ENV} applies to the CPU)"
    cpu = torch.cpu
    hardware = ("AVX-512 BF16" if getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
                else "AMX" if getattr(cpu, "_is_amx_tile_supported", lambda: False)() else "no AVX-512 BF16 or AMX")
    if forced is None:
        return f"s2p-lab numerics: {name} ({hardware})"
    emulated = ", emulated" if name == "bfloat16" and not hardware_bf16(device) else ""
    return f"s2p-lab numerics: {name} (forced by {PRECISION_ENV}={os.environ[PRECISION_ENV]}{emulated}; the CPU: {hardware})"


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    return SAMPLE


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared evaluation/training data; tests that need it skip where it is absent."""
    if not (SHARED / "illustrations").is_dir():
        pytest.skip(f"shared data not found at {SHARED} (only present in the project's own checkouts and CI)")
    return SHARED


@pytest.fixture(scope="session")
def tiny_config():
    """A small but complete model configuration, for fast tests of real networks."""
    from s2p_lab.models import ModelConfig

    return ModelConfig(
        base_channels=8, style_channels=8, style_dim=16, style_size=32, token_dim=16, attention_heads=2, disc_channels=8
    )


try:  # hypothesis keeps no example database between runs: tests leave nothing behind
    from hypothesis import settings

    settings.register_profile("s2p", database=None, deadline=None)
    settings.load_profile("s2p")
except ImportError:  # pragma: no cover
    pass


@pytest.fixture(scope="session", autouse=True)
def isolated_home_caches(tmp_path_factory: pytest.TempPathFactory):
    """Caches that libraries (and `s2p eval`) write under ~/.cache go to the test's temp dir."""
    import os

    cache = tmp_path_factory.mktemp("xdg-cache")
    saved = {k: os.environ.get(k) for k in ("XDG_CACHE_HOME", "MPLCONFIGDIR")}
    os.environ["XDG_CACHE_HOME"] = str(cache)
    os.environ["MPLCONFIGDIR"] = str(cache / "matplotlib")
    yield
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
