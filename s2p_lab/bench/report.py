"""The figures derived from the measurements: floors and ratios per size, the targets met or not,
and the text table ``s2p bench`` prints."""

from __future__ import annotations

import statistics

from .floors import peak_key

TARGETS = {
    "one_512_vs_floor": ("<=", 1.3, "one 512 px colorization / its arithmetic floor at the matmul peak of its precision"),
    "nine_vs_nine_single_512": ("<=", 0.7, "nine references in one call / nine single calls, 512 px"),
    "hint_edit_vs_one_512": ("<=", 0.3, "hint edit / full colorization, 512 px"),
    "refinement_share_512": ("<=", 0.15, "what the region refinement (default mode) adds to a 512 px colorization"),
    "peak_rss_1024_mb": ("<", 1500.0, "peak RSS of a process colorizing at 1024 px (one reference, an edit, nine), MB"),
    # the key keeps its name; without fast bf16 the step runs (and is compared) in float32
    "train_256_vs_bf16_peak": (">=", 0.6, "training step at 256 px, achieved FLOP rate / matmul peak of its precision (bf16 where fast)"),
}


# ============================================================================ derived figures


def derive(entry: dict) -> None:
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


def check_targets(result: dict) -> dict:
    """Each of :data:`TARGETS` for a run's results: its value, the bound, and whether it was met
    (None: not measured)."""
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
