"""The ``s2p`` command line: colorize, extract, train, eval, matcher, bench.

Exit status 0 on success, 2 on bad input (one line on stderr), 1 on internal error. ``--debug``
shows the traceback instead of the one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .commands import EXIT_OK, Parser, add_refinement_options, guarded

def _sketch_inputs(items: list[str]) -> tuple[list[Path], bool]:
    """The sketch files named on the command line (folders listed, name order) and whether the
    call is a batch (several inputs or a folder: then one output subfolder per sketch)."""
    from .errors import S2PError
    from .fileio import list_image_files

    paths: list[Path] = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = list_image_files(path)
            if not found:
                raise S2PError(f"{path.name}: a directory with no images in it")
            paths.extend(found)
        else:
            paths.append(path)
    return paths, len(items) > 1 or any(Path(i).is_dir() for i in items)


def _colorize(args: argparse.Namespace) -> int:
    import sys

    from tqdm.auto import tqdm

    from .colorizer import Colorizer
    from .commands import EXIT_BAD_INPUT, check_confidence, matcher_option, one_line
    from .correspondence import check_count
    from .errors import S2PError
    from .imageio import save_image
    from .models.blocks import check_sharpness
    from .palettes import extract_palette, load_palette
    from .refine import check_strength

    sketches, batch = _sketch_inputs(args.sketch)
    styles = list(args.style or [])
    palette = load_palette(args.palette, args.palette_size) if args.palette else None
    line_overlay = check_strength(args.line_overlay)  # before the model loads
    color_strength = (None if args.reference_color_strength is None
                      else check_strength(args.reference_color_strength, "--reference-color-strength"))
    hint_count = None if args.reference_hint_count is None else check_count(args.reference_hint_count)
    sharpness = (1.0 if args.attention_sharpness is None
                 else check_sharpness(args.attention_sharpness, "--attention-sharpness"))
    confidence = None if args.match_confidence is None else check_confidence(args.match_confidence)
    matched_strength = (None if args.matched_color_strength is None
                        else check_strength(args.matched_color_strength, "--matched-color-strength"))
    options = {} if args.matcher is None else {"matcher": matcher_option(args.matcher)}
    colorizer = Colorizer.from_pretrained(args.weights, device=args.device, line_overlay=line_overlay,
                                          reference_color_strength=color_strength, reference_hint_count=hint_count,
                                          attention_sharpness=sharpness,
                                          reference_store=False if args.no_reference_store else None, **options)
    if confidence is not None:
        colorizer.match_confidence = confidence
    if matched_strength is not None:
        colorizer.matched_color_strength = matched_strength
    colorizer.renderer.incremental = False  # no hint edit follows a command: keep no renders for one (less memory)
    if styles:  # every sketch takes the same references: their codes made (or read) once, and the
        colorizer.encode_styles(styles)  # network that made them given back before any decoding
        if getattr(colorizer.model.style_encoder, "backbone", None) is not None:
            colorizer.model.style_encoder.backbone.release()
    out = Path(args.out)
    names = [Path(s).stem for s in styles]
    failed = 0
    saved_palette = False
    stems: dict[str, int] = {}
    for sketch in tqdm(sketches, desc="colorize", unit="sketch", disable=not batch, file=sys.stderr):
        try:
            results = colorizer.colorize(sketch, styles=styles, hints=args.hints, size=args.size, seed=args.seed,
                                         mode=args.mode, palette=palette, layers=args.layers)
        except S2PError as exc:
            if not batch:
                raise
            failed += 1
            tqdm.write(f"s2p: error: {one_line(exc)}", file=sys.stderr)
            continue
        folder = out
        if batch:  # one subfolder per sketch; two sketches with one name get -2, -3
            stems[sketch.stem] = stems.get(sketch.stem, 0) + 1
            n = stems[sketch.stem]
            folder = out / (sketch.stem if n == 1 else f"{sketch.stem}-{n}")
        seen: dict[str, int] = {}
        images = [r.image for r in results] if args.layers else results
        for i, (name, image) in enumerate(zip(names or [sketch.stem], images)):
            seen[name] = seen.get(name, 0) + 1
            unique = name if seen[name] == 1 else f"{name}-{seen[name]}"
            paths = [save_image(image, folder / f"{unique}.png")]
            if args.layers:  # the line art, flat colors and shading beside it, and one layered PSD
                from .layers import save_layers

                paths.append(save_layers(results[i], folder, unique)["psd"])
            for path in paths:
                if batch:
                    tqdm.write(str(path))
                else:
                    print(path)
        if args.save_palette and not saved_palette:
            print(extract_palette(images[0], args.palette_size).save(args.save_palette))
            saved_palette = True
    if failed:
        print(f"s2p: error: {failed} of {len(sketches)} sketches failed", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _extract(args: argparse.Namespace) -> int:
    from .imageio import load_image, save_image
    from .sketch import cleanup_sketch, extract_sketch

    image = load_image(args.image)
    if args.method == "cleanup":
        lines = cleanup_sketch(image)
    else:
        lines = extract_sketch(image, args.method)
    print(save_image(lines, args.out))
    return EXIT_OK


def _train(args: argparse.Namespace) -> int:
    from .train import run

    return run(args)


def _eval(args: argparse.Namespace) -> int:
    from .evaluation import run

    return run(args)


def _matcher(args: argparse.Namespace) -> int:
    from .matching.command import run

    return run(args)


def _bench(args: argparse.Namespace) -> int:
    from .bench import run

    return run(args)


def _command_of(argv: list[str] | None) -> str | None:
    """The subcommand named in ``argv`` (its first word that is not an option), or None."""
    return next((word for word in argv if not word.startswith("-")), None) if argv is not None else None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The ``s2p`` parser. With ``argv``, the options of the other subcommands than the one it
    names are left out (each lives in a module that ``s2p colorize`` would import for nothing:
    training, evaluation, the matcher's training, the benchmarks)."""
    chosen = _command_of(argv)

    def wanted(name: str) -> bool:
        return chosen is None or chosen == name

    parser = Parser(prog="s2p", description="s2p-lab: reference-guided colorization of line art.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("colorize", help="colorize sketches with style references and hints")
    p.add_argument("sketch", nargs="+", help="line-art image(s) or folder(s); several: one subfolder of OUT each")
    p.add_argument("--style", action="append", metavar="REF", help="style reference image (repeatable)")
    p.add_argument("--hints", help="hints JSON file")
    p.add_argument("--size", type=int, default=512, help="processing resolution of the longer side")
    p.add_argument("--seed", type=int, default=0,
                   help="0: the matcher's most probable colors; another seed samples another plausible composition")
    p.add_argument("--weights", default=None, help="weights folder or .safetensors (default: shipped)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: auto)")
    from .refine import MODES

    p.add_argument("--mode", choices=MODES, default=None,
                   help="region refinement: soft (default), flat (one color per region) or raw (the network alone)")
    add_refinement_options(p)
    p.add_argument("--palette", metavar="FILE", default=None,
                   help="lock colors to a palette: a palette .json, or an image to take one from")
    p.add_argument("--palette-size", type=int, default=8, help="colors taken from an image palette (default 8)")
    p.add_argument("--save-palette", metavar="FILE.json", default=None,
                   help="save the palette of the first output (to color more pages with --palette)")
    p.add_argument("--layers", action="store_true",
                   help="also write each result as layers: line art, flat colors, shading (PNGs) and one layered PSD")
    p.add_argument("--no-reference-store", action="store_true",
                   help="neither read nor keep encoded references in $S2P_CACHE_DIR or ~/.cache/s2p-lab "
                        "(kept there by default, so the next run with the same references skips encoding them)")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.set_defaults(func=_colorize)

    from .sketch import EXTRACTORS

    p = sub.add_parser("extract", help="line art from a color illustration, or clean up a real sketch")
    p.add_argument("image")
    p.add_argument("--method", default="xdog", choices=sorted(EXTRACTORS) + ["cleanup"])
    p.add_argument("-o", "--out", required=True, help="output PNG")
    p.set_defaults(func=_extract)

    p = sub.add_parser("train", help="train a colorizer on a folder of color illustrations")
    if wanted("train"):
        from .train_cli import add_arguments as train_arguments

        train_arguments(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("eval", help="measure a colorizer with the design's metrics")
    if wanted("eval"):
        from .evaluation import add_arguments as eval_arguments

        eval_arguments(p)
    p.set_defaults(func=_eval)

    p = sub.add_parser("matcher", help="the region matcher: cache features, train, evaluate")
    if wanted("matcher"):
        from .matching.command import add_arguments as matcher_arguments

        matcher_arguments(p)
    p.set_defaults(func=_matcher)

    p = sub.add_parser("bench", help="latency, FLOPs, memory and training throughput")
    if wanted("bench"):
        from .bench import add_arguments as bench_arguments

        bench_arguments(p)
    p.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    import sys

    parser = build_parser(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(argv)
    return guarded(lambda: args.func(args), debug=args.debug)


if __name__ == "__main__":
    raise SystemExit(main())
