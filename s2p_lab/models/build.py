"""The one place that turns a config and a safetensors file into networks, and back."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import WeightsError
from ..fileio import write_bytes_atomic
from ..weights import load_tensors, save_tensors, section
from .config import ModelConfig, migrate
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


def _json_object(text: str, source: str) -> object:
    try:
        return json.loads(text)
    except ValueError as exc:
        raise WeightsError(f"{source}: model config is not valid JSON ({exc})") from None


def resolve_weights(path: str | os.PathLike) -> tuple[Path, ModelConfig]:
    """Find the safetensors file and its config for a directory or a file path.

    The config is the one in the file's header (``save_model`` and training checkpoints write it),
    else the ``config.json`` beside it; a config from before the hint encoding was one of its
    fields is read by ``config.migrate``.
    """
    file = weights_file(path)
    config_file = file.parent / CONFIG_NAME
    from ..weights import read_metadata

    meta = read_metadata(file)
    try:
        beside_text = config_file.read_text(encoding="utf-8") if config_file.is_file() else None
    except (OSError, UnicodeDecodeError):
        beside_text = None
    if "s2p.model_config" in meta:
        data = _json_object(meta["s2p.model_config"], file.name)
        try:  # read only for what an older header lacks
            beside = json.loads(beside_text) if beside_text is not None else None
        except ValueError:
            beside = None
    elif beside_text is not None:
        beside = _json_object(beside_text, file.name)
        data = beside.get("model", beside) if isinstance(beside, dict) else beside
    else:
        raise WeightsError(f"{file.name}: no model config (expected {CONFIG_NAME} beside it)")
    try:
        trained = json.loads(meta.get("s2p.train_config", "null"))
    except ValueError:
        trained = None
    return file, ModelConfig.from_dict(migrate(data, beside, trained))


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
