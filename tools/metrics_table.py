"""One markdown table of `s2p eval` results: several models (each a JSON) beside the baselines of the first.

    python tools/metrics_table.py "v0.3 (soft)=eval.json" "v0.3 raw=eval_raw.json" "v0.2=old.json" [--baselines]

The metric rows are those with a target plus the raw figures behind them; "ok" / "x" mark a target
met / missed; the baselines' columns come from the first file (the same code scored them).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROWS = [
    "style_top1", "hue_entropy_median", "colorfulness_median", "kid", "kid_ratio_to_wash", "region_de00",
    "region_de00_ratio_to_wash", "psnr_own_flipped", "psnr_other", "psnr_no_reference", "reference_effect_own_db",
    "reference_effect_own_shuffled_db", "reference_effect_other_db", "hint_spread_de00", "hint_auc_psnr", "hint_auc_ssim",
]
BASELINES = ["paste", "shuffled_paste", "wash", "no_reference", "paint_hints"]
OPS = {"<=": lambda v, t: v <= t, ">=": lambda v, t: v >= t}


def cell(section: dict, key: str) -> str:
    value = section.get(key)
    target = section.get("targets", {}).get(key)
    if value is None:
        value = target.get("value") if isinstance(target, dict) else None
    if value is None:
        return "-"
    text = f"{value:.3f}" if key == "style_top1" else f"{value:.2f}"
    if isinstance(target, dict) and target.get("threshold") is not None:
        ok = OPS[target["op"]](value, target["threshold"])
        text = f"{text} ok" if ok else f"**{text}** x"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", metavar="NAME=EVAL_JSON")
    parser.add_argument("--baselines", action="store_true", help="add the first file's baselines")
    args = parser.parse_args(argv)
    evals = {}
    for spec in args.runs:
        name, _, path = spec.partition("=")
        evals[name] = json.loads(Path(path).read_text())
    first = next(iter(evals.values()))
    columns = [(name, {**data["model"], "targets": data["targets"]}) for name, data in evals.items()]
    if args.baselines:
        columns += [(f"`{b}`", first["baselines"][b]) for b in BASELINES if b in first.get("baselines", {})]
    targets = first["targets"]
    print("| metric | " + " | ".join(name for name, _ in columns) + " | target |")
    print("| --- |" + " --- |" * (len(columns) + 1))
    for key in ROWS:
        target = targets.get(key)
        goal = f"{target['op']} {target['threshold']:g}" if isinstance(target, dict) and target.get("threshold") is not None else ""
        print(f"| `{key}` | " + " | ".join(cell(section, key) for _, section in columns) + f" | {goal} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
