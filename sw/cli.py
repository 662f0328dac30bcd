"""Command line: ``python -m sw {prune,partition,bench,bench-sparse} ...``.

    python -m sw prune --model lenet300 --data mnist --method partition --partitions 3 \\
        --export build/plans/lenet300-P3
    python -m sw prune --model lenet300 --method magnitude --density 0.33
    python -m sw partition weight.npy --partitions 3 -o plan.npz
    python -m sw bench
    python -m sw bench-sparse [--device cpu|cuda] [--json raw.json]

Bad input (P < 1, P larger than a layer, a weight that is not 2-D or not finite, a
model without Linear layers, missing or malformed data, an output path that cannot be
written) prints one line ``error: ...`` on stderr and exits with status 2, before
anything is trained or written.  Missing directories of an output (--json, --out, -o,
--export) are created when the run writes it, inside an existing writable directory.
Each output is written to a temporary file first and renamed, so an interrupted run
leaves no half-written file.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import importlib.util
import json
import os
import sys
import tempfile
from pathlib import Path

from .errors import PruningError

PRUNE_METHODS = ("partition", "magnitude", "global-magnitude", "group-rms", "simd", "node")


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m sw", description="Partition Pruning and related pruning methods "
                                 "for the FC layers of PyTorch models.")
    sub = ap.add_subparsers(dest="command", required=True)

    p = sub.add_parser("prune", help="train (cached), prune the FC layers but the classifier, fine-tune, report",
                       description="Train a baseline (cached under BUILD/checkpoints), prune every nn.Linear "
                       "except the classifier, fine-tune with the masks held and print top-1/top-5 accuracy.")
    p.add_argument("--model", default="lenet300",
                   help="lenet300, lenet5, mlp8, tinyvgg16, tinyalexnet, or FILE.py:FACTORY / MODULE:FACTORY "
                   "(a function with no arguments returning an nn.Module)")
    p.add_argument("--data", default="mnist", help="mnist, digits, tinyimagenet, a .npz file or an image folder")
    p.add_argument("--method", choices=PRUNE_METHODS, default="partition")
    p.add_argument("--partitions", "-P", type=int, help="number of partitions P (partition method); "
                   "other methods default to density 1/P")
    p.add_argument("--density", type=float, help="kept share of weights (methods other than partition)")
    p.add_argument("--optimizer", default="default", choices=("default", "greedy", "spectral", "random"),
                   help="partition optimiser (default: multi-start alternating assignment)")
    p.add_argument("--group-size", type=int, default=8, help="group-rms: adjacent weights per group")
    p.add_argument("--simd-width", type=int, default=4, help="simd: SIMD width in weights")
    p.add_argument("--iterative-steps", type=int, default=1, help="prune/retrain rounds (density methods)")
    p.add_argument("--epochs", type=int, default=30, help="baseline training epochs")
    p.add_argument("--finetune-epochs", type=int, default=20)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--finetune-lr", type=float, default=0.05)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--build", default=None, help="build directory for the checkpoint cache (default build/)")
    p.add_argument("--no-cache", action="store_true", help="always train the baseline")
    p.add_argument("--export", metavar="DIR", help="write plan.json + plan.npz (partition method)")
    p.add_argument("--json", metavar="FILE", help="write the results as JSON")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")

    q = sub.add_parser("partition", help="partition one weight matrix from a .npy/.npz file",
                       description="Partition a weight matrix (out x in) stored in a .npy file (or the first "
                       "array of a .npz) and print the kept share of sum |W|.")
    q.add_argument("weight", help=".npy file, or .npz (first array, or --key)")
    q.add_argument("--key", help="array name inside a .npz file")
    q.add_argument("--partitions", "-P", type=int, required=True)
    q.add_argument("--optimizer", default="default", choices=("default", "greedy", "spectral", "random"))
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("-o", "--output", help="write row_groups, col_groups and mask to this .npz")

    b = sub.add_parser("bench", help="measure quality, speed and accuracy; print Markdown for BENCHMARKS.md")
    b.add_argument("--out", help="also write the Markdown to this file")
    b.add_argument("--quick", action="store_true", help="small settings, for a smoke run")

    s = sub.add_parser("bench-sparse", help="time dense vs CSR/BSR vs block-diagonal matmul of a pruned layer",
                       description="Time W (m x k) @ X (k x n) dense against torch CSR (and BSR where torch "
                       "supports the block) for magnitude and group-RMS pruning, and against the block-diagonal "
                       "batched GEMM of partition pruning, at matched densities (Hartenstein et al.'s benchmark). Prints "
                       "Markdown with speedups over dense and writes a plot under build/bench/.")
    s.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    s.add_argument("--m", type=int, default=None, help="output features, rows of W (default 4096; 1024 with --quick)")
    s.add_argument("--k", type=int, default=None, help="input features, columns of W (default 4096; 1024 with --quick)")
    s.add_argument("--n", type=int, default=50, help="batch: columns of X (default 50)")
    s.add_argument("--rates", default="80,84,90,95,98", help="pruning rates in percent for magnitude and group-RMS "
                   "(the partition rates 1 - 1/P are added)")
    s.add_argument("--group-sizes", default="1,2,4,8,16,32,64", help="group-RMS group sizes (1 = magnitude)")
    s.add_argument("--partitions", "-P", default=None, help="partition counts (default 2,3,4,5,10,20,50; "
                   "2,3,4,5,10 with --quick)")
    s.add_argument("--optimizer", default="default", choices=("default", "greedy", "spectral", "random"),
                   help="partition optimiser (changes which links stay, not the speed)")
    s.add_argument("--warmup", type=int, default=None, help="warm-up calls per form (default 2; 1 with --quick)")
    s.add_argument("--repeats", type=int, default=None, help="timed samples per form (default 10; 3 with --quick)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    s.add_argument("--quick", action="store_true", help="smaller matrix and fewer samples, for a smoke run")
    s.add_argument("--out", help="also write the Markdown to this file")
    s.add_argument("--json", metavar="FILE", help="write the raw numbers as JSON")
    s.add_argument("--plot", metavar="PNG", help="plot file (default build/bench/sparse_speedup_<device>.png)")
    s.add_argument("--from-json", metavar="FILE", help="measure nothing: render the Markdown and plot from the "
                   "--json file of an earlier run (e.g. one made on a GPU machine)")
    return ap


def load_model_factory(spec: str):
    """(name, factory, fingerprint) for a built-in name or FILE.py:FACTORY / MODULE:FACTORY."""
    from . import models

    if spec in models.MODELS:
        return spec, None, ""
    if ":" not in spec:
        raise PruningError(f"unknown model {spec!r}; use one of {', '.join(models.MODELS)} or FILE.py:FACTORY")
    target, func = spec.rsplit(":", 1)
    if target.endswith(".py"):
        path = Path(target)
        if not path.is_file():
            raise PruningError(f"model file not found: {path}")
        module_spec = importlib.util.spec_from_file_location(f"sw_user_model_{path.stem}", path)
        module = importlib.util.module_from_spec(module_spec)
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            raise PruningError(f"cannot load model file {path}: {type(exc).__name__}: {exc}") from None
        fingerprint = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    else:
        try:
            module = importlib.import_module(target)
        except ImportError as exc:
            raise PruningError(f"cannot import model module {target!r}: {exc}") from None
        fingerprint = getattr(module, "__version__", "")
    factory = getattr(module, func, None)
    if not callable(factory):
        raise PruningError(f"{target} has no callable {func!r}")
    return spec, factory, fingerprint


def _check_output_file(path, option: str) -> None:
    """Fail now, before any work, if ``path`` cannot be written later (its missing
    directories are created then, inside a writable one)."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise PruningError(f"{option} {path}: is a directory, not a file")
    if path.exists() and not os.access(path, os.W_OK):
        raise PruningError(f"{option} {path}: not writable")
    _check_output_dir(path.parent, option)


def _check_output_dir(path, option: str) -> None:
    """An output directory must be, or be creatable inside, a writable directory."""
    if path is None:
        return
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise PruningError(f"{option} {path}: exists and is not a directory")
    existing = path
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise PruningError(f"{option} {path}: cannot create or write it ({existing} is not a writable directory)")


def _check_threads(threads) -> None:
    if threads is not None and threads < 1:
        raise PruningError(f"--threads must be at least 1, got {threads}")


def write_atomic(path, data) -> None:
    """Write ``data`` (str, bytes, or a callable taking a binary file) to ``path`` via
    a temporary file in the same directory and a rename: whole or not at all."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _format_table(rows: list[dict]) -> str:
    head = "| method | setting | density | top-1 baseline | top-1 pruned | top-1 fine-tuned | top-5 baseline | top-5 fine-tuned |"
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['setting']} | {r['density']:.3f} | {r['baseline_top1']:.2f} | "
                     f"{r['pruned_top1']:.2f} | {r['finetuned_top1']:.2f} | {r['baseline_top5']:.2f} | "
                     f"{r['finetuned_top5']:.2f} |")
    return "\n".join(lines)


def _cmd_prune(args) -> int:
    import torch

    from . import data as sw_data
    from . import export, models, train
    from . import prune as sw_prune

    _check_threads(args.threads)
    _check_output_file(args.json, "--json")
    _check_output_dir(args.export, "--export")
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.method == "partition":
        if args.partitions is None:
            raise PruningError("--method partition needs --partitions P")
        density = None
    else:
        density = args.density if args.density is not None else (
            1.0 / args.partitions if args.partitions else None)
        if density is None:
            raise PruningError(f"--method {args.method} needs --density (or --partitions for density 1/P)")
        if args.partitions is not None and args.partitions < 1:
            raise PruningError(f"partitions must be at least 1, got {args.partitions}")
    if args.export and args.method != "partition":
        raise PruningError("--export writes partition plans; it needs --method partition")
    name, factory, fingerprint = load_model_factory(args.model)
    ds = sw_data.load(args.data, seed=0)
    options = {}
    if args.method == "group-rms":
        options["group_size"] = args.group_size
    elif args.method == "simd":
        options["width"] = args.simd_width
    elif args.method == "partition":
        options["optimizer"] = args.optimizer

    def build():
        if factory is None:
            return models.build(name, ds.input_shape, ds.num_classes)
        try:
            model = factory()
        except Exception as exc:
            raise PruningError(f"{args.model} failed: {type(exc).__name__}: {exc}") from None
        if not isinstance(model, torch.nn.Module):
            raise PruningError(f"{args.model} returned {type(model).__name__}, not an nn.Module")
        return model

    if args.iterative_steps > 1 and args.method == "partition":
        raise PruningError("--iterative-steps needs a density method, not partition")
    # validate the whole request on an untrained model before training anything
    sw_prune.check_model(build(), args.method, density=density, partitions=args.partitions)
    cfg = train.TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    ft = train.TrainConfig(epochs=args.finetune_epochs, batch_size=args.batch_size, lr=args.finetune_lr,
                           seed=args.seed + 1)
    cache = None if args.no_cache else Path(args.build) if args.build else train.build_dir()
    if cache is not None:
        _check_output_dir(cache, "--build")
    print(ds.describe(), file=sys.stderr)
    trained = train.baseline(name, ds, cfg, cache, model_factory=build if factory else None,
                             fingerprint=fingerprint, verbose=True)
    # weights of a checkpoint can still be bad (NaN after divergence): check before pruning
    sw_prune.check_model(trained, args.method, density=density, partitions=args.partitions)
    outcome = train.prune_and_finetune(trained, ds, args.method, ft, density=density,
                                       partitions=args.partitions, seed=args.seed,
                                       iterative_steps=args.iterative_steps, **options)
    print(_format_table([outcome.row()]))
    for layer, info in outcome.layers.items():
        extra = f", kept {100 * info['retained']:.1f}% of sum |W|" if "retained" in info else ""
        print(f"  {layer}: {info['shape'][0]}x{info['shape'][1]}, density {info['density']:.3f}{extra}")
    if args.export:
        plans = export.layer_plans(outcome.model, inputs=sw_data.as_float(ds.x_test[:16]), baseline=trained)
        meta = {"model": args.model, "dataset": ds.name, "partitions": args.partitions, "seed": args.seed,
                "optimizer": args.optimizer,
                "accuracy": {"baseline": outcome.baseline, "pruned": outcome.pruned,
                             "retrained": outcome.finetuned}}
        path = export.write(args.export, plans, meta)
        print(f"plan written to {path}")
    if args.json:
        result = {"model": args.model, "data": ds.name, **outcome.row(), "layers": outcome.layers}
        write_atomic(args.json, json.dumps(result, indent=2) + "\n")
    return 0


def _load_matrix(path: str, key: str | None):
    import numpy as np

    p = Path(path)
    if not p.is_file():
        raise PruningError(f"weight file not found: {p}")
    try:
        obj = np.load(p, allow_pickle=False)
    except Exception as exc:
        raise PruningError(f"cannot read {p} as .npy/.npz: {exc}") from None
    if isinstance(obj, np.ndarray):
        return obj
    with obj:
        if not obj.files:
            raise PruningError(f"{p} holds no arrays")
        k = key or obj.files[0]
        if k not in obj.files:
            raise PruningError(f"{p} has no array {k!r}; it has {', '.join(obj.files)}")
        return obj[k]


def _cmd_partition(args) -> int:
    import time

    import numpy as np

    from .partition import partition_prune

    _check_output_file(args.output, "-o")
    W = _load_matrix(args.weight, args.key)
    t = time.perf_counter()
    plan = partition_prune(W, args.partitions, seed=args.seed, method=args.optimizer)
    dt = time.perf_counter() - t
    print(f"{W.shape[0]}x{W.shape[1]} P={plan.partitions} ({args.optimizer}): kept {100 * plan.retained:.2f}% "
          f"of sum |W| at density {plan.density:.4f} in {dt:.2f} s")
    if args.output:
        write_atomic(args.output, lambda f: np.savez(f, row_groups=plan.row_groups, col_groups=plan.col_groups,
                                                     mask=plan.mask))
        print(f"groups written to {args.output}")
    return 0


def _cmd_bench(args) -> int:
    from . import bench

    _check_output_file(args.out, "--out")
    text = bench.run(quick=args.quick)
    print(text)
    if args.out:
        write_atomic(args.out, text + "\n")
    return 0


def _int_list(text: str, what: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise PruningError(f"{what} must be a comma-separated list of integers, got {text!r}") from None


def _cmd_bench_sparse(args) -> int:
    from . import sparse_bench

    _check_threads(args.threads)
    _check_output_file(args.out, "--out")
    _check_output_file(args.json, "--json")
    if args.plot:
        _check_output_dir(Path(args.plot).parent, "--plot")
    try:
        rates = tuple(float(v) for v in args.rates.split(",") if v.strip())
    except ValueError:
        raise PruningError(f"--rates must be a comma-separated list of percentages, got {args.rates!r}") from None
    settings = dict(device=args.device, n=args.n, rates=rates, seed=args.seed, optimizer=args.optimizer,
                    threads=args.threads, group_sizes=_int_list(args.group_sizes, "--group-sizes"))
    for name in ("m", "k", "warmup", "repeats"):
        if getattr(args, name) is not None:
            settings[name] = getattr(args, name)
    if args.partitions is not None:
        settings["partitions"] = _int_list(args.partitions, "--partitions")
    if args.from_json:
        res = sparse_bench.load_results(args.from_json)
    else:
        cfg = sparse_bench.quick_config(**settings) if args.quick else sparse_bench.SparseBenchConfig(**settings)
        sparse_bench.resolve_device(cfg.device)  # fail before measuring anything
        res = sparse_bench.measure(cfg)
    text = sparse_bench.run(plot_path=args.plot, results=res)
    print(text)
    if args.out:
        write_atomic(args.out, text + "\n")
    if args.json and not args.from_json:
        write_atomic(args.json, json.dumps(res, indent=2) + "\n")
    bad = [r for r in res["results"] if not r["ok"]]
    if bad:
        print(f"error: {len(bad)} form(s) differ from the dense masked product, e.g. {bad[0]['label']} at "
              f"{bad[0]['rate_label']} %", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return {"prune": _cmd_prune, "partition": _cmd_partition, "bench": _cmd_bench,
                "bench-sparse": _cmd_bench_sparse}[args.command](args)
    except PruningError as exc:
        message = " ".join(str(exc).split())
        print(f"error: {message}", file=sys.stderr)
        return 2
    except OSError as exc:            # e.g. the disk filled up while writing: not the input's fault
        print(f"error: {exc}", file=sys.stderr)
        return 1
