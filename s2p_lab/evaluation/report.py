"""How a result is shown: a plain-text table, a Markdown table, and a picture grid."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..imageio import resize_long_side
from .color import as_rgb
from .definitions import METHODS, METRICS, TARGETS

__all__ = ["format_table", "markdown_table", "save_grid"]

_SHORT = {"shuffled_paste": "shuffled", "no_reference": "no_ref", "paint_hints": "hints"}


def _fmt(v: Any, digits: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def _columns(result: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    cols = [("model", result["model"])]
    cols += [(m, result["baselines"][m]) for m in METHODS[1:] if m in result.get("baselines", {})]
    return cols


def _mark(result: Mapping[str, Any], name: str, key: str) -> str:
    t = (result["targets"] if name == "model" else result["baselines"][name]["targets"]).get(key)
    if t is None or t["pass"] is None:
        return ""
    return " ok" if t["pass"] else " x"


def format_table(result: Mapping[str, Any]) -> str:
    """Every metric, the model beside every baseline, targets marked ``ok``/``x``; then the verdicts."""
    cols = _columns(result)
    width = 11
    lines = [f"{'metric':<34}" + "".join(f"{_SHORT.get(n, n):>{width}}" for n, _ in cols) + "  target"]
    for key in METRICS:
        if all(c.get(key) is None for _, c in cols):
            continue
        goal = f"{TARGETS[key][0]} {TARGETS[key][1]:g}" if key in TARGETS else ""
        cells = "".join(f"{_fmt(c.get(key)) + _mark(result, n, key):>{width}}" for n, c in cols)
        lines.append(f"{key:<34}{cells}  {goal}")
    kid = result.get("kid") or {}
    if kid:
        real = kid["sets"]["real"]["kid"]
        lines.append(f"KID real-vs-real {_fmt(real, 4)}; gray wash {_fmt(kid['sets']['gray']['kid'], 4)}; "
                     f"bare lines {_fmt(kid['sets']['lines']['kid'], 4)}; order (best first): "
                     + " < ".join(kid["order_best_first"]))
        pairs_kid = kid.get("held_out_pairs")
        if pairs_kid:
            lines.append("KID on the held-out drawings (same drawings in every set): "
                         + " < ".join(f"{k} {_fmt(pairs_kid['sets'][k]['kid'], 3)}" for k in pairs_kid["order_best_first"])
                         + ("; recolored < wash < gray < lines as a person would rank them"
                            if pairs_kid["ordered_as_a_person_would"] else "; NOT in a person's order"))
    pairs = result.get("pairs") or {}
    if pairs:
        lines.append(f"{pairs['n_pairs']} held-out pairs ({pairs['extractor']} sketches), "
                     f"{pairs['n_in_legacy_training_split']} of them in model v0.2's per-file training split")
    ha = result.get("hint_auc") or {}
    if ha and not ha.get("available"):
        lines.append(f"Hint-AUC {ha.get('reason')}")
    for name, c in [("model", result)] + [(n, result["baselines"][n]) for n in result.get("baselines", {})]:
        failed = [k for k, t in c["targets"].items() if t["pass"] is False]
        lines.append(f"{name}: passed {_fmt(c['passed'])}; failed: {', '.join(failed) or 'none'}; "
                     f"not measured: {', '.join(c['not_measured']) or 'none'}")
    return "\n".join(lines)


def markdown_table(result: Mapping[str, Any], digits: int = 2) -> str:
    """A Markdown table of every metric: model, baselines, target; misses in bold."""
    cols = _columns(result)
    head = "| metric | " + " | ".join(f"`{n}`" for n, _ in cols) + " | target |"
    rows = [head, "| --- |" + " --- |" * (len(cols) + 1)]
    for key in METRICS:
        if all(c.get(key) is None for _, c in cols):
            continue
        cells = []
        for n, c in cols:
            text = _fmt(c.get(key), digits)
            t = (result["targets"] if n == "model" else c["targets"]).get(key)
            if t is not None and t["pass"] is False:
                text = f"**{text}** x"
            elif t is not None and t["pass"]:
                text = f"{text} ok"
            cells.append(text)
        goal = f"{TARGETS[key][0]} {TARGETS[key][1]:g}" if key in TARGETS else ""
        rows.append(f"| `{key}` | " + " | ".join(cells) + f" | {goal} |")
    rows.append("| all targets met | " + " | ".join(_fmt(c["passed"] if n != "model" else result["passed"])
                                                   for n, c in cols) + " | |")
    return "\n".join(rows)


def save_grid(path: Path, sketch_rows: Sequence[Mapping[str, Any]], pair_rows: Sequence[Mapping[str, Any]],
              cell: int = 160) -> Path:
    """Sketch, reference, model and baselines side by side, one row per example.

    ``sketch_rows``: real sketches with an unrelated reference; ``pair_rows``: held-out pairs with
    the mirrored own reference, the target last and each output's region error in its label.
    """
    from PIL import Image, ImageDraw, ImageFont

    order = ("sketch", "reference", "model", "paste", "shuffled_paste", "wash", "no_reference", "target")
    label_h = 14
    rows = list(sketch_rows) + list(pair_rows)
    grid = Image.new("RGB", (len(order) * cell, max(1, len(rows)) * (cell + label_h) + label_h), "white")
    draw = ImageDraw.Draw(grid)
    font = ImageFont.load_default()
    for j, name in enumerate(order):
        draw.text((j * cell + 4, 1), name, fill="black", font=font)
    for i, row in enumerate(rows):
        y0 = label_h + i * (cell + label_h)
        for j, name in enumerate(order):
            if name not in row:
                continue
            tile = resize_long_side(as_rgb(np.asarray(row[name])), cell - 6)
            x = j * cell + (cell - tile.shape[1]) // 2
            grid.paste(Image.fromarray(tile), (x, y0 + (cell - tile.shape[0]) // 2))
            label = row["name"][:22] if name == "sketch" else ""
            if "region_de00" in row and name in row["region_de00"]:
                label = f"region dE {row['region_de00'][name]:.1f}"
            draw.text((j * cell + 4, y0 + cell), label, fill="black", font=font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    grid.save(str(path))
    return path
