"""Capture activity from a simulation: toggle coverage on Verilator, a VCD on Icarus.

    spec = with_toggle_capture(spec, scope="fp_stream_tb.dut")   # any runner.SimBuild
    runner.run_test(spec, ..., run_dir=run_dir)
    signals = read_toggles(spec, run_dir)                       # coverage.dat or power.vcd

and, for the FP units, the whole loop in one call::

    m = measure_fp_stream("mul", a, b, simulator="verilator", run_dir=...)
    m.activity            # sim.power.Activity (cycles, toggles, FP ops with operand activity)
    compute_energy(m.activity, load_table("aladdin-40nm"))

Verilator: the model is built with ``--coverage-toggle`` (plus
``--coverage-underscore`` so Yosys's ``_0_`` registers count, and a
``--coverage-max-width`` wide enough for a 32-lane row) and writes
``coverage.dat`` into the run directory when the simulation ends.  It is
built without hierarchical blocks: Verilator 5.048 writes garbage toggle
counts for modules inside a ``--hierarchical`` block.

Icarus: a small extra top module calls ``$dumpfile``/``$dumpvars`` on the
design's scope; cocotb's runner passes ``-none`` (no waves) to vvp, and
``sim/core/runner.py`` appends ``-vcd`` to every vvp command (the last dumper
flag wins).
"""

import dataclasses
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.core import runner
from sim.core.constants import CLOCK_HZ
from .activity import SignalToggles, read_coverage, read_vcd
from .classify import ClassMap, ToggleSummary, flop_inventory, summarize
from .model import Activity, FPOps, Inventory
from .netlist import Design

COVERAGE_ARGS = ("--coverage-toggle", "--coverage-underscore", "--coverage-max-width", "2048")
VCD_NAME = "power.vcd"
DUMP_MODULE = "pp_power_dump"


def _dump_source(scope: str) -> Path:
    text = (f"// Dumps {scope} for sim.power (Icarus): VCD named by +PP_VCD= (default {VCD_NAME}).\n"
            f"module {DUMP_MODULE};\n"
            "    reg [8*512-1:0] path;\n"
            "    initial begin\n"
            f"        if (!$value$plusargs(\"PP_VCD=%s\", path)) path = \"{VCD_NAME}\";\n"
            "        $dumpfile(path);\n"
            f"        $dumpvars(0, {scope});\n"
            "    end\n"
            "endmodule\n")
    digest = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = runner.BUILD_ROOT / "power" / f"{DUMP_MODULE}-{digest}.v"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def _coverage_off(source: str, modules) -> str:
    """``source`` with Verilator's coverage switched off inside ``modules`` (and their submodules)."""
    text = Path(source).read_text()
    names = "|".join(re.escape(m) for m in modules)
    pattern = re.compile(rf"^module \\?(?:{names})(?:\.\S*)?\s*\(.*?^endmodule\b", re.M | re.S)
    patched = pattern.sub(lambda m: f"/*verilator coverage_off*/\n{m.group(0)}\n/*verilator coverage_on*/", text)
    if patched == text:
        return source
    digest = hashlib.sha256(patched.encode()).hexdigest()[:12]
    path = runner.BUILD_ROOT / "power" / f"{Path(source).stem}-cov-{digest}{Path(source).suffix}"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(patched)
        tmp.replace(path)
    return str(path)


def with_toggle_capture(spec: runner.SimBuild, *, scope: str, keep_hier_blocks: bool = False) -> runner.SimBuild:
    """The same build, instrumented to record toggles of everything under ``scope``.

    Verilator 5.048's toggle counters inside --hierarchical blocks come out as
    garbage (1e10 toggles per bit in a 4x4 accelerator's PEs, rises and falls
    unrelated), so by default the instrumented build inlines every module.
    ``keep_hier_blocks`` keeps the blocks (the 32x32 arrays need them) with
    coverage switched off inside them: everything else is captured exactly as
    in the flat build, and :func:`summarize` with ``opaque=spec.hier_blocks``
    counts the blocks' port nets in their parents.
    """
    if spec.simulator == "verilator":
        if keep_hier_blocks and spec.hier_blocks:
            sources = tuple(_coverage_off(str(s), spec.hier_blocks) for s in spec.sources)
            return dataclasses.replace(spec, sources=sources, build_args=tuple(spec.build_args) + COVERAGE_ARGS,
                                       warnings_fatal=False)     # coverage builds: not checked warning-free
        return dataclasses.replace(spec, build_args=tuple(spec.build_args) + COVERAGE_ARGS, hier_blocks=(),
                                   warnings_fatal=False)
    if spec.simulator == "icarus":
        return dataclasses.replace(spec, sources=tuple(spec.sources) + (str(_dump_source(scope)),),
                                   build_args=tuple(spec.build_args) + ("-s", DUMP_MODULE))
    raise ValueError(f"toggle capture supports verilator and icarus, not {spec.simulator!r}")


def read_toggles(spec: runner.SimBuild, run_dir, *, scope: str | None = None) -> list[SignalToggles]:
    run_dir = Path(run_dir)
    if spec.simulator == "verilator":
        return read_coverage(run_dir / "coverage.dat")
    return read_vcd(run_dir / VCD_NAME, scope=scope)


def design_inventory(design: Design, class_map: ClassMap = ClassMap(), copies: int = 1) -> Inventory:
    """The energy model's :class:`Inventory` of ``copies`` instances of ``design``: flip-flops
    (clock), those outside the uncharged components (leakage), FP units and SRAM bytes."""
    inv = flop_inventory(design, class_map)
    flops = sum(inv["flop_bits"].values())
    leaky = flops - sum(n for comp, n in inv["flop_bits"].items() if comp in class_map.uncharged)
    return Inventory(flop_bits=flops * copies, leaky_flop_bits=leaky * copies,
                     fp32_mul_units=inv["fp_units"]["fp32_mul"] * copies,
                     fp32_add_units=inv["fp_units"]["fp32_add"] * copies,
                     sram_bytes=inv["sram_bytes"] * copies)


def activity_from_toggles(signals, design: Design, *, fp_ops=(), sram=(), dram=None, cycles=None,
                          clock_hz: float = CLOCK_HZ,
                          class_map: ClassMap = ClassMap()) -> tuple[Activity, ToggleSummary]:
    """Build an :class:`Activity` from toggles, the design's netlist and the run's event counts.

    ``fp_ops``: ``{"fp32_mul": count, ...}`` (operations performed); their
    operand activity comes from the toggles of the FP units' ``a``/``b``
    inputs.  ``cycles`` defaults to the rising edges of the design's clock.
    """
    summary = summarize(signals, design, class_map)
    if cycles is None:
        if summary.clock_cycles is None:
            raise ValueError("no clock toggles under the design root; pass cycles= explicitly")
        cycles = summary.clock_cycles
    inventory = design_inventory(design, class_map)
    ops = [FPOps(op, int(count), summary.fp_operand_toggles.get(op, 0.0))
           for op, count in dict(fp_ops).items()]
    activity = Activity(cycles=int(cycles), clock_hz=clock_hz, toggles=summary.by_component,
                        uncharged=tuple(sorted(class_map.uncharged)), fp_ops=ops, sram=list(sram),
                        dram=dram, inventory=inventory)
    return activity, summary


# ---------------------------------------------------------------- FP units

@dataclass
class StreamMeasurement:
    activity: Activity | None
    summary: ToggleSummary | None
    signals: list
    report: dict            # the bench's report (vectors, mismatches, cycles)
    wall_s: float           # simulator run (build excluded)
    run_dir: Path


def fp_stream_design(op: str, params) -> Design:
    from sim.designs.fp.fp_units import UNITS, unit_verilog
    module, _ = UNITS[op]
    return Design.from_verilog([unit_verilog(op, params)], top=module, root="fp_stream_tb.dut")


def measure_fp_stream(op: str, a, b, *, simulator: str = "verilator", run_dir, params=None,
                      capture: bool = True, chunk: int = 1 << 14, clock_hz: float = CLOCK_HZ,
                      wall_timeout_s: float = 900) -> StreamMeasurement:
    """Stream ``a`` op ``b`` through one FP32 unit (as :func:`sim.designs.fp.fp_units.run_vectors`), recording toggles.

    Results are checked against numpy float32 (the bench fails on any
    mismatch).  With ``capture=False`` the same stream runs uninstrumented
    (for measuring what capture costs).
    """
    from hw.fp32 import FPParams
    from sim.designs.fp.fp_units import stream_build
    from ..golden.fp32 import numpy_op

    params = params or FPParams(latency=2)
    a = np.asarray(a, np.uint32)
    b = np.asarray(b, np.uint32)
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    for stale in ("coverage.dat", VCD_NAME, "report.json"):
        (run_dir / stale).unlink(missing_ok=True)
    vectors, report = run_dir / "vectors.npz", run_dir / "report.json"
    np.savez(vectors, a=a, b=b, expected=numpy_op(op, a, b, ftz=params.ftz))
    depth = 1 << max(4, int(np.ceil(np.log2(max(chunk, 2)))))
    spec = stream_build(op, params, simulator, depth)
    scope = "fp_stream_tb.dut"
    if capture:
        spec = with_toggle_capture(spec, scope=scope)
    runner.build(spec)
    env = {"FP_VECTORS": str(vectors), "FP_REPORT": str(report), "FP_CHUNK": str(chunk),
           "FP_LATENCY": str(params.latency)}
    start = time.perf_counter()
    try:
        runner.run_test(spec, "sim.designs.fp.tb_stream", run_dir=run_dir, extra_env=env,
                        wall_timeout_s=wall_timeout_s)
    finally:
        vectors.unlink(missing_ok=True)
    wall = time.perf_counter() - start
    bench = json.loads(report.read_text())
    if not capture:
        return StreamMeasurement(None, None, [], bench, wall, run_dir)
    signals = read_toggles(spec, run_dir, scope=scope)
    design = fp_stream_design(op, params)
    activity, summary = activity_from_toggles(signals, design, fp_ops={f"fp32_{op}": len(a)},
                                              clock_hz=clock_hz)
    return StreamMeasurement(activity, summary, signals, bench, wall, run_dir)
