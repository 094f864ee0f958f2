"""Can the sketch alone tell which regions are skin? Detectors compared on held-out line art.

The matcher keeps a region skin-colored under a reference without skin (a landscape) when its
prior head says the region is skin. That head reads the region's pooled frozen features and finds
most skin on training images but little on the held-out full-figure portraits. This probe scores,
on the same region labels, detectors that see more of the figure:

- ``shipped_prior_head``: the shipped matcher's skin head (pooled EfficientNet-Lite0 features);
- ``pooled_mlp_efficientnet`` / ``pooled_mlp_dino``: an MLP fitted on the training regions' pooled
  EfficientNet-Lite0 or DINOv2-S features (computed on the line art);
- ``conv_head``: a small dilated conv net over the frozen EfficientNet-Lite0 maps (stride 8), trained
  per cell, its probability averaged over each region: the context of the whole figure;
- ``line_unet``: a U-Net trained from scratch on the line art at 256 px (zoomed out onto paper 60 %
  of the time, so that face crops teach small faces too), per cell, averaged over each region
  (``--unet-side``, ``--unet-width``, ``--unet-crop``: larger ones);
- ``render_distance``: how close v0.3's render with no reference comes to the skin prior color.

Labels: a region is skin when its true color (median CIELAB off the lines) is skin-like
(``evaluation.color.is_skin``); paper regions left out; each region weighted by the square root of
its area share. Reported: the weighted ROC AUC and the recall at probability 0.5 on held-out
illustrations, and on training ones for the trained detectors (fit).

    python bench/skin_from_lines.py ../shared/data/illustrations --json bench/skin_from_lines.json

(the defaults: 600 training and 129 held-out illustrations, the pooled MLPs fitted on 140 of the
600, 600 conv-head steps and 800 U-Net steps). A benchmark, not a test: 10.5 minutes on the
2-core CPU (``bench/skin_from_lines.json``). ``--detectors`` runs some of them only, e.g. a larger
U-Net on every training illustration:

    python bench/skin_from_lines.py ../shared/data/illustrations --detectors line_unet --train 1333 \
        --unet-side 384 --unet-width 16 --unet-crop 256 --unet-batch 12 --unet-steps 3000 \
        --json bench/skin_from_lines_unet384.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from s2p_lab.evaluation.color import is_paper, is_skin, rgb_to_lab  # noqa: E402
from s2p_lab.imageio import load_image, resize_long_side  # noqa: E402
from s2p_lab.matching.dataset import label_medians, region_truth  # noqa: E402
from s2p_lab.matching.features import _membership, pool_parts, trunk_features  # noqa: E402
from s2p_lab.regions import region_map  # noqa: E402
from s2p_lab.sketch import extract_sketch  # noqa: E402
from s2p_lab.splits import is_holdout  # noqa: E402

SKIN_PRIOR = np.array([82.6, 7.8, 12.7])
UNET_SIDE = 256
DETECTORS = ("shipped_prior_head", "pooled_mlp_efficientnet", "pooled_mlp_dino", "conv_head", "line_unet",
             "render_distance")


def weighted_auc(labels: np.ndarray, scores: np.ndarray, weights: np.ndarray) -> float:
    """ROC AUC with sample weights (ties count half)."""
    order = np.argsort(scores, kind="mergesort")
    y, s, w = labels[order].astype(bool), scores[order], weights[order]
    below, total, i = 0.0, 0.0, 0
    while i < len(s):
        j = i
        while j < len(s) and s[j] == s[i]:
            j += 1
        wp, wn = w[i:j][y[i:j]].sum(), w[i:j][~y[i:j]].sum()
        total += wp * (below + 0.5 * wn)
        below += wn
        i = j
    return float(total / max(w[y].sum() * w[~y].sum(), 1e-12))


def collect(paths: list[Path], *, dino: bool) -> list[dict]:
    """Per illustration: line art, regions, region labels and weights, pooled and map features,
    and the per-cell skin share of the stride-8 grid."""
    from tqdm.auto import tqdm

    items = []
    for path in tqdm(paths, desc="illustrations", unit="image"):
        target = resize_long_side(load_image(path, mode="RGB"), 512)
        lines = extract_sketch(target, method="xdog")
        regions = region_map(lines)
        truth = region_truth(target, regions.labels, regions.lines, regions.count)
        maps = trunk_features(lines, dino=dino, bf16=True)
        parts = pool_parts(maps, regions.labels, regions.count)
        gh, gw = maps["efficientnet"].shape[-2:]
        lab = rgb_to_lab(target)
        inner = (lines >= 128).astype(np.float32)
        weight = cv2.resize(inner, (gw, gh), interpolation=cv2.INTER_AREA)
        skin = cv2.resize(is_skin(lab).astype(np.float32) * inner, (gw, gh), interpolation=cv2.INTER_AREA)
        keep = ~is_paper(truth) & (parts.areas > 0)
        items.append({
            "name": path.stem, "lines": lines, "labels": regions.labels, "count": regions.count,
            "keep": keep, "y": is_skin(truth)[keep], "w": np.sqrt(parts.areas[keep] / max(parts.areas.sum(), 1)),
            "efficientnet": parts.efficientnet[keep], "dino": None if parts.dino is None else parts.dino[keep],
            "geometry": parts.geometry[keep], "maps": maps["efficientnet"].to(torch.bfloat16),
            "cell_skin": skin / np.maximum(weight, 1e-3), "cell_weight": weight,
        })
    return items


def score(items: list[dict], per_region: list[np.ndarray]) -> dict[str, float]:
    y = np.concatenate([it["y"] for it in items])
    w = np.concatenate([it["w"] for it in items])
    p = np.concatenate(per_region)
    hit = p >= 0.5
    return {"auc": round(weighted_auc(y, p, w), 3),
            "recall_at_0.5": round(float((w * (hit & y)).sum() / max((w * y).sum(), 1e-12)), 3),
            "precision_at_0.5": round(float((w * (hit & y)).sum() / max((w * hit).sum(), 1e-12)), 3)}


def pooled_mlp(train: list[dict], held: list[dict], key: str, epochs: int) -> dict[str, dict]:
    """An MLP (LayerNorm, 128 hidden, dropout 0.3) fitted on the training regions' pooled features."""
    torch.manual_seed(0)
    x = torch.tensor(np.concatenate([it[key] for it in train]), dtype=torch.float32)
    y = torch.tensor(np.concatenate([it["y"] for it in train]), dtype=torch.float32)
    w = torch.tensor(np.concatenate([it["w"] for it in train]), dtype=torch.float32)
    net = nn.Sequential(nn.LayerNorm(x.shape[1]), nn.Dropout(0.3), nn.Linear(x.shape[1], 128), nn.GELU(),
                        nn.Dropout(0.3), nn.Linear(128, 1))
    opt = torch.optim.AdamW(net.parameters(), 1e-3, weight_decay=1e-2)
    for _ in range(epochs):
        net.train()
        order = torch.randperm(len(x))
        for b in range(0, len(x), 512):
            i = order[b:b + 512]
            loss = (F.binary_cross_entropy_with_logits(net(x[i])[:, 0], y[i], reduction="none") * w[i]).sum() / w[i].sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
    net.eval()

    def predict(it: dict) -> np.ndarray:
        with torch.no_grad():
            return torch.sigmoid(net(torch.tensor(it[key], dtype=torch.float32))[:, 0]).numpy()

    return {"held": score(held, [predict(it) for it in held]), "train": score(train, [predict(it) for it in train])}


class ConvHead(nn.Module):
    """Dilated residual convs over the frozen stride-8 maps: each cell sees about 35 cells around it."""

    def __init__(self, channels: int = 48) -> None:
        super().__init__()
        self.inp = nn.Sequential(nn.Conv2d(152, channels, 1), nn.GroupNorm(8, channels), nn.GELU())
        self.body = nn.ModuleList(nn.Sequential(nn.Conv2d(channels, channels, 3, padding=d, dilation=d),
                                                nn.GroupNorm(8, channels), nn.GELU()) for d in (1, 2, 4, 8, 1))
        self.out = nn.Conv2d(channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.inp(x)
        for block in self.body:
            h = h + block(h)
        return self.out(h)[:, 0]


class _Block(nn.Module):
    def __init__(self, i: int, o: int, stride: int = 1) -> None:
        super().__init__()
        self.c1, self.n1 = nn.Conv2d(i, o, 3, stride, 1), nn.GroupNorm(4, o)
        self.c2, self.n2 = nn.Conv2d(o, o, 3, 1, 1), nn.GroupNorm(4, o)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.gelu(self.n1(self.c1(x)))
        return x + F.gelu(self.n2(self.c2(x)))


class LineUNet(nn.Module):
    """Line art (1, H, W) -> skin logits at H/4 (five downsamplings to H/32, three up)."""

    def __init__(self, width: int = 8) -> None:
        super().__init__()
        w = width
        self.e0, self.e1, self.e2 = _Block(1, w, 2), _Block(w, 2 * w, 2), _Block(2 * w, 4 * w, 2)
        self.e3, self.e4 = _Block(4 * w, 6 * w, 2), _Block(6 * w, 8 * w, 2)
        self.d3, self.d2, self.d1 = _Block(14 * w, 6 * w), _Block(10 * w, 4 * w), _Block(6 * w, 2 * w)
        self.out = nn.Conv2d(2 * w, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - 0.5) / 0.5
        h1 = self.e1(self.e0(x))
        h2 = self.e2(h1)
        h3 = self.e3(h2)
        h4 = self.e4(h3)

        def up(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
            return torch.cat([F.interpolate(a, size=b.shape[-2:], mode="bilinear", align_corners=False), b], 1)

        d = self.d1(up(self.d2(up(self.d3(up(h4, h3)), h2)), h1))
        return self.out(d)[:, 0]


def _unet_input(lines: np.ndarray, side: int = UNET_SIDE) -> np.ndarray:
    h, w = lines.shape
    s = side / max(h, w)
    size = (max(32, round(w * s) // 32 * 32), max(32, round(h * s) // 32 * 32))
    return cv2.resize(lines, size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255


def _unet_sample(item: dict, rng: np.random.Generator, crop: int = 192, side: int = UNET_SIDE) -> tuple[np.ndarray, ...]:
    """A crop of the line art and its skin cells, zoomed out onto paper 60 % of the time, maybe mirrored."""
    lines = _unet_input(item["lines"], side)
    h, w = lines.shape
    skin = cv2.resize(item["cell_skin"], (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    weight = cv2.resize(item["cell_weight"], (w // 4, h // 4), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.6:
        zoom = rng.uniform(0.35, 1.0)
        nh, nw = max(8, int(h * zoom) // 4 * 4), max(8, int(w * zoom) // 4 * 4)
        oy, ox = rng.integers(0, (h - nh) // 4 + 1) * 4, rng.integers(0, (w - nw) // 4 + 1) * 4
        canvas, sc, wc = np.ones((h, w), np.float32), np.zeros((h // 4, w // 4), np.float32), np.ones((h // 4, w // 4), np.float32)
        canvas[oy:oy + nh, ox:ox + nw] = cv2.resize(lines, (nw, nh), interpolation=cv2.INTER_AREA)
        sc[oy // 4:(oy + nh) // 4, ox // 4:(ox + nw) // 4] = cv2.resize(skin, (nw // 4, nh // 4), interpolation=cv2.INTER_AREA)
        wc[oy // 4:(oy + nh) // 4, ox // 4:(ox + nw) // 4] = cv2.resize(weight, (nw // 4, nh // 4), interpolation=cv2.INTER_AREA)
        lines, skin, weight = canvas, sc, wc
    y0 = rng.integers(0, max(0, h - crop) // 4 + 1) * 4
    x0 = rng.integers(0, max(0, w - crop) // 4 + 1) * 4
    out = [np.ones((crop, crop), np.float32), np.zeros((crop // 4, crop // 4), np.float32), np.zeros((crop // 4, crop // 4), np.float32)]
    for o, a, step in zip(out, (lines, skin, weight), (1, 4, 4)):
        part = a[y0 // step:(y0 + crop) // step, x0 // step:(x0 + crop) // step]
        o[:part.shape[0], :part.shape[1]] = part
    if rng.random() < 0.5:
        out = [o[:, ::-1].copy() for o in out]
    return tuple(out)


def _conv_sample(item: dict, rng: np.random.Generator, crop: int = 48) -> tuple[torch.Tensor, ...]:
    maps = item["maps"].float()
    skin, weight = torch.tensor(item["cell_skin"]), torch.tensor(item["cell_weight"])
    h, w = skin.shape
    y0, x0 = rng.integers(0, max(1, h - crop + 1)), rng.integers(0, max(1, w - crop + 1))
    maps, skin, weight = maps[:, y0:y0 + crop, x0:x0 + crop], skin[y0:y0 + crop, x0:x0 + crop], weight[y0:y0 + crop, x0:x0 + crop]
    pad = (0, crop - skin.shape[1], 0, crop - skin.shape[0])
    maps, skin, weight = F.pad(maps, pad), F.pad(skin, pad), F.pad(weight, pad)
    if rng.random() < 0.5:
        maps, skin, weight = maps.flip(-1), skin.flip(-1), weight.flip(-1)
    return maps, skin, weight


def train_cells(net: nn.Module, train: list[dict], sample, steps: int, batch: int, desc: str) -> nn.Module:
    """Per-cell skin BCE (weighted by each cell's share of off-line pixels), AdamW one-cycle 2e-3, bf16."""
    from tqdm.auto import tqdm

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    opt = torch.optim.AdamW(net.parameters(), 2e-3, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.OneCycleLR(opt, 2e-3, total_steps=steps, pct_start=0.05)
    for _ in tqdm(range(steps), desc=desc, unit="step"):
        parts = [sample(train[i], rng) for i in rng.integers(0, len(train), batch)]
        x, y, w = (torch.stack([torch.as_tensor(p[k]) for p in parts]) for k in range(3))
        if x.dim() == 3:
            x = x[:, None]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = net(x)
        loss = (F.binary_cross_entropy_with_logits(logits.float(), y.clamp(0, 1), reduction="none") * w).sum() / w.sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
        schedule.step()
    return net.eval()


def per_region(items: list[dict], cell_probs) -> list[np.ndarray]:
    out = []
    for it in items:
        prob = cell_probs(it)
        member = _membership(it["labels"], it["count"], tuple(prob.shape))
        out.append((member @ torch.as_tensor(prob, dtype=torch.float32).reshape(-1)).numpy()[it["keep"]])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path, help="folder of color illustrations (../shared/data/illustrations)")
    parser.add_argument("--train", type=int, default=600, help="training illustrations used (at most)")
    parser.add_argument("--held", type=int, default=129, help="held-out illustrations scored (at most)")
    parser.add_argument("--mlp-train", type=int, default=140, help="training illustrations for the pooled MLPs")
    parser.add_argument("--conv-steps", type=int, default=600)
    parser.add_argument("--unet-steps", type=int, default=800)
    parser.add_argument("--unet-side", type=int, default=UNET_SIDE, help="longer side of the U-Net's input")
    parser.add_argument("--unet-width", type=int, default=8, help="channels of the U-Net's first level")
    parser.add_argument("--unet-crop", type=int, default=192, help="side of the U-Net's training crops")
    parser.add_argument("--unet-batch", type=int, default=16)
    parser.add_argument("--detectors", nargs="+", default=list(DETECTORS), choices=DETECTORS,
                        help="which detectors to score (default: all)")
    parser.add_argument("--epochs", type=int, default=60, help="epochs of the pooled MLPs")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    paths = sorted(p for p in args.data.iterdir() if p.suffix.lower() in {".jpg", ".jpeg", ".png", ".webp"})
    rng = np.random.default_rng(0)
    held_paths = [p for p in paths if is_holdout(p.name)]
    train_paths = [p for p in paths if not is_holdout(p.name)]
    rng.shuffle(held_paths)
    rng.shuffle(train_paths)
    start = time.time()
    wanted = set(args.detectors)
    dino = "pooled_mlp_dino" in wanted
    held = collect(held_paths[:args.held], dino=dino)
    # DINOv2 only where the pooled MLP reads it (4x the time of the rest on a 2-core CPU)
    train = collect(train_paths[:args.mlp_train], dino=dino) + collect(train_paths[args.mlp_train:args.train], dino=False)
    fit = train[:args.mlp_train]
    results: dict[str, object] = {"held_images": len(held), "train_images": len(train), "settings": vars(args) | {
        "data": str(args.data), "json": str(args.json)}}

    if "shipped_prior_head" in wanted:
        from s2p_lab.matching.predict import Matcher

        matcher = Matcher.from_pretrained()
        shipped = [torch.sigmoid(matcher.model.prior_logits(matcher.model.inputs(
            {"efficientnet": it["efficientnet"], "geometry": it["geometry"]}, "sketch"))).detach().numpy()[:, 0]
            for it in held]
        results["shipped_prior_head"] = {"held": score(held, shipped)}
    for key in ("efficientnet", "dino"):
        if f"pooled_mlp_{key}" in wanted:
            results[f"pooled_mlp_{key}"] = pooled_mlp(fit, held, key, args.epochs)

    if "conv_head" in wanted:
        conv = train_cells(ConvHead(), train, _conv_sample, args.conv_steps, 12, "conv head")

        def conv_probs(it: dict) -> torch.Tensor:
            with torch.no_grad():
                return torch.sigmoid(conv(it["maps"].float()[None]))[0]

        results["conv_head"] = {"held": score(held, per_region(held, conv_probs)),
                                "train": score(train[:150], per_region(train[:150], conv_probs))}

    if "line_unet" in wanted:
        side, crop = args.unet_side, args.unet_crop
        unet = train_cells(LineUNet(args.unet_width), train, lambda it, rng: _unet_sample(it, rng, crop, side),
                           args.unet_steps, args.unet_batch, "line U-Net")

        def unet_probs(it: dict) -> torch.Tensor:
            with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
                return torch.sigmoid(unet(torch.tensor(_unet_input(it["lines"], side))[None, None]).float())[0]

        results["line_unet"] = {"held": score(held, per_region(held, unet_probs)),
                                "train": score(train[:150], per_region(train[:150], unet_probs))}

    if "render_distance" in wanted:
        from s2p_lab.colorizer import Colorizer

        colorizer = Colorizer.from_pretrained()
        closeness = []
        for it in held:
            out = np.asarray(colorizer.colorize(np.stack([it["lines"]] * 3, -1), None, mode="raw")[0])
            out = cv2.resize(out, it["lines"].shape[::-1], interpolation=cv2.INTER_AREA)
            medians, _ = label_medians(rgb_to_lab(out).reshape(-1, 3), np.where(it["lines"] < 128, -1, it["labels"]).ravel(), it["count"])
            closeness.append(-np.linalg.norm(medians - SKIN_PRIOR, axis=1)[it["keep"]])
        results["render_distance"] = {"held": score(held, closeness)}  # its recall and precision mean nothing: a distance
    results["seconds"] = round(time.time() - start, 1)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
