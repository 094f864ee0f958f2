"""Model configuration: one dataclass, saved as JSON next to the weights."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from ..errors import WeightsError
from ..hint_encoding import HintEncoding
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

    ``hint_encoding`` is how the trained network sees hints (``hint_encoding.HintEncoding``: how far
    each hint spreads over its region, the alpha of reference hints): no part of the networks'
    shapes, but of what their weights mean. A training run sets it from its synthesis settings
    (``TrainConfig``), and ``Colorizer`` draws hint maps by it.
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
    hint_encoding: HintEncoding = field(default_factory=HintEncoding)  # how the trained network sees hints

    def __post_init__(self) -> None:
        if isinstance(self.hint_encoding, dict):  # as ``to_dict`` gives it: ModelConfig(**config.to_dict())
            self.hint_encoding = HintEncoding(**self.hint_encoding)

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
            "hint_encoding.reach (0..1, or null: the whole region)":
                self.hint_encoding.reach is None or 0.0 <= self.hint_encoding.reach <= 1.0,
            "hint_encoding.reference_alpha (above 0, at most 1)": 0.0 < self.hint_encoding.reference_alpha <= 1.0,
        }
        choices = {"style_transfer": ("attention", "global"), "sketch_backbone": SKETCH_BACKBONES,
                   "reference_backbone": REFERENCE_BACKBONES}
        bad = [name + (f" (one of {', '.join(choices[name])})" if name in choices else "")
               for name, ok in checks.items() if not ok]
        if bad:
            raise WeightsError(f"model config: invalid value for {', '.join(bad)}")
        return self

    def same_networks(self, other: "ModelConfig") -> bool:
        """Whether ``other`` builds the same networks (the hint encoding aside)."""
        return dataclasses.replace(self, hint_encoding=other.hint_encoding) == other

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
            if name == "hint_encoding":
                values[name] = _hint_encoding(value)
                continue
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


def _hint_encoding(data: Any) -> HintEncoding:
    """``hint_encoding`` of a model config as JSON, types checked (ranges: ``ModelConfig.validate``)."""
    if not isinstance(data, dict):
        raise WeightsError(f"model config: hint_encoding must be a JSON object, got {data!r}")
    known = [f.name for f in dataclasses.fields(HintEncoding)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise WeightsError(f"model config: unknown field(s) hint_encoding.{', hint_encoding.'.join(unknown)}")
    for name, value in data.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not (number or (name == "reach" and value is None)):
            raise WeightsError(f"model config: hint_encoding.{name} must be a number, got {value!r}")
    return HintEncoding(**{name: None if value is None else float(value) for name, value in data.items()})


# How the hint encoding was recorded before it was a field of the model config: keys of the
# ``config.json`` beside the weights.
LEGACY_HINT_KEYS = {"reach": "hint_reach", "reference_alpha": "reference_hint_alpha"}


def migrate(model: Any, beside: Any = None, trained: Any = None) -> Any:
    """A saved model config (``model``, as JSON) in today's form: the one place that reads old ones.

    Weights saved before the hint encoding was a field of the model config (the shipped v0.3 and
    older) have none in their config. It comes from the ``config.json`` beside them (``beside``):
    its ``model.hint_encoding``, else the top-level ``hint_reach`` and ``reference_hint_alpha``
    that ``s2p train`` wrote then (each: null or absent, no record); else from a training
    checkpoint's own training config (``trained``: its synthesis settings); else what such weights
    were trained with, hints as drawn and reference hints as a user's (``HintEncoding()``).
    """
    if not isinstance(model, dict) or "hint_encoding" in model:
        return model
    beside = beside if isinstance(beside, dict) else {}
    if isinstance(beside.get("model"), dict) and "hint_encoding" in beside["model"]:
        return {**model, "hint_encoding": beside["model"]["hint_encoding"]}
    synthesis = trained.get("synthesis") if isinstance(trained, dict) else None
    from_training = HintEncoding.from_synthesis(synthesis if isinstance(synthesis, dict) else {})
    encoding = {name: beside[old] if beside.get(old) is not None else getattr(from_training, name)
                for name, old in LEGACY_HINT_KEYS.items()}
    return {**model, "hint_encoding": encoding}


__all__ = ["ModelConfig", "field", "migrate"]
