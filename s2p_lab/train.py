"""Training: one loop that runs alone or under ``torchrun`` (DistributedDataParallel).

    s2p train --config configs/v0.2-stage1.json [--steps N] [--set synthesis.p_no_reference=0.1]
    s2p train --data DIR --steps N --size 128 --out runs/x [--resume]
    torchrun --nproc_per_node 2 -m s2p_lab.train --config FILE

Every knob is a field of :class:`~s2p_lab.train_config.TrainConfig` (a JSON file, flags on top).
DDP switches itself on from torchrun's environment (``WORLD_SIZE``); ``batch`` is per process.
The data stream is a function of (seed, sample number) (``s2p_lab.data.SampleStream``), so it is
the same with any number of loader workers and a resumed run continues it where it stopped.

Checkpoints are single safetensors files (model, discriminator, optimizers, the torch RNG; the
training config, the step and the count of samples drawn in the header) written atomically every
``checkpoint_every`` steps, the newest ``keep_checkpoints`` kept. ``--resume`` continues from the
newest checkpoint that verifies: stopped at step k and resumed, a run ends with the same weights
as one that never stopped. The cosine schedule's length is kept from the checkpoint, so a larger
``--steps`` on resume trains on at the schedule's end learning rate (``cosine_end``); a different
``--schedule-steps`` is refused (start a new stage with ``--init CHECKPOINT`` instead).

With ``ema`` (a decay such as 0.995) the trainer also keeps an exponential moving average of the
trained weights, updated after every step; checkpoints hold it (``ema.*``), the final weights are
it, and a checkpoint loaded as weights (``--weights``, ``--init``) gives it. It smooths out the
step-to-step noise of small batches, which otherwise decides which of a run's checkpoints is best.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, default_collate
from tqdm.auto import tqdm

from .data import IllustrationDataset, SampleStream
from .errors import CheckpointError, TrainingError, WeightsError
from .fileio import write_bytes_atomic
from .losses import correspondence_loss, lsgan, reconstruction_losses
from .models import ColorizationModel, Discriminator, ModelConfig, reference_hint_alpha, save_model, spread_reach
from .runtime import bf16_available
from .train_config import FLAGS, TrainConfig, load_config
from .weights import load_tensors, save_tensors, section

__all__ = ["TrainConfig", "Trainer", "add_arguments", "checkpoint_path", "list_checkpoints", "main", "run"]

CHECKPOINT_PREFIX = "ckpt-"


def checkpoint_path(out: Path, step: int) -> Path:
    return out / f"{CHECKPOINT_PREFIX}{step:07d}.safetensors"


def list_checkpoints(out: Path) -> list[Path]:
    """Checkpoints in ``out``, newest first."""
    return sorted(out.glob(f"{CHECKPOINT_PREFIX}*.safetensors"), reverse=True)


def _checkpoint_discriminator(path: str | os.PathLike) -> dict[str, torch.Tensor] | None:
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


def lr_scale(step: int, warmup: int, horizon: int, end: float) -> float:
    """Linear warm-up, then a cosine from 1 to ``end`` at ``horizon``; ``end`` after it."""
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, horizon - warmup))
    return end + (1 - end) * 0.5 * (1 + math.cos(math.pi * progress))


def gan_weight(step: int, start: int) -> float:
    """0 before ``start``, then a ramp to 1 over ``start`` steps (at once when ``start`` is 0)."""
    if step < start:
        return 0.0
    return min(1.0, (step - start + 1) / max(1, start))


class ScheduleFitter:
    """How many steps fit a time budget, from the speed of the run's own steps.

    It times the steps after ``measure_from`` (where the adversarial terms join, since they slow a
    step) and the first two of the call (start-up: workers, kernel selection), and decides once
    the window holds at least ``min_steps`` steps and ``window_share`` of the budget, or half of
    the budget is spent. The answer keeps ``margin`` of the remaining time free for checkpoints,
    sample grids and the final weights.
    """

    def __init__(self, budget: float, first_step: int, measure_from: int = 0, *, min_steps: int = 4,
                 window_share: float = 0.1, margin: float = 0.08) -> None:
        self.budget, self.min_steps, self.window_share, self.margin = budget, min_steps, window_share, margin
        self.window_start = max(first_step + 2, measure_from + 1)
        self.start_step: int | None = None
        self.start_time = 0.0
        self.steps: int | None = None  # the answer, once decided

    def observe(self, step: int, elapsed: float) -> bool:
        """Record that ``step`` steps are done after ``elapsed`` seconds; True once decided."""
        if self.start_step is None and step >= self.window_start:
            self.start_step, self.start_time = step, elapsed
        if self.start_step is not None:
            done, spent = step - self.start_step, elapsed - self.start_time
            ready = done >= self.min_steps and spent >= self.window_share * self.budget
        else:
            done, spent, ready = 0, 0.0, False
        if not ready and elapsed < 0.5 * self.budget:
            return False
        if done > 0 and spent > 0:
            per_step = spent / done
        else:  # the window never opened: the call's average so far
            per_step = elapsed / max(step, 1)
        remaining = max(0.0, self.budget - elapsed) * (1.0 - self.margin)
        self.steps = step + int(remaining / per_step)
        return True


def set_train_mode(model: torch.nn.Module) -> None:
    """Train mode, except for parts whose parameters are all frozen (their statistics stay put)."""
    model.train()
    for module in model.modules():
        params = list(module.parameters())
        if params and not any(p.requires_grad for p in params):
            module.eval()


class Trainer:
    """Owns the networks, optimizers, data and the loop; ``fit()`` trains to ``config.steps``."""

    def __init__(self, config: TrainConfig, *, progress: bool = True) -> None:
        c = self.config = config.validate()
        c.synthesis.size, c.synthesis.style_size = c.size, c.model.style_size
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.distributed = self.world > 1
        self.dataset = IllustrationDataset(c.data, c.synthesis, seed=c.seed,
                                           reference_places=c.losses.correspondence > 0)
        if self.distributed and not dist.is_initialized():
            dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        self.rank = dist.get_rank() if self.distributed else 0
        if torch.cuda.is_available():
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(self.device)
            torch.backends.cudnn.benchmark = True  # every step has the same shapes: pick the fastest kernels once
            torch.set_float32_matmul_precision("high")  # what runs outside the bf16 autocast may use TF32
        else:
            self.device = torch.device("cpu")
        self.is_main = self.rank == 0
        self.progress = progress and self.is_main
        self.out = Path(c.out)
        self.started_at = time.time()  # temporary files older than this are from killed runs
        self.bf16 = bf16_available(self.device) if c.bf16 is None else c.bf16

        torch.manual_seed(c.seed)  # the same initial weights in every process
        self.model = ColorizationModel(c.model).to(self.device)
        self.disc = Discriminator(c.model).to(self.device)
        if c.channels_last:
            self.model.to(memory_format=torch.channels_last)
            self.disc.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.AdamW(self.model.parameters(), lr=c.lr, betas=(0.9, 0.99), weight_decay=1e-4)
        self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=c.lr_disc, betas=(0.5, 0.99), weight_decay=0.0)
        self.g_net: torch.nn.Module = DistributedDataParallel(self.model) if self.distributed else self.model
        self.d_net: torch.nn.Module = DistributedDataParallel(self.disc) if self.distributed else self.disc
        self.step = 0
        self.samples = 0  # samples drawn by all processes so far: where the data stream goes on
        self.horizon = c.horizon
        self.seconds = 0.0  # training wall time accumulated over resumed runs
        self.history: list[dict] = []
        self.fixed_batch: dict[str, torch.Tensor] | None = None
        self.ema: dict[str, torch.Tensor] | None = None  # the moving average (``config.ema``), fp32
        self.ema_steps = 0  # steps averaged so far (its warm-up)

    # ------------------------------------------------------------------ the moving average
    def _ema_sources(self) -> dict[str, torch.Tensor]:
        """The model's floating-point tensors that are saved (what ``save_model`` writes)."""
        return {k: v for k, v in self.model.state_dict().items() if v.is_floating_point()}

    def start_ema(self) -> None:
        """Start the average at the current weights (a fresh run, or a run that turns it on)."""
        self.ema = {k: v.detach().float().clone() for k, v in self._ema_sources().items()}
        self.ema_steps = 0

    @torch.no_grad()
    def update_ema(self) -> None:
        """One step of the average; its decay ramps up as (1 + n) / (10 + n) to ``config.ema``, so
        a run from random weights does not keep them for long."""
        if self.ema is None:
            return
        decay = min(self.config.ema, (1 + self.ema_steps) / (10 + self.ema_steps))
        sources = self._ema_sources()
        keys = list(self.ema)
        torch._foreach_lerp_([self.ema[k] for k in keys], [sources[k].float() for k in keys], 1.0 - decay)
        self.ema_steps += 1

    def ema_state(self) -> dict[str, torch.Tensor]:
        """The model's state dict with the average in place of its floating-point tensors."""
        state = self.model.state_dict()
        if self.ema is None:
            return state
        return {k: self.ema[k].to(v.dtype) if k in self.ema else v for k, v in state.items()}

    def _load_init(self, source: str) -> None:
        from .models import load_model

        try:
            init = load_model(source)
            missing, unexpected = self.model.load_state_dict(init.state_dict(), strict=False)
            # weights trained without a pretrained backbone start a model with one: only the
            # joins are new, and they start at zero, so the model computes what the init did
            new_joins = [k for k in missing if ".sketch_join." in k or ".backbone_join." in k]
            if unexpected or len(new_joins) != len(missing):
                wrong = sorted(set(missing) - set(new_joins)) + sorted(unexpected)
                raise RuntimeError(f"{len(wrong)} tensor(s) do not match, e.g. {wrong[0]}")
            if new_joins:
                tqdm.write(f"--init {source}: {len(new_joins)} tensors of the new feature joins start at zero")
            disc_state = _checkpoint_discriminator(source)
            if disc_state is not None:  # a trainer checkpoint: go on with its discriminator too
                self.disc.load_state_dict(disc_state)
        except RuntimeError as exc:
            raise WeightsError(f"--init {source}: weights do not fit the model being trained "
                               f"({' '.join(str(exc).split())[:300]})") from None

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self) -> Path | None:
        """Write the newest checkpoint atomically and prune old ones (main process only)."""
        if not self.is_main:
            return None
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors.update({f"disc.{k}": v for k, v in self.disc.state_dict().items()})
        if self.ema is not None:
            tensors.update({f"ema.{k}": v for k, v in self.ema.items()})
        opt_g, groups_g = _flatten_optimizer("opt_g", self.opt_g)
        opt_d, groups_d = _flatten_optimizer("opt_d", self.opt_d)
        tensors.update(opt_g)
        tensors.update(opt_d)
        tensors["rng.torch"] = torch.get_rng_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        meta = {
            "s2p.kind": "training-checkpoint",
            "s2p.model_config": json.dumps(self.config.model.to_dict()),
            "s2p.train_config": json.dumps(self.config.to_dict()),
            "s2p.step": str(self.step),
            "s2p.samples": str(self.samples),
            "s2p.seconds": f"{self.seconds:.1f}",
            "s2p.opt_g_groups": groups_g,
            "s2p.opt_d_groups": groups_d,
        }
        if self.ema is not None:
            meta["s2p.ema_steps"] = str(self.ema_steps)
        path = save_tensors(checkpoint_path(self.out, self.step), tensors, meta)
        for old in list_checkpoints(self.out)[self.config.keep_checkpoints :]:
            old.unlink(missing_ok=True)
        self._remove_stale_temp_files()
        return path

    def _remove_stale_temp_files(self) -> None:
        """Delete temporary files left by writes of runs killed before this one started."""
        for tmp in self.out.glob(".*.tmp"):
            if tmp.name.startswith((f".{CHECKPOINT_PREFIX}", ".train_config.json.", ".samples-")):
                try:
                    if tmp.stat().st_mtime < self.started_at:
                        tmp.unlink()
                except OSError:
                    pass

    def load_checkpoint(self, path: Path) -> None:
        """Weights, optimizers, RNG, step and data position from a checkpoint (CheckpointError if unusable)."""
        tensors, meta = load_tensors(path, error=CheckpointError)
        if meta.get("s2p.kind") != "training-checkpoint":
            raise CheckpointError(f"{path.name}: not an s2p-lab training checkpoint")
        try:
            saved = ModelConfig.from_dict(json.loads(meta["s2p.model_config"]))
            step, seconds = int(meta["s2p.step"]), float(meta.get("s2p.seconds", 0.0))
            trained = json.loads(meta.get("s2p.train_config", "{}"))
            horizon = int(trained.get("schedule_steps") or trained.get("steps") or self.config.horizon)
            samples = int(meta.get("s2p.samples", step * self.config.batch * self.world))
        except (KeyError, ValueError, TypeError, AttributeError, WeightsError) as exc:
            raise CheckpointError(f"{path.name}: unreadable checkpoint header ({' '.join(str(exc).split())})") from None
        if saved != self.config.model:
            raise CheckpointError(f"{path.name}: checkpoint was trained with another model config: {saved}")
        try:
            self.model.load_state_dict(section(tensors, "model"))
            self.disc.load_state_dict(section(tensors, "disc"))
            _restore_optimizer("opt_g", self.opt_g, tensors, meta["s2p.opt_g_groups"])
            _restore_optimizer("opt_d", self.opt_d, tensors, meta["s2p.opt_d_groups"])
            ema = {k: v.float().clone() for k, v in section(tensors, "ema").items()}
            if ema and set(ema) != set(self._ema_sources()):
                raise KeyError("its moving average does not match the model's tensors")
            self.ema, self.ema_steps = (ema, int(meta.get("s2p.ema_steps", step))) if ema else (None, 0)
            if "rng.torch" in tensors:
                torch.set_rng_state(tensors["rng.torch"])
            if "rng.cuda" in tensors and self.device.type == "cuda":
                torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise CheckpointError(f"{path.name}: checkpoint does not fit this model ({reason})") from None
        self.step, self.seconds, self.samples, self.checkpoint_horizon = step, seconds, samples, horizon

    def restore(self, resume: bool) -> Path | None:
        """The weights to start from: the newest checkpoint (``resume``, returned), else ``init``.

        A resumed stage has everything in its checkpoint, so its ``init`` file may be gone.
        """
        found = self.resume() if resume else None
        if found is None and self.config.init:
            self._load_init(self.config.init)
        return found

    def resume(self) -> Path | None:
        """Load the newest checkpoint that verifies; report and skip corrupt ones."""
        problems = []
        for path in list_checkpoints(self.out):
            try:
                self.load_checkpoint(path)
            except CheckpointError as exc:
                problems.append(str(exc))
                continue
            if problems and self.is_main:
                tqdm.write("skipped corrupt checkpoint(s): " + "; ".join(problems))
            wanted = self.config.schedule_steps
            if wanted and wanted != self.checkpoint_horizon:
                raise TrainingError(
                    f"{path.name} was trained on a {self.checkpoint_horizon}-step schedule; --schedule-steps "
                    f"{wanted} would change its learning rate midway: leave it out (training past the schedule "
                    f"goes on at its end rate), or start a new stage with --init {path}")
            self.horizon = self.checkpoint_horizon
            return path
        if problems:
            raise CheckpointError("no usable checkpoint to resume from: " + "; ".join(problems))
        return None

    # ------------------------------------------------------------------ one step
    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        fmt = torch.channels_last if self.config.channels_last else torch.contiguous_format
        return {
            k: v.to(self.device, non_blocking=True).contiguous(memory_format=fmt) if v.dim() == 4 else v.to(self.device)
            for k, v in batch.items()
        }

    @torch.no_grad()
    def target_style(self, target: torch.Tensor) -> torch.Tensor:
        """The target's own style vector (the style head's goal), with the encoder in eval mode.

        Train mode here would move the encoder's batch statistics a second time per step, toward
        targets, which it never sees at inference.
        """
        encoder = self.model.style_encoder
        was_training = encoder.training
        encoder.eval()
        small = F.interpolate(target, size=(self.config.model.style_size,) * 2, mode="bilinear", align_corners=False)
        vector = encoder(small).vector.detach()
        encoder.train(was_training)
        return vector

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One generator and (once the GAN is on) one discriminator update."""
        c, w = self.config, self.config.losses
        b = self._to_device(batch)
        scale = lr_scale(self.step, c.warmup, self.horizon, c.cosine_end)
        for group in self.opt_g.param_groups:
            group["lr"] = c.lr * scale
        for group in self.opt_d.param_groups:
            group["lr"] = c.lr_disc * scale
        gan = gan_weight(self.step, c.gan_start)
        set_train_mode(self.model)
        set_train_mode(self.disc)
        attention = list(self.model.generator.mid_attention) if w.correspondence > 0 else []
        for layer in attention:
            layer.record_weights = True
        with self._autocast():
            out, _ = self.g_net(b)
            losses = reconstruction_losses(out, b["target"])
            total = w.l1 * losses["l1"] + w.gray_guide * losses.get("gray_guide", 0) + w.color_guide * losses.get("color_guide", 0)
            if attention:
                levels = self.model.config.levels
                grid = (b["sketch"].shape[-2] >> levels, b["sketch"].shape[-1] >> levels)  # the bottleneck's
                terms = [correspondence_loss(layer.recorded, grid, b["reference_place"], b["has_reference"])
                         for layer in attention]
                terms = [t for t in terms if t is not None]
                if terms:
                    losses["correspondence"] = torch.stack(terms).mean()
                    total = total + w.correspondence * losses["correspondence"]
            if gan > 0:
                target_style = self.target_style(b["target"])
                self.disc.requires_grad_(False)  # the generator's update leaves the discriminator alone
                logits, style_pred = self.disc(out.rgb, b["sketch"])
                self.disc.requires_grad_(True)
                losses["g_adv"] = lsgan(logits, True)
                losses["g_style"] = F.mse_loss(style_pred.float(), target_style.float())
                total = total + gan * (w.adversarial * losses["g_adv"] + w.style_aux * losses["g_style"])
        for layer in attention:
            layer.record_weights, layer.recorded = False, None
        if not torch.isfinite(total):
            raise self._stopped(f"loss is {total.item()} (not finite)")
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt_g.step()
        if gan > 0:
            with self._autocast():  # reals and fakes in one pass: one DDP forward per backward
                logits, style = self.d_net(torch.cat([b["target"], out.rgb.detach().to(b["target"].dtype)]),
                                           torch.cat([b["sketch"], b["sketch"]]))
                (real_logits, fake_logits), (real_style, fake_style) = logits.chunk(2), style.chunk(2)
                d_loss = lsgan(real_logits, True) + lsgan(fake_logits, False)
                d_style = F.mse_loss(real_style.float(), target_style.float()) + fake_style.float().pow(2).mean()
                d_total = d_loss + w.disc_style_aux * d_style
            if not torch.isfinite(d_total):
                raise self._stopped("discriminator loss is not finite")
            self.opt_d.zero_grad(set_to_none=True)
            d_total.backward()
            self.opt_d.step()
            losses["d"] = d_loss
            losses["d_style"] = d_style
        losses["total"] = total
        return {k: float(v.detach()) if torch.is_tensor(v) else float(v) for k, v in losses.items()}

    def _stopped(self, reason: str) -> TrainingError:
        kept = list_checkpoints(self.out)
        if kept:
            where = f"The last good checkpoint {kept[0]} is kept: resume with a lower --lr"
        else:
            where = f"No checkpoint was written yet in {self.out}: start again with a lower --lr"
        return TrainingError(f"step {self.step}: {reason}; stopped. {where}")

    # ------------------------------------------------------------------ the loop
    def stream(self, stop: int | None = None) -> SampleStream:
        """This process's batches of (image, sample number) from the current step to ``stop``."""
        c = self.config
        return SampleStream(len(self.dataset), batch=c.batch, seed=c.seed, start=self.step,
                            stop=c.steps if stop is None else stop, first=self.samples, rank=self.rank, world=self.world)

    def loader(self, stop: int | None = None) -> DataLoader:
        """Batches from the current step to ``stop`` (default ``config.steps``); the stream does not
        depend on ``workers``."""
        c = self.config
        return DataLoader(self.dataset, batch_sampler=self.stream(stop), num_workers=c.workers,
                          persistent_workers=False, pin_memory=self.device.type == "cuda")

    def sample_batch(self, count: int = 8) -> dict[str, torch.Tensor]:
        """The run's first samples (fixed for the whole run, resumed or not): the sample grids' rows."""
        first = SampleStream(len(self.dataset), batch=count, seed=self.config.seed, start=0, stop=1)
        return default_collate([self.dataset[key] for key in next(iter(first))])

    def fit(self, resume: bool = False, callback: Callable[["Trainer", dict], None] | None = None,
            max_seconds: float | None = None, fit_schedule: bool = False) -> dict:
        """Train until ``config.steps``; returns a summary (steps, seconds, last losses, finished).

        ``callback(trainer, record)`` runs on the main process after every logged step (live
        plots in notebooks); ``trainer.history`` holds all records so far. ``max_seconds``: a
        time budget for this call (training steps only, not the start-up): after the step that
        passes it, a checkpoint is written and the call returns with ``finished`` False and no
        final weights; ``fit(resume=True)`` goes on exactly as if the run had not stopped.

        ``fit_schedule`` (a fresh run with ``max_seconds``): the run measures its own speed once the
        adversarial terms have joined and sets ``config.steps`` and the cosine schedule to the steps
        that fit the budget (see :class:`ScheduleFitter`), so that a time-boxed stage, on a borrowed
        GPU say, ends with a full schedule and final weights whatever the machine's speed.
        """
        if max_seconds is not None and not max_seconds > 0:
            raise TrainingError(f"the time budget must be positive, got {max_seconds}")
        if fit_schedule and max_seconds is None:
            raise TrainingError("fitting the schedule to the time needs a time budget (--max-minutes)")
        if fit_schedule and self.distributed:
            raise TrainingError("--fit-schedule times one process; under torchrun give --steps instead")
        c = self.config
        found = self.restore(resume)
        if found is not None and self.is_main:
            tqdm.write(f"resumed from {found.name} at step {self.step}")
        if fit_schedule and found is not None:
            raise TrainingError(f"{found.name} already has its schedule ({self.horizon} steps): a resumed run "
                                f"keeps it; leave out --fit-schedule")
        c.schedule_steps = self.horizon  # saved resolved: a resume keeps this schedule
        if c.ema > 0 and self.ema is None:
            self.start_ema()
        elif c.ema == 0:
            self.ema = None
        if self.is_main:
            self.fixed_batch = self.sample_batch()
            self.out.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(self.out / "train_config.json", c.to_json().encode())
        bar = tqdm(total=c.steps, initial=self.step, disable=not self.progress, desc="train", unit="step")
        last: dict[str, float] = {}
        started, seconds_at_start, images = time.perf_counter(), self.seconds, 0
        finished = True
        fitter = None
        if fit_schedule:
            fitter = ScheduleFitter(budget=max_seconds, first_step=self.step,
                                    measure_from=c.gan_start if c.losses.adversarial > 0 else 0)
        # a fitted run may be longer than the configured one: the stream then runs on until it stops
        for batch in self.loader(stop=None if fitter is None else self.step + 100 * max(c.steps, 1000)):
            last = self.train_step(batch)
            self.update_ema()
            self.step += 1
            self.samples += c.batch * self.world
            images += c.batch * self.world
            self.seconds = seconds_at_start + time.perf_counter() - started
            bar.update(1)
            if fitter is not None and fitter.steps is None and fitter.observe(self.step, time.perf_counter() - started):
                self._set_schedule(fitter.steps, bar)
            if self.step % c.log_every == 0 or self.step == c.steps:
                self._log(last, images / max(time.perf_counter() - started, 1e-6), bar, callback)
            if self.step % c.checkpoint_every == 0 or self.step == c.steps:
                self.save_checkpoint()
            if self.is_main and (self.step % c.sample_every == 0 or self.step == c.steps):
                self.save_samples(self.fixed_batch, self.out / f"samples-{self.step:07d}.png")
            if max_seconds is not None and self.step < c.steps and self._out_of_time(time.perf_counter() - started, max_seconds):
                if self.step % c.checkpoint_every != 0:
                    self.save_checkpoint()
                finished = False
                break
            if self.step >= c.steps:
                break
        bar.close()
        if self.is_main and finished:
            # how the network saw hints, so that the colorizer sends them the same way
            extra = {"trained_steps": self.step, "train_seconds": round(self.seconds, 1),
                     "hint_reach": spread_reach(c.to_dict()["synthesis"]),
                     "reference_hint_alpha": reference_hint_alpha(c.to_dict()["synthesis"])}
            if self.ema is not None:
                extra["ema"] = c.ema
            save_model(self.model, self.out / "final", extra, state=self.ema_state())
        elif self.is_main:
            tqdm.write(f"time budget of {max_seconds:g} s spent at step {self.step} of {c.steps}: "
                       f"checkpoint saved; go on with --resume")
        if self.distributed:
            dist.barrier()
        return {"steps": self.step, "seconds": self.seconds, "last": last, "out": str(self.out), "finished": finished}

    def _set_schedule(self, steps: int, bar: tqdm) -> None:
        """Make ``steps`` the run's length and the cosine schedule's (fitted to the time budget)."""
        c = self.config
        c.steps = c.schedule_steps = self.horizon = max(steps, self.step + 1)
        bar.total = c.steps
        bar.refresh()
        if self.is_main:
            tqdm.write(f"schedule fitted to the time budget: {c.steps} steps")
            write_bytes_atomic(self.out / "train_config.json", c.to_json().encode())

    def _out_of_time(self, elapsed: float, budget: float) -> bool:
        """Whether this call's time budget is spent; in a distributed run, whether any process's is
        (all processes stop at the same step)."""
        over = elapsed > budget
        if self.distributed:
            flag = torch.tensor([1.0 if over else 0.0], device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            over = bool(flag.item() > 0)
        return over

    def _log(self, last: dict[str, float], images_per_s: float, bar: tqdm, callback) -> None:
        record = {"step": self.step, "seconds": round(self.seconds, 1), **{k: round(v, 5) for k, v in last.items()},
                  "images_per_s": round(images_per_s, 2)}
        self.history.append(record)
        bar.set_postfix(l1=f"{last['l1']:.3f}", ips=record["images_per_s"])
        if self.is_main:
            if callback is not None:
                callback(self, record)
            with (self.out / "log.jsonl").open("a") as log:
                log.write(json.dumps(record) + "\n")

    def save_samples(self, batch: dict[str, torch.Tensor], path: Path) -> Path:
        """Save ``sample_grid(batch)`` as a PNG."""
        from .imageio import save_image

        return save_image(self.sample_grid(batch), path)

    @torch.no_grad()
    def sample_grid(self, batch: dict[str, torch.Tensor] | None = None) -> np.ndarray:
        """uint8 grid: rows are samples; columns sketch, hints, reference, output, target."""
        batch = batch if batch is not None else (self.fixed_batch or self.sample_batch())
        self.model.eval()
        b = self._to_device(batch)
        with self._autocast():
            style = self.model.style_encoder(b["reference"])
            style.present = b["has_reference"]
            rgb = self.model.generator(b["sketch"], b["hints"], style).rgb.float()
        set_train_mode(self.model)
        size = rgb.shape[-1]
        sketch = (1 - b["sketch"].float()).expand(-1, 3, -1, -1) * 2 - 1
        hints = b["hints"][:, :3].float() * 2 - 1 + (1 - b["hints"][:, 3:4].float()) * 0.6
        reference = F.interpolate(b["reference"].float(), size=(size, size), mode="bilinear", align_corners=False)
        reference = reference * b["has_reference"].float()[:, None, None, None]
        columns = [sketch, hints.clamp(-1, 1), reference, rgb, b["target"].float()]
        grid = torch.cat([torch.cat(list(col), dim=1) for col in columns], dim=2)  # 3, rows*S, 5*S
        return ((grid.permute(1, 2, 0).cpu().numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)


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
    parser.add_argument("--keep", type=int, help=f"checkpoints to keep (default {d.keep_checkpoints})")
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


def run(args: argparse.Namespace) -> int:
    """``s2p train``: the only place that keeps the heap, since this process exists for this run."""
    from .heap import dedicated_process, heap_kept, keep_heap

    if args.max_minutes is not None and not args.max_minutes > 0:
        raise TrainingError(f"--max-minutes must be positive, got {args.max_minutes:g}")
    if args.fit_schedule and args.max_minutes is None:
        raise TrainingError("--fit-schedule needs --max-minutes: the time to fit the schedule to")
    config = config_from_args(args)
    if config.keep_heap and dedicated_process() and not torch.cuda.is_available():
        keep_heap()
    trainer = Trainer(config, progress=not args.no_progress)
    budget = None if args.max_minutes is None else args.max_minutes * 60.0
    summary = trainer.fit(resume=args.resume, max_seconds=budget, fit_schedule=args.fit_schedule)
    if trainer.is_main:
        print(json.dumps({**{k: summary[k] for k in ("steps", "seconds", "out", "finished")}, "heap_kept": heap_kept()}))
    if trainer.distributed:
        dist.destroy_process_group()
    return 0


def main(argv: list[str] | None = None) -> int:
    from .commands import Parser, guarded

    parser = Parser(prog="python -m s2p_lab.train", description="Train an s2p-lab colorizer.")
    add_arguments(parser)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    return guarded(lambda: run(args), debug=args.debug)


if __name__ == "__main__":
    raise SystemExit(main())
