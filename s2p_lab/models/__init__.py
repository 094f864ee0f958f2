"""The networks, one per file; ``build`` turns a config (and weights) into them.

``blocks``, ``style_encoder``, ``generator`` and ``discriminator`` are the definitions (what
training runs); ``inference.optimize_for_inference`` rewrites a trained model for fast inference.
"""

from .build import ColorizationModel, load_model, save_model
from .config import ModelConfig
from .discriminator import Discriminator
from .generator import Generator, GeneratorOutput, HintedFeatures, SketchFeatures
from .inference import optimize_for_inference
from .style_encoder import StyleCode, StyleEncoder

__all__ = [
    "ColorizationModel",
    "Discriminator",
    "Generator",
    "GeneratorOutput",
    "HintedFeatures",
    "ModelConfig",
    "SketchFeatures",
    "StyleCode",
    "StyleEncoder",
    "load_model",
    "optimize_for_inference",
    "save_model",
]
