"""How far two computations of the same colorization may differ, in float32 and in bf16.

    PYTHONPATH=. python bench/precision_tolerance.py [--precision float32|bfloat16] [--sizes 96 128 160]
    ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2 S2P_PRECISION=bf16 PYTHONPATH=. python bench/precision_tolerance.py

The numbers behind ``runtime.output_tolerance``: over the sample data (4 sketches, the 9 styles
in three groups of three; the sample hints on the portrait), the shipped weights decode each
group as one batch and each reference alone, and the hint edits of ``tests/test_incremental.py``
level-wise and in a window against a full decode. It records the largest difference of

* the decoder's float colors (in [-1, 1]): max abs and the relative norm,
* the uint8 colors at the processing size (``render``),
* the images ``colorize`` returns (``raw``, and ``soft`` and ``flat``, whose reference colors stretch
  the draft's chroma and with it the rounding differences: their mean and 99th percentile),

and merges them into ``bench/precision_tolerance.json`` under the precision and ATen's CPU
capability (the second command above imitates an AVX2-only CPU: bf16 emulated, 19 min for all of
it on a busy 2-core CPU, against 2 min with AVX-512 BF16 and 6 min in float32).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from s2p_lab import Colorizer, Hints
from s2p_lab.runtime import hardware_bf16

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
RESULTS = ROOT / "bench" / "precision_tolerance.json"


def _point(x: float, y: float, rgb: tuple[int, int, int], radius: float = 0.02) -> dict:
    return {"x": x, "y": y, "rgb": list(rgb), "radius": radius}


BEFORE = {"points": [_point(0.3, 0.35, (200, 30, 40))]}
EDITS = [
    {"points": BEFORE["points"] + [_point(0.62, 0.55, (30, 60, 220))]},
    {"points": [_point(0.3, 0.35, (40, 200, 60))]},
    {"points": [_point(0.3, 0.35, (40, 200, 60)), _point(0.01, 0.98, (250, 220, 30))]},
    {"points": []},
]


def _levels(a, b) -> np.ndarray:
    return np.abs(np.asarray(a, np.int16) - np.asarray(b, np.int16))


class Worst:
    """Running maxima of named figures."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def add(self, name: str, value: float) -> None:
        self.values[name] = max(self.values.get(name, 0.0), float(value))


def batch_vs_single(colorizer: Colorizer, sizes: list[int], worst: Worst) -> None:
    sketches = sorted((SAMPLE / "sketches").glob("*.png"))
    styles = sorted((SAMPLE / "styles").glob("*.png"))
    groups = [styles[i : i + 3] for i in range(0, len(styles), 3)]
    for sketch in sketches:
        hints = Hints.load(SAMPLE / "hints" / "girl_hints.json") if "girl" in sketch.name else None
        for size in sizes:
            prepared = colorizer.prepare_sketch(sketch, size)
            h, w = prepared.processing_size
            if colorizer.renderer.max_batch_pixels // (h * w) < 3:
                continue  # decoded one reference at a time anyway
            hint_map = colorizer.hint_map(hints, prepared)
            for group in groups:
                codes = colorizer.encode_styles(group)
                with torch.inference_mode(), colorizer.placement.autocast():
                    hinted = colorizer.renderer.hint_features(prepared.features, colorizer.placement.to_device(hint_map))
                    batched = colorizer.renderer.decode_hinted(hinted, codes).float()
                    singles = [colorizer.renderer.decode_hinted(hinted, codes.select(slice(i, i + 1))).float()
                               for i in range(len(group))]
                for i, single in enumerate(singles):
                    a, b = batched[i : i + 1], single
                    worst.add("batch.float_max_abs", (a - b).abs().max())
                    worst.add("batch.float_rel_norm", (a - b).norm() / b.norm())
                    da = _levels(_uint8(a), _uint8(b))
                    worst.add("batch.processing_levels_max", da.max())
                    worst.add("batch.processing_share_differing", (da > 0).mean())
                for mode in ("raw", "soft", "flat"):
                    together = colorizer.colorize(sketch, group, hints=hints, size=size, mode=mode)
                    alone = [colorizer.colorize(sketch, [s], hints=hints, size=size, mode=mode)[0] for s in group]
                    for a, b in zip(together, alone):
                        d = _levels(a, b)
                        worst.add(f"batch.{mode}_levels_max", d.max())
                        worst.add(f"batch.{mode}_levels_p99", np.percentile(d, 99))
                        worst.add(f"batch.{mode}_levels_mean", d.mean())
                        worst.add(f"batch.{mode}_share_differing", (d > 0).mean())


def _uint8(rgb: torch.Tensor) -> np.ndarray:
    return rgb.float().add(1).mul(127.5).round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def edits_vs_full(bf16: bool, worst: Worst) -> None:
    """The shipped weights' hint edits, level-wise (kept levels) and in a window, against full decodes."""
    sketch, styles = SAMPLE / "sketches" / "girl_portrait.png", [SAMPLE / "styles" / "sunset.png",
                                                                   SAMPLE / "styles" / "night_sky.png"]
    full = Colorizer.from_pretrained(bf16=bf16, incremental=False)
    for kind, size in (("levelwise", 384), ("levelwise", 128), ("window", 384)):
        incremental = Colorizer(full.model, bf16=bf16)
        if kind == "window":
            incremental.renderer.max_level_cache_bytes = 0
        incremental.colorize(sketch, styles, hints=BEFORE, size=size, mode="raw")
        for hints in EDITS:
            got = incremental.colorize(sketch, styles, hints=hints, size=size, mode="raw")
            want = full.colorize(sketch, styles, hints=hints, size=size, mode="raw")
            for a, b in zip(got, want):
                d = _levels(a, b)
                worst.add(f"edit.{kind}_levels_max", d.max())
                worst.add(f"edit.{kind}_share_differing", (d > 0).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--precision", choices=["float32", "bfloat16"], default=None,
                        help="default: the library's choice (S2P_PRECISION, else the hardware)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[96, 128, 160])
    parser.add_argument("--no-edits", action="store_true")
    parser.add_argument("--json", type=Path, default=RESULTS, help="merge the figures into this file")
    args = parser.parse_args()
    bf16 = None if args.precision is None else args.precision == "bfloat16"
    start = time.perf_counter()
    colorizer = Colorizer.from_pretrained(bf16=bf16, incremental=False)
    precision = "bfloat16" if colorizer.bf16 else "float32"
    worst = Worst()
    batch_vs_single(colorizer, args.sizes, worst)
    if not args.no_edits:
        edits_vs_full(colorizer.bf16, worst)
    # ATEN_CPU_CAPABILITY=avx2 (with ONEDNN_MAX_CPU_ISA=AVX2) imitates an AVX2-only CPU: bf16 emulated
    capability = torch.backends.cpu.get_cpu_capability()
    fast = hardware_bf16(torch.device("cpu")) and not capability.startswith("AVX2")
    key = f"{precision}{' (emulated)' if colorizer.bf16 and not fast else ''} {capability}"
    results = json.loads(args.json.read_text()) if args.json.exists() else {}
    results[key] = {"sizes": args.sizes, "cpu_bf16": hardware_bf16(torch.device("cpu")), "torch": torch.__version__,
                    "seconds": round(time.perf_counter() - start, 1),
                    **{k: round(v, 6) for k, v in sorted(worst.values.items())}}
    args.json.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({key: results[key]}, indent=2))


if __name__ == "__main__":
    main()
