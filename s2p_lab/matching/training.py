"""Training the matcher from cached region features (``matching.dataset``): minutes on a CPU.

Each step takes a batch of cached (sketch, reference) pairs, the reference made from the sketch's own
illustration. A region's target is the reference's palette color nearest its true color in
CIEDE2000; regions whose true color the reference lacks (none within :data:`LABEL_WITHIN`) are left
out of that loss. The prior head learns, from the sketch alone, whether each region is skin. Both losses are weighted by the square root of the region's area share: small
parts (eyes, ribbons) count, paper does not swamp them.

``s2p matcher train --config configs/matcher-v2.json`` runs it with a progress bar, resumes from its
last checkpoint with ``--resume`` and draws its loss curve.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import S2PError
from .dataset import Example, cache_feature_side, load_example
from .features import FEATURE_SIDE
from .model import MatcherConfig, RegionMatcher, class_log_probs, load_matcher, save_matcher

__all__ = ["LABEL_WITHIN", "MatcherTrainConfig", "fit_prior_colors", "pair_loss", "train_matcher"]

#: A region counts in the color loss when the reference has its true color: a palette color within
#: this CIEDE2000 of it (the others are left to the prior head).
LABEL_WITHIN = 15.0
#: The input columns of EfficientNet block 10 (after block 4's 40), the raw similarity's features.
RAW_COLUMNS = slice(40, 152)
#: The arrays of a cached reference that hold one row per segment.
SEGMENT_KEYS = ("efficientnet", "dino", "geometry", "areas", "lab", "cluster")


@dataclass
class MatcherTrainConfig:
    """What ``s2p matcher train`` reads from its config file (``configs/matcher-*.json``)."""

    cache: str = f"runs/matcher-cache-{FEATURE_SIDE}"
    out: str = "runs/matcher"
    steps: int = 3000
    batch: int = 8
    lr: float = 1e-3
    weight_decay: float = 1e-4
    warmup: int = 100
    reference_kinds: list[int] | None = None  # which cached references to train on (0: flip, 1: warp; None: all)
    prior_weight: float = 0.5  # the prior head's cross-entropy beside the color NLL
    raw_similarity_weight: float = 0.0  # L1 of learned to frozen-feature similarities (DACoN: 0.2)
    seed: int = 0
    log_every: int = 50
    checkpoint_every: int = 500
    max_images: int | None = None
    model: MatcherConfig = field(default_factory=MatcherConfig)
    purpose: str = ""

    @classmethod
    def load(cls, path: str | Path, overrides: dict | None = None) -> "MatcherTrainConfig":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise S2PError(f"cannot read matcher config {path}: {exc}") from exc
        data.update(overrides or {})
        model = MatcherConfig.from_dict(data.pop("model", {}))
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise S2PError(f"{path}: unknown matcher config field(s) {', '.join(unknown)}")
        return cls(model=model, **data)


def fit_prior_colors(examples: list[Example]) -> np.ndarray:
    """(1, 3) CIELAB: the skin prior, the median of the training regions' skin-like true colors
    (``evaluation.color.is_skin``), each region weighted by its area."""
    from ..evaluation.color import is_skin
    from .dataset import label_medians

    colors = np.concatenate([ex.sketch["truth"] for ex in examples]).astype(np.float64)
    areas = np.concatenate([ex.sketch["areas"] for ex in examples]).astype(np.int64)
    skin = is_skin(colors)
    if not skin.any():
        return np.array([[80.0, 10.0, 18.0]], np.float32)  # a light warm skin tone
    repeated = np.repeat(colors[skin], np.maximum(areas[skin] // 64, 1), axis=0)
    median, _ = label_medians(repeated, np.zeros(len(repeated), np.int64), 1)
    return median.astype(np.float32)


@dataclass
class _Side:
    """A cached sketch or reference, ready for the head."""

    inputs: torch.Tensor
    cluster: np.ndarray | None = None  # references: each segment's palette color
    palette: np.ndarray | None = None  # references: (k, 3) CIELAB
    truth: np.ndarray | None = None  # references: the sketch regions' true colors (hue turned with it)
    weights: torch.Tensor | None = None  # sketches: sqrt of each region's area share
    sketch_truth: np.ndarray | None = None  # sketches: the regions' true colors


def _sketch_side(model: RegionMatcher, ex: Example) -> _Side:
    areas = ex.sketch["areas"].astype(np.float64)
    return _Side(model.inputs(ex.sketch, "sketch"), weights=torch.from_numpy(np.sqrt(areas / max(areas.sum(), 1.0))).float(),
                 sketch_truth=ex.sketch["truth"].astype(np.float64))


def _reference_side(model: RegionMatcher, ref: dict) -> _Side:
    return _Side(model.inputs({k: ref[k] for k in SEGMENT_KEYS if k in ref}, "reference"),
                 cluster=ref["cluster"].astype(np.int64), palette=ref["palette"].astype(np.float64),
                 truth=ref["truth"].astype(np.float64))


def pair_loss(model: RegionMatcher, sketch: _Side, reference: _Side, config: "MatcherTrainConfig") -> torch.Tensor:
    """One pair's loss: the area-weighted color NLL of the regions whose true color the reference
    has (its nearest palette color within :data:`LABEL_WITHIN`), plus ``prior_weight`` times the
    prior head's binary cross-entropy against whether each region's true color is skin-like, plus
    ``raw_similarity_weight`` times DACoN's regularizer."""
    from ..evaluation.color import ciede2000, is_skin

    assert reference.cluster is not None and reference.palette is not None and sketch.weights is not None
    truth = reference.truth
    to_palette = ciede2000(truth[:, None], reference.palette[None])
    present = np.zeros(len(reference.palette), bool)
    present[reference.cluster] = True
    to_palette[:, ~present] = np.inf
    targets = torch.from_numpy(to_palette.argmin(axis=1))
    labelled = torch.from_numpy(to_palette.min(axis=1) <= LABEL_WITHIN).float()
    weights = sketch.weights * labelled
    logits = model(sketch.inputs, reference.inputs)
    log_p = class_log_probs(logits, torch.from_numpy(reference.cluster), len(reference.palette))
    nll = -log_p.gather(1, targets[:, None])[:, 0]
    loss = (nll * weights).sum() / weights.sum().clamp_min(1e-6)
    if config.prior_weight > 0:
        skin = torch.from_numpy(is_skin(sketch.sketch_truth)).float()[:, None]
        bce = F.binary_cross_entropy_with_logits(model.prior_logits(sketch.inputs), skin, reduction="none")[:, 0]
        loss = loss + config.prior_weight * (bce * sketch.weights).sum() / sketch.weights.sum().clamp_min(1e-6)
    if config.raw_similarity_weight > 0:
        # DACoN's regularizer: the learned similarities stay near the frozen features' own
        # (EfficientNet block 10, the nearest-feature baseline's), which carry the correspondence
        learned = logits * model.config.temperature
        raw = F.normalize(sketch.inputs[:, RAW_COLUMNS], dim=1) @ F.normalize(reference.inputs[:, RAW_COLUMNS], dim=1).T
        loss = loss + config.raw_similarity_weight * (learned - raw).abs().mean()
    return loss


def _plot(history: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(steps, [h["loss"] for h in history], label="training loss (color NLL + skin head + similarity term)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.set_title("matcher training")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _save_state(folder: Path, model: RegionMatcher, optimizer: torch.optim.Optimizer, step: int,
                history: list[dict], config: MatcherTrainConfig, rng: np.random.Generator) -> None:
    from safetensors.torch import save_file

    flat: dict[str, torch.Tensor] = {}
    for i, state in optimizer.state_dict()["state"].items():
        for k, v in state.items():
            flat[f"{i}.{k}"] = torch.as_tensor(v).detach().clone().contiguous()
    save_matcher(model, folder, {"trained_steps": step})
    partial = folder / "optimizer.partial.safetensors"
    save_file(flat, str(partial))
    partial.replace(folder / "optimizer.safetensors")
    (folder / "trainer.json").write_text(json.dumps({
        "step": step, "history": history, "config": asdict(config),
        "rng": rng.bit_generator.state}, indent=1, default=str))


def load_cache(cache: Path, max_images: int | None = None) -> list[Example]:
    """Every cached example under ``cache`` (name order; the first ``max_images``)."""
    files = sorted(Path(cache).glob("*.npz"))
    files = [f for f in files if not f.name.endswith(".partial.npz")][:max_images]
    if not files:
        raise S2PError(f"no cached matcher features in {cache}: run `s2p matcher cache` first")
    return [load_example(f) for f in files]


def train_matcher(config: MatcherTrainConfig, *, resume: bool = False, progress: bool = True,
                  until: int | None = None) -> Path:
    """Train (or resume) the matcher as ``config`` says; returns the output folder. ``until``: stop
    (with a checkpoint) at this step, to go on later with ``resume`` on the same schedule."""
    from tqdm.auto import tqdm

    out = Path(config.out)
    torch.manual_seed(config.seed)
    examples = load_cache(Path(config.cache), config.max_images)
    cached_side = cache_feature_side(Path(config.cache))
    if cached_side is not None and cached_side != config.model.feature_side:
        raise S2PError(f"{config.cache} holds features computed at {cached_side} px, the config's matcher reads "
                       f"{config.model.feature_side} px (model.feature_side)")
    state_file = out / "trainer.json"
    if resume and state_file.is_file():
        model, _ = load_matcher(out)
        model.train()
        state = json.loads(state_file.read_text())
        step, history = int(state["step"]), list(state["history"])
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
    else:
        if out.exists() and any(out.iterdir()) and not resume:
            raise S2PError(f"{out} already holds a run: pass --resume to go on, or choose another --out")
        if config.model.priors != 1:
            raise S2PError("the matcher has one prior color (skin): set model.priors to 1")
        prior_lab = fit_prior_colors(examples)
        model = RegionMatcher(config.model, prior_lab).train()
        step, history, rng = 0, [], np.random.default_rng(config.seed)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    if resume and (out / "optimizer.safetensors").is_file() and step > 0:
        from safetensors.torch import load_file

        flat = load_file(str(out / "optimizer.safetensors"))
        template = optimizer.state_dict()
        template["state"] = {}
        for key, value in flat.items():
            index, name = key.split(".", 1)
            template["state"].setdefault(int(index), {})[name] = value
        optimizer.load_state_dict(template)

    def lr_at(s: int) -> float:
        if s < config.warmup:
            return config.lr * (s + 1) / config.warmup
        return config.lr * 0.5 * (1 + math.cos(math.pi * (s - config.warmup) / max(1, config.steps - config.warmup)))

    torch.set_num_threads(1)  # small matrices: one thread is faster than two that wait on each other
    sketches = [_sketch_side(model, ex) for ex in examples]
    references = [[_reference_side(model, ref) for ref in ex.references] for ex in examples]
    pairs = [(i, j) for i, ex in enumerate(examples) for j in range(len(ex.references))
             if config.reference_kinds is None or j in config.reference_kinds]
    started = time.time()
    bar = tqdm(total=config.steps, initial=step, desc="matcher", unit="step", disable=not progress)
    running: list[float] = []
    stop = config.steps if until is None else min(until, config.steps)
    while step < stop:
        for group in optimizer.param_groups:
            group["lr"] = lr_at(step)
        chosen = rng.choice(len(pairs), size=config.batch, replace=False)
        loss = torch.stack([pair_loss(model, sketches[pairs[k][0]], references[pairs[k][0]][pairs[k][1]], config)
                            for k in chosen]).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        step += 1
        running.append(loss.item())
        bar.update(1)
        if step % config.log_every == 0 or step == config.steps:
            history.append({"step": step, "loss": float(np.mean(running)), "seconds": round(time.time() - started, 1)})
            bar.set_postfix(loss=f"{history[-1]['loss']:.3f}")
            running = []
        if step % config.checkpoint_every == 0 or step == stop:
            _save_state(out, model, optimizer, step, history, config, rng)
    bar.close()
    if history:
        _plot(history, out / "loss.png")
    meta = {"trained_steps": step, "training_images": len(examples), "training_pairs": len(pairs),
            "seconds_this_run": round(time.time() - started, 1)}
    save_matcher(model.eval(), out, meta)
    return out
