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
    # the bottleneck's attention: mass on the reference tokens that came from the query's own place
    # in the target (the synthesis knows it; ``correspondence_loss``). 0: off
    correspondence: float = 0.0


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


def correspondence_loss(weights: torch.Tensor, grid: tuple[int, int], place: torch.Tensor, present: torch.Tensor,
                        reach: float = 2.0) -> torch.Tensor | None:
    """``-log`` of the attention mass that each query puts on the reference tokens made from its
    own part of the target: the supervision a synthesized reference allows (it was cut from the
    target's illustration, so where each of its tokens came from is known), as SCFT-style
    colorizers use it, so that the attention learns to find parts rather than average the reference.

    ``weights``: (B, heads, h*w, T) attention of queries on an h x w ``grid``; ``place``: (B, 2,
    g, g) with g*g = T, each token's place in the target as shares of its side
    (``data.reference_place``); ``present``: (B,) 1 where the sample has a reference. A token is
    near a query within ``reach`` query cells (Chebyshev). Queries with no near token, and samples
    without a reference, do not count; None where nothing counts.
    """
    height, width = grid
    batch, _, queries, tokens = weights.shape
    if place.shape[-1] * place.shape[-2] != tokens or queries != height * width:
        raise ValueError(f"attention over {tokens} tokens and {queries} queries does not match "
                         f"places {tuple(place.shape[-2:])} and grid {grid}")
    ys = (torch.arange(height, device=weights.device, dtype=torch.float32) + 0.5) / height
    xs = (torch.arange(width, device=weights.device, dtype=torch.float32) + 0.5) / width
    query_xy = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1).reshape(1, queries, 1, 2)
    token_xy = place.float().flatten(2).transpose(1, 2)[:, None]  # B, 1, T, 2
    near = (query_xy - token_xy).abs().amax(dim=-1) < reach / max(height, width)  # B, N, T
    counted = near.any(dim=-1) & (present.to(weights.device)[:, None] > 0)
    if not counted.any():
        return None
    mass = (weights.float().mean(dim=1) * near).sum(dim=-1)  # B, N
    return -(mass[counted] + 1e-4).log().mean()


def lsgan(logits: torch.Tensor, real: bool) -> torch.Tensor:
    """Least-squares GAN loss toward 1 (real) or 0 (fake)."""
    return (logits.float() - (1.0 if real else 0.0)).pow(2).mean()
