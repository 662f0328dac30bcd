"""``make soak``: millions of random vectors through each FP32 unit on Verilator.

Vectors are generated in bulk (70 % uniform random bit patterns, 15 %
subnormal-heavy, 15 % cancellation-heavy for the adder / boundary-exponent
products for the multiplier), checked against Berkeley SoftFloat, and streamed
one per cycle in chunks of 2**20 with Python waking once per chunk.  Prints a
summary and writes build/soak/soak.json, which ``make bench`` copies into
BENCHMARKS.md.
"""

import argparse
import json
import sys
import time

import numpy as np

from hw.fp32 import FPParams
from hw.fp32.params import DEFAULT_ADD_LATENCY, DEFAULT_MUL_LATENCY
from sim.core import runner
from sim.golden import fp32 as golden
from . import fp_units

CHUNK = 1 << 20
LATENCY = {"mul": DEFAULT_MUL_LATENCY, "add": DEFAULT_ADD_LATENCY}


def soak_vectors(op: str, n: int, rng):
    n_special = (3 * n) // 20
    a_sub, b_sub = golden.subnormal_heavy(rng, n_special)
    if op == "add":
        a_mix, b_mix = golden.cancellation_heavy(rng, n_special)
    else:
        a_mix, b_mix = golden.random_bits(rng, n_special), golden.random_bits(rng, n_special)
        exps = np.array(golden.BOUNDARY_EXPONENTS, np.uint32)
        a_mix = (a_mix & np.uint32(0x807FFFFF)) | (rng.choice(exps, n_special) << 23)
    n_random = n - 2 * n_special
    a = np.concatenate([golden.random_bits(rng, n_random), a_sub, a_mix])
    b = np.concatenate([golden.random_bits(rng, n_random), b_sub, b_mix])
    order = rng.permutation(n)
    return a[order], b[order]


def soak(op: str, n: int, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    a, b = soak_vectors(op, n, rng)
    t0 = time.perf_counter()
    expected = golden.softfloat(op, a, b)
    t_oracle = time.perf_counter() - t0
    params = FPParams(latency=LATENCY[op])
    t0 = time.perf_counter()
    report = fp_units.run_vectors(op, params, a, b, expected, simulator="verilator",
                                  run_dir=runner.BUILD_ROOT / "soak" / op, chunk=CHUNK,
                                  wall_timeout_s=3600)
    t_sim = time.perf_counter() - t0
    report.update(op=op, seed=seed, latency=params.latency, oracle="softfloatpy (Berkeley SoftFloat 3)",
                  oracle_seconds=round(t_oracle, 1), sim_seconds=round(t_sim, 1))
    return report


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m sim soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--vectors", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument("--ops", default="mul,add")
    args = parser.parse_args(argv)
    if args.vectors < 1:
        parser.error("--vectors must be >= 1")
    ops = args.ops.split(",")
    if any(op not in LATENCY for op in ops):
        parser.error("--ops takes mul and/or add")
    from sim.core import toolchain
    toolchain.setup_env("verilator")
    results = []
    for op in ops:
        print(f"soak {op}: {args.vectors:,} vectors, seed {args.seed}", flush=True)
        try:
            report = soak(op, args.vectors, args.seed)
        except runner.SimulationError as exc:
            print(f"error: soak {op} failed: {exc}", file=sys.stderr)
            return 1
        print(f"  mismatches {report['mismatches']}, {report['cycles']:,} cycles, "
              f"simulation {report['sim_seconds']} s, oracle {report['oracle_seconds']} s", flush=True)
        results.append(report)
    out = runner.BUILD_ROOT / "soak" / "soak.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return 0 if all(r["mismatches"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
