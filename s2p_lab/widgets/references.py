"""The reference gallery of :class:`~s2p_lab.widgets.ColorizeApp`: one card per style reference (a
thumbnail and a toggle that selects it), and the gallery's controls."""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as W
import numpy as np

from .common import png_bytes, thumbnail


@dataclass
class Reference:
    """A style reference of the app: its name, its image and its card in the gallery."""

    name: str
    rgb: np.ndarray
    toggle: W.ToggleButton
    card: W.VBox


def reference_controls() -> tuple[W.HBox, W.FileUpload, W.Button, W.Button]:
    """The gallery box, the upload for more references, and the *All* and *None* buttons."""
    gallery = W.HBox(layout=W.Layout(flex_flow="row wrap", width="100%", max_height="300px",
                                     overflow="auto", align_content="flex-start"))
    gallery.add_class("s2p-gallery")
    style_upload = W.FileUpload(accept="image/*", multiple=True, description="Add references",
                                layout=W.Layout(width="160px"))
    style_upload.add_class("s2p-style-upload")
    all_button = W.Button(description="All", layout=W.Layout(width="60px"))
    none_button = W.Button(description="None", layout=W.Layout(width="60px"))
    return gallery, style_upload, all_button, none_button


def reference_card(name: str, rgb: np.ndarray, selected: bool) -> Reference:
    """A reference with its card: the thumbnail over a toggle, outlined while selected."""
    thumb = W.Image(value=png_bytes(thumbnail(rgb, 84)), format="png",
                    layout=W.Layout(max_width="84px", max_height="84px"))
    label = name.replace("_", " ")
    toggle = W.ToggleButton(value=selected, description=label if len(label) <= 14 else label[:13] + "…",
                            tooltip=name, layout=W.Layout(width="100px", height="26px", padding="0 2px"))
    toggle.style.font_size = "11px"
    toggle.add_class("s2p-reference-toggle")
    card = W.VBox([W.Box([thumb], layout=W.Layout(height="86px", align_items="center",
                                                  justify_content="center")), toggle],
                  layout=W.Layout(width="104px", margin="0 6px 6px 0", align_items="center",
                                  border="2px solid transparent"))
    card.add_class("s2p-reference")
    ref = Reference(name, rgb, toggle, card)
    toggle.observe(lambda change, r=ref: style_card(r), names="value")
    style_card(ref)
    return ref


def style_card(ref: Reference) -> None:
    """Show on the card whether the reference is selected."""
    ref.toggle.button_style = "info" if ref.toggle.value else ""
    ref.card.layout.border = "2px solid #2f9fd8" if ref.toggle.value else "2px solid transparent"
