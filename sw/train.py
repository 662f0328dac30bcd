"""Train, prune, fine-tune with the masks held, evaluate top-1 / top-5.

The flow is the paper's (Partition Pruning, Shahhosseini et al., sec. 5): train a baseline, prune all FC layers but
the classifier, measure, retrain with the pruning masks in place, measure again.
Masks are held by torch's pruning hooks: the forward pass uses weight_orig * mask, so
pruned weights get zero gradient and stay zero.

Baselines are cached under <build>/checkpoints/<hash>.pt, the hash covering the model,
the data set, the hyperparameters, the seed, a format version, the torch version and
the source of the code that trains (models, data, train), so a second run with the same
settings trains nothing and a change to any of them trains again.  A checkpoint that
cannot be loaded into the model is retrained, with a one-line notice.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from . import models
from . import prune as sw_prune
from .data import Dataset, as_float
from .progress import bar as progress_bar

CACHE_VERSION = 2
_TRAINING_CODE = ("models.py", "data.py", "train.py")


def _code_digest() -> str:
    """Hash of the sources that decide a trained baseline (part of its cache key)."""
    h = hashlib.sha256()
    for name in _TRAINING_CODE:
        h.update(name.encode() + b"\0" + (Path(__file__).resolve().parent / name).read_bytes())
    return h.hexdigest()[:16]


def build_dir() -> Path:
    """Where generated files go: $PP_BUILD_DIR or ./build."""
    return Path(os.environ.get("PP_BUILD_DIR", "build"))


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters of one training run (SGD with momentum, cosine learning rate)."""

    epochs: int = 30
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 1e-4
    seed: int = 0
    max_steps: int | None = None  # stop early after this many steps (smoke tests)

    def __post_init__(self):
        from .errors import PruningError

        if self.epochs < 0 or self.batch_size < 1 or not self.lr > 0:
            raise PruningError(f"bad training settings: epochs={self.epochs}, batch={self.batch_size}, lr={self.lr}")


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)


def fit(model: nn.Module, data: Dataset, cfg: TrainConfig, desc: str = "train") -> list[float]:
    """Plain minibatch SGD on the training split; returns the mean loss per epoch."""
    gen = torch.Generator().manual_seed(cfg.seed)
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                          momentum=cfg.momentum, weight_decay=cfg.weight_decay)
    n = len(data.y_train)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    total = cfg.epochs * steps_per_epoch
    if cfg.max_steps is not None:
        total = min(total, cfg.max_steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total) / max(total, 1))))
    loss_fn = nn.CrossEntropyLoss()
    history: list[float] = []
    step = 0
    model.train()
    with progress_bar(total, desc, "step") as bar:
        while step < total:
            perm = torch.randperm(n, generator=gen)
            losses = []
            for k in range(0, n, cfg.batch_size):
                if step >= total:
                    break
                idx = perm[k:k + cfg.batch_size]
                loss = loss_fn(model(as_float(data.x_train[idx])), data.y_train[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                losses.append(loss.item())
                step += 1
                bar.update(1)
            history.append(sum(losses) / max(len(losses), 1))
            bar.set_postfix(loss=f"{history[-1]:.3f}")
    model.eval()
    return history


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 500) -> dict[str, float]:
    """Top-1 and top-5 accuracy in percent (top-k with k = min(5, classes))."""
    model.eval()
    top1 = top5 = 0
    for k in range(0, len(y), batch):
        logits = model(as_float(x[k:k + batch]))
        kk = min(5, logits.shape[1])
        best = logits.topk(kk, dim=1).indices
        target = y[k:k + batch, None]
        top1 += (best[:, :1] == target).sum().item()
        top5 += (best == target).any(dim=1).sum().item()
    n = max(len(y), 1)
    return {"top1": 100.0 * top1 / n, "top5": 100.0 * top5 / n}


def cache_key(model_name: str, data: Dataset, cfg: TrainConfig, model_kwargs: dict | None = None) -> str:
    spec = {"version": CACHE_VERSION, "torch": torch.__version__, "code": _code_digest(),
            "model": model_name, "model_kwargs": model_kwargs or {},
            "data": [data.name, len(data.y_train), len(data.y_test), list(data.input_shape), data.num_classes],
            "train": asdict(cfg)}
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:20]


def baseline(model_name: str, data: Dataset, cfg: TrainConfig, cache: Path | None = None,
             model_kwargs: dict | None = None, verbose: bool = False, model_factory=None,
             fingerprint: str = "") -> nn.Module:
    """A trained model, from the checkpoint cache when the same run was done before.

    model_factory: a callable returning the (untrained) nn.Module, for models that are
    not built in; `fingerprint` (e.g. a hash of its source) then goes into the cache key.
    """
    model_kwargs = dict(model_kwargs or {})
    seed_everything(cfg.seed)
    if model_factory is None:
        model = models.build(model_name, data.input_shape, data.num_classes, **model_kwargs)
    else:
        model = model_factory()
        model_kwargs["fingerprint"] = fingerprint
    path = None
    if cache is not None:
        path = Path(cache) / "checkpoints" / f"{cache_key(model_name, data, cfg, model_kwargs)}.pt"
        if path.is_file() and _load_checkpoint(model, path):
            model.eval()
            if verbose:
                print(f"baseline from cache {path}", file=sys.stderr)
            return model
    fit(model, data, cfg, desc=f"train {model_name}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")      # concurrent runs: no clash
        torch.save(model.state_dict(), tmp)
        tmp.replace(path)
    return model


def _load_checkpoint(model: nn.Module, path: Path) -> bool:
    """Load ``path`` into ``model``; False (after a one-line notice) when it cannot be
    read or does not fit, so the caller retrains instead of trusting it."""
    initial = copy.deepcopy(model.state_dict())
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state)
    except Exception as exc:
        model.load_state_dict(initial)       # a failed load may have copied some tensors
        reason = " ".join(str(exc).split())[:160]
        print(f"notice: checkpoint {path} is unreadable ({type(exc).__name__}: {reason}); training again",
              file=sys.stderr)
        return False
    return True


@dataclass
class Outcome:
    """Accuracies (percent) before pruning, right after it and after fine-tuning."""

    method: str
    setting: str
    baseline: dict
    pruned: dict
    finetuned: dict
    layers: dict = field(default_factory=dict)
    model: nn.Module | None = None

    def row(self) -> dict:
        return {"method": self.method, "setting": self.setting,
                "baseline_top1": self.baseline["top1"], "pruned_top1": self.pruned["top1"],
                "finetuned_top1": self.finetuned["top1"], "baseline_top5": self.baseline["top5"],
                "pruned_top5": self.pruned["top5"], "finetuned_top5": self.finetuned["top5"],
                "density": _density(self.layers)}


def _density(layers: dict) -> float:
    total = sum(math.prod(v["shape"]) for v in layers.values())
    return sum(v["density"] * math.prod(v["shape"]) for v in layers.values()) / max(total, 1)


def prune_and_finetune(trained: nn.Module, data: Dataset, method: str, finetune: TrainConfig, *,
                       density: float | None = None, partitions: int | None = None, seed: int = 0,
                       iterative_steps: int = 1, **options) -> Outcome:
    """Copy `trained`, prune its FC layers (not the classifier), fine-tune with the masks
    held and evaluate each stage. With iterative_steps > 1 the density is reached in
    that many prune / retrain rounds (the fine-tune budget is split between them)."""
    base_acc = evaluate(trained, data.x_test, data.y_test)
    model = copy.deepcopy(trained)
    if method == "partition":
        setting = f"P={partitions}"
    else:
        setting = f"density={density:.3f}" + (f", {iterative_steps} steps" if iterative_steps > 1 else "")
    if iterative_steps > 1:
        sw_prune.check_model(model, method, density=density)
        schedule = sw_prune.density_schedule(density, iterative_steps)
        step_cfg = TrainConfig(**{**asdict(finetune), "epochs": max(1, finetune.epochs // iterative_steps)})
        for k, d in enumerate(schedule):
            sw_prune.prune_model(model, method, density=d, seed=seed, **options)
            if k == len(schedule) - 1:
                pruned_acc = evaluate(model, data.x_test, data.y_test)
            fit(model, data, step_cfg, desc=f"retrain {method} {k + 1}/{iterative_steps}")
    else:
        sw_prune.prune_model(model, method, density=density, partitions=partitions, seed=seed, **options)
        pruned_acc = evaluate(model, data.x_test, data.y_test)
        fit(model, data, finetune, desc=f"fine-tune {method} {setting}")
    tuned_acc = evaluate(model, data.x_test, data.y_test)
    layers = {name: sw_prune.layer_summary(layer) for name, layer in sw_prune.prunable_layers(model)}
    return Outcome(method, setting, base_acc, pruned_acc, tuned_acc, layers, model)
