"""The simulation side's one command line: ``python -m sim COMMAND [options]``.

    python -m sim gemm --rows R --cols C --m M --k K --n N [--sim verilator|icarus] [--seed S] --json
    python -m sim flow --partitions 3 [...]      the end-to-end experiment (make sim)
    python -m sim sweep [...]                    P = 1..Pmax x memory ports (make sweep)
    python -m sim soak | lint | bench | power    FP32 soak, Verilator lint, BENCHMARKS.md, energy of a run

``python -m sim COMMAND --help`` lists each command's options.

Exit status: 0 bit-exact, 1 the run failed (build, simulation, mismatch),
2 bad input (one ``error: ...`` line, checked before anything is allocated or
built), 130/143 interrupted (every child simulator and compiler is stopped).
"""

import argparse
import importlib
import json
import sys
import time

import numpy as np


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        print(f"error: {message}", file=sys.stderr)
        sys.exit(2)


def _positive(name, low, high):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be an integer, got {text!r}") from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"{name} must be from {low} to {high}, got {value}")
        return value
    return parse


# Operands above this many elements would take hours to simulate cycle by
# cycle (and gigabytes to hold); they are refused before any allocation.
MAX_OPERAND_ELEMENTS = 1 << 26


def check_gemm(args):
    """Raise ValueError for a problem this accelerator cannot hold, before allocating it."""
    from hw.config import ArrayParams
    from sim.designs.accel.accel import params_for_shapes

    for name, rows, cols in (("W (m x k)", args.m, args.k), ("X (k x n)", args.k, args.n)):
        if rows * cols > MAX_OPERAND_ELEMENTS:
            raise ValueError(f"{name} = {rows} x {cols} has {rows * cols} elements; at most "
                             f"{MAX_OPERAND_ELEMENTS} are simulated")
    try:
        params_for_shapes([(args.m, args.k, args.n)], ArrayParams(rows=args.rows, cols=args.cols))
    except ValueError as exc:
        raise ValueError(f"m={args.m}, k={args.k}, n={args.n} does not fit the scratchpads of one "
                         f"{args.rows}x{args.cols} accelerator ({exc})") from None


def gemm(args) -> dict:
    from hw.config import ArrayParams
    from sim.core import runner
    from sim.designs.accel.accel import Layer, params_for, run_layers
    from .golden import perf
    from sim.bench.scalesim import ws_cycles

    rng = np.random.default_rng(args.seed)
    W = rng.standard_normal((args.m, args.k)).astype(np.float32)
    X = rng.standard_normal((args.k, args.n)).astype(np.float32)
    bias = rng.standard_normal(args.m).astype(np.float32) if args.bias else None
    array = ArrayParams(rows=args.rows, cols=args.cols)
    layer = Layer(W, X, bias, relu=args.relu, name="gemm")
    params = params_for([layer], array)
    run_dir = runner.BUILD_ROOT / "runs" / f"gemm-{args.rows}x{args.cols}-{args.sim}"
    t0 = time.perf_counter()
    result = run_layers(params, [layer], simulator=args.sim, run_dir=run_dir, waves=args.waves)[0]
    wall = time.perf_counter() - t0
    cycles = result["counters"]["total"]
    ideal = perf.ideal_cycles(array, args.m, args.k, args.n)
    return {
        "rows": args.rows, "cols": args.cols, "m": args.m, "k": args.k, "n": args.n,
        "simulator": args.sim, "seed": args.seed, "bias": bool(args.bias), "relu": bool(args.relu),
        "cycles": cycles,
        "ideal_cycles": ideal,
        "utilization": ideal / cycles,
        "model_cycles": perf.cycles(array, args.m, args.k, args.n)["total"],
        "scalesim_ws_cycles": ws_cycles(args.rows, args.cols, args.m, args.k, args.n),
        "counters": result["counters"],
        "bit_exact": result["bit_exact"],
        "mismatches": result["mismatches"],
        "max_abs_err": result["max_abs_err"],
        "float64_max_abs_err": result["float64_err"],
        "array_latency": array.latency,
        "wall_seconds": round(wall, 2),
    }


# Commands whose module has its own parser: (module, arguments put first, help).
FORWARDED = {
    "flow": ("sim.flow.experiment", (), "the end-to-end experiment: train, prune, run on the SoC, report (make sim)"),
    "sweep": ("sim.flow.experiment", ("--sweep",), "P = 1..Pmax x DRAM ports, locally or on Ray (make sweep)"),
    "soak": ("sim.designs.fp.soak", (), "stream random vectors through each FP32 unit against SoftFloat (make soak)"),
    "lint": ("sim.core.lint", (), "verilator --lint-only -Wall on the generated blocks (make lint)"),
    "bench": ("sim.bench.write", (), "measure and write BENCHMARKS.md (make bench)"),
    "power": ("sim.power.cli", (), "energy of an activity file or a toggle capture under the energy tables"),
}


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0] in FORWARDED:
        module, first, _ = FORWARDED[argv[0]]
        return importlib.import_module(module).main([*first, *argv[1:]])
    parser = _Parser(prog="python -m sim", description="simulation commands")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (_, _, text) in FORWARDED.items():
        sub.add_parser(name, help=text, add_help=False)
    g = sub.add_parser("gemm", help="run Y = W X on one generated accelerator and check it bit for bit")
    g.add_argument("--rows", type=_positive("--rows", 1, 256), required=True)
    g.add_argument("--cols", type=_positive("--cols", 1, 256), required=True)
    g.add_argument("--m", type=_positive("--m", 1, 65535), required=True)
    g.add_argument("--k", type=_positive("--k", 1, 65535), required=True)
    g.add_argument("--n", type=_positive("--n", 1, 65535), required=True)
    g.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    g.add_argument("--seed", type=_positive("--seed", 0, 2**32 - 1), default=0)
    g.add_argument("--bias", action="store_true", help="add a random bias")
    g.add_argument("--relu", action="store_true", help="apply ReLU")
    g.add_argument("--waves", action="store_true", help="record waveforms (FST on Verilator)")
    g.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)

    from sim.core.runner import SimulationError
    from sim.core.toolchain import ToolchainError
    try:
        check_gemm(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        out = gemm(args)
    except (SimulationError, ToolchainError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(f"{args.m}x{args.k}x{args.n} on {args.rows}x{args.cols}: {out['cycles']} cycles "
              f"(ideal {out['ideal_cycles']:.0f}, utilization {out['utilization']:.1%}), "
              f"bit_exact={out['bit_exact']}")
    return 0 if out["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
