"""Training checkpoints: everything a run needs to go on, in one safetensors file per step.

A checkpoint ``ckpt-<step>.safetensors`` holds, by name prefix: ``model.*`` and ``disc.*`` (the
two networks' state dicts), ``ema.*`` (the moving average of the model's floating-point tensors,
where the run keeps one; ``models.load_model`` reads a checkpoint as these weights),
``opt_g.<index>.<key>`` and ``opt_d.<index>.<key>`` (the optimizers' states) and ``rng.torch`` /
``rng.cuda``. Its header holds the kind, the model and training configs, the step, the samples
drawn so far, the training seconds, the optimizers' param groups (JSON) and the moving average's
step count. Files are written atomically, so a killed run leaves at most a stale temporary file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from .errors import CheckpointError, WeightsError
from .models import ModelConfig
from .train_config import TrainConfig
from .weights import load_tensors, save_tensors, section

__all__ = ["CHECKPOINT_PREFIX", "Position", "checkpoint_discriminator", "checkpoint_path", "list_checkpoints",
           "prune_checkpoints", "read_checkpoint", "remove_stale_temp_files", "write_checkpoint"]

CHECKPOINT_PREFIX = "ckpt-"
KIND = "training-checkpoint"
# temporary files of the run folder's atomic writes: checkpoints, the config, sample grids
TEMP_PREFIXES = (f".{CHECKPOINT_PREFIX}", ".train_config.json.", ".samples-")


def checkpoint_path(out: Path, step: int) -> Path:
    """The checkpoint file of ``step`` in the run folder ``out``."""
    return out / f"{CHECKPOINT_PREFIX}{step:07d}.safetensors"


def list_checkpoints(out: Path) -> list[Path]:
    """Checkpoints in ``out``, newest first."""
    return sorted(out.glob(f"{CHECKPOINT_PREFIX}*.safetensors"), reverse=True)


def prune_checkpoints(out: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints in ``out``."""
    for old in list_checkpoints(out)[keep:]:
        old.unlink(missing_ok=True)


def remove_stale_temp_files(out: Path, before: float) -> None:
    """Delete temporary files in ``out`` older than ``before`` (a time): left by killed runs."""
    for tmp in out.glob(".*.tmp"):
        if tmp.name.startswith(TEMP_PREFIXES):
            try:
                if tmp.stat().st_mtime < before:
                    tmp.unlink()
            except OSError:
                pass


def checkpoint_discriminator(path: str | os.PathLike) -> dict[str, torch.Tensor] | None:
    """The discriminator's tensors when ``path`` is a trainer checkpoint file, else ``None``."""
    file = Path(path)
    if not file.is_file():
        return None
    tensors, _ = load_tensors(file)
    disc = {k: v.float() for k, v in section(tensors, "disc").items()}
    return disc or None


def _flatten_optimizer(prefix: str, optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], str]:
    state = optimizer.state_dict()
    tensors = {}
    for index, values in state["state"].items():
        for key, value in values.items():
            tensors[f"{prefix}.{index}.{key}"] = value if torch.is_tensor(value) else torch.tensor(value)
    return tensors, json.dumps(state["param_groups"])


def _restore_optimizer(prefix: str, optimizer: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: str) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for name, value in tensors.items():
        if name.startswith(prefix + "."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": json.loads(groups)})


@dataclass
class Position:
    """Where a run stands: a checkpoint's header, and its moving average where it has one."""

    step: int
    samples: int  # samples drawn by all processes so far: where the data stream goes on
    seconds: float  # training wall time accumulated over resumed runs
    horizon: int  # the cosine schedule's length (written as the training config's ``schedule_steps``)
    ema: dict[str, torch.Tensor] | None = None  # the moving average (fp32), by the model's names
    ema_steps: int = 0  # updates of the average so far (its warm-up)


def write_checkpoint(path: Path, *, config: TrainConfig, model: nn.Module, disc: nn.Module,
                     opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, position: Position,
                     device: torch.device) -> Path:
    """Write the networks, the optimizers, the RNG state and ``position`` to ``path`` atomically."""
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"disc.{k}": v for k, v in disc.state_dict().items()})
    if position.ema is not None:
        tensors.update({f"ema.{k}": v for k, v in position.ema.items()})
    flat_g, groups_g = _flatten_optimizer("opt_g", opt_g)
    flat_d, groups_d = _flatten_optimizer("opt_d", opt_d)
    tensors.update(flat_g)
    tensors.update(flat_d)
    tensors["rng.torch"] = torch.get_rng_state()
    if device.type == "cuda":
        tensors["rng.cuda"] = torch.cuda.get_rng_state(device)
    meta = {
        "s2p.kind": KIND,
        "s2p.model_config": json.dumps(config.model.to_dict()),
        "s2p.train_config": json.dumps(config.to_dict()),
        "s2p.step": str(position.step),
        "s2p.samples": str(position.samples),
        "s2p.seconds": f"{position.seconds:.1f}",
        "s2p.opt_g_groups": groups_g,
        "s2p.opt_d_groups": groups_d,
    }
    if position.ema is not None:
        meta["s2p.ema_steps"] = str(position.ema_steps)
    return save_tensors(path, tensors, meta)


def read_checkpoint(path: Path, *, config: TrainConfig, model: nn.Module, disc: nn.Module,
                    opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer, world: int,
                    device: torch.device) -> Position:
    """Load the networks, the optimizers and the RNG state from ``path`` in place; where the run stood.

    A file that is damaged, not a training checkpoint, or of another model is a ``CheckpointError``
    that names it and says why.
    """
    tensors, meta = load_tensors(path, error=CheckpointError)
    if meta.get("s2p.kind") != KIND:
        raise CheckpointError(f"{path.name}: not an s2p-lab training checkpoint")
    try:
        saved = ModelConfig.from_dict(json.loads(meta["s2p.model_config"]))
        step, seconds = int(meta["s2p.step"]), float(meta.get("s2p.seconds", 0.0))
        trained = json.loads(meta.get("s2p.train_config", "{}"))
        horizon = int(trained.get("schedule_steps") or trained.get("steps") or config.horizon)
        samples = int(meta.get("s2p.samples", step * config.batch * world))
    except (KeyError, ValueError, TypeError, AttributeError, WeightsError) as exc:
        raise CheckpointError(f"{path.name}: unreadable checkpoint header ({' '.join(str(exc).split())})") from None
    if not saved.same_networks(config.model):  # the hint encoding follows this stage's synthesis
        raise CheckpointError(f"{path.name}: checkpoint was trained with another model config: {saved}")
    try:
        model.load_state_dict(section(tensors, "model"))
        disc.load_state_dict(section(tensors, "disc"))
        _restore_optimizer("opt_g", opt_g, tensors, meta["s2p.opt_g_groups"])
        _restore_optimizer("opt_d", opt_d, tensors, meta["s2p.opt_d_groups"])
        ema = {k: v.float().clone() for k, v in section(tensors, "ema").items()}
        averaged = {k: v for k, v in model.state_dict().items() if v.is_floating_point()}
        if ema and (set(ema) != set(averaged) or any(ema[k].shape != averaged[k].shape for k in ema)):
            raise KeyError("its moving average does not match the model's tensors")
        ema_steps = int(meta.get("s2p.ema_steps", step)) if ema else 0
        if "rng.torch" in tensors:
            torch.set_rng_state(tensors["rng.torch"])
        if "rng.cuda" in tensors and device.type == "cuda":
            torch.cuda.set_rng_state(tensors["rng.cuda"], device)
    except (RuntimeError, KeyError, ValueError, TypeError) as exc:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
        raise CheckpointError(f"{path.name}: checkpoint does not fit this model ({reason})") from None
    return Position(step=step, samples=samples, seconds=seconds, horizon=horizon, ema=ema or None, ema_steps=ema_steps)
