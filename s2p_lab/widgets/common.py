"""Small pieces the notebook apps share: image bytes, sizes, uploads, image folders, error guard."""

from __future__ import annotations

import functools
import html
import io
import os
import re
import traceback
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
from PIL import Image

from ..errors import S2PError
from ..fileio import list_image_files
from ..imageio import ImageSource, load_image

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLE_DATA = REPO_ROOT / "sample_data"

F = TypeVar("F", bound=Callable[..., Any])


def png_bytes(image: np.ndarray | Image.Image) -> bytes:
    """PNG bytes of a uint8 image (HxW or HxWx3) or a PIL image, fast (compression level 1)."""
    pil = image if isinstance(image, Image.Image) else Image.fromarray(np.ascontiguousarray(image))
    buf = io.BytesIO()
    pil.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    """uint8 HxWx3 RGB from encoded image bytes (for tests and round trips)."""
    return np.asarray(Image.open(io.BytesIO(bytes(data))).convert("RGB"))


def fit_size(height: int, width: int, long_side: int) -> tuple[int, int]:
    """(height, width) scaled so that the longer side is ``long_side``, aspect kept."""
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize_to(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize with area averaging when shrinking, cubic when enlarging."""
    if rgb.shape[:2] == (height, width):
        return rgb
    shrink = height * width < rgb.shape[0] * rgb.shape[1]
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC)


def thumbnail(rgb: np.ndarray, long_side: int) -> np.ndarray:
    """A copy of ``rgb`` whose longer side is ``long_side``."""
    return resize_to(rgb, *fit_size(rgb.shape[0], rgb.shape[1], long_side))


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    """``"#e8344e"`` (or ``"#e34"``) to ``(232, 52, 78)``; raises S2PError on anything else."""
    text = str(value).strip().lstrip("#")
    if len(text) == 3:
        text = "".join(ch * 2 for ch in text)
    try:
        if len(text) != 6:
            raise ValueError
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        raise S2PError(f"not a color: {value!r} (expected #rrggbb)") from None


def rgb_to_hex(rgb: Iterable[int]) -> str:
    r, g, b = (int(v) for v in rgb)
    return f"#{r:02x}{g:02x}{b:02x}"


def image_files(folder: str | os.PathLike) -> list[Path]:
    """Image files directly in ``folder``, sorted by name (empty if the folder is missing)."""
    root = Path(folder)
    return list_image_files(root) if root.is_dir() else []


def named_sources(sources: object, default_folder: Path | None = None) -> dict[str, ImageSource]:
    """Normalize what a user passes as a set of images into ``{name: source}``.

    ``sources``: a folder, a list of paths / PIL images / arrays, or a dict ``{name: source}``;
    ``None`` means ``default_folder`` (the repository's ``sample_data``) when it exists.
    """
    if sources is None:
        sources = default_folder if default_folder is not None and default_folder.is_dir() else []
    if isinstance(sources, (str, os.PathLike)):
        folder = Path(sources)
        if folder.is_dir():
            return {p.stem: p for p in image_files(folder)}
        return {folder.stem: folder}
    if isinstance(sources, Mapping):
        return {str(k): v for k, v in sources.items()}
    if isinstance(sources, (np.ndarray, Image.Image)):
        sources = [sources]
    out: dict[str, ImageSource] = {}
    for i, item in enumerate(sources):  # type: ignore[union-attr]
        name = Path(item).stem if isinstance(item, (str, os.PathLike)) else f"image {i + 1}"
        while name in out:
            name += "'"
        out[name] = item
    return out


def upload_items(value: object) -> list[tuple[str, bytes]]:
    """``(name, content)`` pairs from a ``FileUpload.value`` (ipywidgets 8 tuple or 7 dict)."""
    if not value:
        return []
    items = value.values() if isinstance(value, Mapping) else value
    out = []
    for item in items:  # type: ignore[union-attr]
        name = str(item.get("name") or item.get("metadata", {}).get("name", "upload"))
        content = item.get("content", b"")
        out.append((name, bytes(content.tobytes() if isinstance(content, memoryview) else content)))
    return out


def load_upload(name: str, content: bytes) -> np.ndarray:
    """Decode uploaded bytes into uint8 RGB; ImageError (with the file's name) when unusable."""
    try:
        return load_image(content, mode="RGB")
    except S2PError as exc:
        message = str(exc)
        if message.startswith("<"):
            message = message.split(":", 1)[-1].strip()
        raise type(exc)(f"{name}: {message}") from None


def message_html(text: str, kind: str = "info") -> str:
    """A status line: ``kind`` is ``info``, ``ok``, ``busy`` or ``error``."""
    colors = {"info": "#37474f", "ok": "#1b5e20", "busy": "#0d47a1", "error": "#b71c1c"}
    icon = {"info": "", "ok": "&#10003; ", "busy": "", "error": "&#9888; "}[kind]
    return (
        f'<div class="s2p-status-{kind}" style="color:{colors[kind]};font-size:13px;'
        f'line-height:1.4;white-space:normal">{icon}{html.escape(text)}</div>'
    )


def guarded(method: F) -> F:
    """Run a widget callback so that no exception escapes into the notebook.

    A user error (:class:`S2PError`) becomes its one-line message in the app's status line; any
    other exception becomes ``internal error: ...`` there, with the traceback kept in
    ``app.last_error`` for debugging (``None`` after an action that succeeded). The app stays
    usable either way.
    """

    @functools.wraps(method)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        try:
            result = method(self, *args, **kwargs)
            self.last_error = None
            return result
        except S2PError as exc:
            self.last_error = traceback.format_exc()
            self.show_status(str(exc), "error")
        except Exception as exc:  # noqa: BLE001 - the app must survive anything
            self.last_error = traceback.format_exc()
            first = str(exc).splitlines()[0] if str(exc) else ""
            self.show_status(f"internal error: {type(exc).__name__}: {first}", "error")
        return None

    return wrapper  # type: ignore[return-value]


def status_text(markup: str) -> str:
    """The plain text of a status line (icons and tags dropped, entities decoded)."""
    text = re.sub(r"<[^>]+>", "", markup)
    text = re.sub(r"&#(?:10003|9888);", "", text)
    return html.unescape(text).strip()
