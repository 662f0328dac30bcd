"""The software half of ``make sim``: a trained, partition-pruned model's FC chain.

Trains (or loads from the checkpoint cache) the model, partition-prunes every
FC layer but the classifier into P blocks, fine-tunes with the masks held,
and extracts what the hardware runs: for each FC layer in order, the dense
baseline weights and, for the pruned model, either the P blocks with their
gather/scatter lists or the dense classifier.  The first FC layer's input
for a test batch is captured from torch, as are both models' predictions on
that batch.  Everything is cached under build/flow/ by a hash of the settings.
"""

import hashlib
import json
import os
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sim.core.runner import BUILD_ROOT

FINETUNE_EPOCHS = 20
TRAIN_THREADS = 2          # torch's threads while training (see _with_torch_threads)
# TinyVGG16's FC head (Partition Pruning, Shahhosseini et al.: 512 x 3 x 3 features -> 4096 -> 4096 -> 200 classes)
PAPER_FC_DIMS = (4608, 4096, 4096, 200)


from .config import FlowError  # noqa: F401  (raised here, re-exported for callers)


@dataclass
class FCLayer:
    """One Linear layer as the accelerators run it, baseline and pruned."""
    name: str
    relu: bool                         # ReLU fused into the accelerator's write-back
    W_base: np.ndarray                 # M x K, unpruned (baseline model)
    b_base: np.ndarray | None
    W_pruned: np.ndarray               # M x K, masked (fine-tuned model)
    b_pruned: np.ndarray | None
    x_base: np.ndarray                 # K x N: the input the hardware runs (the baseline's hardware network)
    x_pruned: np.ndarray               # K x N: the same for the pruned model
    row_groups: np.ndarray | None = None   # None: dense (the classifier, or a layer not pruned)
    col_groups: np.ndarray | None = None
    fused: str | None = None           # the torch operation the fused ReLU stands for
    input_from: str | None = None      # the accelerated layer whose output is this layer's input, unchanged
    host_ops: tuple = ()               # what torch computes on the host to make this layer's input
    after_accelerator: bool = False    # ... from accelerator outputs (the host moves that data)
    torch_check: dict = field(default_factory=dict)   # {"baseline"|"pruned": golden vs torch on torch's input}
    consumers: tuple = ()              # accelerated layers that take this layer's output unchanged
    output_to_host: bool = True        # the host (or the model's output) reads it too
    aligned: bool = False              # partitioned with its input_from's row groups as its column groups

    @property
    def partitioned(self) -> bool:
        return self.row_groups is not None

    def blocks(self):
        """[(scatter rows, gather cols, dense block, block bias)] per partition."""
        out = []
        for p in range(int(self.row_groups.max()) + 1):
            rows = np.nonzero(self.row_groups == p)[0]
            cols = np.nonzero(self.col_groups == p)[0]
            bias = None if self.b_pruned is None else self.b_pruned[rows]
            out.append((rows, cols, np.ascontiguousarray(self.W_pruned[np.ix_(rows, cols)]), bias))
        return out


@dataclass
class PreparedModel:
    model: str
    partitions: int
    layers: list                       # FCLayer per accelerated Linear, in call order
    labels: np.ndarray
    torch_pred_base: np.ndarray        # torch's own forward pass
    torch_pred_pruned: np.ndarray
    golden_pred_base: np.ndarray       # the hardware's network (= the hardware's when every layer is bit-exact)
    golden_pred_pruned: np.ndarray
    logits_max_abs_diff: dict          # {"baseline"|"pruned": max |hardware network - torch| over the logits}
    accuracy: dict = field(default_factory=dict)
    synthetic: bool = False            # SCALE=paper: initialised weights, synthetic inputs, no labels
    data: str = "mnist"
    graph: str = ""                    # how the layers' surroundings were found (torch.fx, or why not)
    host_linears: tuple = ()           # Linear modules torch calls functionally: they run on the host

    @property
    def batch_vectors(self) -> int:
        return max(layer.x_base.shape[1] for layer in self.layers)


def _source_hash() -> str:
    """The code that turns a model into a PreparedModel, and torch's version: a cached
    one from other code or another torch is not reused."""
    import torch
    from sw import graph, partition, prune, train
    from . import trace as flow_trace
    from sim.golden import gemm
    from sim.core.runner import source_hash
    return source_hash(Path(__file__), *(Path(m.__file__) for m in (graph, partition, prune, train, flow_trace,
                                                                     gemm))) + torch.__version__


def _cached(path: Path, hit_message: str, progress, make) -> PreparedModel:
    """The PreparedModel pickled at ``path``, or ``make()``'s, stored there atomically."""
    if path.exists():
        try:
            prepared = pickle.loads(path.read_bytes())
            if isinstance(prepared, PreparedModel):
                progress(hit_message)
                return prepared
        except Exception:                  # unreadable or from other code: rebuilt, never trusted
            pass
        progress(f"model cache {path.name} is unreadable; rebuilding it")
    prepared = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(pickle.dumps(prepared))
    tmp.replace(path)
    return prepared


def _data_fingerprint(spec: str) -> list:
    """What identifies a data set: its name, or a file's contents, or a folder's listing."""
    path = Path(spec)
    if path.is_file():
        return [spec, hashlib.sha256(path.read_bytes()).hexdigest()[:16]]
    if path.is_dir():
        listing = sorted((str(p.relative_to(path)), p.stat().st_size) for p in path.rglob("*") if p.is_file())
        return [spec, hashlib.sha256(json.dumps(listing).encode()).hexdigest()[:16]]
    return [spec]


def prepare(model_spec: str, partitions: int, batch: int, seed: int = 0, progress=print,
            data: str = "mnist") -> PreparedModel:
    from sw import train
    from sw.cli import load_model_factory
    from sw.errors import PruningError

    try:
        name, factory, fingerprint = load_model_factory(model_spec)
    except PruningError as exc:
        raise FlowError(str(exc)) from None
    key = hashlib.sha256(json.dumps([name, fingerprint, partitions, batch, seed, FINETUNE_EPOCHS,
                                     train.CACHE_VERSION, _data_fingerprint(data),
                                     _source_hash()]).encode()).hexdigest()[:16]
    stem = Path(name.split(":")[0]).stem if factory is not None else name
    cache = BUILD_ROOT / "flow" / f"{stem}-P{partitions}-{key}.pkl"
    return _cached(cache, f"model: {name} on {data}, P={partitions} from cache {cache.name}", progress,
                   lambda: _with_torch_threads(TRAIN_THREADS, _train_and_extract, model_spec, name, factory,
                                               fingerprint, partitions, batch, seed, data, progress))


def _with_torch_threads(threads: int, fn, *args):
    """``fn(*args)`` with torch on ``threads`` threads: float sums depend on the thread
    count, so a model trains the same in ``make sim``, a sweep worker or a Ray task."""
    import torch
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        return fn(*args)
    finally:
        torch.set_num_threads(before)


def _first_input_layer(model) -> str:
    """What the model's first Linear or Conv layer expects, for error messages."""
    import torch.nn as nn
    for lname, m in model.named_modules():
        if isinstance(m, nn.Linear):
            return f"its first layer {lname} takes {m.in_features} features"
        if isinstance(m, nn.modules.conv._ConvNd):
            return f"its first layer {lname} takes {m.in_channels} channels"
    return "it has no Linear or Conv layer"


def check_fits_data(model, ds, model_spec: str):
    """Run two training inputs through the untrained model: a model that does not fit
    the data fails here, in one line, not after training."""
    import torch
    from sw import data as sw_data
    if not isinstance(model, torch.nn.Module):
        raise FlowError(f"model {model_spec} is a {type(model).__name__}, not a torch.nn.Module")
    shape = tuple(ds.input_shape)
    try:
        with torch.no_grad():
            out = model.eval()(sw_data.as_float(ds.x_train[:2]))
    except Exception as exc:
        first = (str(exc).strip().splitlines() or [""])[0]
        raise FlowError(f"model {model_spec} does not fit the data: {ds.name} inputs are {shape} and "
                        f"{_first_input_layer(model)} ({type(exc).__name__}: {first})") from None
    if isinstance(out, (tuple, list)):
        out = out[0]
    if not isinstance(out, torch.Tensor) or out.dim() != 2 or out.shape[1] != ds.num_classes:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise FlowError(f"model {model_spec} returns {got} for a batch of 2, but {ds.name} needs "
                        f"(2, {ds.num_classes}): one logit per class")
    model.train()


def call_factory(factory, ds):
    """``factory()``, given the data's ``input_shape`` and ``num_classes`` when it takes them."""
    import inspect
    try:
        takes = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        takes = {}
    given = {"input_shape": tuple(ds.input_shape), "num_classes": ds.num_classes}
    return factory(**{k: v for k, v in given.items() if k in takes})


def _train_and_extract(model_spec, name, factory, fingerprint, partitions, batch, seed, data,
                       progress) -> PreparedModel:
    from torch import nn
    from sw import data as sw_data, export, train
    from sw.errors import PruningError
    from sw.prune import prunable_layers

    try:
        ds = sw_data.load(data, seed)
    except PruningError as exc:
        raise FlowError(str(exc)) from None
    cfg = train.TrainConfig(seed=seed)
    build = (lambda: call_factory(factory, ds)) if factory is not None else None
    try:
        from sw import models
        try:
            probe = build() if build else models.build(name, ds.input_shape, ds.num_classes)
        except PruningError:
            raise
        except Exception as exc:
            raise FlowError(f"cannot build model {model_spec}: {type(exc).__name__}: {exc}") from None
        if isinstance(probe, nn.Module):
            prunable = prunable_layers(probe)                 # no Linear layer: one line, first
        check_fits_data(probe, ds, model_spec)                # before any training: fail fast
        for lname, layer in prunable:
            if partitions > min(layer.in_features, layer.out_features):
                raise FlowError(f"PARTITIONS={partitions} is larger than layer {lname} allows "
                                f"({layer.out_features}x{layer.in_features})")
        progress(f"model: training or loading {name} on {ds.name} ({len(ds.y_train)} images)")
        trained = train.baseline(name, ds, cfg, train.build_dir(), model_factory=build, fingerprint=fingerprint)
        progress(f"model: partition pruning into P={partitions} and fine-tuning ({FINETUNE_EPOCHS} epochs)")
        align = alignment(trained, sw_data.as_float(ds.x_test[:2]), [n for n, _ in prunable])
        outcome = train.prune_and_finetune(trained, ds, "partition",
                                           train.TrainConfig(epochs=FINETUNE_EPOCHS, seed=seed),
                                           partitions=partitions, seed=seed, align=align)
        plans = {p.name: (p.row_groups, p.col_groups) for p in export.layer_plans(outcome.model, baseline=trained)}
    except PruningError as exc:
        raise FlowError(str(exc)) from None
    labels = ds.y_test[:batch]
    return extract(name, trained, outcome.model, sw_data.as_float(ds.x_test[:batch]),
                   labels.numpy() if hasattr(labels, "numpy") else np.asarray(labels), plans,
                   partitions=partitions, data=ds.name, progress=progress,
                   accuracy={"baseline": outcome.baseline, "pruned": outcome.pruned,
                             "retrained": outcome.finetuned, "test_images": int(len(ds.y_test))})


def alignment(model, example, prunable) -> dict:
    """{layer: the layer whose output is its input, unchanged}, for partition-pruned pairs:
    their partitions are aligned, so block p's outputs are block p's inputs and nothing
    moves between accelerators.  Empty when the graph cannot be traced."""
    from sw.graph import GraphError, linear_sites
    try:
        sites = linear_sites(model, example)
    except GraphError:
        return {}
    pruned = set(prunable)
    return {s.name: s.input_from for s in sites if s.name in pruned and s.input_from in pruned}


def _sites(model, example, progress):
    """The LinearSites of ``model`` from torch.fx, or, when it cannot be traced, every
    Linear that the forward pass calls, with no ReLU fused and every input from the host."""
    from sw.graph import GraphError, analyse
    try:
        gm, sites = analyse(model, example)
        return gm, sites, "torch.fx: ReLUs that only consume a Linear's output are fused"
    except GraphError as exc:
        if "called" in str(exc):
            raise FlowError(str(exc)) from None
        reason = str(exc)
    progress(f"model: {reason}; running every activation on the host")
    return None, None, reason


def extract(name, base_model, pruned_model, x, labels, plans: dict, *, partitions, data, progress,
            accuracy, synthetic=False) -> PreparedModel:
    """What the hardware runs for both models, from their torch forward passes on ``x``."""
    import torch.nn as nn
    from . import trace as flow_trace
    from sw.graph import GraphError, LinearSite, trace
    gm, sites, graph = _sites(base_model, x, progress)
    if sites is None:                      # untraceable: the call order from hooks, all inputs from the host
        try:
            calls = flow_trace.call_order(base_model, x)
        except GraphError as exc:
            raise FlowError(str(exc)) from None
        sites = [LinearSite(n, after_accelerator=k > 0) for k, n in enumerate(calls)]
    if not sites:
        raise FlowError("the model's forward pass calls no nn.Linear module to run on the accelerators")
    names = [s.name for s in sites]
    fused = {s.name: s.fused is not None for s in sites}
    runs = {}
    for tag, model in (("baseline", base_model), ("pruned", pruned_model)):
        fused_nodes = {s.fused_node: s.name for s in sites if s.fused_node}
        if fused_nodes:                    # the pruned model's own graph (same code, its own modules)
            fused_nodes[None] = gm if model is base_model else trace(model)
        logits, truth = flow_trace.torch_forward(model, x, names, fused_nodes)
        golden_logits, golden = flow_trace.golden_forward(model, x, names, fused)
        runs[tag] = (logits, truth, golden_logits, golden, dict(model.named_modules()))
    layers = []
    for site in sites:
        weights, checks = {}, {}
        for tag, (_, truth, _, _, modules) in runs.items():
            m = modules[site.name]
            W = m.weight.detach().float().numpy().copy()
            b = None if m.bias is None else m.bias.detach().float().numpy().copy()
            weights[tag] = (W, b)
            checks[tag] = flow_trace.check_layer(W, b, truth[site.name], fused[site.name])
        groups = plans.get(site.name, (None, None))
        layers.append(FCLayer(
            name=site.name, relu=fused[site.name], W_base=weights["baseline"][0], b_base=weights["baseline"][1],
            W_pruned=weights["pruned"][0], b_pruned=weights["pruned"][1],
            x_base=runs["baseline"][3][site.name].x, x_pruned=runs["pruned"][3][site.name].x,
            row_groups=groups[0], col_groups=groups[1], fused=site.fused, input_from=site.input_from,
            host_ops=tuple(site.host_ops), after_accelerator=site.after_accelerator, torch_check=checks,
            consumers=tuple(site.consumers), output_to_host=site.output_to_host))
    by_name = {layer.name: layer for layer in layers}
    for layer in layers:                   # block p's inputs are exactly its source's block p outputs
        source = by_name.get(layer.input_from)
        layer.aligned = bool(layer.partitioned and source is not None and source.partitioned
                             and np.array_equal(layer.col_groups, source.row_groups))
    called = set(names)
    host_linears = tuple(n for n, m in base_model.named_modules() if isinstance(m, nn.Linear) and n not in called)
    pred = {tag: (np.argmax(r[0], axis=-1), np.argmax(r[2], axis=-1)) for tag, r in runs.items()}
    return PreparedModel(
        model=name, partitions=partitions, layers=layers, labels=labels,
        torch_pred_base=pred["baseline"][0], torch_pred_pruned=pred["pruned"][0],
        golden_pred_base=pred["baseline"][1], golden_pred_pruned=pred["pruned"][1],
        logits_max_abs_diff={tag: float(np.max(np.abs(r[0].astype(np.float64) - r[2]))) for tag, r in runs.items()},
        accuracy=accuracy, synthetic=synthetic, data=data, graph=graph, host_linears=host_linears)


def prepare_paper(partitions: int, batch: int, seed: int = 0, dims=PAPER_FC_DIMS,
                  progress=print) -> PreparedModel:
    """``SCALE=paper``: an FC chain of TinyVGG16's dimensions (``dims``).

    TinyImageNet is not available offline and training VGG16 on two cores is
    out of reach, so the layers keep PyTorch's initialisation and the batch
    is synthetic post-ReLU features (half zeros, as after the conv stack's
    ReLU).  Cycles and energy depend on the shapes, not on what was learned;
    the accuracy figures become agreement: hardware predictions against
    torch's, and the pruned model's against the unpruned one's.  Every layer
    but the classifier is partition-pruned (no fine-tuning: no data).
    """
    dims = tuple(int(d) for d in dims)
    if len(dims) < 2 or min(dims) < 1:
        raise FlowError(f"--fc-dims needs two or more positive widths, got {','.join(map(str, dims))}")
    for k, (n_in, n_out) in enumerate(zip(dims[:-2], dims[1:-1])):
        if partitions > min(n_in, n_out):
            raise FlowError(f"PARTITIONS={partitions} is larger than layer fc{k + 1} allows ({n_out}x{n_in})")
    key = hashlib.sha256(json.dumps(["paper", dims, partitions, batch, seed, _source_hash()]).encode()).hexdigest()[:16]
    cache = BUILD_ROOT / "flow" / f"paper-fc-P{partitions}-{key}.pkl"
    return _cached(cache, f"model: FC layers {'-'.join(map(str, dims))} (SCALE=paper), P={partitions} from cache",
                   progress, lambda: _initialise_paper_chain(dims, partitions, batch, seed, progress))


def _initialise_paper_chain(dims, partitions, batch, seed, progress) -> PreparedModel:
    import copy

    import torch
    import torch.nn as nn
    from sw.errors import PruningError
    from sw.partition import partition_prune

    progress(f"model: FC layers {'-'.join(map(str, dims))} (SCALE=paper: TinyVGG16's FC shapes, "
             f"PyTorch initialisation, synthetic inputs); partition pruning into P={partitions}")
    torch.manual_seed(seed)
    modules = []
    for k, (n_in, n_out) in enumerate(zip(dims, dims[1:])):
        modules += [nn.Linear(n_in, n_out)] + ([nn.ReLU()] if k < len(dims) - 2 else [])
    base = nn.Sequential(*modules)
    pruned = copy.deepcopy(base)
    linears = [(n, m) for n, m in pruned.named_modules() if isinstance(m, nn.Linear)]
    plans, previous = {}, None
    for name, lin in linears[:-1]:                   # the classifier stays dense; each block feeds its next
        try:
            plan = partition_prune(lin.weight.detach().numpy(), partitions, seed=seed,
                                   col_groups=None if previous is None else previous.row_groups)
        except PruningError as exc:
            raise FlowError(str(exc)) from None
        with torch.no_grad():
            lin.weight.copy_(torch.where(torch.from_numpy(plan.mask), lin.weight, 0.0))
        plans[name] = (plan.row_groups, plan.col_groups)
        previous = plan
    x = torch.relu(torch.randn(batch, dims[0], generator=torch.Generator().manual_seed(seed + 1)))
    with torch.no_grad():
        agreement = base.eval()(x).argmax(1).eq(pruned.eval()(x).argmax(1)).float().mean().item()
    prepared = extract("tinyvgg16-fc", base, pruned, x, None, plans, partitions=partitions, data="synthetic",
                       progress=progress, synthetic=True,
                       accuracy={"pruned_agrees_with_unpruned": 100.0 * agreement})
    prepared.labels = prepared.torch_pred_base
    return prepared
