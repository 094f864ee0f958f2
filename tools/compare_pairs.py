"""Pair-by-pair difference of two `s2p eval` results on the same held-out pairs: mean ± standard error.

    python tools/compare_pairs.py NEW.json OLD.json

A mean difference of the per-pair figures (PSNR in each reference condition, region color error, and each image's Hint-AUC where both
JSONs hold it)
is only evidence where it is several standard errors away from zero; the table says how many of
the pairs moved each way.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

KEYS = ["psnr_own_flipped", "psnr_own_shuffled", "psnr_other", "psnr_no_reference", "region_de00", "hint_auc_psnr"]


def per_pair(path: Path) -> dict[str, dict[str, float]]:
    """image name -> the model's per-pair figures of one eval JSON (with its per-image Hint-AUC
    where the JSON has it)."""
    result = json.loads(Path(path).read_text())
    rows = {row["image"]: dict(row["model"]) for row in result["pairs"]["per_pair"]}
    hint_auc = (((result.get("hint_auc") or {}).get("methods") or {}).get("model") or {}).get("per_image") or {}
    for name, figures in hint_auc.items():
        rows.setdefault(name, {})["hint_auc_psnr"] = figures["psnr"]
    return rows


def compare(new: Path, old: Path) -> list[tuple[str, int, float, float, int, int]]:
    """(figure, pairs, mean difference new - old, standard error, pairs up, pairs down) per figure."""
    a, b = per_pair(new), per_pair(old)
    shared = sorted(set(a) & set(b))
    if not shared:
        raise SystemExit("the two results share no pair: were they made on the same data?")
    rows = []
    for key in KEYS:
        diffs = [a[n][key] - b[n][key] for n in shared
                 if a[n].get(key) is not None and b[n].get(key) is not None]
        if len(diffs) < 2:
            continue
        mean = sum(diffs) / len(diffs)
        sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1))
        rows.append((key, len(diffs), mean, sd / math.sqrt(len(diffs)),
                     sum(d > 0 for d in diffs), sum(d < 0 for d in diffs)))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("new", type=Path)
    parser.add_argument("old", type=Path)
    args = parser.parse_args()
    print("| figure | pairs | new - old | up / down |")
    print("| --- | --- | --- | --- |")
    for key, n, mean, se, up, down in compare(args.new, args.old):
        unit = " dB" if "psnr" in key else ""
        print(f"| {key} | {n} | {mean:+.2f} ± {se:.2f}{unit} | {up} / {down} |")


if __name__ == "__main__":
    main()
