"""Build and simulate the generated SoC (Verilog via hw.netlist, cached)."""

import json
from pathlib import Path

import numpy as np

from hw.netlist import soc_verilog
from hw.soc import SoCParams
from sim.core import runner

MODULE = "pp_soc"


def soc_source(params: SoCParams, fp: str = "rtl") -> Path:
    """The SoC's Verilog; ``fp="behavioural"`` puts sim/designs/fp/fp_behavioural.py's PE in place of the RTL one."""
    key = {"block": "soc", **params.as_dict()}
    if fp != "rtl":
        key.update(fp=fp, model=runner.source_hash(Path(__file__).resolve().parents[1] / "fp" / "fp_behavioural.py"))

    def text():
        if fp == "rtl":
            return soc_verilog(params, MODULE)
        from sim.designs.fp.fp_behavioural import pe_text
        return soc_verilog(params, MODULE, pe_text=pe_text(params.array, f"{MODULE}_pe"))
    return runner.generate_verilog(None, MODULE, key, text_factory=text)


# Arrays above this many PEs build with Verilator's -O3 and C++ -O2 (runner.SimBuild.fast):
# on the 32x32 SoCs they simulate about 1.2x faster (BENCHMARKS.md, Simulation speed), which
# pays for the longer build; the small arrays of the tests keep the faster-building defaults.
FAST_BUILD_PES = 64


def soc_build(params: SoCParams, simulator: str, *, toplevel: str = MODULE, extra_sources=(),
              parameters=(), build_args=(), waves: bool = False) -> runner.SimBuild:
    """The SoC's simulator build; Verilator builds the PE row once, as a hierarchical block."""
    return runner.SimBuild(
        toplevel=toplevel,
        sources=(str(soc_source(params)), *map(str, extra_sources)),
        simulator=simulator, parameters=tuple(parameters), build_args=tuple(build_args), waves=waves,
        hier_blocks=(f"{MODULE}_pe_row",) if simulator == "verilator" else (),
        fast=params.array.rows * params.array.cols > FAST_BUILD_PES,
    )


def _axi_job(params: SoCParams, layers, run_dir: Path, **fields) -> Path:
    """Write each layer's arrays and the bench's JSON job into ``run_dir``."""
    specs = []
    for i, (W, X, bias, relu) in enumerate(layers):
        path = run_dir / f"layer{i}.npz"
        arrays = {"W": np.asarray(W, np.float32), "X": np.asarray(X, np.float32)}
        if bias is not None:
            arrays["bias"] = np.asarray(bias, np.float32)
        np.savez(path, **arrays)
        specs.append({"file": str(path), "relu": bool(relu)})
    work = sum(W.shape[0] * W.shape[1] * X.shape[1] for W, X, _, _ in layers)
    job = {"bus_width": params.bus_width, "rows": params.array.rows, "cols": params.array.cols,
           "accelerators": params.accelerators, "mem_ports": params.mem_ports, "layers": specs,
           "watchdog_cycles": int(200000 + 40 * work / (params.array.rows * params.array.cols)), **fields}
    (run_dir / "job.json").write_text(json.dumps(job, indent=1))
    return run_dir / "job.json"


def _run_axi_bench(params: SoCParams, layers, bench: str, *, simulator: str, run_dir: Path, **fields) -> dict:
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    job = _axi_job(params, layers, run_dir, **fields)
    results = run_dir / "results.json"
    results.unlink(missing_ok=True)
    from .soc_tb import axi_wrapper_build          # (soc_tb builds on this module)
    runner.run_test(axi_wrapper_build(params, simulator), bench, run_dir=run_dir,
                    extra_env={"SOC_JOB": str(job), "SOC_RESULTS": str(results)}, wall_timeout_s=1800)
    return json.loads(results.read_text())


def run_axi_conformance(params: SoCParams, layers, *, simulator="verilator", backpressure=0.0,
                        seed=0, run_dir: Path, window_bytes=1 << 16) -> dict:
    """Run one layer per accelerator against cocotbext-axi models (see sim/designs/soc/tb_axi.py)."""
    return _run_axi_bench(params, layers, "sim.designs.soc.tb_axi", simulator=simulator, run_dir=run_dir,
                          window_bytes=window_bytes, seed=seed, backpressure=backpressure)


def run_csr_random(params: SoCParams, layers, *, simulator="verilator", backpressure=0.0, seed=0,
                   run_dir: Path, window_bytes=1 << 16, storm_after=200) -> dict:
    """Random AXI-Lite programming while layers run (see sim/designs/soc/tb_csr_random.py): the last
    accelerator is programmed at random, the others run ``layers[:-1]``; ``layers[-1]`` is the last
    accelerator's own layer, run after the storm."""
    return _run_axi_bench(params, layers, "sim.designs.soc.tb_csr_random", simulator=simulator, run_dir=run_dir,
                          window_bytes=window_bytes, seed=seed, backpressure=backpressure, storm_after=storm_after)
