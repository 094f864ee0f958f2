"""``optimize_for_inference``: the rewritten model computes what the definition computes.

Every rewrite (normalization folded into convolutions, FiLM and the attention's queries; the
style-shared split of ``Up``; phase-decomposed upsampling; chunked CPU attention) is compared
with the plain definition on random weights with random normalization statistics and on the
shipped weights, in float32 and float64, square and non-square, one and several references.
"""

from __future__ import annotations

import pytest
import torch

from s2p_lab.colorizer import PRETRAINED_DIR
from s2p_lab.errors import S2PError
from s2p_lab.models import ColorizationModel, ModelConfig, load_model, optimize_for_inference
from s2p_lab.models import blocks, inference

from model_helpers import randomized_model


def _inputs(config: ModelConfig, height: int, width: int, batch: int, dtype: torch.dtype):
    g = torch.Generator().manual_seed(1)
    sketch = (torch.rand(1, 1, height, width, generator=g) > 0.85).to(dtype)
    hints = torch.zeros(1, 4, height, width, dtype=dtype)
    hints[:, :, 10:16, 20:26] = torch.tensor([0.8, 0.2, 0.1, 1.0], dtype=dtype)[None, :, None, None]
    hints[:, :, height - 9 : height - 6, 5:9] = torch.tensor([0.1, 0.3, 0.9, 1.0], dtype=dtype)[None, :, None, None]
    reference = (torch.rand(batch, 3, config.style_size, config.style_size, generator=g) * 2 - 1).to(dtype)
    return sketch, hints, reference


def _assert_close(got: torch.Tensor, want: torch.Tensor, tol: float) -> None:
    assert got.shape == want.shape and got.dtype == want.dtype
    err = (got - want).abs().max().item()
    assert err <= tol * max(1.0, want.abs().max().item()), f"max abs difference {err:.3g}"


def _compare(model: ColorizationModel, fast: ColorizationModel, height: int, width: int, batch: int,
             dtype: torch.dtype, tol: float) -> None:
    """Style codes, sketch features, hinted decode (all references and one), guides."""
    sketch, hints, reference = _inputs(model.config, height, width, batch, dtype)
    plain, rewritten = model.generator, fast.generator
    with torch.inference_mode():
        style, fast_style = model.style_encoder(reference), fast.style_encoder(reference)
        _assert_close(fast_style.vector, style.vector, tol)
        _assert_close(fast_style.tokens, style.tokens, tol)
        features, fast_features = plain.encode_sketch(sketch), rewritten.encode_sketch(sketch)
        for a, b in zip(fast_features.skips, features.skips):
            _assert_close(a, b, tol)
        want = plain.decode(features, hints, style, guides=True)
        hinted = rewritten.hint_features(features, hints)  # once, shared by every reference
        got = rewritten.decode_hinted(hinted, style, guides=True)
        for a, b in zip((got.rgb, got.gray_guide, got.color_guide), (want.rgb, want.gray_guide, want.color_guide)):
            if b is None:
                assert a is None
            else:
                _assert_close(a, b, tol)
        last = rewritten.decode_hinted(hinted, style.select(slice(batch - 1, batch))).rgb
        _assert_close(last, want.rgb[batch - 1 :], tol)


def _configs(tiny: ModelConfig) -> dict[str, ModelConfig]:
    base = tiny.to_dict()
    return {
        "attention": tiny,
        "global": ModelConfig(**{**base, "style_transfer": "global"}),
        "no_guides_4_levels": ModelConfig(**{**base, "guide_decoders": False, "levels": 4, "mid_blocks": 1}),
        "pretrained_features": ModelConfig(**{**base, "sketch_backbone": "efficientnet_lite0",
                                              "reference_backbone": "efficientnet_lite0"}),
    }


def _chunk_attention_always(monkeypatch: pytest.MonkeyPatch, dtype: torch.dtype, rows: int) -> None:
    """Open the chunked attention's gate for ``dtype`` and any token count, in blocks of ``rows``."""
    monkeypatch.setattr(inference, "CHUNKED_ATTENTION_DTYPES", (dtype,))
    monkeypatch.setattr(inference, "CHUNKED_ATTENTION_MAX_TOKENS", 10**9)
    monkeypatch.setattr(inference, "attention_rows", lambda tokens: rows)


@pytest.mark.parametrize("attention", ["fused", "chunked"])
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 2e-5), (torch.float64, 1e-11)])
@pytest.mark.parametrize("design", ["attention", "global", "no_guides_4_levels", "pretrained_features"])
def test_rewrite_matches_the_definition(tiny_config: ModelConfig, design: str, dtype: torch.dtype, tol: float,
                                        attention: str, monkeypatch: pytest.MonkeyPatch) -> None:
    model = randomized_model(_configs(tiny_config)[design]).to(dtype)
    fast = optimize_for_inference(model)
    # the size-gated rewrites on at every size, and (chunked) attention in several blocks of queries
    monkeypatch.setattr(inference, "PHASED_MIN_PIXELS", 0)
    if attention == "chunked":
        _chunk_attention_always(monkeypatch, dtype, 40)
    for height, width, batch in ((64, 64, 3), (96, 48, 1), (48, 80, 2)):
        _compare(model, fast, height, width, batch, dtype, tol)


def test_the_gated_rewrites_run_and_the_plain_operations_match(tiny_config: ModelConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    model = randomized_model(tiny_config).double()
    calls = {"phased": 0, "chunked": 0}
    phased, chunked = inference.upsample_conv_phased, inference.attention_chunked

    def count_phased(*args):
        calls["phased"] += 1
        return phased(*args)

    def count_chunked(*args, **kwargs):
        calls["chunked"] += 1
        return chunked(*args, **kwargs)

    monkeypatch.setattr(inference, "upsample_conv_phased", count_phased)
    monkeypatch.setattr(inference, "attention_chunked", count_chunked)
    monkeypatch.setattr(inference, "PHASED_MIN_PIXELS", 0)
    # float64 is not a chunked dtype: the fused kernel
    _compare(model, optimize_for_inference(model), 64, 64, 2, torch.float64, 1e-11)
    assert calls["phased"] == 2 * tiny_config.levels and calls["chunked"] == 0
    calls.update(phased=0, chunked=0)
    _chunk_attention_always(monkeypatch, torch.float64, 40)
    _compare(model, optimize_for_inference(model), 64, 64, 2, torch.float64, 1e-11)
    assert calls["phased"] == 2 * tiny_config.levels and calls["chunked"] == 2 * 3
    # the export's variant: neither rewrite, same result
    calls.update(phased=0, chunked=0)
    _compare(model, optimize_for_inference(model, phase_split=False, chunked_attention=False), 64, 64, 2, torch.float64, 1e-11)
    assert calls == {"phased": 0, "chunked": 0}


def test_channels_last_activations(tiny_config: ModelConfig, monkeypatch: pytest.MonkeyPatch) -> None:
    model = randomized_model(tiny_config)
    sketch, hints, reference = _inputs(tiny_config, 64, 64, 2, torch.float32)
    with torch.inference_mode():
        style = model.style_encoder(reference)
        want = model.generator.decode(model.generator.encode_sketch(sketch), hints, style).rgb
        model.to(memory_format=torch.channels_last)  # as the colorizer runs it
        monkeypatch.setattr(inference, "PHASED_MIN_PIXELS", 0)
        fast = optimize_for_inference(model).generator
        features = fast.encode_sketch(sketch.contiguous(memory_format=torch.channels_last))
        _assert_close(fast.decode_hinted(fast.hint_features(features, hints), style).rgb, want, 2e-5)


def test_shipped_weights(monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_model(PRETRAINED_DIR)
    fast = optimize_for_inference(model)
    calls = {"phased": 0}
    phased = inference.upsample_conv_phased

    def count_phased(*args):
        calls["phased"] += 1
        return phased(*args)

    monkeypatch.setattr(inference, "upsample_conv_phased", count_phased)
    _compare(model, fast, 272, 248, 2, torch.float32, 5e-5)  # the last step is large: phased as at 512 px
    assert calls["phased"] == 2
    _chunk_attention_always(monkeypatch, torch.float32, 300)
    _compare(model, fast, 272, 248, 2, torch.float32, 5e-5)


def test_chunked_attention_only_where_it_pays() -> None:
    """bf16 with up to 1,024 tokens (the shipped model's): blocks of queries, fewer the more tokens;
    float32 or more tokens: the fused kernel."""
    q = torch.zeros(1, 4, 4096, 32)
    few, shipped, many = (torch.zeros(1, 4, n, 32) for n in (256, 1024, 4096))
    assert inference.chunked_attention_pays(q.bfloat16(), few.bfloat16())
    assert inference.chunked_attention_pays(q.bfloat16(), shipped.bfloat16())
    assert not inference.chunked_attention_pays(q.bfloat16(), many.bfloat16())
    assert not inference.chunked_attention_pays(q, few)
    assert inference.attention_rows(256) == 2048 and inference.attention_rows(1024) == 512


def test_shares_the_weights_and_follows_their_changes(tiny_config: ModelConfig) -> None:
    model = randomized_model(tiny_config)
    keys = list(model.state_dict())
    fast = optimize_for_inference(model)
    assert list(model.state_dict()) == keys, "the model is left as it was"
    assert not any(isinstance(m, (inference.SplitUp, inference.FastAttention)) for m in model.modules())
    generator = fast.generator
    assert isinstance(generator.up[0], inference.SplitUp) and isinstance(generator.mid[0], inference.ModulatedInception)
    assert isinstance(generator.encoder[1][0], inference.FoldedDown)
    assert isinstance(generator.mid_attention[0], inference.FastAttention)
    assert isinstance(fast.style_encoder.stage1[0], inference.FoldedDown)
    assert {p.data_ptr() for p in fast.parameters()} <= {p.data_ptr() for p in model.parameters()}
    with torch.no_grad():  # a later change of the weights or statistics reaches the copy
        model.generator.up[0].norm.running_var.mul_(1.7)
        model.generator.mid[0].film.proj.bias.add_(0.3)
    _compare(model, fast, 64, 64, 2, torch.float32, 2e-5)


def test_refuses_a_model_in_training_mode(tiny_config: ModelConfig) -> None:
    with pytest.raises(S2PError, match="eval"):
        optimize_for_inference(ColorizationModel(tiny_config).train())


def test_definition_shares_a_batch_one_sketch_across_references(tiny_config: ModelConfig) -> None:
    """The definition's own broadcasting (what the rewrite's split relies on)."""
    model = randomized_model(tiny_config)
    sketch, hints, reference = _inputs(tiny_config, 64, 64, 3, torch.float32)
    with torch.no_grad():
        style = model.style_encoder(reference)
        features = model.generator.encode_sketch(sketch)
        shared = model.generator.decode(features, hints, style, guides=True)
        for i in range(3):
            one = model.generator.decode(features, hints, style.select(slice(i, i + 1)), guides=True)
            _assert_close(shared.rgb[i : i + 1], one.rgb, 1e-5)
            _assert_close(shared.gray_guide[i : i + 1], one.gray_guide, 1e-5)
        up = model.generator.up[0]
        x, skip = torch.randn(3, up.in_channels, 8, 8), torch.randn(1, up.conv.in_channels - up.in_channels, 16, 16)
        _assert_close(up(x, up.skip_input(skip)), up(x, skip.expand(3, -1, -1, -1)), 1e-6)
    assert isinstance(up, blocks.Up) and up.skip_input(skip) is skip


@pytest.mark.parametrize("attention", ["fused", "chunked"])
def test_sharpened_attention_matches_the_definition(tiny_config: ModelConfig, attention: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """``sharpness`` scales the logits in the definition (kept maps too) and in the rewrite alike."""
    model = randomized_model(tiny_config).double()
    assert blocks.set_attention_sharpness(model, 3.0) == 3
    fast = optimize_for_inference(model)
    if attention == "chunked":
        _chunk_attention_always(monkeypatch, torch.float64, 40)
    _compare(model, fast, 64, 64, 2, torch.float64, 1e-11)
    # sharper attention: lower entropy of the kept maps' rows than at 1
    sketch, hints, reference = _inputs(tiny_config, 64, 64, 1, torch.float64)
    layer = model.generator.attention_modules()[0]
    entropies = []
    for sharpness in (1.0, 3.0):
        blocks.set_attention_sharpness(model, sharpness)
        layer.keep_weights = True
        with torch.inference_mode():
            model.generator.decode(model.generator.encode_sketch(sketch), hints, model.style_encoder(reference))
        weights = layer.last_weights.flatten(1, 2)
        entropies.append(float(-(weights * weights.clamp_min(1e-30).log()).sum(-1).mean()))
    layer.keep_weights = False
    assert entropies[1] < entropies[0]
    with pytest.raises(S2PError, match="sharpness"):
        blocks.set_attention_sharpness(model, 0.0)
