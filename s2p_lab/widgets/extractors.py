"""``ExtractorExplorer``: the line extractors side by side, each with sliders for its parameters."""

from __future__ import annotations

import inspect
import time

import ipywidgets as W
import numpy as np

from ..errors import S2PError
from ..imageio import ImageSource, load_image
from ..sketch import EXTRACTORS, cleanup_sketch
from .common import guarded, message_html, png_bytes, status_text, thumbnail

# (min, max, step) per parameter; anything not listed gets a range around its default
RANGES: dict[str, dict[str, tuple[float, float, float]]] = {
    "xdog": {
        "sigma": (0.3, 3.0, 0.05),
        "k": (1.1, 3.0, 0.05),
        "tau": (0.8, 1.0, 0.005),
        "epsilon": (-0.5, 0.2, 0.01),
        "phi": (1.0, 30.0, 0.5),
        "percentile": (90.0, 100.0, 0.1),
        "floor": (0.0, 0.2, 0.005),
    },
    "highpass": {
        "kernel": (2, 15, 1),
        "gamma": (0.5, 3.0, 0.05),
        "percentile": (90.0, 100.0, 0.1),
        "threshold": (0.0, 20.0, 0.5),
    },
    "adaptive": {
        "block": (3, 51, 2),
        "c": (0.0, 30.0, 0.5),
        "softness": (1.0, 40.0, 0.5),
    },
}

DESCRIPTIONS = {
    "xdog": "difference of Gaussians, soft threshold (Winnemoeller 2012)",
    "highpass": "max filter minus image: sketchKeras-style",
    "adaptive": "darker than the local mean by more than c",
}


def parameters(method: str) -> dict[str, float]:
    """The keyword parameters of an extractor with their default values."""
    fn = EXTRACTORS[method]
    return {
        name: p.default
        for name, p in inspect.signature(fn).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY and isinstance(p.default, (int, float))
    }


def _slider(method: str, name: str, default: float) -> W.Widget:
    lo, hi, step = RANGES.get(method, {}).get(name, (0.0, max(1.0, abs(default) * 3), abs(default) / 20 or 0.05))
    style = {"description_width": "80px"}
    layout = W.Layout(width="280px")
    if isinstance(default, int) and not isinstance(default, bool):
        s = W.IntSlider(value=default, min=int(lo), max=int(hi), step=int(step), description=name,
                        continuous_update=False, style=style, layout=layout)
    else:
        s = W.FloatSlider(value=default, min=lo, max=hi, step=step, description=name, continuous_update=False,
                          readout_format=".3g", style=style, layout=layout)
    s.add_class(f"s2p-param-{method}-{name}")
    return s


class ExtractorExplorer(W.VBox):
    """Every extractor of :data:`s2p_lab.sketch.EXTRACTORS` on one image, side by side.

    Move a slider and that extractor reruns (a few milliseconds). ``outputs[method]`` holds the
    current line art, ``params(method)`` the current parameters. ``cleanup=True`` adds a column
    with :func:`s2p_lab.sketch.cleanup_sketch` of the image (for real scanned sketches).
    """

    def __init__(self, image: ImageSource, methods: list[str] | None = None, *, size: int = 320,
                 width: int = 300, cleanup: bool = False) -> None:
        super().__init__()
        self.add_class("s2p-extractor-explorer")
        self.last_error: str | None = None
        rgb = load_image(image, mode="RGB")
        self.image = thumbnail(rgb, size) if max(rgb.shape[:2]) > size else rgb
        self.methods = list(methods or EXTRACTORS)
        unknown = [m for m in self.methods if m not in EXTRACTORS]
        if unknown:
            raise S2PError(f"unknown extractor(s) {', '.join(unknown)}; choose from {', '.join(EXTRACTORS)}")
        self.outputs: dict[str, np.ndarray] = {}
        self.status = W.HTML()
        self.status.add_class("s2p-status")
        self._images: dict[str, W.Image] = {}
        self._sliders: dict[str, dict[str, W.Widget]] = {}
        self._timing: dict[str, W.HTML] = {}
        columns = [self._column("input", "the color illustration", png_bytes(self.image), [], width)]
        for method in self.methods:
            sliders = {name: _slider(method, name, default) for name, default in parameters(method).items()}
            self._sliders[method] = sliders
            for s in sliders.values():
                s.observe(lambda _c, m=method: self.update(m), names="value")
            reset = W.Button(description="defaults", layout=W.Layout(width="90px"))
            reset.on_click(lambda _b, m=method: self.reset(m))
            columns.append(self._column(method, DESCRIPTIONS.get(method, ""), b"", [*sliders.values(), reset], width))
        if cleanup:
            self.outputs["cleanup"] = cleanup_sketch(self.image)
            columns.append(self._column("cleanup", "cleanup_sketch: for real scans", png_bytes(self.outputs["cleanup"]),
                                        [], width))
        self.children = [W.HBox(columns, layout=W.Layout(flex_flow="row wrap", align_items="flex-start")), self.status]
        for method in self.methods:
            self.update(method)

    def _column(self, title: str, note: str, value: bytes, controls: list[W.Widget], width: int) -> W.VBox:
        image = W.Image(value=value, format="png", layout=W.Layout(width=f"{width}px", height="auto"))
        image.add_class("s2p-extractor-output")
        self._images[title] = image
        timing = W.HTML()
        self._timing[title] = timing
        header = W.HTML(f"<div style='line-height:1.35'><b>{title}</b><br>"
                        f"<span style='font-size:12px;color:#546e7a'>{note}</span></div>")
        return W.VBox([header, image, timing, *controls], layout=W.Layout(margin="0 14px 10px 0",
                                                                          width=f"{max(width, 290)}px"))

    def show_status(self, text: str, kind: str = "info") -> None:
        self.status.value = message_html(text, kind)

    @property
    def status_text(self) -> str:
        return status_text(self.status.value)

    def params(self, method: str) -> dict[str, float]:
        return {name: s.value for name, s in self._sliders[method].items()}

    @guarded
    def update(self, method: str) -> None:
        """Rerun one extractor with its sliders' values."""
        started = time.perf_counter()
        self.outputs[method] = EXTRACTORS[method](self.image, **self.params(method))
        ms = (time.perf_counter() - started) * 1000
        self._images[method].value = png_bytes(self.outputs[method])
        self._timing[method].value = f"<span style='font-size:11px;color:#78909c'>{ms:.1f} ms</span>"
        self.show_status("")

    def reset(self, method: str) -> None:
        for name, default in parameters(method).items():
            self._sliders[method][name].value = default
