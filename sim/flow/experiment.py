"""``make sim`` / ``make sweep``: a partition-pruned model's FC layers on the generated SoC.

    python -m sim flow --partitions 3 [--rows 32 --cols 32] [--model lenet300] [--batch 128]
                       [--sim verilator|icarus] [--mem-ports 1] [--sweep] [--scale paper]

1. train (cached) the model on the offline MNIST subset, partition-prune its
   FC layers (not the classifier) into P blocks and fine-tune (sim/flow/model.py);
2. build one SoC of P R x C accelerators sharing one bus to the DRAM model,
   and the one-accelerator SoC of the baseline (same bus and DRAM model);
3. baseline: every FC layer of the unpruned model, dense, on the one
   accelerator (simulated alongside step 4: two processes, two cores);
4. pruned: every partitioned layer as P blocks, block p on accelerator p, all
   started together on the shared bus; the classifier stays dense on
   accelerator 0, as in the paper.  Between layers the host scatters the
   blocks' outputs and gathers the next layer's inputs; that traffic is
   charged at the bus bandwidth (bytes / bus bytes per cycle);
5. check every output bit for bit against the golden model and the batch's
   accuracy from hardware outputs against torch's, and write
   build/sim/P<P>/report.json, report.md and PNG plots.
"""

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sim.core.constants import CLOCK_HZ, DRAM_BYTES_PER_CYCLE, PAPER_ENERGY_RATIO_P3, PAPER_SPEEDUP_P3
from sim.core.runner import BUILD_ROOT, SimulationError

from . import records as rec
from .records import ROOFLINE_GOAL, LayerReport, PhaseRecord, Roofline, share

if TYPE_CHECKING:
    from hw.config import ArrayParams

PAPER = {"speedup_p3": PAPER_SPEEDUP_P3, "energy_ratio_p3": PAPER_ENERGY_RATIO_P3}


def log(message):
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def soc_params(args, prepared, accelerators=None):
    """The SoC for this run: scratchpads large enough for every layer (streamed weights
    need only the ring), and at least the SoC defaults so batch sizes up to those share
    one build."""
    from hw.config import ArrayParams
    from hw.soc import SoCParams
    from sim.designs.accel.accel_layout import words_needed
    R, C = args.rows, args.cols
    need = {"input_words": 1, "acc_words": 1, "bias_words": 1}
    for layer in prepared.layers:
        M, K = layer.W_base.shape
        N = max(layer.x_base.shape[1], layer.x_pruned.shape[1])
        for key, words in words_needed(M, K, N, R, C).items():
            if key in need:
                need[key] = max(need[key], words)
    d = SoCParams()
    sized = {k: 1 << (max(v, getattr(d, k)) - 1).bit_length() for k, v in need.items()}
    return SoCParams(accelerators=accelerators or max(args.partitions, 1), array=ArrayParams(R, C), bus_width=512,
                     mem_ports=args.mem_ports, **sized)


def layer_jobs(layer, X, pruned: bool):
    """({accelerator: LayerJob}, blocks or None) for one FC layer on input X."""
    from sim.designs.soc.soc_driver import LayerJob
    W = layer.W_pruned if pruned else layer.W_base
    b = layer.b_pruned if pruned else layer.b_base
    if pruned and layer.partitioned:
        blocks = layer.blocks()
        return {p: LayerJob(Wp, np.ascontiguousarray(X[cols]), bp, layer.relu)
                for p, (rows, cols, Wp, bp) in enumerate(blocks)}, blocks
    return {0: LayerJob(W, X, b, layer.relu)}, None


def memory_params(prepared, params, base_params):
    """The DRAM model's size: the default, or larger when a phase needs more (SCALE=paper)."""
    from sim.designs.soc.soc_driver import PAGE, dram_bytes
    from sim.designs.soc.soc_tb import MemoryParams
    default = MemoryParams()
    need = 0
    for layer in prepared.layers:
        X = np.zeros(layer.x_base.shape, np.float32)
        for p, pruned in ((base_params, False), (params, True)):
            need = max(need, dram_bytes(p, layer_jobs(layer, X, pruned)[0]))
    pages = -(-need // PAGE)                                     # ports interleave 4 KiB pages
    per_port_words = -(-pages // params.mem_ports) * PAGE // (params.bus_width // 8)
    words = max(default.words, 1 << (per_port_words - 1).bit_length())
    return default if words == default.words else MemoryParams(words=words)


def host_bytes(prepared, index: int, Y_size: int, pruned: bool) -> dict:
    """Bytes the host moves around layer ``index``, charged at the bus bandwidth.

    * a partitioned layer: the gather of its blocks' inputs out of one vector
      (4 B a value), unless its partitions are aligned with the layer feeding
      it (block p's inputs are then block p's outputs, already in place) or
      its input is the model's own; and the scatter of its blocks' outputs
      into one vector, unless only aligned layers read them;
    * a layer whose input torch computes on the host from accelerator outputs
      (GELU, LayerNorm, a residual add...): the host reads that much and writes
      the input back, 2 x 4 B x K x N.  The first layers' inputs, computed from
      the model's input (a conv front, a flatten), are loaded as given."""
    layer = prepared.layers[index]
    X = layer.x_pruned if pruned else layer.x_base
    moved = {"scatter_gather": 0, "host_ops": 0}
    if pruned and layer.partitioned:
        by_name = {l.name: l for l in prepared.layers}
        fed = layer.input_from is not None or layer.after_accelerator
        if fed and not layer.aligned:
            moved["scatter_gather"] += 4 * X.size
        if layer.output_to_host or not all(by_name[c].aligned for c in layer.consumers):
            moved["scatter_gather"] += 4 * Y_size
    if layer.after_accelerator:
        moved["host_ops"] = 2 * 4 * X.size
    return moved


def roofline(params, jobs: dict, dram: dict, cycles: int, host_cycles: int) -> Roofline:
    """How close one layer's cycles come to its bounds.

    * bus: every beat the DRAM ports moved (reads and writes, bus-wide beats),
      each port one beat a cycle, plus the host's data movement charged at the
      bus rate;
    * compute: the busiest accelerator's weight tiles x max(N, R),
      ceil(K/R) ceil(M/C) max(N, R): one vector enters the array a cycle and
      one weight row loads a cycle, a tile's rows loading while the tile
      before it computes, so a tile holds the array at least max(N, R) cycles;
    * roofline_fraction = max(bounds) / cycles;
    * beside them, the array floor: the largest block's cycles on the array alone with
      every weight in place (``array_floor``), which no memory system lowers."""
    R, C = params.array.rows, params.array.cols
    compute = max(-(-job.W.shape[1] // R) * -(-job.W.shape[0] // C) * max(job.X.shape[1], R)
                  for job in jobs.values())
    bus = -(-(dram["read_beats"] + dram["write_beats"]) // params.mem_ports) + host_cycles
    return Roofline(bus_bound_cycles=int(bus), compute_bound_cycles=int(compute), cycles=int(cycles),
                    array_floor_cycles=array_floor(params.array, jobs))


def array_floor(array, jobs: dict) -> int:
    """Cycles the phase's largest block needs on the array alone, every weight already in
    place: sim/golden/perf.py's tile walk, the slowest of the phase's accelerators."""
    from sim.golden.perf import cycles
    return max(cycles(array, *job.W.shape, job.X.shape[1])["total"] for job in jobs.values())


def point_roofline(totals: dict) -> dict:
    """A sweep point's roofline fields from a run's ``totals.roofline``: each run's fraction;
    the fraction without its array-bound layers (None where it has none, or nothing else);
    and the array-bound layers of either run."""
    without = {k: (v["without_array_bound"] or {}).get("roofline_fraction") for k, v in totals.items()}
    return {"roofline": {k: v["roofline_fraction"] for k, v in totals.items()},
            "roofline_without_array_bound": without,
            "array_bound_layers": sorted({name for v in totals.values() for name in v["array_bound_layers"]})}


def total_roofline(records) -> dict:
    """The run's bound (records with a ``roofline``): the sum of its layers', and the layers
    that cannot reach ROOFLINE_GOAL on this array (``Roofline.array_bound``)."""
    return {**rec.total_roofline(r.roofline for r in records),
            "array_bound_layers": [r.name for r in records if r.roofline.array_bound]}


PROGRESS_CYCLES = 10_000           # the testbench reports every this many simulated cycles
PROGRESS_SECONDS = float(os.environ.get("PP_PROGRESS_SECONDS", 30))   # the log, every this many seconds


def expected_cycles(params, jobs: dict) -> int:
    """A phase's likely length, for progress estimates only: the slowest accelerator's
    cycle model (weights always ready) or the DRAM traffic at the ports' rate, the larger."""
    compute = array_floor(params.array, jobs)
    traffic = sum(4 * (job.W.size + job.X.size + job.W.shape[0] * job.X.shape[1]) for job in jobs.values())
    return max(compute, traffic // (params.bus_width // 8) // params.mem_ports)


class ProgressLog:
    """While a phase simulates, log every PROGRESS_SECONDS its cycles so far, the rate and
    the expected time left (from `expected_cycles`), read from the testbench's progress file."""

    def __init__(self, what: str, path: Path, expected: int):
        self.what, self.path, self.expected = what, path, expected
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self.start = time.perf_counter()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def _watch(self):
        while not self.stop.wait(PROGRESS_SECONDS):
            try:
                cycles = json.loads(self.path.read_text())["cycles"]
            except (OSError, ValueError, KeyError):
                continue
            rate = cycles / (time.perf_counter() - self.start)
            left = max(self.expected - cycles, 0) / rate if rate > 0 else float("inf")
            log(f"{self.what}: {cycles:,} of ~{self.expected:,} cycles, {rate:,.0f} cycles/s, "
                f"~{left / 60:.1f} min left")


def run_chain(params, prepared, *, pruned: bool, simulator: str, run_dir: Path, mem=None,
              wall_timeout_s: float = 3600, capture_toggles: bool = False, single_params=None,
              jobs: int = 1, fp: str = "rtl", executor: str = "local"):
    """Run every accelerated layer on its own input (the hardware network's, known before
    simulation); return per-layer records.  The inputs are known, so up to ``jobs`` phases
    simulate at once (each its own simulator process; the cycles are those of a serial run),
    or, with ``executor="ray"``, every phase is a Ray task.
    A phase that uses one accelerator runs on ``single_params``' one-accelerator SoC when
    given: idle accelerators cost no cycles (tests/test_soc_phase.py checks it), and a
    smaller SoC simulates faster."""
    from concurrent.futures import ThreadPoolExecutor
    from sim.designs.soc.soc_tb import MemoryParams

    options = dict(pruned=pruned, simulator=simulator, run_dir=run_dir, mem=mem or MemoryParams(),
                   wall_timeout_s=wall_timeout_s, capture_toggles=capture_toggles, single_params=single_params,
                   fp=fp)
    indices = range(len(prepared.layers))
    if executor == "ray":
        return _phases_on_ray(params, prepared, indices, options)
    if jobs <= 1:
        return [run_layer(params, prepared, i, **options) for i in indices]
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return list(pool.map(lambda i: run_layer(params, prepared, i, **options), indices))


_RAY_LOCK = threading.Lock()


def connect_ray():
    """Ray, connected once per process: the cluster at RAY_ADDRESS, or a Ray instance started here."""
    try:
        import ray
    except ImportError:
        raise RuntimeError("the Ray executor needs the ray package (pip install -e .)") from None
    with _RAY_LOCK:
        if not ray.is_initialized():
            address = os.environ.get("RAY_ADDRESS") or None
            log(f"Ray at {address}" if address else "a local Ray instance")
            ray.init(address=address, include_dashboard=False, log_to_driver=True)
    return ray


def _phase_task(params, prepared, index: int, options: dict) -> PhaseRecord:
    """One phase in a Ray worker: the simulator's environment first (builds are cached per node)."""
    from .sweep import worker_setup
    worker_setup(options["simulator"])
    return run_layer(params, prepared, index, **options)


def _phases_on_ray(params, prepared, indices, options: dict) -> list:
    """Every phase of a chain as a Ray task, one CPU each; the model is shipped once."""
    ray = connect_ray()
    task = ray.remote(num_cpus=1)(_phase_task)
    shared = ray.put(prepared)
    try:
        return ray.get([task.remote(params, shared, i, options) for i in indices])
    except ray.exceptions.RayTaskError as exc:          # the task's own error, as if it ran here
        raise exc.cause if isinstance(exc.cause, Exception) else RuntimeError(str(exc)) from None


def run_layer(params, prepared, index: int, *, pruned: bool, simulator: str, run_dir: Path, mem,
              wall_timeout_s: float, capture_toggles: bool, single_params, fp: str = "rtl") -> PhaseRecord:
    """Simulate one layer's phase and return its record (see `run_chain`)."""
    from .energy import phase_energy
    from sim.golden.gemm import compare, linear
    from sim.designs.soc.soc_driver import run_phase

    bus_bytes = params.bus_width // 8
    layer = prepared.layers[index]
    W = layer.W_pruned if pruned else layer.W_base
    X = layer.x_pruned if pruned else layer.x_base
    t0 = time.perf_counter()
    jobs, blocks = layer_jobs(layer, X, pruned)
    kind = "pruned" if pruned else "baseline"
    log(f"{kind} layer {layer.name} {W.shape[0]}x{W.shape[1]}x{X.shape[1]} on {len(jobs)} accelerator(s)")
    soc = single_params if single_params is not None and list(jobs) == [0] else params
    phase_dir = run_dir / f"{kind}-L{index}"
    t_sim = time.perf_counter()
    with ProgressLog(f"{kind} layer {layer.name}", phase_dir / "progress.json", expected_cycles(soc, jobs)):
        result = run_phase(soc, jobs, mem=mem, simulator=simulator, run_dir=phase_dir,
                           wall_timeout_s=wall_timeout_s, capture_toggles=capture_toggles,
                           progress_every=PROGRESS_CYCLES, fp=fp)
    sim_seconds = time.perf_counter() - t_sim
    Y = np.zeros((W.shape[0], X.shape[1]), np.float32)
    verdicts, accs = [], {}
    for p, job in jobs.items():
        r = result["accelerators"][str(p)]
        verdicts.append(compare(r["Y"], linear(job.W, job.X, job.bias, job.relu)))
        if blocks:
            Y[blocks[p][0]] = r["Y"]
        else:
            Y = r["Y"]
        accs[p] = {k: r["counters"][k] for k in r["counters"]} | {"finish": r["finish"] - r["start"],
                                                                   "shape": list(job.W.shape)}
    moved = host_bytes(prepared, index, Y.size, pruned)
    inter_layer = -(-moved["scatter_gather"] // bus_bytes)
    host_cycles = -(-moved["host_ops"] // bus_bytes)
    dram = {k: sum(port[k] for port in result["memory"]) for k in result["memory"][0]}
    energy = phase_energy(soc.accel, jobs, {p: result["accelerators"][str(p)]["counters"] for p in jobs},
                          result["phase_cycles"] + inter_layer + host_cycles,
                          dram, bus_bytes,
                          toggles=result.get("toggles"), mem_ports=soc.mem_ports)
    cycles = int(result["phase_cycles"]) + int(inter_layer) + int(host_cycles)
    record = PhaseRecord(
        name=layer.name, shape=[int(W.shape[0]), int(W.shape[1])], batch=int(X.shape[1]),
        partitioned=bool(pruned and layer.partitioned), accelerators=len(jobs),
        cycles=cycles, phase_cycles=int(result["phase_cycles"]),
        inter_layer_cycles=int(inter_layer), host_op_cycles=int(host_cycles),
        per_accelerator=accs, dram=dram, roofline=roofline(params, jobs, dram, cycles, inter_layer + host_cycles),
        bit_exact=all(v["bit_exact"] for v in verdicts),
        mismatches=sum(v["mismatches"] for v in verdicts),
        max_abs_err=max(v["max_abs_err"] for v in verdicts),
        golden_vs_torch=layer.torch_check["pruned" if pruned else "baseline"],
        nonzero_weights=int(np.count_nonzero(W)), wall_seconds=round(time.perf_counter() - t0, 1),
        soc_accelerators=soc.accelerators, sim_seconds=round(sim_seconds, 2),
        toggles=result["toggles"].by_component if "toggles" in result else None,
        energy_inputs=energy)
    log(f"{kind} layer {layer.name}: {cycles:,} cycles, bit-exact {record.bit_exact} "
        f"({record.wall_seconds:.0f} s)")
    return record


def breakdown(record: PhaseRecord, array: "ArrayParams") -> dict:
    """Where a layer's cycles went, from the slowest accelerator's counters.

    The weight wait is split in two with ``array``'s timing: the part
    any run of this shape pays, weights in DRAM or not (a tile holds the array
    max(N, ``min_tile_period``) cycles, so with fewer vectors each tile after
    the first waits for its weights to load), and the rest, weight tiles late
    from DRAM; ``tile_period_excess`` is the part of the first beyond the
    compute bound's max(N, R) cycles a tile."""
    slow = record.slowest
    N = record.batch
    tiles = slow["compute"] // N if N else 0
    loading = excess = 0
    if tiles:
        loading = min(slow["weight_wait"], (tiles - 1) * max(0, array.min_tile_period - N))
        excess = min(loading, (tiles - 1) * max(0, array.min_tile_period - max(N, array.rows)))
    return {"compute": slow["compute"], "weight_wait_and_bus": slow["weight_wait"] + slow["stall"],
            "weight_loading": loading, "tile_period_excess": excess, "weight_wait": slow["weight_wait"] - loading,
            "accumulation_wait": slow["stall"],
            "drain": slow["drain"] + 3, "dma_in_out": max(0, slow["cycles"] - slow["array_cycles"]),
            "start_skew": max(0, record.phase_cycles - slow["finish"]),
            "inter_layer": record.inter_layer_cycles + record.host_op_cycles}


# Why a layer is under its bound: of the parts of its cycles that its bound does not
# already count (issuing vectors and a tile's max(N, R) cycles are the compute bound,
# moving bytes at the ports' rate the bus bound), the largest.
GAP_CAUSES = {
    "tile_period_excess": "the array's tile period: a tile holds it {period} cycles, against max(N, R) = "
                          "{per_tile} in the compute bound",
    "weight_wait": "weight tiles arriving from DRAM slower than the array takes them",
    "accumulation_wait": "the K-tile accumulation chain: a vector's next K-tile waits for its partial sums "
                         "(array latency + 2 cycles), and too few M-tiles to fill the wait",
    "dma_in_out": "the input load and the write-back's tail (what follows the array's last write), "
                  "which do not overlap the weight stream",
    "drain": "the array's pipeline drain after the last vector",
    "inter_layer": "the host's gather and scatter between layers",
}


def roofline_gaps(layers: list[LayerReport], array) -> list:
    """One line for each layer and run below ROOFLINE_GOAL of its bound: the cycles above
    the bound, the cause (``GAP_CAUSES``) and where the slowest accelerator spent its
    cycles (its counters); and, where the array on its own needs more than the bound over
    ROOFLINE_GOAL (``Roofline.array_bound``), that the layer cannot reach the goal on this array."""
    gaps = []
    for layer in layers:
        for kind, record in (("baseline", layer.baseline), ("pruned", layer.pruned)):
            roof = record.roofline
            if roof.roofline_fraction >= ROOFLINE_GOAL:
                continue
            b = breakdown(record, array)
            cause = max(GAP_CAUSES, key=lambda part: b[part])
            why = GAP_CAUSES[cause].format(period=array.min_tile_period, per_tile=max(record.batch, array.rows))
            gaps.append(f"{kind} {layer.name}: {share(roof.roofline_fraction)} of its {roof.bound} bound, "
                        f"{roof.cycles - roof.bound_cycles:,} cycles above it, mostly {why}; "
                        f"of its {roof.cycles:,} cycles, {b['compute']:,} issuing vectors, "
                        f"{b['weight_loading']:,} loading weight tiles into the array, "
                        f"{b['weight_wait']:,} waiting for weight tiles from DRAM, {b['accumulation_wait']:,} "
                        f"waiting for partial sums, {b['dma_in_out']:,} loading inputs and storing outputs "
                        f"after the array, "
                        f"{b['drain']:,} draining the array, {b['inter_layer']:,} host data movement"
                        + _unreachable(roof))
    return gaps


def _unreachable(roof: Roofline) -> str:
    if not roof.array_bound:
        return ""
    floor = roof.array_floor_cycles
    return (f"; it cannot reach {ROOFLINE_GOAL:.0%} on this array: with every weight in place the array "
            f"alone needs {floor:,} cycles for it, so {share(roof.bound_cycles / floor)} at best")


def _roofline_summary(totals: dict) -> str:
    """The report's roofline sentence: each run's share of its bound, and the same without the
    layers that cannot reach ROOFLINE_GOAL on this array, where there are such layers."""
    rb, rp = totals["baseline"], totals["pruned"]
    text = (f"Roofline: the baseline runs at {share(rb['roofline_fraction'])} of its bound "
            f"({rb['bound_cycles']:,} cycles: per layer the larger of the bus bound, DRAM beats / ports, and the "
            f"compute bound, weight tiles x max(vectors, rows)), the pruned run at {share(rp['roofline_fraction'])} "
            f"({rp['bound_cycles']:,} cycles).")
    runs = (("baseline", rb), ("pruned", rp))
    layers = lambda names: f"layer{'s' if len(names) > 1 else ''} {', '.join(names)}"
    without = [f"the {kind} run at {share(tr['without_array_bound']['roofline_fraction'])} without "
               f"{layers(tr['array_bound_layers'])}" for kind, tr in runs if tr["without_array_bound"]]
    if without:
        text += (f" Leaving out the layers that cannot reach {ROOFLINE_GOAL:.0%} on this array (below), "
                 f"{' and '.join(without)}.")
    everything = [kind for kind, tr in runs if tr["array_bound_layers"] and not tr["without_array_bound"]]
    if everything:
        text += (f" No layer of the {' and the '.join(everything)} run can reach {ROOFLINE_GOAL:.0%} "
                 f"on this array (below).")
    return text


def simulation_speed(base, pruned, wall_seconds: float) -> dict:
    """Simulated cycles per wall-clock second of the simulator processes (start-up
    included), per chain and per SoC size; and the run's wall time."""
    def speed(records):
        cycles = sum(r.phase_cycles for r in records)
        seconds = sum(r.sim_seconds for r in records)
        return {"cycles": cycles, "sim_seconds": round(seconds, 2),
                "cycles_per_second": round(cycles / seconds, 1) if seconds else None}
    phases = base + pruned
    return {"wall_seconds": round(wall_seconds, 1), "baseline": speed(base), "pruned": speed(pruned),
            "by_soc": {f"{n} accelerator{'s' if n > 1 else ''}": speed([r for r in phases if r.soc_accelerators == n])
                       for n in sorted({r.soc_accelerators for r in phases})}}


def fused_and_host(layer) -> dict:
    """What runs where around one accelerated layer, for the report."""
    return {"fused": [layer.fused] if layer.fused else [],
            "input_from": layer.input_from, "aligned_with_input": bool(layer.aligned),
            "host_ops": list(layer.host_ops), "host_ops_charged": bool(layer.after_accelerator)}


def verdict(layers: list[LayerReport], match: dict) -> dict:
    """Whether the run may be trusted, and if not, every reason, in one line each."""
    reasons = []
    for layer in layers:
        for kind, record in (("baseline", layer.baseline), ("pruned", layer.pruned)):
            if not record.bit_exact:
                reasons.append(f"{kind} layer {layer.name}: {record.mismatches} hardware outputs differ from "
                               "the golden model")
            if not record.golden_vs_torch["within_bound"]:
                reasons.append(f"{kind} layer {layer.name}: the golden model differs from torch's Linear by "
                               f"{record.golden_vs_torch['max_diff_over_bound']:.3g}x the float32 bound")
    for kind, ok in match.items():
        if not ok:
            reasons.append(f"{kind}: the hardware's predictions differ from torch's forward pass")
    return {"ok": not reasons, "reasons": reasons}


def write_report(out_dir: Path, report: dict):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    (tmp / "report.json").write_text(json.dumps(report, indent=1))
    names = [l["name"] for l in report["layers"]]
    fig, ax = plt.subplots(figsize=(7, 4))
    x = np.arange(len(names))
    ax.bar(x - 0.2, [l["baseline_cycles"] for l in report["layers"]], 0.4, label="unpruned, 1 accelerator")
    ax.bar(x + 0.2, [l["cycles"] for l in report["layers"]], 0.4,
           label=f"P={report['partitions']}, {report['accelerators']} accelerators")
    ax.set_xticks(x, names)
    ax.set_ylabel(f"cycles ({CLOCK_HZ / 1e6:.0f} MHz)")
    ax.set_yscale("log")
    ax.set_title(f"{report['model']} FC layers on {report['array']['rows']}x{report['array']['cols']} FP32 arrays")
    ax.legend()
    fig.tight_layout()
    fig.savefig(tmp / "cycles_per_layer.png", dpi=120)
    plt.close(fig)
    from sim.power.report import energy_markdown, plot_energy
    plot_energy(report["energy"], tmp / "energy.png")
    (tmp / "report.md").write_text(markdown(report) + "\n" + energy_markdown(report["energy"])
                                   + "\n\n![energy per layer](energy.png)\n")
    replace_dir(tmp, out_dir)


def replace_dir(new: Path, target: Path):
    """Put the finished folder ``new`` at ``target``: the old one is moved aside first, so
    ``target`` is only ever a whole report (old or new), and a concurrent run's is not mixed in."""
    old = None
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        target.rename(old / target.name)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def markdown(r: dict) -> str:
    t = r["totals"]
    v = r["verdict"]
    lines = [f"# Partition Pruning on the generated SoC: P = {r['partitions']}", "",
             ("**Verified**: every hardware output equals the golden model bit for bit, the golden model "
              "agrees with torch's own Linear layers within the float32 bound, and the hardware's predictions "
              "equal torch's forward pass." if v["ok"] else
              "**FAILED: this run is not correct.**\n\n" + "\n".join(f"- {reason}" for reason in v["reasons"])),
             "",
             f"Model {r['model']}, batch {r['batch']} test images, {r['accelerators']} x "
             f"{r['array']['rows']}x{r['array']['cols']} FP32 weight-stationary arrays at {CLOCK_HZ / 1e6:.0f} MHz, "
             f"{r['bus']['width']}-bit shared bus, {r['bus']['mem_ports']} DRAM port(s) "
             f"(DDR3-1600 model, {DRAM_BYTES_PER_CYCLE} B/cycle), simulator {r['simulator']}.", "",
             "| layer | shape | blocks | baseline cycles | pruned cycles | speedup | compute | weight wait + bus "
             "| DMA in/out | inter-layer | roofline, baseline | roofline, pruned | bit-exact |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    roof = lambda x: f"{share(x['roofline_fraction'])} of {x['bound']}"
    for l in r["layers"]:
        b = l["breakdown"]
        lines.append(f"| {l['name']} | {l['shape'][0]}x{l['shape'][1]} | {l['accelerators']} | "
                     f"{l['baseline_cycles']:,} | {l['cycles']:,} | {l['baseline_cycles'] / l['cycles']:.2f}x | "
                     f"{b['compute']:,} | {b['weight_wait_and_bus']:,} | {b['dma_in_out']:,} | "
                     f"{b['inter_layer']:,} | {roof(l['roofline']['baseline'])} | {roof(l['roofline']['pruned'])} | "
                     f"{'yes' if l['bit_exact'] else 'NO'} |")
    lines += ["", _roofline_summary(t["roofline"])]
    if r["roofline_gaps"]:
        lines += ["", f"Below {ROOFLINE_GOAL:.0%} of the bound, where the cycles went (slowest accelerator):", ""]
        lines += [f"- {gap}" for gap in r["roofline_gaps"]]
    lines += ["", "| layer | fused on the accelerator | input | host operations before it |", "|---|---|---|---|"]
    for l in r["layers"]:
        source = (f"output of {l['input_from']}" + (", partitions aligned" if l["aligned_with_input"] else "")
                  if l["input_from"] else "computed by torch on the host")
        ops = ", ".join(l["host_ops"]) or "-"
        charged = " (charged at bus bandwidth)" if l["host_ops_charged"] else ""
        lines.append(f"| {l['name']} | {', '.join(l['fused']) or '-'} | {source} | {ops}{charged} |")
    if r["host_linears"]:
        lines += ["", f"Linear modules torch calls functionally (run on the host): {', '.join(r['host_linears'])}."]
    lines += ["", f"Graph: {r['graph']}."]
    acc = r["accuracy"]
    pct = lambda value: "n/a" if value is None else f"{value:.2f} %"
    lines += ["", f"**Total: {t['baseline_cycles']:,} -> {t['cycles']:,} cycles, speedup {t['speedup']:.2f}x** "
              f"(paper, TinyVGG16 at P = 3: {PAPER['speedup_p3']}x; ideal P^2 = {r['partitions'] ** 2}).", ""]
    if r.get("synthetic"):
        lines += [
            "SCALE=paper: TinyVGG16's FC shapes at PyTorch's initialisation on a synthetic batch (TinyImageNet "
            "is not available offline), partition-pruned without fine-tuning. Accuracy is agreement: the "
            f"pruned model's torch predictions match the unpruned model's on {acc['pruned_agrees_with_unpruned']:.2f} "
            "% of the batch; hardware predictions equal torch's: baseline "
            f"{r['predictions_match_torch']['baseline']}, pruned {r['predictions_match_torch']['pruned']}.", ""]
    else:
        lines += [
            f"Accuracy on the {acc['test_images']} test images: baseline {acc['baseline']['top1']:.2f} %, "
            f"pruned {acc['pruned']['top1']:.2f} %, fine-tuned {acc['retrained']['top1']:.2f} % (top-1).",
            f"On this batch, from hardware outputs: baseline {pct(r['hardware_accuracy']['baseline'])} "
            f"(torch {pct(r['torch_accuracy']['baseline'])}), pruned {pct(r['hardware_accuracy']['pruned'])} "
            f"(torch {pct(r['torch_accuracy']['pruned'])}); hardware predictions equal torch's: baseline "
            f"{r['predictions_match_torch']['baseline']}, pruned {r['predictions_match_torch']['pruned']}.", ""]
    speeds = ", ".join(f"{soc} SoC {v['cycles_per_second']:,.0f} cycles/s"
                       for soc, v in r["simulation"]["by_soc"].items())
    fp_note = ("." if r.get("fp_units", "rtl") == "rtl" else
               "; **FP=behavioural**: the PEs computed with the C model, not the RTL FP units.")
    lines += [f"Correctness: every output bit-exact against the golden model: {r['correctness']['bit_exact']}.", "",
              f"Energy ({t['energy_table']}): {t['baseline_energy_pj'] / 1e6:.2f} uJ -> {t['energy_pj'] / 1e6:.2f} uJ, "
              f"ratio {t['energy_ratio']:.2f}x (paper {PAPER['energy_ratio_p3']}x); "
              f"method: {r['energy']['method']}.", "",
              f"Simulation: {speeds} (simulator processes, start-up included); the run took "
              f"{r['simulation']['wall_seconds']:,.0f} s{fp_note}", "",
              "Columns: *compute* = cycles the slowest accelerator issued vectors; *weight wait + bus* = "
              "cycles its array waited for weight tiles (the shared bus) or accumulators; *DMA in/out* = "
              "loading inputs/bias and storing what is left of the outputs once the array is done; "
              "*inter-layer* = host scatter/gather of block activations and host operations' data movement, "
              "charged at the bus bandwidth.", "",
              "![cycles per layer](cycles_per_layer.png)", ""]
    return "\n".join(lines)


def _prepare(args):
    """The model's FC chain for ``args.partitions`` (trained and cached, or SCALE=paper's shapes)."""
    if args.scale == "paper":
        from .model import prepare_paper
        return prepare_paper(args.partitions, args.batch, args.seed, dims=args.fc_dims, progress=log)
    from .model import prepare
    return prepare(args.model, args.partitions, args.batch, args.seed, progress=log, data=args.data)


@dataclass
class Setup:
    """What both chains of one run share: the model, the two SoCs and the DRAM model."""
    args: argparse.Namespace
    prepared: object
    params: object                      # the P-accelerator SoC
    base_params: object                 # the baseline's one-accelerator SoC
    mem: object
    wall_s: float
    toggles: bool


def setup(args, accelerators=None, *, pruned=True) -> Setup:
    """Prepare the model and build (cached) the SoCs the run's chains need."""
    from sim.core import runner
    from sim.designs.soc.soc_driver import capture_spec
    from sim.designs.soc.soc_tb import tb_build
    prepared = _prepare(args)
    params = soc_params(args, prepared, accelerators)
    base_params = soc_params(args, prepared, 1)
    mem = memory_params(prepared, params, base_params)
    toggles = args.power == "toggles"
    for wanted, n, p in ((True, 1, base_params), (pruned, params.accelerators, params)):
        if not wanted:                      # the one-accelerator SoC also runs the pruned model's dense layers
            continue
        log(f"SoC: {n} x {args.rows}x{args.cols}, bus {p.bus_width} bits, {p.mem_ports} DRAM port(s)"
            f"{', with toggle capture' if toggles else ''}"
            f"{', FP units as a C model (FP=behavioural)' if args.fp != 'rtl' else ''} "
            "(the first build takes minutes; cached afterwards)")
        spec = tb_build(p, mem, args.sim)
        if args.fp != "rtl":
            from sim.designs.fp.fp_behavioural import behavioural_spec
            spec = behavioural_spec(spec, p)
        runner.build(capture_spec(spec, p) if toggles else spec)
    # SCALE=paper runs millions of cycles: the wall-clock watchdog grows with it
    wall = 12 * 3600 if args.scale == "paper" else 3600
    return Setup(args, prepared, params, base_params, mem, wall, toggles)


def simulate(s: Setup, *, pruned: bool) -> list:
    """One chain (pruned on the P-accelerator SoC, or the baseline) in its own scratch
    folder, so concurrent runs never share one; the folder goes when the chain succeeds."""
    (BUILD_ROOT / "runs").mkdir(parents=True, exist_ok=True)
    p = s.params if pruned else s.base_params
    kind = f"P{s.args.partitions}-{p.accelerators}acc" if pruned else "baseline"
    scratch = Path(tempfile.mkdtemp(prefix=f"flow-{kind}-{p.mem_ports}port-{s.args.rows}x{s.args.cols}-"
                                    f"{os.getpid()}-", dir=BUILD_ROOT / "runs"))
    records = run_chain(p, s.prepared, pruned=pruned, simulator=s.args.sim, run_dir=scratch, mem=s.mem,
                        wall_timeout_s=s.wall_s, capture_toggles=s.toggles,
                        single_params=None if s.toggles else s.base_params, jobs=s.args.phase_jobs,
                        fp=s.args.fp, executor=s.args.phase_executor)
    shutil.rmtree(scratch, ignore_errors=True)
    return records


def run_baseline(args, accelerators=None) -> list:
    """The unpruned model's records on one accelerator (a sweep runs it once per memory variant)."""
    return simulate(setup(args, accelerators, pruned=False), pruned=False)


def run(args, accelerators=None, baseline=None) -> dict:
    """One P: the baseline on a one-accelerator SoC (or ``baseline``'s records, from
    `run_baseline`) and the pruned model on the P-accelerator SoC, the two chains
    simulated side by side (two processes)."""
    from concurrent.futures import ThreadPoolExecutor

    from sim.designs.soc.soc_driver import MAX_FLAT_CAPTURE_PES
    t_start = time.perf_counter()
    s = setup(args, accelerators)
    prepared, params, toggles = s.prepared, s.params, s.toggles
    with ThreadPoolExecutor(max_workers=2) as pool:
        pruned_job = pool.submit(simulate, s, pruned=True)
        base = [replace(b) for b in baseline] if baseline is not None else simulate(s, pruned=False)
        pruned = pruned_job.result()
    from sim.power.report import energy_section, totals_fields
    from .energy import tables as energy_tables
    section = energy_section([(p.name, p.energy_inputs) for p in pruned],
                             baseline=[(b.name, b.energy_inputs) for b in base],
                             partitions=args.partitions, tables=energy_tables(), clock_hz=CLOCK_HZ)
    if toggles:
        flat = args.rows * args.cols <= MAX_FLAT_CAPTURE_PES or args.sim != "verilator"
        section["method"] = (
            "toggle capture of the SoC (Verilator --coverage-toggle or an Icarus VCD): register and wire toggles "
            "per component, " + ("flat build, FP ops at their measured operand activity" if flat else
                                 "PE kept as a hierarchical block with coverage off inside (its port registers "
                                 "counted at the array; its internal wires and FP operands not captured, FP ops "
                                 "at the table's random-operand energy)")
            + "; plus scratchpad accesses, DRAM bytes/activations, clock, leakage")
    else:
        section["method"] = ("event counts (FP ops at the table's random-operand energy, scratchpad accesses, "
                             "DRAM bytes/activations, clock, leakage); no toggle capture (POWER=toggles; "
                             "see sim/flow/energy.py)")
    for entry, p in zip(section["layers"], pruned):
        p.energy_pj = entry["energy_pj"]
    for entry, b in zip(section["baseline"]["layers"], base):
        b.energy_pj = entry["energy_pj"]
    layers = [LayerReport(pruned=p, baseline=b, breakdown=breakdown(p, params.array),
                          placement=fused_and_host(layer))
              for b, p, layer in zip(base, pruned, prepared.layers)]
    # Each layer ran on the hardware network's input, fixed before simulation; when every
    # layer's outputs equal the golden ones bit for bit, the golden forward pass (torch with
    # those outputs substituted) is the hardware's network, and its predictions are the
    # hardware's.  Otherwise the hardware has no trustworthy prediction at all.
    exact = {"baseline": all(b.bit_exact for b in base), "pruned": all(p.bit_exact for p in pruned)}
    hw_pred = {"baseline": prepared.golden_pred_base if exact["baseline"] else None,
               "pruned": prepared.golden_pred_pruned if exact["pruned"] else None}
    torch_pred = {"baseline": prepared.torch_pred_base, "pruned": prepared.torch_pred_pruned}
    match = {k: bool(hw_pred[k] is not None and np.array_equal(hw_pred[k], torch_pred[k])) for k in hw_pred}
    pct = lambda pred: None if pred is None else float(100.0 * np.mean(pred == prepared.labels))
    total_base = sum(b.cycles for b in base)
    total = sum(p.cycles for p in pruned)
    report = {
        "verdict": verdict(layers, match),
        "partitions": args.partitions, "accelerators": params.accelerators,
        "array": {"rows": args.rows, "cols": args.cols}, "simulator": args.sim,
        "fp_units": ("rtl" if args.fp == "rtl"
                     else "behavioural (C model through DPI-C, sim/designs/fp/fp_behavioural.py)"),
        "model": prepared.model,
        "data": prepared.data, "synthetic": prepared.synthetic,
        "graph": prepared.graph, "host_linears": list(prepared.host_linears),
        "batch": args.batch, "bus": {"width": params.bus_width, "mem_ports": params.mem_ports},
        "accuracy": prepared.accuracy,
        "hardware_accuracy": {k: pct(v) for k, v in hw_pred.items()},
        "torch_accuracy": {k: pct(v) for k, v in torch_pred.items()},
        "predictions_match_torch": match,
        "logits_max_abs_diff_vs_torch": prepared.logits_max_abs_diff,
        "layers": [layer.as_dict() for layer in layers],
        "totals": {"baseline_cycles": total_base, "cycles": total, "speedup": total_base / total,
                   **totals_fields(section),
                   "paper_speedup_p3": PAPER["speedup_p3"], "paper_energy_ratio_p3": PAPER["energy_ratio_p3"],
                   "ideal_speedup": args.partitions ** 2,
                   "roofline": {"baseline": total_roofline(base), "pruned": total_roofline(pruned)}},
        "energy": section,
        "correctness": {"bit_exact": exact["baseline"] and exact["pruned"],
                        "max_abs_err": max(r.max_abs_err for r in base + pruned)},
        "wall_seconds": round(time.perf_counter() - t_start, 1),
        "simulation": {**simulation_speed(base, pruned, time.perf_counter() - t_start),
                       "phase_executor": args.phase_executor},
        "roofline_gaps": roofline_gaps(layers, params.array),
    }
    return report


def _port_counts(text: str) -> tuple:
    try:
        ports = tuple(sorted({int(v) for v in text.split(",")}))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected port counts like 1,2, got {text!r}") from None
    if not ports or min(ports) < 1:
        raise argparse.ArgumentTypeError(f"expected positive port counts, got {text!r}")
    return ports


def _dims(text: str) -> tuple:
    try:
        dims = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected widths like 4608,4096,4096,200, got {text!r}") from None
    if len(dims) < 2 or min(dims) < 1:
        raise argparse.ArgumentTypeError(f"expected two or more positive widths, got {text!r}")
    return dims


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim flow", description=__doc__.split("\n\n")[0])
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--rows", type=int, default=32)
    parser.add_argument("--cols", type=int, default=32)
    parser.add_argument("--model", default="lenet300",
                        help="a built-in model name, or FILE.py:FACTORY / MODULE:FACTORY (runs that code)")
    parser.add_argument("--data", default="mnist",
                        help="mnist (the offline 5,000-image subset), digits, FILE.npz (x_train, y_train, "
                             "x_test, y_test) or DIR (train/<class>/<images>)")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    parser.add_argument("--mem-ports", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sweep", action="store_true",
                        help="P = 1..--max-partitions on one SoC, with 1 and 2 memory ports")
    parser.add_argument("--max-partitions", type=int, default=5)
    parser.add_argument("--ports", type=_port_counts, default=(1, 2),
                        help="with --sweep: the DRAM port counts to sweep (default 1,2)")
    parser.add_argument("--executor", choices=("auto", "local", "ray"), default="auto",
                        help="where the work runs: ray (the cluster at RAY_ADDRESS, or a local Ray instance), "
                             "local (this machine: a process pool for a sweep's points, threads for a run's "
                             "phases), auto (ray when RAY_ADDRESS is set); a sweep distributes its points, "
                             "a single run (make sim, SCALE=paper) its phases")
    parser.add_argument("--engine", choices=("rtl", "model"), default="rtl",
                        help="with --sweep: rtl (simulate every phase) or model (the SoC cycle model: cycles "
                             "only, no energy, no output check)")
    parser.add_argument("--workers", type=int, default=None,
                        help="with --sweep --executor local: processes (default: the cores)")
    parser.add_argument("--fp", choices=("rtl", "behavioural"), default="rtl",
                        help="behavioural: a fast simulation build whose PEs compute with a bit-exact C model "
                             "(Verilator only; the report says so)")
    parser.add_argument("--jobs", type=int, default=None, dest="jobs",
                        help="phases of one chain simulated at once (their inputs are known; the cycles do not "
                             "change). Default: half the cores, at least 1 (the baseline and pruned chains "
                             "already run side by side)")
    parser.add_argument("--out", type=Path, default=None,
                        help="report folder (default build/sim/P<P>, build/sim/paper-P<P> or build/sim/sweep)")
    parser.add_argument("--power", choices=("events", "toggles"), default="events",
                        help="toggles: capture the SoC's toggles per component (Verilator coverage or an "
                             "Icarus VCD) instead of pricing events only")
    parser.add_argument("--scale", choices=("default", "paper"), default="default",
                        help="paper: FC layers of TinyVGG16's dimensions (--fc-dims) instead of --model")
    parser.add_argument("--fc-dims", type=_dims, default=None,
                        help="with --scale paper: the FC chain's widths (default 4608,4096,4096,200)")
    args = parser.parse_args(argv)
    from .config import FlowConfig, FlowError
    from sim.core.toolchain import ToolchainError, setup_env
    if args.scale == "paper" and args.fc_dims is None:
        from .model import PAPER_FC_DIMS
        args.fc_dims = PAPER_FC_DIMS
    try:
        config = FlowConfig.from_args(args)
    except FlowError as exc:                       # every setting checked before anything runs
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if config.sweep:
        from .sweep import sweep
        return sweep(config)
    out_dir = config.out or BUILD_ROOT / "sim" / (f"paper-P{config.partitions}" if config.scale == "paper"
                                                  else f"P{config.partitions}")
    try:
        setup_env(config.sim)
        report = run(config)
    except (FlowError, ToolchainError, SimulationError, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, (FlowError, ValueError)) else 1
    write_report(out_dir, report)
    t = report["totals"]
    log(f"speedup {t['speedup']:.2f}x ({t['baseline_cycles']:,} -> {t['cycles']:,} cycles), "
        f"bit-exact {report['correctness']['bit_exact']}; report: {out_dir / 'report.md'}")
    if not report["verdict"]["ok"]:
        reasons = report["verdict"]["reasons"]
        print(f"error: the run is not correct: {reasons[0]}"
              + (f" (and {len(reasons) - 1} more, see {out_dir / 'report.md'})" if len(reasons) > 1 else ""),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
