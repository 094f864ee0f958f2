"""Render the README's pictures from the sample data.

    .venv/bin/python tools/make_readme_figure.py [--out docs/images/one_sketch_many_styles.png]
    .venv/bin/python tools/make_readme_figure.py --regions [--out docs/images/regions_modes.png]
    .venv/bin/python tools/make_readme_figure.py --reference-colors [--out docs/images/reference_colors.png]

    .venv/bin/python tools/make_readme_figure.py --matcher [--out docs/images/matcher_nine_references.png]
    .venv/bin/python tools/make_readme_figure.py --matcher-failure ocean_beach [--out docs/images/matcher_failure_ocean_beach.png]

The first: one sample sketch colorized with several sample references. ``--regions``: the region
map, raw / soft / flat with the sample hints, and a palette taken from one sketch's result locked
onto a second sketch of the same character. ``--reference-colors``: the same sketch and references
with the region colors moved 0, 0.5 (the default) and 1 of the way to each reference's colors.
``--matcher``: the nine sample references before the region matcher (the network alone) and after
(its flat colors, the network's colors from its hint maps, the default: the matched colors with the
network's shading, and another seed).

Uses only the repository's own sample data and the shipped weights.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from s2p_lab import Colorizer

ROOT = Path(__file__).resolve().parents[1]


def tile(image: Image.Image, side: int) -> Image.Image:
    image = image.convert("RGB")
    image.thumbnail((side, side), Image.LANCZOS)
    canvas = Image.new("RGB", (side, side), "white")
    canvas.paste(image, ((side - image.width) // 2, (side - image.height) // 2))
    return canvas


def palette_strip(colors: list[tuple[int, int, int]], width: int, height: int) -> Image.Image:
    strip = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(strip)
    step = width / max(1, len(colors))
    for i, color in enumerate(colors):
        draw.rectangle([round(i * step) + 1, 1, round((i + 1) * step) - 2, height - 2], fill=tuple(color))
    return strip


def regions_figure(out: str, size: int, weights: str | None) -> None:
    """Region map, raw / soft / flat with hints; a palette locked across two sketches."""
    from s2p_lab.palettes import extract_palette
    from s2p_lab.regions import region_overlay

    sketch = ROOT / "sample_data/sketches/girl_portrait.png"
    second = ROOT / "sample_data/sketches_photo/pencil_girl.jpg"
    hints = ROOT / "sample_data/hints/girl_hints.json"
    style = ROOT / "sample_data/styles/cherry_blossom.png"
    colorizer = Colorizer.from_pretrained(weights)
    prepared = colorizer.prepare_sketch(sketch, size)
    regions = Image.fromarray(region_overlay(colorizer.regions(prepared)))
    modes = {m: colorizer.colorize(sketch, styles=[style], hints=hints, size=size, mode=m)[0]
             for m in ("raw", "soft", "flat")}
    palette = extract_palette(modes["flat"], 8)
    # page 2: the pencil version, same reference and hints; alone its colors drift, locked they match
    locked = colorizer.colorize(second, styles=[style], hints=hints, size=size, mode="flat", palette=palette)[0]
    unlocked = colorizer.colorize(second, styles=[style], hints=hints, size=size, mode="flat")[0]
    side, label, bar = 256, 18, 22
    sheet = Image.new("RGB", (side * 5, 2 * (side + label) + bar), "white")
    draw = ImageDraw.Draw(sheet)
    row1 = [("sketch + hints", Image.fromarray(draw_hints_rgb(sketch, hints))), ("regions", regions),
            ("raw (network)", modes["raw"]), ("soft", modes["soft"]), ("flat", modes["flat"])]
    for i, (name, image) in enumerate(row1):
        sheet.paste(tile(image, side), (i * side, label))
        draw.text((i * side + 4, 2), name, fill="black")
    y = side + label
    row2 = [("page 1 (flat) and its palette", modes["flat"]), ("page 2: pencil sketch", Image.open(second)),
            ("page 2, own colors", unlocked), ("page 2, palette of page 1", locked)]
    for i, (name, image) in enumerate(row2):
        sheet.paste(tile(image, side), (i * side, y + label))
        draw.text((i * side + 4, y + 2), name, fill="black")
    sheet.paste(palette_strip(palette.colors, side, bar), (0, y + label + side))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    print(out, np.asarray(sheet).shape)


def reference_sheet(out: str, sketch: str, styles: list[Path], rows: list[tuple[str, Callable[[], list]]],
                    side: int, label: int, caption: Callable[[Path], str]) -> None:
    """The sketch and its references along the top, then one row of outputs per ``rows`` entry
    (its title and what computes its images), written to ``out``."""
    sheet = Image.new("RGB", (side * (len(styles) + 1), (len(rows) + 1) * (side + label)), "white")
    draw = ImageDraw.Draw(sheet)
    sheet.paste(tile(Image.open(sketch), side), (0, label))
    draw.text((4, 2), "sketch", fill="black")
    for i, style in enumerate(styles, start=1):
        sheet.paste(tile(Image.open(style), side), (i * side, label))
        draw.text((i * side + 4, 2), caption(style), fill="black")
    for row, (name, run) in enumerate(rows, start=1):
        y = row * (side + label)
        draw.text((4, y + 2), name, fill="black")
        for i, image in enumerate(run(), start=1):
            sheet.paste(tile(image, side), (i * side, y + label))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    print(out, np.asarray(sheet).shape)


def reference_colors_figure(out: str, sketch: str, names: list[str], size: int, weights: str | None) -> None:
    """One sketch x several references, one row per ``reference_color_strength`` (0, 0.5, 1), the
    matcher's colors not kept (``matched_color_strength`` 0)."""
    styles = [ROOT / "sample_data/styles" / f"{name}.png" for name in names]
    colorizer = Colorizer.from_pretrained(weights)
    colorizer.matched_color_strength = 0.0  # else every region the matcher colors keeps its matched color

    def at(strength: float) -> list:
        colorizer.reference_color_strength = strength
        return colorizer.colorize(sketch, styles=styles, size=size)

    rows = [(f"reference colors {s:g}" + (" (default)" if s == 0.5 else ""), lambda s=s: at(s)) for s in (0.0, 0.5, 1.0)]
    reference_sheet(out, sketch, styles, rows, 200, 18, lambda style: f"reference: {style.stem}")


def matcher_figure(out: str, sketch: str, size: int, weights: str | None) -> None:
    """One sketch x the nine sample references: the network alone (before the matcher), the
    matcher's flat colors, the network's colors from the matcher's hint maps (matched color strength
    0), the default (the matched colors with the network's shading) and seed 1."""
    styles = sorted((ROOT / "sample_data/styles").glob("*.png"))
    before = Colorizer.from_pretrained(weights, matcher=False)
    after = Colorizer.from_pretrained(weights)
    unkept = Colorizer.from_pretrained(weights)
    unkept.matched_color_strength = 0.0
    rows = [("network alone (v0.3, before)", lambda: before.colorize(sketch, styles, size=size)),
            ("matcher: flat colors", lambda: after.colorize(sketch, styles, size=size, mode="flat")),
            ("matcher, then the network's colors (matched color strength 0)",
             lambda: unkept.colorize(sketch, styles, size=size)),
            ("matched colors + network shading (default)", lambda: after.colorize(sketch, styles, size=size)),
            ("the same, seed=1", lambda: after.colorize(sketch, styles, size=size, seed=1))]
    reference_sheet(out, sketch, styles, rows, 150, 16, lambda style: style.stem)


def matcher_failure_figure(out: str, sketch: str, name: str, size: int, weights: str | None) -> None:
    """One reference's failure, for the matcher's model card: the reference, the sketch's region map
    (each region a random color), the matcher's flat colors and the default."""
    style = ROOT / "sample_data/styles" / f"{name}.png"
    colorizer = Colorizer.from_pretrained(weights)
    prepared = colorizer.prepare_sketch(sketch, size)
    regions = colorizer.regions(prepared)
    random_colors = np.random.default_rng(0).integers(40, 255, (regions.count, 3), dtype=np.uint8)
    region_view = random_colors[regions.labels]
    region_view[regions.lines] = 0
    panels = [(f"reference: {name}", Image.open(style)), ("region map", Image.fromarray(region_view)),
              ("matcher: flat colors", colorizer.colorize(sketch, [style], size=size, mode="flat")[0]),
              ("default (shaded)", colorizer.colorize(sketch, [style], size=size)[0])]
    side, label = 256, 16
    sheet = Image.new("RGB", (side * len(panels), side + label), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (title, image) in enumerate(panels):
        sheet.paste(tile(image, side), (i * side, label))
        draw.text((i * side + 4, 2), title, fill="black")
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out, optimize=True)
    print(out, np.asarray(sheet).shape)


def draw_hints_rgb(sketch: Path, hints: Path) -> np.ndarray:
    from s2p_lab.widgets.plots import draw_hints

    return draw_hints(Image.open(sketch).convert("RGB"), str(hints))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=None, help="output PNG (default: docs/images/one_sketch_many_styles.png, "
                                                     "or docs/images/regions_modes.png with --regions)")
    parser.add_argument("--regions", action="store_true", help="the regions, modes and palette figure")
    parser.add_argument("--sketch", default=str(ROOT / "sample_data/sketches/girl_portrait.png"))
    parser.add_argument("--styles", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--names", nargs="*", help="style file stems to use instead of the first --styles")
    parser.add_argument("--hints", default=None, help="hints JSON for every variant")
    parser.add_argument("--reference-colors", action="store_true",
                        help="rows of reference_color_strength 0 / 0.5 / 1 (docs/images/reference_colors.png)")
    parser.add_argument("--matcher", action="store_true",
                        help="the nine sample references before and after the matcher (docs/images/matcher_nine_references.png)")
    parser.add_argument("--matcher-failure", metavar="STYLE", default=None,
                        help="one sample style's failure for the matcher's model card (docs/images/matcher_failure_STYLE.png)")
    args = parser.parse_args()
    if args.matcher_failure:
        matcher_failure_figure(args.out or str(ROOT / f"docs/images/matcher_failure_{args.matcher_failure}.png"),
                               args.sketch, args.matcher_failure, args.size, args.weights)
        return
    if args.matcher:
        matcher_figure(args.out or str(ROOT / "docs/images/matcher_nine_references.png"), args.sketch, args.size,
                       args.weights)
        return
    if args.reference_colors:
        reference_colors_figure(args.out or str(ROOT / "docs/images/reference_colors.png"), args.sketch,
                                args.names or ["autumn_leaves", "green_forest", "neon_city", "ocean_beach", "sunset"],
                                args.size, args.weights)
        return
    if args.regions:
        regions_figure(args.out or str(ROOT / "docs/images/regions_modes.png"), args.size, args.weights)
        return
    args.out = args.out or str(ROOT / "docs/images/one_sketch_many_styles.png")
    styles = sorted((ROOT / "sample_data/styles").glob("*.png"))[: args.styles]
    if args.names:
        styles = [ROOT / "sample_data/styles" / f"{name}.png" for name in args.names]
    colorizer = Colorizer.from_pretrained(args.weights)
    outputs = colorizer.colorize(args.sketch, styles=styles, hints=args.hints, size=args.size)
    side, label = 256, 18
    sheet = Image.new("RGB", (side * (len(styles) + 1), 2 * side + 2 * label), "white")
    draw = ImageDraw.Draw(sheet)
    sheet.paste(tile(Image.open(args.sketch), side), (0, label))
    draw.text((4, 2), "sketch", fill="black")
    for i, (style, out) in enumerate(zip(styles, outputs), start=1):
        sheet.paste(tile(Image.open(style), side), (i * side, label))
        sheet.paste(tile(out, side), (i * side, 2 * label + side))
        draw.text((i * side + 4, 2), f"reference: {style.stem}", fill="black")
        draw.text((i * side + 4, side + label + 2), "result", fill="black")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    sheet.save(args.out, optimize=True)
    print(args.out, np.asarray(sheet).shape)


if __name__ == "__main__":
    main()
