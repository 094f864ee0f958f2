"""Training: one loop that runs alone or under ``torchrun`` (DistributedDataParallel).

    s2p train --data DIR --steps N --size 128 --out runs/x [--resume]
    torchrun --nproc_per_node 2 -m s2p_lab.train --data DIR --steps N --out runs/x

Checkpoints are single safetensors files (model, discriminator, optimizers; the configs and the
step in the header) written atomically every ``checkpoint_every`` steps, the newest
``keep_checkpoints`` kept. ``--resume`` continues from the newest checkpoint that verifies.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler
from tqdm.auto import tqdm

from .data import IllustrationDataset, SynthesisConfig
from .errors import CheckpointError, TrainingError, WeightsError
from .heap import keep_heap
from .losses import LossWeights, lsgan, reconstruction_losses
from .models import ColorizationModel, Discriminator, ModelConfig, save_model
from .fileio import write_bytes_atomic
from .runtime import bf16_available
from .weights import load_tensors, save_tensors

CHECKPOINT_PREFIX = "ckpt-"


@dataclass
class TrainConfig:
    """Defaults that work; every field is a command-line option of ``s2p train``."""

    data: str = ""
    out: str = "runs/s2p"
    steps: int = 1000
    size: int = 128
    batch: int = 16
    lr: float = 5e-4
    lr_disc: float = 2e-4
    warmup: int = 200
    gan_start: int = 1000  # adversarial terms join after this many steps, ramped over as many
    checkpoint_every: int = 250
    keep_checkpoints: int = 3
    sample_every: int = 500
    log_every: int = 25
    seed: int = 0
    bf16: bool | None = None  # None: on where the CPU/GPU supports it
    channels_last: bool = True
    compile: bool = False
    workers: int = 0
    init: str = ""  # start from these weights (a folder or .safetensors) instead of random
    keep_heap: bool = True  # keep freed memory in the process (s2p_lab.heap): fewer page faults per step
    model: ModelConfig = field(default_factory=ModelConfig)
    losses: LossWeights = field(default_factory=LossWeights)
    synthesis: SynthesisConfig = field(default_factory=SynthesisConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TrainConfig":
        data = dict(data)
        model = ModelConfig.from_dict(data.pop("model", {}))
        losses = LossWeights(**data.pop("losses", {}))
        synth = data.pop("synthesis", {})
        if "extractors" in synth:
            synth["extractors"] = tuple(synth["extractors"])
        return cls(model=model, losses=losses, synthesis=SynthesisConfig(**synth), **data)


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
    disc = {k[len("disc.") :]: v.float() for k, v in tensors.items() if k.startswith("disc.")}
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


class Trainer:
    """Owns the networks, optimizers, data and the loop; ``fit()`` trains to ``config.steps``."""

    def __init__(self, config: TrainConfig, *, progress: bool = True) -> None:
        self.config = config
        self.distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
        if self.distributed and not dist.is_initialized():
            backend = "nccl" if torch.cuda.is_available() else "gloo"
            dist.init_process_group(backend)
        self.rank = dist.get_rank() if self.distributed else 0
        self.world = dist.get_world_size() if self.distributed else 1
        if torch.cuda.is_available():
            local = int(os.environ.get("LOCAL_RANK", "0"))
            self.device = torch.device("cuda", local)
            torch.cuda.set_device(self.device)
        else:
            self.device = torch.device("cpu")
        self.is_main = self.rank == 0
        self.progress = progress and self.is_main
        self.out = Path(config.out)
        self.started_at = time.time()  # temporary files older than this are from killed runs
        self.bf16 = bf16_available(self.device) if config.bf16 is None else config.bf16
        torch.manual_seed(config.seed)
        config.synthesis.size = config.size
        config.synthesis.style_size = config.model.style_size
        self.dataset = IllustrationDataset(config.data, config.synthesis, seed=config.seed + 1000 * self.rank)
        if len(self.dataset) < 1:
            raise TrainingError("no training images")

        if config.keep_heap and self.device.type == "cpu":
            keep_heap()
        self.model = ColorizationModel(config.model).to(self.device)
        self.disc = Discriminator(config.model).to(self.device)
        if config.init:
            from .models import load_model

            try:
                self.model.load_state_dict(load_model(config.init).state_dict())
                disc_state = _checkpoint_discriminator(config.init)
                if disc_state is not None:  # a trainer checkpoint: go on with its discriminator too
                    self.disc.load_state_dict(disc_state)
            except RuntimeError as exc:
                raise WeightsError(f"--init {config.init}: weights do not fit the model being trained "
                                   f"({' '.join(str(exc).split())[:300]})") from None
        if config.channels_last:
            self.model.to(memory_format=torch.channels_last)
            self.disc.to(memory_format=torch.channels_last)
        self.opt_g = torch.optim.AdamW(self.model.parameters(), lr=config.lr, betas=(0.9, 0.99), weight_decay=1e-4)
        self.opt_d = torch.optim.AdamW(self.disc.parameters(), lr=config.lr_disc, betas=(0.5, 0.99), weight_decay=0.0)
        self.step = 0
        self.seconds = 0.0  # training wall time accumulated over resumed runs
        self.history: list[dict] = []
        self.fixed_batch: dict[str, torch.Tensor] | None = None
        self.g_net: torch.nn.Module = self.model
        self.d_net: torch.nn.Module = self.disc
        if self.distributed:
            self.g_net = DistributedDataParallel(self.model)
            self.d_net = DistributedDataParallel(self.disc)

    # ------------------------------------------------------------------ checkpoints
    def save_checkpoint(self) -> Path | None:
        """Write the newest checkpoint atomically and prune old ones (main process only)."""
        if not self.is_main:
            return None
        tensors = {f"model.{k}": v for k, v in self.model.state_dict().items()}
        tensors.update({f"disc.{k}": v for k, v in self.disc.state_dict().items()})
        opt_g, groups_g = _flatten_optimizer("opt_g", self.opt_g)
        opt_d, groups_d = _flatten_optimizer("opt_d", self.opt_d)
        tensors.update(opt_g)
        tensors.update(opt_d)
        meta = {
            "s2p.kind": "training-checkpoint",
            "s2p.model_config": json.dumps(self.config.model.to_dict()),
            "s2p.train_config": json.dumps(self.config.to_dict()),
            "s2p.step": str(self.step),
            "s2p.seconds": f"{self.seconds:.1f}",
            "s2p.opt_g_groups": groups_g,
            "s2p.opt_d_groups": groups_d,
        }
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
        tensors, meta = load_tensors(path, error=CheckpointError)
        if meta.get("s2p.kind") != "training-checkpoint":
            raise CheckpointError(f"{path.name}: not an s2p-lab training checkpoint")
        try:
            saved = ModelConfig.from_dict(json.loads(meta["s2p.model_config"]))
            step, seconds = int(meta["s2p.step"]), float(meta.get("s2p.seconds", 0.0))
        except (KeyError, ValueError, TypeError, WeightsError) as exc:
            raise CheckpointError(f"{path.name}: unreadable checkpoint header ({' '.join(str(exc).split())})") from None
        if saved != self.config.model:
            raise CheckpointError(f"{path.name}: checkpoint was trained with another model config: {saved}")
        try:
            self.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
            self.disc.load_state_dict({k[5:]: v for k, v in tensors.items() if k.startswith("disc.")})
            _restore_optimizer("opt_g", self.opt_g, tensors, meta["s2p.opt_g_groups"])
            _restore_optimizer("opt_d", self.opt_d, tensors, meta["s2p.opt_d_groups"])
        except (RuntimeError, KeyError, ValueError, TypeError) as exc:
            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise CheckpointError(f"{path.name}: checkpoint does not fit this model ({reason})") from None
        self.step, self.seconds = step, seconds

    def resume(self) -> Path | None:
        """Load the newest checkpoint that verifies; report and skip corrupt ones."""
        problems = []
        for path in list_checkpoints(self.out):
            try:
                self.load_checkpoint(path)
                if problems and self.is_main:
                    tqdm.write("skipped corrupt checkpoint(s): " + "; ".join(problems))
                return path
            except CheckpointError as exc:
                problems.append(str(exc))
        if problems:
            raise CheckpointError("no usable checkpoint to resume from: " + "; ".join(problems))
        return None

    # ------------------------------------------------------------------ one step
    def _lr_scale(self) -> float:
        c = self.config
        if self.step < c.warmup:
            return (self.step + 1) / c.warmup
        progress = min(1.0, (self.step - c.warmup) / max(1, c.steps - c.warmup))
        return 0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * progress))

    def _gan_weight(self) -> float:
        start = self.config.gan_start
        if self.step < start:
            return 0.0
        return min(1.0, (self.step - start + 1) / max(1, start))

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.bf16)

    def _to_device(self, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        fmt = torch.channels_last if self.config.channels_last else torch.contiguous_format
        return {
            k: v.to(self.device, non_blocking=True).contiguous(memory_format=fmt) if v.dim() == 4 else v.to(self.device)
            for k, v in batch.items()
        }

    def train_step(self, batch: dict[str, torch.Tensor]) -> dict[str, float]:
        """One generator and (once the GAN is on) one discriminator update."""
        c, w = self.config, self.config.losses
        b = self._to_device(batch)
        for group in self.opt_g.param_groups:
            group["lr"] = c.lr * self._lr_scale()
        for group in self.opt_d.param_groups:
            group["lr"] = c.lr_disc * self._lr_scale()
        gan = self._gan_weight()
        self.model.train()
        with self._autocast():
            out, target_style = self.g_net(b, gan > 0)
            losses = reconstruction_losses(out, b["target"])
            total = w.l1 * losses["l1"] + w.gray_guide * losses.get("gray_guide", 0) + w.color_guide * losses.get("color_guide", 0)
            if gan > 0:
                logits, style_pred = self.d_net(out.rgb, b["sketch"])
                losses["g_adv"] = lsgan(logits, True)
                losses["g_style"] = F.mse_loss(style_pred.float(), target_style.float())
                total = total + gan * (w.adversarial * losses["g_adv"] + w.style_aux * losses["g_style"])
        if not torch.isfinite(total):
            raise self._stopped(f"loss is {total.item()} (not finite)")
        self.opt_g.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt_g.step()
        if gan > 0:
            with self._autocast():
                real_logits, real_style = self.d_net(b["target"], b["sketch"])
                fake_logits, fake_style = self.d_net(out.rgb.detach(), b["sketch"])
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

    # ------------------------------------------------------------------ loop
    def loader(self) -> DataLoader:
        c = self.config
        sampler = (
            DistributedSampler(self.dataset, self.world, self.rank, seed=c.seed)
            if self.distributed
            else RandomSampler(self.dataset, replacement=True, num_samples=10**9)
        )
        return DataLoader(self.dataset, batch_size=c.batch, sampler=sampler, num_workers=c.workers, drop_last=True,
                          persistent_workers=c.workers > 0)

    def fit(self, resume: bool = False, callback: Callable[["Trainer", dict], None] | None = None) -> dict:
        """Train until ``config.steps``; returns a summary (steps, seconds, last losses).

        ``callback(trainer, record)`` runs on the main process after every logged step (live
        plots in notebooks); ``trainer.history`` holds all records so far.
        """
        c = self.config
        if resume:
            found = self.resume()
            if found and self.is_main:
                tqdm.write(f"resumed from {found.name} at step {self.step}")
        if self.is_main:
            self.out.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(self.out / "train_config.json", json.dumps(c.to_dict(), indent=2).encode())
        fixed = None
        bar = tqdm(total=c.steps, initial=self.step, disable=not self.progress, desc="train", unit="step")
        last: dict[str, float] = {}
        epoch = 0
        started = time.perf_counter()
        seconds_at_start = self.seconds
        images = 0
        while self.step < c.steps:
            loader = self.loader()
            if isinstance(loader.sampler, DistributedSampler):
                loader.sampler.set_epoch(epoch)
            for batch in loader:
                if fixed is None:
                    fixed = self.fixed_batch = {k: v[:8].clone() for k, v in batch.items()}
                last = self.train_step(batch)
                self.step += 1
                images += c.batch * self.world
                self.seconds = seconds_at_start + time.perf_counter() - started
                bar.update(1)
                if self.step % c.log_every == 0 or self.step == c.steps:
                    record = {"step": self.step, "seconds": round(self.seconds, 1), **{k: round(v, 5) for k, v in last.items()}}
                    record["images_per_s"] = round(images / max(time.perf_counter() - started, 1e-6), 2)
                    self.history.append(record)
                    bar.set_postfix(l1=f"{last['l1']:.3f}", ips=record["images_per_s"])
                    if callback is not None and self.is_main:
                        callback(self, record)
                    if self.is_main:
                        with (self.out / "log.jsonl").open("a") as log:
                            log.write(json.dumps(record) + "\n")
                if self.step % c.checkpoint_every == 0 or self.step == c.steps:
                    self.save_checkpoint()
                if self.is_main and (self.step % c.sample_every == 0 or self.step == c.steps):
                    self.save_samples(fixed, self.out / f"samples-{self.step:07d}.png")
                if self.step >= c.steps:
                    break
            epoch += 1
        bar.close()
        if self.is_main:
            save_model(self.model, self.out / "final", {"trained_steps": self.step, "train_seconds": round(self.seconds, 1)})
        if self.distributed:
            dist.barrier()
        return {"steps": self.step, "seconds": self.seconds, "last": last, "out": str(self.out)}

    def save_samples(self, batch: dict[str, torch.Tensor], path: Path) -> Path:
        """Save ``sample_grid(batch)`` as a PNG."""
        from .imageio import save_image

        return save_image(self.sample_grid(batch), path)

    @torch.no_grad()
    def sample_grid(self, batch: dict[str, torch.Tensor] | None = None) -> np.ndarray:
        """uint8 grid: rows are samples; columns sketch, hints, reference, output, target."""
        batch = batch if batch is not None else self.fixed_batch
        self.model.eval()
        b = self._to_device(batch)
        with self._autocast():
            style = self.model.style_encoder(b["reference"])
            style.present = b["has_reference"]
            rgb = self.model.generator(b["sketch"], b["hints"], style).rgb.float()
        self.model.train()
        size = rgb.shape[-1]
        sketch = (1 - b["sketch"].float()).expand(-1, 3, -1, -1) * 2 - 1
        hints = b["hints"][:, :3].float() * 2 - 1 + (1 - b["hints"][:, 3:4].float()) * 0.6
        reference = F.interpolate(b["reference"].float(), size=(size, size), mode="bilinear", align_corners=False)
        reference = reference * b["has_reference"].float()[:, None, None, None]
        columns = [sketch, hints.clamp(-1, 1), reference, rgb, b["target"].float()]
        grid = torch.cat([torch.cat(list(col), dim=1) for col in columns], dim=2)  # 3, rows*S, 5*S
        return ((grid.permute(1, 2, 0).cpu().numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``s2p train`` (and ``python -m s2p_lab.train``)."""
    d = TrainConfig()
    parser.add_argument("--data", required=True, help="folder of color illustrations")
    parser.add_argument("--out", default=d.out, help="checkpoint folder (default %(default)s)")
    parser.add_argument("--steps", type=int, default=d.steps)
    parser.add_argument("--size", type=int, default=d.size, help="training crop side in pixels")
    parser.add_argument("--batch", type=int, default=d.batch)
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--gan-start", type=int, default=d.gan_start)
    parser.add_argument("--checkpoint-every", type=int, default=d.checkpoint_every)
    parser.add_argument("--sample-every", type=int, default=d.sample_every)
    parser.add_argument("--log-every", type=int, default=d.log_every)
    parser.add_argument("--keep", type=int, default=d.keep_checkpoints, help="checkpoints to keep")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--style-transfer", choices=["attention", "global"], default=d.model.style_transfer)
    parser.add_argument("--no-guides", action="store_true", help="train without the two guide decoders")
    parser.add_argument("--base-channels", type=int, default=d.model.base_channels)
    parser.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    parser.add_argument("--compile", action="store_true", help="torch.compile the networks")
    parser.add_argument("--workers", type=int, default=d.workers, help="data loader processes")
    parser.add_argument("--init", default="", help="start from these weights (a ckpt-*.safetensors also brings its discriminator)")
    parser.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    parser.add_argument("--no-progress", action="store_true")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    model = ModelConfig(
        style_transfer=args.style_transfer, guide_decoders=not args.no_guides, base_channels=args.base_channels
    ).validate()
    if args.steps < 1 or args.batch < 1:
        raise TrainingError("--steps and --batch must be at least 1")
    for option in ("checkpoint_every", "keep", "log_every", "sample_every"):
        if getattr(args, option) < 1:
            raise TrainingError(f"--{option.replace('_', '-')} must be at least 1, got {getattr(args, option)}")
    if args.workers < 0:
        raise TrainingError(f"--workers must be 0 or more, got {args.workers}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise TrainingError(f"--lr must be a positive number, got {args.lr}")
    if args.size < 32 or args.size % model.multiple:
        raise TrainingError(f"--size must be a multiple of {model.multiple} and at least 32")
    return TrainConfig(
        data=args.data, out=args.out, steps=args.steps, size=args.size, batch=args.batch, lr=args.lr,
        gan_start=args.gan_start, checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
        log_every=args.log_every, keep_checkpoints=args.keep, seed=args.seed, bf16=False if args.fp32 else None,
        compile=args.compile, workers=args.workers, init=args.init, model=model,
    )


def run(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    if args.resume:
        saved = Path(config.out) / "train_config.json"
        if saved.exists():  # keep the model config of the run being resumed
            try:
                previous = TrainConfig.from_dict(json.loads(saved.read_text()))
            except (ValueError, TypeError, KeyError, AttributeError, WeightsError) as exc:
                raise CheckpointError(
                    f"{saved}: unreadable training config ({' '.join(str(exc).split())}); "
                    "fix or delete it to resume with the options given"
                ) from None
            config.model = previous.model
    trainer = Trainer(config, progress=not args.no_progress)
    summary = trainer.fit(resume=args.resume)
    if trainer.is_main:
        print(json.dumps({k: summary[k] for k in ("steps", "seconds", "out")}))
    if trainer.distributed:
        dist.destroy_process_group()
    return 0


def main(argv: list[str] | None = None) -> int:
    from .commands import guarded

    parser = argparse.ArgumentParser(prog="python -m s2p_lab.train", description="Train an s2p-lab colorizer.")
    add_arguments(parser)
    parser.add_argument("--debug", action="store_true")
    args = parser.parse_args(argv)
    return guarded(lambda: run(args), debug=args.debug)


if __name__ == "__main__":
    raise SystemExit(main())
