"""Training: one loop that runs alone or under ``torchrun`` (DistributedDataParallel).

    s2p train --config configs/v0.2-stage1.json [--steps N] [--set synthesis.p_no_reference=0.1]
    s2p train --data DIR --steps N --size 128 --out runs/x [--resume]
    torchrun --nproc_per_node 2 -m s2p_lab.train --config FILE

Every knob is a field of :class:`~s2p_lab.train_config.TrainConfig` (a JSON file, flags on top:
``s2p_lab.train_cli``). DDP switches itself on from torchrun's environment (``WORLD_SIZE``);
``batch`` is per process. The data stream is a function of (seed, sample number)
(``s2p_lab.data.SampleStream``), so it is the same with any number of loader workers and a resumed
run continues it where it stopped.

A step is the model's forward, the objectives of ``s2p_lab.losses`` (``GeneratorObjective``, then
``DiscriminatorObjective`` once the GAN is on), and a backward and an optimizer step for each.

Every ``checkpoint_every`` steps a checkpoint (``s2p_lab.checkpoints``) is written atomically, the
newest ``keep_checkpoints`` kept. ``--resume`` continues from the newest one that verifies: stopped
at step k and resumed, a run ends with the same weights as one that never stopped. The cosine
schedule's length is kept from the checkpoint, so a larger ``--steps`` on resume trains on at the
schedule's end learning rate (``cosine_end``); a different ``--schedule-steps`` is refused (start a
new stage with ``--init CHECKPOINT`` instead).

With ``ema`` (a decay such as 0.995) the trainer also keeps an exponential moving average of the
trained weights, updated after every step; checkpoints hold it, the final weights are it, and a
checkpoint loaded as weights (``--weights``, ``--init``) gives it. It smooths out the step-to-step
noise of small batches, which otherwise decides which of a run's checkpoints is best.
"""

from __future__ import annotations

import argparse
import json
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

from .checkpoints import (Position, checkpoint_discriminator, checkpoint_path, list_checkpoints, prune_checkpoints,
                          read_checkpoint, remove_stale_temp_files, write_checkpoint)
from .data import IllustrationDataset, SampleStream
from .errors import CheckpointError, TrainingError, WeightsError
from .fileio import write_bytes_atomic
from .losses import DiscriminatorObjective, GeneratorObjective
from .models import ColorizationModel, Discriminator, save_model
from .runtime import bf16_available
from .schedule import ScheduleFitter, gan_weight, lr_scale
from .train_cli import add_arguments, config_from_args
from .train_config import TrainConfig, check_init

__all__ = ["ScheduleFitter", "TrainConfig", "Trainer", "TrainingError", "add_arguments", "checkpoint_path",
           "config_from_args", "gan_weight", "list_checkpoints", "lr_scale", "main", "run",
           "set_train_mode"]


def set_train_mode(model: torch.nn.Module) -> None:
    """Train mode, except for parts whose parameters are all frozen (their statistics stay put)."""
    model.train()
    for module in model.modules():
        params = list(module.parameters())
        if params and not any(p.requires_grad for p in params):
            module.eval()


class Trainer:
    """Owns the networks, optimizers, objectives, data and the loop; ``fit()`` trains to ``config.steps``."""

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
        self.generator_loss = GeneratorObjective(c.losses, levels=self.model.config.levels)
        self.discriminator_loss = DiscriminatorObjective(c.losses)
        self.step = 0
        self.samples = 0  # samples drawn by all processes so far: where the data stream goes on
        self.horizon = c.horizon
        self.seconds = 0.0  # training wall time accumulated over resumed runs
        self.history: list[dict] = []
        self.fixed_batch: dict[str, torch.Tensor] | None = None
        self.ema: dict[str, torch.Tensor] | None = None  # the moving average (``config.ema``), fp32
        self.ema_steps = 0  # steps averaged so far (its warm-up)

    # ------------------------------------------------------------------ the moving average
    # Written out: torch.optim.swa_utils.AveragedModel (use_buffers, a multi_avg_fn for the warm-up,
    # names mapped for the checkpoint) gave bit-identical weights but took longer per update (median
    # of 200, one CPU thread): 0.85 -> 1.85 ms with the tests' tiny model, 3.1-3.6 -> 4.2-6.7 ms with
    # v0.3's, as it walks the module tree four times per update where this reads one state dict.
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
            disc_state = checkpoint_discriminator(source)
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
        position = Position(step=self.step, samples=self.samples, seconds=self.seconds, horizon=self.horizon,
                            ema=self.ema, ema_steps=self.ema_steps)
        path = write_checkpoint(checkpoint_path(self.out, self.step), config=self.config, model=self.model,
                                disc=self.disc, opt_g=self.opt_g, opt_d=self.opt_d, position=position,
                                device=self.device)
        prune_checkpoints(self.out, self.config.keep_checkpoints)
        remove_stale_temp_files(self.out, before=self.started_at)
        return path

    def load_checkpoint(self, path: Path) -> None:
        """Weights, optimizers, RNG, step and data position from a checkpoint (CheckpointError if unusable)."""
        position = read_checkpoint(path, config=self.config, model=self.model, disc=self.disc, opt_g=self.opt_g,
                                   opt_d=self.opt_d, world=self.world, device=self.device)
        self.ema, self.ema_steps = position.ema, position.ema_steps
        self.step, self.seconds, self.samples = position.step, position.seconds, position.samples
        self.checkpoint_horizon = position.horizon

    def restore(self, resume: bool) -> Path | None:
        """The weights to start from: the newest checkpoint (``resume``, returned), else ``init``
        (checked against ``init_sha256`` first).

        A resumed stage has everything in its checkpoint, so its ``init`` file may be gone.
        """
        found = self.resume() if resume else None
        if found is None and self.config.init:
            check_init(self.config)
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

    def _set_learning_rates(self) -> None:
        """Both optimizers at their peak rates times the schedule's scale at this step."""
        c = self.config
        scale = lr_scale(self.step, c.warmup, self.horizon, c.cosine_end)
        for optimizer, peak in ((self.opt_g, c.lr), (self.opt_d, c.lr_disc)):
            for group in optimizer.param_groups:
                group["lr"] = peak * scale

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
        """One generator and (once the GAN is on) one discriminator update; the named loss terms."""
        b = self._to_device(batch)
        self._set_learning_rates()
        gan = gan_weight(self.step, self.config.gan_start)
        set_train_mode(self.model)
        set_train_mode(self.disc)
        with self._autocast(), self.generator_loss.recording(self.model.generator) as attention:
            out, _ = self.g_net(b)
            target_style = self.target_style(b["target"]) if gan > 0 else None
            total, terms = self.generator_loss(out, b, [layer.recorded for layer in attention],
                                               critic=self.disc, target_style=target_style, gan=gan)
        self._descend(self.opt_g, total, "loss", clip=self.model)
        if gan > 0:
            with self._autocast():  # reals and fakes in one pass: one DDP forward per backward
                fake = out.rgb.detach().to(b["target"].dtype)
                logits, style = self.d_net(torch.cat([b["target"], fake]), torch.cat([b["sketch"], b["sketch"]]))
                d_total, d_terms = self.discriminator_loss(logits, style, target_style)
            self._descend(self.opt_d, d_total, "discriminator loss")
            terms.update(d_terms)
        terms["total"] = total
        return {k: float(v.detach()) for k, v in terms.items()}

    def _descend(self, optimizer: torch.optim.Optimizer, loss: torch.Tensor, name: str,
                 clip: torch.nn.Module | None = None) -> None:
        """Backward and one step of ``optimizer`` (gradient norm of ``clip`` at most 1); a loss that
        is not finite stops the run."""
        if not torch.isfinite(loss):
            raise self._stopped(f"{name} is {loss.item()} (not finite)")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip is not None:
            torch.nn.utils.clip_grad_norm_(clip.parameters(), 1.0)
        optimizer.step()

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
            extra = {"trained_steps": self.step, "train_seconds": round(self.seconds, 1)}
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

    # ------------------------------------------------------------------ what a person looks at
    @torch.no_grad()
    def visuals(self, batch: dict[str, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """A batch as (B, 3, S, S) images in [-1, 1] by name: sketch, hints, reference, output (the
        model's training forward in eval mode) and target. Default: the run's fixed sample batch."""
        batch = batch if batch is not None else (self.fixed_batch or self.sample_batch())
        b = self._to_device(batch)
        self.model.eval()
        with self._autocast():
            out, _ = self.model(b)  # not through DDP: only the main process draws samples
        set_train_mode(self.model)
        size = out.rgb.shape[-1]
        reference = F.interpolate(b["reference"].float(), size=(size, size), mode="bilinear", align_corners=False)
        return {
            "sketch": (1 - b["sketch"].float()).expand(-1, 3, -1, -1) * 2 - 1,
            "hints": (b["hints"][:, :3].float() * 2 - 1 + (1 - b["hints"][:, 3:4].float()) * 0.6).clamp(-1, 1),
            "reference": reference * b["has_reference"].float()[:, None, None, None],
            "output": out.rgb.float(),
            "target": b["target"].float(),
        }

    def sample_grid(self, batch: dict[str, torch.Tensor] | None = None) -> np.ndarray:
        """uint8 grid: rows are samples; columns the ``visuals``: sketch, hints, reference, output, target."""
        columns = self.visuals(batch).values()
        grid = torch.cat([torch.cat(list(col), dim=1) for col in columns], dim=2)  # 3, rows*S, 5*S
        return ((grid.permute(1, 2, 0).cpu().numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)

    def save_samples(self, batch: dict[str, torch.Tensor], path: Path) -> Path:
        """Save ``sample_grid(batch)`` as a PNG."""
        from .imageio import save_image

        return save_image(self.sample_grid(batch), path)


def run(args: argparse.Namespace) -> int:
    """``s2p train``: the only place that keeps the heap, since this process exists for this run."""
    import torch
    import torch.distributed as dist

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
    """``python -m s2p_lab.train``: parse ``argv`` and train; the exit status."""
    from .commands import Parser, guarded

    parser = Parser(prog="python -m s2p_lab.train", description="Train an s2p-lab colorizer.")
    add_arguments(parser)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    return guarded(lambda: run(args), debug=args.debug)


if __name__ == "__main__":
    raise SystemExit(main())
