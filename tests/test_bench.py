"""Performance paths, by behavior only (never timings).

``s2p bench --quick`` runs and writes the expected JSON; the colorizer's fast paths (incremental
hint edits, bf16, the onnxruntime backend) compute what a full float32 decode computes. The
rewritten blocks themselves are checked against the definition in ``test_inference.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from s2p_lab import Colorizer
from s2p_lab.models import ColorizationModel, ModelConfig
from s2p_lab.runtime import bf16_available, output_tolerance

from model_helpers import assert_same_colors, assert_same_edit, randomized_model, tolerance_of

FLOAT32 = output_tolerance("float32")  # the comparisons below that set bf16=False

ROOT = Path(__file__).resolve().parents[1]


def _inputs(config: ModelConfig, size: int = 64, batch: int = 1):
    g = torch.Generator().manual_seed(1)
    sketch = (torch.rand(1, 1, size, size, generator=g) > 0.85).float()
    hints = torch.zeros(1, 4, size, size)
    hints[:, :, 10:16, 20:26] = torch.tensor([0.8, 0.2, 0.1, 1.0])[None, :, None, None]
    hints[:, :, 40:43, 5:9] = torch.tensor([0.1, 0.3, 0.9, 1.0])[None, :, None, None]
    reference = torch.rand(batch, 3, config.style_size, config.style_size, generator=g) * 2 - 1
    return sketch, hints, reference


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-5) -> None:
    err = (a.float() - b.float()).abs().max().item()
    assert err <= tol * max(1.0, b.abs().max().item()), f"max abs difference {err:.3g}"


# ------------------------------------------------------------------ the bench command
def test_quick_bench_writes_json(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    cmd = [sys.executable, "-m", "s2p_lab.cli", "bench", "--quick", "--threads", "1", "--no-progress", "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert {"command", "settings", "machine", "background", "sizes", "training", "targets"} <= set(result)
    entry = result["sizes"]["64"]
    assert entry["peaks"]["fp32_gflops"] > 0
    # bf16 is timed only where it is fast: elsewhere it is emulated and nothing runs in it
    assert ("bf16_gflops" in entry["peaks"]) == bf16_available(torch.device("cpu"))
    assert entry["peak_used"] == ("bf16_gflops" if entry["precision"] == "bfloat16" else "fp32_gflops")
    scenarios = {"one", "one_network_only", "nine_batched", "nine_single", "nine_single_cached", "hint_edit", "hint_edit_wide"}
    assert set(entry["latency_ms"]) == scenarios
    assert set(entry["gflop"]) == scenarios and set(entry["floor_ms"]) == scenarios
    assert all(v > 0 for v in entry["latency_ms"].values())
    assert entry["gflop"]["nine_batched"] < entry["gflop"]["nine_single"], "nine references share the sketch encoding"
    assert {"nine_vs_nine_single", "hint_edit_vs_one", "refinement_share"} <= set(entry["ratios"])
    assert {"loaded", "one", "one_and_edit", "nine", "bench_process"} <= set(entry["memory_mb"])
    assert entry["memory_mb"]["one"] >= entry["memory_mb"]["loaded"] > 0
    assert {"prepare_sketch", "encode_styles", "render", "finish"} <= set(entry["stages_ms"])
    assert entry["ratio_to_floor"]["one"] > 0
    train = result["training"]["32"]
    assert train["generator"]["ratio_to_peak"] > 0
    assert train["generator"]["images_per_s"] > 0 and train["gan"]["gflop_per_step"] > train["generator"]["gflop_per_step"]
    assert train["generator"]["page_faults"] >= 0 and train["generator"]["kernel_ms"] >= 0
    assert set(result["targets"]) == {
        "one_512_vs_floor", "nine_vs_nine_single_512", "hint_edit_vs_one_512", "refinement_share_512",
        "peak_rss_1024_mb", "train_256_vs_bf16_peak",
    }
    assert "size" in done.stdout and "GFLOP" in done.stdout, "a table is printed"


def test_the_demo_bench_times_the_seed_demo_as_users_run_it(tmp_path: Path) -> None:
    out = tmp_path / "demo.json"
    cmd = [sys.executable, "-m", "s2p_lab.cli", "bench", "--demo", "--sizes", "--train-sizes", "--repeats", "1",
           "--no-progress", "--json", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    demo = json.loads(out.read_text())["demo"]
    shell = demo["shell"]
    assert "errors" not in shell and all(r["exit"] == 0 for runs in shell["runs"].values() for r in runs)
    # each process's own peak: the demo holds the networks beyond torch, importing s2p_lab holds no torch
    assert shell["demo"]["peak_mib"] > shell["torch_import"]["peak_mib"] > shell["s2p_lab_import"]["peak_mib"] > 0
    assert shell["demo"]["wall_s"] > shell["torch_import"]["wall_s"] > 0 and shell["demo_vs_torch_import_wall"] > 1
    # and as a later run, the references read back from the store the first one filled
    assert shell["demo_stored"]["wall_s"] > shell["torch_import"]["wall_s"] and shell["demo_stored_vs_torch_import_wall"] > 1
    stages = demo["in_process"]["stages"]
    assert list(stages) == ["import_s2p_lab", "import_torch", "from_pretrained", "first_colorize", "same_call_again",
                            "after_clear_cache"]
    assert all(s["s"] > 0 for s in stages.values())
    assert set(demo["targets"]) == {"demo_vs_torch_import_wall", "demo_peak_mib", "import_s2p_lab_beyond_torch_s"}
    assert "seed demo" in done.stdout and "demo / torch import" in done.stdout, "a table is printed"


def test_a_timed_process_reports_its_own_peak_memory() -> None:
    """Not the bench's own size, which Linux would carry into a child it forked itself."""
    from s2p_lab.bench_demo import run_process

    big = run_process([sys.executable, "-c", "import numpy; a = numpy.ones(300 * 2**20 // 8); print(a.sum())"])
    small = run_process([sys.executable, "-c", "pass"])
    failed = run_process([sys.executable, "-c", "raise SystemExit('no such thing')"])
    assert big["exit"] == 0 and big["peak_mib"] > 300 and small["peak_mib"] < 100 < big["peak_mib"]
    assert failed["exit"] == 1 and failed["error"] == "no such thing"


def test_bench_rejects_bad_sizes() -> None:
    done = subprocess.run([sys.executable, "-m", "s2p_lab.cli", "bench", "--sizes", "20"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "sizes" in done.stderr


# ------------------------------------------------------------------ the colorizer's fast paths (the rewrite itself: test_inference.py)
def test_receptive_radius_bounds_a_hint_edit(tiny_config: ModelConfig) -> None:
    model = randomized_model(tiny_config)
    gen = model.generator
    size = 256
    sketch, hints, reference = _inputs(tiny_config, size=size)
    edited = hints.clone()
    edited[:, :, 120:124, 130:134] = torch.tensor([0.2, 0.9, 0.2, 1.0])[None, :, None, None]
    with torch.no_grad():
        feats, style = gen.encode_sketch(sketch), model.style_encoder(reference)
        diff = (gen.decode(feats, edited, style).rgb - gen.decode(feats, hints, style).rgb).abs().amax(dim=(0, 1))
    ys, xs = torch.nonzero(diff > 0, as_tuple=True)
    r = gen.receptive_radius()
    assert len(ys) > 0
    assert ys.min() >= 120 - r and ys.max() < 124 + r and xs.min() >= 130 - r and xs.max() < 134 + r


@pytest.mark.parametrize("bf16", [False, True])
def test_windowed_hint_edit_equals_a_full_decode(tiny_config: ModelConfig, bf16: bool) -> None:
    """The edit path taken where the decoder levels are not kept (level-wise: test_incremental.py)."""
    model = randomized_model(tiny_config)
    rng = np.random.default_rng(0)
    sketch = np.where(rng.random((512, 512)) > 0.9, 0, 255).astype(np.uint8)
    styles = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)]
    before = {"points": [{"x": 0.2, "y": 0.2, "rgb": [200, 20, 20], "radius": 0.01}]}
    after = {"points": before["points"] + [{"x": 0.8, "y": 0.75, "rgb": [20, 20, 200], "radius": 0.01}]}
    incremental = Colorizer(model, bf16=bf16)
    incremental.renderer.max_level_cache_bytes = 0
    full = Colorizer(model, bf16=bf16, incremental=False)
    windows = []
    decode = incremental.renderer.decode_window
    incremental.renderer.decode_window = lambda *a, **k: (windows.append(a[3]), decode(*a, **k))[1]
    incremental.colorize(sketch, styles, hints=before, size=512)
    got = incremental.colorize(sketch, styles, hints=after, size=512)
    want = full.colorize(sketch, styles, hints=after, size=512)
    assert windows[0] is None and windows[1] is not None, "the edit was decoded in a window"
    for a, b in zip(got, want):
        assert_same_edit(a, b, tolerance_of(incremental), "windowed edit vs full decode")
    again = incremental.colorize(sketch, styles, hints=after, size=512)  # nothing changed: cached
    assert len(windows) == 2 and all(np.array_equal(np.asarray(a), np.asarray(b)) for a, b in zip(again, got))


def test_hooks_and_attention_maps_see_the_full_render(tiny_config: ModelConfig) -> None:
    model = randomized_model(tiny_config)
    colorizer = Colorizer(model, bf16=False)
    rng = np.random.default_rng(1)
    sketch = np.where(rng.random((128, 128)) > 0.9, 0, 255).astype(np.uint8)
    prepared = colorizer.prepare_sketch(sketch, 128)
    codes = colorizer.encode_styles([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)])
    hint_map = colorizer.hint_map(None, prepared)
    plain = colorizer.render(prepared, hint_map, codes)
    modules = model.generator.attention_modules()
    handles = [m.register_forward_hook(lambda _m, inputs, _out: inputs[0]) for m in modules]
    try:
        off = colorizer.render(prepared, hint_map, codes)  # same inputs, but the hooks change the result
    finally:
        for h in handles:
            h.remove()
    assert not np.array_equal(plain, off)
    for m in modules:
        m.keep_weights = True
    try:
        colorizer.render(prepared, hint_map, codes)
        assert all(m.last_weights is not None for m in modules)
        assert modules[-1].last_weights.shape[1:3] == (32, 32)
    finally:
        for m in modules:
            m.keep_weights, m.last_weights = False, None


def test_watched_modules_run_the_definition_and_global_hooks_the_fast_copy(tiny_config: ModelConfig) -> None:
    from torch.nn.modules.module import register_module_forward_hook

    from s2p_lab.models.inference import SplitUp

    model = randomized_model(tiny_config)
    colorizer = Colorizer(model, bf16=False)
    rng = np.random.default_rng(6)
    sketch = np.where(rng.random((64, 96)) > 0.9, 0, 255).astype(np.uint8)
    prepared = colorizer.prepare_sketch(sketch, 96)
    codes = colorizer.encode_styles([rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)])
    hint_map = colorizer.hint_map(None, prepared)
    plain = colorizer.render(prepared, hint_map, codes)
    seen: list[tuple] = []
    handle = model.generator.up[0].register_forward_hook(lambda _m, inputs, out: seen.append(tuple(out.shape)))
    try:
        watched = colorizer.render(prepared, hint_map, codes)  # the definition: its Up runs forward
    finally:
        handle.remove()
    assert seen == [(1, model.generator.up[0].conv.out_channels, 16, 24)]
    assert_same_colors(watched, plain, FLOAT32, "the definition vs the fast copy")
    kinds: set[str] = set()
    handle = register_module_forward_hook(lambda m, _inputs, _out: kinds.add(type(m).__name__))
    try:
        counted = colorizer.render(prepared, hint_map, codes)  # a global hook: the fast copy, in full
    finally:
        handle.remove()
    assert SplitUp.__name__ in kinds and "Up" not in kinds
    assert np.array_equal(counted, plain)


def test_bf16_agrees_with_fp32() -> None:
    fp32 = Colorizer.from_pretrained(bf16=False, matcher=False)  # the network in two precisions
    bf16 = Colorizer(fp32.model, bf16=True)
    rng = np.random.default_rng(2)
    sketch = np.full((192, 160), 255, np.uint8)
    for _ in range(30):
        y, x = rng.integers(0, 150, 2)
        sketch[y : y + 30, x : x + 2] = 0
        sketch[y : y + 2, x : x + 30] = 0
    styles = [rng.integers(0, 256, (96, 96, 3), dtype=np.uint8), np.full((64, 64, 3), (200, 80, 40), np.uint8)]
    hints = {"points": [{"x": 0.5, "y": 0.5, "rgb": [30, 200, 60], "radius": 0.05}]}
    # the network's colors (reference colors 0), then the default, whose reference colors stretch
    # the draft's chroma and with it the rounding differences (the first reference is noise)
    for strength, (rel, p999) in ((0.0, (1e-2, 6)), (Colorizer.reference_color_strength, (2e-2, 10))):
        fp32.reference_color_strength = bf16.reference_color_strength = strength
        for a, b in zip(bf16.colorize(sketch, styles, hints=hints, size=192),
                        fp32.colorize(sketch, styles, hints=hints, size=192)):
            a, b = np.asarray(a, np.float32), np.asarray(b, np.float32)
            assert np.linalg.norm(a - b) / np.linalg.norm(b) < rel
            assert np.abs(a - b).mean() < 1.0 and np.percentile(np.abs(a - b), 99.9) <= p999, "no visible change"
    # the decoder's float output, before rounding to 8 bits
    prepared32, prepared16 = fp32.prepare_sketch(sketch, 192), bf16.prepare_sketch(sketch, 192)
    codes32, codes16 = fp32.encode_styles(styles), bf16.encode_styles(styles)
    hint_map = fp32.hint_map(hints, prepared32)
    with torch.inference_mode():
        want = fp32.model.generator.decode(prepared32.features, hint_map, codes32).rgb
        with bf16.placement.autocast():
            fast = bf16.inference_model.generator
            got = fast.decode_hinted(fast.hint_features(prepared16.features, hint_map), codes16).rgb
    # 1.3 % with v0.3 (its reference tokens pass a 12-block ViT in bf16), 1 % before: the images above
    # are the user-facing bound; this guards against a gross bf16 error in the decoder
    assert ((got.float() - want).norm() / want.norm()).item() < 2e-2


def test_finish_matches_the_float_overlay() -> None:
    model = ColorizationModel(ModelConfig(base_channels=8, style_channels=8, style_dim=16, style_size=32, token_dim=16,
                                          attention_heads=2)).eval()
    rng = np.random.default_rng(3)
    for overlay in (1.0, 0.6):
        colorizer = Colorizer(model, bf16=False, line_overlay=overlay)
        lines = rng.integers(0, 256, (90, 70), dtype=np.uint8)
        prepared = colorizer.prepare_sketch(np.stack([lines] * 3, -1), 64)
        rgb = rng.integers(0, 256, (*prepared.processing_size, 3), dtype=np.uint8)
        got = np.asarray(colorizer.finish(prepared, rgb), np.int16)
        import cv2

        full = cv2.resize(rgb, (70, 90), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        shade = 1.0 - overlay * (1.0 - prepared.lines.astype(np.float32)[..., None] / 255.0)
        want = np.clip(full * shade, 0, 255).round().astype(np.int16)
        assert np.abs(got - want).max() <= 1


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("S2P_TEST_COMPILE"), reason="torch.compile takes minutes on a small CPU: set S2P_TEST_COMPILE=1")
def test_compiled_agrees_with_eager(tiny_config: ModelConfig) -> None:
    model = randomized_model(tiny_config)
    rng = np.random.default_rng(4)
    sketch = np.where(rng.random((96, 96)) > 0.9, 0, 255).astype(np.uint8)
    style = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    eager = Colorizer(model, bf16=False).colorize(sketch, [style], size=96)[0]
    compiled = Colorizer(model, bf16=False, compile=True).colorize(sketch, [style], size=96)[0]
    assert_same_colors(eager, compiled, FLOAT32, "compiled vs eager")


def test_onnxruntime_backend_matches_torch_fp32(tiny_config: ModelConfig, tmp_path: Path) -> None:
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from s2p_lab.onnx_export import export_onnx

    model = randomized_model(tiny_config)
    rng = np.random.default_rng(5)
    sketch = np.where(rng.random((200, 136)) > 0.9, 0, 255).astype(np.uint8)
    styles = [rng.integers(0, 256, (64, 64, 3), dtype=np.uint8) for _ in range(2)]
    hints = {"points": [{"x": 0.3, "y": 0.6, "rgb": [200, 40, 40], "radius": 0.05}]}
    runtime = Colorizer(model, backend="onnxruntime")
    torch_fp32 = Colorizer(model, bf16=False)
    for size in (128, 200):  # the graphs take any multiple of 8: dynamic height and width
        for a, b in zip(runtime.colorize(sketch, styles, hints=hints, size=size), torch_fp32.colorize(sketch, styles, hints=hints, size=size)):
            assert_same_colors(a, b, FLOAT32, "onnxruntime vs torch")
    prepared = torch_fp32.prepare_sketch(sketch, 128)
    codes = torch_fp32.encode_styles(styles)
    hint_map = torch_fp32.hint_map(hints, prepared)
    with torch.inference_mode():
        want = model.generator.decode(prepared.features, hint_map, codes).rgb
        ours = runtime.renderer.decode_hinted(runtime.renderer.hint_features(runtime._encode_sketch(prepared.tensor), hint_map), codes)
    _close(ours, want, 1e-4)
    paths = export_onnx(model, tmp_path)
    assert sorted(p.name for p in paths.values()) == ["decode.onnx", "encode_sketch.onnx", "hint_features.onnx"]


def test_onnxruntime_backend_matches_torch_with_a_sketch_backbone(tiny_config: ModelConfig) -> None:
    """The frozen sketch backbone pads and resizes by the sketch's size: the backend runs it in
    PyTorch, so sizes other than the export's example (odd bottleneck sides here) stay exact."""
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from dataclasses import replace

    model = randomized_model(replace(tiny_config, sketch_backbone="efficientnet_lite0"))
    rng = np.random.default_rng(6)
    sketch = np.where(rng.random((200, 136)) > 0.9, 0, 255).astype(np.uint8)
    runtime = Colorizer(model, backend="onnxruntime")
    torch_fp32 = Colorizer(model, bf16=False)
    for size in (200, 328):  # bottlenecks 25 x 17 and 41 x 28
        prepared = torch_fp32.prepare_sketch(sketch, size)
        with torch.inference_mode():
            want = model.generator.encode_sketch(prepared.tensor).skips
            ours = runtime._encode_sketch(prepared.tensor).skips
        assert [w.shape for w in want] == [o.shape for o in ours]
        for o, w in zip(ours, want):
            _close(o, w, 1e-4)
        style = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        for styles in ([style], []):  # without a reference the sketch's features carry more of the colors
            a, b = runtime.colorize(sketch, styles, size=size)[0], torch_fp32.colorize(sketch, styles, size=size)[0]
            assert_same_colors(a, b, FLOAT32, "onnxruntime vs torch")


def test_ratios_pair_the_scenarios_of_each_repeat() -> None:
    """A busy moment slows the scenarios of one repeat together: the ratios are medians of the
    per-repeat ratios, not ratios of medians taken from different repeats."""
    from s2p_lab.bench import _derive

    scenarios = ("one", "one_network_only", "hint_edit", "hint_edit_wide", "nine_batched", "nine_single", "nine_single_cached")
    samples = {k: [100.0, 200.0, 300.0] for k in scenarios}
    samples["one_network_only"] = [90.0, 190.0, 150.0]  # the third repeat's network-only run was fast, its `one` slow
    entry = {"precision": "bfloat16", "peaks": {"bf16_gflops": 100.0}, "gflop": {k: 1.0 for k in scenarios},
             "latency_ms": {k: sorted(v)[1] for k, v in samples.items()}, "latency_samples_ms": samples}
    _derive(entry)
    assert entry["ratios"]["refinement_share"] == round(100 / 90 - 1, 3)  # ratio of medians: 200 / 150 - 1
    assert entry["ratios"]["hint_edit_vs_one"] == 1.0
    del entry["latency_samples_ms"]
    _derive(entry)
    assert entry["ratios"]["refinement_share"] == round(200 / 150 - 1, 3), "older results without samples"


def test_floor_uses_the_peak_of_the_precision_that_ran() -> None:
    """A float32 run (no fast bf16: the meter then times no bf16 at all) is held to the fp32 rate."""
    from s2p_lab.bench import _derive, peak_key

    scenarios = ("one", "one_network_only", "hint_edit", "hint_edit_wide", "nine_batched", "nine_single", "nine_single_cached")
    for precision, peaks, expected in (("float32", {"fp32_gflops": 100.0}, 100.0),
                                       ("float32", {"bf16_gflops": 400.0, "fp32_gflops": 100.0}, 100.0),
                                       ("bfloat16", {"bf16_gflops": 400.0, "fp32_gflops": 100.0}, 400.0)):
        entry = {"precision": precision, "peaks": peaks, "gflop": {k: 1.0 for k in scenarios},
                 "latency_ms": {k: 20.0 for k in scenarios}}
        _derive(entry)
        assert peaks[peak_key(peaks, precision)] == expected
        assert entry["floor_ms"]["one"] == round(1000 / expected, 2)
        assert entry["ratio_to_floor"]["one"] == round(20.0 / (1000 / expected), 2)


def test_flop_count_includes_the_cpu_fused_attention() -> None:
    """The floor counts attention's matmuls whichever kernel runs them (FlopCounterMode alone
    counts the CPU fused kernel as zero)."""
    import torch.nn.functional as F

    from s2p_lab.bench import count_flops

    q, k, v = torch.randn(2, 4, 300, 32), torch.randn(2, 4, 100, 32), torch.randn(2, 4, 100, 32)
    plain = count_flops(lambda: torch.softmax(q @ k.transpose(-1, -2), dim=-1) @ v)
    assert plain == 2 * (2 * 2 * 4 * 300 * 100 * 32)
    assert count_flops(lambda: F.scaled_dot_product_attention(q, k, v)) == plain
    q.requires_grad_(True)
    assert count_flops(lambda: F.scaled_dot_product_attention(q, k, v).sum().backward()) > plain
