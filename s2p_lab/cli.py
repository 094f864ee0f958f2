"""The ``s2p`` command line: colorize, extract, train, eval, bench.

Exit status 0 on success, 2 on bad input (one line on stderr), 1 on internal error. ``--debug``
shows the traceback instead of the one line.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .commands import EXIT_OK, Parser, guarded

def _colorize(args: argparse.Namespace) -> int:
    from .colorizer import Colorizer
    from .imageio import save_image

    colorizer = Colorizer.from_pretrained(args.weights, device=args.device)
    styles = list(args.style or [])
    images = colorizer.colorize(args.sketch, styles=styles, hints=args.hints, size=args.size, seed=args.seed)
    out = Path(args.out)
    names = [Path(s).stem for s in styles] or [Path(args.sketch).stem]
    seen: dict[str, int] = {}
    for name, image in zip(names, images):
        seen[name] = seen.get(name, 0) + 1
        unique = name if seen[name] == 1 else f"{name}-{seen[name]}"
        path = save_image(image, out / f"{unique}.png")
        print(path)
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


def _bench(args: argparse.Namespace) -> int:
    from .bench import run

    return run(args)


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="s2p", description="s2p-lab: reference-guided colorization of line art.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("colorize", help="colorize a sketch with style references and hints")
    p.add_argument("sketch", help="line-art image")
    p.add_argument("--style", action="append", metavar="REF", help="style reference image (repeatable)")
    p.add_argument("--hints", help="hints JSON file")
    p.add_argument("--size", type=int, default=512, help="processing resolution of the longer side")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--weights", default=None, help="weights folder or .safetensors (default: shipped)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: auto)")
    p.add_argument("-o", "--out", required=True, help="output folder")
    p.set_defaults(func=_colorize)

    from .sketch import EXTRACTORS

    p = sub.add_parser("extract", help="line art from a color illustration, or clean up a real sketch")
    p.add_argument("image")
    p.add_argument("--method", default="xdog", choices=sorted(EXTRACTORS) + ["cleanup"])
    p.add_argument("-o", "--out", required=True, help="output PNG")
    p.set_defaults(func=_extract)

    from .train import add_arguments as train_arguments

    p = sub.add_parser("train", help="train a colorizer on a folder of color illustrations")
    train_arguments(p)
    p.set_defaults(func=_train)

    from .evaluation import add_arguments as eval_arguments

    p = sub.add_parser("eval", help="measure a colorizer with the design's metrics")
    eval_arguments(p)
    p.set_defaults(func=_eval)

    from .bench import add_arguments as bench_arguments

    p = sub.add_parser("bench", help="latency, FLOPs, memory and training throughput")
    bench_arguments(p)
    p.set_defaults(func=_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return guarded(lambda: args.func(args), debug=args.debug)


if __name__ == "__main__":
    raise SystemExit(main())
