"""The networks, one per file; ``build`` turns a config (and weights) into them."""

from .build import ColorizationModel, load_model, save_model
from .config import ModelConfig
from .discriminator import Discriminator
from .generator import Generator, GeneratorOutput, SketchFeatures
from .style_encoder import StyleCode, StyleEncoder

__all__ = [
    "ColorizationModel",
    "Discriminator",
    "Generator",
    "GeneratorOutput",
    "ModelConfig",
    "SketchFeatures",
    "StyleCode",
    "StyleEncoder",
    "load_model",
    "save_model",
]
