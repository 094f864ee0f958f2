"""s2p-lab: reference-guided colorization of line art, after Style2Paints.

    from s2p_lab import Colorizer, Hints
    colorizer = Colorizer.from_pretrained()
    images = colorizer.colorize("sketch.png", styles=["ref1.png", "ref2.png"], hints=None, size=512)
"""

from __future__ import annotations

from .errors import (
    CheckpointError,
    HintsError,
    ImageError,
    ImageTooLargeError,
    S2PError,
    TrainingError,
    WeightsError,
)
from .hints import Hints

__version__ = "0.1.0"


def __getattr__(name: str):
    # Colorizer pulls in torch; import it lazily so `from s2p_lab import Hints` stays light.
    if name == "Colorizer":
        from .colorizer import Colorizer

        return Colorizer
    raise AttributeError(f"module 's2p_lab' has no attribute {name!r}")


__all__ = [
    "CheckpointError",
    "Colorizer",
    "Hints",
    "HintsError",
    "ImageError",
    "ImageTooLargeError",
    "S2PError",
    "TrainingError",
    "WeightsError",
    "__version__",
]
