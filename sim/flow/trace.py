"""Ground truth from torch's own forward pass, and the network the hardware computes.

Two forward passes of the real model on the batch the hardware runs:

* **torch's**: forward hooks record every accelerated Linear's actual input
  and output.  The golden model (numpy float32 in the hardware's order) is
  checked against each layer's output on torch's own input, within the
  float32 error bound below, so a golden model that computes a different
  layer, or the wrong layer, cannot pass.
* **the hardware's**: the same forward pass, but each accelerated Linear's
  output is replaced by the golden model's (with the ReLU the graph lets the
  accelerator fuse).  Everything else (activations that are not fused, GELU,
  LayerNorm, residual adds, reshapes, conv fronts) is whatever the model's
  code does, in torch, on the host.  The input each Linear receives here is
  what the hardware runs on; the hardware's outputs are then checked bit for
  bit against the golden outputs, so when every layer is bit-exact this pass
  *is* the hardware's network, and its predictions are the hardware's.

Tolerance (golden vs torch, one layer): torch may sum in another order or
with fused multiply-adds.  Each of two float32 dot products of length K
(plus bias) is within gamma * sum(|w||x|) + |b| * u of the exact value, with
u = 2^-24 and gamma = (K + 1) u (Higham, *Accuracy and Stability of Numerical
Algorithms*, 3.1), so they differ by at most
``2 (K + 2) u (|W| |X| + |b|)`` element-wise, plus a few subnormal ulps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

U32 = 2.0 ** -24
SUBNORMAL = 2.0 ** -149


@dataclass
class LayerCapture:
    x: np.ndarray            # K x N input the layer received
    y: np.ndarray            # M x N output (torch's Linear output, or the golden one)
    fused: np.ndarray | None = None   # M x N: torch's value after the ReLU the accelerator fuses


def _columns(t) -> np.ndarray:
    """A (..., K) tensor as the K x N matrix of its vectors (N = product of the leading dims)."""
    a = t.detach().float().numpy()
    return np.ascontiguousarray(a.reshape(-1, a.shape[-1]).T)


def _logits(out):
    import torch
    if isinstance(out, (tuple, list)):
        out = out[0]
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the model returned {type(out).__name__}, not a tensor of logits")
    return out.detach().float()


def _run(model, x, fused_nodes: dict, seen: dict):
    """``model(x)``; with ``fused_nodes`` ({fx node name: layer name}, the model's
    GraphModule under key None), run the traced graph and keep those nodes' values."""
    if not fused_nodes:
        return model(x)
    import torch.fx

    class Recorder(torch.fx.Interpreter):
        def run_node(self, node):
            value = super().run_node(node)
            if node.name in fused_nodes:
                seen[fused_nodes[node.name]].fused = _columns(value)
            return value
    gm = fused_nodes[None]
    return Recorder(gm).run(x)


def _forward(model, x, names, replace=None, fused_nodes=None) -> tuple[np.ndarray, dict]:
    """(logits, {name: LayerCapture}) of one eval forward pass; ``replace(name, module, X)``
    returns the M x N output to substitute for a layer's, or None to keep torch's."""
    import torch
    modules = dict(model.named_modules())
    seen: dict[str, LayerCapture] = {}

    def hook(name):
        def record(module, args, out):
            X = _columns(args[0])
            Y = replace(name, module, X) if replace else None
            seen[name] = LayerCapture(X, _columns(out) if Y is None else Y)
            if Y is None:
                return None
            return torch.from_numpy(np.ascontiguousarray(Y.T)).reshape(out.shape)
        return record

    handles = [modules[n].register_forward_hook(hook(n)) for n in names]
    try:
        with torch.no_grad():
            logits = _logits(_run(model.eval(), x, fused_nodes, seen)).numpy()
    finally:
        for h in handles:
            h.remove()
    missing = [n for n in names if n not in seen]
    if missing:
        raise RuntimeError(f"layer {missing[0]} was not called in the forward pass")
    return logits, seen


def torch_forward(model, x, names, fused_nodes=None):
    """torch's own forward pass: logits and each layer's actual input and output, and
    with ``fused_nodes`` ({fx node: layer}, None: the GraphModule) the values of the
    ReLUs the accelerators fuse."""
    return _forward(model, x, names, fused_nodes=fused_nodes)


def golden_forward(model, x, names, fused: dict):
    """The hardware's network: each named Linear computed by the golden model
    (``fused[name]``: apply ReLU at write-back), everything else by torch."""
    from sim.golden.gemm import linear

    def golden(name, module, X):
        W = module.weight.detach().float().numpy()
        b = None if module.bias is None else module.bias.detach().float().numpy()
        return linear(W, X, b, fused[name])
    return _forward(model, x, names, replace=golden)


def check_layer(W, b, captured: LayerCapture, relu: bool) -> dict:
    """The golden model on torch's input against torch's output, within the float32 bound;
    with ``relu``, against torch's value after the ReLU the accelerator fuses (a ReLU
    changes no difference by more than it was), so a wrong fusion fails here."""
    from sim.golden.gemm import linear
    X, Y = captured.x, captured.fused if relu else captured.y
    if Y is None:
        raise ValueError("no torch value was captured after the fused ReLU")
    golden = linear(W, X, b, relu).astype(np.float64)
    torch_y = Y.astype(np.float64)
    K = W.shape[1]
    with np.errstate(all="ignore"):
        scale = np.abs(W.astype(np.float64)) @ np.abs(X.astype(np.float64))
        if b is not None:
            scale += np.abs(b.astype(np.float64))[:, None]
        bound = 2 * (K + 2) * U32 * scale + 4 * SUBNORMAL
        diff = np.abs(golden - torch_y)
    same_special = np.array_equal(np.isnan(golden), np.isnan(torch_y)) and \
        np.array_equal(np.where(np.isinf(golden), golden, 0), np.where(np.isinf(torch_y), torch_y, 0))
    finite = np.isfinite(golden) & np.isfinite(torch_y)
    ratio = float(np.max(diff[finite] / bound[finite])) if finite.any() else 0.0
    return {"max_abs_diff": float(diff[finite].max()) if finite.any() else 0.0,
            "max_diff_over_bound": ratio, "within_bound": bool(same_special and ratio <= 1.0)}


def call_order(model, x) -> list[str]:
    """The Linear modules ``model``'s forward pass calls, in order (for models torch.fx
    cannot trace); a module called twice is refused, as the flow runs each layer once."""
    import torch
    from torch import nn
    calls: list[str] = []
    handles = [m.register_forward_hook(lambda mod, args, out, n=n: calls.append(n))
               for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    try:
        with torch.no_grad():
            model.eval()(x)
    finally:
        for h in handles:
            h.remove()
    repeated = sorted({n for n in calls if calls.count(n) > 1})
    if repeated:
        from sw.graph import GraphError
        raise GraphError(f"layer {repeated[0]} is called {calls.count(repeated[0])} times in one forward pass; "
                         "the flow runs each Linear layer once")
    return calls
