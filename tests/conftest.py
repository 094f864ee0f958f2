"""Shared fixtures: paths to the repository's sample data and the optional shared data set."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
SHARED = ROOT.parent / "shared" / "data"


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
