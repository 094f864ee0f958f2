"""From measurements to the result: medians, means and ratios over what was measured, every
target's pass/fail, and the JSON-ready dict of the model and the baselines."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .definitions import DEFINITIONS, METHODS, METRICS, TARGETS
from .hint_auc import HINT_AUC_INSTALL


def finite_values(values: Iterable[Any]) -> list[float]:
    """The values that were measured: None and non-finite ones left out, as floats."""
    return [float(v) for v in values if v is not None and math.isfinite(v)]


def median_of(values: Iterable[Any]) -> float | None:
    """The median of the measured values (None when there are none)."""
    vals = finite_values(values)
    return float(np.median(vals)) if vals else None


def mean_of(values: Iterable[Any]) -> float | None:
    """The mean of the measured values (None when there are none)."""
    vals = finite_values(values)
    return float(np.mean(vals)) if vals else None


def ratio_of(a: float | None, b: float | None) -> float | None:
    """``a / b``, or None when either is unmeasured or ``b`` is not positive."""
    if a is None or b is None or not math.isfinite(a) or not math.isfinite(b) or b <= 0:
        return None
    return a / b


def score_targets(metrics: Mapping[str, Any], reasons: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every target of :data:`TARGETS` for one method's metrics: value, op, threshold, pass.

    ``pass`` is None when the value was not measured (then ``reason`` says why). Returns
    ``{"targets": ..., "passed": ..., "not_measured": [...]}``; ``passed`` is True only when every
    target was measured and met.
    """
    reasons = reasons or {}
    targets: dict[str, Any] = {}
    for key, (op, threshold) in TARGETS.items():
        value = metrics.get(key)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            targets[key] = {"value": None, "op": op, "threshold": threshold, "pass": None,
                            "reason": reasons.get(key, "not measured")}
            continue
        ok = value >= threshold if op == ">=" else value <= threshold
        targets[key] = {"value": float(value), "op": op, "threshold": threshold, "pass": bool(ok)}
    not_measured = [k for k, t in targets.items() if t["pass"] is None]
    passed = not not_measured and all(t["pass"] for t in targets.values())
    return {"targets": targets, "passed": passed, "not_measured": not_measured}


def json_safe(obj: Any) -> Any:
    """Plain JSON types: numpy scalars to Python, non-finite floats to None, ``_private`` keys dropped."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items() if not str(k).startswith("_")}
    if isinstance(obj, (list, tuple)):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    return obj


_NOT_APPLICABLE = {
    "paste": "takes no hints", "shuffled_paste": "takes no hints", "wash": "takes no hints",
    "no_reference": "the model's hint-only runs are already without a reference",
    "paint_hints": "hints only: no reference, no sketch-only output",
    "random_assignment": "colors regions from a reference: no hints, no real-sketch run",
    "nearest_feature": "colors regions from a reference: no hints, no real-sketch run",
}


def assemble(settings: dict[str, Any], retrieval: Mapping[str, Any] | None, pairs: Mapping[str, Any] | None,
             hint_auc: Mapping[str, Any] | None, kid_result: Mapping[str, Any] | None) -> dict[str, Any]:
    """The result dict: the model's metrics and targets, and the same for every baseline."""
    per_method: dict[str, dict[str, Any]] = {m: {} for m in METHODS}
    reasons: dict[str, dict[str, str]] = {m: {} for m in METHODS}
    for m in METHODS:
        if retrieval and m in retrieval["methods"]:
            per_method[m].update(retrieval["methods"][m])
        if pairs and m in pairs["methods"]:
            per_method[m].update(pairs["methods"][m])
        if kid_result and m in kid_result["sets"]:
            per_method[m]["kid"] = kid_result["sets"][m]["kid"]
            per_method[m]["kid_ratio_to_wash"] = kid_result["sets"][m].get("ratio_to_wash")
        if hint_auc and hint_auc.get("available") and m in hint_auc["methods"]:
            per_method[m]["hint_auc_psnr"] = hint_auc["methods"][m]["psnr"]
            per_method[m]["hint_auc_ssim"] = hint_auc["methods"][m]["ssim"]
        for key in TARGETS:
            if key.startswith("hint_auc") and m in ("model", "paint_hints"):
                reasons[m][key] = (hint_auc or {}).get("reason") or f"not measured: install with {HINT_AUC_INSTALL}"
            elif m in _NOT_APPLICABLE:
                reasons[m][key] = f"not applicable: {_NOT_APPLICABLE[m]}"
            if retrieval is None and key in ("style_top1", "hue_entropy_median", "kid_ratio_to_wash"):
                reasons[m][key] = "not measured: no real sketches and style references given"
            if pairs is None and key.startswith(("region", "reference")):
                reasons[m][key] = "not measured: no held-out pairs given"
    model_scored = score_targets(per_method["model"], reasons["model"])
    baselines = {}
    for m in METHODS[1:]:
        scored = score_targets(per_method[m], reasons[m])
        baselines[m] = {**{k: per_method[m].get(k) for k in METRICS}, **scored}
    result: dict[str, Any] = {
        "settings": settings,
        "model": {k: per_method["model"].get(k) for k in METRICS},
        "targets": model_scored["targets"],
        "passed": model_scored["passed"],
        "not_measured": model_scored["not_measured"],
        "targets_checked": len(TARGETS) - len(model_scored["not_measured"]),
        "baselines": baselines,
        "kid": kid_result,
        "retrieval": retrieval,
        "pairs": pairs,
        "hint_auc": hint_auc,
        "definitions": DEFINITIONS,
    }
    return json_safe(result)
