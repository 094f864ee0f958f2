"""The training configuration: every knob of a run in one typed dataclass tree.

``s2p train --config FILE`` reads it from JSON (any subset of the fields; the rest keep their
defaults), command-line flags override the file, and the resolved tree is written to the run
folder (``train_config.json``) and into the header of every checkpoint, so a run can always be
repeated. Unknown keys and wrong types are refused with one line that names the field.

    {"steps": 4200, "gan_start": 800, "synthesis": {"p_region_hints": 0.0}, "model": {"base_channels": 32}}
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .data import SynthesisConfig
from .errors import InitWeightsError, TrainingError, WeightsError
from .fileio import file_sha256
from .hint_encoding import HintEncoding
from .losses import LossWeights
from .models import ModelConfig

# Keys that older versions wrote into train_config.json: accepted (and dropped) when off, so that
# runs started by them can be resumed. ``compile`` never did anything.
RETIRED_KEYS = frozenset({"compile"})


@dataclass
class TrainConfig:
    """One training run. ``batch`` is per process: a step sees ``batch x processes`` samples."""

    data: str = ""  # folder of color illustrations (the validation split is always left out)
    out: str = "runs/s2p"  # checkpoints, samples, log and the final weights
    init: str = ""  # start from these weights (a folder or .safetensors; a checkpoint brings its discriminator)
    init_sha256: str = ""  # the sha256 of init's weights file: training checks it before it starts ("": unchecked)
    notes: str = ""  # free text kept with the run (what this stage is, what differs from the recipe)
    # schedule
    steps: int = 1000  # train until this step
    schedule_steps: int = 0  # length of the cosine schedule; 0: ``steps``. Kept from the checkpoint on resume
    lr: float = 5e-4  # generator (and style encoder) peak learning rate
    lr_disc: float = 2e-4
    warmup: int = 200  # linear warm-up steps
    cosine_end: float = 0.1  # the learning rate decays to this fraction of its peak
    gan_start: int = 1000  # adversarial terms join after this many steps, ramped over as many (0: full at once)
    batch: int = 16
    size: int = 128  # training crop side in pixels
    seed: int = 0  # weights' initialization and the whole data stream
    ema: float = 0.0  # decay of a moving average of the trained weights (e.g. 0.995; 0: off): the run's final weights
    # machinery
    workers: int = 0  # data loader processes (the data stream does not depend on it)
    bf16: bool | None = None  # None: bf16 autocast where the CPU/GPU runs it fast, or as S2P_PRECISION forces it on the CPU
    channels_last: bool = True
    keep_heap: bool = True  # the ``s2p train`` process keeps freed memory (s2p_lab.heap); never inside a library call
    # cadence
    checkpoint_every: int = 250
    keep_checkpoints: int = 3
    sample_every: int = 500
    log_every: int = 25
    model: ModelConfig = field(default_factory=ModelConfig)  # its hint_encoding follows synthesis (validate)
    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)
    losses: LossWeights = field(default_factory=LossWeights)

    @property
    def horizon(self) -> int:
        """The step at which the cosine schedule reaches its end."""
        return self.schedule_steps or self.steps

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "training config") -> "TrainConfig":
        """Build from a (partial) dict; unknown keys and wrong types raise TrainingError naming the field."""
        if isinstance(data, dict):
            retired = sorted(k for k in RETIRED_KEYS if data.get(k))
            if retired:
                raise TrainingError(f"{source}: {retired[0]} is no longer an option (it never took effect): remove it")
            data = {k: v for k, v in data.items() if k not in RETIRED_KEYS}
        return _build(cls, data, "", source)

    def replace(self, changes: dict[str, Any], *, source: str = "command line") -> "TrainConfig":
        """A copy with ``changes`` applied; keys are field paths such as ``synthesis.p_no_reference``."""
        tree = self.to_dict()
        for path, value in changes.items():
            node = tree
            *parents, leaf = path.split(".")
            for part in parents:
                if not isinstance(node.get(part), dict):
                    raise TrainingError(f"{source}: unknown field {path}")
                node = node[part]
            if leaf not in node:
                raise TrainingError(f"{source}: unknown field {path}")
            node[leaf] = value
        return TrainConfig.from_dict(tree, source=source)

    def validate(self) -> "TrainConfig":
        """Raise TrainingError (one line, naming the field and its flag) for values out of range.

        Also sets ``model.hint_encoding`` from the synthesis settings: the network learns to see
        hints as they draw them, and its config keeps that with the weights."""
        at_least_one = ("steps", "batch", "checkpoint_every", "keep_checkpoints", "log_every", "sample_every")
        for name in at_least_one:
            if getattr(self, name) < 1:
                raise TrainingError(f"{flag_name(name)} must be at least 1, got {getattr(self, name)}")
        for name in ("schedule_steps", "warmup", "gan_start", "workers", "seed"):
            if getattr(self, name) < 0:
                raise TrainingError(f"{flag_name(name)} must be 0 or more, got {getattr(self, name)}")
        for name in ("lr", "lr_disc"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise TrainingError(f"{flag_name(name)} must be a positive number, got {value}")
        if not 0.0 <= self.ema < 1.0:
            raise TrainingError(f"{flag_name('ema')} must be 0 (off) or a decay below 1 such as 0.995, got {self.ema}")
        if self.init_sha256 and not (self.init and len(self.init_sha256) == 64
                                     and set(self.init_sha256) <= set("0123456789abcdef")):
            raise TrainingError(f"init_sha256 must be the 64 lowercase hex digits of init's sha256, with init "
                                f"set, got {self.init_sha256!r}")
        if not 0.0 <= self.cosine_end <= 1.0:
            raise TrainingError(f"{flag_name('cosine_end')} must be within 0..1, got {self.cosine_end}")
        try:
            self.model.validate()
        except WeightsError as exc:
            raise TrainingError(str(exc)) from None
        if self.size < 32 or self.size % self.model.multiple:
            raise TrainingError(f"{flag_name('size')} must be a multiple of {self.model.multiple} and at least 32, got {self.size}")
        s = self.synthesis
        for name in ("p_jitter", "p_no_hints", "p_region_hints", "p_no_reference", "p_spread_hints",
                     "p_reference_tone", "p_reference_hints", "reference_hint_errors"):
            if not 0.0 <= getattr(s, name) <= 1.0:
                raise TrainingError(f"synthesis.{name} must be a probability (0..1), got {getattr(s, name)}")
        if s.max_zoom < 1.0 or s.mean_hints < 0:
            raise TrainingError("synthesis.max_zoom must be at least 1 and synthesis.mean_hints 0 or more")
        if not 0.0 < s.reference_hint_alpha <= 1.0 or s.max_reference_hints < 1:
            raise TrainingError("synthesis.reference_hint_alpha must be above 0 and at most 1, and "
                                f"synthesis.max_reference_hints at least 1, got {s.reference_hint_alpha} and "
                                f"{s.max_reference_hints}")
        if not 0.0 <= s.hint_reach <= 1.0:
            raise TrainingError(f"synthesis.hint_reach must be a share of the longer side (0..1), got {s.hint_reach}")
        self.model = dataclasses.replace(self.model, hint_encoding=HintEncoding.from_synthesis(s))
        from .sketch import EXTRACTORS

        known = set(EXTRACTORS)
        if not s.extractors or set(s.extractors) - known:
            raise TrainingError(f"synthesis.extractors must be a non-empty list of {sorted(known)}, got {list(s.extractors)}")
        for name, value in dataclasses.asdict(self.losses).items():
            if value < 0:
                raise TrainingError(f"losses.{name} must be 0 or more, got {value}")
        if self.losses.correspondence > 0 and self.model.style_transfer != "attention":
            raise TrainingError("losses.correspondence needs the attention to the reference: model.style_transfer 'attention'")
        return self


# The command-line flag of each field that has one (the others: ``--set PATH=VALUE`` or a file).
FLAGS = {
    "data": "--data", "out": "--out", "init": "--init", "steps": "--steps", "schedule_steps": "--schedule-steps",
    "lr": "--lr", "lr_disc": "--lr-disc", "warmup": "--warmup", "cosine_end": "--cosine-end",
    "gan_start": "--gan-start", "batch": "--batch", "size": "--size", "seed": "--seed", "workers": "--workers", "ema": "--ema",
    "checkpoint_every": "--checkpoint-every", "keep_checkpoints": "--keep-checkpoints", "sample_every": "--sample-every",
    "log_every": "--log-every", "model.base_channels": "--base-channels", "model.style_transfer": "--style-transfer",
}


def flag_name(path: str) -> str:
    """``keep_checkpoints (--keep-checkpoints)``: the field and, where it has one, its flag."""
    return f"{path} ({FLAGS[path]})" if path in FLAGS else path


def check_init(config: TrainConfig) -> Path:
    """The weights file ``config.init`` names, checked against ``config.init_sha256`` where set
    (``InitWeightsError`` when it differs: another version of the parent weights)."""
    from .models.build import weights_file

    file = weights_file(config.init)
    if config.init_sha256:
        found = file_sha256(file)
        if found != config.init_sha256:
            raise InitWeightsError(f"init {file}: sha256 {found[:12]}... is not the init_sha256 "
                                   f"{config.init_sha256[:12]}... the config names: other weights than the "
                                   "stage was trained from")
    return file


def load_config(path: str | os.PathLike) -> TrainConfig:
    """A TrainConfig from a JSON file, or from the header of a training checkpoint (``.safetensors``)."""
    file = Path(path)
    if not file.is_file():
        raise TrainingError(f"{file}: config file not found")
    if file.suffix == ".safetensors":
        from .weights import read_metadata

        meta = read_metadata(file)
        if "s2p.train_config" not in meta:
            raise TrainingError(f"{file}: not a training checkpoint (no training config in its header)")
        text = meta["s2p.train_config"]
    else:
        text = file.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TrainingError(f"{file}: not valid JSON ({exc})") from None
    return TrainConfig.from_dict(data, source=str(file))


# ---------------------------------------------------------------------------------- strict reading


def _type_name(kind: Any) -> str:
    if kind is bool:
        return "true or false"
    if kind is int:
        return "an integer"
    if kind is float:
        return "a number"
    if kind is str:
        return "a string"
    return "a list of strings"


def _check(value: Any, kind: Any, path: str, source: str) -> Any:
    """``value`` converted to ``kind`` (int, float, bool, str, tuple[str, ...], X | None, dataclass)."""
    origin = typing.get_origin(kind)
    if origin in (typing.Union, types.UnionType):
        options = [k for k in typing.get_args(kind) if k is not type(None)]
        return None if value is None else _check(value, options[0], path, source)
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, path + ".", source)
    ok = {
        bool: isinstance(value, bool),
        int: isinstance(value, int) and not isinstance(value, bool),
        float: isinstance(value, (int, float)) and not isinstance(value, bool),
        str: isinstance(value, str),
    }.get(kind)
    if origin is tuple:
        ok = isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)
        value = tuple(value) if ok else value
    if not ok:
        raise TrainingError(f"{source}: {path} must be {_type_name(kind)}, got {json.dumps(value)}")
    return float(value) if kind is float else value


def _build(cls: type, data: Any, prefix: str, source: str) -> Any:
    if not isinstance(data, dict):
        raise TrainingError(f"{source}: {prefix.rstrip('.') or 'the config'} must be a JSON object")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = sorted(set(data) - set(names))
    if unknown:
        raise TrainingError(f"{source}: unknown field {prefix}{unknown[0]} (known: {', '.join(names)})")
    return cls(**{name: _check(value, hints[name], prefix + name, source) for name, value in data.items()})
