"""The variants of :class:`~s2p_lab.widgets.ColorizeApp`: one card per colorization (its label, the
image, its palette strip), and saving them with their palettes and the hints."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from pathlib import Path

import ipywidgets as W
import numpy as np
from PIL import Image

from ..hints import Hints
from ..imageio import save_image
from ..palettes import Palette
from .common import png_bytes, thumbnail

PALETTE_SIZE = 6  # colors in the palette strip beside each variant


def variants_box() -> W.HBox:
    """The (initially empty) box that holds the variant cards."""
    variants = W.HBox(layout=W.Layout(flex_flow="row wrap", width="100%", align_items="flex-start"))
    variants.add_class("s2p-variants")
    return variants


def show_variants(box: W.HBox, names: list[str], results: list[Image.Image], palettes: list[Palette],
                  width: int, on_swatch: Callable[[str], None]) -> None:
    """Show ``results`` in ``box``, one card each; the cards are reused while the names are the same,
    so a recolor only swaps the images. A click on a palette swatch calls ``on_swatch(hex)``."""
    cards = list(box.children)
    same = len(cards) == len(results) and all(
        c.children[0].value == label_html(n) for c, n in zip(cards, names)
    )
    if not same:
        cards = []
        for name in names:
            image = W.Image(format="png", layout=W.Layout(width=f"{width}px", height="auto"))
            image.add_class("s2p-variant")
            strip = W.HBox(layout=W.Layout(flex_flow="row wrap", justify_content="center"))
            strip.add_class("s2p-palette")
            card = W.VBox([W.HTML(label_html(name)), image, strip],
                          layout=W.Layout(margin="0 10px 10px 0", align_items="center"))
            card.add_class("s2p-variant-card")
            cards.append(card)
    shown = 2 * width  # sharp on high-density screens, light to send
    for card, result, palette in zip(cards, results, palettes):
        rgb = np.asarray(result)
        card.children[1].value = png_bytes(thumbnail(rgb, shown) if max(rgb.shape[:2]) > shown else rgb)
        card.children[2].children = [palette_swatch(c, on_swatch) for c in palette.hex()]
    if not same:
        box.children = cards


def palette_swatch(value: str, on_click: Callable[[str], None]) -> W.Button:
    """A palette swatch: a click calls ``on_click(value)`` (the app takes its color and the recolor tool)."""
    b = W.Button(tooltip=f"{value}: click, then click a region to recolor it",
                 layout=W.Layout(width="24px", height="18px", padding="0", margin="1px"))
    b.style.button_color = value
    b.add_class("s2p-palette-swatch")
    b.on_click(lambda _b: on_click(value))
    return b


def label_html(name: str) -> str:
    """The caption of a variant card."""
    label = html.escape(name.replace("_", " "))
    return f"<div style='font-size:12px;font-weight:600;text-align:center;line-height:1.5'>{label}</div>"


def safe_name(name: str) -> str:
    """``name`` reduced to characters safe in a file name (``"image"`` if nothing is left)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "image"


def save_variants(folder: Path, sketch_name: str, names: list[str], results: list[Image.Image],
                  palettes: list[Palette], hints: Hints) -> list[Path]:
    """Write each variant (PNG) and its palette (JSON), then the hints (JSON), into ``folder``."""
    stem = safe_name(sketch_name)
    paths = [
        save_image(image, folder / f"{stem}__{safe_name(name)}.png")
        for name, image in zip(names, results)
    ]
    paths += [palette.save(folder / f"{stem}__{safe_name(name)}__palette.json")
              for name, palette in zip(names, palettes)]
    paths.append(hints.save(folder / f"{stem}__hints.json"))
    return paths


def saved_html(paths: list[Path]) -> str:
    """The list of saved files shown under the variants."""
    items = "".join(f"<li><code>{p}</code></li>" for p in paths)
    return f"<div style='font-size:12px'>Saved:<ul style='margin:2px 0'>{items}</ul></div>"
