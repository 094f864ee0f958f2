"""The training data stream: a function of (seed, sample number), whatever the workers, ranks or restarts."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from PIL import Image

from s2p_lab.data import IllustrationDataset, SampleStream, SynthesisConfig, list_images
from s2p_lab.fileio import list_image_files
from s2p_lab.splits import split_paths
from s2p_lab.train import TrainConfig, Trainer


@pytest.fixture(scope="module")
def styles(sample_dir: Path) -> Path:
    return sample_dir / "styles"


def numbers(stream: SampleStream) -> list[list[int]]:
    return [[n for _, n in batch] for batch in stream]


def test_stream_is_a_function_of_the_step() -> None:
    whole = list(SampleStream(7, batch=3, seed=5, start=0, stop=6))
    tail = list(SampleStream(7, batch=3, seed=5, start=4, stop=6, first=4 * 3))
    assert tail == whole[4:]
    assert list(SampleStream(7, batch=3, seed=6, start=0, stop=6)) != whole, "the seed changes the order"


def test_each_epoch_visits_every_image_once() -> None:
    keys = [key for batch in SampleStream(10, batch=4, seed=0, start=0, stop=5) for key in batch]  # 2 epochs
    assert sorted(i for i, n in keys if n < 10) == list(range(10))
    assert sorted(i for i, n in keys if 10 <= n < 20) == list(range(10))
    assert [i for i, n in keys if n < 10] != [i for i, n in keys if 10 <= n < 20], "each epoch has its own order"


def test_ranks_take_disjoint_samples_and_never_run_dry() -> None:
    """9 images, batch 8, 2 processes: every step still has its batches (they span epochs)."""
    r0 = numbers(SampleStream(9, batch=8, seed=0, start=0, stop=3, rank=0, world=2))
    r1 = numbers(SampleStream(9, batch=8, seed=0, start=0, stop=3, rank=1, world=2))
    assert len(r0) == len(r1) == 3 and all(len(b) == 8 for b in r0 + r1)
    together = sorted(n for b in r0 + r1 for n in b)
    assert together == list(range(3 * 16)), "the two ranks share one stream without overlap or gaps"


def test_samples_are_deterministic_and_distinct(styles: Path) -> None:
    ds = IllustrationDataset(styles, SynthesisConfig(size=32, style_size=32), seed=3, holdout=False)
    a, again, other = ds[(0, 5)], ds[(0, 5)], ds[(0, 6)]
    assert all(torch.equal(a[k], again[k]) for k in a)
    assert not torch.equal(a["target"], other["target"]), "another sample number is another synthesis"
    reseeded = IllustrationDataset(styles, SynthesisConfig(size=32, style_size=32), seed=4, holdout=False)
    assert not torch.equal(reseeded[(0, 5)]["target"], a["target"])


def _trainer(data: Path, out: Path, tiny_config, **changes) -> Trainer:
    values = dict(data=str(data), out=str(out), steps=3, size=32, batch=4, warmup=1, gan_start=10**6,
                  bf16=False, channels_last=False, model=tiny_config)
    values.update(changes)
    return Trainer(TrainConfig(**values), progress=False)


@pytest.mark.slow
def test_loader_workers_give_distinct_samples_and_the_same_stream(styles: Path, tmp_path: Path, tiny_config) -> None:
    """Two loader workers used to produce byte-identical samples (one generator copied into both)."""
    alone = list(_trainer(styles, tmp_path / "a", tiny_config, workers=0).loader())
    workers = list(_trainer(styles, tmp_path / "b", tiny_config, workers=2).loader())
    assert len(alone) == len(workers) == 3
    for x, y in zip(alone, workers):
        assert all(torch.equal(x[k], y[k]) for k in x), "the stream does not depend on the number of workers"
    targets = torch.cat([b["target"] for b in workers]).flatten(1)
    distinct = {row.numpy().tobytes() for row in targets}
    assert len(distinct) == len(targets), "no two samples are the same bytes"


def test_resumed_trainer_continues_the_stream(styles: Path, tmp_path: Path, tiny_config) -> None:
    whole = list(_trainer(styles, tmp_path / "a", tiny_config, steps=4).loader())
    later = _trainer(styles, tmp_path / "b", tiny_config, steps=4)
    later.step, later.samples = 2, 2 * 4
    rest = list(later.loader())
    assert len(rest) == 2
    for x, y in zip(whole[2:], rest):
        assert all(torch.equal(x[k], y[k]) for k in x)


def _make_images(folder: Path, count: int) -> None:
    """Images of several source groups (``touhou`` is a held-out group, the others train)."""
    rng = np.random.default_rng(0)
    groups = ("touhou", "holoenface", "genshin")
    for i in range(count):
        sub = folder / f"folder{i % 2}"
        sub.mkdir(parents=True, exist_ok=True)
        name = f"{groups[i % 3]}_{i:04d}.png"
        Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(sub / name)


def test_held_out_images_never_reach_training(tmp_path: Path) -> None:
    root = tmp_path / "data"
    _make_images(root, 60)
    everything = list_image_files(root, recursive=True)
    _, held = split_paths(everything)
    assert held, "the split holds some images out"
    training = list_images(root)
    assert not {p.resolve() for p in training} & {p.resolve() for p in held}
    assert len(training) + len(held) == len(everything)
    dataset = IllustrationDataset(root, SynthesisConfig(size=32, style_size=32))
    assert not {p.resolve() for p in dataset.files} & {p.resolve() for p in held}
    assert len(list_images(root, holdout=False)) == len(everything)


def test_shared_data_holdout_is_excluded(shared_data: Path) -> None:
    root = shared_data / "illustrations"
    _, held = split_paths(list_image_files(root, recursive=True))
    training = {p.resolve() for p in list_images(root)}
    assert held and not training & {p.resolve() for p in held}


def test_spread_hints_fill_their_regions_and_keep_the_clicks(styles: Path) -> None:
    """``p_spread_hints``: the network sees a click spread over its region, as the colorizer sends it."""
    base = SynthesisConfig(size=96, style_size=32, p_no_hints=0.0, p_region_hints=0.0, mean_hints=6.0)
    plain = IllustrationDataset(styles, base, seed=2, holdout=False)
    spread = IllustrationDataset(styles, SynthesisConfig(**{**base.__dict__, "p_spread_hints": 1.0}), seed=2,
                                 holdout=False)
    grew = 0
    for number in range(6):
        a, b = plain[(number % len(plain), number)], spread[(number % len(plain), number)]
        clicked = a["hints"][3] > 0
        assert torch.equal(a["sketch"], b["sketch"]) and torch.equal(a["target"], b["target"])
        assert torch.equal(b["hints"][:, clicked], a["hints"][:, clicked]), "the clicks themselves are kept"
        assert (b["hints"][3] > 0).sum() >= clicked.sum()
        grew += int((b["hints"][3] > 0).sum() > 2 * clicked.sum())
    assert grew >= 3


def test_reference_tone_changes_brightness_and_saturation_but_not_hue() -> None:
    from s2p_lab.references import ToneJitter

    rng = np.random.default_rng(0)
    assert ToneJitter.random(rng, 0.0) == ToneJitter()
    hsv = np.stack(np.meshgrid(np.arange(0, 180, 3), np.arange(120, 240, 2), indexing="xy"), -1)
    image = cv2.cvtColor(np.dstack([hsv[..., 0], np.full(hsv.shape[:2], 150), hsv[..., 1]]).astype(np.uint8),
                         cv2.COLOR_HSV2RGB)
    for tone, darker in ((ToneJitter(1.6, 1.4), True), (ToneJitter(0.6, 0.9), False)):
        out = cv2.cvtColor(tone(image), cv2.COLOR_RGB2HSV).astype(np.int32)
        src = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.int32)
        hue_error = np.abs((out[..., 0] - src[..., 0] + 90) % 180 - 90)
        assert np.median(hue_error) <= 2
        assert (out[..., 2].mean() < src[..., 2].mean()) == darker
        assert (out[..., 1].mean() > src[..., 1].mean()) == (tone.saturation > 1)


def test_reference_hints_in_the_synthesis_carry_the_targets_colors_at_their_alpha(styles: Path) -> None:
    """``p_reference_hints``: hints matched from the synthesized reference, as the colorizer's
    reference hints, at ``reference_hint_alpha``; the rest of the sample is unchanged (the draws
    come last), and the user's hinted regions are left to the user's hints."""
    from s2p_lab.evaluation.color import ciede2000, rgb_to_lab

    base = SynthesisConfig(size=96, style_size=64, p_no_reference=0.0, p_reference_tone=0.0, p_jitter=0.0)
    changes = {"p_reference_hints": 1.0, "reference_hint_errors": 0.0, "reference_hint_alpha": 0.4}
    plain = IllustrationDataset(styles, base, seed=5, holdout=False)
    hinted = IllustrationDataset(styles, SynthesisConfig(**{**base.__dict__, **changes}), seed=5, holdout=False)
    errors, got = [], 0
    for number in range(12):
        a, b = plain[(number % len(plain), number)], hinted[(number % len(plain), number)]
        for key in ("sketch", "reference", "target", "has_reference"):
            assert torch.equal(a[key], b[key]), key
        users = a["hints"][3] > 0
        assert torch.equal(b["hints"][:, users], a["hints"][:, users]), "the user's hints as they were"
        theirs = (b["hints"][3] > 0) & ~users
        if not theirs.any():
            continue
        got += 1
        assert torch.allclose(b["hints"][3, theirs], torch.tensor(0.4))
        colors = (b["hints"][:3, theirs] / 0.4).T.numpy() * 255
        target = ((a["target"][:, theirs] + 1) * 127.5).T.numpy()
        lab = [rgb_to_lab(np.clip(np.rint(x), 0, 255).astype(np.uint8)[None]) for x in (colors, target)]
        errors.append(float(np.median(ciede2000(lab[0], lab[1]))))
    assert got >= 6, got  # a reference cut from elsewhere in the illustration, or regions all hinted: none
    # the reference's colors where each part came from: near the target's there (a wash is about 20-30 off)
    assert np.median(errors) < 12, errors


def test_reference_hint_settings_are_checked(tmp_path: Path) -> None:
    from s2p_lab.errors import TrainingError

    for changes in ({"synthesis.p_reference_hints": 1.5}, {"synthesis.reference_hint_alpha": 0.0},
                    {"synthesis.reference_hint_alpha": 1.2}, {"synthesis.max_reference_hints": 0},
                    {"synthesis.reference_hint_errors": -0.1}):
        with pytest.raises(TrainingError, match=next(iter(changes)).split(".")[1]):
            TrainConfig(data=str(tmp_path), out=str(tmp_path / "run")).replace(changes).validate()
