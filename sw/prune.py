"""Pruning methods as `torch.nn.utils.prune` methods, so `prune.remove` and repeated
(iterative) pruning work the way PyTorch users expect.

Methods (all keep the requested *density*, the kept share of the tensor):

* `magnitude`        - smallest |w| go (Han et al. 2015, "Learning both Weights and
                       Connections for Efficient Neural Networks"); per layer.
* `global_magnitude` - one |w| threshold over several layers (Han et al.).
* `group_rms`        - groups of g adjacent weights in a row, ranked by RMS (Hartenstein et al.,
                       "Weight Pruning for Deep Neural Networks on GPUs").
* `simd`             - Scalpel's SIMD-aware pruning: groups of the SIMD width (Yu et al. 2017,
                       "Scalpel: Customizing DNN Pruning to the Underlying Hardware Parallelism").
* `node`             - Scalpel's node pruning: whole output neurons (rows and bias).
* `partition`        - Partition Pruning (Shahhosseini et al.): P balanced diagonal blocks.

Every method has PRUNING_TYPE "global": it sees the whole tensor and the previous mask,
keeps pruned weights pruned and targets an absolute density, so calling a method again
with a lower density is the "prune more" step of an iterative schedule.

Model level: `prune_model` prunes every nn.Linear except the classifier (the last one),
as the paper does; `iterative_prune` runs prune / retrain / prune more (Han et al.'s iterative pruning).
"""

from __future__ import annotations

import math
from typing import Callable, Iterable

import numpy as np
import torch
from torch import nn
from torch.nn.utils import prune

from .errors import PruningError
from .partition import PartitionPlan, check_partitions, check_weight, partition_prune

METHODS = ("magnitude", "global-magnitude", "group-rms", "simd", "node", "partition")


def _check_density(density) -> float:
    if isinstance(density, bool) or not isinstance(density, (int, float)) or not math.isfinite(density):
        raise PruningError(f"density must be a number in (0, 1], got {density!r}")
    if not 0 < density <= 1:
        raise PruningError(f"density must be in (0, 1], got {density}")
    return float(density)


def _check_finite(t: torch.Tensor) -> None:
    if not torch.isfinite(t).all():
        raise PruningError("weight contains NaN or Inf values; cannot rank it for pruning")


def _keep_top(scores: torch.Tensor, alive: torch.Tensor, k: int) -> torch.Tensor:
    """Bool mask of the k highest scores among `alive` entries (stable: ties keep the
    lower index), never resurrecting pruned entries."""
    flat = torch.where(alive.reshape(-1), scores.reshape(-1).double(), torch.tensor(-math.inf, dtype=torch.float64))
    k = min(k, int(alive.sum()))
    keep = torch.zeros(flat.numel(), dtype=torch.bool)
    if k > 0:
        order = torch.argsort(flat, descending=True, stable=True)
        keep[order[:k]] = True
    return keep.reshape(scores.shape)


class MagnitudePruning(prune.BasePruningMethod):
    """Keep the round(density * numel) largest |w| (Han et al. 2015), or exactly
    `count` of them (used by global pruning to apply its per-layer share)."""

    PRUNING_TYPE = "global"

    def __init__(self, density: float | None = None, count: int | None = None):
        self.density = None if count is not None else _check_density(density)
        self.count = count

    def compute_mask(self, t, default_mask):
        _check_finite(t)
        k = self.count if self.count is not None else round(self.density * t.numel())
        keep = _keep_top(t.abs(), default_mask != 0, k)
        return keep.to(default_mask.dtype)


class GroupRMSPruning(prune.BasePruningMethod):
    """Groups of `group_size` adjacent weights in a row (aligned at multiples of the
    group size, the last one may be shorter), ranked by the RMS of their weights; the
    weakest groups go until the density is reached (Hartenstein et al., "Weight Pruning
    for Deep Neural Networks on GPUs").
    Tensors of more than two dimensions are grouped along their flattened rows."""

    PRUNING_TYPE = "global"

    def __init__(self, density: float, group_size: int = 8):
        self.density = _check_density(density)
        if isinstance(group_size, bool) or not isinstance(group_size, int) or group_size < 1:
            raise PruningError(f"group size must be a positive integer, got {group_size!r}")
        self.group_size = group_size

    def compute_mask(self, t, default_mask):
        _check_finite(t)
        g = self.group_size
        rows = t.reshape(t.shape[0], -1) if t.dim() > 1 else t.reshape(1, -1)
        alive = (default_mask != 0).reshape(rows.shape)
        n = rows.shape[1]
        groups = -(-n // g)
        pad = groups * g - n
        sq = torch.nn.functional.pad((rows * alive).double() ** 2, (0, pad)).reshape(rows.shape[0], groups, g)
        sizes = torch.full((groups,), g, dtype=torch.float64)
        sizes[-1] = g - pad
        rms = (sq.sum(dim=2) / sizes).sqrt()  # (rows, groups)
        group_alive = torch.nn.functional.pad(alive, (0, pad)).reshape(rows.shape[0], groups, g).any(dim=2)
        # keep whole groups, strongest first, until the kept weight count is closest to target
        order = torch.argsort(torch.where(group_alive, rms, -math.inf).reshape(-1), descending=True, stable=True)
        width = sizes.repeat(rows.shape[0])[order]
        cum = torch.cumsum(width, 0)
        target = self.density * t.numel()
        k = int(torch.argmin((cum - target).abs())) + 1
        k = min(k, int(group_alive.sum()))
        keep_group = torch.zeros(order.numel(), dtype=torch.bool)
        keep_group[order[:k]] = True
        keep = keep_group.reshape(rows.shape[0], groups, 1).expand(-1, -1, g).reshape(rows.shape[0], -1)[:, :n]
        return (keep & alive).reshape(t.shape).to(default_mask.dtype)


class SimdPruning(GroupRMSPruning):
    """Scalpel's SIMD-aware weight pruning (Yu et al., ISCA 2017): weights that one
    SIMD instruction loads together (`width` adjacent inputs of a row) live or die as a
    group, ranked by RMS, so the sparse kernel still issues full-width vector loads.
    Same mechanics as group-RMS; the group is the SIMD width (2 on Cortex-M4, 4 or 8 with
    SSE/AVX FP32) rather than a memory transaction."""

    def __init__(self, density: float, width: int = 4):
        super().__init__(density, group_size=width)


class NodePruning(prune.BasePruningMethod):
    """Scalpel's node pruning (Yu et al., ISCA 2017): remove whole output neurons, i.e. rows of W,
    so the layer stays dense but smaller. Neurons are ranked by the L2 norm of their
    incoming weights (Scalpel learns mask layers for this during training; the norm is
    the usual training-free stand-in). `node()` also prunes the matching biases."""

    PRUNING_TYPE = "global"

    def __init__(self, density: float):
        self.density = _check_density(density)

    def compute_mask(self, t, default_mask):
        _check_finite(t)
        rows = t.reshape(t.shape[0], -1)
        alive = (default_mask != 0).reshape(rows.shape)
        norm = ((rows * alive).double() ** 2).sum(dim=1).sqrt()
        keep_rows = _keep_top(norm, alive.any(dim=1), round(self.density * t.shape[0]))
        return (alive & keep_rows[:, None]).reshape(t.shape).to(default_mask.dtype)


class PartitionPruning(prune.BasePruningMethod):
    """Partition Pruning (Shahhosseini et al.): keep P balanced diagonal blocks (after permutation)
    that hold the most sum |w|. The chosen `PartitionPlan` is kept in `.plan` and on the
    module as `partition_plan` for export."""

    PRUNING_TYPE = "global"

    def __init__(self, partitions: int, seed: int = 0, optimizer: str = "default", **options):
        self.partitions = partitions
        self.seed = seed
        self.optimizer = optimizer
        self.options = options
        self.plan: PartitionPlan | None = None

    def compute_mask(self, t, default_mask):
        if t.dim() != 2:
            raise PruningError(f"partition pruning needs a 2-D weight, got shape {tuple(t.shape)}")
        alive = default_mask != 0
        self.plan = partition_prune(t * alive, self.partitions, seed=self.seed, method=self.optimizer,
                                    **self.options)
        keep = torch.from_numpy(np.array(self.plan.mask)) & alive
        return keep.to(default_mask.dtype)


# --------------------------------------------------------------------------- functional API
def magnitude(module: nn.Module, name: str = "weight", *, density: float) -> nn.Module:
    MagnitudePruning.apply(module, name, density)
    return module


def group_rms(module: nn.Module, name: str = "weight", *, density: float, group_size: int = 8) -> nn.Module:
    GroupRMSPruning.apply(module, name, density, group_size)
    return module


def simd(module: nn.Module, name: str = "weight", *, density: float, width: int = 4) -> nn.Module:
    SimdPruning.apply(module, name, density, width)
    return module


def node(module: nn.Module, name: str = "weight", *, density: float) -> nn.Module:
    """Prune whole output neurons: rows of `name` and, if present, the matching bias."""
    NodePruning.apply(module, name, density)
    mask = getattr(module, name + "_mask")
    rows_alive = (mask.reshape(mask.shape[0], -1) != 0).any(dim=1)
    if getattr(module, "bias", None) is not None and name == "weight":
        prune.custom_from_mask(module, "bias", rows_alive.to(module.bias.dtype))
    return module


def partition(module: nn.Module, name: str = "weight", *, partitions: int, seed: int = 0,
              optimizer: str = "default", **options) -> nn.Module:
    """Partition-prune `module.<name>` into P blocks; the plan lands in module.partition_plan.
    `optimizer` is a `sw.partition.partition_prune` method ("default", "greedy", ...)."""
    hook = PartitionPruning.apply(module, name, partitions, seed, optimizer, **options)
    last = hook._pruning_methods[-1] if isinstance(hook, prune.PruningContainer) else hook
    module.partition_plan = last.plan
    return module


def global_magnitude(parameters: Iterable[tuple[nn.Module, str]], *, density: float) -> None:
    """One magnitude threshold over all given (module, name) pairs, like
    `prune.global_unstructured`; each tensor then gets its share as a per-layer mask."""
    density = _check_density(density)
    parameters = list(parameters)
    if not parameters:
        raise PruningError("global magnitude pruning needs at least one parameter")
    scores, alive = [], []
    for module, name in parameters:
        t = getattr(module, name).detach()
        _check_finite(t)
        mask = getattr(module, name + "_mask", torch.ones_like(t))
        scores.append(t.abs().reshape(-1))
        alive.append((mask != 0).reshape(-1))
    total = sum(s.numel() for s in scores)
    keep = _keep_top(torch.cat(scores), torch.cat(alive), round(density * total))
    start = 0
    for (module, name), s in zip(parameters, scores):
        count = int(keep[start:start + s.numel()].sum())
        start += s.numel()
        # a stable top-count inside the layer picks exactly its part of the global choice
        MagnitudePruning.apply(module, name, count=count)


# --------------------------------------------------------------------------- model level
def prunable_layers(model: nn.Module, include_classifier: bool = False) -> list[tuple[str, nn.Linear]]:
    """The nn.Linear layers to prune: all but the classifier (the last Linear registered
    in the model), as in the paper, where every link of the classifier is needed."""
    layers = [(name, m) for name, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not layers:
        raise PruningError(f"model {type(model).__name__} has no nn.Linear layer to prune")
    if not include_classifier:
        layers = layers[:-1]
        if not layers:
            raise PruningError(f"model {type(model).__name__} has only one nn.Linear layer, the classifier, "
                               "which is not pruned (pass include_classifier=True to prune it)")
    return layers


def check_model(model: nn.Module, method: str, *, density=None, partitions=None,
                include_classifier: bool = False) -> list[tuple[str, nn.Linear]]:
    """Validate a model-level pruning request before touching anything."""
    if method not in METHODS:
        raise PruningError(f"unknown pruning method {method!r}; choose one of {', '.join(METHODS)}")
    layers = prunable_layers(model, include_classifier)
    for name, layer in layers:
        if method == "partition":
            m, n = layer.weight.shape
            check_partitions(partitions, m, n, what=f"layer {name}")
        check_weight(layer.weight, what=f"layer {name} weight")
    if method != "partition":
        _check_density(density)
    return layers


def prune_model(model: nn.Module, method: str, *, density: float | None = None, partitions: int | None = None,
                seed: int = 0, include_classifier: bool = False, align: dict | None = None,
                **options) -> dict[str, dict]:
    """Prune the FC layers of `model` in place; returns per-layer density (and retained
    share of sum |W| for partition pruning). Checks everything first, so a bad request
    leaves the model untouched.

    align ({layer: the layer whose output is its input}, partition pruning only): the
    layer's column groups are the other's row groups, so block p feeds block p."""
    layers = check_model(model, method, density=density, partitions=partitions,
                         include_classifier=include_classifier)
    if method == "global-magnitude":
        global_magnitude([(layer, "weight") for _, layer in layers], density=density)
    for name, layer in layers:
        if method == "magnitude":
            magnitude(layer, density=density)
        elif method == "group-rms":
            group_rms(layer, density=density, **options)
        elif method == "simd":
            simd(layer, density=density, **options)
        elif method == "node":
            node(layer, density=density)
    if method == "partition":
        _partition_aligned(layers, partitions, seed, align or {}, options)
    return {name: layer_summary(layer) for name, layer in layers}


def _partition_aligned(layers, partitions, seed, align: dict, options):
    """Partition every layer, a layer aligned to another after it, with its column groups."""
    by_name = dict(layers)
    for name, source in align.items():
        if name in by_name and source in by_name and by_name[name].in_features != by_name[source].out_features:
            raise PruningError(f"layer {name} cannot be aligned to {source}: {by_name[name].in_features} inputs, "
                               f"{by_name[source].out_features} outputs")
    pending = [(n, l) for n, l in layers]
    while pending:
        waiting = {n for n, _ in pending}
        ready = [(n, l) for n, l in pending if align.get(n) not in waiting]
        if not ready:
            raise PruningError(f"the alignment of {', '.join(n for n, _ in pending)} is circular")
        for name, layer in ready:
            source = by_name.get(align.get(name))
            extra = {"col_groups": source.partition_plan.row_groups} if source is not None else {}
            partition(layer, partitions=partitions, seed=seed, **options, **extra)
            pending.remove((name, layer))


def layer_summary(layer: nn.Linear) -> dict:
    w = layer.weight.detach()
    info = {"shape": list(w.shape), "density": float((w != 0).double().mean())}
    plan = getattr(layer, "partition_plan", None)
    if plan is not None:
        info["retained"] = plan.retained
        info["partitions"] = plan.partitions
    return info


def remove_all(model: nn.Module) -> None:
    """Make pruning permanent on every pruned tensor (`prune.remove`)."""
    for module in model.modules():
        for hook in list(module._forward_pre_hooks.values()):
            if isinstance(hook, prune.BasePruningMethod):
                prune.remove(module, hook._tensor_name)


def density_schedule(final: float, steps: int) -> list[float]:
    """Geometric densities 1 -> final in `steps` rounds: each round prunes the same
    share of what is left, the gentle ramp of Han et al.'s iterative pruning."""
    final = _check_density(final)
    if steps < 1:
        raise PruningError(f"steps must be at least 1, got {steps}")
    return [final ** ((k + 1) / steps) for k in range(steps)]


def iterative_prune(model: nn.Module, method: str, *, density: float, steps: int,
                    retrain: Callable[[nn.Module], None], **kwargs) -> list[float]:
    """Prune, retrain, prune more (Han et al.'s iterative pruning): `steps` rounds down to `density`.
    Masks from earlier rounds are kept, so pruned weights never come back."""
    if method == "partition":
        raise PruningError("iterative schedules step the density; use a density method, not partition")
    schedule = density_schedule(density, steps)
    check_model(model, method, density=density, include_classifier=kwargs.get("include_classifier", False))
    for d in schedule:
        prune_model(model, method, density=d, **kwargs)
        retrain(model)
    return schedule
