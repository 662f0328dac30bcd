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

from .runner import BUILD_ROOT

FINETUNE_EPOCHS = 20
# TinyVGG16's FC head (seeds/000: 512 x 3 x 3 features -> 4096 -> 4096 -> 200 classes)
PAPER_FC_DIMS = (4608, 4096, 4096, 200)


class FlowError(ValueError):
    """Bad flow input; reported as one line."""


@dataclass
class FCLayer:
    name: str
    relu: bool
    W_base: np.ndarray                 # M x K, unpruned (baseline model)
    b_base: np.ndarray | None
    W_pruned: np.ndarray               # M x K, masked (fine-tuned model)
    b_pruned: np.ndarray | None
    row_groups: np.ndarray | None = None   # None: dense (the classifier)
    col_groups: np.ndarray | None = None

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
    layers: list
    x_base: np.ndarray                 # K0 x N: first FC input of the baseline model
    x_pruned: np.ndarray               # K0 x N: first FC input of the pruned model
    labels: np.ndarray
    torch_pred_base: np.ndarray
    torch_pred_pruned: np.ndarray
    accuracy: dict = field(default_factory=dict)
    synthetic: bool = False            # SCALE=paper: initialised weights, synthetic inputs, no labels


def _fc_chain(model):
    import torch.nn as nn
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise FlowError("the model has no nn.Linear layer to run on the accelerators")
    for (n0, a), (n1, b) in zip(linears, linears[1:]):
        if a.out_features != b.in_features:
            raise FlowError(f"FC layers {n0} -> {n1} are not a chain ({a.out_features} outputs, "
                            f"{b.in_features} inputs)")
    return linears


def _cached(path: Path, hit_message: str, progress, make) -> PreparedModel:
    """The PreparedModel pickled at ``path``, or ``make()``'s, stored there atomically."""
    if path.exists():
        progress(hit_message)
        return pickle.loads(path.read_bytes())
    prepared = make()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_bytes(pickle.dumps(prepared))
    tmp.replace(path)
    return prepared


def prepare(model_spec: str, partitions: int, batch: int, seed: int = 0, progress=print) -> PreparedModel:
    from sw import train
    from sw.cli import load_model_factory
    from sw.errors import PruningError

    try:
        name, factory, fingerprint = load_model_factory(model_spec)
    except PruningError as exc:
        raise FlowError(str(exc)) from None
    key = hashlib.sha256(json.dumps([name, fingerprint, partitions, batch, seed, FINETUNE_EPOCHS,
                                     train.CACHE_VERSION]).encode()).hexdigest()[:16]
    cache = BUILD_ROOT / "flow" / f"{name}-P{partitions}-{key}.pkl"
    return _cached(cache, f"model: {name}, P={partitions} from cache {cache.name}", progress,
                   lambda: _train_and_extract(model_spec, name, factory, fingerprint, partitions, batch, seed,
                                              progress))


def _train_and_extract(model_spec, name, factory, fingerprint, partitions, batch, seed, progress) -> PreparedModel:
    import torch
    from sw import data as sw_data, export, train
    from sw.errors import PruningError
    from sw.prune import prunable_layers

    ds = sw_data.mnist(seed)
    cfg = train.TrainConfig(seed=seed)
    build = None
    if factory is not None:
        def build():
            return factory()
    try:
        from sw import models
        try:
            probe = build() if build else models.build(name, ds.input_shape, ds.num_classes)
        except PruningError:
            raise
        except Exception as exc:
            raise FlowError(f"cannot build model {model_spec}: {type(exc).__name__}: {exc}") from None
        _fc_chain(probe)                     # before any training: fail fast
        for lname, layer in prunable_layers(probe):
            if partitions > min(layer.in_features, layer.out_features):
                raise FlowError(f"PARTITIONS={partitions} is larger than layer {lname} allows "
                                f"({layer.out_features}x{layer.in_features})")
        progress(f"model: training or loading {name} on {ds.name} ({len(ds.y_train)} images)")
        trained = train.baseline(name, ds, cfg, train.build_dir(), model_factory=build, fingerprint=fingerprint)
        chain = _fc_chain(trained)
        prunable = prunable_layers(trained)
        progress(f"model: partition pruning into P={partitions} and fine-tuning ({FINETUNE_EPOCHS} epochs)")
        outcome = train.prune_and_finetune(trained, ds, "partition",
                                           train.TrainConfig(epochs=FINETUNE_EPOCHS, seed=seed),
                                           partitions=partitions, seed=seed)
    except PruningError as exc:
        raise FlowError(str(exc)) from None
    pruned = outcome.model
    plans = {p.name: p for p in export.layer_plans(pruned, baseline=trained)} if prunable else {}
    base_mods, pruned_mods = dict(trained.named_modules()), dict(pruned.named_modules())
    layers = []
    for lname, _ in chain:
        bl, pl = base_mods[lname], pruned_mods[lname]
        W_p = pl.weight.detach().float().numpy().copy()
        plan = plans.get(lname)
        layers.append(FCLayer(
            name=lname, relu=export._activation_after(trained, lname) == "relu",
            W_base=bl.weight.detach().float().numpy().copy(),
            b_base=None if bl.bias is None else bl.bias.detach().float().numpy().copy(),
            W_pruned=W_p, b_pruned=None if pl.bias is None else pl.bias.detach().float().numpy().copy(),
            row_groups=None if plan is None else plan.row_groups, col_groups=None if plan is None else plan.col_groups))
    x = sw_data.as_float(ds.x_test[:batch])
    first = chain[0][0]
    captured = {}

    def capture(model, tag):
        hook = dict(model.named_modules())[first].register_forward_hook(
            lambda mod, inp, out: captured.__setitem__(tag, inp[0].detach().float().numpy().copy()))
        with torch.no_grad():
            pred = model(x).argmax(dim=1).numpy()
        hook.remove()
        return pred

    pred_base = capture(trained.eval(), "base")
    pred_pruned = capture(pruned.eval(), "pruned")
    return PreparedModel(
        model=name, partitions=partitions, layers=layers,
        x_base=np.ascontiguousarray(captured["base"].reshape(len(x), -1).T),
        x_pruned=np.ascontiguousarray(captured["pruned"].reshape(len(x), -1).T),
        labels=ds.y_test[:batch].numpy() if hasattr(ds.y_test, "numpy") else np.asarray(ds.y_test[:batch]),
        torch_pred_base=pred_base, torch_pred_pruned=pred_pruned,
        accuracy={"baseline": outcome.baseline, "pruned": outcome.pruned, "retrained": outcome.finetuned,
                  "test_images": int(len(ds.y_test))})


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
    key = hashlib.sha256(json.dumps(["paper", dims, partitions, batch, seed]).encode()).hexdigest()[:16]
    cache = BUILD_ROOT / "flow" / f"paper-fc-P{partitions}-{key}.pkl"
    return _cached(cache, f"model: FC layers {'-'.join(map(str, dims))} (SCALE=paper), P={partitions} from cache",
                   progress, lambda: _initialise_paper_chain(dims, partitions, batch, seed, progress))


def _initialise_paper_chain(dims, partitions, batch, seed, progress) -> PreparedModel:
    import torch
    import torch.nn as nn
    from sw.errors import PruningError
    from sw.partition import partition_prune

    progress(f"model: FC layers {'-'.join(map(str, dims))} (SCALE=paper: TinyVGG16's FC shapes, "
             f"PyTorch initialisation, synthetic inputs); partition pruning into P={partitions}")
    torch.manual_seed(seed)
    linears = [nn.Linear(n_in, n_out) for n_in, n_out in zip(dims, dims[1:])]
    x = torch.relu(torch.randn(batch, dims[0], generator=torch.Generator().manual_seed(seed + 1)))
    layers = []
    for k, lin in enumerate(linears):
        W = lin.weight.detach().float().numpy().copy()
        b = lin.bias.detach().float().numpy().copy()
        last = k == len(linears) - 1
        plan = None
        if not last:
            try:
                plan = partition_prune(W, partitions, seed=seed)
            except PruningError as exc:
                raise FlowError(str(exc)) from None
        layers.append(FCLayer(
            name=f"fc{k + 1}", relu=not last, W_base=W, b_base=b,
            W_pruned=W if plan is None else np.where(plan.mask, W, np.float32(0)).astype(np.float32),
            b_pruned=b, row_groups=None if plan is None else plan.row_groups,
            col_groups=None if plan is None else plan.col_groups))

    def predict(pruned: bool):
        h = x
        for layer in layers:
            W = torch.from_numpy(layer.W_pruned if pruned else layer.W_base)
            h = h @ W.T + torch.from_numpy(layer.b_base)
            h = torch.relu(h) if layer.relu else h
        return h.argmax(dim=1).numpy()

    with torch.no_grad():
        pred_base, pred_pruned = predict(False), predict(True)
    X = np.ascontiguousarray(x.numpy().T)
    return PreparedModel(
        model="tinyvgg16-fc", partitions=partitions, layers=layers, x_base=X, x_pruned=X,
        labels=pred_base, torch_pred_base=pred_base, torch_pred_pruned=pred_pruned, synthetic=True,
        accuracy={"pruned_agrees_with_unpruned": float(100.0 * np.mean(pred_pruned == pred_base))})
