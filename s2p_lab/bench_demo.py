"""The seed demo as users run it (``s2p bench --demo``): whole processes, then one process's calls.

The demo is the README's first command: the sample portrait, the nine sample style references and
the sample hints at 512 px, default mode, shipped weights.

* ``shell``: ``s2p colorize ...`` started as a fresh process, beside ``python -c "import torch,
  numpy, PIL.Image"`` (what any PyTorch program pays before it does anything) and ``python -c
  "import s2p_lab"``, alternated ``repeats`` times so that background load hits them alike: wall
  seconds, CPU seconds (user + system) and peak RSS of each (the finished child's own accounting,
  ``os.wait4``), medians, and the demo's ratios to the torch import. The demo runs twice per round:
  as the first run on a machine (``demo``: an empty reference store, which it fills) and as any
  later run with the same references (``demo_stored``: the nine references read back from the
  store, ``reference_store``).
* ``in_process``: one fresh process timing ``import s2p_lab``, ``Colorizer.from_pretrained()``,
  the first ``colorize`` (nothing cached, nothing warmed), the same call again (everything
  cached: sketch, references, style codes) and the call after ``clear_cache()`` (warm kernels and
  allocator, no cached work), with the RSS after each; no reference store (every reference encoded).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE_DATA = Path(__file__).resolve().parent.parent / "sample_data"
SKETCH = SAMPLE_DATA / "sketches" / "girl_portrait.png"
HINTS = SAMPLE_DATA / "hints" / "girl_hints.json"

TARGETS = {
    "demo_vs_torch_import_wall": ("<=", 2.0, "seed demo from the shell / `import torch, numpy, PIL.Image`, wall"),
    "demo_peak_mib": ("<=", 600.0, "peak RSS of the seed demo process, MiB"),
    "import_s2p_lab_beyond_torch_s": ("<=", 0.3, "`import s2p_lab` beyond importing torch, seconds"),
}


def styles() -> list[Path]:
    """The nine sample style references, in name order."""
    return sorted((SAMPLE_DATA / "styles").glob("*.png"))


def demo_argv(out: Path) -> list[str]:
    """The seed demo as a command line (this interpreter, ``-m s2p_lab.cli``)."""
    argv = [sys.executable, "-m", "s2p_lab.cli", "colorize", str(SKETCH)]
    for style in styles():
        argv += ["--style", str(style)]
    return argv + ["--hints", str(HINTS), "-o", str(out)]


def _env(float32: bool, store: Path | None = None) -> dict[str, str]:
    env = {**os.environ, "S2P_CACHE_DIR": str(store) if store is not None else "off"}
    return {**env, "S2P_PRECISION": "float32"} if float32 else env


# Started by a small launcher rather than by this (large) process: Linux carries the RSS of the
# process that forks into the child's peak (``ru_maxrss`` is taken over exec), so a child of the
# bench would report at least the bench's own size.
_LAUNCHER = """
import json, os, subprocess, sys, time
argv, timeout = json.loads(sys.argv[1]), float(sys.argv[2])
start = time.perf_counter()
child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
try:
    error = child.communicate(timeout=timeout)[1]
except subprocess.TimeoutExpired:
    child.kill()
    error = child.communicate()[1]
wall = time.perf_counter() - start
usage = __import__("resource").getrusage(__import__("resource").RUSAGE_CHILDREN)
lines = error.decode(errors="replace").strip().splitlines()
print(json.dumps({"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_mib": usage.ru_maxrss / 1024,
                  "exit": child.returncode, "error": lines[-1] if child.returncode and lines else ""}))
"""


def run_process(argv: list[str], timeout: float = 600.0, env: dict[str, str] | None = None) -> dict:
    """Run ``argv`` to its end: its wall and CPU seconds and its peak RSS (MiB), as the operating
    system accounts for that process alone (through a small launcher, ``_LAUNCHER``)."""
    done = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, json.dumps(argv), str(timeout)],
                          capture_output=True, text=True, env=env, stdin=subprocess.DEVNULL, timeout=timeout + 60)
    if done.returncode:
        from .errors import S2PError

        raise S2PError(f"could not time {argv[0]}: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    result = json.loads(done.stdout)
    if not result["error"]:
        del result["error"]
    return result


def _median(runs: list[dict], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def measure_shell(repeats: int = 5, progress: bool = True, float32: bool = False) -> dict:
    """The demo, the torch import and the ``s2p_lab`` import as whole processes, alternated
    (``float32``: the demo forced to float32, as on CPUs without fast bf16)."""
    from tqdm.auto import tqdm

    commands = {"torch_import": [sys.executable, "-c", "import torch, numpy, PIL.Image"],
                "s2p_lab_import": [sys.executable, "-c", "import s2p_lab"]}
    runs: dict[str, list[dict]] = {"demo": [], "demo_stored": [], **{k: [] for k in commands}}
    with tempfile.TemporaryDirectory(prefix="s2p-demo-") as tmp:
        commands = {"demo": demo_argv(Path(tmp) / "out"), "demo_stored": demo_argv(Path(tmp) / "out"), **commands}
        stored = Path(tmp) / "store"
        run_process(commands["demo"], env=_env(float32, stored))  # warm-up, not counted: files in the page cache, the store filled
        for round_ in tqdm(range(repeats), desc="seed demo", unit="round", disable=not progress):
            for name, argv in commands.items():
                store = {"demo": Path(tmp) / f"empty-{round_}", "demo_stored": stored}.get(name)
                runs[name].append(run_process(argv, env=_env(float32, store)))
    failed = [f"{name}: exit {r['exit']} {r.get('error', '')}" for name, rs in runs.items() for r in rs if r["exit"]]
    result: dict = {name: {key: _median(rs, key) for key in ("wall_s", "cpu_s", "peak_mib")} for name, rs in runs.items()}
    result["runs"] = runs
    result["repeats"] = repeats
    if failed:
        result["errors"] = failed
    pairs = list(zip(runs["demo"], runs["torch_import"], runs["s2p_lab_import"]))
    result["demo_vs_torch_import_wall"] = float(statistics.median(d["wall_s"] / t["wall_s"] for d, t, _ in pairs))
    result["demo_vs_torch_import_cpu"] = float(statistics.median(d["cpu_s"] / t["cpu_s"] for d, t, _ in pairs))
    result["demo_stored_vs_torch_import_wall"] = float(statistics.median(
        d["wall_s"] / t["wall_s"] for d, t in zip(runs["demo_stored"], runs["torch_import"])))
    result["import_s2p_lab_beyond_torch_s"] = float(statistics.median(s["wall_s"] - t["wall_s"] for _, t, s in pairs))
    return result


def _rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def in_process_main(started: float, imported: float) -> None:
    """Time the stages of the demo in this (fresh) process and print them as one JSON line.
    ``started`` and ``imported``: ``time.perf_counter()`` before and after ``import s2p_lab``."""
    stages: dict[str, dict] = {"import_s2p_lab": {"s": imported - started, "rss_mib": _rss_mib()}}
    clock = time.perf_counter()

    def mark(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        stages[name] = {"s": now - clock, "rss_mib": _rss_mib()}
        clock = now

    import torch  # noqa: F401

    mark("import_torch")
    from s2p_lab import Colorizer

    colorizer = Colorizer.from_pretrained(reference_store=False)
    mark("from_pretrained")
    call = {"styles": styles(), "hints": HINTS}
    colorizer.colorize(SKETCH, **call)
    mark("first_colorize")
    colorizer.colorize(SKETCH, **call)
    mark("same_call_again")
    colorizer.clear_cache()
    clock = time.perf_counter()
    colorizer.colorize(SKETCH, **call)
    mark("after_clear_cache")
    import resource

    from s2p_lab.runtime import precision_of

    print(json.dumps({"stages": stages, "peak_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "precision": precision_of(colorizer.amp_dtype)}))


def measure_in_process(timeout: float = 600.0, float32: bool = False) -> dict:
    """``in_process_main`` in a fresh interpreter."""
    from .errors import S2PError

    code = ("import time; started = time.perf_counter(); import s2p_lab; imported = time.perf_counter(); "
            "from s2p_lab.bench_demo import in_process_main; in_process_main(started, imported)")
    done = subprocess.run([sys.executable, "-c", code],
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          env=_env(float32))
    if done.returncode:
        raise S2PError(f"the in-process demo failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure_demo(repeats: int = 5, progress: bool = True, float32: bool = False) -> dict:
    """Both parts, with the targets of the start-up work."""
    result = {"shell": measure_shell(repeats, progress, float32), "in_process": measure_in_process(float32=float32)}
    shell = result["shell"]
    figures = {"demo_vs_torch_import_wall": shell["demo_vs_torch_import_wall"], "demo_peak_mib": shell["demo"]["peak_mib"],
               "import_s2p_lab_beyond_torch_s": shell["import_s2p_lab_beyond_torch_s"]}
    result["targets"] = {key: {"value": figures[key], "op": op, "target": bound, "what": what,
                               "met": figures[key] <= bound}
                         for key, (op, bound, what) in TARGETS.items()}
    return result


def format_demo(result: dict) -> str:
    """A plain table of ``measure_demo``'s result."""
    shell, inside = result["shell"], result["in_process"]
    lines = [f"seed demo, whole processes (medians of {shell['repeats']}, alternated)",
             f"{'':<34} {'wall s':>8} {'cpu s':>8} {'peak MiB':>9}"]
    for name, label in (("demo", "s2p colorize (9 references, hints)"),
                        ("demo_stored", "the same, references stored"), ("torch_import", "import torch, numpy, PIL.Image"),
                        ("s2p_lab_import", "import s2p_lab")):
        e = shell[name]
        lines.append(f"{label:<34} {e['wall_s']:8.2f} {e['cpu_s']:8.2f} {e['peak_mib']:9.0f}")
    lines.append(f"demo / torch import: wall {shell['demo_vs_torch_import_wall']:.2f}x "
                 f"({shell['demo_stored_vs_torch_import_wall']:.2f}x with the references stored), "
                 f"cpu {shell['demo_vs_torch_import_cpu']:.2f}x; import s2p_lab beyond torch "
                 f"{shell['import_s2p_lab_beyond_torch_s']:+.2f} s")
    lines.append(f"one process ({inside['precision']}): " + ", ".join(
        f"{name} {e['s']:.2f} s ({e['rss_mib']:.0f} MiB)" for name, e in inside["stages"].items()))
    for key, t in result["targets"].items():
        lines.append(f"target {key}: {t['value']:.2f} {t['op']} {t['target']:g} {'met' if t['met'] else 'NOT met'}")
    return "\n".join(lines)
