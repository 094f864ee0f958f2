"""What ``s2p eval`` measures: the metric names, their definitions, the methods and the targets."""

from __future__ import annotations

from .baselines import BASELINES, MATCHER_BASELINES

__all__ = ["DEFINITIONS", "METHODS", "METRICS", "TARGETS"]

#: The acceptance targets (``s2p eval`` at 512 px, held-out split): metric -> (comparison, threshold).
TARGETS: dict[str, tuple[str, float]] = {
    "region_de00_ratio_to_wash": ("<=", 0.7),
    "reference_effect_own_db": (">=", 3.0),
    "reference_effect_other_db": (">=", 0.0),
    "style_top1": (">=", 0.9),
    "hue_entropy_median": (">=", 1.6),
    "kid_ratio_to_wash": ("<=", 0.5),
    "hint_auc_psnr": (">=", 21.0),
    "region_accuracy_count": (">=", 0.7),
    "skin_kept_style": (">=", 0.7),
}

#: Everything scored: the model, the four baselines, and the hint-painting baseline.
METHODS = ("model",) + BASELINES + ("paint_hints",) + MATCHER_BASELINES

#: Metric names shared by the model and the baselines, in table order.
METRICS = (
    "style_top1", "hue_entropy_median", "colorfulness_median", "line_fidelity_median", "kid",
    "kid_ratio_to_wash", "region_de00", "region_de00_ratio_to_wash", "psnr_own_flipped",
    "psnr_own_shuffled", "psnr_other", "psnr_no_reference", "reference_effect_own_db",
    "reference_effect_own_shuffled_db", "reference_effect_other_db", "hint_de00_under_disc",
    "hint_spread_de00", "hint_auc_psnr", "hint_auc_ssim", "region_accuracy_count", "region_accuracy_area",
    "region_accuracy_paper_count", "region_accuracy_count_small", "region_accuracy_count_medium",
    "region_accuracy_count_large", "region_accuracy_rotated_count", "skin_kept_style",
)

DEFINITIONS = {
    "style_top1": "real sketches x unrelated references: share of outputs whose nearest reference by "
                  "chi-square distance of chroma-weighted 12-hue x 3-lightness CIELAB histograms "
                  "(96 px copies) is their own",
    "hue_entropy_median": "median over outputs of the entropy (bits) of the 12-bin Lab hue histogram of "
                          "pixels with chroma > 12",
    "colorfulness_median": "median Hasler-Suesstrunk M = sigma_rgyb + 0.3 mu_rgyb on 0..255 sRGB",
    "line_fidelity_median": "median of sum over sketch pixels < 128 of min(c_out, c_sketch) / sum "
                            "c_sketch, c = relative darkening against the local paper",
    "kid": "KID (unbiased, cubic polynomial kernel, 100 subsets) between the outputs on real sketches and "
           "real illustrations, on EfficientNet-Lite0 ImageNet features (1280-d pooled head, 224 px, "
           "white-padded square)",
    "kid_ratio_to_wash": "kid / kid of the wash baseline",
    "kid.held_out_pairs": "KID calibration on the held-out drawings, same drawings in every set: the "
                          "targets, the targets with hues turned 120 degrees, the model with the mirrored "
                          "own reference, the wash, the gray wash and the bare sketch, each against the "
                          "real pool; ordered_as_a_person_would checks recolored < wash < gray < lines",
    "region_de00": "held-out pairs, own reference mirrored and re-cropped: area-weighted CIEDE2000 between "
                   "output and target median Lab colors over the target's color regions (mean-shift + "
                   "k-means 12 + connected components)",
    "region_de00_ratio_to_wash": "region_de00 / region_de00 of the wash baseline (the target's mean "
                                 "non-paper color on its non-paper pixels)",
    "psnr_own_flipped": "mean PSNR (dB, RGB) against the target, own reference mirrored and re-cropped",
    "psnr_own_shuffled": "mean PSNR, own reference cut into 8x8 patches and shuffled",
    "psnr_other": "mean PSNR, another held-out illustration as the reference",
    "psnr_no_reference": "mean PSNR without a reference (baselines: the bare sketch)",
    "reference_effect_own_db": "mean of psnr_own_flipped - psnr_no_reference per pair",
    "reference_effect_own_shuffled_db": "mean of psnr_own_shuffled - psnr_no_reference per pair",
    "reference_effect_other_db": "mean of psnr_other - psnr_no_reference per pair",
    "hint_de00_under_disc": "point hints only: mean CIEDE2000 between each hint color and the mean output "
                            "color under the hint disc itself (painting the hint scores 0)",
    "hint_spread_de00": "point hints only: mean CIEDE2000 between each hint color and the median output "
                        "color of the hint's color region farther than 3 radii from the hint",
    "region_accuracy_count": "held-out pairs, own reference mirrored and re-cropped: share of the target's "
                             "non-paper color regions whose output median color is within CIEDE2000 10 of "
                             "the target's (paper regions, L >= 92 and chroma <= 4, apart)",
    "region_accuracy_area": "region_accuracy_count weighted by region area",
    "region_accuracy_paper_count": "the same over the paper regions",
    "region_accuracy_count_small": "region_accuracy_count over regions under 0.2 % of the image",
    "region_accuracy_count_medium": "region_accuracy_count over regions of 0.2-2 % of the image",
    "region_accuracy_count_large": "region_accuracy_count over regions over 2 % of the image",
    "region_accuracy_rotated_count": "region_accuracy_count with the own reference turned 10 degrees and "
                                     "zoomed out to 80 % (a kind the matcher's training never made)",
    "skin_kept_style": "held-out pairs with a landscape or painting from styles/ as the reference: share of "
                       "the target's skin-like pixels (CIELAB L 55-98, hue 15-80 degrees, chroma 5-40; off the "
                       "lines) that stay skin-like",
    "hint_auc_psnr": "Hint-AUC (hintauc, scribble hints, geodesic paths, ratios 0..1, trapezoid) of PSNR",
    "hint_auc_ssim": "Hint-AUC of SSIM",
}

