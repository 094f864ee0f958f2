"""Model configuration: one dataclass, saved as JSON next to the weights."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import WeightsError
from .pretrained_features import REFERENCE_BACKBONES, SKETCH_BACKBONES


@dataclass
class ModelConfig:
    """Everything needed to rebuild the networks before loading their weights.

    ``style_transfer`` picks how the reference reaches the generator: ``"attention"`` (decoder
    features attend to reference tokens, so each region can take its own color) plus the global
    FiLM vector, or ``"global"`` (the FiLM vector alone, as Style2Paints V1 did).

    ``sketch_backbone`` and ``reference_backbone`` add frozen pretrained features
    (``pretrained_features.py``): ``"none"`` (the networks learn everything themselves, as v0.1
    and v0.2), ``"efficientnet_lite0"`` (both sides) or ``"dinov2_small"`` (reference only).
    """

    base_channels: int = 32  # generator width at full resolution; doubles per level
    levels: int = 3  # downsamplings in the generator (bottleneck at 1/2**levels)
    mid_blocks: int = 2  # Inception blocks at the bottleneck ("mid-level")
    style_dim: int = 256  # global style vector size
    style_size: int = 128  # references are resized to style_size x style_size
    style_channels: int = 32  # style encoder width at its first level
    token_dim: int = 128  # reference token width for attention
    attention_heads: int = 4
    style_transfer: str = "attention"  # "attention" | "global"
    guide_decoders: bool = True
    disc_channels: int = 64
    sketch_backbone: str = "none"  # frozen features joined to the generator's bottleneck
    reference_backbone: str = "none"  # frozen features added to the reference tokens and style vector

    def validate(self) -> "ModelConfig":
        """Raise WeightsError when a field is out of range."""
        checks = {
            "base_channels": self.base_channels >= 8,
            "levels": 2 <= self.levels <= 5,
            "mid_blocks": self.mid_blocks >= 1,
            "style_dim": self.style_dim >= 8,
            "style_size": self.style_size >= 32 and self.style_size % 16 == 0,
            "style_channels": self.style_channels >= 8,
            "token_dim": self.token_dim % max(self.attention_heads, 1) == 0,
            "attention_heads": self.attention_heads >= 1,
            "style_transfer": self.style_transfer in ("attention", "global"),
            "disc_channels": self.disc_channels >= 8,
            "sketch_backbone": self.sketch_backbone in SKETCH_BACKBONES,
            "reference_backbone": self.reference_backbone in REFERENCE_BACKBONES,
        }
        choices = {"style_transfer": ("attention", "global"), "sketch_backbone": SKETCH_BACKBONES,
                   "reference_backbone": REFERENCE_BACKBONES}
        bad = [name + (f" (one of {', '.join(choices[name])})" if name in choices else "")
               for name, ok in checks.items() if not ok]
        if bad:
            raise WeightsError(f"model config: invalid value for {', '.join(bad)}")
        return self

    @property
    def multiple(self) -> int:
        """Generator inputs must have sides divisible by this."""
        return 2**self.levels

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelConfig":
        """Build from a dict, refusing unknown keys and wrong types with WeightsError."""
        if not isinstance(data, dict):
            raise WeightsError("model config: expected a JSON object")
        known = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise WeightsError(f"model config: unknown field(s) {', '.join(unknown)}")
        values = {}
        for name, value in data.items():
            expected = type(getattr(cls(), name))
            if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
                raise WeightsError(f"model config: {name} must be an integer, got {value!r}")
            if expected is bool and not isinstance(value, bool):
                raise WeightsError(f"model config: {name} must be true or false, got {value!r}")
            if expected is str and not isinstance(value, str):
                raise WeightsError(f"model config: {name} must be a string, got {value!r}")
            values[name] = value
        return cls(**values).validate()

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)


__all__ = ["ModelConfig", "field"]
