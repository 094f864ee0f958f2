"""The networks: shapes, gradients, style injection and the attention path."""

from __future__ import annotations

import pytest
import torch

from s2p_lab.errors import WeightsError
from s2p_lab.losses import reconstruction_losses
from s2p_lab.models import ColorizationModel, Discriminator, ModelConfig, StyleCode, load_model, save_model


def _inputs(batch: int, size: int, config: ModelConfig):
    torch.manual_seed(0)
    sketch = (torch.rand(batch, 1, size, size) > 0.9).float()
    hints = torch.zeros(batch, 4, size, size)
    reference = torch.rand(batch, 3, config.style_size, config.style_size) * 2 - 1
    return sketch, hints, reference


@pytest.mark.parametrize("transfer", ["attention", "global"])
def test_generator_shapes_and_guides(tiny_config: ModelConfig, transfer: str) -> None:
    config = ModelConfig(**{**tiny_config.to_dict(), "style_transfer": transfer})
    model = ColorizationModel(config)
    sketch, hints, reference = _inputs(2, 64, config)
    style = model.style_encoder(reference)
    assert style.vector.shape == (2, config.style_dim)
    assert style.tokens.shape == (2, (config.style_size // 8) ** 2, config.token_dim)
    out = model.generator(sketch, hints, style, guides=True)
    assert out.rgb.shape == (2, 3, 64, 64)
    assert out.rgb.abs().max() <= 1
    assert out.gray_guide.shape == (2, 1, 16, 16) and out.color_guide.shape == (2, 3, 16, 16)
    assert len(model.generator.attention_modules()) == (3 if transfer == "attention" else 0)


def test_every_parameter_gets_a_gradient(tiny_config: ModelConfig) -> None:
    model = ColorizationModel(tiny_config)
    sketch, hints, reference = _inputs(2, 64, tiny_config)
    hints[:, :, 10:14, 10:14] = torch.tensor([0.9, 0.1, 0.1, 1.0])[None, :, None, None]
    # zero-initialised output layers block gradients on the first step: nudge them as one step would
    for module in model.modules():
        if hasattr(module, "weight") and module.weight is not None and module.weight.abs().sum() == 0:
            torch.nn.init.normal_(module.weight, std=0.02)
    batch = {"sketch": sketch, "hints": hints, "reference": reference, "has_reference": torch.ones(2),
             "target": torch.rand(2, 3, 64, 64) * 2 - 1}
    out, target_style = model(batch, want_target_style=True)
    losses = reconstruction_losses(out, batch["target"])
    sum(losses.values()).backward()
    missing = [n for n, p in model.named_parameters() if p.grad is None or not torch.isfinite(p.grad).all()]
    assert not missing, missing
    assert target_style.shape == (2, tiny_config.style_dim) and not target_style.requires_grad


def test_reference_changes_output_and_absent_reference_is_ignored(tiny_config: ModelConfig) -> None:
    model = ColorizationModel(tiny_config)
    for module in model.modules():  # make style paths active, as training does
        if hasattr(module, "weight") and module.weight is not None and module.weight.abs().sum() == 0:
            torch.nn.init.normal_(module.weight, std=0.2)
    model.eval()
    sketch, hints, _ = _inputs(1, 32, tiny_config)
    red = torch.zeros(1, 3, 32, 32); red[:, 0] = 1
    blue = torch.zeros(1, 3, 32, 32); blue[:, 2] = 1
    with torch.no_grad():
        features = model.generator.encode_sketch(sketch)
        codes = StyleCode.cat([model.style_encoder(red), model.style_encoder(blue)])
        both = model.generator.decode(features, hints, codes).rgb
        assert not torch.allclose(both[0], both[1], atol=1e-4)
        # a batch of one sketch shared by two references equals two separate calls
        single = model.generator.decode(features, hints, codes.select(slice(1, 2))).rgb
        torch.testing.assert_close(single[0], both[1], atol=1e-5, rtol=1e-4)
        # "no reference": output does not depend on what sits in the gated-off code
        empty_a = codes.select(slice(0, 1)); empty_a.present = torch.zeros(1)
        empty_b = codes.select(slice(1, 2)); empty_b.present = torch.zeros(1)
        a = model.generator.decode(features, hints, empty_a).rgb
        b = model.generator.decode(features, hints, empty_b).rgb
        torch.testing.assert_close(a, b)


def test_discriminator_outputs(tiny_config: ModelConfig) -> None:
    disc = Discriminator(tiny_config)
    logits, style = disc(torch.rand(2, 3, 64, 64), torch.rand(2, 1, 64, 64))
    assert logits.shape[0] == 2 and logits.shape[1] == 1 and logits.shape[-1] >= 4
    assert style.shape == (2, tiny_config.style_dim)


def test_save_load_round_trip(tmp_path, tiny_config: ModelConfig) -> None:
    model = ColorizationModel(tiny_config).eval()
    save_model(model, tmp_path / "w")
    loaded = load_model(tmp_path / "w")
    assert loaded.config == tiny_config
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items()):
        torch.testing.assert_close(a, b, msg=k)
    # also loadable from the file alone (config in the safetensors header)
    (tmp_path / "w" / "config.json").unlink()
    assert load_model(tmp_path / "w" / "model.safetensors").config == tiny_config


def test_config_validation() -> None:
    with pytest.raises(WeightsError, match="style_transfer"):
        ModelConfig(style_transfer="magic").validate()
    with pytest.raises(WeightsError, match="unknown field"):
        ModelConfig.from_dict({"levels": 3, "colour": 1})
    with pytest.raises(WeightsError, match="base_channels must be an integer"):
        ModelConfig.from_dict({"base_channels": "32"})


def test_shipped_weights_name_every_tensor_of_the_definition() -> None:
    from s2p_lab.colorizer import PRETRAINED_DIR
    from s2p_lab.weights import load_tensors

    tensors, _ = load_tensors(PRETRAINED_DIR / "model.safetensors")
    model = load_model(PRETRAINED_DIR)
    assert set(model.state_dict()) == set(tensors)
    for key, value in model.state_dict().items():
        assert torch.equal(value, tensors[key].float()), key
