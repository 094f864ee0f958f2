"""Evaluation without humans: metrics, non-learned baselines, KID, the benchmark and ``s2p eval``.

One job per module:

* :mod:`.color`: sRGB to CIELAB and CIEDE2000 (Sharma et al. 2005);
* :mod:`.metrics`: palette, fidelity, region and hint metrics of ``uint8`` arrays;
* :mod:`.baselines`: ``paste``, ``shuffled_paste``, ``wash`` and the other tricks every run
  scores beside the model, so that a metric a trick passes is seen to be weak;
* :mod:`.features`: KID on EfficientNet-Lite0 features (distance to real illustrations);
* :mod:`.inputs`: image folders, the seeded references, evenly spaced picks, the colorizer to score;
* :mod:`.retrieval`: scenario 1, real sketches with unrelated references;
* :mod:`.pairs`: scenario 2, held-out (sketch, illustration) pairs;
* :mod:`.hint_auc`: scenario 3, Hint-AUC of hint-only colorization (the ``hintauc`` package);
* :mod:`.kid_sets`: KID of the scenarios' image sets to real illustrations;
* :mod:`.training_stats`: colorfulness and hue entropy of the training illustrations;
* :mod:`.scoring`: the targets' pass/fail and the result dict of the model and the baselines;
* :mod:`.runner`: the benchmark over a data folder, the three scenarios in one call;
* :mod:`.report`: text and Markdown tables, the picture grid;
* :mod:`.command`: the ``s2p eval`` options and entry point.
"""

from __future__ import annotations

import importlib

# Each name is imported from its module when first asked for (PEP 562): the colorizer uses
# ``.color`` alone, and importing the benchmark, KID and report modules with it made every
# ``s2p colorize`` load the whole evaluation.
_WHERE = {
    "baselines": ("BASELINES", "figure_mask", "flipped_recrop", "gray_wash", "mean_color", "paint_hints", "paste",
                  "shuffle_patches", "shuffled_paste", "wash"),
    "color": ("ciede2000", "lab_to_rgb", "rgb_to_lab"),
    "command": ("add_arguments", "main", "run"),
    "definitions": ("DEFINITIONS", "METHODS", "TARGETS"),
    "features": ("image_features", "kid"),
    "hint_auc": ("evaluate_hint_auc",),
    "inputs": ("IMAGE_EXTENSIONS", "pick_references"),
    "metrics": ("color_signature", "colorfulness", "hint_adherence", "hint_spread_error", "hue_entropy",
                "line_fidelity", "psnr", "region_color_error", "segment_color_regions", "signature_distance", "ssim",
                "style_retrieval", "style_retrieval_top1"),
    "pairs": ("evaluate_pairs",),
    "report": ("format_table", "markdown_table", "save_grid"),
    "retrieval": ("evaluate_retrieval",),
    "runner": ("evaluate",),
    "scoring": ("score_targets",),
    "training_stats": ("training_statistics",),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> object:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
