"""Where a model's Linear layers sit in its forward pass, read from a torch.fx trace.

The flow runs each ``nn.Linear`` on the accelerators and everything else on
the host in torch.  What it may fuse into the accelerator's write-back, and
what data the host has to move, depends on the graph around each layer, not
on the order modules are registered in: an MLP may apply ``F.relu`` inside
``forward()``, a residual block adds its input back, a transformer applies
GELU and LayerNorm between its Linear layers.

`linear_sites(model)` returns, for each Linear in call order, a `LinearSite`:

* ``fused``: the ReLU that consumes the layer's output and nothing else does
  (``nn.ReLU``, ``F.relu``, ``torch.relu``, ``x.relu()``, in-place forms,
  ``clamp(min=0)``), looking through eval-mode ``nn.Dropout``/``nn.Identity``;
  the accelerator can apply it at write-back;
* ``input_from``: the Linear whose (possibly fused) output is this layer's
  input, unchanged; None when the host computes the input;
* ``host_ops``: the operations torch runs on the host to compute the input,
  back to the nearest Linear outputs or the model's input;
* ``after_accelerator``: whether any of those host operations reads a Linear's
  output (data that went from the accelerators to the host and back).

A model torch.fx cannot trace (data-dependent control flow) raises
`GraphError`; callers may then run every activation on the host.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

_RELU_FUNCTIONS = {F.relu: "F.relu", torch.relu: "torch.relu", torch.relu_: "torch.relu_",
                   getattr(F, "relu_", None): "F.relu_"}
_RELU_METHODS = {"relu": "Tensor.relu", "relu_": "Tensor.relu_"}
_CLAMP_FUNCTIONS = {torch.clamp: "torch.clamp", torch.clip: "torch.clip", torch.clamp_min: "torch.clamp_min"}
_CLAMP_METHODS = {"clamp", "clamp_", "clip", "clip_", "clamp_min", "clamp_min_"}
_TRANSPARENT_MODULES = (nn.Dropout, nn.Identity)     # identities in eval mode


class GraphError(ValueError):
    """The model's forward pass cannot be traced, or a Linear is used in a way the flow cannot run."""


@dataclass(frozen=True)
class LinearSite:
    name: str
    fused: str | None = None                 # e.g. "nn.ReLU", "F.relu", "torch.clamp(min=0)"
    input_from: str | None = None
    host_ops: tuple[str, ...] = field(default_factory=tuple)
    after_accelerator: bool = False
    fused_node: str | None = field(default=None, compare=False)   # the fx node of the fused ReLU


def _module(gm, node):
    return gm.get_submodule(node.target) if node.op == "call_module" else None


def _is_linear(gm, node) -> bool:
    return isinstance(_module(gm, node), nn.Linear)


def _clamp_bounds(node):
    """(min, max) of a clamp call, as constants or None."""
    lo = node.kwargs.get("min", node.args[1] if len(node.args) > 1 else None)
    hi = node.kwargs.get("max", node.args[2] if len(node.args) > 2 else None)
    return lo, hi


def relu_kind(gm, node) -> str | None:
    """The name of the ReLU that ``node`` is, or None."""
    if node.op == "call_module" and isinstance(_module(gm, node), nn.ReLU):
        return "nn.ReLU"
    if node.op == "call_function" and node.target in _RELU_FUNCTIONS:
        return _RELU_FUNCTIONS[node.target]
    if node.op == "call_method" and node.target in _RELU_METHODS:
        return _RELU_METHODS[node.target]
    clamp = (node.op == "call_function" and node.target in _CLAMP_FUNCTIONS) or \
            (node.op == "call_method" and node.target in _CLAMP_METHODS)
    if clamp:
        lo, hi = _clamp_bounds(node)
        if node.target in ("clamp_min", "clamp_min_", torch.clamp_min):
            hi = None
        if isinstance(lo, (int, float)) and lo == 0 and hi is None:
            name = node.target if isinstance(node.target, str) else _CLAMP_FUNCTIONS[node.target]
            return f"{name}(min=0)"
    return None


def _only_user(node):
    users = list(node.users)
    return users[0] if len(users) == 1 else None


def _fused_relu(gm, node):
    """(relu node, its name) when the Linear ``node`` feeds exactly one ReLU, else (None, None)."""
    user = _only_user(node)
    while user is not None and isinstance(_module(gm, user), _TRANSPARENT_MODULES):
        user = _only_user(user)
    kind = relu_kind(gm, user) if user is not None else None
    return (user, kind) if kind else (None, None)


def _describe(gm, node) -> str:
    if node.op == "call_module":
        return type(_module(gm, node)).__name__
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "call_function":
        target = node.target
        if target in (operator.getitem,):
            return "getitem"
        return getattr(target, "__name__", str(target))
    return node.op


def trace(model: nn.Module):
    """torch.fx's GraphModule of ``model``, or GraphError in one line."""
    import torch.fx
    try:
        return torch.fx.symbolic_trace(model)
    except Exception as exc:                                  # fx raises many kinds
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise GraphError(f"torch.fx cannot trace {type(model).__name__}: {type(exc).__name__}: {first}") from None


def _tensor_ops(gm, ops, example) -> list:
    """``ops`` less the shape arithmetic (sizes, indices) when an example input shows which
    nodes produce tensors."""
    if example is None:
        return ops
    from torch.fx.passes.shape_prop import ShapeProp
    try:
        with torch.no_grad():
            ShapeProp(gm).propagate(example)
    except Exception:                          # the op list is for the report; keep it whole
        return ops
    return [o for o in ops if "tensor_meta" in o.meta]


def _summary(names) -> tuple[str, ...]:
    """Names in first-seen order, a repeated one as 'add x2'."""
    counts: dict[str, int] = {}
    for n in names:
        counts[n] = counts.get(n, 0) + 1
    return tuple(n if c == 1 else f"{n} x{c}" for n, c in counts.items())


def linear_sites(model: nn.Module, example=None) -> list[LinearSite]:
    """A `LinearSite` for each Linear call of ``model``'s forward pass, in call order;
    ``example``, an input batch, lets the host op lists leave out shape arithmetic."""
    return analyse(model, example)[1]


def analyse(model: nn.Module, example=None):
    """(torch.fx GraphModule, [LinearSite]) of ``model``: see `linear_sites`."""
    gm = trace(model.eval())
    nodes = list(gm.graph.nodes)
    linears = [n for n in nodes if _is_linear(gm, n)]
    calls: dict[str, int] = {}
    for n in linears:
        calls[n.target] = calls.get(n.target, 0) + 1
    repeated = [name for name, count in calls.items() if count > 1]
    if repeated:
        raise GraphError(f"layer {repeated[0]} is called {calls[repeated[0]]} times in one forward pass; "
                         "the flow runs each Linear layer once")
    fused = {n: _fused_relu(gm, n) for n in linears}
    # the value each Linear hands on: its fused ReLU's output, or its own
    produced = {(relu if relu is not None else n): n for n, (relu, _) in fused.items()}
    sites, host = [], []
    for n in linears:
        src = n.args[0]
        relu_node = fused[n][0].name if fused[n][0] is not None else None
        if src in produced:
            sites.append(LinearSite(n.target, fused[n][1], produced[src].target, fused_node=relu_node))
            continue
        ops, after, seen, stack = [], False, set(), [src]
        while stack:                               # the host's ops, back to Linear outputs or the input
            node = stack.pop()
            if not hasattr(node, "op") or node in seen:
                continue
            seen.add(node)
            if node in produced:
                after = True
                continue
            if node.op in ("placeholder", "get_attr"):
                continue
            ops.append(node)
            stack.extend(node.all_input_nodes)
        ops.sort(key=nodes.index)
        host.append(ops)
        sites.append(LinearSite(n.target, fused[n][1], None, (), after, relu_node))
    kept = set(_tensor_ops(gm, [o for ops in host for o in ops], example))
    return gm, [s if s.input_from else LinearSite(s.name, s.fused, None,
                                                  _summary(_describe(gm, o) for o in host.pop(0) if o in kept),
                                                  s.after_accelerator, s.fused_node)
                for s in sites]
