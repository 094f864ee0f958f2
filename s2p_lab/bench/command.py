"""``s2p bench``'s options and its run: which measurement runs in which fresh process, the machine
and its load beside the figures, the table and the JSON; and the entry of those processes."""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

from .floors import measure_peaks
from .inputs import REFERENCES, write_images
from .latency import measure_size
from .memory import measure_memory
from .processes import ChildError, run_child
from .report import check_targets, derive, format_table
from .training import measure_ddp, measure_training

DEFAULT_SIZES = [256, 512, 1024]
DEFAULT_TRAIN_SIZES = [128, 256]
QUICK_SIZES = [64]
QUICK_TRAIN_SIZES = [32]


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

    from ..errors import S2PError

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
        images = write_images(work / "images", sizes, quick)
        bar = tqdm(jobs, desc="bench", unit="job", disable=args.no_progress)
        for job in bar:
            bar.set_postfix_str(job)
            kind, _, value = job.partition(" ")
            try:
                if kind == "size":
                    out = run_child(work, {**spec, "mode": "latency", "size": int(value), "images": images})
                    result.setdefault("sizes", {})[value] = out
                elif kind == "memory":
                    out = run_child(work, {**spec, "mode": "memory", "size": int(value), "images": images})
                    entry = result.setdefault("sizes", {}).setdefault(value, {})
                    entry.setdefault("memory_mb", {}).update(out)
                elif kind == "training":  # one process per size: the kept heap cannot be undone
                    training = result.setdefault("training", {})
                    for train_size in train_sizes:
                        out = run_child(work, {**spec, "mode": "train", "train_sizes": [train_size], "batch": batch,
                                               "images": images})
                        peaks = out.pop("peaks")
                        training.update(out)
                        training.setdefault("peaks_per_size", {})[str(train_size)] = peaks
                elif kind == "ddp":
                    result["ddp"] = measure_ddp(work, images, spec, batch, quick)
                elif kind == "demo":
                    from ..bench_demo import measure_demo

                    result["demo"] = measure_demo(repeats, progress=not args.no_progress, float32=bool(args.fp32))
            except ChildError as exc:
                errors.append(f"{job}: {exc}")
                result.setdefault("errors", []).append(f"{job}: {exc}")
                bar.write(f"s2p bench: {job} failed: {exc}", file=sys.stderr)
        bar.close()
    for entry in result.get("sizes", {}).values():
        derive(entry)
    result["targets"] = check_targets(result)
    print(format_table(result))
    if "demo" in result:
        from ..bench_demo import format_demo

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


# ============================================================================ entry points


def _child_main(spec: dict) -> int:
    """One measurement in this (fresh) process: the ``--child`` entry of ``main``."""
    import torch

    if spec.get("threads"):
        torch.set_num_threads(int(spec["threads"]))
    mode = spec["mode"]
    if mode == "peaks":
        result = measure_peaks(quick=spec["quick"], device=spec.get("device"))
    elif mode == "latency":
        result = measure_size(spec)
    elif mode == "memory":
        result = measure_memory(spec)
    elif mode == "train":
        result = measure_training(spec)
    else:
        raise ValueError(f"unknown child mode {mode!r}")
    Path(spec["out"]).write_text(json.dumps(result), encoding="utf-8")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m s2p_lab.bench``: the same as ``s2p bench`` (and the child processes' entry)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--child"]:
        return _child_main(json.loads(argv[1]))
    from ..commands import Parser, guarded

    parser = Parser(prog="python -m s2p_lab.bench", description="Benchmark s2p-lab colorization and training.")
    add_arguments(parser)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    return guarded(lambda: run(args), debug=args.debug)
