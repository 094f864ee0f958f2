"""Training throughput: real ``Trainer.train_step`` calls against the matmul peak, and one process
against two under ``torchrun``."""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .floors import PeakMeter, count_flops, median_ms, peak_key, timed
from .processes import ChildError, child_env


def measure_training(spec: dict) -> dict:
    """Real ``Trainer.train_step`` calls: generator only, and with the GAN terms on."""
    import torch

    from ..heap import glibc_mallopt, keep_heap
    from ..train import TrainConfig, Trainer

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
                    samples.append(timed(lambda b=b: trainer.train_step(b)))
                    after = resource.getrusage(resource.RUSAGE_SELF)
                    kernel.append(after.ru_stime - before.ru_stime)
                    faults.append(after.ru_minflt - before.ru_minflt)
                    meter.sample()
                flops = count_flops(lambda: trainer.train_step(batches[0]))
                seconds = statistics.median(samples)
                entry[phase] = {"step_ms": round(seconds * 1000, 1), "images_per_s": round(spec["batch"] / seconds, 2),
                                "gflop_per_step": round(flops / 1e9, 2), "achieved_gflops": round(flops / seconds / 1e9, 1),
                                # time in the kernel (mostly zero-filling fresh pages) and minor page faults, per step
                                "kernel_ms": median_ms(kernel), "page_faults": int(statistics.median(faults))}
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


def measure_ddp(work: Path, images: dict, spec: dict, batch: int, quick: bool) -> dict:
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
        env = child_env()
        env["OMP_NUM_THREADS"] = str(threads)
        started = time.perf_counter()
        done = subprocess.run(cmd + common + ["--out", str(run_dir)], capture_output=True, text=True, env=env, timeout=3600)
        wall = time.perf_counter() - started
        if done.returncode != 0:
            raise ChildError(f"{name}: exit {done.returncode}: {' | '.join(done.stderr.strip().splitlines()[-3:])}")
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
