"""Losses: reconstruction with the two guide decoders (Style2Paints V1) and the AC-GAN terms.

The trainer's two objectives are callables that take the networks' outputs and the batch and
return ``(total, terms)``: :class:`GeneratorObjective` and :class:`DiscriminatorObjective`, with
the adversarial loss behind one call (:class:`GANLoss`, as pix2pix has it).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from .models.generator import GeneratorOutput

Terms = dict[str, torch.Tensor]  # named loss terms, as logged


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


class GANLoss:
    """The adversarial loss behind one call, as pix2pix's ``GANLoss``: least squares (LSGAN), the
    discriminator's logits pulled toward ``real_label`` for real images and ``fake_label`` for fakes."""

    def __init__(self, real_label: float = 1.0, fake_label: float = 0.0) -> None:
        self.real_label, self.fake_label = real_label, fake_label

    def __call__(self, logits: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        """Mean squared distance of ``logits`` (computed in fp32) to the label."""
        return (logits.float() - (self.real_label if target_is_real else self.fake_label)).pow(2).mean()


@dataclass
class GeneratorObjective:
    """The generator's loss: L1 of the final image and of the guides, the bottleneck attention's
    correspondence, and, once the GAN is on, the adversarial and the auxiliary style terms.

    ``levels``: the generator's down-sampling levels (the attention's grid is the image's >> levels).
    """

    weights: LossWeights
    levels: int
    gan_loss: GANLoss = field(default_factory=GANLoss)

    def __call__(self, out: GeneratorOutput, batch: dict[str, torch.Tensor], attention: Sequence[torch.Tensor] = (),
                 critic: nn.Module | None = None, target_style: torch.Tensor | None = None,
                 gan: float = 0.0) -> tuple[torch.Tensor, Terms]:
        """``(total, terms)`` for the generator's ``out`` on ``batch``.

        ``attention``: the bottleneck attention weights recorded in the forward (empty: no
        correspondence term); ``critic``: the discriminator, scoring ``out`` once ``gan`` (the
        adversarial terms' ramp, 0 to 1) is above 0; ``target_style``: the target's own style
        vector, which the critic's style head should see in ``out``.
        """
        w = self.weights
        terms = reconstruction_losses(out, batch["target"])
        total = w.l1 * terms["l1"] + w.gray_guide * terms.get("gray_guide", 0) + w.color_guide * terms.get("color_guide", 0)
        correspondence = self.correspondence(attention, batch)
        if correspondence is not None:
            terms["correspondence"] = correspondence
            total = total + w.correspondence * correspondence
        if gan > 0:
            if critic is None or target_style is None:
                raise ValueError("the adversarial terms need the critic and the target's style vector")
            critic.requires_grad_(False)  # the generator's update leaves the discriminator alone
            logits, style = critic(out.rgb, batch["sketch"])
            critic.requires_grad_(True)
            terms["g_adv"] = self.gan_loss(logits, True)
            terms["g_style"] = F.mse_loss(style.float(), target_style.float())
            total = total + gan * (w.adversarial * terms["g_adv"] + w.style_aux * terms["g_style"])
        return total, terms

    @contextmanager
    def recording(self, generator: nn.Module) -> Iterator[list[nn.Module]]:
        """The generator's bottleneck attention layers, keeping their weights while inside for the
        correspondence term (none where its weight is 0): the call takes their ``recorded`` weights."""
        layers = list(generator.mid_attention) if self.weights.correspondence > 0 else []
        for layer in layers:
            layer.record_weights = True
        try:
            yield layers
        finally:
            for layer in layers:
                layer.record_weights, layer.recorded = False, None

    def correspondence(self, attention: Sequence[torch.Tensor], batch: dict[str, torch.Tensor]) -> torch.Tensor | None:
        """The mean of ``correspondence_loss`` over the recorded attention layers; None where none counts."""
        sketch = batch["sketch"]
        grid = (sketch.shape[-2] >> self.levels, sketch.shape[-1] >> self.levels)  # the bottleneck's
        terms = [correspondence_loss(weights, grid, batch["reference_place"], batch["has_reference"])
                 for weights in attention]
        terms = [t for t in terms if t is not None]
        return torch.stack(terms).mean() if terms else None


@dataclass
class DiscriminatorObjective:
    """The discriminator's loss on one pass over reals then fakes (its outputs' halves): LSGAN, and
    its style head pulled to the target's style for reals and to zero for fakes."""

    weights: LossWeights
    gan_loss: GANLoss = field(default_factory=GANLoss)

    def __call__(self, logits: torch.Tensor, style: torch.Tensor, target_style: torch.Tensor) -> tuple[torch.Tensor, Terms]:
        """``(total, {"d": adversarial, "d_style": style})`` from the discriminator's outputs on
        ``cat([reals, fakes])``."""
        (real_logits, fake_logits), (real_style, fake_style) = logits.chunk(2), style.chunk(2)
        adversarial = self.gan_loss(real_logits, True) + self.gan_loss(fake_logits, False)
        style_term = F.mse_loss(real_style.float(), target_style.float()) + fake_style.float().pow(2).mean()
        return adversarial + self.weights.disc_style_aux * style_term, {"d": adversarial, "d_style": style_term}
