"""The one place that turns a config and a safetensors file into networks, and back."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import WeightsError
from ..fileio import write_bytes_atomic
from ..weights import load_tensors, save_tensors, section
from .config import ModelConfig
from .generator import Generator, GeneratorOutput
from .style_encoder import StyleCode, StyleEncoder

WEIGHTS_NAME = "model.safetensors"
CONFIG_NAME = "config.json"


class ColorizationModel(nn.Module):
    """What inference needs: the style encoder and the generator, built from one config."""

    def __init__(self, config: ModelConfig, backbone_dtype: torch.dtype | None = None) -> None:
        """``backbone_dtype``: the frozen pretrained networks stored for autocast to it
        (``FrozenBackbone``), for a model that only ever runs under that autocast."""
        super().__init__()
        self.config = config.validate()
        self.style_encoder = StyleEncoder(config, backbone_dtype)
        self.generator = Generator(config, backbone_dtype)

    def forward(self, batch: dict[str, torch.Tensor], want_target_style: bool = False) -> tuple[GeneratorOutput, torch.Tensor | None]:
        """The training forward: colors with guides, and the target's own style vector if asked.

        Inference goes through ``Colorizer``, which calls the parts separately to cache them.
        """
        style = self.style_encoder(batch["reference"])
        style = StyleCode(style.vector, style.tokens, batch["has_reference"].to(style.vector.dtype))
        out = self.generator(batch["sketch"], batch["hints"], style, guides=True)
        target_style = None
        if want_target_style:
            with torch.no_grad():
                size = (self.config.style_size,) * 2
                small = F.interpolate(batch["target"], size=size, mode="bilinear", align_corners=False)
                target_style = self.style_encoder(small).vector.detach()
        return out, target_style


def _check_state(model: nn.Module, tensors: dict[str, torch.Tensor], source: str) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    wrong = [
        f"{k}: file {tuple(tensors[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(tensors))
        if tuple(tensors[k].shape) != tuple(expected[k].shape)
    ]
    problems = []
    if wrong:
        problems.append(f"{len(wrong)} shape mismatch(es), e.g. {wrong[0]}")
    if missing:
        problems.append(f"{len(missing)} missing tensor(s), e.g. {missing[0]}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s), e.g. {unexpected[0]}")
    if problems:
        raise WeightsError(
            f"{source}: weights do not match the model config ({'; '.join(problems)}); "
            "is config.json from another model?"
        )


def weights_file(path: str | os.PathLike) -> Path:
    """The safetensors file of a weights folder (``model.safetensors``, else the last one) or a file path."""
    path = Path(path)
    if path.is_dir():
        file = path / WEIGHTS_NAME
        if not file.exists():
            found = sorted(path.glob("*.safetensors"))
            if not found:
                raise WeightsError(f"{path}: no {WEIGHTS_NAME} (or any .safetensors file) in this folder")
            file = found[-1]
        return file
    if path.exists():
        return path
    raise WeightsError(f"{path}: weights not found")


def resolve_weights(path: str | os.PathLike) -> tuple[Path, ModelConfig]:
    """Find the safetensors file and its config for a directory or a file path."""
    file = weights_file(path)
    config_file = file.parent / CONFIG_NAME
    from ..weights import read_metadata

    meta = read_metadata(file)
    if "s2p.model_config" in meta:
        raw = meta["s2p.model_config"]
    elif config_file.exists():
        raw = config_file.read_text(encoding="utf-8")
    else:
        raise WeightsError(f"{file.name}: no model config (expected {CONFIG_NAME} beside it)")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise WeightsError(f"{file.name}: model config is not valid JSON ({exc})") from None
    return file, ModelConfig.from_dict(data.get("model", data) if isinstance(data, dict) else data)


def spread_reach(synthesis: dict) -> float:
    """How far a training run spread each hint over its region (``SynthesisConfig`` as a dict):
    ``hint_encoding.HintEncoding.from_synthesis``'s ``reach``."""
    from ..hint_encoding import HintEncoding

    return float(HintEncoding.from_synthesis(synthesis).reach or 0.0)


def reference_hint_alpha(synthesis: dict) -> float:
    """The alpha at which a training run gave the network its simulated reference hints
    (``SynthesisConfig`` as a dict): ``hint_encoding.HintEncoding.from_synthesis``'s ``reference_alpha``."""
    from ..hint_encoding import HintEncoding

    return HintEncoding.from_synthesis(synthesis).reference_alpha


def _trained_setting(path: str | os.PathLike, key: str, from_synthesis: Callable[[dict], float]) -> tuple[object, str]:
    """``key`` from the ``config.json`` beside the weights (``s2p train`` writes it), else from a
    training checkpoint's own training config (``from_synthesis`` of its synthesis), else
    ``from_synthesis({})``; with the name of the file it came from."""
    file = weights_file(path)
    source = file.parent / CONFIG_NAME
    if source.exists():
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except ValueError:
            data = None
        if isinstance(data, dict) and data.get(key) is not None:  # null: no record
            return data[key], source.name
    from ..weights import read_metadata

    try:
        trained = json.loads(read_metadata(file).get("s2p.train_config", "{}"))
        return from_synthesis((trained.get("synthesis") or {}) if isinstance(trained, dict) else {}), file.name
    except (ValueError, TypeError, AttributeError):
        return from_synthesis({}), file.name


def _fraction(value: object, low_open: bool) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return (0.0 < float(value) if low_open else 0.0 <= float(value)) and float(value) <= 1.0


def trained_hint_reach(path: str | os.PathLike) -> float:
    """How the network of these weights was trained to see hints: each spread over the part of its
    region within this share of the longer side (0: as drawn).

    From ``config.json``'s ``hint_reach`` (``s2p train`` writes it), else a training checkpoint's
    own training config, else 0: weights from before hints were spread (v0.2 and older) saw them
    as drawn. A number outside 0..1 is a ``WeightsError``.
    """
    reach, source = _trained_setting(path, "hint_reach", spread_reach)
    if not _fraction(reach, low_open=False):
        raise WeightsError(f"{source}: hint_reach must be a number from 0 to 1, got {reach!r}")
    return float(reach)  # type: ignore[arg-type]


def trained_reference_hint_alpha(path: str | os.PathLike) -> float:
    """The alpha at which the network of these weights was trained to see reference hints
    (``Colorizer.reference_hints``), from ``config.json``'s ``reference_hint_alpha`` or a training
    checkpoint's config; 1 for weights that never saw them apart (the shipped v0.3 and older).
    A number outside (0, 1] is a ``WeightsError``."""
    alpha, source = _trained_setting(path, "reference_hint_alpha", reference_hint_alpha)
    if not _fraction(alpha, low_open=True):
        raise WeightsError(f"{source}: reference_hint_alpha must be a number above 0 and at most 1, got {alpha!r}")
    return float(alpha)  # type: ignore[arg-type]


def load_model(path: str | os.PathLike, backbone_dtype: torch.dtype | None = None) -> ColorizationModel:
    """Build a ``ColorizationModel`` from weights saved by ``save_model`` or a training checkpoint
    (its moving average of the weights where the run kept one, ``TrainConfig.ema``).

    The model is built without initializing its weights (they are all read from the file), and
    ``backbone_dtype`` stores its frozen backbones for autocast to that dtype (``ColorizationModel``).
    """
    file, config = resolve_weights(path)
    tensors, _ = load_tensors(file)
    if any(k.startswith("model.") for k in tensors):  # a training checkpoint: take the model part,
        # with its moving average in place of the weights where the run kept one
        tensors = {**section(tensors, "model"), **section(tensors, "ema")}
    with torch.device("meta"):  # the backbones inside load their shipped weights themselves
        model = ColorizationModel(config, backbone_dtype)
    _check_state(model, tensors, file.name)
    expected = model.state_dict(keep_vars=True)
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in tensors.items()}, assign=True)
    return model.eval()


def save_model(model: ColorizationModel, directory: str | os.PathLike, extra_config: dict | None = None,
               state: dict[str, torch.Tensor] | None = None) -> Path:
    """Write ``model.safetensors`` and ``config.json`` into ``directory`` (both atomically).

    ``state``: the tensors to write instead of the model's own (its state dict's keys, e.g. a
    moving average of its weights)."""
    directory = Path(directory)
    state = dict(model.state_dict() if state is None else state)
    config_text = json.dumps({"model": model.config.to_dict(), **(extra_config or {})}, indent=2)
    save_tensors(directory / WEIGHTS_NAME, state, {"s2p.model_config": json.dumps(model.config.to_dict())})
    write_bytes_atomic(directory / CONFIG_NAME, (config_text + "\n").encode())
    return directory
