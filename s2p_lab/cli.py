"""The ``s2p`` command line: colorize, extract, train, eval, bench.

Exit status 0 on success, 2 on bad input (one line on stderr), 1 on internal error. ``--debug``
shows the traceback instead of the one line.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from .errors import S2PError

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def guarded(action: Callable[[], int], *, debug: bool = False) -> int:
    """Run ``action`` turning user errors into exit 2 and crashes into exit 1, one line each."""
    try:
        return int(action() or 0)
    except S2PError as exc:
        if debug:
            traceback.print_exc()
        print(f"s2p: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("s2p: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defense of a command line tool
        if debug:
            traceback.print_exc()
        print(f"s2p: internal error: {type(exc).__name__}: {_one_line(exc)} (run with --debug for details)", file=sys.stderr)
        return EXIT_INTERNAL


class _Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line, as the contract asks."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {_one_line(message)}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


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
    parser = _Parser(prog="s2p", description="s2p-lab: reference-guided colorization of line art.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

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

    try:
        from .evaluation import add_arguments as eval_arguments
    except ImportError:  # pragma: no cover - evaluation extras missing
        eval_arguments = None
    if eval_arguments is not None:
        p = sub.add_parser("eval", help="measure a colorizer with the design's metrics")
        eval_arguments(p)
        p.set_defaults(func=_eval)

    try:
        from .bench import add_arguments as bench_arguments
    except ImportError:
        bench_arguments = None
    if bench_arguments is not None:
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
