"""Render the README's picture: one sample sketch colorized with several sample references.

    .venv/bin/python tools/make_readme_figure.py [--out docs/images/one_sketch_many_styles.png]

Uses only the repository's own sample data and the shipped weights.
"""

from __future__ import annotations

import argparse
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", default=str(ROOT / "docs/images/one_sketch_many_styles.png"))
    parser.add_argument("--sketch", default=str(ROOT / "sample_data/sketches/girl_portrait.png"))
    parser.add_argument("--styles", type=int, default=4)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--weights", default=None)
    parser.add_argument("--names", nargs="*", help="style file stems to use instead of the first --styles")
    parser.add_argument("--hints", default=None, help="hints JSON for every variant")
    args = parser.parse_args()
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
