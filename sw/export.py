"""Write and read PartitionPlan files: the only thing that passes from `sw` to `sim`.

File format (version 1): a directory with two files.

``plan.json`` (the manifest)::

    {"format": "partition-plan", "version": 1, "arrays": "plan.npz",
     "model": "lenet300", "dataset": "mnist", "partitions": 3, "seed": 0,
     "accuracy": {"baseline": {"top1": .., "top5": ..}, "pruned": {..}, "retrained": {..}},
     "layers": [{"index": 0, "name": "classifier.1", "in_features": 784,
                 "out_features": 300, "partitions": 3, "activation": "relu",
                 "retained": 0.38, "density": 0.333, "has_bias": true,
                 "has_dense": true, "inputs": 16,
                 "blocks": [{"partition": 0, "rows": 100, "cols": 262}, ...]}, ...]}

``plan.npz`` (the arrays; k = layer index, p = partition; float32 and int32)::

    L{k}.row_groups   (m,)   int32    partition of each output neuron
    L{k}.col_groups   (n,)   int32    partition of each input
    L{k}.b{p}.weight  (r_p, c_p) float32  the dense block of partition p
    L{k}.b{p}.gather  (c_p,) int32    input indices the block reads, ascending
    L{k}.b{p}.scatter (r_p,) int32    output indices the block writes, ascending
    L{k}.bias         (m,)   float32  zeros when the layer has no bias
    L{k}.dense        (m, n) float32  optional: the unpruned baseline weight
    L{k}.dense_bias   (m,)   float32  optional: the baseline bias
    L{k}.input        (N, n) float32  optional: real inputs of this layer (test images)

Semantics, for an input vector x of length n::

    y = zeros(m)
    for p in range(P):
        y[scatter_p] = W_p @ x[gather_p] + bias[scatter_p]
    y = activation(y)           # "relu" or "none"; a hint read from the model

The scatter lists partition 0..m-1, so every output is written exactly once, and the
result equals the masked dense layer (W * mask) @ x + bias. "activation" is what
follows the layer in the model (ReLU, or none); the layer itself is the affine part.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import PruningError
from .partition import PartitionPlan
from .prune import prunable_layers

FORMAT = "partition-plan"
VERSION = 1


@dataclass(frozen=True, eq=False)
class LayerPlan:
    """One partitioned FC layer as the hardware sees it."""

    name: str
    row_groups: np.ndarray
    col_groups: np.ndarray
    blocks: tuple[np.ndarray, ...]
    bias: np.ndarray
    activation: str = "none"
    retained: float = float("nan")
    has_bias: bool = True
    dense: np.ndarray | None = None
    dense_bias: np.ndarray | None = None
    inputs: np.ndarray | None = None

    @property
    def partitions(self) -> int:
        return len(self.blocks)

    @property
    def shape(self) -> tuple[int, int]:
        return self.row_groups.size, self.col_groups.size

    def gather(self, p: int) -> np.ndarray:
        return np.flatnonzero(self.col_groups == p).astype(np.int32)

    def scatter(self, p: int) -> np.ndarray:
        return np.flatnonzero(self.row_groups == p).astype(np.int32)

    def mask(self) -> np.ndarray:
        return self.row_groups[:, None] == self.col_groups[None, :]

    def masked_weight(self) -> np.ndarray:
        """The dense m x n matrix the blocks stand for (zeros outside the blocks)."""
        W = np.zeros(self.shape, dtype=np.float32)
        for p, block in enumerate(self.blocks):
            W[np.ix_(self.scatter(p), self.gather(p))] = block
        return W

    def forward(self, x: np.ndarray) -> np.ndarray:
        """Affine part via the blocks: x is (n,) or (N, n); returns (m,) or (N, m)."""
        x = np.asarray(x, dtype=np.float32)
        xs = x[None] if x.ndim == 1 else x
        y = np.empty((xs.shape[0], self.shape[0]), dtype=np.float32)
        for p, block in enumerate(self.blocks):
            y[:, self.scatter(p)] = xs[:, self.gather(p)] @ block.T + self.bias[self.scatter(p)]
        return y[0] if x.ndim == 1 else y


def _activation_after(model: nn.Module, layer_name: str) -> str:
    """'relu' when the next module after the layer (skipping dropout) is a ReLU."""
    names = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    for k, (n, _) in enumerate(names):
        if n == layer_name:
            for _, nxt in names[k + 1:]:
                if isinstance(nxt, nn.Dropout):
                    continue
                return "relu" if isinstance(nxt, nn.ReLU) else "none"
    return "none"


def _capture_inputs(model: nn.Module, layers, x: torch.Tensor) -> dict[str, np.ndarray]:
    seen: dict[str, np.ndarray] = {}
    hooks = [layer.register_forward_hook(
        lambda mod, args, out, name=name: seen.__setitem__(name, args[0].detach().float().numpy().copy()))
        for name, layer in layers]
    try:
        with torch.no_grad():
            model.eval()
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return seen


def layer_plans(model: nn.Module, inputs: torch.Tensor | None = None,
                baseline: nn.Module | None = None) -> list[LayerPlan]:
    """LayerPlans of a partition-pruned model (pruned with `sw.prune.partition`).

    inputs: a batch of model inputs; each layer then carries the activations it sees.
    baseline: the unpruned model; each layer then carries its dense weight and bias.
    """
    layers = [(n, m) for n, m in prunable_layers(model, include_classifier=True)
              if getattr(m, "partition_plan", None) is not None]
    if not layers:
        raise PruningError("model has no partition-pruned layer to export (prune with method 'partition')")
    base = dict(baseline.named_modules()) if baseline is not None else {}
    seen = _capture_inputs(model, layers, inputs) if inputs is not None else {}
    out = []
    for name, layer in layers:
        plan: PartitionPlan = layer.partition_plan
        W = layer.weight.detach().float().numpy()
        if W.shape != plan.shape:
            raise PruningError(f"layer {name}: weight shape {W.shape} differs from its plan's {plan.shape}")
        if np.any(W[~plan.mask] != 0):
            raise PruningError(f"layer {name} has nonzero weights outside its partition blocks")
        has_bias = layer.bias is not None
        bias = layer.bias.detach().float().numpy() if has_bias else np.zeros(W.shape[0], np.float32)
        dense = dense_bias = None
        if name in base:
            dense = base[name].weight.detach().float().numpy()
            dense_bias = base[name].bias.detach().float().numpy() if base[name].bias is not None else None
        out.append(LayerPlan(name, plan.row_groups.copy(), plan.col_groups.copy(),
                             tuple(b.astype(np.float32) for b in plan.blocks(W)), bias.astype(np.float32),
                             _activation_after(model, name), plan.retained, has_bias, dense, dense_bias,
                             seen.get(name)))
    return out


def _manifest(layers: list[LayerPlan], meta: dict) -> dict:
    entries = []
    for k, lp in enumerate(layers):
        m, n = lp.shape
        entries.append({
            "index": k, "name": lp.name, "in_features": n, "out_features": m,
            "partitions": lp.partitions, "activation": lp.activation,
            "retained": lp.retained, "density": float(lp.mask().mean()), "has_bias": lp.has_bias,
            "has_dense": lp.dense is not None,
            "inputs": 0 if lp.inputs is None else int(lp.inputs.shape[0]),
            "blocks": [{"partition": p, "rows": int(b.shape[0]), "cols": int(b.shape[1])}
                       for p, b in enumerate(lp.blocks)]})
    return {"format": FORMAT, "version": VERSION, "arrays": "plan.npz", **meta, "layers": entries}


def _arrays(layers: list[LayerPlan]) -> dict[str, np.ndarray]:
    arrays = {}
    for k, lp in enumerate(layers):
        arrays[f"L{k}.row_groups"] = lp.row_groups.astype(np.int32)
        arrays[f"L{k}.col_groups"] = lp.col_groups.astype(np.int32)
        arrays[f"L{k}.bias"] = lp.bias.astype(np.float32)
        for p, block in enumerate(lp.blocks):
            arrays[f"L{k}.b{p}.weight"] = block.astype(np.float32)
            arrays[f"L{k}.b{p}.gather"] = lp.gather(p)
            arrays[f"L{k}.b{p}.scatter"] = lp.scatter(p)
        for key, value in (("dense", lp.dense), ("dense_bias", lp.dense_bias), ("input", lp.inputs)):
            if value is not None:
                arrays[f"L{k}.{key}"] = np.asarray(value, dtype=np.float32)
    return arrays


def write(directory, layers: list[LayerPlan], meta: dict | None = None) -> Path:
    """Write plan.json and plan.npz into `directory` (created if needed); returns the
    manifest path. Both files are written to temporaries first and then renamed, so a
    failure leaves no half-written plan."""
    if not layers:
        raise PruningError("nothing to export: no partitioned layers")
    manifest = json.dumps(_manifest(layers, meta or {}), indent=2)
    arrays = _arrays(layers)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tmp_npz = directory / f".plan.npz.{os.getpid()}.tmp"
    tmp_json = directory / f".plan.json.{os.getpid()}.tmp"
    try:
        with open(tmp_npz, "wb") as f:
            np.savez(f, **arrays)
        tmp_json.write_text(manifest + "\n")
        os.replace(tmp_npz, directory / "plan.npz")
        os.replace(tmp_json, directory / "plan.json")
    finally:
        for tmp in (tmp_npz, tmp_json):
            tmp.unlink(missing_ok=True)
    return directory / "plan.json"


def read(path) -> tuple[dict, list[LayerPlan]]:
    """Read a plan written by `write`: path is the directory or its plan.json."""
    path = Path(path)
    manifest_path = path / "plan.json" if path.is_dir() else path
    if not manifest_path.is_file():
        raise PruningError(f"no partition plan at {path} (expected plan.json)")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise PruningError(f"{manifest_path} is not a {FORMAT} version {VERSION} file")
    layers = []
    with np.load(manifest_path.parent / manifest["arrays"]) as f:
        for entry in manifest["layers"]:
            k = entry["index"]

            def opt(key, k=k):
                return f[f"L{k}.{key}"] if f"L{k}.{key}" in f.files else None

            layers.append(LayerPlan(
                entry["name"], f[f"L{k}.row_groups"].astype(np.int64), f[f"L{k}.col_groups"].astype(np.int64),
                tuple(f[f"L{k}.b{p}.weight"] for p in range(entry["partitions"])), f[f"L{k}.bias"],
                entry["activation"], entry["retained"], entry["has_bias"], opt("dense"), opt("dense_bias"),
                opt("input")))
    return manifest, layers
