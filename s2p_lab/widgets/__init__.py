"""Notebook apps (ipywidgets + ipycanvas) over the library; the logic stays in the library.

* :class:`ColorizeApp`: sketch, references and clicked hints to variants side by side;
* :class:`TransferExplorer`: attention maps, palettes, style-group toggles, reference mixing;
* :class:`ExtractorExplorer`: line extractors side by side with parameter sliders;
* :func:`image_grid`, :class:`LiveTrainingPlot`: matplotlib figures for the notebooks.

Needs the ``notebooks`` extra: ``pip install "s2p-lab[notebooks]"``.
"""

from __future__ import annotations

try:
    import ipycanvas  # noqa: F401
    import ipywidgets  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "s2p_lab.widgets needs ipywidgets and ipycanvas: pip install 's2p-lab[notebooks]'"
    ) from exc

from .colorize_app import ColorizeApp
from .common import SAMPLE_DATA, decode_png, png_bytes
from .extractors import ExtractorExplorer
from .plots import LiveTrainingPlot, attention_figure, draw_hints, image_grid, palette_figure
from .transfer import TransferExplorer

__all__ = [
    "SAMPLE_DATA",
    "ColorizeApp",
    "ExtractorExplorer",
    "LiveTrainingPlot",
    "attention_figure",
    "draw_hints",
    "palette_figure",
    "TransferExplorer",
    "decode_png",
    "image_grid",
    "png_bytes",
]
