"""The benchmark over a data folder: the model and the baselines, scored by the same code.

Three scenarios, each scored for the model and for every baseline of :mod:`.baselines`:

1. **Real sketches x unrelated references** (the project's main use): style retrieval top-1, hue
   entropy, colorfulness, line fidelity, and KID to real illustrations (:mod:`.features`).
2. **Held-out pairs** (illustrations of the held-out source groups of ``s2p_lab.splits``, with
   extracted sketches): region color error with a mirrored, re-cropped own reference
   (:func:`.metrics.region_color_error`) and its ratio to the ``wash`` baseline; the reference
   effect (PSNR with the own mirrored or patch-shuffled reference, and with another held-out
   illustration, minus PSNR without a reference); hint error under the hint disc and in the
   hinted region away from it.
3. **Hint-AUC** (the ``hintauc`` package) of hint-only colorization, when it is installed.

:func:`evaluate` runs all three and returns one JSON-ready dict with the model's metrics, a
``baselines`` object with the same metric names, the targets with pass/fail for the model and
for each baseline, and which targets were not measured and why.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

# what ``evaluate`` calls, and (re-exported) the parts of the benchmark that were defined here
# before each scenario had a module of its own
from .definitions import DEFINITIONS, METHODS, METRICS, TARGETS  # noqa: F401
from .hint_auc import HINT_AUC_INSTALL, evaluate_hint_auc, hint_auc_unavailable_reason  # noqa: F401
from .inputs import IMAGE_EXTENSIONS, evenly, list_images, load_colorizer, load_rgb, pick_references
from .kid_sets import compute_kid, pair_kid, real_features
from .pairs import PAIR_ACCURACY_KEYS, PAIR_KID_SETS, evaluate_pairs, recolor_hue, summarize_pairs  # noqa: F401
from .retrieval import evaluate_retrieval
from .scoring import assemble, json_safe, score_targets  # noqa: F401
from .training_stats import training_statistics

__all__ = [
    "DEFINITIONS", "HINT_AUC_INSTALL", "IMAGE_EXTENSIONS", "METHODS", "TARGETS", "evaluate",
    "evaluate_hint_auc", "evaluate_pairs", "evaluate_retrieval", "pick_references", "score_targets",
    "training_statistics",
]

_load_rgb = load_rgb  # the name it had here before


def evaluate(colorizer: Any, data_dir: Path, *, n_refs: int = 9, size: int = 512,
             n_sketches: int | None = None, n_pairs: int | None = 48, hint_count: int = 8,
             seed: int = 0, grid_path: Path | None = None, progress: bool = True,
             extractor: str = "xdog", hint_auc_pairs: int | None = 16, n_real: int = 400,
             include_training: bool = False) -> dict[str, Any]:
    """The whole benchmark on a data root holding ``illustrations/``, ``sketches/``, ``styles/``.

    1. :func:`evaluate_retrieval` on the (first ``n_sketches``, name order) real sketches with
       ``n_refs`` seeded references from ``styles/``; KID of every method's outputs to ``n_real``
       evenly spaced illustrations (alternately a pool and a real-vs-real probe).
    2. :func:`evaluate_pairs` on ``n_pairs`` evenly spaced held-out illustrations of
       ``splits.split_paths`` (None: all; with ``include_training`` of all illustrations).
    3. :func:`evaluate_hint_auc` on ``hint_auc_pairs`` evenly spaced pairs of those (None: all),
       or the reason it was not measured.

    ``colorizer``: a ``Colorizer`` (None loads the shipped weights). ``grid_path``: also save a
    picture of sketch, reference, model and baselines side by side. Returns a JSON-ready dict.
    """
    from ..splits import split_paths

    data_dir = Path(data_dir)
    colorizer = load_colorizer(colorizer)
    sketches = list_images(data_dir / "sketches")[:n_sketches]
    styles = list_images(data_dir / "styles")
    illustrations = list_images(data_dir / "illustrations")
    _, held = split_paths(illustrations)
    pair_paths = evenly(sorted(illustrations) if include_training else held, n_pairs)
    retrieval = evaluate_retrieval(colorizer, sketches, styles, n_refs=n_refs, size=size, seed=seed,
                                   progress=progress, keep_outputs=3 if grid_path else 0)
    pool, probe, _ = real_features(illustrations, n_real=n_real, size=size, progress=progress)
    kid_result = compute_kid(retrieval, pool, probe, seed=seed)
    pairs = evaluate_pairs(colorizer, pair_paths, size=size, extractor=extractor, hint_count=hint_count,
                           seed=seed, progress=progress, keep_outputs=2 if grid_path else 0, features=True,
                           style_paths=styles)
    kid_result["held_out_pairs"] = pair_kid(pairs, pool, seed=seed)
    hint_auc = evaluate_hint_auc(colorizer, evenly(pair_paths, hint_auc_pairs), size=size,
                                 extractor=extractor, seed=seed, progress=progress)
    if grid_path is not None:
        from .report import save_grid

        save_grid(Path(grid_path), retrieval.get("_images", []), pairs.get("_images", []))
    settings = {
        "data_dir": str(data_dir), "size": size, "n_refs": n_refs, "seed": seed, "extractor": extractor,
        "hint_count": hint_count, "references": retrieval["references"], "n_sketches": len(sketches),
        "n_pairs": len(pair_paths), "n_real": n_real,
        "n_hint_auc_pairs": hint_auc.get("n_images", 0),
        "held_out_split": "s2p_lab.splits.split_paths (by source group)" if not include_training
        else "all illustrations (training images included)",
        "held_out_groups": sorted({_group(p) for p in pair_paths}),
        "sketch_cleanup": "sketch.cleanup_sketch",
    }
    return assemble(settings, retrieval, pairs, hint_auc, kid_result)


def _group(path: Path) -> str:
    from ..splits import source_group

    return source_group(path)
