"""Training data: a folder of color illustrations turned into (sketch, hints, reference, target).

Every sample is synthesized on the fly, so an epoch never repeats exactly: a random crop at a
random scale, one shared color jitter, a sketch from a randomly chosen extractor with line
augmentation (so real pencil sketches look in-distribution), simulated hints (none for part of
each batch, as AlacGAN did; else sparse points and strokes, or scribbles over a share of the
color regions; optionally each point spread over its line-bounded region, as the colorizer sends
a click) and a layout-scrambled reference made from the same illustration (optionally with its
own brightness and saturation changed, so that neither is copied from it).

The data stream is a function of the seed and the sample's number alone: sample ``g`` of a run
is image ``permutation(seed, epoch)[g % N]`` with ``epoch = g // N``, synthesized with a random
generator seeded by ``(seed, g)``. Processes (ranks) and loader workers each take their own
sample numbers, so none repeats another's samples, the stream does not depend on the number of
workers, and a resumed run continues it from the checkpoint's sample count.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from .correspondence import MIN_REGION_SHARE, region_point
from .errors import ImageError, TrainingError
from .fileio import list_image_files
from .hint_simulation import simulate_hints
from .hints import Hints
from .imageio import load_image
from .references import ColorJitter, ToneJitter, synthesize_reference
from .hint_encoding import spread_within_reach, with_reference_hints
from .regions import RegionMap, region_map
from .sketch import augment_lines, extract_sketch
from .splits import split_paths


@dataclass
class SynthesisConfig:
    """Knobs of the training-sample synthesis (``synthesis`` in a training config).

    The defaults are those of the shipped model's stage 2; its stage 1 ran with
    ``p_region_hints=0.0`` and ``p_no_reference=0.1`` (configs/v0.2-stage1.json).
    """

    size: int = 128  # crop side fed to the generator
    style_size: int = 128  # reference side fed to the style encoder
    max_zoom: float = 3.0  # crops span 1..max_zoom times ``size`` source pixels
    p_jitter: float = 0.8  # probability of a shared hue/saturation jitter
    p_no_hints: float = 0.5
    mean_hints: float = 8.0
    p_region_hints: float = 0.5  # of the hinted samples: scribbles over a share of the color regions
    p_no_reference: float = 0.15  # hint-only colorization (no reference) is a mode of its own
    p_spread_hints: float = 0.0  # of the hinted samples: every hint spread over its line-bounded region near it
    hint_reach: float = 0.03  # how far a hint spreads, as a share of the long side (as ``Colorizer.hint_reach``)
    p_reference_tone: float = 0.0  # the reference alone gets a brightness and saturation change
    # of the samples with a reference: hints matched from it, as the colorizer's reference hints
    # (``Colorizer.reference_hint_count``) give them, at ``reference_hint_alpha`` in the hint map
    p_reference_hints: float = 0.0
    reference_hint_alpha: float = 0.5  # below 1 the network can tell them from the user's (alpha 1)
    reference_hint_errors: float = 0.3  # share of them that take the color of a wrong place
    max_reference_hints: int = 24  # 1..this many per sample (the colorizer's usual ``reference_hint_count``)
    extractors: tuple[str, ...] = ("xdog", "highpass", "adaptive")


REFERENCE_CELL = 8  # the style encoder's token grid: one token per 8 x 8 reference pixels


def reference_place(source: np.ndarray, box: tuple[int, int, int, bool], cell: int = REFERENCE_CELL) -> torch.Tensor:
    """Where each ``cell`` x ``cell`` block of a synthesized reference lies in the target crop.

    ``source``: the reference's map of illustration pixel coordinates (``synthesize_reference``
    with ``with_source``); ``box``: the target crop (x, y, side, mirrored). Returns (2, S/cell,
    S/cell) float32: x and y as shares of the target's side (0..1; outside it where the block came
    from elsewhere in the illustration). A block's place is its pixels' mean: the patch shuffle
    cuts on multiples of the block, so no block straddles two patches.
    """
    x, y, side, mirrored = box
    size = source.shape[0]
    blocks = cv2.resize(source, (size // cell, size // cell), interpolation=cv2.INTER_AREA)
    u = (blocks[..., 0] - x + 0.5) / side
    v = (blocks[..., 1] - y + 0.5) / side
    if mirrored:
        u = 1.0 - u
    return torch.from_numpy(np.stack([u, v]).astype(np.float32))


def simulated_reference_hints(regions: RegionMap, reference: np.ndarray, place: torch.Tensor,
                              rng: np.random.Generator, *, count: int, errors: float,
                              reach: float | None) -> np.ndarray:
    """The hint map (HxWx4, alpha 1) that reference hints would give a synthesized sample.

    The synthesis knows where each reference cell came from (``reference_place``), so it plays the
    matcher of ``correspondence.reference_hints``: up to ``count`` of the sketch's regions that
    reference cells came from, the larger first (with a random factor, as the matcher's
    confidence), each get a point hint at their innermost pixel with the median color of those
    cells, or, for a share ``errors`` of them, the color of a random cell (a wrong match). The
    hints are spread over their regions within ``reach`` (a share of the longer side;
    ``hint_encoding.spread_within_reach``), as the colorizer sends them.
    """
    h, w = regions.shape
    labels = regions.labels
    grid_h, grid_w = place.shape[1:]
    cells = cv2.resize(reference, (grid_w, grid_h), interpolation=cv2.INTER_AREA).reshape(-1, 3)
    u, v = (place[0].numpy().ravel(), place[1].numpy().ravel())
    inside = (u >= 0) & (u < 1) & (v >= 0) & (v < 1)
    cell_regions = labels[(v[inside] * h).astype(np.int64), (u[inside] * w).astype(np.int64)]
    candidates = np.unique(cell_regions)
    candidates = candidates[regions.pixel_counts[candidates] >= MIN_REGION_SHARE * h * w]
    if count <= 0 or candidates.size == 0:
        return np.zeros((h, w, 4), np.float32)
    score = np.sqrt(regions.pixel_counts[candidates]) * rng.lognormal(0.0, 0.5, candidates.size)
    chosen = candidates[np.argsort(-score, kind="stable")][:count]
    inside_colors = cells[inside]
    points = []
    for region in chosen.tolist():
        if rng.random() < errors:
            color = cells[int(rng.integers(len(cells)))]
        else:
            color = np.median(inside_colors[cell_regions == region], axis=0)
        points.append(region_point(labels, region, tuple(int(round(float(c))) for c in color)))
    drawn = Hints(points=points).to_map(h, w)
    return spread_within_reach(drawn, regions, reach)


def list_images(root: str | Path, *, holdout: bool = True) -> list[Path]:
    """Image files under ``root`` (recursively); with ``holdout`` the validation split is left out."""
    root = Path(root)
    if not root.is_dir():
        raise TrainingError(f"{root}: training data folder not found")
    files = list_image_files(root, recursive=True)
    if holdout:
        files, _ = split_paths(files)
    if not files:
        raise TrainingError(f"{root}: no training images (.jpg, .png, .webp, .bmp) found")
    return sorted(files)


def to_tensor_image(rgb: np.ndarray) -> torch.Tensor:
    """uint8 HxWx3 to float (3, H, W) in [-1, 1]."""
    return torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div_(127.5).sub_(1)


def to_tensor_sketch(sketch: np.ndarray) -> torch.Tensor:
    """uint8 HxW line art (dark lines) to float (1, H, W) with lines = 1 and paper = 0."""
    return torch.from_numpy(255 - sketch).float().div_(255).unsqueeze(0)


def synthesize_sketch(rgb: np.ndarray, rng: np.random.Generator, extractors: tuple[str, ...]) -> np.ndarray:
    """Line art from a color crop with a random extractor and random parameters."""
    method = extractors[int(rng.integers(len(extractors)))]
    if method == "xdog":
        sketch = extract_sketch(rgb, "xdog", sigma=float(rng.uniform(0.45, 0.9)), phi=float(rng.uniform(5, 14)))
    elif method == "highpass":
        sketch = extract_sketch(rgb, "highpass", kernel=int(rng.choice([3, 5])), gamma=float(rng.uniform(1.0, 2.0)))
    else:
        sketch = extract_sketch(rgb, method)
    return augment_lines(sketch, rng)


def sample_rng(seed: int, number: int) -> np.random.Generator:
    """The random generator of sample ``number`` of the stream of ``seed``."""
    return np.random.default_rng([int(seed), int(number)])


def epoch_order(seed: int, epoch: int, count: int) -> np.ndarray:
    """The order in which epoch ``epoch`` visits ``count`` images."""
    return np.random.default_rng([int(seed), int(epoch), 0x5EED]).permutation(count)


class IllustrationDataset(Dataset):
    """Color illustrations in a folder; item ``(index, number)`` is sample ``number`` made from image ``index``.

    An integer item ``i`` is sample number ``i`` of image ``i`` (for looking at samples). The
    synthesis is a pure function of ``(seed, index, number)``: the same in every process and worker.
    """

    def __init__(self, root: str | Path, config: SynthesisConfig | None = None, *, seed: int = 0, holdout: bool = True,
                 reference_places: bool = False):
        self.config = config or SynthesisConfig()
        # each sample also carries "reference_place": where each reference cell lies in the target
        self.reference_places = reference_places
        self.files = list_images(root, holdout=holdout)
        self._cache: dict[int, np.ndarray] = {}
        self.seed = int(seed)

    def __len__(self) -> int:
        return len(self.files)

    def image(self, index: int) -> np.ndarray:
        if index not in self._cache:
            try:
                self._cache[index] = load_image(self.files[index])
            except ImageError as exc:
                raise TrainingError(f"training image unusable: {exc}") from None
        return self._cache[index]

    def _crop(self, image: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, tuple[int, int, int, bool]]:
        """A random square crop at ``size`` and where it lies in ``image``: (x, y, side, mirrored)."""
        size = self.config.size
        h, w = image.shape[:2]
        side = size * float(np.exp(rng.uniform(0.0, np.log(self.config.max_zoom))))
        side = int(max(min(side, h, w), 8))
        y = int(rng.integers(0, h - side + 1))
        x = int(rng.integers(0, w - side + 1))
        crop = image[y : y + side, x : x + side]
        interp = cv2.INTER_AREA if side > size else cv2.INTER_CUBIC
        crop = cv2.resize(crop, (size, size), interpolation=interp)
        mirrored = bool(rng.random() < 0.5)
        if mirrored:
            crop = crop[:, ::-1]
        return np.ascontiguousarray(crop), (x, y, side, mirrored)

    def __getitem__(self, item: int | tuple[int, int]) -> dict[str, torch.Tensor]:
        index, number = (item, item) if isinstance(item, (int, np.integer)) else item
        return self.sample(int(index), sample_rng(self.seed, number))

    def sample(self, index: int, rng: np.random.Generator) -> dict[str, torch.Tensor]:
        """One training sample from image ``index``, every random choice drawn from ``rng``."""
        cfg = self.config
        image = self.image(index)
        jitter = ColorJitter.random(rng, cfg.p_jitter)
        crop, box = self._crop(image, rng)
        target = jitter(crop)
        sketch = synthesize_sketch(target, rng, cfg.extractors)
        hints = simulate_hints(target, rng, mean_count=cfg.mean_hints, p_none=cfg.p_no_hints,
                               p_regions=cfg.p_region_hints)
        regions: RegionMap | None = None
        if cfg.p_spread_hints > 0 and hints[..., 3].any() and rng.random() < cfg.p_spread_hints:
            # what the colorizer does with every hint: the network sees it spread over its region
            regions = region_map(sketch)
            hints = spread_within_reach(hints, regions, cfg.hint_reach)
        places = self.reference_places or cfg.p_reference_hints > 0
        made = synthesize_reference(jitter(image), rng, cfg.style_size, with_source=places)
        reference, source = made if places else (made, None)
        reference = ToneJitter.random(rng, cfg.p_reference_tone)(reference)
        has_reference = rng.random() >= cfg.p_no_reference
        place = reference_place(source, box, REFERENCE_CELL) if places else None
        if cfg.p_reference_hints > 0 and has_reference and rng.random() < cfg.p_reference_hints:
            regions = region_map(sketch) if regions is None else regions
            count = int(rng.integers(1, cfg.max_reference_hints + 1))
            matched = simulated_reference_hints(regions, reference, place, rng, count=count,
                                                errors=cfg.reference_hint_errors, reach=cfg.hint_reach)
            hints = with_reference_hints(hints, matched, regions, cfg.reference_hint_alpha)
        sample = {
            "sketch": to_tensor_sketch(sketch),
            "hints": torch.from_numpy(np.ascontiguousarray(hints.transpose(2, 0, 1))).float(),
            "reference": to_tensor_image(reference),
            "has_reference": torch.tensor(float(has_reference)),
            "target": to_tensor_image(target),
        }
        if self.reference_places:
            sample["reference_place"] = place
        return sample


class SampleStream(Sampler[list[tuple[int, int]]]):
    """Batches of ``(image index, sample number)`` for one process, from step ``start`` to ``stop``.

    Step ``s`` of process ``rank`` takes sample numbers ``first + (s - start) * batch * world +
    rank * batch + j`` for ``j < batch``, where ``first`` is the global count of samples drawn
    before ``start`` (kept in checkpoints). Each epoch visits every image once, in its own order.
    The stream never runs dry: with fewer images than ``batch x world`` a step's samples span
    several epochs, so an image recurs within a step (each time a fresh synthesis).
    """

    def __init__(self, count: int, *, batch: int, seed: int, start: int, stop: int, first: int = 0,
                 rank: int = 0, world: int = 1) -> None:
        if count < 1:
            raise TrainingError("no training images")
        self.count, self.batch, self.seed = count, batch, seed
        self.start, self.stop, self.first, self.rank, self.world = start, stop, first, rank, world
        self._orders: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def image_of(self, number: int) -> int:
        epoch, position = divmod(number, self.count)
        if epoch not in self._orders:
            self._orders = {epoch: epoch_order(self.seed, epoch, self.count)}  # only the current epoch is kept
        return int(self._orders[epoch][position])

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.stop):
            base = self.first + (step - self.start) * self.batch * self.world + self.rank * self.batch
            yield [(self.image_of(n), n) for n in range(base, base + self.batch)]
