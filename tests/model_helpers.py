"""Helpers shared by the test modules (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import numpy as np
import torch

from s2p_lab.models import ColorizationModel, ModelConfig
from s2p_lab.runtime import OutputTolerance, output_tolerance


def randomized_model(config: ModelConfig, seed: int = 0) -> ColorizationModel:
    """A model in eval mode whose zero-initialized layers and normalization statistics are random too.

    Freshly built, FiLM, attention outputs and the blocks' fuse layers start at zero and batch-norm
    statistics at identity, which would hide most of what a parity test should compare.
    """
    torch.manual_seed(seed)
    model = ColorizationModel(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            zero_init = "fuse" in name or "film" in name or name.endswith(("out.weight", "out.bias"))
            if zero_init or "join" in name:  # "join": the pretrained-feature joins start at zero too
                p.normal_(0, 0.1)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.5)
                m.running_var.uniform_(0.5, 2.0)
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.2)
    return model.eval()


# ------------------------------------------------------------------ tolerances of the precision that ran
# Every tolerance of a comparison of two network outputs comes from ``runtime.output_tolerance``
# for the precision the compared colorizers ran in (``colorizer.amp_dtype``; the library's default
# follows ``S2P_PRECISION`` and the hardware, ``runtime.bf16_available``).


def tolerance_of(colorizer) -> OutputTolerance:
    """The tolerance of the precision ``colorizer`` runs its networks in."""
    return output_tolerance(colorizer.amp_dtype)


def _levels(got, want) -> np.ndarray:
    got, want = np.asarray(got, np.int16), np.asarray(want, np.int16)
    assert got.shape == want.shape, (got.shape, want.shape)
    return np.abs(got - want)


def assert_same_colors(got, want, tol: OutputTolerance, what: str = "") -> None:
    """Two computations of the same raw network colors (uint8): at most ``tol.levels`` apart, in
    at most ``tol.share`` of the values."""
    diff = _levels(got, want)
    assert diff.max() <= tol.levels and (diff > 0).mean() <= tol.share, (
        f"{what} {tol.precision}: max {diff.max()} levels (at most {tol.levels}), "
        f"{(diff > 0).mean():.3%} differ (at most {tol.share:.3%})")


def assert_same_edit(got, want, tol: OutputTolerance, what: str = "") -> None:
    """A hint edit decoded level-wise or in a window against a full decode of the same batch."""
    diff = _levels(got, want)
    assert diff.max() <= tol.edit_levels and (diff > 0).mean() <= tol.edit_share, (
        f"{what} {tol.precision}: max {diff.max()} levels (at most {tol.edit_levels}), "
        f"{(diff > 0).mean():.3%} differ (at most {tol.edit_share:.3%})")


def assert_same_refined(got, want, tol: OutputTolerance, what: str = "") -> None:
    """Two refined (``soft``/``flat``) images from two computations of the same draft."""
    diff = _levels(got, want)
    mean, p99 = diff.mean(), np.percentile(diff, 99)
    assert mean <= tol.refined_mean and p99 <= tol.refined_p99, (
        f"{what} {tol.precision}: mean {mean:.3f} levels (at most {tol.refined_mean}), "
        f"99th percentile {p99} (at most {tol.refined_p99})")
