"""Evaluation without humans: metrics, non-learned baselines, KID, the benchmark and ``s2p eval``.

One job per module:

* :mod:`.color`: sRGB to CIELAB and CIEDE2000 (Sharma et al. 2005);
* :mod:`.metrics`: palette, fidelity, region and hint metrics of ``uint8`` arrays;
* :mod:`.baselines`: ``paste``, ``shuffled_paste``, ``wash`` and the other tricks every run
  scores beside the model, so that a metric a trick passes is seen to be weak;
* :mod:`.features`: KID on EfficientNet-Lite0 features (distance to real illustrations);
* :mod:`.runner`: the benchmark over a data folder, the targets and the result dict;
* :mod:`.report`: text and Markdown tables, the picture grid;
* :mod:`.command`: the ``s2p eval`` options and entry point.
"""

from __future__ import annotations

from .baselines import (
    BASELINES, figure_mask, flipped_recrop, gray_wash, mean_color, paint_hints, paste, shuffle_patches,
    shuffled_paste, wash,
)
from .color import ciede2000, rgb_to_lab
from .command import add_arguments, main, run
from .features import image_features, kid
from .metrics import (
    color_signature, colorfulness, hint_adherence, hint_spread_error, hue_entropy, line_fidelity, psnr,
    region_color_error, segment_color_regions, signature_distance, ssim, style_retrieval,
    style_retrieval_top1,
)
from .report import format_table, markdown_table, save_grid
from .runner import (
    DEFINITIONS, IMAGE_EXTENSIONS, METHODS, TARGETS, evaluate, evaluate_hint_auc, evaluate_pairs,
    evaluate_retrieval, pick_references, score_targets, training_statistics,
)

__all__ = [
    "BASELINES", "DEFINITIONS", "IMAGE_EXTENSIONS", "METHODS", "TARGETS", "add_arguments", "ciede2000",
    "color_signature", "colorfulness", "evaluate", "evaluate_hint_auc", "evaluate_pairs",
    "evaluate_retrieval", "figure_mask", "flipped_recrop", "format_table", "gray_wash", "hint_adherence",
    "hint_spread_error", "hue_entropy", "image_features", "kid", "line_fidelity", "main", "markdown_table",
    "mean_color", "paint_hints", "paste", "pick_references", "psnr", "region_color_error", "rgb_to_lab",
    "run", "save_grid", "score_targets", "segment_color_regions", "shuffle_patches", "shuffled_paste",
    "signature_distance", "ssim", "style_retrieval", "style_retrieval_top1", "training_statistics", "wash",
]
