"""Stopped and resumed, a run ends exactly where an uninterrupted one does; its schedule survives."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from s2p_lab.errors import TrainingError
from s2p_lab.train import TrainConfig, Trainer, checkpoint_path, list_checkpoints
from s2p_lab.weights import load_tensors


@pytest.fixture(scope="module")
def styles(sample_dir: Path) -> Path:
    return sample_dir / "styles"


def config(data: Path, out: Path, tiny_config, **changes) -> TrainConfig:
    values = dict(data=str(data), out=str(out), steps=5, size=32, batch=2, warmup=2, gan_start=1,
                  checkpoint_every=10**6, sample_every=10**6, log_every=1, bf16=False, channels_last=False,
                  model=tiny_config)
    values.update(changes)
    return TrainConfig(**values)


def states(trainer: Trainer) -> dict[str, torch.Tensor]:
    out = {f"model.{k}": v for k, v in trainer.model.state_dict().items()}
    out.update({f"disc.{k}": v for k, v in trainer.disc.state_dict().items()})
    for name, opt in (("opt_g", trainer.opt_g), ("opt_d", trainer.opt_d)):
        for index, values in opt.state_dict()["state"].items():
            out.update({f"{name}.{index}.{k}": v for k, v in values.items()})
    return out


@pytest.mark.slow
def test_stopped_and_resumed_equals_uninterrupted(styles: Path, tmp_path: Path, tiny_config) -> None:
    """GAN terms on from step 1; the resumed half also runs with two loader workers."""
    straight = Trainer(config(styles, tmp_path / "straight", tiny_config), progress=False)
    straight.fit()
    first = Trainer(config(styles, tmp_path / "split", tiny_config, steps=3, schedule_steps=5), progress=False)
    first.fit()
    assert [p.name for p in list_checkpoints(tmp_path / "split")] == ["ckpt-0000003.safetensors"]
    second = Trainer(config(styles, tmp_path / "split", tiny_config, workers=2), progress=False)
    second.fit(resume=True)
    assert second.step == straight.step == 5 and second.samples == straight.samples == 10
    a, b = states(straight), states(second)
    assert a.keys() == b.keys() and any(k.startswith("opt_d.") for k in a), "the discriminator trained too"
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different
    assert second.history[-1]["l1"] == straight.history[-1]["l1"]
    assert "d" in straight.history[-1]


@pytest.mark.slow
def test_checkpoint_holds_rng_data_position_and_config(styles: Path, tmp_path: Path, tiny_config) -> None:
    trainer = Trainer(config(styles, tmp_path / "run", tiny_config, steps=2, gan_start=10**6), progress=False)
    trainer.fit()
    tensors, meta = load_tensors(checkpoint_path(tmp_path / "run", 2))
    assert torch.equal(tensors["rng.torch"], torch.get_rng_state())
    assert int(meta["s2p.samples"]) == 2 * 2
    saved = TrainConfig.from_dict(__import__("json").loads(meta["s2p.train_config"]))
    assert saved.schedule_steps == 2 and saved.model == tiny_config and saved.steps == 2


@pytest.mark.slow
def test_more_steps_on_resume_keep_the_schedule(styles: Path, tmp_path: Path, tiny_config) -> None:
    out = tmp_path / "run"
    Trainer(config(styles, out, tiny_config, steps=3, warmup=1, gan_start=10**6), progress=False).fit()
    longer = Trainer(config(styles, out, tiny_config, steps=5, warmup=1, gan_start=10**6), progress=False)
    longer.fit(resume=True)
    assert longer.step == 5 and longer.horizon == 3, "the cosine horizon comes from the checkpoint"
    cfg = longer.config
    assert longer.opt_g.param_groups[0]["lr"] == pytest.approx(cfg.lr * cfg.cosine_end), "past the schedule: its end rate"
    assert TrainConfig.from_dict(__import__("json").loads((out / "train_config.json").read_text())).schedule_steps == 3

    other = Trainer(config(styles, out, tiny_config, steps=8, schedule_steps=8, warmup=1, gan_start=10**6), progress=False)
    with pytest.raises(TrainingError, match="3-step schedule.*--schedule-steps 8"):
        other.fit(resume=True)


@pytest.mark.slow
def test_resumed_stage_does_not_need_its_init_weights(styles: Path, tmp_path: Path, tiny_config) -> None:
    """A stage started with ``init`` resumes from its own checkpoint even when ``init`` is gone."""
    stage1 = Trainer(config(styles, tmp_path / "s1", tiny_config, steps=1, gan_start=10**6), progress=False)
    stage1.fit()
    init = checkpoint_path(tmp_path / "s1", 1)
    stage2 = config(styles, tmp_path / "s2", tiny_config, steps=2, init=str(init), gan_start=10**6)
    first = Trainer(stage2, progress=False)
    first.fit()
    init.unlink()
    second = Trainer(config(styles, tmp_path / "s2", tiny_config, steps=3, init=str(init), gan_start=10**6), progress=False)
    second.fit(resume=True)
    assert second.step == 3
    fresh = Trainer(config(styles, tmp_path / "s3", tiny_config, steps=1, init=str(init)), progress=False)
    with pytest.raises(Exception, match="s1"):
        fresh.fit()  # a new stage still needs its init weights, and says which file is missing


@pytest.mark.slow
def test_a_time_budget_stops_with_a_checkpoint_and_resume_finishes_the_same_run(styles: Path, tmp_path: Path,
                                                                               tiny_config) -> None:
    """``fit(max_seconds=...)`` (``s2p train --max-minutes``) stops after the step that spends the
    budget, with a checkpoint and no final weights; resuming ends where an uninterrupted run does."""
    straight = Trainer(config(styles, tmp_path / "straight", tiny_config), progress=False)
    assert straight.fit()["finished"] is True
    out = tmp_path / "boxed"
    first = Trainer(config(styles, out, tiny_config), progress=False)
    summary = first.fit(max_seconds=1e-9)
    assert summary["finished"] is False and first.step == 1
    assert [p.name for p in list_checkpoints(out)] == ["ckpt-0000001.safetensors"]
    assert not (out / "final").exists()
    second = Trainer(config(styles, out, tiny_config), progress=False)
    assert second.fit(resume=True, max_seconds=3600)["finished"] is True and second.step == 5
    a, b = states(straight), states(second)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different
    assert (out / "final" / "model.safetensors").exists()


def test_a_time_budget_must_be_positive(styles: Path, tmp_path: Path, tiny_config, capsys) -> None:
    from s2p_lab.train import main

    with pytest.raises(TrainingError, match="budget"):
        Trainer(config(styles, tmp_path / "run", tiny_config), progress=False).fit(max_seconds=0)
    assert main(["--data", str(styles), "--out", str(tmp_path / "cli"), "--max-minutes", "0"]) == 2
    err = capsys.readouterr().err
    assert "--max-minutes" in err and err.count("\n") == 1


@pytest.mark.slow
def test_moving_average_is_checkpointed_resumed_and_becomes_the_final_weights(styles: Path, tmp_path: Path,
                                                                             tiny_config) -> None:
    """``ema``: the average trails the weights, survives a stop and resume bitwise, is what the
    final weights hold and what a checkpoint gives as weights."""
    from s2p_lab.models import load_model

    straight = Trainer(config(styles, tmp_path / "straight", tiny_config, ema=0.9), progress=False)
    straight.fit()
    assert straight.ema is not None and straight.ema_steps == 5
    trained = {k: v for k, v in straight.model.state_dict().items() if v.is_floating_point()}
    assert straight.ema.keys() == trained.keys()
    assert any(not torch.equal(straight.ema[k], trained[k]) for k in trained), "the average trails the weights"

    first = Trainer(config(styles, tmp_path / "split", tiny_config, ema=0.9, steps=3, schedule_steps=5), progress=False)
    first.fit()
    tensors, meta = load_tensors(checkpoint_path(tmp_path / "split", 3))
    assert meta["s2p.ema_steps"] == "3" and any(k.startswith("ema.") for k in tensors)
    from_checkpoint = load_model(checkpoint_path(tmp_path / "split", 3)).state_dict()
    assert all(torch.equal(from_checkpoint[k], first.ema[k]) for k in first.ema), "a checkpoint as weights is its average"
    second = Trainer(config(styles, tmp_path / "split", tiny_config, ema=0.9), progress=False)
    second.fit(resume=True)
    a, b = states(straight), states(second)
    assert not [k for k in a if not torch.equal(a[k], b[k])]
    assert not [k for k in straight.ema if not torch.equal(straight.ema[k], second.ema[k])]

    final = load_model(tmp_path / "straight" / "final").state_dict()
    assert all(torch.equal(final[k], straight.ema[k]) for k in straight.ema), "the final weights are the average"
    assert '"ema": 0.9' in (tmp_path / "straight" / "final" / "config.json").read_text()


def test_moving_average_decay_is_checked(styles: Path, tmp_path: Path, tiny_config) -> None:
    with pytest.raises(TrainingError, match="--ema"):
        config(styles, tmp_path / "run", tiny_config, ema=1.0).validate()
