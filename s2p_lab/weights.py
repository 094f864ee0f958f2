"""Safetensors files: the only way weights and checkpoints enter or leave s2p-lab.

Files are written atomically (temporary file, fsync, rename) with a checksum of every tensor in
the header, so a crash never leaves a half-written file under the real name and a corrupted file
is detected on load. Pickle files are refused by their first bytes, before anything reads them.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_bytes
from safetensors.torch import save as save_bytes

from .errors import CheckpointError, WeightsError
from .fileio import write_bytes_atomic

MAX_HEADER_BYTES = 100 * 1024 * 1024
_CHECKSUM_KEY = "s2p.sha256"


def tensors_digest(tensors: dict[str, torch.Tensor]) -> str:
    """SHA-256 over names, dtypes, shapes and raw bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(tensors):
        t = tensors[name].detach().cpu().contiguous()
        digest.update(f"{name}|{t.dtype}|{tuple(t.shape)}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return digest.hexdigest()


def section(tensors: dict[str, torch.Tensor], name: str) -> dict[str, torch.Tensor]:
    """The tensors of one part of a checkpoint (``model``, ``disc``, ``ema``, ...), their keys without
    the ``name.`` prefix."""
    prefix = name + "."
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}


def save_tensors(path: str | os.PathLike, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None,
                 *, durable: bool = True) -> Path:
    """Save tensors as safetensors atomically, with a checksum in the header (``durable=False``:
    not synced to the disk, for files that can be made again)."""
    cpu = {k: v.detach().cpu().contiguous() for k, v in tensors.items()}
    meta = dict(metadata or {})
    meta[_CHECKSUM_KEY] = tensors_digest(cpu)
    path = Path(path)
    write_bytes_atomic(path, save_bytes(cpu, metadata=meta), durable=durable)
    return path


def _refuse_non_safetensors(path: Path, head: bytes, error: type[WeightsError]) -> None:
    if len(head) >= 9:
        (header_len,) = struct.unpack("<Q", head[:8])
        if 2 <= header_len <= MAX_HEADER_BYTES and head[8:9] == b"{":
            return
    if head[:1] == b"\x80" or head[:2] == b"PK":
        raise error(
            f"{path.name}: looks like a pickle or torch.save file; s2p-lab loads only safetensors "
            "(pickle files can run code when loaded)"
        )
    if len(head) < 9:
        raise error(f"{path.name}: file is truncated or empty (not safetensors)")
    raise error(f"{path.name}: not a safetensors file")


def read_metadata(path: str | os.PathLike, *, error: type[WeightsError] = WeightsError) -> dict[str, str]:
    """The header metadata of a safetensors file, without reading its tensors."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: not found")
    with path.open("rb") as handle:
        head = handle.read(9)
        _refuse_non_safetensors(path, head, error)
        (header_len,) = struct.unpack("<Q", head[:8])
        handle.seek(8)
        raw = handle.read(header_len)
    if len(raw) != header_len:
        raise error(f"{path.name}: file is truncated (header cut short)")
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise error(f"{path.name}: corrupt safetensors header ({exc})") from None
    meta = header.get("__metadata__") or {}
    return {str(k): str(v) for k, v in meta.items()}


def load_tensors(
    path: str | os.PathLike, *, verify: bool = True, error: type[WeightsError] = WeightsError
) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Load (tensors, metadata) from a safetensors file; refuse pickles, truncation and corruption."""
    path = Path(path)
    if not path.exists():
        raise error(f"{path}: not found")
    if not path.is_file():
        raise error(f"{path}: not a file")
    data = path.read_bytes()
    _refuse_non_safetensors(path, data[:9], error)
    metadata = read_metadata(path, error=error)
    try:
        tensors = load_bytes(data)
    except (SafetensorError, ValueError, RuntimeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise error(f"{path.name}: corrupt or truncated safetensors file ({reason})") from None
    expected = metadata.get(_CHECKSUM_KEY)
    if verify and expected is not None and tensors_digest(tensors) != expected:
        raise error(f"{path.name}: checksum mismatch: the file is corrupt")
    return tensors, metadata
