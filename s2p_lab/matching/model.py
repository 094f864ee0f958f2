"""The matcher: scores every sketch region against every reference segment, and against a few
prior colors.

After DACoN (ICCV 2025): the pooled frozen features of each side (``matching.features``) are
projected by a small MLP per side into one space, and a region's score for a segment is their cosine
similarity over a temperature. The loss is over colors, not segments: a softmax over the segments,
the probabilities of the segments of one reference palette color summed
(``segments.ColorSegments.cluster``), and the negative log-likelihood of the color nearest the
region's true color. Regression of color values would average the reference's colors into a wash;
a choice among them cannot.

Beside it, a *prior head* reads the sketch alone and gives each region the probability that it
shows skin. A face is recognisable from its lines; its color under a landscape is not in the
reference. ``predict.Matcher.candidates`` keeps such a region skin: the reference's own skin tones
where it has some, else the *prior color* (the median skin color of the training illustrations).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import S2PError
from .features import FEATURE_SIDE, GEOMETRY_DIM, LEGACY_FEATURE_SIDE

__all__ = ["MatcherConfig", "RegionMatcher", "class_log_probs", "load_matcher", "save_matcher"]

FEATURE_DIMS = {"efficientnet": 152, "dino": 384}


@dataclass
class MatcherConfig:
    """The head's shape. ``sketch_inputs`` / ``reference_inputs``: pooled features read on each side
    (with the 7 place-and-size numbers always); ``layers``: attention layers over the region and
    segment tokens before scoring (0: projections only, as DACoN)."""

    sketch_inputs: list[str] = field(default_factory=lambda: ["efficientnet"])
    reference_inputs: list[str] = field(default_factory=lambda: ["efficientnet"])
    dim: int = 128
    hidden: int = 256
    priors: int = 1  # prior colors with a head each: skin
    temperature: float = 0.1
    layers: int = 0
    use_geometry: bool = True
    prior_geometry: bool = False  # whether the prior head reads place and size (they differ between face crops and full figures)
    feature_side: int = FEATURE_SIDE  # the longer side the frozen features are computed at (both images)
    #: at inference, the untrained cosine similarity of the two parts' EfficientNet block-10 features
    #: (``predict.frozen_similarity``, the nearest-feature baseline's) times this is added to each
    #: region's logits for each segment (0: the head alone; ``matcher-v2`` ships with 7.5, chosen on
    #: training illustrations the head never saw: its model card)
    frozen_similarity: float = 0.0

    def input_dim(self, side: str) -> int:
        names = self.sketch_inputs if side == "sketch" else self.reference_inputs
        return sum(FEATURE_DIMS[n] for n in names) + (GEOMETRY_DIM if self.use_geometry else 0)

    @classmethod
    def from_dict(cls, data: dict) -> "MatcherConfig":
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _mlp(inputs: int, hidden: int, out: int) -> nn.Sequential:
    return nn.Sequential(nn.LayerNorm(inputs), nn.Linear(inputs, hidden), nn.GELU(), nn.Linear(hidden, out))


class _CrossLayer(nn.Module):
    """Self-attention within a side, then attention to the other side (BasicPBC-style)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.self_attention = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.cross_attention = nn.MultiheadAttention(dim, 4, batch_first=True)
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(dim), nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.self_attention(h, h, h, need_weights=False)[0]
        x = x + self.cross_attention(self.norm2(x), other, other, need_weights=False)[0]
        return x + self.mlp(self.norm3(x))


class RegionMatcher(nn.Module):
    """Scores (regions, segments) from the two sides' pooled features, and (regions, priors) from the sketch's."""

    def __init__(self, config: MatcherConfig, prior_lab: np.ndarray | None = None) -> None:
        super().__init__()
        self.config = config
        self.sketch_mlp = _mlp(config.input_dim("sketch"), config.hidden, config.dim)
        self.reference_mlp = _mlp(config.input_dim("reference"), config.hidden, config.dim)
        geometry = GEOMETRY_DIM if config.use_geometry and not config.prior_geometry else 0
        self._prior_columns = config.input_dim("sketch") - geometry
        self.prior_head = _mlp(self._prior_columns, config.hidden, config.priors)
        lab = np.zeros((config.priors, 3), np.float32) if prior_lab is None else np.asarray(prior_lab, np.float32)
        self.register_buffer("prior_lab", torch.from_numpy(lab.copy()))
        self.sketch_layers = nn.ModuleList(_CrossLayer(config.dim) for _ in range(config.layers))
        self.reference_layers = nn.ModuleList(_CrossLayer(config.dim) for _ in range(config.layers))

    def inputs(self, parts: dict[str, np.ndarray | torch.Tensor], side: str) -> torch.Tensor:
        """The head's input rows for one side from a dict of pooled features (``features.PartFeatures``
        fields or a cached example's arrays)."""
        names = self.config.sketch_inputs if side == "sketch" else self.config.reference_inputs
        columns = [torch.as_tensor(np.asarray(parts[n], np.float32)) for n in names]
        if self.config.use_geometry:
            columns.append(torch.as_tensor(np.asarray(parts["geometry"], np.float32)))
        return torch.cat(columns, dim=1)

    def embed(self, sketch: torch.Tensor, reference: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Unit-length embeddings of the regions (R, dim) and segments (S, dim)."""
        s, r = self.sketch_mlp(sketch)[None], self.reference_mlp(reference)[None]
        for sketch_layer, reference_layer in zip(self.sketch_layers, self.reference_layers):
            s, r = sketch_layer(s, r), reference_layer(r, s)
        return F.normalize(s[0], dim=-1), F.normalize(r[0], dim=-1)

    def forward(self, sketch: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
        """Logits (R, S) of every region for every segment."""
        s, r = self.embed(sketch, reference)
        return s @ r.T / self.config.temperature

    def prior_logits(self, sketch: torch.Tensor) -> torch.Tensor:
        """Logits (R, priors) that each region is of each prior's kind (skin), from the sketch alone."""
        return self.prior_head(sketch[:, : self._prior_columns])


def class_log_probs(logits: torch.Tensor, segment_class: torch.Tensor, classes: int) -> torch.Tensor:
    """Log-probabilities (R, classes) of the reference's colors: the softmax over segments, the
    segments' probabilities summed per palette color ``segment_class`` (S,) in 0..classes-1."""
    probs = torch.softmax(logits, dim=1)
    per_class = probs.new_zeros(logits.shape[0], classes).index_add_(1, segment_class, probs)
    return torch.log(per_class.clamp_min(1e-12))


def save_matcher(model: RegionMatcher, folder: Path, extra: dict | None = None) -> Path:
    """Write ``matcher.safetensors`` and ``matcher.json`` (config and ``extra``) into ``folder``."""
    from safetensors.torch import save_file

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    partial = folder / "matcher.partial.safetensors"
    save_file(tensors, str(partial))
    partial.replace(folder / "matcher.safetensors")
    (folder / "matcher.json").write_text(json.dumps({"config": asdict(model.config), **(extra or {})}, indent=2))
    return folder / "matcher.safetensors"


def load_matcher(path: str | Path) -> tuple[RegionMatcher, dict]:
    """A matcher from a folder holding ``matcher.safetensors`` and ``matcher.json`` (or the
    ``.safetensors`` file itself, its ``.json`` beside it). Returns (model in eval mode, the json)."""
    from safetensors.torch import load_file

    path = Path(path)
    weights = path / "matcher.safetensors" if path.is_dir() else path
    meta_file = weights.with_suffix(".json")
    if not weights.is_file() or not meta_file.is_file():
        raise S2PError(f"no matcher weights at {path} (expected matcher.safetensors and matcher.json)")
    try:
        meta = json.loads(meta_file.read_text())
        config = MatcherConfig.from_dict({"feature_side": LEGACY_FEATURE_SIDE, **meta["config"]})
        tensors = load_file(str(weights))
    except (OSError, ValueError, KeyError) as exc:
        raise S2PError(f"unreadable matcher weights at {path}: {exc}") from exc
    model = RegionMatcher(config)
    try:
        model.load_state_dict(tensors)
    except RuntimeError as exc:
        raise S2PError(f"matcher weights at {path} do not fit their config: {str(exc).splitlines()[0]}") from exc
    return model.eval(), meta
