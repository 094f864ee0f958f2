"""Latency of the colorization scenarios at one processing size: one call, nine references,
hint edits, where the time goes, the FLOPs of each; torch.compile and the profiler's op tables."""

from __future__ import annotations

import statistics
import time

from .floors import PeakMeter, count_flops, median_ms, sync_device, timed
from .inputs import HINTS_BEFORE, HINTS_EDIT, HINTS_WIDE, REFERENCES, load_colorizer
from .memory import maxrss_mb


def measure_size(spec: dict) -> dict:
    """Latency, FLOPs and stage times of every scenario at one processing size."""
    import torch

    from ..imageio import load_image
    from ..sketch import cleanup_sketch

    size, images, repeats = spec["size"], spec["images"], spec["repeats"]
    sketch, styles = images["sketches"][str(size)], images["styles"][:REFERENCES]
    device = spec.get("device")
    started = time.perf_counter()
    colorizer = load_colorizer(spec)
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
        times["one_network_only"].append(timed(network_only))
        times["one"].append(timed(one))
        times["hint_edit"].append(timed(edit))  # right after ``one``: everything but the edit is cached
        times["hint_edit_wide"].append(timed(wide))
        times["nine_batched"].append(timed(nine))
        times["nine_single"].append(timed(nine_single))
        times["nine_single_cached"].append(timed(nine_single_cached))
        sync_device(device)
        meter.sample(2)
    out["peaks"] = meter.result()
    out["latency_ms"] = {k: median_ms(v) for k, v in times.items()}
    out["latency_samples_ms"] = {k: [round(t * 1000, 1) for t in v] for k, v in times.items()}

    # FLOPs. The counter's module hooks make the colorizer decode in full and cache nothing, so
    # the edit is counted as what the incremental path runs: level by level, each decoder level
    # over the region the edit changes there (or, where the levels are not kept, the hint stage
    # and the decoder over the edit's window).
    from ..rendering import changed_box

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
    renderer = colorizer.renderer
    plan = renderer.edit_plan(prepared, box)
    if renderer.keeps_levels(prepared, 1) and plan.output_share <= renderer.max_incremental_share:
        _, levels = renderer.decode_levels(prepared, before, codes)
        flops["hint_edit"] = count_flops(lambda: renderer.redecode(prepared, after, codes, levels, plan))
        share = plan.output_share
    else:
        window = renderer.edit_window(box, h, w)
        flops["hint_edit"] = count_flops(lambda: renderer.decode_window(prepared, after, codes, window and window[0], True))
        share = (window[0][1] - window[0][0]) * (window[0][3] - window[0][2]) / (h * w) if window else 1.0
    out["gflop"] = {k: round(v / 1e9, 3) for k, v in flops.items()}
    out["processing_size"] = [h, w]
    out["original_size"] = list(prepared.original_size)
    out["hint_edit_window_share"] = round(share, 3)  # of the colors recomputed
    out["receptive_radius_px"] = colorizer.renderer.receptive_radius

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
        sync_device(device)
        t3 = time.perf_counter()
        codes = colorizer.encode_styles([styles[0]])
        sync_device(device)
        t4 = time.perf_counter()
        hint_map = colorizer.hint_map(HINTS_BEFORE, prepared)
        t5 = time.perf_counter()
        rgb = colorizer.render(prepared, hint_map, codes)
        t6 = time.perf_counter()
        colorizer.finish(prepared, rgb[0])
        t7 = time.perf_counter()
        for key, value in zip(stages, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5, t7 - t6)):
            stages[key].append(value)
    out["stages_ms"] = {k: median_ms(v) for k, v in stages.items()}
    with torch.inference_mode():
        out["gflop_stages"] = {
            "encode_sketch": round(count_flops(lambda: colorizer.inference_model.generator.encode_sketch(prepared.tensor.to(colorizer.device))) / 1e9, 3),
            "decode": round(count_flops(lambda: colorizer.renderer.decode_window(prepared, hint_map, codes, None, True)) / 1e9, 3),
        }

    if spec.get("compile"):
        out["compiled"] = _measure_compiled(spec, sketch, styles, size, repeats, times)
    if spec.get("profile"):
        out["profile"] = _profile(colorizer, sketch, styles[0], size)
    out["memory_mb"] = {"bench_process": maxrss_mb()}  # everything above, instrumentation included
    return out


def _measure_compiled(spec: dict, sketch: str, styles: list[str], size: int, repeats: int, eager_times: dict) -> dict:
    """torch.compile: time of the first calls (compilation) and steady-state latency."""
    compiled = load_colorizer(spec, compile=True)
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
        times["one"].append(timed(lambda: compiled.colorize(sketch, [styles[0]], hints=HINTS_BEFORE, size=size)))
        times["hint_edit"].append(timed(lambda: compiled.colorize(sketch, [styles[0]], hints=HINTS_EDIT, size=size)))
        times["hint_edit_wide"].append(timed(lambda: compiled.colorize(sketch, [styles[0]], hints=HINTS_WIDE, size=size)))
        compiled.clear_cache()
        times["nine_batched"].append(timed(lambda: compiled.colorize(sketch, styles, hints=HINTS_BEFORE, size=size)))
    out["latency_ms"] = {k: median_ms(v) for k, v in times.items()}
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
