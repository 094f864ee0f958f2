"""Where the work runs: device choice, whether bf16 autocast pays off there, and which precision ran.

``bf16_available`` is the one place the library decides the default precision (the
``Colorizer``, the ``Trainer`` and ``s2p bench`` ask it). On the CPU the environment variable
``S2P_PRECISION`` overrides the hardware's choice: ``float32`` keeps float32 on a CPU with
AVX-512 BF16 or AMX, ``bf16`` turns bf16 autocast on where bf16 is emulated (correct but slow:
what the tests use to run the bf16 numerics on an AVX2-only CPU); unset, empty or ``auto`` leave
the hardware's choice. An explicit argument (``Colorizer(bf16=...)``, ``TrainConfig.bf16``,
``s2p ... --fp32``) wins over the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

import torch

from .errors import S2PError

__all__ = ["PRECISION_ENV", "OutputTolerance", "autocast_dtype", "bf16_available", "forced_precision", "hardware_bf16",
           "output_tolerance", "precision", "precision_of", "resolve_device"]

#: the environment variable that forces the CPU's precision (``float32``, ``bf16`` or ``auto``)
PRECISION_ENV = "S2P_PRECISION"
_PRECISION_VALUES = {"float32": "float32", "fp32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16",
                     "auto": None, "": None}


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


def forced_precision() -> str | None:
    """The CPU precision ``S2P_PRECISION`` forces: ``"float32"``, ``"bfloat16"``, or None (unset,
    empty or ``auto``: the hardware decides). Any other value is an ``S2PError``."""
    raw = os.environ.get(PRECISION_ENV, "")
    value = raw.strip().lower()
    if value not in _PRECISION_VALUES:
        raise S2PError(f"{PRECISION_ENV}={raw!r} is not a precision: use float32, bf16 or auto")
    return _PRECISION_VALUES[value]


def hardware_bf16(device: torch.device | str) -> bool:
    """Whether the hardware runs bf16 fast: CPUs with AVX-512 BF16 or AMX, bf16 GPUs (elsewhere
    a bf16 matmul is emulated, hundreds of times slower)."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    cpu = torch.cpu
    return bool(getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
                or getattr(cpu, "_is_amx_tile_supported", lambda: False)())


def bf16_available(device: torch.device | str) -> bool:
    """Whether the library's default is bf16 autocast on ``device``: where the hardware runs it fast
    (``hardware_bf16``), or on the CPU as ``S2P_PRECISION`` forces it."""
    device = torch.device(device)
    if device.type == "cpu":
        forced = forced_precision()
        if forced is not None:
            return forced == "bfloat16"
    return hardware_bf16(device)


def autocast_dtype(device: torch.device, bf16: bool | None = None, backend: str = "torch") -> torch.dtype | None:
    """The autocast dtype a colorizer on ``device`` runs in (None: float32), as ``bf16`` and
    ``backend`` ask (``Colorizer``): bf16 where the hardware runs it fast (or where asked), fp16 on
    GPUs without bf16, float32 with ``bf16=False`` and on onnxruntime."""
    if backend != "torch":
        return None
    if bf16_available(device) if bf16 is None else bool(bf16):
        return torch.bfloat16
    return torch.float16 if bf16 is None and device.type == "cuda" else None  # pre-Ampere: fp16 cores


def precision(device: torch.device | str, bf16: bool | None = None) -> str:
    """The name of the precision the networks run in on ``device``: ``"bfloat16"`` or ``"float32"``.

    ``bf16``: an explicit choice (as ``Colorizer(bf16=...)`` takes it; it wins over
    ``S2P_PRECISION``); None: the library's default, ``bf16_available``. (A ``Colorizer`` left to
    choose on a GPU without bf16 runs float16 autocast instead: ``precision_of(colorizer.amp_dtype)``
    names what an instance runs.)
    """
    return "bfloat16" if (bf16_available(device) if bf16 is None else bf16) else "float32"


def precision_of(amp_dtype: torch.dtype | None) -> str:
    """The precision name of an autocast dtype (None: no autocast, float32), e.g. a
    ``Colorizer``'s ``amp_dtype``: ``"bfloat16"``, ``"float16"`` or ``"float32"``."""
    return str(amp_dtype or torch.float32).removeprefix("torch.")


@dataclass(frozen=True)
class OutputTolerance:
    """How far two computations of the same network output may differ in one precision.

    "The same output" computed two ways: a reference decoded in a batch of several or alone, a
    hint edit decoded level-wise or in a window or the whole image afresh, the setting of a
    colorizer changed and changed back. In float32 such computations differ by float rounding
    (1e-6 in the decoder's colors: one 8-bit level where a value sits on a rounding boundary); in
    bf16 the batch size and the window change the kernels' blocking and with it the accumulation
    and rounding of every activation (2^-6 in the colors: two levels). ``output_tolerance`` gives
    the measured bounds; ``bench/precision_tolerance.py`` measures them (the shipped weights on
    the sample data; ``bench/precision_tolerance.json``).
    """

    #: ``"float32"``, ``"bfloat16"`` or ``"float16"``
    precision: str
    #: unit roundoff: the relative error of one rounding of a float32 value to the precision
    #: (2^-24, 2^-8, 2^-11), the tolerance of a tensor computed in float32 and stored in it
    rounding: float
    #: uint8 images, raw network colors (at the processing size or the sketch's): the most levels
    #: one pixel may differ ...
    levels: int
    #: ... and the share of the pixels that may differ at all
    share: float
    #: a hint edit decoded level-wise or in a window against a full decode of the same batch: the
    #: most levels one pixel may differ, and the share of pixels that may differ
    edit_levels: int
    edit_share: float
    #: refined images (``soft``, ``flat``): the reference colors stretch the draft's chroma and with
    #: it the rounding differences, and a near-tie of two regions may swap: the mean difference in
    #: levels and its 99th percentile
    refined_mean: float
    refined_p99: float


# Measured by bench/precision_tolerance.py (bench/precision_tolerance.json; torch 2.13.0, the
# shipped weights, the sample data: 4 sketches at 96, 128 and 160 px, the 9 styles in batches of
# three against each alone; the hint edits of tests/test_incremental.py at 128 and 384 px,
# level-wise and in a window), the worst case over all of them:
#
#                                  float32 (AVX-512 / AVX2)   bf16 (AVX-512 BF16)   bf16 emulated (AVX2)
#   batch vs alone: colors max abs 1e-6 / 1e-6                2^-6 = 0.0156         0.0171
#     levels at processing size    1 / 1 (0.005 % of pixels)  2 (11 % of pixels)    2 (10 %)
#     levels, returned raw images  1 / 1 (0.009 %)            3 (13 %)              3 (12 %)
#     soft/flat: mean, p99 (max)   0.0002, 0 (1) / same       0.82, 12 (18)         0.90, 12 (17)
#   edit vs full: level-wise       0 / 0                      0                     0
#     in a window                  0 / 1 (0.001 %)            2 (0.5 % of pixels)   2 (0.5 %)
#
# The returned images are the processing-size colors upsampled (bicubic, whose overshoot turns two
# levels into three) with the lines laid over them. Bounds: the measured maxima of the levels
# (float32: one level, a value on a rounding boundary, for edits too); bf16: about twice the
# measured shares and means, a third above the percentile; float32: floors of 0.1 % of the pixels,
# 0.01 level on average and one level at the percentile.
# float16 (autocast on GPUs without bf16) has 3 more bits than bf16 and is held to bf16's bounds
# (not measured).
_TOLERANCES = {
    "float32": OutputTolerance("float32", 2.0**-24, levels=1, share=1e-3, edit_levels=1, edit_share=1e-3,
                               refined_mean=0.01, refined_p99=1.0),
    "bfloat16": OutputTolerance("bfloat16", 2.0**-8, levels=3, share=0.25, edit_levels=2, edit_share=0.01,
                                refined_mean=1.5, refined_p99=16.0),
}
_TOLERANCES["float16"] = replace(_TOLERANCES["bfloat16"], precision="float16", rounding=2.0**-11)


def output_tolerance(precision: str | torch.dtype | None) -> OutputTolerance:
    """The tolerance two computations of the same network output may show in ``precision``: a
    name as ``precision`` gives it (``"float32"``, ``"bfloat16"``, ``"float16"``), or an autocast
    dtype (None: float32), e.g. a ``Colorizer``'s ``amp_dtype``."""
    name = precision if isinstance(precision, str) else precision_of(precision)
    if name not in _TOLERANCES:
        raise S2PError(f"no tolerance for precision {precision!r}: use one of {', '.join(_TOLERANCES)}")
    return _TOLERANCES[name]
