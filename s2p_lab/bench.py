"""``s2p bench``: latency, FLOPs, peak memory and training throughput, each against the machine.

    s2p bench [--sizes 256 512 1024] [--json OUT.json] [--quick] [--repeats N] [--compile]
              [--train-sizes 128 256] [--ddp] [--threads N] [--fp32] [--profile] [--demo]

Every figure comes with its arithmetic floor: the FLOPs of the call (counted with
``torch.utils.flop_counter.FlopCounterMode``) divided by the matmul peak measured in the same
process just before (a 2048^3 bf16 and fp32 matmul, median). A ratio of 1.0 is the speed of the
arithmetic; everything above it is memory traffic, small kernels and Python.

Per processing size, in a fresh subprocess (so that peak memory does not mix between sizes):

* ``one``: one colorization with one reference, nothing cached (load, cleanup, encode, decode,
  upsample and line overlay, as a user's first call);
* ``nine_batched``: nine references in one call; ``nine_single``: nine one-reference calls,
  each from scratch; ``nine_single_cached``: nine one-reference calls on one colorizer (the
  sketch is encoded once, then cached);
* ``hint_edit``: one hint point added after a colorization (sketch, reference and the decoder's
  levels cached: each level is recomputed where the edit reaches it, ``models.incremental``);
  ``hint_edit_wide``: hints changed all over the image (the
  whole decoder runs again);
* ``stages_ms``: where the time of ``one`` goes; ``memory_mb``: peak RSS
  (``getrusage`` maxrss) of a process that loads the model and colorizes once, and of the one
  that ran everything above (nine references included).

Training, one fresh process per size: real ``Trainer.train_step`` calls on a small image folder,
images/s and the achieved rate against the bf16 matmul peak, with the minor page faults and
kernel time per step: first the generator-only step with glibc's default heap
(``generator_heap_returned``: big blocks are unmapped on free and faulted in again), then, as the
the ``s2p train`` process runs (``s2p_lab.heap.keep_heap``), the generator-only step (``generator``)
and the step with the GAN terms on (``gan``). ``--ddp``: the
same trainer as one process and as two under ``torchrun`` (gloo), images/s of each.

``--demo``: the seed demo as users run it, whole processes beside a torch import and its first and
warm calls in one process (``bench_demo``; ``s2p bench --demo --sizes --train-sizes`` runs it alone).

Timings are medians over ``--repeats``; the variants of one repeat run interleaved, so that
background load hits them alike. Ratios measured in one run are what to compare across machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

DEFAULT_SIZES = [256, 512, 1024]
DEFAULT_TRAIN_SIZES = [128, 256]
QUICK_SIZES = [64]
QUICK_TRAIN_SIZES = [32]
REFERENCES = 9
SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"

# hints of the edit scenario, as fractions of width and height
HINTS_BEFORE = {
    "points": [
        {"x": 0.25, "y": 0.30, "rgb": [220, 60, 50], "radius": 0.01},
        {"x": 0.70, "y": 0.25, "rgb": [40, 120, 220], "radius": 0.01},
        {"x": 0.50, "y": 0.78, "rgb": [60, 180, 90], "radius": 0.01},
    ]
}
HINTS_EDIT = {"points": HINTS_BEFORE["points"] + [{"x": 0.62, "y": 0.55, "rgb": [240, 200, 40], "radius": 0.01}]}
HINTS_WIDE = {
    "points": HINTS_EDIT["points"]
    + [
        {"x": 0.04, "y": 0.04, "rgb": [120, 40, 160], "radius": 0.01},
        {"x": 0.96, "y": 0.96, "rgb": [250, 150, 180], "radius": 0.01},
    ]
}

TARGETS = {
    "one_512_vs_floor": ("<=", 1.3, "one 512 px colorization / its arithmetic floor at the matmul peak of its precision"),
    "nine_vs_nine_single_512": ("<=", 0.7, "nine references in one call / nine single calls, 512 px"),
    "hint_edit_vs_one_512": ("<=", 0.3, "hint edit / full colorization, 512 px"),
    "refinement_share_512": ("<=", 0.15, "what the region refinement (default mode) adds to a 512 px colorization"),
    "peak_rss_1024_mb": ("<", 1500.0, "peak RSS of a process colorizing at 1024 px (one reference, an edit, nine), MB"),
    # the key keeps its name; without fast bf16 the step runs (and is compared) in float32
    "train_256_vs_bf16_peak": (">=", 0.6, "training step at 256 px, achieved FLOP rate / matmul peak of its precision (bf16 where fast)"),
}


# ============================================================================ command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``s2p bench``."""
    parser.add_argument("--sizes", type=int, nargs="*", default=None, metavar="PX",
                        help=f"processing sizes (default {' '.join(map(str, DEFAULT_SIZES))}; --quick: 64; none: skip)")
    parser.add_argument("--json", dest="json_out", default=None, metavar="OUT.json", help="write all results here")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one repeat: checks that the bench runs")
    parser.add_argument("--repeats", type=int, default=None, help="timed repeats per figure (default 5; --quick: 1)")
    parser.add_argument("--compile", action="store_true", help="also measure torch.compile (compile time, speed)")
    parser.add_argument("--train-sizes", type=int, nargs="*", default=None, metavar="PX",
                        help="training crop sizes (default 128 256; --quick: 32; none: skip training)")
    parser.add_argument("--train-batch", type=int, default=None, help="training batch (default 16; --quick: 2)")
    parser.add_argument("--ddp", action="store_true", help="also measure one vs two training processes (torchrun)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads per process (default: torch's)")
    parser.add_argument("--fp32", action="store_true", help="measure the float32 path (as on CPUs without bf16)")
    parser.add_argument("--backend", choices=["torch", "onnxruntime"], default="torch",
                        help="colorizer backend (onnxruntime: float32, needs onnx and onnxruntime)")
    parser.add_argument("--profile", action="store_true", help="add torch.profiler op tables (one, wide hint edit)")
    parser.add_argument("--weights", default=None, help="weights folder or .safetensors (default: shipped)")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: auto)")
    parser.add_argument("--demo", action="store_true",
                        help="also time the seed demo as users run it: whole processes beside a torch import, "
                             "and its first and warm calls in one process (s2p_lab.bench_demo)")
    parser.add_argument("--no-progress", action="store_true")


def run(args: argparse.Namespace) -> int:
    """Run the benchmark; print a table; write JSON if asked. 0 when every part ran."""
    from tqdm.auto import tqdm

    from .errors import S2PError

    quick = bool(args.quick)
    sizes = args.sizes if args.sizes is not None else (QUICK_SIZES if quick else DEFAULT_SIZES)
    train_sizes = args.train_sizes if args.train_sizes is not None else (QUICK_TRAIN_SIZES if quick else DEFAULT_TRAIN_SIZES)
    repeats = args.repeats or (1 if quick else 5)
    batch = args.train_batch or (2 if quick else 16)
    if repeats < 1 or batch < 1:
        raise S2PError("--repeats and --train-batch must be at least 1")
    for size in sizes:
        if not 64 <= size <= 2048:
            raise S2PError(f"--sizes: {size} is outside 64..2048")
    for size in train_sizes:
        if size < 32 or size % 8:
            raise S2PError(f"--train-sizes: {size} must be a multiple of 8, at least 32")

    spec = {
        "repeats": repeats,
        "quick": quick,
        "compile": bool(args.compile),
        "threads": args.threads,
        "fp32": bool(args.fp32),
        "backend": args.backend,
        "profile": bool(args.profile),
        "weights": str(args.weights) if args.weights else None,
        "device": args.device,
    }
    result: dict = {
        "command": "s2p bench " + " ".join(_argv_of(args)),
        "settings": {**spec, "sizes": sizes, "train_sizes": train_sizes, "train_batch": batch, "references": REFERENCES},
        "machine": _machine(),
        "background": _background(),
    }
    jobs = [f"size {s}" for s in sizes] + [f"memory {s}" for s in sizes]
    jobs += ["training"] if train_sizes else []
    jobs += ["ddp"] if args.ddp else []
    jobs += ["demo"] if args.demo else []
    errors = []
    with tempfile.TemporaryDirectory(prefix="s2p-bench-") as tmp:
        work = Path(tmp)
        images = _write_images(work / "images", sizes, quick)
        bar = tqdm(jobs, desc="bench", unit="job", disable=args.no_progress)
        for job in bar:
            bar.set_postfix_str(job)
            kind, _, value = job.partition(" ")
            try:
                if kind == "size":
                    out = _child(work, {**spec, "mode": "latency", "size": int(value), "images": images})
                    result.setdefault("sizes", {})[value] = out
                elif kind == "memory":
                    out = _child(work, {**spec, "mode": "memory", "size": int(value), "images": images})
                    entry = result.setdefault("sizes", {}).setdefault(value, {})
                    entry.setdefault("memory_mb", {}).update(out)
                elif kind == "training":  # one process per size: the kept heap cannot be undone
                    training = result.setdefault("training", {})
                    for train_size in train_sizes:
                        out = _child(work, {**spec, "mode": "train", "train_sizes": [train_size], "batch": batch,
                                            "images": images})
                        peaks = out.pop("peaks")
                        training.update(out)
                        training.setdefault("peaks_per_size", {})[str(train_size)] = peaks
                elif kind == "ddp":
                    result["ddp"] = _ddp(work, images, spec, batch, quick)
                elif kind == "demo":
                    from .bench_demo import measure_demo

                    result["demo"] = measure_demo(repeats, progress=not args.no_progress, float32=bool(args.fp32))
            except _ChildError as exc:
                errors.append(f"{job}: {exc}")
                result.setdefault("errors", []).append(f"{job}: {exc}")
                bar.write(f"s2p bench: {job} failed: {exc}", file=sys.stderr)
        bar.close()
    for entry in result.get("sizes", {}).values():
        _derive(entry)
    result["targets"] = _targets(result)
    print(format_table(result))
    if "demo" in result:
        from .bench_demo import format_demo

        print(format_demo(result["demo"]))
    if result.get("sizes"):
        print("peak: bf16 (fp32 for a float32 run) matmul GFLOP/s measured between the timed calls; "
              "x floor: time / (FLOPs / peak)")
    if args.json_out:
        path = Path(args.json_out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path}")
    return 1 if errors else 0


def _argv_of(args: argparse.Namespace) -> list[str]:
    out = []
    if args.sizes is not None:
        out += ["--sizes", *map(str, args.sizes)]
    if args.quick:
        out.append("--quick")
    if args.repeats:
        out += ["--repeats", str(args.repeats)]
    if args.compile:
        out.append("--compile")
    if args.train_sizes is not None:
        out += ["--train-sizes", *map(str, args.train_sizes)]
    if args.train_batch:
        out += ["--train-batch", str(args.train_batch)]
    for flag in ("ddp", "fp32", "profile", "demo"):
        if getattr(args, flag):
            out.append(f"--{flag}")
    if args.threads:
        out += ["--threads", str(args.threads)]
    if args.backend != "torch":
        out += ["--backend", args.backend]
    if args.json_out:
        out += ["--json", str(args.json_out)]
    return out


# ============================================================================ machine and load


def _machine() -> dict:
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "avx512_bf16": bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()),
        "amx": bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)()),
        "python": platform.python_version(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _background() -> dict:
    """What else the machine was doing: load average and whether a training run was going."""
    out: dict = {}
    try:
        out["loadavg"] = [float(v) for v in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        pass
    try:
        found = subprocess.run(["pgrep", "-f", "s2p_lab.cli train"], capture_output=True, text=True, timeout=10)
        out["training_running"] = bool(found.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return out


# ============================================================================ images


def _write_images(folder: Path, sizes: list[int], quick: bool) -> dict:
    """A sketch per size (1.5x the processing size), nine references and a training folder."""
    import cv2

    from .imageio import load_image, save_image

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sketch_files = sorted((SAMPLE_DATA / "sketches").glob("*.png"))
    style_files = sorted((SAMPLE_DATA / "styles").glob("*.png"))
    base = load_image(sketch_files[0], mode="RGB") if sketch_files else None
    out: dict = {"sketches": {}, "styles": [], "train": str(folder / "train")}
    for size in sizes:
        side = size * 3 // 2
        sketch = cv2.resize(base, (side, side), interpolation=cv2.INTER_AREA if base.shape[0] > side else cv2.INTER_CUBIC) \
            if base is not None else synthetic_sketch(side, rng)
        out["sketches"][str(size)] = str(save_image(sketch, folder / f"sketch-{size}.png"))
    for i in range(REFERENCES):
        if style_files:
            ref = load_image(style_files[i % len(style_files)], mode="RGB")
            if i >= len(style_files):  # more references than sample styles: a hue-shifted copy
                hsv = cv2.cvtColor(ref, cv2.COLOR_RGB2HSV)
                hsv[..., 0] = (hsv[..., 0].astype(int) + 30 * (i // len(style_files))) % 180
                ref = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
        else:
            ref = synthetic_reference(256, rng)
        out["styles"].append(str(save_image(ref, folder / f"style-{i}.png")))
    train = folder / "train"
    for i in range(6 if quick else 16):
        image = synthetic_reference(160 if quick else 320, rng)
        cv2.polylines(image, [rng.integers(0, image.shape[0], (6, 2)).astype(np.int32)], False, (20, 20, 20), 2, cv2.LINE_AA)
        save_image(image, train / f"illustration-{i:02d}.png")
    return out


def synthetic_sketch(side: int, rng: np.random.Generator) -> np.ndarray:
    """Black anti-aliased curves and ellipses on white (uint8 HxW)."""
    import cv2

    canvas = np.full((side, side), 255, np.uint8)
    thickness = max(1, side // 300)
    for _ in range(14):
        center = tuple(int(v) for v in rng.integers(side // 8, side * 7 // 8, 2))
        axes = tuple(int(v) for v in rng.integers(side // 20, side // 4, 2))
        cv2.ellipse(canvas, center, axes, float(rng.uniform(0, 180)), 0, 360, 0, thickness, cv2.LINE_AA)
    for _ in range(10):
        pts = np.cumsum(rng.normal(0, side / 25, (12, 2)), axis=0) + rng.integers(0, side, 2)
        cv2.polylines(canvas, [pts.astype(np.int32)], False, 0, thickness, cv2.LINE_AA)
    return canvas


def synthetic_reference(side: int, rng: np.random.Generator) -> np.ndarray:
    """A smooth random color field with a few colored discs (uint8 HxWx3)."""
    import cv2

    grid = rng.integers(0, 256, (4, 4, 3)).astype(np.uint8)
    image = cv2.resize(grid, (side, side), interpolation=cv2.INTER_CUBIC)
    for _ in range(6):
        center = tuple(int(v) for v in rng.integers(0, side, 2))
        color = tuple(int(v) for v in rng.integers(0, 256, 3))
        cv2.circle(image, center, int(rng.integers(side // 16, side // 5)), color, -1, cv2.LINE_AA)
    return image


# ============================================================================ subprocesses


class _ChildError(RuntimeError):
    pass


def _child(work: Path, spec: dict, timeout: float = 3600) -> dict:
    """Run one measurement in a fresh Python process; return its JSON result."""
    out = work / f"child-{time.monotonic_ns()}.json"
    spec = {**spec, "out": str(out)}
    env = _child_env()
    if spec.get("threads"):
        env["OMP_NUM_THREADS"] = str(spec["threads"])
    cmd = [sys.executable, "-m", "s2p_lab.bench", "--child", json.dumps(spec)]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise _ChildError(f"timed out after {timeout:.0f} s") from None
    if done.returncode != 0 or not out.exists():
        tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise _ChildError(f"exit {done.returncode}: {' | '.join(tail)}")
    return json.loads(out.read_text())


def _child_env() -> dict:
    """The environment of a child process: this copy of ``s2p_lab`` first on its path."""
    env = dict(os.environ)
    here = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = here + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _child_main(spec: dict) -> int:
    import torch

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    mode = spec["mode"]
    if mode == "peaks":
        result = measure_peaks(quick=spec["quick"], device=spec.get("device"))
    elif mode == "latency":
        result = _measure_size(spec)
    elif mode == "memory":
        result = _measure_memory(spec)
    elif mode == "train":
        result = _measure_training(spec)
    else:
        raise ValueError(f"unknown child mode {mode!r}")
    Path(spec["out"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


def _maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024, 1)


def _current_rss_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


# ============================================================================ measurements


def _median_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 2)


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _sync(device) -> None:
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

        from .runtime import bf16_available, resolve_device

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
                _sync(self.device)
                start = time.perf_counter()
                a @ b
                _sync(self.device)
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


def _load_colorizer(spec: dict, **kwargs):
    from .colorizer import Colorizer

    bf16 = False if spec.get("fp32") else None
    backend = spec.get("backend") or "torch"
    return Colorizer.from_pretrained(spec.get("weights"), device=spec.get("device"), bf16=bf16, backend=backend, **kwargs)


def _measure_memory(spec: dict) -> dict:
    """Peak RSS of a fresh process: model loaded, one colorization, a hint edit, nine references."""
    size, images = spec["size"], spec["images"]
    sketch, style = images["sketches"][str(size)], images["styles"][0]
    colorizer = _load_colorizer(spec)
    loaded = _maxrss_mb()
    colorizer.colorize(sketch, [style], hints=HINTS_BEFORE, size=size)
    one = _maxrss_mb()
    colorizer.colorize(sketch, [style], hints=HINTS_EDIT, size=size)
    one_and_edit = _maxrss_mb()
    colorizer.colorize(sketch, images["styles"][:REFERENCES], hints=HINTS_EDIT, size=size)
    return {"loaded": loaded, "one": one, "one_and_edit": one_and_edit, "nine": _maxrss_mb()}


def _measure_size(spec: dict) -> dict:
    """Latency, FLOPs and stage times of every scenario at one processing size."""
    import torch

    from .imageio import load_image
    from .sketch import cleanup_sketch

    size, images, repeats = spec["size"], spec["images"], spec["repeats"]
    sketch, styles = images["sketches"][str(size)], images["styles"][:REFERENCES]
    device = spec.get("device")
    started = time.perf_counter()
    colorizer = _load_colorizer(spec)
    load_s = time.perf_counter() - started
    out: dict = {"load_s": round(load_s, 2), "precision": str(colorizer.amp_dtype or torch.float32).replace("torch.", "")}
    meter = PeakMeter(quick=spec["quick"], device=device)
    meter.sample(2)

    def one(c=colorizer, hints=HINTS_BEFORE):
        c.clear_cache()
        c.colorize(sketch, [styles[0]], hints=hints, size=size)

    def network_only(c=colorizer, hints=HINTS_BEFORE):
        # what ``one`` cost before regions existed: hints as drawn, no refinement
        c.clear_cache()
        reach, c.hint_reach = c.hint_reach, 0
        try:
            c.colorize(sketch, [styles[0]], hints=hints, size=size, mode="raw")
        finally:
            c.hint_reach = reach

    def edit(c=colorizer):
        c.colorize(sketch, [styles[0]], hints=HINTS_EDIT, size=size)

    def wide(c=colorizer):
        c.colorize(sketch, [styles[0]], hints=HINTS_WIDE, size=size)

    def nine(c=colorizer):
        c.clear_cache()
        c.colorize(sketch, styles, hints=HINTS_BEFORE, size=size)

    def nine_single(c=colorizer):
        for style in styles:
            c.clear_cache()
            c.colorize(sketch, [style], hints=HINTS_BEFORE, size=size)

    def nine_single_cached(c=colorizer):
        c.clear_cache()
        for style in styles:
            c.colorize(sketch, [style], hints=HINTS_BEFORE, size=size)

    one()  # warm-up: oneDNN primitives, allocator
    nine()
    times: dict[str, list[float]] = {k: [] for k in ("one", "one_network_only", "hint_edit", "hint_edit_wide", "nine_batched", "nine_single", "nine_single_cached")}
    for _ in range(repeats):
        times["one_network_only"].append(_timed(network_only))
        times["one"].append(_timed(one))
        times["hint_edit"].append(_timed(edit))  # right after ``one``: everything but the edit is cached
        times["hint_edit_wide"].append(_timed(wide))
        times["nine_batched"].append(_timed(nine))
        times["nine_single"].append(_timed(nine_single))
        times["nine_single_cached"].append(_timed(nine_single_cached))
        _sync(device)
        meter.sample(2)
    out["peaks"] = meter.result()
    out["latency_ms"] = {k: _median_ms(v) for k, v in times.items()}
    out["latency_samples_ms"] = {k: [round(t * 1000, 1) for t in v] for k, v in times.items()}

    # FLOPs. The counter's module hooks make the colorizer decode in full and cache nothing, so
    # the edit is counted as what the incremental path runs: level by level, each decoder level
    # over the region the edit changes there (or, where the levels are not kept, the hint stage
    # and the decoder over the edit's window).
    from .colorizer import changed_box

    flops = {"one": count_flops(one)}
    flops["one_network_only"] = count_flops(network_only)
    flops["hint_edit_wide"] = count_flops(wide)
    flops["nine_batched"] = count_flops(nine)
    flops["nine_single"] = 9 * flops["one"]
    flops["nine_single_cached"] = count_flops(nine_single_cached)
    prepared = colorizer.prepare_sketch(sketch, size)
    codes = colorizer.encode_styles([styles[0]])
    h, w = prepared.processing_size
    before, after = colorizer.hint_map(HINTS_BEFORE, prepared), colorizer.hint_map(HINTS_EDIT, prepared)
    box = changed_box(before, after)
    plan = colorizer.edit_plan(prepared, box)
    if colorizer.keeps_levels(prepared, 1) and plan.output_share <= colorizer.max_incremental_share:
        _, levels = colorizer.decode_levels(prepared, before, codes)
        flops["hint_edit"] = count_flops(lambda: colorizer.redecode(prepared, after, codes, levels, plan))
        share = plan.output_share
    else:
        window = colorizer.edit_window(box, h, w)
        flops["hint_edit"] = count_flops(lambda: colorizer.decode_window(prepared, after, codes, window and window[0], True))
        share = (window[0][1] - window[0][0]) * (window[0][3] - window[0][2]) / (h * w) if window else 1.0
    out["gflop"] = {k: round(v / 1e9, 3) for k, v in flops.items()}
    out["processing_size"] = [h, w]
    out["original_size"] = list(prepared.original_size)
    out["hint_edit_window_share"] = round(share, 3)  # of the colors recomputed
    out["receptive_radius_px"] = colorizer.receptive_radius

    # where the time of ``one`` goes
    stages: dict[str, list[float]] = {k: [] for k in ("load_image", "cleanup", "prepare_sketch", "encode_styles", "hint_map", "render", "finish")}
    for _ in range(repeats):
        colorizer.clear_cache()
        t0 = time.perf_counter()
        rgb_in = load_image(sketch, mode="RGB")
        t1 = time.perf_counter()
        cleanup_sketch(rgb_in)
        t2 = time.perf_counter()
        prepared = colorizer.prepare_sketch(sketch, size)
        _sync(device)
        t3 = time.perf_counter()
        codes = colorizer.encode_styles([styles[0]])
        _sync(device)
        t4 = time.perf_counter()
        hint_map = colorizer.hint_map(HINTS_BEFORE, prepared)
        t5 = time.perf_counter()
        rgb = colorizer.render(prepared, hint_map, codes)
        t6 = time.perf_counter()
        colorizer.finish(prepared, rgb[0])
        t7 = time.perf_counter()
        for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6)):
            stages[key].append(value)
    out["stages_ms"] = {k: _median_ms(v) for k, v in stages.items()}
    with torch.inference_mode():
        out["gflop_stages"] = {
            "encode_sketch": round(count_flops(lambda: colorizer.inference_model.generator.encode_sketch(prepared.tensor.to(colorizer.device))) / 1e9, 3),
            "decode": round(count_flops(lambda: colorizer.decode_window(prepared, hint_map, codes, None, True)) / 1e9, 3),
        }

    if spec.get("compile"):
        out["compiled"] = _measure_compiled(spec, sketch, styles, size, repeats, times)
    if spec.get("profile"):
        out["profile"] = _profile(colorizer, sketch, styles[0], size)
    out["memory_mb"] = {"bench_process": _maxrss_mb()}  # everything above, instrumentation included
    return out


def _measure_compiled(spec: dict, sketch: str, styles: list[str], size: int, repeats: int, eager_times: dict) -> dict:
    """torch.compile: time of the first calls (compilation) and steady-state latency."""
    compiled = _load_colorizer(spec, compile=True)
    out: dict = {}
    start = time.perf_counter()
    compiled.colorize(sketch, [styles[0]], hints=HINTS_BEFORE, size=size)
    out["first_call_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    compiled.colorize(sketch, [styles[0]], hints=HINTS_EDIT, size=size)
    out["first_edit_s"] = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    compiled.colorize(sketch, styles, hints=HINTS_BEFORE, size=size)
    out["first_nine_s"] = round(time.perf_counter() - start, 2)
    times: dict[str, list[float]] = {"one": [], "hint_edit": [], "hint_edit_wide": [], "nine_batched": []}
    for _ in range(repeats):
        compiled.clear_cache()
        times["one"].append(_timed(lambda: compiled.colorize(sketch, [styles[0]], hints=HINTS_BEFORE, size=size)))
        times["hint_edit"].append(_timed(lambda: compiled.colorize(sketch, [styles[0]], hints=HINTS_EDIT, size=size)))
        times["hint_edit_wide"].append(_timed(lambda: compiled.colorize(sketch, [styles[0]], hints=HINTS_WIDE, size=size)))
        compiled.clear_cache()
        times["nine_batched"].append(_timed(lambda: compiled.colorize(sketch, styles, hints=HINTS_BEFORE, size=size)))
    out["latency_ms"] = {k: _median_ms(v) for k, v in times.items()}
    eager_one = statistics.median(eager_times["one"])
    saved = eager_one - statistics.median(times["one"])
    compile_s = out["first_call_s"] - statistics.median(times["one"])
    out["compile_s"] = round(compile_s, 2)
    out["speedup_one"] = round(eager_one / statistics.median(times["one"]), 3)  # > 1: compiled is faster
    # calls of ``one`` after which the compile time is won back (None: never, compiled is not faster)
    out["pays_after_calls"] = round(compile_s / saved, 1) if saved > 0 else None
    return out


def _profile(colorizer, sketch: str, style: str, size: int, rows: int = 15) -> dict:
    """Self time per op type (torch.profiler) of one fresh colorization and of a wide hint edit."""
    from torch.profiler import ProfilerActivity, profile

    out = {}
    for name, fn in (
        ("one", lambda: (colorizer.clear_cache(), colorizer.colorize(sketch, [style], hints=HINTS_BEFORE, size=size))),
        ("hint_edit_wide", lambda: colorizer.colorize(sketch, [style], hints=HINTS_WIDE, size=size)),
    ):
        if name == "hint_edit_wide":
            colorizer.colorize(sketch, [style], hints=HINTS_EDIT, size=size)
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            fn()
        events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
        total = sum(e.self_cpu_time_total for e in events) or 1
        out[name] = {
            "total_ms": round(total / 1000, 1),
            "ops": [
                {"op": e.key, "self_ms": round(e.self_cpu_time_total / 1000, 2), "share": round(e.self_cpu_time_total / total, 3), "calls": e.count}
                for e in events[:rows]
            ],
        }
    return out


def _measure_training(spec: dict) -> dict:
    """Real ``Trainer.train_step`` calls: generator only, and with the GAN terms on."""
    import torch

    from .heap import glibc_mallopt, keep_heap
    from .train import TrainConfig, Trainer

    meter = PeakMeter(quick=spec["quick"], device=spec.get("device"))
    meter.sample(2)
    out: dict = {}
    precisions: dict[str, str] = {}
    steps = 1 if spec["quick"] else max(3, spec["repeats"])
    for size in spec["train_sizes"]:
        with tempfile.TemporaryDirectory(prefix="s2p-bench-train-") as tmp:
            config = TrainConfig(data=spec["images"]["train"], out=tmp, steps=10**6, size=size, batch=spec["batch"],
                                 warmup=1, gan_start=10**5, bf16=False if spec.get("fp32") else None,
                                 keep_heap=False)
            trainer = Trainer(config, progress=False)
            loader = iter(trainer.loader())
            started = time.perf_counter()
            batches = [next(loader) for _ in range(steps + 1)]
            data_s = (time.perf_counter() - started) / len(batches)
            entry: dict = {"batch": spec["batch"], "bf16": trainer.bf16, "data_ms_per_batch": round(data_s * 1000, 1)}
            precisions[str(size)] = "bfloat16" if trainer.bf16 else "float32"
            phases = [("generator_heap_returned", 0), ("generator", 0), ("gan", 2 * config.gan_start)]
            if spec["quick"] or glibc_mallopt() is None:
                phases = phases[1:]  # nothing to compare with where the heap cannot be kept
            for phase, step in phases:
                if phase == "generator":
                    entry["heap_kept"] = keep_heap()  # from here on, as the ``s2p train`` process runs
                trainer.step = step
                trainer.train_step(batches[0])  # warm-up
                samples, kernel, faults = [], [], []
                for b in batches[1:]:
                    before = resource.getrusage(resource.RUSAGE_SELF)
                    samples.append(_timed(lambda b=b: trainer.train_step(b)))
                    after = resource.getrusage(resource.RUSAGE_SELF)
                    kernel.append(after.ru_stime - before.ru_stime)
                    faults.append(after.ru_minflt - before.ru_minflt)
                    meter.sample()
                flops = count_flops(lambda: trainer.train_step(batches[0]))
                seconds = statistics.median(samples)
                entry[phase] = {"step_ms": round(seconds * 1000, 1), "images_per_s": round(spec["batch"] / seconds, 2),
                                "gflop_per_step": round(flops / 1e9, 2), "achieved_gflops": round(flops / seconds / 1e9, 1),
                                # time in the kernel (mostly zero-filling fresh pages) and minor page faults, per step
                                "kernel_ms": _median_ms(kernel), "page_faults": int(statistics.median(faults))}
            del trainer
            torch.set_grad_enabled(True)
        out[str(size)] = entry
    out["peaks"] = meter.result()
    for key, entry in out.items():
        if key == "peaks":
            continue
        for phase in ("generator", "gan", "generator_heap_returned"):
            if phase not in entry:
                continue
            rate = entry[phase]["achieved_gflops"]
            entry[phase]["ratio_to_peak"] = round(rate / out["peaks"][peak_key(out["peaks"], precisions[key])], 3)
            if "bf16_gflops" in out["peaks"]:
                entry[phase]["ratio_to_bf16_peak"] = round(rate / out["peaks"]["bf16_gflops"], 3)
            entry[phase]["ratio_to_fp32_peak"] = round(rate / out["peaks"]["fp32_gflops"], 3)
    return out


def _ddp(work: Path, images: dict, spec: dict, batch: int, quick: bool) -> dict:
    """Images/s of ``python -m s2p_lab.train``: one process (one thread, then all), and two
    processes under ``torchrun`` (gloo, one thread each); the same batch per process."""
    size = 32 if quick else 128
    steps = 3 if quick else 8
    per_process = batch if quick else max(1, batch // 2)
    cores = os.cpu_count() or 2
    out: dict = {"size": size, "batch_per_process": per_process, "steps": steps}
    common = ["--data", images["train"], "--steps", str(steps), "--size", str(size), "--batch", str(per_process),
              "--log-every", "1", "--checkpoint-every", "100000", "--sample-every", "100000", "--no-progress",
              "--gan-start", "100000"]
    if spec.get("fp32"):
        common.append("--fp32")
    single = [sys.executable, "-m", "s2p_lab.train"]
    runs = {
        "one_process_one_thread": (single, 1, 1),
        "one_process": (single, 1, cores),
        "two_processes": ([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                           "-m", "s2p_lab.train"], 2, max(1, cores // 2)),
    }
    for name, (cmd, world, threads) in runs.items():
        run_dir = work / f"ddp-{name}"
        env = _child_env()
        env["OMP_NUM_THREADS"] = str(threads)
        started = time.perf_counter()
        done = subprocess.run(cmd + common + ["--out", str(run_dir)], capture_output=True, text=True, env=env, timeout=3600)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise _ChildError(f"{name}: exit {done.returncode}: {' | '.join(done.stderr.strip().splitlines()[-3:])}")
        records = [json.loads(line) for line in (run_dir / "log.jsonl").read_text().splitlines() if line.strip()]
        first, last = records[0], records[-1]  # the first step (warm-up) is left out
        seconds = max(last["seconds"] - first["seconds"], 1e-6)
        out[name] = {
            "images_per_s": round((last["step"] - first["step"]) * per_process * world / seconds, 2),
            "processes": world,
            "threads_per_process": threads,
            "wall_s": round(wall, 1),
        }
        shutil.rmtree(run_dir, ignore_errors=True)
    base = out["one_process"]["images_per_s"]
    out["speedup_two_processes_vs_one"] = round(out["two_processes"]["images_per_s"] / base, 2)
    out["speedup_all_threads_vs_one_thread"] = round(base / out["one_process_one_thread"]["images_per_s"], 2)
    return out


# ============================================================================ derived figures


def _derive(entry: dict) -> None:
    """Floors and ratios of one size entry, from its FLOPs and the peaks measured beside them."""
    if "gflop" not in entry or "latency_ms" not in entry:
        return
    entry["peak_used"] = peak_key(entry["peaks"], entry.get("precision", "bfloat16"))
    peak = entry["peaks"][entry["peak_used"]]
    entry["floor_ms"] = {k: round(v / peak * 1000, 2) for k, v in entry["gflop"].items()}
    entry["ratio_to_floor"] = {
        k: round(entry["latency_ms"][k] / entry["floor_ms"][k], 2) for k in entry["latency_ms"] if entry["floor_ms"].get(k)
    }
    lat = entry["latency_ms"]
    samples = entry.get("latency_samples_ms") or {}

    def ratio(a: str, b: str) -> float | None:
        """``a`` over ``b``: the median of the per-repeat ratios (each repeat times every scenario
        back to back, so a busy moment of the shared machine slows both), else of the medians."""
        if not lat.get(a) or not lat.get(b):
            return None
        pairs = [x / y for x, y in zip(samples.get(a, []), samples.get(b, [])) if y > 0]
        return round(statistics.median(pairs) if pairs else lat[a] / lat[b], 3)

    share = ratio("one", "one_network_only")
    entry["ratios"] = {
        "nine_vs_nine_single": ratio("nine_batched", "nine_single"),
        "nine_vs_nine_single_cached": ratio("nine_batched", "nine_single_cached"),
        "hint_edit_vs_one": ratio("hint_edit", "one"),
        "refinement_share": None if share is None else round(share - 1, 3),
        "hint_edit_wide_vs_one": ratio("hint_edit_wide", "one"),
        "gflop_nine_vs_nine_single": round(entry["gflop"]["nine_batched"] / entry["gflop"]["nine_single"], 3),
        "gflop_hint_edit_wide_vs_one": round(entry["gflop"]["hint_edit_wide"] / entry["gflop"]["one"], 3),
    }
    if "compiled" in entry and "latency_ms" in entry["compiled"]:
        entry["compiled"]["ratio_to_floor"] = {
            k: round(v / entry["floor_ms"][k], 2) for k, v in entry["compiled"]["latency_ms"].items() if entry["floor_ms"].get(k)
        }


def _targets(result: dict) -> dict:
    sizes = result.get("sizes", {})
    values: dict[str, float | None] = {k: None for k in TARGETS}
    s512 = sizes.get("512", {})
    if "ratio_to_floor" in s512:
        values["one_512_vs_floor"] = s512["ratio_to_floor"]["one"]
        values["nine_vs_nine_single_512"] = s512["ratios"]["nine_vs_nine_single"]
        values["hint_edit_vs_one_512"] = s512["ratios"]["hint_edit_vs_one"]
        values["refinement_share_512"] = s512["ratios"].get("refinement_share")
    memory = sizes.get("1024", {}).get("memory_mb", {})
    if memory:
        values["peak_rss_1024_mb"] = max(v for k, v in memory.items() if k in ("one", "one_and_edit", "nine"))
    train = result.get("training", {}).get("256", {}).get("generator")
    if train:
        values["train_256_vs_bf16_peak"] = train.get("ratio_to_peak", train.get("ratio_to_bf16_peak"))
    out = {}
    for name, (op, bound, what) in TARGETS.items():
        value = values[name]
        met = None if value is None else (value <= bound if op == "<=" else value < bound if op == "<" else value >= bound)
        out[name] = {"value": value, "target": f"{op} {bound}", "met": met, "what": what}
    return out


# ============================================================================ table


def format_table(result: dict) -> str:
    """A short text table of the results (what ``run`` prints)."""
    lines = []
    bg = result.get("background", {})
    if bg.get("training_running") or (bg.get("loadavg") and bg["loadavg"][0] > (result["machine"]["cores"] or 1) / 2):
        lines.append(f"note: machine busy during the run (load {bg.get('loadavg')}, training running: {bg.get('training_running')})")
    header = f"{'size':>5} {'peak':>5} {'GFLOP':>7} {'one ms':>8} {'net ms':>7} {'x floor':>7} {'nine ms':>8} {'9 single':>9} {'ratio':>6} " \
             f"{'edit ms':>8} {'ratio':>6} {'wide ms':>8} {'RSS 1/9 MB':>13}"
    lines.append(header)
    for size, e in result.get("sizes", {}).items():
        if "latency_ms" not in e:
            continue
        lat, mem = e["latency_ms"], e.get("memory_mb", {})
        lines.append(
            f"{size:>5} {e['peaks'][e['peak_used']]:>5.0f} {e['gflop']['one']:>7.1f} {lat['one']:>8.1f} {lat.get('one_network_only', float('nan')):>7.1f} {e['ratio_to_floor']['one']:>7.2f} {lat['nine_batched']:>8.1f} "
            f"{lat['nine_single']:>9.1f} {e['ratios']['nine_vs_nine_single']:>6.2f} {lat['hint_edit']:>8.1f} "
            f"{e['ratios']['hint_edit_vs_one']:>6.2f} {lat['hint_edit_wide']:>8.1f} "
            f"{mem.get('one', float('nan')):>6.0f}/{mem.get('nine', float('nan')):<6.0f}"
        )
        if "compiled" in e:
            c = e["compiled"]
            lines.append(f"{'':>5} compiled: one {c['latency_ms']['one']:.1f} ms (x{c['ratio_to_floor'].get('one', float('nan')):.2f} floor), "
                         f"edit {c['latency_ms']['hint_edit']:.1f}, wide {c['latency_ms']['hint_edit_wide']:.1f}, nine {c['latency_ms']['nine_batched']:.1f}; "
                         f"compile {c['compile_s']:.1f} s, " + (f"pays after {c['pays_after_calls']} calls" if c.get("pays_after_calls")
                                                                  else "never pays (not faster)"))
    training = result.get("training", {})
    for size, e in training.items():
        if not size.isdigit():  # "peaks_per_size"
            continue
        g, d = e["generator"], e["gan"]
        lines.append(f"train {size:>4} px batch {e['batch']}: {g['images_per_s']:.2f} img/s ({g['achieved_gflops']:.0f} GFLOP/s, "
                     f"{g['ratio_to_peak']:.2f} of {'bf16' if e['bf16'] else 'fp32'} peak); with GAN {d['images_per_s']:.2f} img/s ({d['ratio_to_peak']:.2f})")
        if "kernel_ms" in g:
            line = f"{'':>10} page faults {g['page_faults']:,}/step, {g['kernel_ms']:.0f} ms/step in the kernel"
            k = e.get("generator_heap_returned")
            if k:
                line += (f"; with glibc's default heap: {k['images_per_s']:.2f} img/s ({k['ratio_to_peak']:.2f} of peak, "
                         f"{k['page_faults']:,} faults, {k['kernel_ms']:.0f} ms in the kernel)")
            lines.append(line)
    ddp = result.get("ddp")
    if ddp:
        lines.append(f"ddp {ddp['size']} px, batch {ddp['batch_per_process']}/process: one process "
                     f"{ddp['one_process_one_thread']['images_per_s']} img/s (1 thread), {ddp['one_process']['images_per_s']} img/s "
                     f"({ddp['one_process']['threads_per_process']} threads); two processes {ddp['two_processes']['images_per_s']} img/s "
                     f"(x{ddp['speedup_two_processes_vs_one']})")
    for name, t in result.get("targets", {}).items():
        mark = {True: "met", False: "NOT met", None: "not measured"}[t["met"]]
        lines.append(f"target {name}: {t['value']} (target {t['target']}): {mark}")
    return "\n".join(lines)


# ============================================================================ entry points


def main(argv: list[str] | None = None) -> int:
    """``python -m s2p_lab.bench``: the same as ``s2p bench`` (and the child processes' entry)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child_main(json.loads(argv[1]))
    from .commands import Parser, guarded

    parser = Parser(prog="python -m s2p_lab.bench", description="Benchmark s2p-lab colorization and training.")
    add_arguments(parser)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    return guarded(lambda: run(args), debug=args.debug)


if __name__ == "__main__":
    raise SystemExit(main())
