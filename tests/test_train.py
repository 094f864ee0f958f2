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


@pytest.mark.slow
@pytest.mark.numerics  # the default precision: bf16 autocast where fast (S2P_PRECISION)
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
    assert all(np.isfinite(r["l1"]) for r in records) and {"d", "g_adv"} <= set(records[-1]), "GAN terms join at gan_start"
    assert [p.name for p in list_checkpoints(out)] == ["ckpt-0000003.safetensors", "ckpt-0000002.safetensors"]
    assert (out / "samples-0000003.png").exists() and (out / "final" / "model.safetensors").exists()

    resumed = Trainer(_config(color_images, out, tiny_config, steps=5), progress=False)
    summary = resumed.fit(resume=True)
    assert summary["steps"] == 5
    for k, v in resumed.opt_g.state_dict()["state"].items():
        assert int(v["step"]) == 5, "optimizer state continued from the checkpoint"
    steps = [json.loads(line)["step"] for line in (out / "log.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5]


@pytest.mark.slow
def test_init_from_a_checkpoint_takes_generator_and_discriminator(tmp_path: Path, color_images: Path, tiny_config) -> None:
    first = Trainer(_config(color_images, tmp_path / "a", tiny_config, steps=3), progress=False)  # GAN from step 2
    first.fit()
    ckpt = list_checkpoints(tmp_path / "a")[0]
    tuned = Trainer(_config(color_images, tmp_path / "b", tiny_config, steps=1, init=str(ckpt)), progress=False)
    assert tuned.restore(resume=False) is None
    for k, v in first.disc.state_dict().items():
        torch.testing.assert_close(tuned.disc.state_dict()[k].float(), v.float(), msg=f"disc {k}")
    for k, v in first.model.state_dict().items():
        torch.testing.assert_close(tuned.model.state_dict()[k].float(), v.float(), msg=f"model {k}")
    # exported weights (no discriminator inside) start the discriminator afresh
    fresh = Trainer(_config(color_images, tmp_path / "c", tiny_config, steps=1, init=str(tmp_path / "a" / "final")),
                    progress=False)
    fresh.restore(resume=False)
    differs = [k for k, v in first.disc.state_dict().items()
               if v.dtype.is_floating_point and not torch.equal(fresh.disc.state_dict()[k], v)]
    assert differs


@pytest.mark.slow
def test_command_line_train_and_resume(tmp_path: Path, color_images: Path) -> None:
    base = [sys.executable, "-m", "s2p_lab.cli", "train", "--data", str(color_images), "--out", str(tmp_path / "r"),
            "--size", "64", "--batch", "2", "--base-channels", "8", "--checkpoint-every", "1", "--no-progress"]
    first = subprocess.run(base + ["--steps", "2"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert first.returncode == 0, first.stderr
    second = subprocess.run(base + ["--steps", "3", "--resume"], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "resumed from ckpt-0000002" in second.stdout + second.stderr
    summary = json.loads(second.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 3
    from s2p_lab.heap import glibc_mallopt

    assert summary["heap_kept"] == (glibc_mallopt() is not None), "the s2p train process keeps its heap"


@pytest.mark.slow
def test_torchrun_two_processes(tmp_path: Path, color_images: Path) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "s2p_lab.train", "--data", str(color_images), "--out", str(tmp_path / "ddp"), "--steps", "2",
           "--size", "32", "--batch", "8", "--gan-start", "1", "--base-channels", "8", "--checkpoint-every", "1",
           "--no-progress"]  # 9 images, 8 per process: fewer than a step's 16 samples (this used to spin forever)
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1])["steps"] == 2
    assert (tmp_path / "ddp" / "ckpt-0000002.safetensors").exists()


# ---------------------------------------------------------------------------------- the config tree


def _tiny_dict(tiny_config) -> dict:
    return tiny_config.to_dict()


@pytest.mark.slow
def test_config_file_with_flags_on_top(tmp_path: Path, color_images: Path, tiny_config, monkeypatch) -> None:
    from s2p_lab.cli import main as cli_main
    from s2p_lab.heap import heap_kept
    from s2p_lab.weights import read_metadata

    monkeypatch.chdir(tmp_path)
    file = tmp_path / "run.json"
    file.write_text(json.dumps({
        "data": str(color_images), "out": "run", "steps": 5, "size": 32, "batch": 2, "warmup": 1, "bf16": False,
        "model": _tiny_dict(tiny_config), "synthesis": {"p_region_hints": 0.0, "p_no_reference": 0.1},
    }))
    code = cli_main(["train", "--config", str(file), "--steps", "1", "--set", "losses.adversarial=0",
                     "--set", "synthesis.extractors=[\"xdog\"]", "--no-progress"])
    assert code == 0
    saved = TrainConfig.from_dict(json.loads((tmp_path / "run" / "train_config.json").read_text()))
    assert saved.steps == 1 and saved.schedule_steps == 1, "the flag overrides the file"
    assert saved.size == 32 and saved.model == tiny_config, "the file overrides the defaults"
    assert saved.synthesis.p_region_hints == 0.0 and saved.synthesis.p_no_reference == 0.1
    assert saved.synthesis.extractors == ("xdog",) and saved.losses.adversarial == 0.0
    header = read_metadata(tmp_path / "run" / "ckpt-0000001.safetensors")
    assert TrainConfig.from_dict(json.loads(header["s2p.train_config"])) == saved, "every checkpoint carries its config"
    from s2p_lab.train_config import load_config

    assert load_config(tmp_path / "run" / "ckpt-0000001.safetensors") == saved, "--config CHECKPOINT repeats a run"
    assert not heap_kept(), "a library or in-process call leaves this process's malloc alone"


@pytest.mark.parametrize(
    ("content", "named"),
    [({"stepz": 3}, "stepz"), ({"synthesis": {"p_foo": 1}}, "synthesis.p_foo"), ({"steps": "10"}, "steps"),
     ({"bf16": "yes"}, "bf16"), ({"synthesis": {"p_no_reference": "x"}}, "synthesis.p_no_reference"),
     ({"synthesis": {"extractors": [1]}}, "synthesis.extractors"), ({"model": {"levels": 2.5}}, "model.levels"),
     ({"losses": []}, "losses"), ({"synthesis": {"p_no_hints": 1.5}}, "synthesis.p_no_hints"),
     ({"synthesis": {"extractors": ["crayon"]}}, "synthesis.extractors"), ({"compile": True}, "compile")],
)
def test_bad_config_files_are_refused_in_one_line(tmp_path: Path, color_images: Path, content: dict, named: str,
                                                  capsys, monkeypatch) -> None:
    from s2p_lab.cli import main as cli_main

    monkeypatch.chdir(tmp_path)
    file = tmp_path / "bad.json"
    file.write_text(json.dumps({"data": str(color_images), "out": "run", **content}))
    code = cli_main(["train", "--config", str(file), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("s2p: error: ") and named in err, err
    assert not (tmp_path / "run").exists()


def test_bad_set_and_missing_data_are_refused(tmp_path: Path, color_images: Path, capsys, monkeypatch) -> None:
    from s2p_lab.cli import main as cli_main

    monkeypatch.chdir(tmp_path)
    for argv, named in ((["--set", "losses.l2=1"], "losses.l2"), (["--set", "steps"], "FIELD=VALUE"),
                        (["--set", "synthesis.max_zoom=\"big\""], "synthesis.max_zoom")):
        assert cli_main(["train", "--data", str(color_images), "--no-progress", *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and named in err, err
    assert cli_main(["train", "--steps", "2"]) == 2
    assert "no training data" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:  # --compile never did anything: gone
        cli_main(["train", "--data", str(color_images), "--compile"])
    assert exit_info.value.code == 2
    assert TrainConfig.from_dict({"compile": False}) == TrainConfig(), "runs of older versions can be resumed"


def test_shipped_stage_configs(sample_dir: Path) -> None:
    """The shipped weights' config names its stages' config files, and they match it: stage 2 is
    stage 1 resumed from its last checkpoint with one synthesis setting changed."""
    from s2p_lab.train_config import load_config

    shipped = json.loads((ROOT / "s2p_lab" / "pretrained" / "config.json").read_text())
    stages = [load_config(ROOT / stage["config"]).validate() for stage in shipped["stages"]]
    assert [stage["config"] for stage in shipped["stages"]] == ["configs/v0.3.json", "configs/v0.3-stage2.json"]
    v03, second = stages
    assert v03.model.to_dict() == second.model.to_dict() == shipped["model"], "the hint encoding included"
    assert (v03.model.sketch_backbone, v03.model.reference_backbone) == ("efficientnet_lite0", "dinov2_small")
    assert v03.size == 256 and v03.model.style_size == 256 and v03.init == "s2p_lab/pretrained/history/v0.2"
    assert sum(stage["steps"] for stage in shipped["stages"]) == shipped["trained_steps"] == second.steps
    assert second.init == f"{v03.out}/ckpt-{v03.steps:07d}.safetensors" and second.schedule_steps == v03.steps
    assert second.synthesis.p_no_reference == 0.2
    same = {**second.to_dict(), "init": v03.init, "init_sha256": v03.init_sha256, "notes": "", "steps": v03.steps,
            "synthesis": {**second.to_dict()["synthesis"], "p_no_reference": v03.synthesis.p_no_reference}}
    assert same == {**v03.to_dict(), "notes": ""}, "everything else as stage 1"
    for stage in shipped["stages"]:
        assert stage["command"].startswith(f"s2p train --config {stage['config']}")
    assert shipped["stages"][1]["command"].endswith(" --resume")
    for name in ("self", "efficientnet", "dinov2"):  # the comparison: one model field apart, all else equal
        arm = load_config(ROOT / "configs" / f"v0.3-compare-{name}.json").validate()
        same = {**arm.to_dict(), "out": "", "notes": "", "model": {**arm.model.to_dict(), "sketch_backbone": "",
                                                                  "reference_backbone": ""}}
        dino = load_config(ROOT / "configs" / "v0.3-compare-dinov2.json").validate().to_dict()
        assert same == {**dino, "out": "", "notes": "", "model": {**dino["model"], "sketch_backbone": "",
                                                                  "reference_backbone": ""}}
    card = (ROOT / "s2p_lab" / "pretrained" / "MODEL_CARD.md").read_text()
    assert all(stage["command"] in card for stage in shipped["stages"])
    stage1, stage2 = (load_config(ROOT / "configs" / f"v0.2-stage{i}.json").validate() for i in (1, 2))
    assert stage2.init == f"{stage1.out}/ckpt-{stage1.steps:07d}.safetensors", "v0.2's stage 2 starts from stage 1's end"
    v02 = json.loads((ROOT / "s2p_lab" / "pretrained" / "history" / "v0.2" / "config.json").read_text())
    assert [stage["config"] for stage in v02["stages"]] == ["configs/v0.2-stage1.json", "configs/v0.2-stage2.json"]
    assert sum(stage["steps"] for stage in v02["stages"]) == v02["trained_steps"] == stage1.steps + stage2.steps
    from s2p_lab.models import ModelConfig

    assert stage2.model == ModelConfig.from_dict(v02["model"]), "hints as drawn: v0.2 never saw them spread"


@pytest.mark.slow
def test_target_style_pass_and_frozen_parts_stay_in_eval(tmp_path: Path, color_images: Path, tiny_config) -> None:
    trainer = Trainer(_config(color_images, tmp_path / "run", tiny_config, steps=2, gan_start=0, bf16=False), progress=False)
    batch = next(iter(trainer.loader()))
    norm = trainer.model.style_encoder.stage1[0][1]
    assert isinstance(norm, torch.nn.BatchNorm2d)
    before = int(norm.num_batches_tracked)
    losses = trainer.train_step(batch)
    assert "g_style" in losses and "d_style" in losses, "the target-style pass ran"
    assert int(norm.num_batches_tracked) == before + 1, "only the reference pass moves the encoder's statistics"

    trainer.model.style_encoder.requires_grad_(False)  # a frozen encoder
    stats = {k: v.clone() for k, v in trainer.model.style_encoder.state_dict().items()}
    trainer.train_step(batch)
    assert not trainer.model.style_encoder.training and trainer.model.generator.training
    assert all(torch.equal(v, stats[k]) for k, v in trainer.model.style_encoder.state_dict().items())


@pytest.mark.parametrize("path", sorted(p for p in (ROOT / "configs").glob("*.json") if not p.name.startswith("matcher")),
                         ids=lambda p: p.name)
def test_every_shipped_config_loads_and_starts_from_what_exists(path: Path) -> None:
    """Each config in configs/ is valid, writes under runs/, says what it is for, and starts from
    weights the repository holds, named by their sha256 (the real file's, checked here as training
    checks it), or from an earlier stage's run. (The matcher's configs, ``matcher-*.json``, are
    ``s2p matcher train``'s: ``tests/test_matching.py``.)"""
    from s2p_lab.train_config import check_init, load_config

    config = load_config(path).validate()
    assert config.out.startswith("runs/"), config.out
    assert config.data.endswith("illustrations")
    if config.init.startswith("runs/"):
        assert not config.init_sha256, f"{path.name}: an earlier stage's run has no fixed content"
    elif config.init:
        assert config.init_sha256, f"{path.name}: name init {config.init} by its sha256 (init_sha256)"
        assert check_init(config).is_file()
    assert json.loads(path.read_text()).get("notes"), f"{path.name}: say what the run is for in 'notes'"


def test_training_refuses_other_weights_than_the_config_names(tmp_path: Path, color_images: Path, tiny_config,
                                                             capsys, monkeypatch) -> None:
    """``init_sha256``: a parent that is not the file the config names stops the run before its
    first step with ``InitWeightsError`` (exit status 2 and one line from ``s2p train``)."""
    from s2p_lab.cli import main as cli_main
    from s2p_lab.errors import InitWeightsError, TrainingError
    from s2p_lab.fileio import file_sha256
    from s2p_lab.models import ColorizationModel, save_model
    from s2p_lab.train_config import check_init

    parent = save_model(ColorizationModel(tiny_config), tmp_path / "parent")
    digest = file_sha256(parent / "model.safetensors")
    good = _config(color_images, tmp_path / "run", tiny_config, steps=1, init=str(parent), init_sha256=digest)
    assert check_init(good.validate()) == parent / "model.safetensors"
    other = _config(color_images, tmp_path / "run", tiny_config, steps=1, init=str(parent), init_sha256="0" * 64)
    with pytest.raises(InitWeightsError, match="init_sha256"):
        Trainer(other, progress=False).restore(resume=False)
    for bad in ("abc", digest.upper()):
        with pytest.raises(TrainingError, match="init_sha256"):
            _config(color_images, tmp_path / "run", tiny_config, steps=1, init=str(parent), init_sha256=bad).validate()
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.json").write_text(json.dumps({**other.to_dict(), "bf16": False}))
    capsys.readouterr()
    assert cli_main(["train", "--config", "run.json", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "init_sha256" in err and not list((tmp_path / "run").glob("ckpt-*"))
    # --init names other weights: the file's hash is not theirs
    assert cli_main(["train", "--config", "run.json", "--init", str(parent), "--no-progress"]) == 0


def test_reference_places_point_at_the_target_colors_they_came_from(color_images: Path) -> None:
    """Each reference token's place in the target (what the correspondence loss supervises): the
    target's color there is the token's color, far closer than at another token's place."""
    import cv2

    config = SynthesisConfig(size=128, style_size=128, p_jitter=0.0, p_reference_tone=0.0)
    with_places = IllustrationDataset(color_images, config, seed=1, holdout=False, reference_places=True)
    without = IllustrationDataset(color_images, config, seed=1, holdout=False)
    right, wrong = [], []
    for number in range(12):
        sample, plain = with_places[(number % len(with_places), number)], without[(number % len(without), number)]
        assert set(sample) - set(plain) == {"reference_place"}
        assert all(torch.equal(sample[k], plain[k]) for k in plain), "the places change no sample"
        u, v = sample["reference_place"].numpy()
        assert u.shape == (16, 16)
        inside = (u > 0.05) & (u < 0.95) & (v > 0.05) & (v < 0.95)
        if inside.sum() < 2:
            continue
        target = cv2.blur(((sample["target"].numpy().transpose(1, 2, 0) + 1) * 127.5), (9, 9))
        cells = cv2.resize((sample["reference"].numpy().transpose(1, 2, 0) + 1) * 127.5, (16, 16), interpolation=cv2.INTER_AREA)
        there = target[(v[inside] * 128).astype(int), (u[inside] * 128).astype(int)]
        right.append(np.abs(there - cells[inside]).mean())
        elsewhere = np.random.default_rng(number).permutation(len(there))
        wrong.append(np.abs(there[elsewhere] - cells[inside]).mean())
    assert len(right) >= 4
    assert np.mean(right) < 0.5 * np.mean(wrong), (np.mean(right), np.mean(wrong))


def test_correspondence_loss_rewards_attention_at_the_right_place() -> None:
    from s2p_lab.losses import correspondence_loss

    grid = (4, 4)
    ys, xs = torch.meshgrid((torch.arange(4) + 0.5) / 4, (torch.arange(4) + 0.5) / 4, indexing="ij")
    place = torch.stack([xs.flip(1), ys])[None]  # the reference is the target mirrored
    right = torch.zeros(1, 2, 16, 16)
    for q in range(16):
        row, col = divmod(q, 4)
        right[0, :, q, row * 4 + (3 - col)] = 1.0  # each query attends to its own mirrored token
    uniform = torch.full((1, 2, 16, 16), 1 / 16)
    present = torch.ones(1)
    good = correspondence_loss(right, grid, place, present, reach=1.0)
    bad = correspondence_loss(uniform, grid, place, present, reach=1.0)
    assert good is not None and bad is not None and good < 0.01 < 1.0 < bad
    assert correspondence_loss(uniform, grid, place, torch.zeros(1)) is None, "no reference: nothing to supervise"
    assert correspondence_loss(uniform, grid, place + 5.0, present) is None, "no token from the target"


def test_objectives_weigh_their_terms_and_ask_the_critic_only_with_the_gan_on() -> None:
    """The generator's objective: its named terms summed with the config's weights, the critic
    asked (its gradients off meanwhile) once the GAN is on; the discriminator's: reals against fakes."""
    from s2p_lab.losses import DiscriminatorObjective, GANLoss, GeneratorObjective, LossWeights
    from s2p_lab.models.generator import GeneratorOutput

    gan_loss = GANLoss()
    assert gan_loss(torch.ones(3), True) == 0 == gan_loss(torch.zeros(3), False) and gan_loss(torch.zeros(3), True) == 1
    target = torch.linspace(-1, 1, 2 * 3 * 16 * 16).reshape(2, 3, 16, 16)
    out = GeneratorOutput(target + 0.1, torch.zeros(2, 1, 4, 4), torch.zeros(2, 3, 4, 4))
    batch = {"target": target, "sketch": torch.zeros(2, 1, 16, 16), "has_reference": torch.ones(2)}
    objective = GeneratorObjective(LossWeights(l1=1.0, gray_guide=0.3, color_guide=0.9, adversarial=0.5, style_aux=0.25),
                                   levels=2)
    total, terms = objective(out, batch)
    assert list(terms) == ["l1", "gray_guide", "color_guide"]
    torch.testing.assert_close(total, terms["l1"] + 0.3 * terms["gray_guide"] + 0.9 * terms["color_guide"])

    class Critic(torch.nn.Module):
        """Scores every image fake (0) and sees style 1 everywhere; notes whether it was frozen."""

        def __init__(self) -> None:
            super().__init__()
            self.gain = torch.nn.Parameter(torch.ones(()))
            self.frozen = False

        def forward(self, rgb: torch.Tensor, sketch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            self.frozen = not self.gain.requires_grad
            return self.gain * torch.zeros(len(rgb), 1, 2, 2), self.gain * torch.ones(len(rgb), 4)

    critic, style = Critic(), torch.zeros(2, 4)
    with_gan, gan_terms = objective(out, batch, critic=critic, target_style=style, gan=0.5)
    assert critic.frozen and critic.gain.requires_grad, "frozen for the generator's term, then trainable again"
    assert gan_terms["g_adv"] == 1 and gan_terms["g_style"] == 1
    torch.testing.assert_close(with_gan, total + 0.5 * (0.5 * 1 + 0.25 * 1))
    with pytest.raises(ValueError, match="critic"):
        objective(out, batch, gan=1.0)

    logits = torch.cat([torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)])  # reals then fakes, told apart
    d_total, d_terms = DiscriminatorObjective(LossWeights(disc_style_aux=0.1))(logits, torch.ones(4, 4), style)
    assert d_terms["d"] == 0 and d_terms["d_style"] == 2  # style 1 where the reals' is 0 and the fakes' should be
    torch.testing.assert_close(d_total, torch.tensor(0.2))


@pytest.mark.slow
def test_training_with_the_correspondence_loss(tmp_path: Path, color_images: Path, tiny_config) -> None:
    from s2p_lab.losses import LossWeights

    config = _config(color_images, tmp_path / "run", tiny_config, steps=2, size=64, gan_start=100,
                     losses=LossWeights(correspondence=0.1))
    trainer = Trainer(config, progress=False)
    records = [trainer.train_step(next(iter(trainer.loader()))) for _ in range(2)]
    assert all(np.isfinite(r["correspondence"]) and r["correspondence"] > 0 for r in records)
    grads = trainer.model.generator.mid_attention[0].key.weight.grad
    assert grads is not None and grads.abs().sum() > 0
    assert all(layer.recorded is None and not layer.record_weights for layer in trainer.model.generator.mid_attention)
    with pytest.raises(Exception, match="correspondence"):
        TrainConfig(data=str(color_images), losses=LossWeights(correspondence=0.1),
                    model=type(tiny_config)(**{**tiny_config.to_dict(), "style_transfer": "global"})).validate()


# ------------------------------------------------------------------- a schedule fitted to a time budget


def test_schedule_fitter_counts_the_steps_that_fit_after_the_adversarial_terms_join() -> None:
    from s2p_lab.train import ScheduleFitter

    fitter = ScheduleFitter(budget=100.0, first_step=0, measure_from=5)
    # 0.5 s a step before the discriminator joins at step 5, 1 s a step after
    elapsed, decided_at = 0.0, None
    for step in range(1, 60):
        elapsed += 0.5 if step <= 5 else 1.0
        if fitter.observe(step, elapsed):
            decided_at = step
            break
    # the window opens at step 6 (elapsed 3.5) and closes once it holds 10 s: step 16, elapsed 13.5
    assert decided_at == 16
    assert fitter.steps == 16 + int((100.0 - 13.5) * 0.92 / 1.0), "timed at the slower, adversarial speed"


def test_schedule_fitter_decides_at_half_the_budget_even_if_the_window_never_opens() -> None:
    from s2p_lab.train import ScheduleFitter

    fitter = ScheduleFitter(budget=10.0, first_step=0, measure_from=1000)
    assert not fitter.observe(1, 2.0) and not fitter.observe(2, 4.0)
    assert fitter.observe(3, 6.0) and fitter.steps == 3 + int(4.0 * 0.92 / 2.0)


@pytest.mark.slow
def test_a_fitted_schedule_becomes_the_runs_and_a_resume_keeps_it(tmp_path: Path, color_images: Path,
                                                                          tiny_config) -> None:
    from s2p_lab.train import TrainingError

    out = tmp_path / "fitted"
    config = _config(color_images, out, tiny_config, steps=1_000_000, checkpoint_every=1000, sample_every=1000,
                     log_every=1000)
    trainer = Trainer(config, progress=False)
    summary = trainer.fit(max_seconds=6.0, fit_schedule=True)
    fitted = trainer.horizon
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["steps"] == saved["schedule_steps"] == fitted < 1_000_000, "the fitted schedule is the run's"
    from s2p_lab.train import lr_scale

    if summary["finished"]:  # the usual case; a machine that slows down after the timing may still run out
        assert summary["steps"] == fitted and (out / "final" / "model.safetensors").exists()
        assert lr_scale(fitted, config.warmup, fitted, config.cosine_end) == pytest.approx(config.cosine_end)
    else:
        assert summary["steps"] < fitted and list_checkpoints(out)
    steps = summary["steps"]
    again = Trainer(_config(color_images, out, tiny_config, steps=steps), progress=False)
    with pytest.raises(TrainingError, match="keeps it"):
        again.fit(resume=True, max_seconds=6.0, fit_schedule=True)


def test_fit_schedule_needs_a_time_budget(tmp_path: Path, color_images: Path, capsys) -> None:
    from s2p_lab.cli import main

    code = main(["train", "--data", str(color_images), "--out", str(tmp_path / "r"), "--fit-schedule"])
    assert code == 2
    assert "--fit-schedule needs --max-minutes" in capsys.readouterr().err
