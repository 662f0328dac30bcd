"""Run vector sets through the generated FP32 units on Verilator or Icarus.

Used by the cocotb regression (tests/test_fp32_cocotb.py) and by
``make soak`` (:mod:`sim.designs.fp.soak`).  Vectors and oracle results travel as one
.npz; the testbench streams them one per cycle and reports mismatches in JSON.
"""

import json
from pathlib import Path

import numpy as np

from hw.fp32 import FPAdd, FPMul, FPParams
from sim.core import runner

TB_SOURCE = Path(__file__).resolve().parent / "tb" / "fp_stream_tb.sv"
UNITS = {"mul": ("fp32_mul", FPMul), "add": ("fp32_add", FPAdd)}


def unit_verilog(op: str, params: FPParams) -> Path:
    module, cls = UNITS[op]
    return runner.generate_verilog(lambda: cls(params), module,
                                   {"latency": params.latency, "ftz": params.ftz})


def stream_build(op: str, params: FPParams, simulator: str, depth: int, waves: bool = False):
    module, _ = UNITS[op]
    return runner.SimBuild(
        toplevel="fp_stream_tb",
        sources=(str(unit_verilog(op, params)), str(TB_SOURCE)),
        simulator=simulator,
        defines=(("DUT", module),),
        parameters=(("DEPTH", depth),),
        waves=waves,
        warnings_fatal=True,
    )


def run_vectors(op: str, params: FPParams, a, b, expected, *, simulator: str, run_dir: Path,
                chunk: int = 1 << 14, waves: bool = False, wall_timeout_s: float = 900) -> dict:
    """Stream ``a`` op ``b`` through the unit; return the testbench's JSON report.

    Raises :class:`sim.core.runner.SimulationError` on any mismatch or hang.
    """
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    vectors = run_dir / "vectors.npz"
    report = run_dir / "report.json"
    report.unlink(missing_ok=True)
    np.savez(vectors, a=np.asarray(a, np.uint32), b=np.asarray(b, np.uint32),
             expected=np.asarray(expected, np.uint32))
    depth = 1 << max(4, int(np.ceil(np.log2(max(chunk, 2)))))
    spec = stream_build(op, params, simulator, depth, waves)
    env = {"FP_VECTORS": str(vectors), "FP_REPORT": str(report), "FP_CHUNK": str(chunk),
           "FP_LATENCY": str(params.latency)}
    try:
        runner.run_test(spec, "sim.designs.fp.tb_stream", run_dir=run_dir, extra_env=env,
                        wall_timeout_s=wall_timeout_s)
    finally:
        vectors.unlink(missing_ok=True)
    return json.loads(report.read_text())
