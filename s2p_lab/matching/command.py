"""``s2p matcher cache|train|eval``: build the feature cache, train the matcher, score it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..errors import S2PError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from .features import FEATURE_SIDE

    sub = parser.add_subparsers(dest="matcher_command", required=True)
    p = sub.add_parser("cache", help="pool frozen features over the regions of training illustrations (resumable)")
    p.add_argument("--data", required=True, help="folder of color illustrations (held-out ones are skipped)")
    p.add_argument("--out", default=None, help="cache folder (default runs/matcher-cache-<feature side>)")
    p.add_argument("--max-images", type=int, default=None, help="cache only this many (a mix of every collection)")
    p.add_argument("--dino", action="store_true", help="also pool DINOv2-S features on the reference side")
    p.add_argument("--feature-side", type=int, default=FEATURE_SIDE, metavar="PX",
                   help=f"longer side the frozen features are computed at (default {FEATURE_SIDE}; "
                        "the matcher's model.feature_side must match)")
    p.add_argument("--seed", type=int, default=0)
    p = sub.add_parser("train", help="train the matcher from the feature cache")
    p.add_argument("--config", required=True, help="matcher config JSON (configs/matcher-*.json)")
    p.add_argument("--out", default=None, help="output folder (default: the config's)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--resume", action="store_true", help="go on from the output folder's last checkpoint")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=JSON",
                   help="override a config field, e.g. --set steps=500 (repeatable)")
    p = sub.add_parser("eval", help="region accuracy of a matcher and its baselines on held-out illustrations")
    p.add_argument("--data", required=True, help="data root with illustrations/ and styles/")
    p.add_argument("--cache", default=None,
                   help="held-out feature cache (built when missing; default runs/matcher-heldout-<the matcher's feature side>)")
    p.add_argument("--weights", default=None, help="matcher folder (default: shipped)")
    p.add_argument("--json", default=None, help="write the scores here")
    p.add_argument("--max-pairs", type=int, default=None)
    p.add_argument("--prior-confidence", default=None,
                   help="skin head probability from which a region keeps skin (0-1; default: the matcher's, 0.5): "
                        "lower keeps more skin under references without skin tones and gets fewer regions right")


def _interleaved(paths: list[Path]) -> list[Path]:
    """Paths ordered so that any prefix mixes every source collection."""
    import itertools

    from ..splits import source_group

    groups: dict[str, list[Path]] = {}
    for p in paths:
        groups.setdefault(source_group(p.name), []).append(p)
    return [p for batch in itertools.zip_longest(*groups.values()) for p in batch if p is not None]


def _overrides(items: list[str]) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise S2PError(f"--set takes FIELD=VALUE, got {item!r}")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def run(args: argparse.Namespace) -> int:
    from ..evaluation.runner import list_images
    from ..splits import is_holdout

    if args.matcher_command == "cache":
        from .dataset import cache_features

        folder = Path(args.data)
        if not folder.is_dir():
            raise S2PError(f"{folder}: not a folder of illustrations")
        paths = _interleaved([p for p in list_images(folder) if not is_holdout(p.name)])[: args.max_images]
        if not 64 <= args.feature_side <= 2048:
            raise S2PError(f"--feature-side: {args.feature_side} is outside 64..2048")
        out = Path(args.out or f"runs/matcher-cache-{args.feature_side}")
        summary = cache_features(paths, out, seed=args.seed, dino=args.dino, side=args.feature_side)
        print(json.dumps(summary))
        return 0
    if args.matcher_command == "train":
        from .training import MatcherTrainConfig, train_matcher

        overrides = _overrides(args.set)
        if args.out:
            overrides["out"] = args.out
        if args.steps is not None:
            overrides["steps"] = args.steps
        config = MatcherTrainConfig.load(args.config, overrides)
        print(train_matcher(config, resume=args.resume))
        return 0
    from .evaluate import cache_held_out, format_score, save_score, score
    from .predict import Matcher

    from ..commands import check_confidence

    prior_confidence = None if args.prior_confidence is None else check_confidence(args.prior_confidence, "--prior-confidence")
    root = Path(args.data)
    if not (root / "illustrations").is_dir():
        raise S2PError(f"{root}: no illustrations/ folder")
    held = sorted((p for p in list_images(root / "illustrations") if is_holdout(p.name)), key=lambda p: p.name)
    styles = list_images(root / "styles") if (root / "styles").is_dir() else []
    matcher = Matcher.from_pretrained(args.weights)
    if prior_confidence is not None:
        matcher.prior_confidence = prior_confidence
    cache = Path(args.cache or f"runs/matcher-heldout-{matcher.feature_side}")
    cache_held_out(held[: args.max_pairs], styles, cache, dino=matcher.needs_dino, bf16=matcher.bf16,
                   side=matcher.feature_side)
    result = score(cache, matcher, max_pairs=args.max_pairs)
    print(format_score(result))
    if args.json:
        print(save_score(result, Path(args.json)))
    return 0
