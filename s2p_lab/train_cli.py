"""The options of training: ``s2p train`` and ``python -m s2p_lab.train`` (run by ``train.run``).

A config file (or a checkpoint whose config to repeat, or the resumed run's own
``train_config.json``, or the defaults), with the flags given applied on top; every knob is a
field of :class:`~s2p_lab.train_config.TrainConfig`, and ``--set FIELD=VALUE`` reaches any of them.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .errors import TrainingError
from .renamed import add_renamed_option
from .train_config import FLAGS, TrainConfig, load_config

__all__ = ["add_arguments", "config_from_args"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``s2p train`` (and ``python -m s2p_lab.train``): a config file, flags on top."""
    d = TrainConfig()
    parser.add_argument("--config", help="training config (JSON, or a ckpt-*.safetensors whose config to repeat); "
                        "flags override it. Default: the built-in defaults, or the run's train_config.json with --resume")
    parser.add_argument("--data", help="folder of color illustrations")
    parser.add_argument("--out", help=f"run folder: checkpoints, samples, log, final weights (default {d.out})")
    parser.add_argument("--init", help="start from these weights (a ckpt-*.safetensors also brings its discriminator)")
    parser.add_argument("--steps", type=int, help=f"train until this step (default {d.steps})")
    parser.add_argument("--schedule-steps", type=int, help="length of the cosine schedule (default: --steps)")
    parser.add_argument("--size", type=int, help=f"training crop side in pixels (default {d.size})")
    parser.add_argument("--batch", type=int, help=f"samples per process and step (default {d.batch})")
    parser.add_argument("--lr", type=float, help=f"generator peak learning rate (default {d.lr})")
    parser.add_argument("--lr-disc", type=float, help=f"discriminator peak learning rate (default {d.lr_disc})")
    parser.add_argument("--warmup", type=int, help=f"warm-up steps (default {d.warmup})")
    parser.add_argument("--cosine-end", type=float, help=f"final lr as a fraction of the peak (default {d.cosine_end})")
    parser.add_argument("--gan-start", type=int, help=f"adversarial terms join at this step (default {d.gan_start})")
    parser.add_argument("--checkpoint-every", type=int, help=f"(default {d.checkpoint_every})")
    parser.add_argument("--sample-every", type=int, help=f"(default {d.sample_every})")
    parser.add_argument("--log-every", type=int, help=f"(default {d.log_every})")
    parser.add_argument("--keep-checkpoints", type=int, help=f"checkpoints to keep (default {d.keep_checkpoints})")
    add_renamed_option(parser, "--keep", "--keep-checkpoints", type=int)
    parser.add_argument("--seed", type=int, help=f"initial weights and the data stream (default {d.seed})")
    parser.add_argument("--workers", type=int, help="data loader processes (default 0)")
    parser.add_argument("--ema", type=float, help="decay of a moving average of the weights, e.g. 0.995: the final "
                        "weights are the average (default 0: off)")
    parser.add_argument("--style-transfer", choices=["attention", "global"], help="model.style_transfer")
    parser.add_argument("--base-channels", type=int, help="model.base_channels")
    parser.add_argument("--no-guides", action="store_true", help="train without the two guide decoders")
    parser.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    parser.add_argument("--no-keep-heap", action="store_true", help="let freed memory go back to the system")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                        help="any config field, e.g. synthesis.p_no_reference=0.1 or losses.adversarial=0 (JSON value)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("--max-minutes", type=float, default=None, metavar="M",
                        help="stop after M minutes of training with a checkpoint (no final weights yet); "
                             "--resume goes on from it (for borrowed machines and time-boxed runs)")
    parser.add_argument("--fit-schedule", action="store_true",
                        help="with --max-minutes on a fresh run: measure the speed and set --steps and the cosine "
                             "schedule to what fits the time, so the run ends with final weights")
    parser.add_argument("--no-progress", action="store_true")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The config file (or the resumed run's, or the defaults) with the flags given applied on top."""
    flag_fields = {flag[2:].replace("-", "_"): path for path, flag in FLAGS.items()}
    changes = {path: getattr(args, dest) for dest, path in flag_fields.items() if getattr(args, dest, None) is not None}
    if args.no_guides:
        changes["model.guide_decoders"] = False
    if args.fp32:
        changes["bf16"] = False
    if args.no_keep_heap:
        changes["keep_heap"] = False
    for item in args.set:
        path, sep, raw = item.partition("=")
        if not sep:
            raise TrainingError(f"--set {item}: expected FIELD=VALUE")
        try:
            changes[path.strip()] = json.loads(raw)
        except ValueError:
            changes[path.strip()] = raw  # a bare string
    if "init" in changes and "init_sha256" not in changes:  # --init names other weights than the file's init
        changes["init_sha256"] = ""
    if args.config:
        base = load_config(args.config)
    else:
        saved = Path(changes.get("out", TrainConfig.out)) / "train_config.json"
        base = TrainConfig()
        if args.resume and saved.exists():  # go on with the run's own settings
            try:
                base = load_config(saved)
            except TrainingError as exc:
                raise TrainingError(f"{exc}; fix or delete it to resume with the options given") from None
    config = base.replace(changes).validate()
    if not config.data:
        raise TrainingError("no training data: give --data DIR or set \"data\" in the config file")
    return config
