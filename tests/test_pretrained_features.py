"""Frozen pretrained features as a model option: kept out of the weights, frozen, joined at zero.

The backbones are the real shipped networks (EfficientNet-Lite0, DINOv2-S); the models around
them are small.
"""

from __future__ import annotations


import numpy as np
import pytest
import torch

from s2p_lab.backbones.efficientnet_lite import load_efficientnet_lite0
from s2p_lab.errors import WeightsError
from s2p_lab.models import ColorizationModel, ModelConfig, load_model, save_model
from s2p_lab.models.pretrained_features import EFFICIENTNET_BLOCKS, FrozenBackbone

from model_helpers import randomized_model


def _config(tiny: ModelConfig, sketch: str = "efficientnet_lite0", reference: str = "efficientnet_lite0") -> ModelConfig:
    return ModelConfig(**{**tiny.to_dict(), "sketch_backbone": sketch, "reference_backbone": reference})


def _batch(config: ModelConfig, size: int = 64, batch: int = 2) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return {
        "sketch": (torch.rand(batch, 1, size, size, generator=g) > 0.85).float(),
        "hints": torch.zeros(batch, 4, size, size),
        "reference": torch.rand(batch, 3, config.style_size, config.style_size, generator=g) * 2 - 1,
        "has_reference": torch.ones(batch),
        "target": torch.rand(batch, 3, size, size, generator=g) * 2 - 1,
    }


def test_the_trunk_computes_the_shipped_networks_block_10() -> None:
    full = load_efficientnet_lite0()
    trunk = FrozenBackbone("efficientnet_lite0")
    image = torch.rand(1, 3, 96, 128, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        x = torch.nn.functional.relu6(full._bn0(full._conv_stem(full.normalize(image))))
        for block in full._blocks[:EFFICIENTNET_BLOCKS]:
            x = block(x)
    got = trunk(image)
    assert got.shape == (1, 112, 6, 8) == x.shape
    torch.testing.assert_close(got, x)


def test_backbones_stay_out_of_the_weights_the_optimizer_and_training_mode(tiny_config: ModelConfig) -> None:
    plain = ColorizationModel(tiny_config)
    model = randomized_model(_config(tiny_config, reference="dinov2_small"))  # attention outputs not at zero
    new = set(model.state_dict()) - set(plain.state_dict())
    assert new and all(".sketch_join." in k or ".backbone_join." in k for k in new)
    assert sum(p.numel() for p in model.parameters()) - sum(p.numel() for p in plain.parameters()) < 200_000
    model.train()
    for backbone in (model.generator.sketch_backbone, model.style_encoder.backbone):
        assert not backbone.net.training
    out, _ = model(_batch(model.config))
    out.rgb.float().pow(2).mean().backward()
    joins = [p for n, p in model.named_parameters() if n.endswith(("join.proj.weight", "join.to_tokens.weight"))]
    assert len(joins) == 2
    assert joins and all(p.grad is not None and p.grad.abs().sum() > 0 for p in joins)
    assert all(p.grad is None for p in model.generator.sketch_backbone.net.parameters())


def test_a_model_with_backbones_saves_and_loads(tiny_config: ModelConfig, tmp_path) -> None:
    model = randomized_model(_config(tiny_config))
    save_model(model, tmp_path)
    loaded = load_model(tmp_path)
    assert loaded.config.sketch_backbone == "efficientnet_lite0"
    batch = _batch(model.config, batch=1)
    with torch.no_grad():
        torch.testing.assert_close(loaded(batch)[0].rgb, model(batch)[0].rgb)
    # the joins matter: the same weights without the backbone's contribution give other colors
    with torch.no_grad():
        loaded.generator.sketch_join.proj.weight.zero_()
        assert (loaded(batch)[0].rgb - model(batch)[0].rgb).abs().max() > 1e-4


def test_unknown_backbones_are_refused_with_the_choices(tiny_config: ModelConfig) -> None:
    with pytest.raises(WeightsError, match="sketch_backbone .one of none, efficientnet_lite0"):
        ModelConfig.from_dict({**tiny_config.to_dict(), "sketch_backbone": "dinov2_small"})
    with pytest.raises(WeightsError, match="reference_backbone"):
        ModelConfig.from_dict({**tiny_config.to_dict(), "reference_backbone": "vgg19"})


def test_a_warm_start_without_backbones_computes_what_the_init_did(tiny_config: ModelConfig, tmp_path) -> None:
    from s2p_lab.train import Trainer
    from s2p_lab.train_config import TrainConfig

    init = randomized_model(tiny_config)
    save_model(init, tmp_path / "init")
    data = tmp_path / "data"
    data.mkdir()
    rng = np.random.default_rng(0)
    import cv2

    for i in range(3):
        cv2.imwrite(str(data / f"{i}.png"), rng.integers(0, 255, (80, 80, 3), dtype=np.uint8))
    config = TrainConfig.from_dict({"data": str(data), "out": str(tmp_path / "run"), "init": str(tmp_path / "init"),
                                    "size": 64, "batch": 2, "model": _config(tiny_config).to_dict()})
    trainer = Trainer(config, progress=False)
    trainer.restore(resume=False)
    trainer.model.eval()
    batch = _batch(tiny_config, batch=1)
    with torch.no_grad():
        torch.testing.assert_close(trainer.model(batch)[0].rgb, init(batch)[0].rgb)
    # a model of another shape is refused by name, not half loaded
    config.model = ModelConfig(**{**_config(tiny_config).to_dict(), "base_channels": 16})
    with pytest.raises(WeightsError, match="do not fit"):
        Trainer(config, progress=False).restore(resume=False)


def test_the_colorizer_and_the_transfer_explorer_run_with_backbones(tiny_config: ModelConfig, tmp_path) -> None:
    from s2p_lab import Colorizer
    from s2p_lab.explain import ablate_style_groups, attention_map, interpolate_styles

    save_model(randomized_model(_config(tiny_config, reference="dinov2_small")), tmp_path)
    colorizer = Colorizer.from_pretrained(tmp_path, bf16=False)
    sketch = np.full((64, 80), 255, np.uint8)
    sketch[10:50, 20] = 0
    reference = np.random.default_rng(1).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    out = colorizer.colorize(sketch, [reference, reference[::-1]])
    assert len(out) == 2 and np.asarray(out[0]).shape == (64, 80, 3)
    prepared = colorizer.prepare_sketch(sketch, size=64)
    codes = colorizer.encode_styles([reference, reference[::-1]])
    heat = attention_map(colorizer, prepared, None, codes.select(slice(0, 1)), (0.5, 0.5))
    grid = colorizer.config.style_size
    assert heat.shape == (grid, grid) and np.isclose(heat.max(), 1.0)
    halfway = interpolate_styles(codes.select(slice(0, 1)), codes.select(slice(1, 2)), 0.5)
    assert halfway.tokens.shape == codes.select(slice(0, 1)).tokens.shape
    images = ablate_style_groups(colorizer, prepared, None, codes.select(slice(0, 1)), groups=4)
    assert len(images) >= 4


@pytest.mark.parametrize("name", ["efficientnet_lite0", "dinov2_small"])
def test_a_backbone_stored_for_autocast_computes_the_same(name: str) -> None:
    backbone = FrozenBackbone(name)
    stored = backbone.autocast_copy(torch.bfloat16)
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        expected, got = backbone(x), stored(x)
    assert torch.equal(expected, got)  # autocast casts exactly these weights: bit for bit the same
    with torch.inference_mode():  # outside autocast the copy enters it and answers in the caller's dtype
        outside = stored(x)
    assert outside.dtype == torch.float32 and torch.equal(outside, expected.float())
    assert all(p.dtype == torch.float32 for p in backbone.net.parameters())  # the original is untouched
    dtypes: dict[bool, set[torch.dtype]] = {}
    for m in stored.net.modules():
        for p in m.parameters(recurse=False):
            dtypes.setdefault(isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)), set()).add(p.dtype)
    assert dtypes == {True: {torch.bfloat16}, False: {torch.float32}}  # norms keep float32


def test_the_bf16_colorizer_stores_its_backbones_once_with_the_same_outputs(tiny_config: ModelConfig, tmp_path) -> None:
    from s2p_lab import Colorizer
    from s2p_lab.models.pretrained_features import FrozenBackbone as Frozen

    save_model(randomized_model(_config(tiny_config, reference="dinov2_small")), tmp_path)
    sketch = np.full((64, 80), 255, np.uint8)
    sketch[10:50, 20] = 0
    reference = np.random.default_rng(1).integers(0, 255, (40, 40, 3), dtype=np.uint8)
    stored = Colorizer.from_pretrained(tmp_path, bf16=True)
    backbones = [m for m in stored.inference_model.modules() if isinstance(m, Frozen)]
    assert len(backbones) == 2 and all(b.__dict__.get("autocast_dtype") == torch.bfloat16 for b in backbones)
    # read once, in bf16: the definition the colorizer owns holds the same networks, no float32 copy
    assert {id(m.net) for m in stored.model.modules() if isinstance(m, Frozen)} == \
        {id(b.net) for b in backbones}
    # the same colorizer with float32 networks put back: the same pixels
    plain = Colorizer.from_pretrained(tmp_path, bf16=True)
    plain.inference_model.style_encoder.backbone = Frozen("dinov2_small").to(memory_format=torch.channels_last)
    plain.inference_model.generator.sketch_backbone = Frozen("efficientnet_lite0").to(memory_format=torch.channels_last)
    for a, b in zip(stored.colorize(sketch, [reference]), plain.colorize(sketch, [reference])):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert Colorizer.from_pretrained(tmp_path, bf16=False).inference_model.style_encoder.backbone.__dict__.get(
        "autocast_dtype") is None


def test_a_backbone_reads_its_weights_on_its_first_call_after_earlier_moves() -> None:
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0)).contiguous(memory_format=torch.channels_last)
    eager = FrozenBackbone("dinov2_small", torch.bfloat16)
    expected = eager(x)  # read at once
    deferred = FrozenBackbone("dinov2_small", torch.bfloat16).to(memory_format=torch.channels_last)
    copy = __import__("copy").deepcopy(deferred)  # an inference copy shares the network
    assert not deferred.loaded and not copy.loaded and deferred.channels == 384 and deferred.stride == 16
    got = copy(x)
    assert deferred.loaded and copy.net is deferred.net  # read once, for both
    assert torch.equal(expected, got)


def test_a_released_backbone_gives_its_weights_back_as_one_buffer_and_reads_them_again() -> None:
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    backbone = FrozenBackbone("dinov2_small", torch.bfloat16)
    expected = backbone(x)
    linear = [p for m in backbone.net.modules() if isinstance(m, torch.nn.Linear) for p in (m.weight, m.bias)]
    assert len({p.untyped_storage().data_ptr() for p in linear}) == 1  # one allocation for all of them
    assert all(p.data_ptr() % 64 == 0 for p in linear)
    backbone.release()
    assert not backbone.loaded
    assert torch.equal(backbone(x), expected) and backbone.loaded
