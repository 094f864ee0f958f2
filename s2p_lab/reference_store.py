"""References encoded once, kept on disk: what a colorizer computes from a reference image alone.

A reference's style code (DINOv2-S and the style encoder) and its matcher parts (color segments
and pooled EfficientNet-Lite0 features) depend only on the image, the weights and the code that
made them. Nine references take 1.4-1.6 s of the seed demo on a 2-core CPU (6.5 s in all), every time
the command runs or a notebook restarts, so they are kept in a folder and read back (a few
milliseconds each) by any later process that gets the same image:

* the folder: ``$S2P_CACHE_DIR`` (empty, ``0`` or ``off``: nothing is kept), else
  ``$XDG_CACHE_HOME/s2p-lab``, else ``~/.cache/s2p-lab``; ``Colorizer(reference_store=)`` and
  ``s2p colorize --no-reference-store`` override it;
* one safetensors file per reference and kind, named by the image's content and a *fingerprint*
  of everything else the values depend on: the weights that made them (the trained tensors
  themselves, the frozen backbones' files by size and time), the source of the modules that
  compute them, the precision, the device kind, the CPU's instruction set and the torch version.
  Change any of these and the old files are simply not found again;
* reading back gives the same tensors bit for bit (a colorization from stored references equals a
  fresh one, tested), each file checked by the checksum in its header: a damaged file is removed
  and its reference encoded again; a folder that cannot be written is left alone (with one warning);
* at most ``max_files`` files per kind, the least recently used removed first (about 0.25 MB each).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from .models import StyleCode

__all__ = ["ReferenceStore", "as_arrays", "as_tensors", "default_store_folder", "file_stamp", "fingerprint_of",
           "module_sources_digest", "runtime_description", "weights_digest"]

#: raised when the layout of the stored files changes
STORE_VERSION = 1
_OFF = {"", "0", "off", "none", "false", "no"}


def default_store_folder() -> Path | None:
    """Where references are kept by default (``$S2P_CACHE_DIR``, ``$XDG_CACHE_HOME/s2p-lab`` or
    ``~/.cache/s2p-lab``); None when ``$S2P_CACHE_DIR`` turns it off."""
    chosen = os.environ.get("S2P_CACHE_DIR")
    if chosen is not None:
        return None if chosen.strip().lower() in _OFF else Path(chosen).expanduser()
    try:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    except (RuntimeError, KeyError):  # no home folder to be found: keep nothing
        return None
    return Path(base) / "s2p-lab"


def module_sources_digest(modules: Iterable[str]) -> str:
    """A digest of the source files of ``modules`` (names under ``s2p_lab``): the code part of a
    fingerprint, so that stored values made by other code are not read back."""
    root = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for name in sorted(modules):
        path = root.joinpath(*name.split(".")).with_suffix(".py")
        digest.update(name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def weights_digest(module: torch.nn.Module) -> str:
    """A digest of a module's trained tensors (its ``state_dict``: frozen backbones are not in it)."""
    from .weights import tensors_digest

    return tensors_digest(module.state_dict())


def runtime_description(device: torch.device, precision: str) -> dict[str, str]:
    """What else the values depend on: torch's version, the device kind, the CPU's instruction
    set (kernels differ in rounding between AVX2 and AVX-512) and the precision."""
    capability = torch.backends.cpu.get_cpu_capability() if device.type == "cpu" else str(device.type)
    return {"torch": torch.__version__, "device": device.type, "isa": capability, "precision": precision}


class ReferenceStore:
    """A folder of values computed from reference images, one safetensors file per image and kind.

    ``fingerprint``: one string per kind (``"style"``, ``"parts"``) naming everything but the image
    that the values depend on; files are found by the image's ``content_digest`` and that string.
    """

    def __init__(self, folder: str | os.PathLike, max_files: int = 256) -> None:
        self.folder = Path(folder)
        self.max_files = max_files
        self._warned = False

    def path(self, kind: str, fingerprint: str, key: str) -> Path:
        name = hashlib.sha256(f"{STORE_VERSION}|{fingerprint}|{key}".encode()).hexdigest()[:40]
        return self.folder / "references" / kind / f"{name}.safetensors"

    def load(self, kind: str, fingerprint: str, key: str) -> dict[str, torch.Tensor] | None:
        """The tensors stored for ``key``, or None (not stored, or damaged: then removed)."""
        from .errors import WeightsError
        from .weights import load_tensors

        path = self.path(kind, fingerprint, key)
        if not path.is_file():
            return None
        try:
            tensors, _ = load_tensors(path)
        except (WeightsError, OSError):
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
            return None
        with contextlib.suppress(OSError):  # a folder only readable is read all the same
            os.utime(path)  # recently used
        return tensors

    def save(self, kind: str, fingerprint: str, key: str, tensors: dict[str, torch.Tensor]) -> None:
        """Keep ``tensors`` for ``key`` (atomically; nothing is kept where the folder cannot be written)."""
        from .weights import save_tensors

        path = self.path(kind, fingerprint, key)
        try:
            save_tensors(path, tensors, durable=False)
            self._prune(path.parent)
        except OSError as exc:
            if not self._warned:
                warnings.warn(f"references are not kept in {self.folder}: {exc}", RuntimeWarning, stacklevel=3)
                self._warned = True

    def _prune(self, folder: Path) -> None:
        files = list(folder.glob("*.safetensors"))
        if len(files) <= self.max_files:
            return

        def last_used(f: Path) -> int:
            try:
                return f.stat().st_mtime_ns
            except OSError:  # removed meanwhile by another process
                return 0

        for old in sorted(files, key=last_used)[: len(files) - self.max_files]:
            old.unlink(missing_ok=True)


def as_tensors(arrays: dict[str, np.ndarray | None]) -> dict[str, torch.Tensor]:
    """numpy arrays (None left out) as tensors for ``ReferenceStore.save``, their dtypes kept."""
    return {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items() if v is not None}


def as_arrays(tensors: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
    """The inverse of ``as_tensors``."""
    return {k: v.numpy().copy() for k, v in tensors.items()}


def fingerprint_of(parts: dict[str, object]) -> str:
    """One string for a dict of what values depend on (sorted JSON)."""
    return json.dumps(parts, sort_keys=True, default=str)


def file_stamp(path: str | os.PathLike) -> str:
    """A weights file named by its size and modification time (cheaper than hashing 44 MB)."""
    stat = Path(path).stat()
    return f"{Path(path).name}:{stat.st_size}:{stat.st_mtime_ns}"


def open_store(choice: "str | os.PathLike | bool | ReferenceStore | None") -> ReferenceStore | None:
    """The store ``Colorizer(reference_store=choice)`` uses: None or True the default folder
    (``default_store_folder``, possibly none), False none, a folder that folder."""
    if isinstance(choice, ReferenceStore) or choice is False:
        return choice or None
    if choice is None or choice is True:
        folder = default_store_folder()
        return None if folder is None else ReferenceStore(folder)
    return ReferenceStore(choice)


#: the modules whose code computes a style code from a reference image
STYLE_SOURCES = ("colorizer", "models.style_encoder", "models.pretrained_features", "models.inference",
                 "backbones.dinov2", "backbones.efficientnet_lite")


class StoredStyleCodes:
    """Style codes kept in a ``ReferenceStore`` for one model's style encoder, device and precision."""

    @classmethod
    def open(cls, store: ReferenceStore | None, model: torch.nn.Module, device: torch.device,
             precision: str) -> "StoredStyleCodes | None":
        """The stored codes of ``model`` (a ``ColorizationModel``) in ``store``; None without a store."""
        return None if store is None else cls(store, model.style_encoder, model.config.style_size, device, precision)

    def __init__(self, store: ReferenceStore, style_encoder: torch.nn.Module, style_size: int,
                 device: torch.device, precision: str) -> None:
        self.store, self.device = store, device

        def describe() -> str:
            from .models.pretrained_features import backbone_weights_path

            backbone = getattr(style_encoder, "backbone", None)
            files = [backbone_weights_path(backbone.name)] if backbone is not None else []
            return fingerprint_of({"kind": "style", "style_size": style_size, "weights": weights_digest(style_encoder),
                                   "backbones": [file_stamp(f) for f in files],
                                   "code": module_sources_digest(STYLE_SOURCES), **runtime_description(device, precision)})

        self.fingerprint = functools.cache(describe)  # on first use: a pass over the weights

    def load(self, key: str) -> StyleCode | None:
        """The style code stored for the reference with content ``key``, on the device; or None."""
        from .models import StyleCode

        tensors = self.store.load("style", self.fingerprint(), key)
        if tensors is None or set(tensors) != {"vector", "tokens", "present"}:
            return None
        return StyleCode(*(tensors[k].to(self.device) for k in ("vector", "tokens", "present")))

    def save(self, key: str, code: StyleCode) -> None:
        """Keep one reference's style code."""
        self.store.save("style", self.fingerprint(), key,
                        {"vector": code.vector, "tokens": code.tokens, "present": code.present})
