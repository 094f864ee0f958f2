"""What every ``s2p`` command shares: exit codes, the one-line error guard, the argument parser.

A leaf module (it imports only ``errors`` and ``renamed``), so that the command line and the modules whose
commands it runs (train, eval, bench) never import each other.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable

from .errors import S2PError
from .renamed import add_renamed_option

EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT = 0, 1, 2

__all__ = ["EXIT_BAD_INPUT", "EXIT_INTERNAL", "EXIT_OK", "Parser", "add_refinement_options", "guarded", "one_line"]


def one_line(text: object) -> str:
    """``text`` with every run of whitespace (newlines included) turned into one space."""
    return " ".join(str(text).split())


def guarded(action: Callable[[], int], *, debug: bool = False) -> int:
    """Run ``action`` turning user errors into exit 2 and crashes into exit 1, one line each."""
    try:
        return int(action() or 0)
    except S2PError as exc:
        if debug:
            traceback.print_exc()
        print(f"s2p: error: {one_line(exc)}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("s2p: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defense of a command line tool
        if debug:
            traceback.print_exc()
        print(f"s2p: internal error: {type(exc).__name__}: {one_line(exc)} (run with --debug for details)", file=sys.stderr)
        return EXIT_INTERNAL


class Parser(argparse.ArgumentParser):
    """argparse that exits with status 2 and one line, as the contract asks."""

    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"{self.prog}: error: {one_line(message)}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def add_refinement_options(parser: argparse.ArgumentParser) -> None:
    """``--line-overlay``, ``--reference-color-strength``, ``--reference-hint-count``, ``--matcher``,
    ``--match-confidence``, ``--matched-color-strength`` and ``--attention-sharpness``, named as the
    ``Colorizer`` settings they set, as ``s2p colorize`` and ``s2p eval`` both take them (each
    command checks the values before loading a model). The earlier ``--line-strength``, ``--reference-colors`` and
    ``--reference-hints`` still work (deprecated)."""
    parser.add_argument("--line-overlay", type=float, default=1.0, metavar="S",
                        help="how dark the sketch lines are laid over the colors: 1 (default) as drawn, "
                             "0 the network's colors alone")
    parser.add_argument("--reference-color-strength", type=float, default=None, metavar="S",
                        help="how far the region colors move toward the reference's own spread of colors: "
                             "0 the network's colors, 1 the reference's (default: the colorizer's, 0.5; "
                             "not in raw mode; before --matched-color-strength)")
    parser.add_argument("--reference-hint-count", type=int, default=None, metavar="N",
                        help="point hints with colors matched from each reference to the sketch's regions, "
                             "given to the network beside yours (default 0: none; 24 helps with a reference of the "
                             "same drawing, see the model card)")
    add_renamed_option(parser, "--line-strength", "--line-overlay", type=float)
    add_renamed_option(parser, "--reference-colors", "--reference-color-strength", type=float)
    add_renamed_option(parser, "--reference-hints", "--reference-hint-count", type=int)
    parser.add_argument("--matcher", default=None, metavar="DIR",
                        help="region matcher folder (default: the shipped one); 'none': the network alone, as before v0.4")
    parser.add_argument("--match-confidence", type=float, default=None, metavar="P",
                        help="regions whose matched color is less probable than this are left to the network "
                             "(default: the colorizer's; 0 gives every region its matched color)")
    parser.add_argument("--matched-color-strength", type=float, default=None, metavar="S",
                        help="how far each region the matcher colors moves to its matched color in soft mode: "
                             "1 that color with the network's shading on top, 0 the network's colors "
                             "(default: the colorizer's)")
    parser.add_argument("--attention-sharpness", type=float, default=None, metavar="S",
                        help="scale of the network's attention to the reference (default 1, as trained; "
                             "above 1 more colors and less of the reference's overall look, see the model card)")


def matcher_option(value: str | None) -> object:
    """``--matcher``'s value as ``Colorizer.from_pretrained`` takes it: the shipped matcher (None),
    a folder, or False for none."""
    if value is None:
        return None
    return False if value.lower() == "none" else value


def check_confidence(value: object, name: str = "--match-confidence") -> float:
    """``value`` as a float from 0 to 1, else an ``S2PError`` naming ``name``."""
    from .errors import S2PError

    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        number = float("nan")
    if not 0.0 <= number <= 1.0:
        raise S2PError(f"{name} must be a number from 0 to 1, got {value!r}")
    return number
