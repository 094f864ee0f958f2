"""Helpers shared by the test modules (imported by name: pytest puts this folder on sys.path)."""

from __future__ import annotations

import torch

from s2p_lab.models import ColorizationModel, ModelConfig


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
