"""Benchmarks of the `sw` package, as a Markdown section for BENCHMARKS.md.

    python -m sw bench [--out build/sw_bench.md]

1. Quality: kept share of sum |W| for (a) a random balanced partition, (b) the paper's
   greedy, (c) scikit-learn's SpectralCoclustering with balanced rounding, (d) the
   default optimiser and (e) the unstructured top-k bound at the same density, on
   trained FC layers (LeNet-300-100, LeNet-5, MLP8 on the MNIST subset), on
   TinyVGG16-shaped layers at PyTorch's initialisation, and on random matrices.
2. Speed: the default optimiser on a 4096 x 4096 matrix at P = 3, median of 3 runs.
3. Accuracy: LeNet-300-100 on the MNIST subset, baseline / pruned / fine-tuned, for
   partition pruning at P = 2..5 and the other methods at the same density.

Trained baselines come from the checkpoint cache under build/, so a rerun only redoes
the measurements. Takes several minutes on two cores.
"""

from __future__ import annotations

import platform
import statistics
import time

import numpy as np
import torch
from torch import nn

from . import data as sw_data
from . import models, train
from .partition import partition_prune, topk_retained

OPTIMISERS = (("random", "random"), ("greedy", "paper greedy"), ("spectral", "spectral co-clust."),
              ("default", "default"))


def _trained_layers(cache, quick: bool):
    ds = sw_data.mnist()
    cfg = train.TrainConfig(epochs=2 if quick else 30)
    out = []
    for name in (("lenet300",) if quick else ("lenet300", "lenet5", "mlp8")):
        model = train.baseline(name, ds, cfg, cache)
        linears = models.linear_layers(model)[:-1]  # the classifier is not pruned
        out += [(f"{name} {n} (trained)", layer.weight.detach().numpy()) for n, layer in linears]
    return out


def _random_layers(quick: bool):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    out = []
    shapes = [(4096, 4608), (4096, 4096)] if not quick else [(512, 576)]
    for k, (m, n) in enumerate(shapes):
        out.append((f"TinyVGG16 fc{k + 1} {m}x{n} (init)", nn.Linear(n, m).weight.detach().numpy()))
    out.append(("gaussian 512x512", rng.standard_normal((512, 512))))
    out.append(("laplace 1000x500", rng.laplace(size=(1000, 500))))
    out.append(("uniform 256x1024", rng.uniform(-1, 1, (256, 1024))))
    return out


def quality(layers, parts_list=(3,), seed: int = 0) -> list[dict]:
    rows = []
    for name, W in layers:
        for P in parts_list:
            row = {"layer": name, "shape": f"{W.shape[0]}x{W.shape[1]}", "P": P}
            for method, _ in OPTIMISERS:
                t = time.perf_counter()
                plan = partition_prune(W, P, seed=seed, method=method)
                row[method] = plan.retained
                row[f"{method}_s"] = time.perf_counter() - t
            row["topk"] = topk_retained(W, plan.density)
            rows.append(row)
    return rows


def quality_markdown(rows) -> str:
    head = "| layer | shape | P | " + " | ".join(label for _, label in OPTIMISERS) + " | top-k bound | default time |"
    lines = [head, "|---|---|---:|" + "---:|" * (len(OPTIMISERS) + 2)]
    for r in rows:
        cells = " | ".join(f"{100 * r[m]:.2f}" for m, _ in OPTIMISERS)
        lines.append(f"| {r['layer']} | {r['shape']} | {r['P']} | {cells} | {100 * r['topk']:.2f} | "
                     f"{r['default_s']:.2f} s |")
    wins = sum(r["default"] > max(r["greedy"], r["spectral"]) for r in rows)
    lines.append("")
    lines.append(f"Kept share of sum |W| in percent. The default optimiser keeps more than both the paper's greedy "
                 f"and spectral co-clustering on {wins} of {len(rows)} layers.")
    return "\n".join(lines)


def speed(size: int = 4096, parts: int = 3, repeats: int = 3) -> dict:
    W = np.random.default_rng(1).standard_normal((size, size)).astype(np.float32)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        plan = partition_prune(W, parts, seed=0)
        times.append(time.perf_counter() - t)
    return {"size": size, "P": parts, "times": times, "median": statistics.median(times), "retained": plan.retained}


def accuracy(cache, quick: bool) -> list[dict]:
    ds = sw_data.mnist()
    cfg = train.TrainConfig(epochs=2 if quick else 30)
    ft = train.TrainConfig(epochs=1 if quick else 20, lr=0.05, seed=1)
    trained = train.baseline("lenet300", ds, cfg, cache)
    rows = []
    for P in ((3,) if quick else (2, 3, 4, 5)):
        rows.append(train.prune_and_finetune(trained, ds, "partition", ft, partitions=P).row())
        if not quick:
            out = train.prune_and_finetune(trained, ds, "partition", ft, partitions=P, optimizer="greedy").row()
            out["method"] = "partition (paper greedy)"
            rows.append(out)
        for method, opts in (("magnitude", {}), ("global-magnitude", {}), ("group-rms", {"group_size": 8}),
                             ("simd", {"width": 4}), ("node", {})):
            rows.append(train.prune_and_finetune(trained, ds, method, ft, density=1 / P, **opts).row())
        if P == 3 and not quick:
            rows.append(train.prune_and_finetune(trained, ds, "magnitude", ft, density=1 / P,
                                                 iterative_steps=3).row())
    return rows


def seed_spread(cache, quick: bool, parts: int = 3, seeds=(1, 2, 3)) -> list[float]:
    """Top-1 loss after fine-tuning at P = parts for several fine-tuning seeds: the
    test split has 1,000 images, so one run alone is noisy at the 0.5-point level."""
    ds = sw_data.mnist()
    trained = train.baseline("lenet300", ds, train.TrainConfig(epochs=2 if quick else 30), cache)
    losses = []
    for seed in seeds[:1] if quick else seeds:
        ft = train.TrainConfig(epochs=1 if quick else 20, lr=0.05, seed=seed)
        r = train.prune_and_finetune(trained, ds, "partition", ft, partitions=parts).row()
        losses.append(r["baseline_top1"] - r["finetuned_top1"])
    return losses


def accuracy_markdown(rows) -> str:
    lines = ["| method | setting | density | baseline top-1 | pruned top-1 | fine-tuned top-1 | loss (pts) | "
             "fine-tuned top-5 |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        loss = r["baseline_top1"] - r["finetuned_top1"]
        lines.append(f"| {r['method']} | {r['setting']} | {r['density']:.3f} | {r['baseline_top1']:.2f} | "
                     f"{r['pruned_top1']:.2f} | {r['finetuned_top1']:.2f} | {loss:+.2f} | {r['finetuned_top5']:.2f} |")
    return "\n".join(lines)


def run(out_lines: list[str] | None = None, quick: bool = False) -> str:
    """Measure everything and return the Markdown section (also appended to out_lines)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the numpy optimisers keep the other core; restored below
    try:
        text, lines = _run(quick)
    finally:
        torch.set_num_threads(threads)
    if out_lines is not None:
        out_lines.extend(lines)
    return text


def _run(quick: bool):
    cache = train.build_dir()
    t0 = time.perf_counter()
    parts = [f"## sw: Partition Pruning ({'quick run' if quick else 'full run'})", "",
             f"Machine: {platform.machine()}, {torch.get_num_threads()} torch thread(s), numpy {np.__version__}, "
             f"torch {torch.__version__}.", ""]
    trained = _trained_layers(cache, quick)
    q = quality(trained, (2, 3, 4, 5) if not quick else (3,)) + quality(_random_layers(quick), (3,))
    parts += ["### Quality: kept share of sum |W|", "",
              "Random = a random balanced partition; paper greedy = sec. 3.4 of the paper, best of 10 random "
              "row orders; spectral co-clust. = scikit-learn SpectralCoclustering rounded to balanced groups; "
              "default = multi-start alternating exact assignment with kicks; top-k bound = the largest |w| "
              "at the same density, no structure (an upper bound for any mask).", "",
              quality_markdown(q), ""]
    s = speed(1024 if quick else 4096)
    parts += ["### Speed", "",
              f"Default optimiser, {s['size']}x{s['size']} Gaussian matrix, P = {s['P']}: median "
              f"**{s['median']:.2f} s** of {len(s['times'])} runs "
              f"({', '.join(f'{t:.2f}' for t in s['times'])} s), kept {100 * s['retained']:.2f}% of sum |W|.", ""]
    acc = accuracy(cache, quick)
    spread = seed_spread(cache, quick)
    p3 = next(r for r in acc if r["method"] == "partition" and r["setting"] == "P=3")
    parts += ["### Accuracy: LeNet-300-100 on the MNIST subset (4,000 train / 1,000 test)", "",
              "Baseline: 30 epochs SGD (momentum 0.9, lr 0.05, cosine). Pruned: all FC layers except the "
              "classifier, no retraining. Fine-tuned: 20 more epochs with the masks held (lr 0.05, cosine). "
              "Other methods at the partition density 1/P; group-rms uses groups of 8, simd a width of 4; "
              "the iterative row reaches the density in 3 prune/retrain rounds.", "",
              accuracy_markdown(acc), "",
              f"At P = 3 partition pruning loses {p3['baseline_top1'] - p3['finetuned_top1']:.2f} points of "
              f"top-1 after fine-tuning (the paper: 0.87 points for TinyVGG16 at P = 3); over fine-tuning seeds "
              f"{', '.join(str(k + 1) for k in range(len(spread)))} the loss is "
              f"{', '.join(f'{x:.2f}' for x in spread)} points (mean {statistics.mean(spread):.2f}). "
              "With 1,000 test images one image is 0.1 points, so differences of a few tenths between "
              "methods after fine-tuning are within noise; the pruned (not retrained) column separates them.", ""]
    parts.append(f"Bench time: {time.perf_counter() - t0:.0f} s.")
    return "\n".join(parts), parts
