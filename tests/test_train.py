"""Real training steps on real images: the loop, checkpoints, resume, and torchrun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from s2p_lab.data import IllustrationDataset, SynthesisConfig
from s2p_lab.train import TrainConfig, Trainer, list_checkpoints

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def color_images(sample_dir: Path) -> Path:
    """The repository's own colorful sample references double as a tiny training set."""
    folder = sample_dir / "styles"
    if len(list(folder.glob("*.png"))) < 3:
        pytest.fail(f"sample data missing in {folder}: run tools/make_sample_data.py")
    return folder


def _config(data: Path, out: Path, tiny_config, steps: int, **overrides) -> TrainConfig:
    values = dict(data=str(data), out=str(out), steps=steps, size=32, batch=2, warmup=1, gan_start=2,
                  checkpoint_every=2, sample_every=3, log_every=1, model=tiny_config)
    values.update(overrides)
    return TrainConfig(**values)


def test_dataset_samples_are_consistent(color_images: Path) -> None:
    ds = IllustrationDataset(color_images, SynthesisConfig(size=64, style_size=32, p_no_hints=0.0), seed=3, holdout=False)
    sample = ds[0]
    assert sample["sketch"].shape == (1, 64, 64) and sample["hints"].shape == (4, 64, 64)
    assert sample["target"].shape == (3, 64, 64) and sample["reference"].shape == (3, 32, 32)
    assert sample["target"].min() >= -1 and sample["target"].max() <= 1
    assert 0 < sample["sketch"].mean() < 0.6, "a sketch is mostly paper with some lines"
    alpha = sample["hints"][3]
    assert set(torch.unique(alpha).tolist()) <= {0.0, 1.0} and alpha.sum() > 0
    # hint colors are the target's colors where hinted
    target01 = (sample["target"] + 1) / 2
    hinted = alpha > 0
    assert (sample["hints"][:3][:, hinted] - target01[:, hinted]).abs().mean() < 0.15


def test_three_steps_then_resume(tmp_path: Path, color_images: Path, tiny_config) -> None:
    out = tmp_path / "run"
    trainer = Trainer(_config(color_images, out, tiny_config, steps=3), progress=False)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    summary = trainer.fit()
    assert summary["steps"] == 3
    changed = [k for k, v in trainer.model.state_dict().items() if v.dtype.is_floating_point and not torch.equal(v, before[k])]
    assert len(changed) > len(before) // 2, "a real optimizer step changes most weights"
    records = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(np.isfinite(r["l1"]) for r in records) and "d" in records[-1], "GAN terms join at gan_start"
    assert [p.name for p in list_checkpoints(out)] == ["ckpt-0000003.safetensors", "ckpt-0000002.safetensors"]
    assert (out / "samples-0000003.png").exists() and (out / "final" / "model.safetensors").exists()

    resumed = Trainer(_config(color_images, out, tiny_config, steps=5), progress=False)
    summary = resumed.fit(resume=True)
    assert summary["steps"] == 5
    for k, v in resumed.opt_g.state_dict()["state"].items():
        assert int(v["step"]) == 5, "optimizer state continued from the checkpoint"
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]


def test_init_from_a_checkpoint_takes_generator_and_discriminator(tmp_path: Path, color_images: Path, tiny_config) -> None:
    first = Trainer(_config(color_images, tmp_path / "a", tiny_config, steps=3), progress=False)  # GAN from step 2
    first.fit()
    ckpt = list_checkpoints(tmp_path / "a")[0]
    tuned = Trainer(_config(color_images, tmp_path / "b", tiny_config, steps=1, init=str(ckpt)), progress=False)
    for k, v in first.disc.state_dict().items():
        torch.testing.assert_close(tuned.disc.state_dict()[k].float(), v.float(), msg=f"disc {k}")
    for k, v in first.model.state_dict().items():
        torch.testing.assert_close(tuned.model.state_dict()[k].float(), v.float(), msg=f"model {k}")
    # exported weights (no discriminator inside) start the discriminator afresh
    fresh = Trainer(_config(color_images, tmp_path / "c", tiny_config, steps=1, init=str(tmp_path / "a" / "final")),
                    progress=False)
    differs = [k for k, v in first.disc.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(fresh.disc.state_dict()[k], v)]
    assert differs


def test_command_line_train_and_resume(tmp_path: Path, color_images: Path) -> None:
    base = [sys.executable, "-m", "s2p_lab.cli", "train", "--data", str(color_images), "--out", str(tmp_path / "r"),
            "--size", "64", "--batch", "2", "--base-channels", "8", "--checkpoint-every", "1", "--no-progress"]
    first = subprocess.run(base + ["--steps", "2"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(base + ["--steps", "3", "--resume"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "resumed from ckpt-0000002" in second.stdout + second.stderr
    assert json.loads(second.stdout.strip().splitlines()[-1])["steps"] == 3


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path: Path, color_images: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "s2p_lab.train", "--data", str(color_images), "--out", str(tmp_path / "ddp"), "--steps", "2",
           "--size", "64", "--batch", "2", "--base-channels", "8", "--checkpoint-every", "1", "--no-progress"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["steps"] == 2
    assert (tmp_path / "ddp" / "ckpt-0000002.safetensors").exists()
