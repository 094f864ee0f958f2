"""Where the work runs: device choice and whether bf16 autocast pays off there."""

from __future__ import annotations

import torch

from .errors import S2PError

__all__ = ["bf16_available", "resolve_device"]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None`` picks CUDA when present, else the CPU; a CUDA request without CUDA is an error."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise S2PError(f"unknown device {device!r}: use 'cpu' or 'cuda'") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise S2PError("device 'cuda' was asked for but no CUDA GPU is available")
    return device


def bf16_available(device: torch.device) -> bool:
    """bf16 autocast pays off on CPUs with AVX-512 BF16 or AMX, and on recent GPUs."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    cpu = torch.cpu
    return bool(getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
                or getattr(cpu, "_is_amx_tile_supported", lambda: False)())
