"""The ``s2p eval`` command: its options (:func:`add_arguments`) and what it runs (:func:`run`)."""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..commands import add_refinement_options
from ..correspondence import check_count
from ..errors import S2PError
from ..fileio import write_bytes_atomic
from ..models.blocks import check_sharpness
from ..refine import check_strength

__all__ = ["add_arguments", "main", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``s2p eval``."""
    src = parser.add_argument_group("data (one of --data, --pairs, --sketches with --styles)")
    src.add_argument("--data", type=Path, metavar="DIR",
                     help="data root with illustrations/, sketches/ and styles/: the whole benchmark")
    src.add_argument("--pairs", type=Path, metavar="DIR",
                     help="color images: region error, reference effect and hints on their held-out ones")
    src.add_argument("--include-training", action="store_true",
                     help="also evaluate pairs of the training split (not held out: optimistic)")
    src.add_argument("--held-out-only", action="store_true",
                     help="the default now; kept so that older scripts still run")
    src.add_argument("--sketches", type=Path, metavar="DIR", help="real sketches for style retrieval")
    src.add_argument("--styles", type=Path, metavar="DIR", help="style references for style retrieval")
    parser.add_argument("--json", type=Path, metavar="OUT.json", help="write the results as JSON")
    parser.add_argument("--grid", type=Path, metavar="OUT.png",
                        help="picture of sketch, reference, model and baselines (default: beside --json "
                             "as NAME_grid.png, else in the temporary folder)")
    parser.add_argument("--no-grid", action="store_true", help="save no picture")
    parser.add_argument("--size", type=int, default=512, help="processing size, longer side (default 512)")
    parser.add_argument("--weights", metavar="W", help="weights file or directory (default: shipped)")
    parser.add_argument("--mode", choices=("soft", "flat", "raw"),
                        help="region refinement of the model's outputs (default: the colorizer's, soft); "
                             "raw scores the network alone")
    add_refinement_options(parser)
    parser.add_argument("--device", help="cpu, cuda or auto (default)")
    parser.add_argument("--n-refs", type=int, default=9, help="references per sketch (default 9)")
    parser.add_argument("--n-pairs", type=int, default=48, help="evenly spaced held-out pairs (default 48)")
    parser.add_argument("--hint-count", type=int, default=8, help="point hints per pair (default 8)")
    parser.add_argument("--hint-auc-pairs", type=int, default=16,
                        help="evenly spaced pairs for Hint-AUC (default 16)")
    parser.add_argument("--n-real", type=int, default=400,
                        help="real illustrations for KID, half pool, half real-vs-real probe (default 400)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a fast subset: 6 sketches, 12 pairs, Hint-AUC on 4 pairs, 200 real images")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")


def _grid_path(args: argparse.Namespace) -> Path | None:
    if args.no_grid:
        return None
    if args.grid is not None:
        return Path(args.grid)
    if args.json is not None:
        return Path(args.json).with_name(Path(args.json).stem + "_grid.png")
    return Path(tempfile.gettempdir()) / "s2p-eval-grid.png"


def _colorizer(args: argparse.Namespace) -> Any:
    """The colorizer to score: shipped or ``--weights``, refining in ``--mode``."""
    from .runner import load_colorizer

    from ..commands import matcher_option

    if args.matcher is not None:
        from ..colorizer import Colorizer

        colorizer = Colorizer.from_pretrained(args.weights, device=args.device, matcher=matcher_option(args.matcher),
                                              reference_store=False)  # its references are made once, from held-out images
    else:
        colorizer = load_colorizer(None, args.weights, args.device)
    if args.match_confidence is not None:
        colorizer.match_confidence = float(args.match_confidence)
    if args.matched_color_strength is not None:
        colorizer.matched_color_strength = float(args.matched_color_strength)
    colorizer.line_overlay = float(args.line_overlay)  # checked by run() before loading
    if args.reference_color_strength is not None:
        colorizer.reference_color_strength = float(args.reference_color_strength)
    if args.reference_hint_count is not None:
        colorizer.reference_hint_count = int(args.reference_hint_count)
    if args.attention_sharpness is not None:
        colorizer.attention_sharpness = float(args.attention_sharpness)
    if args.mode is not None:
        colorizer.default_mode = args.mode
    return colorizer


def run(args: argparse.Namespace) -> int:
    """Run ``s2p eval`` from parsed arguments; prints a table, writes JSON and the grid. Bad input
    raises ``S2PError`` (before any model is loaded)."""
    from .report import format_table, save_grid
    from .runner import (
        assemble, compute_kid, evaluate, evaluate_hint_auc, evaluate_pairs, evaluate_retrieval, evenly,
        list_images, pick_references, real_features,
    )

    if args.data is None and args.pairs is None and args.sketches is None and args.styles is None:
        raise S2PError("give --data DIR, or --pairs DIR, or --sketches DIR with --styles DIR")
    if (args.sketches is None) != (args.styles is None):
        raise S2PError("--sketches and --styles go together")
    if args.data is not None and (args.pairs or args.sketches):
        raise S2PError("--data already names the pairs, sketches and styles; give it alone")
    if not 64 <= args.size <= 2048:
        raise S2PError(f"--size must be from 64 to 2048, got {args.size}")
    if args.n_refs < 1 or args.hint_count < 0:
        raise S2PError("--n-refs must be at least 1 and --hint-count at least 0")
    for name in ("n_pairs", "hint_auc_pairs"):
        value = getattr(args, name)
        if value is not None and value < 0:
            raise S2PError(f"--{name.replace('_', '-')} must be at least 0")
    check_strength(args.line_overlay)
    if args.reference_color_strength is not None:
        check_strength(args.reference_color_strength, "--reference-color-strength")
    if args.reference_hint_count is not None:
        check_count(args.reference_hint_count)
    if args.match_confidence is not None:
        from ..commands import check_confidence

        check_confidence(args.match_confidence)
    if args.matched_color_strength is not None:
        check_strength(args.matched_color_strength, "--matched-color-strength")
    if args.attention_sharpness is not None:
        check_sharpness(args.attention_sharpness, "--attention-sharpness")
    if args.n_real < 4:
        raise S2PError("--n-real must be at least 4")
    progress = not args.no_progress
    grid = _grid_path(args)
    quick: dict[str, Any] = (dict(n_sketches=6, n_pairs=12, hint_auc_pairs=4, n_real=200) if args.quick else {})
    n_pairs = quick.get("n_pairs", args.n_pairs)
    hint_auc_pairs = quick.get("hint_auc_pairs", args.hint_auc_pairs)
    n_real = quick.get("n_real", args.n_real)
    common = dict(size=args.size, seed=args.seed, progress=progress)
    if args.data is not None:
        for sub in ("illustrations", "sketches", "styles"):
            list_images(args.data / sub)
        colorizer = _colorizer(args)
        result = evaluate(colorizer, args.data, n_refs=args.n_refs, hint_count=args.hint_count,
                          grid_path=grid, n_sketches=quick.get("n_sketches"), n_pairs=n_pairs,
                          hint_auc_pairs=hint_auc_pairs, n_real=n_real,
                          include_training=args.include_training, **common)
    else:
        from ..splits import split_paths

        sketches = styles = images = None
        if args.sketches is not None:
            sketches = list_images(args.sketches)[:quick.get("n_sketches")]
            styles = list_images(args.styles)
            pick_references(styles, args.n_refs, args.seed)  # enough styles?
        if args.pairs is not None:
            images = list_images(args.pairs)
            if not args.include_training:
                images = split_paths(images)[1]
                if not images:
                    raise S2PError(f"no image of {args.pairs} belongs to the held-out split "
                                   "(s2p_lab.splits); use --include-training to evaluate them anyway")
            images = evenly(images, n_pairs)
        colorizer = _colorizer(args)
        retrieval = pairs = hint_auc = kid_result = None
        settings: dict[str, Any] = {"size": args.size, "n_refs": args.n_refs, "seed": args.seed,
                                    "extractor": "xdog", "hint_count": args.hint_count}
        if sketches is not None:
            retrieval = evaluate_retrieval(colorizer, sketches, styles, n_refs=args.n_refs,
                                           keep_outputs=3 if grid else 0, features=images is not None, **common)
            settings.update(references=retrieval["references"], n_sketches=len(sketches))
        if images is not None:
            pairs = evaluate_pairs(colorizer, images, hint_count=args.hint_count,
                                   keep_outputs=2 if grid else 0, **common)
            hint_auc = evaluate_hint_auc(colorizer, evenly(images, hint_auc_pairs), **common)
            settings.update(n_pairs=len(images), held_out_only=not args.include_training)
            if retrieval is not None:
                pool, probe, _ = real_features(images, n_real=n_real, size=args.size, progress=progress)
                kid_result = compute_kid(retrieval, pool, probe, seed=args.seed)
        if grid is not None:
            save_grid(grid, (retrieval or {}).get("_images", []), (pairs or {}).get("_images", []))
        result = assemble(settings, retrieval, pairs, hint_auc, kid_result)
    result["settings"]["mode"] = colorizer.default_mode
    result["settings"]["line_overlay"] = colorizer.line_overlay
    result["settings"]["reference_color_strength"] = colorizer.reference_color_strength
    result["settings"]["reference_hint_count"] = colorizer.reference_hint_count
    result["settings"]["matcher"] = None if colorizer.matcher is None else colorizer.matcher.meta.get("name", "shipped" if args.matcher is None else args.matcher)
    result["settings"]["match_confidence"] = colorizer.match_confidence
    result["settings"]["matcher_frozen_similarity"] = (None if colorizer.matcher is None
                                                       else colorizer.matcher.model.config.frozen_similarity)
    result["settings"]["matched_color_strength"] = colorizer.matched_color_strength
    result["settings"]["reference_similarity"] = colorizer.reference_similarity
    result["settings"]["reference_image_similarity"] = colorizer.reference_image_similarity
    result["settings"]["reference_hint_alpha"] = colorizer.reference_hint_alpha
    result["settings"]["attention_sharpness"] = colorizer.attention_sharpness
    print(format_table(result))
    if grid is not None:
        print(f"grid: {grid}")
    if args.json is not None:
        write_bytes_atomic(Path(args.json), (json.dumps(result, indent=1) + "\n").encode("utf-8"))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m s2p_lab.evaluation``: the ``s2p eval`` command on its own."""
    parser = argparse.ArgumentParser(prog="s2p eval", description="Evaluate a colorizer without humans.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(args)
    except S2PError as exc:
        print(f"s2p eval: {exc}".replace("\n", " "), file=sys.stderr)
        return 2
