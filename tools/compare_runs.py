"""Compare training runs: one markdown table of their `s2p eval` results and a plot of their losses.

    python tools/compare_runs.py NAME=RUN_DIR:EVAL_JSON [NAME=RUN_DIR:EVAL_JSON ...] \
        [--plot docs/images/compare.png] \
        [--picture OUT.png --sketch SKETCH --styles REF [REF ...]]

Each RUN_DIR holds the run's ``log.jsonl`` and ``final/`` weights (written by ``s2p train``); each
EVAL_JSON was written by ``s2p eval --json``. The table goes to stdout; ``--picture`` colorizes
one sketch with the given references by every run (one row per run).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROWS = [  # (label, path in the eval JSON, format); targets as in ``s2p_lab.evaluation.TARGETS``
    ("region color error / wash (<= 0.7)", ("targets", "region_de00_ratio_to_wash", "value"), "{:.2f}"),
    ("region color error, CIEDE2000", ("model", "region_de00"), "{:.2f}"),
    ("reference effect, own flipped reference, dB (>= 3)", ("targets", "reference_effect_own_db", "value"), "{:+.2f}"),
    ("reference effect, another illustration, dB (>= 0)", ("targets", "reference_effect_other_db", "value"), "{:+.2f}"),
    ("style top-1 (N=9, >= 0.90)", ("targets", "style_top1", "value"), "{:.3f}"),
    ("median hue entropy, bits (>= 1.6)", ("targets", "hue_entropy_median", "value"), "{:.2f}"),
    ("KID / wash (<= 0.5)", ("targets", "kid_ratio_to_wash", "value"), "{:.2f}"),
    ("hint CIEDE2000 away from the hint", ("model", "hint_spread_de00"), "{:.1f}"),
    ("Hint-AUC PSNR (>= 21)", ("targets", "hint_auc_psnr", "value"), "{:.2f}"),
]


def _get(obj: dict, path: tuple[str, ...]) -> object:
    for key in path:
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
    return obj


def _log(run_dir: Path) -> list[dict]:
    path = run_dir / "log.jsonl"
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            continue  # a line cut by an interrupted run
    return records


def table(runs: dict[str, tuple[Path, Path]]) -> str:
    """A markdown table: one column per run, one row per metric, plus training facts."""
    evals = {name: json.loads(Path(ev).read_text()) for name, (_, ev) in runs.items()}
    logs = {name: _log(Path(rd)) for name, (rd, _) in runs.items()}
    lines = ["| | " + " | ".join(runs) + " |", "| --- |" + " --- |" * len(runs)]
    for label, path, fmt in ROWS:
        cells = []
        for name in runs:
            value = _get(evals[name], path)
            cells.append("n/a" if value is None else fmt.format(value))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    facts = []
    for name in runs:
        log = logs[name]
        if log:
            last = log[-1]
            tail = [r["l1"] for r in log[-8:] if "l1" in r]
            facts.append((last.get("step"), last.get("seconds"), sum(tail) / max(1, len(tail))))
        else:
            facts.append((None, None, None))
    lines.append("| training steps | " + " | ".join(str(s) for s, _, _ in facts) + " |")
    lines.append("| training time, s | " + " | ".join("n/a" if t is None else f"{t:.0f}" for _, t, _ in facts) + " |")
    lines.append("| L1, mean of the last 8 log lines | "
                 + " | ".join("n/a" if l1 is None else f"{l1:.3f}" for _, _, l1 in facts) + " |")
    return "\n".join(lines)


def plot(runs: dict[str, tuple[Path, Path]], out: Path) -> None:
    """Training L1 (smoothed) against step for every run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=120)
    for name, (run_dir, _) in runs.items():
        log = [r for r in _log(Path(run_dir)) if "l1" in r]
        if not log:
            continue
        steps = np.array([r["step"] for r in log])
        l1 = np.array([r["l1"] for r in log])
        k = max(1, min(8, len(l1) // 4))
        smooth = np.convolve(l1, np.ones(k) / k, mode="valid")
        ax.plot(steps[k - 1 :], smooth, label=name)
    config_file = Path(next(iter(runs.values()))[0]) / "train_config.json"
    config = json.loads(config_file.read_text()) if config_file.exists() else {}
    ax.set_xlabel(f"step (batch {config.get('batch', '?')}, {config.get('size', '?')} px)")
    ax.set_ylabel("training L1 (moving mean)")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)


def picture(runs: dict[str, tuple[Path, Path]], out: Path, sketch: Path, styles: list[Path], size: int = 256) -> None:
    """One row per run: the sketch colorized with each reference by that run's final weights."""
    import numpy as np
    from PIL import Image, ImageDraw

    from s2p_lab import Colorizer
    from s2p_lab.imageio import load_image, resize_long_side

    cell = 160
    label_w = 150

    def fit(img: np.ndarray) -> Image.Image:
        im = Image.fromarray(resize_long_side(np.asarray(img), cell))
        canvas = Image.new("RGB", (cell, cell), "white")
        canvas.paste(im, ((cell - im.width) // 2, (cell - im.height) // 2))
        return canvas

    refs = [load_image(p) for p in styles]
    sheet = Image.new("RGB", (label_w + cell * (len(refs) + 1), cell * (len(runs) + 1)), "white")
    draw = ImageDraw.Draw(sheet)
    sheet.paste(fit(load_image(sketch)), (label_w, 0))
    for j, ref in enumerate(refs):
        sheet.paste(fit(ref), (label_w + cell * (j + 1), 0))
    draw.text((6, cell // 2), "sketch, references", fill="black")
    for i, (name, (run_dir, _)) in enumerate(runs.items(), start=1):
        colorizer = Colorizer.from_pretrained(Path(run_dir) / "final")
        outputs = colorizer.colorize(sketch, styles=styles, size=size, seed=0)
        for j, image in enumerate(outputs):
            sheet.paste(fit(np.asarray(image)), (label_w + cell * (j + 1), cell * i))
        draw.text((6, cell * i + cell // 2), name, fill="black")
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="NAME=RUN_DIR:EVAL_JSON")
    parser.add_argument("--plot", type=Path, default=None, help="write a loss plot here")
    parser.add_argument("--picture", type=Path, default=None, help="write a picture of every run's outputs here")
    parser.add_argument("--sketch", type=Path, default=None, help="the sketch of --picture")
    parser.add_argument("--styles", type=Path, nargs="+", default=[], help="the references of --picture")
    args = parser.parse_args(argv)
    runs: dict[str, tuple[Path, Path]] = {}
    for spec in args.runs:
        name, sep, rest = spec.partition("=")
        run_dir, sep2, ev = rest.rpartition(":")
        if not (sep and sep2 and name):
            parser.error(f"{spec}: expected NAME=RUN_DIR:EVAL_JSON")
        if not Path(ev).is_file():
            parser.error(f"{ev}: no such eval JSON")
        runs[name] = (Path(run_dir), Path(ev))
    print(table(runs))
    if args.plot:
        plot(runs, args.plot)
    if args.picture:
        if args.sketch is None or not args.styles:
            parser.error("--picture needs --sketch and --styles")
        picture(runs, args.picture, args.sketch, args.styles)
    return 0


if __name__ == "__main__":
    sys.exit(main())
