"""What energy capture costs: the FP-unit stream with and without toggle capture.

    python -m sim.power.slowdown [--vectors 1000000] [--repeats 3] [--sim verilator] [--json]

Streams the same random vectors through ``fp32_mul`` on the plain build and
on the instrumented one (``--coverage-toggle`` on Verilator, a VCD on
Icarus), ``repeats`` times each, alternating, and reports the median wall
time of the simulator run (cocotb start-up included, builds excluded) and
their ratio.  Reading the toggle file is timed separately.
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from hw.fp32 import FPParams

from sim.core import runner, toolchain
from sim.designs.fp.fp_units import stream_build
from .capture import measure_fp_stream, read_toggles, with_toggle_capture


def measure_capture_slowdown(vectors: int = 1_000_000, repeats: int = 3, simulator: str = "verilator",
                             seed: int = 1, run_root=None) -> dict:
    toolchain.setup_env(simulator)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 32, vectors, dtype=np.uint64).astype(np.uint32)
    b = rng.integers(0, 1 << 32, vectors, dtype=np.uint64).astype(np.uint32)
    run_root = Path(run_root or runner.BUILD_ROOT / "runs" / f"power-slowdown-{simulator}")
    plain, captured, parse = [], [], []
    for i in range(repeats):
        m0 = measure_fp_stream("mul", a, b, simulator=simulator, run_dir=run_root / "plain", capture=False)
        plain.append(m0.wall_s)
        m1 = measure_fp_stream("mul", a, b, simulator=simulator, run_dir=run_root / "capture", capture=True)
        captured.append(m1.wall_s)
        start = time.perf_counter()
        spec = with_toggle_capture(stream_build("mul", FPParams(latency=2), simulator, 1 << 14),
                                   scope="fp_stream_tb.dut")
        read_toggles(spec, run_root / "capture", scope="fp_stream_tb.dut")
        parse.append(time.perf_counter() - start)
    p, c = statistics.median(plain), statistics.median(captured)
    return {"simulator": simulator, "unit": "fp32_mul", "vectors": vectors, "repeats": repeats,
            "plain_s": plain, "capture_s": captured, "parse_s": parse,
            "median_plain_s": p, "median_capture_s": c, "slowdown": c / p,
            "plain_vectors_per_s": vectors / p, "capture_vectors_per_s": vectors / c}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sim.power.slowdown", description=__doc__.split("\n\n")[0])
    ap.add_argument("--vectors", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--sim", default="verilator", choices=("verilator", "icarus"))
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    r = measure_capture_slowdown(args.vectors, args.repeats, args.sim)
    if args.json:
        print(json.dumps(r, indent=1))
    else:
        print(f"{r['simulator']} {r['unit']}, {r['vectors']} vectors, median of {r['repeats']}: "
              f"plain {r['median_plain_s']:.2f} s, with toggle capture {r['median_capture_s']:.2f} s "
              f"-> {r['slowdown']:.2f}x slower; reading the toggle file {statistics.median(r['parse_s']):.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
