"""Typed exceptions: every error a user can cause is one of these.

The command line turns any ``S2PError`` into exit status 2 with its message on one line; anything
else is an internal error (exit status 1).
"""

from __future__ import annotations


class S2PError(Exception):
    """Base class for errors caused by user input (files, arguments, weights)."""


class ImageError(S2PError):
    """An image file or array cannot be used (missing, empty, truncated, not an image, bad mode)."""


class ImageTooLargeError(ImageError):
    """An image declares more pixels than the configured limit (decompression-bomb guard)."""


class HintsError(S2PError):
    """A hints file or dict is malformed; the message names the offending field."""


class WeightsError(S2PError):
    """Weights are missing, not safetensors, or do not match the model configuration."""


class CheckpointError(WeightsError):
    """A training checkpoint is corrupt, truncated or incompatible."""


class TrainingError(S2PError):
    """Training cannot go on (no usable images, non-finite loss)."""


class InitWeightsError(TrainingError):
    """The weights a training config starts from (``init``) are not the file it names by content
    hash (``init_sha256``): another version of them, so the run would not repeat the recipe."""
