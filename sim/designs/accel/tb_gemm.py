"""cocotb testbench: run a list of layers on one accelerator (accel_tb.sv).

The job list (JSON named by ACCEL_JOBS) gives, per layer, its descriptor,
the word counts of its scratchpad images and the files holding them; images
are loaded by the Verilog testbench with $readmemh, so Python only sets the
descriptor, pulses ``go`` and wakes when the testbench reports ``tb_done``.
Results (counters, error flag, bit-exactness against the golden image) go to
the JSON named by ACCEL_RESULTS; the test fails on any mismatch, on an
unexpected error flag, or when the watchdog fires.
"""

import json
import os
import shutil
import time
from pathlib import Path

import cocotb
import numpy as np
from cocotb.utils import get_sim_time
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout, SimTimeoutError

from sim.golden.gemm import compare
from .accel_layout import output_from_image
from sim.core.hexfile import read_words

CLOCK_NS = 10
from hw.accelerator import COUNTERS


@cocotb.test()
async def run_layers(dut):
    jobs = json.loads(Path(os.environ["ACCEL_JOBS"]).read_text())
    cols = int(os.environ["ACCEL_COLS"])
    # the testbench runs its own 10 ns clock (PP_INTERNAL_CLOCK)
    dut.rst.value = 1
    dut.go.value = 0
    await ClockCycles(dut.clk, 3)
    dut.rst.value = 0
    await RisingEdge(dut.clk)

    results, failures = [], []
    for job in jobs:
        for name in ("n_w", "n_x", "n_b", "n_y"):
            getattr(dut, name).value = job[name]
        dut.dim_m.value, dut.dim_k.value, dut.dim_n.value = job["m"], job["k"], job["n"]
        dut.use_bias.value, dut.relu.value = int(job["use_bias"]), int(job["relu"])
        # the Verilog testbench reads fixed file names in its working directory
        for kind in ("w", "x", "b"):
            shutil.copyfile(job[f"{kind}_file"], f"{kind}.hex")
        dut.go.value = 1
        wall0, sim0 = time.perf_counter(), get_sim_time("ns")
        await RisingEdge(dut.clk)
        dut.go.value = 0
        budget = job["watchdog_cycles"] * CLOCK_NS
        try:
            await with_timeout(RisingEdge(dut.tb_done), budget, "ns")
            tb_cycles = round((get_sim_time("ns") - sim0) / CLOCK_NS)
            wall = time.perf_counter() - wall0
        except SimTimeoutError:
            raise AssertionError(
                f"watchdog: layer {job['name']} (M={job['m']} K={job['k']} N={job['n']}) did not finish "
                f"in {job['watchdog_cycles']} cycles; accelerator busy={int(dut.acc_busy.value)}") from None
        await RisingEdge(dut.clk)
        result = {"name": job["name"], "error": int(dut.acc_error.value),
                  "tb_cycles": tb_cycles, "wall_seconds": wall}
        result["counters"] = {c: int(getattr(dut, f"cycles_{c}").value) for c in COUNTERS}
        if job.get("expected") and not result["error"]:
            shutil.copyfile("y.hex", job["y_file"])
            got = output_from_image(read_words(job["y_file"], cols), job["m"], job["n"], cols)
            np.save(job["y_file"] + ".npy", got)
            expected = np.load(job["expected"])
            result.update(compare(got, expected))
            if not result["bit_exact"]:
                failures.append(f"{job['name']}: {result['mismatches']} mismatching outputs")
        if result["error"] != int(job.get("expect_error", False)):
            failures.append(f"{job['name']}: error flag {result['error']}, expected {int(job.get('expect_error', False))}")
        results.append(result)
    Path(os.environ["ACCEL_RESULTS"]).write_text(json.dumps(results, indent=1))
    assert not failures, "; ".join(failures)
