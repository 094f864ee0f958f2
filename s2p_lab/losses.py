"""Losses: reconstruction with the two guide decoders (Style2Paints V1) and the AC-GAN terms."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .models.generator import GeneratorOutput


@dataclass
class LossWeights:
    """``L1(final) + 0.3 L1(gray guide) + 0.9 L1(color guide)`` as in V1, plus adversarial terms."""

    l1: float = 1.0
    gray_guide: float = 0.3
    color_guide: float = 0.9
    adversarial: float = 0.02
    style_aux: float = 0.01  # generator: make the discriminator's style head see the target style
    disc_style_aux: float = 0.1  # discriminator: style head to the real style, zero for fakes


def grayscale(rgb: torch.Tensor) -> torch.Tensor:
    """ITU-R 601 luma of a (B, 3, H, W) tensor, keeping the channel axis."""
    r, g, b = rgb.unbind(1)
    return (0.299 * r + 0.587 * g + 0.114 * b).unsqueeze(1)


def reconstruction_losses(out: GeneratorOutput, target: torch.Tensor) -> dict[str, torch.Tensor]:
    """L1 of the final image and of each guide against the target downsampled to its size."""
    target = target.float()
    losses = {"l1": (out.rgb.float() - target).abs().mean()}
    if out.gray_guide is not None:
        small = F.adaptive_avg_pool2d(grayscale(target), out.gray_guide.shape[-2:])
        losses["gray_guide"] = (out.gray_guide.float() - small).abs().mean()
    if out.color_guide is not None:
        small = F.adaptive_avg_pool2d(target, out.color_guide.shape[-2:])
        losses["color_guide"] = (out.color_guide.float() - small).abs().mean()
    return losses


def lsgan(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss toward 1 (real) or 0 (fake)."""
    return (logits.float() - (1.0 if real else 0.0)).pow(2).mean()
