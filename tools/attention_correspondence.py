"""Does the bottleneck's attention find the reference's matching parts? Held-out figure.

    python tools/attention_correspondence.py --weights W [W ...] [--size 128] [--batches 8] [--json OUT.json]

Synthesizes training samples from the held-out illustrations (every sample with a reference,
no hints; seed 123), colors them with each set of weights, and scores each attention layer of the
mid-level with ``losses.correspondence_loss``: ``-log`` of the attention mass that a query puts on
the reference tokens cut from its own place in the target. Beside it the same figure for uniform
attention (chance) and the L1 of the colors. ``mass`` is ``exp(-loss)``: the geometric mean over
the queries of that share (chance: the share of tokens near a query).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import torch
from torch.utils.data import default_collate

from s2p_lab.data import IllustrationDataset, SynthesisConfig
from s2p_lab.losses import correspondence_loss, reconstruction_losses
from s2p_lab.models import load_model
from s2p_lab.splits import is_holdout


@torch.no_grad()
def score(weights: str, data: str, size: int, batches: int, batch: int = 4) -> dict:
    """The held-out correspondence loss of one model, of uniform attention, and the colors' L1."""
    model = load_model(weights).eval()
    config = SynthesisConfig(size=size, style_size=model.config.style_size, p_no_reference=0.0, p_no_hints=1.0)
    dataset = IllustrationDataset(data, config, seed=123, holdout=False, reference_places=True)
    held = [i for i, f in enumerate(dataset.files) if is_holdout(f)]
    layers = list(model.generator.mid_attention)
    if not layers:
        raise SystemExit(f"{weights}: the model has no attention to the reference")
    for layer in layers:
        layer.record_weights = True
    grid = (size >> model.config.levels,) * 2
    losses, chance, l1 = [], [], []
    for n in range(batches):
        numbers = [n * batch + j for j in range(batch)]
        samples = default_collate([dataset[(held[k % len(held)], k)] for k in numbers])
        out, _ = model(samples)
        l1.append(float(reconstruction_losses(out, samples["target"])["l1"]))
        for layer in layers:
            value = correspondence_loss(layer.recorded, grid, samples["reference_place"], samples["has_reference"])
            if value is None:
                continue
            losses.append(float(value))
            uniform = torch.full_like(layer.recorded, 1.0 / layer.recorded.shape[-1])
            chance.append(float(correspondence_loss(uniform, grid, samples["reference_place"], samples["has_reference"])))
    mean = sum(losses) / len(losses)
    mean_chance = sum(chance) / len(chance)
    return {"weights": weights, "size": size, "samples": batches * batch, "held_out_images": len(held),
            "correspondence_loss": round(mean, 4), "mass": round(math.exp(-mean), 4),
            "uniform_loss": round(mean_chance, 4), "uniform_mass": round(math.exp(-mean_chance), 4),
            "l1": round(sum(l1) / len(l1), 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", nargs="+", required=True, help="weights folders, files or training checkpoints")
    parser.add_argument("--data", default="../shared/data/illustrations")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batches", type=int, default=8, help="batches of 4 samples")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    results = [score(w, args.data, args.size, args.batches) for w in args.weights]
    for r in results:
        print(f"{r['weights']}: loss {r['correspondence_loss']:.3f} (mass {r['mass']:.3f}; uniform {r['uniform_loss']:.3f}, "
              f"mass {r['uniform_mass']:.3f}), L1 {r['l1']:.4f}")
    if args.json:
        record = {"command": "python tools/attention_correspondence.py " + " ".join(sys.argv[1:]), "results": results}
        args.json.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
