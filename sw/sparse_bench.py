"""Dense vs CSR vs block-diagonal matmul for one pruned layer, after Hartenstein et al.,
"Weight Pruning for Deep Neural Networks on GPUs".

    python -m sw bench-sparse [--device cpu|cuda] [--m 4096 --k 4096 --n 50] \\
        [--out build/sparse_bench.md] [--json raw.json] [--quick]

Hartenstein et al. timed a 4096 x 4096 weight times a 4096 x 50 batch on a
GTX 950M: dense (cuBLAS) against CSR (cuSPARSE) for group-RMS pruning at rates 80-98 %
and group sizes 1-64. This module times the same product on the machine at hand, with
torch, for three ways of pruning the weight at matched densities:

* magnitude (group size 1) and group-RMS (g = 2..64) masks from `sw.prune`, run as
  torch CSR, and as BSR with (1, g) blocks where torch supports that block shape
  (torch's CPU BSR goes through MKL, which takes square blocks only);
* partition pruning (`sw.partition.partition_prune`) at P = 2..5, 10, 20, 50, run as
  CSR of its mask and as the block-diagonal form: gather each block's inputs, one
  `torch.bmm` over the P blocks zero-padded to the largest (balanced groups differ by
  at most one row or column), scatter the outputs back; also as a loop of P `mm`, and,
  for reference only, the bmm on inputs that are already in block order (what is left
  when the permutations are folded into the neighbouring layers).

The baseline is the dense product with the unpruned weight. Every form is timed with
its gather/scatter but without format conversion (CSR/BSR/blocks are built once, as a
deployed model would store them; Hartenstein et al. also timed the kernel only). Timing: warm-up
calls, then `repeats` samples taken round-robin over all forms of one density (so a
change of machine load hits them alike), each sample the mean of enough back-to-back
calls to last `min_sample_s`; the device is synchronised before and after each sample
on CUDA. The figure is the median sample; speedup = dense median / form median, both
from the same round-robin.

Correctness: every form's output is compared with the float64 masked dense product
(W * mask) @ X with `allclose(rtol=1e-4, atol=1e-4 * max|ref|)`. This is a float32
benchmark: CSR, BSR, bmm and dense sum in different orders, so results differ by
rounding and are not meant to be bit-exact (the hardware's bit-exactness is checked in
`sim`, not here). The inputs are finite Gaussians; the bmm's zero padding relies on
that (0 * x for a padded column is 0 only for finite x).

The CUDA path is the CPU path with device=cuda and torch.cuda.synchronize(); TF32 is
left at torch's default (off for float32 matmul), so dense stays true FP32.
"""

from __future__ import annotations

import math
import os
import platform
import statistics
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from .errors import PruningError
from .partition import PartitionPlan, check_partitions, partition_prune
from .progress import bar as progress_bar
from .prune import GroupRMSPruning, MagnitudePruning

RTOL = 1e-4
ATOL_SCALE = 1e-4

# Hartenstein et al. (GTX 950M, CUDA 9.0.176, cuBLAS vs cuSPARSE CSR,
# 4096x4096 times 4096x50, kernel time only). Only numbers that appear in its text.
HARTENSTEIN = {
    "hardware": "NVIDIA GeForce GTX 950M (2 GB), CUDA 9.0.176, cuBLAS dense vs cuSPARSE CSR",
    "shape": "4096x4096 times 4096x50",
    "break_even": {1: 94.0, 32: 84.0},  # pruning rate (%) at which speedup reaches 1 (g=32: "greater than 1 at 84%")
    "speedup_90": {32: 1.57, 8: 1.4908},  # "1.57x given a pruning rate of 90%"; g=8 "speedup of 49.08%"
    "slower_than_dense_90": (1, 2),  # "Group sizes 1 and 2 even cause the neural network to perform ... slower"
    "best_group_size": 32,  # "The highest speedup is achieved with a group size of 32"
}


def _fmt_rate(rate: float) -> str:
    return f"{rate:.1f}"


@dataclass(frozen=True)
class SparseBenchConfig:
    """Parameters of one bench run, validated once (bad values raise PruningError)."""

    device: str = "cpu"
    m: int = 4096  # output features (rows of W)
    k: int = 4096  # input features (columns of W)
    n: int = 50  # batch
    rates: tuple = (80.0, 84.0, 90.0, 95.0, 98.0)  # pruning rates (%) for magnitude / group-RMS
    group_sizes: tuple = (1, 2, 4, 8, 16, 32, 64)  # 1 = magnitude
    partitions: tuple = (2, 3, 4, 5, 10, 20, 50)
    warmup: int = 2
    repeats: int = 10
    min_sample_s: float = 0.002  # each timed sample runs the form back to back at least this long
    seed: int = 0
    optimizer: str = "default"  # partition optimiser (does not change the speed, only which links stay)
    threads: int | None = None  # torch CPU threads (None: torch's default)

    def __post_init__(self):
        for name in ("m", "k", "n"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise PruningError(f"--{name} must be a positive integer, got {v!r}")
        if self.device not in ("cpu", "cuda"):
            raise PruningError(f"--device must be cpu or cuda, got {self.device!r}")
        for r in self.rates:
            if not (isinstance(r, (int, float)) and math.isfinite(r) and 0 <= r < 100):
                raise PruningError(f"pruning rates must be in [0, 100) percent, got {r!r}")
        for g in self.group_sizes:
            if isinstance(g, bool) or not isinstance(g, int) or g < 1:
                raise PruningError(f"group sizes must be positive integers, got {g!r}")
        for P in self.partitions:
            check_partitions(P, self.m, self.k, what=f"{self.m}x{self.k} weight")
        for name, low in (("warmup", 0), ("repeats", 1)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise PruningError(f"--{name} must be an integer >= {low}, got {v!r}")
        if self.threads is not None and (not isinstance(self.threads, int) or self.threads < 1):
            raise PruningError(f"--threads must be a positive integer, got {self.threads!r}")
        if not (self.min_sample_s >= 0):
            raise PruningError(f"min_sample_s must be >= 0, got {self.min_sample_s!r}")
        if not (self.rates or self.partitions):
            raise PruningError("nothing to measure: give at least one pruning rate or partition count")
        if self.rates and not self.group_sizes:
            raise PruningError("pruning rates need at least one group size")

    def rows(self) -> list[dict]:
        """One row per pruning rate: the given rates and 1 - 1/P for every P (merged
        where they coincide, e.g. P = 10 and 90 %), ascending."""
        out: dict[float, dict] = {}
        for r in self.rates:
            key = round(float(r), 6)
            out.setdefault(key, {"rate": float(r), "density": 1 - float(r) / 100, "P": None})
        for P in self.partitions:
            key = round(100 * (1 - 1 / P), 6)
            row = out.setdefault(key, {"rate": 100 * (1 - 1 / P), "density": 1 / P, "P": None})
            row["P"] = P
            row["density"] = 1 / P
        return [out[key] for key in sorted(out)]


def resolve_device(name: str) -> torch.device:
    if name == "cuda":
        if not torch.cuda.is_available():
            raise PruningError(f"--device cuda: CUDA is not available to this torch ({torch.__version__})")
        return torch.device("cuda")
    return torch.device("cpu")


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --------------------------------------------------------------------------- block-diagonal form
class BlockDiagonal:
    """The partition-pruned product (W * plan.mask) @ x as P dense diagonal blocks.

    `bmm(x)`: gather every block's inputs (one index_select), one torch.bmm over the
    P blocks zero-padded to the largest block (balanced groups differ by at most one
    row/column), then one index_select that puts every output row back in place (the
    scatter; padded rows are never read). `loop(x)`: P separate mm with index_select /
    index_copy_. `bmm_permuted(xb)`: the bmm alone on inputs already gathered into
    block order, outputs left in block order (`gather` and `scatter` give the mapping).
    Padding columns read input row `cols(p)[0]` times a zero weight, so inputs must be
    finite.
    """

    def __init__(self, weight: torch.Tensor, plan: PartitionPlan):
        if tuple(weight.shape) != plan.shape:
            raise PruningError(f"weight shape {tuple(weight.shape)} does not match the plan's {plan.shape}")
        device = weight.device
        P = plan.partitions
        self.P, self.m = P, plan.shape[0]
        rows = [torch.from_numpy(plan.rows(p)).to(device) for p in range(P)]
        cols = [torch.from_numpy(plan.cols(p)).to(device) for p in range(P)]
        self.mmax = max(len(r) for r in rows)
        self.kmax = max(len(c) for c in cols)
        self.weights = torch.zeros(P, self.mmax, self.kmax, dtype=weight.dtype, device=device)
        gather = torch.empty(P, self.kmax, dtype=torch.int64, device=device)
        take = torch.empty(self.m, dtype=torch.int64, device=device)
        for p, (r, c) in enumerate(zip(rows, cols)):
            self.weights[p, :len(r), :len(c)] = weight.index_select(0, r).index_select(1, c)
            gather[p, :len(c)] = c
            gather[p, len(c):] = c[0]
            take[r] = p * self.mmax + torch.arange(len(r), device=device)
        self.gather_index = gather.reshape(-1)
        self.take = take
        self.rows, self.cols = rows, cols
        self.blocks = [self.weights[p, :len(r), :len(c)].contiguous() for p, (r, c) in enumerate(zip(rows, cols))]

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        """Inputs (k, n) -> block order (P, kmax, n)."""
        return x.index_select(0, self.gather_index).view(self.P, self.kmax, x.shape[1])

    def scatter(self, yb: torch.Tensor) -> torch.Tensor:
        """Outputs in block order (P, mmax, n) -> (m, n)."""
        return yb.reshape(self.P * self.mmax, yb.shape[2]).index_select(0, self.take)

    def bmm(self, x: torch.Tensor) -> torch.Tensor:
        return self.scatter(torch.bmm(self.weights, self.gather(x)))

    def bmm_permuted(self, xb: torch.Tensor) -> torch.Tensor:
        return torch.bmm(self.weights, xb)

    def loop(self, x: torch.Tensor) -> torch.Tensor:
        y = x.new_empty(self.m, x.shape[1])
        for r, c, w in zip(self.rows, self.cols, self.blocks):
            y.index_copy_(0, r, w @ x.index_select(0, c))
        return y


# --------------------------------------------------------------------------- timing
def time_round_robin(fns: dict[str, Callable[[], object]], device: torch.device, *, warmup: int = 2,
                     repeats: int = 10, min_sample_s: float = 0.002) -> dict[str, dict]:
    """Warm every function up, then take `repeats` samples of each, round-robin. A
    sample is the mean time of `inner` back-to-back calls (inner chosen so a sample
    lasts about min_sample_s), with the device synchronised around it. Returns per
    name {"median", "samples", "inner"} in seconds."""
    inner = {}
    for name, fn in fns.items():
        for _ in range(warmup):
            fn()
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        dt = max(time.perf_counter() - t, 1e-7)
        inner[name] = int(min(10000, max(1, math.ceil(min_sample_s / dt))))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            count = inner[name]
            _sync(device)
            t = time.perf_counter()
            for _ in range(count):
                fn()
            _sync(device)
            samples[name].append((time.perf_counter() - t) / count)
    return {name: {"median": statistics.median(s), "samples": s, "inner": inner[name]} for name, s in samples.items()}


def check_output(out: torch.Tensor, ref: torch.Tensor) -> tuple[bool, float]:
    """(allclose with rtol 1e-4, atol 1e-4 * max|ref|; max |out - ref| / max|ref|)."""
    out = out.double()
    scale = float(ref.abs().max()) or 1.0
    err = (out - ref).abs()
    ok = bool(torch.isfinite(out).all()) and bool((err <= ATOL_SCALE * scale + RTOL * ref.abs()).all())
    return ok, float(err.max()) / scale


def _mask(weight: torch.Tensor, group_size: int, density: float) -> torch.Tensor:
    """Bool mask from sw.prune: magnitude for g = 1, group-RMS otherwise."""
    ones = torch.ones_like(weight)
    method = MagnitudePruning(density) if group_size == 1 else GroupRMSPruning(density, group_size)
    return method.compute_mask(weight, ones) != 0


# --------------------------------------------------------------------------- the measurement
def _label(fmt: str, g: int | None = None) -> str:
    return {"csr": f"CSR g={g}", "bsr": f"BSR 1x{g}", "partition-csr": "partition CSR",
            "bd-bmm": "block-diag bmm", "bd-loop": "block-diag loop",
            "bd-bmm-permuted": "bmm, pre-permuted", "dense": "dense"}[fmt]


def machine_info(device: torch.device) -> dict:
    info = {"torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "threads": torch.get_num_threads(), "device": device.type}
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info["cpu"] = cpu
    info["cpu_count"] = os.cpu_count()
    info["mkl"] = bool(torch.backends.mkl.is_available())
    if hasattr(os, "getloadavg"):
        info["loadavg_start"] = round(os.getloadavg()[0], 2)
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
        info["cuda"] = torch.version.cuda
        info["tf32_matmul"] = bool(torch.backends.cuda.matmul.allow_tf32)
    return info


def measure(cfg: SparseBenchConfig) -> dict:
    """Run the whole sweep; returns the raw results (what --json writes)."""
    device = resolve_device(cfg.device)
    threads = torch.get_num_threads()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    try:
        return _measure(cfg, device)
    finally:
        torch.set_num_threads(threads)


def _measure(cfg: SparseBenchConfig, device: torch.device) -> dict:
    t0 = time.perf_counter()
    info = machine_info(device)
    gen = torch.Generator().manual_seed(cfg.seed)
    W = torch.randn(cfg.m, cfg.k, generator=gen)  # masks are computed on the CPU
    X = torch.randn(cfg.k, cfg.n, generator=gen)
    Wd, Xd = W.to(device), X.to(device)
    W64, X64 = Wd.double(), Xd.double()
    ref_dense = W64 @ X64
    records, unsupported, prune_s = [], {}, 0.0
    rows = cfg.rows()
    with warnings.catch_warnings(), progress_bar(len(rows), "bench-sparse", "rates") as bar:
        warnings.filterwarnings("ignore", message=".*Sparse (CSR|BSR) tensor support is in beta.*")
        for row in rows:
            forms: dict[str, dict] = {"dense": {"fn": (lambda: Wd @ Xd), "ref": ref_dense, "density": 1.0,
                                                "method": "dense", "format": "dense"}}
            # magnitude / group-RMS at every rate, the partition rates included
            for g in cfg.group_sizes:
                t = time.perf_counter()
                mask = _mask(W, g, row["density"])
                prune_s += time.perf_counter() - t
                retained = float((W.abs() * mask).sum(dtype=torch.float64) / W.abs().sum(dtype=torch.float64))
                mask = mask.to(device)
                Wm = Wd * mask
                ref = W64 * mask @ X64
                density = float(mask.double().mean())
                method = "magnitude" if g == 1 else "group-rms"
                csr = Wm.to_sparse_csr()
                forms[f"csr g={g}"] = {"fn": (lambda a=csr: a @ Xd), "ref": ref, "density": density,
                                       "method": method, "group_size": g, "format": "csr", "retained": retained}
                if g > 1 and g not in unsupported:
                    if cfg.k % g:
                        unsupported[g] = f"k = {cfg.k} is not a multiple of {g}"
                    else:
                        try:
                            bsr = Wm.to_sparse_bsr((1, g))
                            bsr @ Xd
                            forms[f"bsr g={g}"] = {"fn": (lambda a=bsr: a @ Xd), "ref": ref,
                                                   "density": density, "method": method, "group_size": g,
                                                   "format": "bsr", "retained": retained}
                        except Exception as exc:  # noqa: BLE001 - whatever torch raises for an unsupported block
                            unsupported[g] = " ".join(str(exc).split())[:160] or type(exc).__name__
                del Wm, mask
            if row["P"] is not None:
                P = row["P"]
                t = time.perf_counter()
                plan = partition_prune(W, P, seed=cfg.seed, method=cfg.optimizer)
                prune_s += time.perf_counter() - t
                mask = torch.from_numpy(np.array(plan.mask)).to(device)
                ref = W64 * mask @ X64
                bd = BlockDiagonal(Wd, plan)
                csr = (Wd * mask).to_sparse_csr()
                xb = bd.gather(Xd).contiguous()
                common = {"ref": ref, "density": plan.density, "method": "partition", "partitions": P,
                          "retained": plan.retained}
                forms["partition-csr"] = {"fn": (lambda a=csr: a @ Xd), "format": "partition-csr", **common}
                forms["bd-bmm"] = {"fn": (lambda b=bd: b.bmm(Xd)), "format": "bd-bmm", **common}
                forms["bd-loop"] = {"fn": (lambda b=bd: b.loop(Xd)), "format": "bd-loop", **common}
                forms["bd-bmm-permuted"] = {"fn": (lambda b=bd, xb=xb: b.bmm_permuted(xb)),
                                            "check": (lambda b=bd, xb=xb: b.scatter(b.bmm_permuted(xb))),
                                            "format": "bd-bmm-permuted", **common}
                del mask
            checks = {}
            for name, f in forms.items():
                out = (f.get("check") or f["fn"])()
                checks[name] = check_output(out, f["ref"])
            timing = time_round_robin({name: f["fn"] for name, f in forms.items()}, device, warmup=cfg.warmup,
                                      repeats=cfg.repeats, min_sample_s=cfg.min_sample_s)
            dense_s = timing["dense"]["median"]
            for name, f in forms.items():
                ok, err = checks[name]
                rec = {"rate": row["rate"], "rate_label": _fmt_rate(row["rate"]), "row_P": row["P"],
                       "method": f["method"], "format": f["format"],
                       "label": _label(f["format"], f.get("group_size")),
                       "group_size": f.get("group_size"), "partitions": f.get("partitions"),
                       "density": f["density"], "median_s": timing[name]["median"],
                       "samples_s": timing[name]["samples"], "inner": timing[name]["inner"],
                       "dense_median_s": dense_s, "speedup": dense_s / timing[name]["median"],
                       "max_rel_err": err, "ok": ok}
                if "retained" in f:
                    rec["retained"] = f["retained"]
                records.append(rec)
            del forms, checks
            bar.update(1)
    if hasattr(os, "getloadavg"):
        info["loadavg_end"] = round(os.getloadavg()[0], 2)
    info["threads"] = torch.get_num_threads()
    cfg_dict = asdict(cfg)
    return {"config": cfg_dict, "machine": info, "results": records, "unsupported_bsr": unsupported,
            "rows": rows, "prune_s": prune_s, "total_s": time.perf_counter() - t0,
            "tolerance": {"rtol": RTOL, "atol": f"{ATOL_SCALE} * max|ref|"}, "hartenstein": _hartenstein_json()}


def _hartenstein_json() -> dict:
    d = dict(HARTENSTEIN)
    d["break_even"] = {str(k): v for k, v in HARTENSTEIN["break_even"].items()}
    d["speedup_90"] = {str(k): v for k, v in HARTENSTEIN["speedup_90"].items()}
    d["slower_than_dense_90"] = list(HARTENSTEIN["slower_than_dense_90"])
    return d


# --------------------------------------------------------------------------- reporting
def _find(results, **where):
    for r in results:
        if all(r.get(k) == v for k, v in where.items()):
            return r
    return None


def _ms(seconds: float) -> str:
    """Milliseconds with three significant digits (28.3, 0.0183)."""
    v = 1e3 * seconds
    return f"{v:.1f}" if v >= 100 else f"{v:#.3g}"


def _faster(ratio: float) -> str:
    return f"{ratio:.2f}x faster than" if ratio >= 1 else f"{1 / ratio:.2f}x slower than"


def _x(r) -> str:
    if r is None:
        return "-"
    mark = "" if r["ok"] else " (WRONG)"
    return f"{r['speedup']:.2f}x{mark}"


def pivot_columns(res: dict) -> list[tuple[str, dict]]:
    cfg = res["config"]
    cols = [(f"CSR g={g}" if g > 1 else "CSR g=1 (magnitude)", {"format": "csr", "group_size": g})
            for g in cfg["group_sizes"]]
    bsr = sorted({r["group_size"] for r in res["results"] if r["format"] == "bsr"})
    cols += [(f"BSR 1x{g}", {"format": "bsr", "group_size": g}) for g in bsr]
    if cfg["partitions"]:
        cols += [("partition CSR", {"format": "partition-csr"}), ("block-diag bmm", {"format": "bd-bmm"}),
                 ("block-diag loop", {"format": "bd-loop"})]
    return cols


def speedup_table(res: dict) -> str:
    """Markdown: one row per pruning rate, speedup over dense per form."""
    cols = pivot_columns(res)
    head = "| pruned % | P | dense ms | " + " | ".join(c for c, _ in cols) + " |"
    lines = [head, "|---:|---:|---:|" + "---:|" * len(cols)]
    for row in res["rows"]:
        rl = _fmt_rate(row["rate"])
        dense = _find(res["results"], rate_label=rl, format="dense")
        cells = [_x(_find(res["results"], rate_label=rl, **where)) for _, where in cols]
        lines.append(f"| {rl} | {row['P'] or '-'} | {_ms(dense['median_s'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def headline(res: dict, P: int = 3) -> dict | None:
    """The P = 3 comparison: block-diagonal vs dense vs CSR at the same density."""
    row = next((r for r in res["rows"] if r["P"] == P), None)
    if row is None:
        return None
    rl = _fmt_rate(row["rate"])
    get = lambda **w: _find(res["results"], rate_label=rl, **w)  # noqa: E731
    out = {"P": P, "rate": row["rate"], "dense": get(format="dense"), "magnitude_csr": get(format="csr", group_size=1),
           "partition_csr": get(format="partition-csr"), "bd_bmm": get(format="bd-bmm"),
           "bd_loop": get(format="bd-loop"), "bd_bmm_permuted": get(format="bd-bmm-permuted")}
    best = max((r for r in res["results"] if r["rate_label"] == rl and r["format"] in ("csr", "bsr")),
               key=lambda r: r["speedup"], default=None)
    out["best_grouped"] = best
    return out


def headline_markdown(h: dict) -> str:
    dense = h["dense"]
    rows = [("dense, unpruned weight", dense), ("magnitude, CSR", h["magnitude_csr"]),
            ("partition mask, CSR", h["partition_csr"]),
            ("**block-diagonal, bmm with gather/scatter**", h["bd_bmm"]),
            ("block-diagonal, loop of P mm with gather/scatter", h["bd_loop"]),
            ("block-diagonal, bmm on pre-permuted inputs (no gather/scatter)", h["bd_bmm_permuted"])]
    if h["best_grouped"] is not None and h["best_grouped"]["group_size"] != 1:
        b = h["best_grouped"]
        rows.insert(2, (f"best group-RMS: {b['label']}", b))
    mag = h["magnitude_csr"]
    lines = ["| form | density | median ms | speedup vs dense | vs magnitude CSR | output check |",
             "|---|---:|---:|---:|---:|---|"]
    for name, r in rows:
        if r is None:
            continue
        vs_csr = f"{mag['median_s'] / r['median_s']:.2f}x" if mag else "-"
        check = f"ok ({r['max_rel_err']:.1e})" if r["ok"] else f"WRONG ({r['max_rel_err']:.1e})"
        lines.append(f"| {name} | {r['density']:.4f} | {_ms(r['median_s'])} | {r['speedup']:.2f}x | "
                     f"{vs_csr} | {check} |")
    return "\n".join(lines)


def break_even(res: dict, g: int) -> str:
    """Lowest measured pruning rate at which CSR with group size g is at least as fast as dense."""
    pts = sorted((r["rate"], r["speedup"]) for r in res["results"] if r["format"] == "csr" and r["group_size"] == g)
    if not pts:
        return "not measured"
    if all(s < 1 for _, s in pts):
        return f"none up to {_fmt_rate(pts[-1][0])} % (best {max(s for _, s in pts):.2f}x)"
    i = next(j for j, (_, s) in enumerate(pts) if s >= 1)
    rate, s = pts[i]
    if i == 0:
        return f"at or below {_fmt_rate(rate)} %, the lowest rate measured ({s:.2f}x there)"
    before_rate, before = pts[i - 1]
    return f"{_fmt_rate(rate)} % ({s:.2f}x; {before:.2f}x at {_fmt_rate(before_rate)} %)"


def hartenstein_markdown(res: dict) -> str:
    dev = res["machine"].get("gpu") or res["machine"].get("cpu", "")
    rl90 = _fmt_rate(90.0)
    at90 = lambda g: _find(res["results"], rate_label=rl90, format="csr", group_size=g)  # noqa: E731
    here = f"this run ({res['machine']['device']}: {dev})"
    lines = [f"| CSR vs dense, {HARTENSTEIN['shape']} | Hartenstein et al. (GTX 950M, CUDA 9) | {here} |", "|---|---|---|"]
    lines.append(f"| break-even pruning rate, g = 1 (magnitude) | 94 % | {break_even(res, 1)} |")
    lines.append(f"| break-even pruning rate, g = 32 | speedup > 1 at 84 % | {break_even(res, 32)} |")
    for g, text in ((32, "1.57x"), (8, "1.49x (\"speedup of 49.08%\")"), (1, "< 1 (slower than dense)"),
                    (2, "< 1 (slower than dense)")):
        r = at90(g)
        lines.append(f"| speedup at 90 %, g = {g} | {text} | {_x(r) if r else 'not measured'} |")
    grouped = [r for r in res["results"] if r["rate_label"] == rl90 and r["format"] == "csr"]
    best = max(grouped, key=lambda r: r["speedup"]) if grouped else None
    cell = f"g = {best['group_size']} ({best['speedup']:.2f}x)" if best else "not measured"
    lines.append(f"| fastest group size at 90 % | 32 | {cell} |")
    return "\n".join(lines)


def plot(res: dict, path: Path) -> Path | None:
    """Speedup vs pruning rate, one line per form (log y). None if matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    fig, ax = plt.subplots(figsize=(8, 5.2))
    cmap = plt.get_cmap("viridis")
    gs = res["config"]["group_sizes"]
    for i, g in enumerate(gs):
        pts = sorted((r["rate"], r["speedup"]) for r in res["results"] if r["format"] == "csr" and r["group_size"] == g)
        if pts:
            ax.plot(*zip(*pts), marker="o", ms=3, lw=1.2, color=cmap(i / max(1, len(gs) - 1)),
                    label=f"CSR g={g}" + (" (magnitude)" if g == 1 else ""))
    for g in sorted({r["group_size"] for r in res["results"] if r["format"] == "bsr"}):
        pts = sorted((r["rate"], r["speedup"]) for r in res["results"] if r["format"] == "bsr" and r["group_size"] == g)
        ax.plot(*zip(*pts), ls=":", marker=".", lw=1, label=f"BSR 1x{g}")
    for fmt, style, color in (("partition-csr", "--", "tab:gray"), ("bd-bmm", "-", "tab:red"),
                              ("bd-loop", "-.", "tab:orange")):
        pts = sorted((r["rate"], r["speedup"]) for r in res["results"] if r["format"] == fmt)
        if pts:
            ax.plot(*zip(*pts), ls=style, marker="s", ms=4, lw=2 if fmt == "bd-bmm" else 1.4, color=color,
                    label=f"partition: {_label(fmt).replace('partition ', '')}")
    rates = sorted({r["rate"] for r in res["results"]})
    ax.plot(rates, [100 / (100 - x) for x in rates], ls=":", color="gray", lw=1,
            label="FLOP-proportional (1 / density)")
    ref = [(90, HARTENSTEIN["speedup_90"][32], "g=32", (4, 3)), (90, HARTENSTEIN["speedup_90"][8], "g=8", (4, -9)),
           (94, 1.0, "g=1", (4, 3))]
    ax.scatter([p[0] for p in ref], [p[1] for p in ref], marker="x", color="black", zorder=5,
               label="Hartenstein et al., GTX 950M CSR (quoted)")
    for x, y, t, off in ref:
        ax.annotate(t, (x, y), textcoords="offset points", xytext=off, fontsize=7)
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("pruning rate (%)")
    ax.set_ylabel("speedup over dense matmul")
    m = res["machine"]
    dev = m.get("gpu") or f"{m.get('cpu', '')}, {m['threads']} thread(s)"
    c = res["config"]
    ax.set_title(f"{c['m']}x{c['k']} @ {c['k']}x{c['n']}, FP32, torch {m['torch']}\n{dev}", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def markdown(res: dict, plot_path: str | None) -> str:
    c, m = res["config"], res["machine"]
    if m["device"] == "cuda":
        dev = f"{m['gpu']}, CUDA {m['cuda']}, TF32 matmul {'on' if m['tf32_matmul'] else 'off'}"
    else:
        dev = f"{m['cpu']} ({m['cpu_count']} cores), {m['threads']} torch thread(s), MKL {'yes' if m['mkl'] else 'no'}"
    threads_opt = f" --threads {c['threads']}" if c["threads"] else ""
    load = ""
    if "loadavg_start" in m:
        load = f" Load average {m['loadavg_start']} at start, {m.get('loadavg_end', '?')} at the end."
    parts = [f"## sw: dense vs CSR vs block-diagonal for one pruned layer ({m['device']})", "",
             f"W ({c['m']}x{c['k']}, Gaussian) times X ({c['k']}x{c['n']}), FP32, on {dev}; torch {m['torch']}.{load} "
             f"`python -m sw bench-sparse --device {m['device']} --m {c['m']} --k {c['k']} --n {c['n']}"
             f"{threads_opt}` "
             f"({c['warmup']} warm-up call(s), median of {c['repeats']} samples taken round-robin with the dense "
             f"baseline of the same row; each sample >= {1e3 * c['min_sample_s']:.0f} ms of back-to-back calls"
             f"{', device synchronised' if m['device'] == 'cuda' else ''}).", "",
             "Speedup = dense time / form time (higher is better; < 1 is slower than dense). CSR g=1 is "
             "magnitude pruning, g >= 2 group-RMS (Hartenstein et al.), both from `sw.prune`; partition is "
             f"`sw.partition.partition_prune` (optimiser `{c['optimizer']}`) at P = 1/(1 - rate), timed as CSR "
             "of its mask and as the block-diagonal form: gather inputs, one `torch.bmm` over the P zero-padded "
             "blocks, scatter outputs (block-diag bmm), or a loop of P `mm` (block-diag loop), gather and scatter "
             "included. Formats are built once, outside the timing.", "",
             speedup_table(res), ""]
    if res["unsupported_bsr"]:
        msgs = sorted(set(res["unsupported_bsr"].values()))
        gs = ", ".join(str(g) for g in sorted(res["unsupported_bsr"]))
        parts += [f"BSR with the groups' (1, g) blocks: not measured for g = {gs} on {m['device']}: "
                  + "; ".join(f"`{s}`" for s in msgs) + ".", ""]
    if plot_path:
        parts += [f"Plot: `{plot_path}` (speedup vs pruning rate, log scale, one line per form; "
                  "black crosses: Hartenstein et al.'s quoted GTX 950M figures).", ""]
    h = headline(res, 3)
    if h is not None:
        bd, mag, pc = h["bd_bmm"], h["magnitude_csr"], h["partition_csr"]
        parts += [f"### P = 3 ({_fmt_rate(h['rate'])} % pruned): block-diagonal vs dense vs CSR", "",
                  headline_markdown(h), "",
                  f"At P = 3 the block-diagonal form (bmm, with gather and scatter) takes "
                  f"{_ms(bd['median_s'])} ms against {_ms(h['dense']['median_s'])} ms dense: a speedup of "
                  f"**{bd['speedup']:.2f}x** over dense (the FLOP count allows 3x), "
                  f"**{_faster(mag['median_s'] / bd['median_s'])} magnitude CSR** at the same density and "
                  f"{_faster(pc['median_s'] / bd['median_s'])} the CSR of its own mask. "
                  f"Of this Gaussian weight's sum |W|, partition pruning kept {100 * bd['retained']:.1f} %, "
                  f"magnitude pruning {100 * mag['retained']:.1f} % (the most any mask of this density can keep). "
                  "Output check: max |out - ref| / max |ref| against the float64 masked product; all forms must "
                  f"pass allclose(rtol={RTOL:g}, atol={ATOL_SCALE:g} * max|ref|), a float32 reduction-order "
                  "tolerance, not bit-exactness.", ""]
    parts += ["### Beside Hartenstein et al.", "",
              f"Hartenstein et al.: {HARTENSTEIN['hardware']}, {HARTENSTEIN['shape']}, kernel time only, group "
              "sizes 1-64 at pruning rates 80-98 %. Its figures below are the ones stated in its text (the rest "
              "are only in its Figure 3, which is not quoted); the paper reports 1.57x at 90 % in the abstract and "
              "1.5x in the conclusion. Break-even here = the lowest measured rate with speedup >= 1.", "",
              hartenstein_markdown(res), ""]
    bad = [r for r in res["results"] if not r["ok"]]
    worst = max(r["max_rel_err"] for r in res["results"])
    parts.append(f"Output checks: {len(res['results']) - len(bad)} of {len(res['results'])} forms match the masked "
                 f"dense product (worst max |out - ref| / max |ref| = {worst:.1e}). Pruning took "
                 f"{res['prune_s']:.0f} s, the whole bench {res['total_s']:.0f} s.")
    return "\n".join(parts)


def default_plot_path(device: str) -> Path:
    return Path(os.environ.get("PP_BUILD_DIR", "build")) / "bench" / f"sparse_speedup_{device}.png"


def run(cfg: SparseBenchConfig | None = None, *, plot_path: str | Path | None = None, quick: bool = False,
        results: dict | None = None) -> str:
    """Measure (unless `results` are given) and return the Markdown section; writes the
    plot to plot_path (default build/bench/sparse_speedup_<device>.png)."""
    if cfg is None:
        cfg = quick_config() if quick else SparseBenchConfig()
    res = results if results is not None else measure(cfg)
    path = Path(plot_path) if plot_path else default_plot_path(res["machine"]["device"])
    written = plot(res, path)
    res["plot"] = str(written) if written else None
    return markdown(res, res["plot"])


def load_results(path: str | Path) -> dict:
    """Raw results written by --json (for instance on a GPU machine), ready for `run`."""
    import json

    p = Path(path)
    if not p.is_file():
        raise PruningError(f"results file not found: {p}")
    try:
        res = json.loads(p.read_text())
        res["unsupported_bsr"] = {int(g): msg for g, msg in res["unsupported_bsr"].items()}
        for key in ("config", "machine", "results", "rows"):
            res[key]
    except (ValueError, KeyError, AttributeError, TypeError) as exc:
        raise PruningError(f"{p} is not a bench-sparse --json file: {type(exc).__name__}: {exc}") from None
    return res


def quick_config(**overrides) -> SparseBenchConfig:
    """Smaller sizes and fewer samples, for a smoke run (about half a minute)."""
    base = dict(m=1024, k=1024, n=50, partitions=(2, 3, 4, 5, 10), warmup=1, repeats=3)
    base.update(overrides)
    return SparseBenchConfig(**base)


__all__ = ["BlockDiagonal", "SparseBenchConfig", "check_output", "load_results", "machine_info", "measure",
           "quick_config",
           "run", "speedup_table", "time_round_robin", "HARTENSTEIN"]
