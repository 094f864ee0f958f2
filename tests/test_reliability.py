"""Training under failure: killed processes, non-finite losses, corrupt checkpoints, retention.

Everything here is real: real training steps on tiny models (32 px, batch 2), a real ``s2p train``
process killed with SIGKILL, real files damaged on disk.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from s2p_lab.cli import main as cli_main
from s2p_lab.errors import CheckpointError, S2PError, TrainingError
from s2p_lab.losses import LossWeights
from s2p_lab.models import ModelConfig, load_model
from s2p_lab.train import TrainConfig, Trainer, checkpoint_path, list_checkpoints
from s2p_lab.weights import load_tensors, save_tensors

SMALL = ModelConfig(
    base_channels=8, style_channels=8, style_dim=16, token_dim=16, attention_heads=2, disc_channels=8, style_size=32
)
CKPT = re.compile(r"^ckpt-(\d{7})\.safetensors$")


@pytest.fixture(autouse=True)
def _inside_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Relative paths (and anything written by accident) land in the test's own folder."""
    monkeypatch.chdir(tmp_path)


def make_images(folder: Path, count: int = 6, side: int = 72) -> Path:
    """Small color illustrations: flat colored shapes on a colored background."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(count):
        image = np.empty((side, side + 8, 3), np.uint8)
        image[:] = rng.integers(0, 256, 3)
        for _ in range(4):
            y, x = rng.integers(0, side - 16, 2)
            h, w = rng.integers(8, 32, 2)
            image[y : y + h, x : x + w] = rng.integers(0, 256, 3)
        Image.fromarray(image).save(folder / f"color{i}.png")
    return folder


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_images(tmp_path_factory.mktemp("data"))


def config(data: Path, out: Path, **changes) -> TrainConfig:
    values = dict(
        data=str(data), out=str(out), steps=4, size=32, batch=2, checkpoint_every=2, keep_checkpoints=3,
        sample_every=10**6, log_every=1, warmup=1, gan_start=10**6, bf16=False, channels_last=False,
        model=SMALL,
    )
    values.update(changes)
    return TrainConfig(**values)


def steps_of(out: Path) -> list[int]:
    return sorted(int(m.group(1)) for p in out.iterdir() if (m := CKPT.match(p.name)))


def temp_files(out: Path) -> list[str]:
    return sorted(p.name for p in out.rglob("*.tmp"))


# ---------------------------------------------------------------------------------- SIGKILL


def _logged_steps(log: Path) -> list[int]:
    steps = []
    if log.exists():
        for line in log.read_text().splitlines():
            try:
                steps.append(int(json.loads(line)["step"]))
            except (ValueError, KeyError):  # a line cut short by the kill
                pass
    return steps


def test_sigkill_then_resume(tmp_path: Path, data: Path) -> None:
    every = 3
    command = [
        sys.executable, "-m", "s2p_lab.cli", "train", "--data", str(data), "--size", "32", "--batch", "2",
        "--checkpoint-every", str(every), "--keep-checkpoints", "2", "--out", "out", "--no-progress",
        "--base-channels", "8", "--log-every", "1", "--sample-every", "1000",
    ]
    out = tmp_path / "out"
    with open(tmp_path / "first.log", "wb") as log:
        proc = subprocess.Popen([*command, "--steps", "40"], cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                assert proc.poll() is None, "training ended before it could be killed: " + (tmp_path / "first.log").read_text()
                assert time.monotonic() < deadline, "no checkpoint with step >= 6 in time"
                if out.is_dir() and any(s >= 6 for s in steps_of(out)):
                    break
                time.sleep(0.02)
            os.kill(proc.pid, signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    before = steps_of(out)
    newest = before[-1]
    reached = max(_logged_steps(out / "log.jsonl"))
    assert newest >= 6 and reached - newest <= every, (before, reached)
    # what a write killed halfway leaves behind, from an earlier crash: never a checkpoint
    stale = out / f".ckpt-{newest + 1:07d}.safetensors.0123456789ab.tmp"
    stale.write_bytes(b"\x00" * 100)
    old = time.time() - 600
    os.utime(stale, (old, old))
    assert [p.name for p in list_checkpoints(out)] == [f"ckpt-{s:07d}.safetensors" for s in reversed(before)]

    final = newest + every
    proc = subprocess.run([*command, "--steps", str(final), "--resume"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=180)
    assert proc.returncode == 0, proc.stderr
    assert f"resumed from ckpt-{newest:07d}.safetensors at step {newest}" in proc.stdout
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["steps"] == final
    # training went on from the checkpoint (the first line it logged may have joined a line the kill cut)
    assert _logged_steps(out / "log.jsonl")[-(final - newest - 1):] == list(range(newest + 2, final + 1))
    after = steps_of(out)
    assert final in after and len(after) == 2, after
    assert temp_files(out) == [], "stale temporary files must be cleaned up by the next save"
    tensors, meta = load_tensors(checkpoint_path(out, final))
    assert meta["s2p.step"] == str(final)
    load_model(out / "final")


# ---------------------------------------------------------------------------------- NaN


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(three_checkpoints: Path, data: Path) -> None:
    out = three_checkpoints
    good = checkpoint_path(out, 6)
    before = good.read_bytes()

    trainer = Trainer(config(data, out, steps=10, losses=LossWeights(l1=float("nan"))), progress=False)
    with pytest.raises(TrainingError) as info:
        trainer.fit(resume=True)
    message = str(info.value)
    assert "step 6" in message and "not finite" in message
    assert "kept" in message and good.name in message
    assert "\n" not in message
    assert steps_of(out) == [2, 4, 6] and good.read_bytes() == before
    # the kept checkpoint is loadable: as weights, and to resume training from
    load_model(good)
    resumed = Trainer(config(data, out, steps=7), progress=False)
    resumed.fit(resume=True)
    assert resumed.step == 7 and 7 in steps_of(out)


def test_nan_before_any_checkpoint_says_so(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "run"
    trainer = Trainer(config(data, out, losses=LossWeights(gray_guide=float("inf"))), progress=False)
    with pytest.raises(TrainingError, match="step 0") as info:
        trainer.fit()
    assert "No checkpoint was written yet" in str(info.value)
    assert steps_of(out) == []


def test_exploding_lr_from_the_command_line(tmp_path: Path, data: Path, capsys) -> None:
    code = cli_main([
        "train", "--data", str(data), "--steps", "4", "--size", "32", "--batch", "2", "--out", "run",
        "--no-progress", "--base-channels", "8", "--lr", "1e30", "--fp32",
    ])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("s2p: error: step ") and "not finite" in err


# ---------------------------------------------------------------------------------- corrupt checkpoints


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    """One short real run with checkpoints at steps 2, 4 and 6 (copied for each test)."""
    out = tmp_path_factory.mktemp("trained") / "run"
    Trainer(config(data, out, steps=6), progress=False).fit()
    assert steps_of(out) == [2, 4, 6]
    return out


@pytest.fixture
def three_checkpoints(trained: Path, tmp_path: Path) -> Path:
    return shutil.copytree(trained, tmp_path / "run")


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _flip(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-10] ^= 0xFF
    path.write_bytes(bytes(data))


def _empty(path: Path) -> None:
    path.write_bytes(b"")


def _pickle(path: Path) -> None:
    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch '{path.parent / 'pwned'}'",))

    path.write_bytes(pickle.dumps(Evil(), protocol=4))


def _bad_step(path: Path) -> None:
    """Valid file and checksum, but its header says nonsense (step 'six')."""
    tensors, meta = load_tensors(path)
    save_tensors(path, tensors, {**meta, "s2p.step": "six"})


def _bad_model_config(path: Path) -> None:
    tensors, meta = load_tensors(path)
    save_tensors(path, tensors, {**meta, "s2p.model_config": json.dumps({"levels": "three"})})


def _no_kind(path: Path) -> None:
    tensors, meta = load_tensors(path)
    del meta["s2p.kind"]
    save_tensors(path, tensors, meta)


def _missing_tensor(path: Path) -> None:
    tensors, meta = load_tensors(path)
    del tensors[sorted(k for k in tensors if k.startswith("model."))[0]]
    save_tensors(path, tensors, meta)


def _bad_optimizer_groups(path: Path) -> None:
    tensors, meta = load_tensors(path)
    save_tensors(path, tensors, {**meta, "s2p.opt_g_groups": "42"})


DAMAGE = [_truncate, _flip, _empty, _pickle, _bad_step, _bad_model_config, _no_kind, _missing_tensor,
          _bad_optimizer_groups]


@pytest.mark.parametrize("damage", DAMAGE, ids=lambda f: f.__name__.strip("_"))
def test_resume_skips_a_damaged_newest_checkpoint(three_checkpoints: Path, data: Path, damage, capsys) -> None:
    out = three_checkpoints
    damage(checkpoint_path(out, 6))
    capsys.readouterr()
    trainer = Trainer(config(data, out, steps=8), progress=False)
    assert trainer.resume() == checkpoint_path(out, 4)
    printed = capsys.readouterr().out
    assert printed.startswith("skipped corrupt checkpoint(s): ckpt-0000006.safetensors: "), printed
    assert printed.count("\n") == 1
    assert trainer.step == 4
    assert not (out / "pwned").exists()


def test_training_goes_on_from_the_previous_checkpoint(three_checkpoints: Path, data: Path, capsys) -> None:
    out = three_checkpoints
    _truncate(checkpoint_path(out, 6))
    capsys.readouterr()
    trainer = Trainer(config(data, out, steps=8), progress=False)
    trainer.fit(resume=True)
    printed = capsys.readouterr().out
    assert "skipped corrupt checkpoint(s): ckpt-0000006.safetensors" in printed, printed
    assert "resumed from ckpt-0000004.safetensors at step 4" in printed
    assert trainer.step == 8
    assert steps_of(out) == [4, 6, 8]
    load_tensors(checkpoint_path(out, 6))  # rewritten by the resumed run


def test_resume_with_every_checkpoint_damaged(three_checkpoints: Path, data: Path) -> None:
    out = three_checkpoints
    for step, damage in zip((2, 4, 6), (_flip, _pickle, _truncate)):
        damage(checkpoint_path(out, step))
    trainer = Trainer(config(data, out, steps=8), progress=False)
    with pytest.raises(CheckpointError) as info:
        trainer.fit(resume=True)
    message = str(info.value)
    assert message.startswith("no usable checkpoint to resume from")
    assert all(f"ckpt-{s:07d}" in message for s in (2, 4, 6)), message
    assert not (out / "pwned").exists()
    assert steps_of(out) == [2, 4, 6], "a failed resume must not touch the checkpoints"


def test_all_corrupt_from_the_command_line(tmp_path: Path, data: Path, capsys) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "ckpt-0000003.safetensors").write_bytes(b"")
    (out / "ckpt-0000006.safetensors").write_bytes(b"garbage that is not a checkpoint")
    code = cli_main([
        "train", "--data", str(data), "--steps", "8", "--size", "32", "--batch", "2", "--out", str(out),
        "--no-progress", "--base-channels", "8", "--resume",
    ])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("s2p: error: no usable checkpoint")
    assert "ckpt-0000006.safetensors" in err and "ckpt-0000003.safetensors" in err


def test_resume_ignores_temp_files_and_strays(three_checkpoints: Path, data: Path, capsys) -> None:
    out = three_checkpoints
    (out / ".ckpt-0000009.safetensors.abcdefabcdef.tmp").write_bytes(checkpoint_path(out, 6).read_bytes()[:1000])
    (out / "ckpt-notes.txt").write_text("not a checkpoint")
    (out / "ckpt-0000099.safetensors.bak").write_bytes(b"old")
    capsys.readouterr()
    trainer = Trainer(config(data, out, steps=6), progress=False)
    assert trainer.resume() == checkpoint_path(out, 6) and trainer.step == 6
    assert capsys.readouterr().out == ""


def test_resume_with_an_empty_folder_starts_fresh(tmp_path: Path, data: Path) -> None:
    trainer = Trainer(config(data, tmp_path / "run", steps=1, checkpoint_every=1), progress=False)
    assert trainer.resume() is None
    trainer.fit(resume=True)
    assert steps_of(tmp_path / "run") == [1]


def test_resume_restores_weights_and_optimizer(three_checkpoints: Path, data: Path) -> None:
    out = three_checkpoints
    tensors, meta = load_tensors(checkpoint_path(out, 6))
    trainer = Trainer(config(data, out, steps=6), progress=False)
    trainer.resume()
    for name, value in trainer.model.state_dict().items():
        assert torch.equal(value, tensors[f"model.{name}"]), name
    state = trainer.opt_g.state_dict()["state"]
    assert state and all(int(v["step"]) == 6 for v in state.values())


def test_checkpoint_of_another_model_is_refused(three_checkpoints: Path, data: Path) -> None:
    wider = ModelConfig(**{**SMALL.to_dict(), "base_channels": 16})
    trainer = Trainer(config(data, three_checkpoints, steps=6, model=wider), progress=False)
    with pytest.raises(CheckpointError, match="another model config"):
        trainer.resume()


# ---------------------------------------------------------------------------------- retention


def test_only_keep_newest_checkpoints_remain(tmp_path: Path, data: Path) -> None:
    out = tmp_path / "run"
    Trainer(config(data, out, steps=3, checkpoint_every=1, keep_checkpoints=2), progress=False).fit()
    assert steps_of(out) == [2, 3]
    assert temp_files(out) == []
    Trainer(config(data, out, steps=4, checkpoint_every=1, keep_checkpoints=1), progress=False).fit(resume=True)
    assert steps_of(out) == [4]


def test_keep_from_the_command_line(tmp_path: Path, data: Path) -> None:
    code = cli_main([
        "train", "--data", str(data), "--steps", "3", "--size", "32", "--batch", "2", "--out", "run",
        "--no-progress", "--base-channels", "8", "--checkpoint-every", "1", "--keep-checkpoints", "2", "--fp32",
    ])
    assert code == 0
    assert steps_of(tmp_path / "run") == [2, 3]
    assert (tmp_path / "run" / "final" / "model.safetensors").is_file()
    json.loads((tmp_path / "run" / "train_config.json").read_text())


@pytest.mark.parametrize(
    ("option", "value"),
    [("--keep-checkpoints", "0"), ("--keep-checkpoints", "-1"), ("--checkpoint-every", "0"), ("--log-every", "0"),
     ("--sample-every", "0"), ("--lr", "nan"), ("--lr", "-1"), ("--steps", "0"), ("--batch", "0"),
     ("--size", "20"), ("--size", "36")],
)
def test_bad_training_options_are_refused_before_training(tmp_path: Path, data: Path, option: str, value: str, capsys) -> None:
    args = {"--data": str(data), "--steps": "2", "--size": "32", "--batch": "2", "--out": "run"}
    args[option] = value
    argv = ["train", "--no-progress", "--base-channels", "8"] + [x for kv in args.items() for x in kv]
    code = cli_main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("s2p: error: ") and option in err
    assert not (tmp_path / "run").exists()


def test_corrupt_train_config_on_resume(three_checkpoints: Path, data: Path, capsys) -> None:
    """A train_config.json cut short (killed while written by an older version) is a user error."""
    (three_checkpoints / "train_config.json").write_text('{"data": "x", "model": {"base_')
    code = cli_main([
        "train", "--data", str(data), "--steps", "6", "--size", "32", "--batch", "2",
        "--out", str(three_checkpoints), "--no-progress", "--resume",
    ])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and "train_config.json" in err


def test_training_errors_are_user_errors(tmp_path: Path) -> None:
    assert issubclass(TrainingError, S2PError)
    with pytest.raises(TrainingError, match="not found"):
        Trainer(config(tmp_path / "missing", tmp_path / "run"), progress=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(TrainingError, match="no training images"):
        Trainer(config(tmp_path / "empty", tmp_path / "run"), progress=False)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    trainer = Trainer(config(broken, tmp_path / "run"), progress=False)
    with pytest.raises(TrainingError, match="bad.png"):
        trainer.fit()
