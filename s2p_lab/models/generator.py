"""Generator: a U-net over the sketch, with hints and style injected, and two guide decoders.

The definition only; the inference tuning of a trained generator is in ``inference.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import Down, InceptionBlock, ReferenceAttention, Up, activation
from .config import ModelConfig
from .pretrained_features import FeatureJoin, build_backbone, sketch_to_rgb01
from .style_encoder import StyleCode


@dataclass
class SketchFeatures:
    """The sketch encoder's output, cached by the colorizer across hint edits and references."""

    skips: list[torch.Tensor]  # full resolution first, bottleneck last


@dataclass
class HintedFeatures:
    """The sketch features with a hint map applied: everything the style-dependent part reads.

    ``bottleneck`` is the mid-level's input; ``skips[i]`` is what the ``i``-th up-sampling step
    takes from the encoder (``Up.skip_input`` of the hinted skip, coarse to fine). Computed once
    per sketch and hint map, with batch 1 at inference, and shared by a batch of references.
    """

    bottleneck: torch.Tensor
    skips: list[torch.Tensor]


@dataclass
class GeneratorOutput:
    rgb: torch.Tensor  # (B, 3, H, W) in [-1, 1]
    gray_guide: torch.Tensor | None = None  # (B, 1, H/4, W/4): grayscale from the sketch alone
    color_guide: torch.Tensor | None = None  # (B, 3, H/4, W/4): colors at the mid-level's exit


def pool_hints(hint_map: torch.Tensor, size: tuple[int, int], factor: int | None = None) -> torch.Tensor:
    """Downsample a (B, 4, H, W) hint map to ``size``: mean hint color where hinted, and coverage.

    ``factor``: the map is known to be exactly ``factor`` times ``size``; the same mean is then
    taken with a plain average pool (which ``torch.compile`` handles with dynamic shapes).
    """
    if hint_map.shape[-2:] == size:
        pooled = hint_map
    elif factor is not None:
        pooled = F.avg_pool2d(hint_map, factor)
    else:
        pooled = F.adaptive_avg_pool2d(hint_map, size)
    coverage = pooled[:, 3:4]
    color = pooled[:, :3] / coverage.clamp_min(1e-4)
    hinted = (coverage > 1e-4).to(color.dtype)
    return torch.cat([(color * 2 - 1) * hinted, coverage.clamp(0, 1)], dim=1)


class GuideHead(nn.Sequential):
    """A small decoder from mid-level features to a 1/4-resolution image (Style2Paints V1 guide)."""

    def __init__(self, channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(channels, 32, 3, padding=1),
            activation(),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            nn.Conv2d(32, out_channels, 3, padding=1),
            nn.Tanh(),
        )


class Generator(nn.Module):
    """U-net colorizer.

    The sketch passes through an encoder of its own (``encode_sketch``), which is the expensive
    part that does not depend on hints or references. ``decode`` adds the hint map at every
    level through light projections (``hint_features``), then runs the mid-level (Inception
    blocks with FiLM style modulation and attention to the reference tokens) and the decoder
    (``decode_hinted``). The gray guide reads the mid-level's entry (sketch and hints only), the
    color guide its exit, as in Style2Paints V1.

    This is the one definition, read by training, the colorizer and the ONNX export alike. The
    colorizer caches between the three stages (sketch features per sketch, hinted features per
    hint map, one decode per batch of references) and runs them on the copy that
    :func:`s2p_lab.models.inference.optimize_for_inference` rewrites for speed.
    """

    def __init__(self, config: ModelConfig, backbone_dtype: torch.dtype | None = None) -> None:
        super().__init__()
        self.config = config
        c = config.base_channels
        widths = [c * 2**i for i in range(config.levels + 1)]
        self.widths = widths
        self.attention_on = config.style_transfer == "attention"
        style_dim = config.style_dim

        self.stem = nn.Sequential(nn.Conv2d(1, c, 3, padding=1), activation())
        self.encoder = nn.ModuleList([InceptionBlock(c)])
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            self.encoder.append(nn.Sequential(Down(w_in, w_out), InceptionBlock(w_out)))
        self.hint_proj = nn.ModuleList([nn.Conv2d(4, w, 3, padding=1) for w in widths])
        # frozen pretrained features of the sketch, joined at the bottleneck (the nearest scale)
        self.sketch_backbone = build_backbone(config.sketch_backbone, backbone_dtype)
        self.sketch_join = (
            FeatureJoin(self.sketch_backbone.channels, widths[-1]) if self.sketch_backbone is not None else None
        )

        bottleneck = widths[-1]
        self.mid = nn.ModuleList([InceptionBlock(bottleneck, style_dim) for _ in range(config.mid_blocks)])
        self.mid_attention = nn.ModuleList(
            [ReferenceAttention(bottleneck, config.token_dim, config.attention_heads) for _ in range(config.mid_blocks)]
            if self.attention_on
            else []
        )
        self.gray_guide = GuideHead(bottleneck, 1) if config.guide_decoders else None
        self.color_guide = GuideHead(bottleneck, 3) if config.guide_decoders else None

        self.up = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for level in reversed(range(config.levels)):
            self.up.append(Up(widths[level + 1], widths[level], widths[level]))
            self.decoder.append(InceptionBlock(widths[level], style_dim))
        # one more attention at the level just above the bottleneck: finer regions, still cheap
        self.decoder_attention = (
            ReferenceAttention(widths[-2], config.token_dim, config.attention_heads) if self.attention_on else None
        )
        self.to_rgb = nn.Conv2d(c, 3, 3, padding=1)

    def encode_sketch(self, sketch: torch.Tensor, backbone: bool = True) -> SketchFeatures:
        """Sketch (B, 1, H, W) with lines = 1 and paper = 0; H and W divisible by 2**levels.

        ``backbone=False`` leaves out the frozen backbone's features (``join_sketch_backbone``
        adds them), for a runtime that runs the two parts apart.
        """
        x = self.stem(sketch)
        skips = []
        for stage in self.encoder:
            x = stage(x)
            skips.append(x)
        if backbone and self.sketch_backbone is not None:
            skips[-1] = self.join_sketch_backbone(sketch, skips[-1])
        return SketchFeatures(skips)

    def join_sketch_backbone(self, sketch: torch.Tensor, bottleneck: torch.Tensor) -> torch.Tensor:
        """The encoder's bottleneck skip plus the frozen backbone's features of the sketch."""
        features = self.sketch_backbone(sketch_to_rgb01(sketch))
        return bottleneck + self.sketch_join(features, bottleneck.shape[-2:]).to(bottleneck.dtype)

    def hint_features(self, features: SketchFeatures, hint_map: torch.Tensor) -> HintedFeatures:
        """The style-independent part of decoding: the (B|1, 4, H, W) hint map added at every level."""
        skips = [self.hinted_skip(level, skip, hint_map) for level, skip in enumerate(features.skips)]
        return HintedFeatures(skips[-1], [up.skip_input(skips[-2 - i]) for i, up in enumerate(self.up)])

    def hinted_skip(self, level: int, skip: torch.Tensor, hint_map: torch.Tensor) -> torch.Tensor:
        """The encoder's skip at ``level`` (1/2**level of the hint map's size) with the hints added."""
        hints = pool_hints(hint_map, skip.shape[-2:], 2**level).to(skip.dtype)
        return skip + self.hint_proj[level](hints.contiguous(memory_format=torch.channels_last))

    def decode_hinted(self, hinted: HintedFeatures, style: StyleCode, guides: bool = False) -> GeneratorOutput:
        """The style-dependent part: the mid-level and the decoder, for a batch of styles.

        Hinted features with batch 1 are shared by every reference in ``style``. The steps
        (``style_gains``, ``mid_level``, ``decoder_level``, ``to_colors``) are methods of their own
        so that a decoder run level by level (an incremental hint edit) computes what this does.
        """
        batch = len(style)
        vector = self.style_gains(style)
        x = hinted.bottleneck
        gray = self.gray_guide(x) if guides and self.gray_guide is not None else None
        x = self.mid_level(x, style, vector)
        if x.shape[0] != batch:  # nothing depended on the style yet
            x = x.expand(batch, -1, -1, -1)
        color = self.color_guide(x) if guides and self.color_guide is not None else None
        for i in range(len(self.up)):
            x = self.decoder_level(i, x, hinted.skips[i], style, vector)
        rgb = self.to_colors(x)
        if gray is not None and gray.shape[0] != batch:
            gray = gray.expand(batch, -1, -1, -1)
        return GeneratorOutput(rgb, gray, color)

    def style_gains(self, style: StyleCode) -> torch.Tensor:
        """The style vector that modulates the blocks (zero for a missing reference)."""
        return style.vector * style.present[:, None].to(style.vector.dtype)

    def mid_level(self, x: torch.Tensor, style: StyleCode, vector: torch.Tensor) -> torch.Tensor:
        """The bottleneck's blocks (and attention to the reference tokens) on hinted features."""
        for i, block in enumerate(self.mid):
            x = block(x, vector)
            if self.attention_on:
                x = self.mid_attention[i](x, style.tokens, style.present)
        return x

    def decoder_level(self, i: int, x: torch.Tensor, skip: torch.Tensor, style: StyleCode,
                      vector: torch.Tensor) -> torch.Tensor:
        """The ``i``-th up-sampling step (coarse to fine): ``x`` up, joined with ``skip``
        (``HintedFeatures.skips[i]``), then the level's block."""
        x = self.decoder[i](self.up[i](x, skip), vector)
        if i == 0 and self.decoder_attention is not None:
            x = self.decoder_attention(x, style.tokens, style.present)
        return x

    def to_colors(self, x: torch.Tensor) -> torch.Tensor:
        """RGB in [-1, 1] from the finest level's features."""
        return torch.tanh(self.to_rgb(x))

    def decode(
        self, features: SketchFeatures, hint_map: torch.Tensor, style: StyleCode, guides: bool = False
    ) -> GeneratorOutput:
        """Colors from cached sketch features, a (B|1, 4, H, W) hint map and a style code."""
        return self.decode_hinted(self.hint_features(features, hint_map), style, guides)

    def receptive_radius(self) -> int:
        """Pixels (at the input resolution) beyond which a hint cannot change ``decode``'s output.

        The decoder has no global operation over the image (attention looks at reference tokens
        only, normalization is per channel in eval mode), so a hint edit changes the output only
        within this radius of the edited pixels. Counted backwards from an output pixel: 3x3
        convolutions add 1, dilated ones 2, a bilinear 2x step halves the radius and adds 1, and
        the pooled hint cells at level ``l`` span ``2**l`` pixels.
        """
        radius, worst = 1, 0  # to_rgb
        for level in range(self.config.levels):
            radius += 2 + 1  # decoder block (dilated branch), then the up-sampling convolution
            worst = max(worst, (radius + 2) * 2**level)  # + the hint projection, + one pooled cell
            radius = radius // 2 + 2  # through the bilinear up-sampling, to the next coarser level
        radius += 2 * len(self.mid)
        return max(worst, (radius + 2) * 2**self.config.levels)

    def forward(
        self, sketch: torch.Tensor, hint_map: torch.Tensor, style: StyleCode, guides: bool = False
    ) -> GeneratorOutput:
        return self.decode(self.encode_sketch(sketch), hint_map, style, guides)

    def attention_modules(self) -> list[ReferenceAttention]:
        """Attention layers from coarse to fine (empty for the global-vector design)."""
        mods = list(self.mid_attention)
        if self.decoder_attention is not None:
            mods.append(self.decoder_attention)
        return mods
