"""Two processes (gloo, CPU) train one model with DistributedDataParallel, the GAN terms on."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from s2p_lab.models import ModelConfig
from s2p_lab.train import TrainConfig, Trainer

TINY = dict(base_channels=8, style_channels=8, style_dim=16, style_size=32, token_dim=16, attention_heads=2, disc_channels=8)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, data: str, out: str, results: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world), OMP_NUM_THREADS="1")
    torch.set_num_threads(1)
    config = TrainConfig(data=data, out=out, steps=3, size=32, batch=8, warmup=1, gan_start=1, checkpoint_every=3,
                         sample_every=10**6, log_every=1, bf16=False, channels_last=False, model=ModelConfig(**TINY))
    trainer = Trainer(config, progress=False)
    trainer.fit()
    state = {f"model.{k}": v for k, v in trainer.model.state_dict().items()}
    state.update({f"disc.{k}": v for k, v in trainer.disc.state_dict().items()})
    torch.save({"state": state, "history": trainer.history, "samples": trainer.samples}, Path(results) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.slow
def test_two_processes_with_the_gan_stay_in_step(sample_dir: Path, tmp_path: Path) -> None:
    """9 images, batch 8 per process: fewer images than a step's 16 samples, which used to spin forever."""
    data = sample_dir / "styles"
    mp.spawn(_worker, args=(2, _free_port(), str(data), str(tmp_path / "run"), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["samples"] == r1["samples"] == 3 * 8 * 2
    assert "d" in r0["history"][-1] and "g_adv" in r0["history"][-1], "the adversarial terms ran"
    # DDP keeps the weights identical; buffers (batch-norm statistics, spectral-norm vectors) are
    # broadcast from rank 0 at each forward, so after the last step they may differ
    buffers = ("running_mean", "running_var", "num_batches_tracked", "._u", "._v")
    weights = [k for k in r0["state"] if not k.endswith(buffers)]
    assert len(weights) > 50
    for key in weights:
        assert torch.allclose(r0["state"][key], r1["state"][key], atol=1e-6), key
    assert r0["history"][-1]["l1"] != r1["history"][-1]["l1"], "each rank trains on its own samples"
    assert (tmp_path / "run" / "ckpt-0000003.safetensors").exists() and (tmp_path / "run" / "final").is_dir()
