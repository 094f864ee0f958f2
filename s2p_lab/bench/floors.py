"""The arithmetic floor each figure is held to: the matmul peak measured beside it and the FLOPs of a
call; and the clock the timings share."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


def median_ms(samples: list[float]) -> float:
    """The median of timings in seconds, in milliseconds."""
    return round(statistics.median(samples) * 1000, 2)


def timed(fn: Callable[[], object]) -> float:
    """Seconds one call of ``fn`` takes."""
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def sync_device(device: str | torch.device | None) -> None:
    """Wait for the GPU's queued work (nothing to wait for on a CPU)."""
    import torch

    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize()


class PeakMeter:
    """Matmul rate (n^3, n = 2048; 512 with ``quick``) in fp32, in bf16 where the hardware runs it
    fast (AVX-512 BF16 or AMX CPUs, bf16 GPUs: elsewhere a bf16 matmul is emulated, hundreds of
    times slower, and nothing runs in bf16), and in fp16 on a GPU.

    ``sample()`` adds one timing of each; call it between the timed calls of a benchmark, so that
    the peak is measured under the same background load as the figures it is compared with.
    """

    def __init__(self, quick: bool = False, device: str | None = None) -> None:
        import torch

        from ..runtime import bf16_available, resolve_device

        self.device = resolve_device(device)
        self.n = 512 if quick else 2048
        dtypes = {"bf16": torch.bfloat16} if bf16_available(self.device) else {}
        dtypes["fp32"] = torch.float32
        if self.device.type == "cuda":
            dtypes["fp16"] = torch.float16
        self.operands = {}
        for name, dtype in dtypes.items():
            a = torch.randn(self.n, self.n, device=self.device).to(dtype)
            b = torch.randn(self.n, self.n, device=self.device).to(dtype)
            a @ b  # warm-up
            self.operands[name] = (a, b)
        self.samples: dict[str, list[float]] = {name: [] for name in dtypes}

    def sample(self, count: int = 1) -> None:
        for _ in range(count):
            for name, (a, b) in self.operands.items():
                sync_device(self.device)
                start = time.perf_counter()
                a @ b
                sync_device(self.device)
                self.samples[name].append(time.perf_counter() - start)

    def result(self) -> dict:
        out: dict = {"n": self.n, "samples": len(next(iter(self.samples.values())))}
        for name, samples in self.samples.items():
            out[f"{name}_gflops"] = round(2 * self.n**3 / statistics.median(samples) / 1e9, 1)
            out[f"{name}_best_gflops"] = round(2 * self.n**3 / min(samples) / 1e9, 1)
        return out


def peak_key(peaks: dict, precision: str) -> str:
    """The key in ``peaks`` of the matmul rate that work in ``precision`` ("bfloat16" or "float32")
    is held to (fp32 where no bf16 rate was measured: bf16 did not run there)."""
    return "bf16_gflops" if precision == "bfloat16" and "bf16_gflops" in peaks else "fp32_gflops"


def measure_peaks(quick: bool = False, device: str | None = None, repeats: int | None = None) -> dict:
    """Matmul rate in GFLOP/s (median and best): fp32, bf16 where fast (and fp16 on a GPU)."""
    meter = PeakMeter(quick, device)
    meter.sample(repeats or (3 if quick else 9))
    return meter.result()


def _cpu_attention_formulas() -> dict:
    """FLOP formulas for the CPU fused attention kernels, which ``FlopCounterMode`` does not count
    (it knows the CUDA ones): the same matmul FLOPs as the plain formula, whichever kernel runs."""
    import torch
    from torch.utils.flop_counter import sdpa_backward_flop_count, sdpa_flop_count

    aten = torch.ops.aten

    def forward(query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_flop_count(query, key, value)

    def backward(grad_out, query, key, value, *args, out_shape=None, **kwargs) -> int:
        return sdpa_backward_flop_count(grad_out, query, key, value)

    return {aten._scaled_dot_product_flash_attention_for_cpu: forward,
            aten._scaled_dot_product_flash_attention_for_cpu_backward: backward}


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs of one call (convolutions, matmuls, attention), from ``FlopCounterMode``."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False, custom_mapping=_cpu_attention_formulas()) as counter:
        fn()
    return int(counter.get_total_flops())
