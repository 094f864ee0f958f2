"""Region refinement benchmarks: Hint-AUC per mode, refinement cost, hint edits, folder speed-up.

    PYTHONPATH=. python bench/regions.py hintauc [--pairs 52] [--size 256]
    PYTHONPATH=. python bench/regions.py latency [--size 512] [--repeats 5]
    PYTHONPATH=. python bench/regions.py folder [--count 20]

Each part merges its numbers into ``bench/regions_results.json``. Hint-AUC uses the project's
harness (``evaluation.evaluate_hint_auc``) on the held-out split of ``../shared/data``, with a
colorizer adapter that runs the network once per (sketch, hints, hint spreading) and applies each
refinement mode to that one draft, so that modes differ only in the refinement.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "regions_results.json"
DATA = ROOT.parent / "shared" / "data"


def _merge(part: str, value: object) -> None:
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results[part] = value
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps({part: value}, indent=2))


class _ModeAdapter:
    """A ``colorize`` with a fixed mode, hint spreading and bucket rule, sharing network drafts."""

    def __init__(self, colorizer, drafts: dict, mode: str, hint_reach: float | None, split_reach: float | None):
        self.colorizer, self.drafts = colorizer, drafts
        self.mode, self.hint_reach, self.split_reach = mode, hint_reach, split_reach

    def colorize(self, sketch, styles=None, hints=None, size=256, seed=0):
        from s2p_lab import refine as refine_mod

        c = self.colorizer
        prepared = c.prepare_sketch(sketch, size)
        drawn = c.hint_array(hints, prepared)
        c.hint_reach = self.hint_reach
        hint_map = c.hint_map(hints, prepared)
        key = hashlib.sha1(prepared.key.encode() + hint_map.numpy().tobytes()).hexdigest()
        if key not in self.drafts:
            self.drafts[key] = c.render(prepared, hint_map, c.encode_styles(None))[0]
        rgb = self.drafts[key]
        if self.mode == "default":  # exactly what Colorizer.colorize does with its default mode
            out = c.refine(prepared, rgb, hints)
        elif self.mode in ("flat", "soft"):
            # every hint (not only clicks) filling its region, for comparison
            fn = refine_mod.flat if self.mode == "flat" else refine_mod.soft
            out = fn(rgb, c.regions(prepared), drawn, split_reach=self.split_reach)
        elif self.mode == "soft-nohints":
            out = refine_mod.soft(rgb, c.regions(prepared), None, flatten=0.0)
        else:
            out = rgb
        return [c.finish(prepared, out)]


def hintauc(args: argparse.Namespace) -> None:
    from s2p_lab import Colorizer
    from s2p_lab.evaluation import evaluate_hint_auc
    from s2p_lab.fileio import list_image_files
    from s2p_lab.splits import split_paths

    _, held = split_paths(list_image_files(DATA / "illustrations"))
    paths = held[: args.pairs]
    colorizer = Colorizer.from_pretrained()
    # raw; the default (soft); soft and flat with every hint (not only clicks) filling its region;
    # soft without pulling toward the region median (flatten=0)
    configs = [("raw", 0.0, None), ("default", 0.03, None), ("soft", 0.0, 0.025), ("flat", 0.0, 0.025),
               ("soft-nohints", 0.0, None)]
    if args.configs:
        configs = [configs[int(i)] for i in args.configs.split(",")]
    out = {}
    drafts: dict = {}  # network outputs, shared by the modes (keyed by sketch, hints and spreading)
    for mode, hint_reach, split_reach in configs:
        t = time.perf_counter()
        res = evaluate_hint_auc(_ModeAdapter(colorizer, drafts, mode, hint_reach, split_reach), paths,
                                size=args.size, progress=False)
        name = f"{mode} hint_reach={hint_reach} split_reach={split_reach}"
        out[name] = {"psnr": res["psnr"], "ssim": res["ssim"], "n_images": res.get("n_images"),
                     "per_alpha_psnr": {a: v["psnr"] for a, v in res["per_alpha"].items()},
                     "seconds": round(time.perf_counter() - t, 1)}
        print(name, out[name]["psnr"], flush=True)
    _merge(f"hint_auc_size{args.size}_pairs{len(paths)}", out)


def latency(args: argparse.Namespace) -> None:
    """Full colorization per mode at ``size``; the refinement alone; a hint edit / a full one."""
    from s2p_lab import Colorizer, Hints

    sketch = ROOT / "sample_data" / "sketches" / "girl_portrait.png"
    style = ROOT / "sample_data" / "styles" / "cherry_blossom.png"
    colorizer = Colorizer.from_pretrained()
    prepared = colorizer.prepare_sketch(sketch, args.size)
    colorizer.regions(prepared)
    hints = Hints.load(ROOT / "sample_data" / "hints" / "girl_hints.json")  # for the refinement alone

    cpu: dict = {}

    def best(fn, repeats=args.repeats, name=None):
        """Median wall time; the median CPU time of this process goes to ``cpu[name]``."""
        times, cpus = [], []
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            fn()
            times.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        if name:
            cpu[name] = float(np.median(cpus))
        return float(np.median(times))

    res: dict = {"size": args.size, "sketch": "sample_data/sketches/girl_portrait.png", "cpu_threads": os.cpu_count()}
    from s2p_lab.regions import region_map

    lines = np.rint(255 - prepared.tensor[0, 0].numpy() * 255).astype(np.uint8)
    res["region_map_s"] = best(lambda: region_map(lines), name="region_map")
    rgb = colorizer.render(prepared, colorizer.hint_map(hints, prepared), colorizer.encode_styles([style]))[0]
    for mode in ("soft", "flat"):
        res[f"refine_{mode}_s"] = best(lambda m=mode: colorizer.refine(prepared, rgb, hints, m), name=f"refine_{mode}")
    from s2p_lab.bench import HINTS_BEFORE, HINTS_EDIT

    # the definitions of ``s2p bench``: a full colorization starts from empty caches; a hint edit
    # adds one point right after it (sketch and reference cached)
    for mode in ("raw", "soft", "flat"):
        def full(m=mode):
            colorizer.clear_cache()
            colorizer.colorize(sketch, styles=[style], hints=HINTS_BEFORE, size=args.size, mode=m)

        def edit(m=mode):
            full(m)
            t = time.perf_counter()
            colorizer.colorize(sketch, styles=[style], hints=HINTS_EDIT, size=args.size, mode=m)
            return time.perf_counter() - t

        res[f"colorize_{mode}_s"] = best(full, name=f"colorize_{mode}")
        res[f"hint_edit_{mode}_s"] = float(np.median([edit() for _ in range(args.repeats)]))
        res[f"hint_edit_over_full_{mode}"] = res[f"hint_edit_{mode}_s"] / res[f"colorize_{mode}_s"]
    res["refine_overhead_soft"] = res["colorize_soft_s"] / res["colorize_raw_s"] - 1
    res["refine_overhead_flat"] = res["colorize_flat_s"] / res["colorize_raw_s"] - 1
    res["refine_share_soft"] = res["refine_soft_s"] / res["colorize_raw_s"]
    res["refine_share_flat"] = res["refine_flat_s"] / res["colorize_raw_s"]
    # the refinement on a new sketch (its region map included) against a whole colorization, in
    # wall time of the parts and in CPU time (steadier on a shared machine; the network runs on
    # every core, the refinement on one, so the wall-time share on an idle machine lies between)
    res["cpu_s"] = cpu
    res["new_sketch_refine_share_wall"] = (res["region_map_s"] + res["refine_soft_s"]) / res["colorize_raw_s"]
    res["new_sketch_refine_share_cpu"] = (cpu["region_map"] + cpu["refine_soft"]) / cpu["colorize_raw"]
    res["default_mode"] = colorizer.default_mode
    _merge(f"latency_{args.size}", res)


def folder(args: argparse.Namespace) -> None:
    """``s2p colorize`` on a folder of ``count`` sketches vs ``count`` separate calls."""
    from s2p_lab.fileio import list_image_files

    sources = list_image_files(ROOT / "sample_data" / "sketches")
    style = ROOT / "sample_data" / "styles" / "sunset.png"
    tmp = Path(tempfile.mkdtemp(prefix="s2p-folder-"))
    try:
        src = tmp / "in"
        src.mkdir()
        files = []
        for i in range(args.count):
            f = src / f"s{i:02d}{sources[i % len(sources)].suffix}"
            shutil.copyfile(sources[i % len(sources)], f)
            files.append(f)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        cmd = [sys.executable, "-m", "s2p_lab.cli", "colorize"]
        t = time.perf_counter()
        subprocess.run([*cmd, str(src), "--style", str(style), "--size", str(args.size), "-o", str(tmp / "all")],
                       check=True, env=env, capture_output=True)
        together = time.perf_counter() - t
        t = time.perf_counter()
        for f in files[: args.separate]:
            subprocess.run([*cmd, str(f), "--style", str(style), "--size", str(args.size), "-o", str(tmp / "one" / f.stem)],
                           check=True, env=env, capture_output=True)
        separate = (time.perf_counter() - t) / args.separate
        _merge("folder", {"count": args.count, "size": args.size, "folder_s_per_sketch": together / args.count,
                          "separate_s_per_sketch": separate, "separate_calls_timed": args.separate,
                          "speedup": separate / (together / args.count)})
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    p = sub.add_parser("hintauc")
    p.add_argument("--pairs", type=int, default=52)
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--configs", default=None, help="comma-separated indices of the configurations to run")
    p.set_defaults(func=hintauc)
    p = sub.add_parser("latency")
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--repeats", type=int, default=5)
    p.set_defaults(func=latency)
    p = sub.add_parser("folder")
    p.add_argument("--count", type=int, default=20)
    p.add_argument("--separate", type=int, default=20, help="how many of the separate calls to time")
    p.add_argument("--size", type=int, default=512)
    p.set_defaults(func=folder)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
