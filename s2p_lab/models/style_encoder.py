"""Style encoder: a reference image to a global style vector and spatial tokens.

The definition only; the inference tuning (normalization folded into convolutions) is in
``inference.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import Down, InceptionBlock, activation
from .config import ModelConfig
from .pretrained_features import TokenJoin, build_backbone, reference_to_rgb01


@dataclass
class StyleCode:
    """What the generator needs from the references: one entry per reference in the batch.

    ``vector`` (B, style_dim) is injected by FiLM; ``tokens`` (B, T, token_dim) are attended to;
    ``present`` (B,) is 1 for a real reference and 0 for "no reference" (hints only).
    """

    vector: torch.Tensor
    tokens: torch.Tensor
    present: torch.Tensor

    def __len__(self) -> int:
        return self.vector.shape[0]

    def select(self, index: torch.Tensor | slice) -> "StyleCode":
        return StyleCode(self.vector[index], self.tokens[index], self.present[index])

    @staticmethod
    def cat(codes: list["StyleCode"]) -> "StyleCode":
        return StyleCode(
            torch.cat([c.vector for c in codes]),
            torch.cat([c.tokens for c in codes]),
            torch.cat([c.present for c in codes]),
        )


def color_statistics(image: torch.Tensor) -> torch.Tensor:
    """Per-channel mean and std plus a coarse chroma-weighted hue histogram (B, 6 + 12)."""
    rgb = (image.float() + 1) / 2
    mean = rgb.mean(dim=(2, 3))
    std = rgb.std(dim=(2, 3))
    r, g, b = rgb.unbind(1)
    maxc, minc = rgb.max(1).values, rgb.min(1).values
    chroma = maxc - minc
    # hue angle from the opponent axes; exact enough for a histogram
    hue = torch.atan2(1.7320508 * (g - b), 2 * r - g - b)
    bins = ((hue + torch.pi) / (2 * torch.pi) * 12).long().clamp(0, 11)
    hist = torch.zeros(rgb.shape[0], 12, device=rgb.device)
    hist.scatter_add_(1, bins.flatten(1), chroma.flatten(1))
    hist = hist / (chroma.flatten(1).sum(1, keepdim=True) + 1e-3)
    return torch.cat([mean, std, hist], dim=1)


class StyleEncoder(nn.Module):
    """Reference image (B, 3, S, S) in [-1, 1] to a ``StyleCode``.

    Multi-depth global-average-pooled features (as the deployed Style2Paints' illustration
    encoder) plus explicit color statistics make the global vector; the 1/8-resolution feature
    map, with each cell's mean color appended, makes the attention tokens. With a
    ``reference_backbone`` its frozen features, resized to the token grid, are added to both.
    """

    def __init__(self, config: ModelConfig, backbone_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        c = config.style_channels
        self.size = config.style_size
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, padding=1), activation())
        self.stage1 = nn.Sequential(Down(c, 2 * c), InceptionBlock(2 * c))
        self.stage2 = nn.Sequential(Down(2 * c, 4 * c), InceptionBlock(4 * c))
        self.stage3 = nn.Sequential(Down(4 * c, 8 * c), InceptionBlock(8 * c))
        self.stage4 = nn.Sequential(Down(8 * c, 8 * c), InceptionBlock(8 * c))
        pooled = 4 * c + 8 * c + 8 * c + 18
        self.to_vector = nn.Sequential(
            nn.Linear(pooled, 2 * config.style_dim), activation(), nn.Linear(2 * config.style_dim, config.style_dim)
        )
        self.to_tokens = nn.Sequential(nn.Linear(8 * c + 3, config.token_dim), nn.LayerNorm(config.token_dim))
        # frozen pretrained features of the reference, added to the tokens and the vector
        self.backbone = build_backbone(config.reference_backbone, backbone_dtype)
        self.backbone_join = (
            TokenJoin(self.backbone.channels, config.token_dim, config.style_dim) if self.backbone is not None else None
        )

    def forward(self, reference: torch.Tensor) -> StyleCode:
        x = self.stem(reference)
        f2 = self.stage2(self.stage1(x))
        f3 = self.stage3(f2)
        f4 = self.stage4(f3)
        pooled = torch.cat(
            [f.float().mean(dim=(2, 3)) for f in (f2, f3, f4)] + [color_statistics(reference)], dim=1
        )
        vector = self.to_vector(pooled.to(f4.dtype))
        cell_color = F.adaptive_avg_pool2d(reference, f3.shape[-2:]).to(f3.dtype)
        tokens = torch.cat([f3, cell_color], dim=1).flatten(2).transpose(1, 2)
        tokens = self.to_tokens(tokens)
        if self.backbone is not None:
            token_add, vector_add = self.backbone_join(self.backbone(reference_to_rgb01(reference)), f3.shape[-2:])
            tokens = tokens + token_add.to(tokens.dtype)
            vector = vector + vector_add.to(vector.dtype)
        present = torch.ones(reference.shape[0], device=reference.device)
        return StyleCode(vector, tokens, present)

    def empty(self, batch: int, like: torch.Tensor) -> StyleCode:
        """The code for "no reference": zero vector, zero tokens, gated off."""
        token_dim = self.to_tokens[0].out_features
        count = (self.size // 8) ** 2
        return StyleCode(
            torch.zeros(batch, self.to_vector[-1].out_features, device=like.device, dtype=like.dtype),
            torch.zeros(batch, count, token_dim, device=like.device, dtype=like.dtype),
            torch.zeros(batch, device=like.device),
        )
