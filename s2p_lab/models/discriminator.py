"""Discriminator: patch real/fake scores plus the auxiliary style head (the AC-GAN of V1)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from .config import ModelConfig


class Discriminator(nn.Module):
    """Looks at (image, sketch) pairs; returns patch logits and a predicted style vector.

    Spectral normalization keeps the least-squares GAN stable without batch statistics. The
    auxiliary head is pushed to the real image's style vector for reals and to zero for fakes,
    so the generator is rewarded for colors a style encoder would recognize as the target style.
    """

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        c = config.disc_channels

        def conv(i: int, o: int, k: int, s: int) -> nn.Module:
            return spectral_norm(nn.Conv2d(i, o, k, stride=s, padding=k // 2))

        self.body = nn.Sequential(
            conv(4, c, 4, 2), nn.LeakyReLU(0.2, inplace=True),
            conv(c, 2 * c, 4, 2), nn.LeakyReLU(0.2, inplace=True),
            conv(2 * c, 4 * c, 4, 2), nn.LeakyReLU(0.2, inplace=True),
            conv(4 * c, 4 * c, 3, 1), nn.LeakyReLU(0.2, inplace=True),
        )
        self.patch = conv(4 * c, 1, 3, 1)
        self.style_head = nn.Linear(4 * c, config.style_dim)

    def forward(self, image: torch.Tensor, sketch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.body(torch.cat([image, sketch.to(image.dtype)], dim=1))
        return self.patch(h), self.style_head(h.float().mean(dim=(2, 3)).to(h.dtype))
