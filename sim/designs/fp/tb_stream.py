"""cocotb testbench: stream operand vectors through an FP32 unit, compare in bulk.

Inputs come from the .npz named by FP_VECTORS (arrays ``a``, ``b``,
``expected``, all uint32 bit patterns); they are streamed in chunks of at
most FP_CHUNK vectors, one operation per cycle, with Python waking once per
chunk.  A summary (vectors, mismatches, first few mismatching cases, cycles)
goes to the JSON named by FP_REPORT.
"""

import json
import os
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, RisingEdge, with_timeout

from sim.core.hexfile import read_hex, write_hex
from sim.golden.fp32 import mismatches

CLOCK_NS = 10


@cocotb.test()
async def stream_vectors(dut):
    data = np.load(os.environ["FP_VECTORS"])
    a, b, expected = data["a"], data["b"], data["expected"]
    chunk = int(os.environ.get("FP_CHUNK", "1024"))
    latency = int(os.environ["FP_LATENCY"])
    workdir = Path.cwd()

    cocotb.start_soon(Clock(dut.clk, CLOCK_NS, unit="ns").start())
    dut.rst.value = 1
    dut.start.value = 0
    dut.count.value = 0
    await ClockCycles(dut.clk, 2)
    dut.rst.value = 0

    results, cycles = [], 0
    for lo in range(0, len(a), chunk):
        hi = min(lo + chunk, len(a))
        write_hex(workdir / "a.hex", a[lo:hi])
        write_hex(workdir / "b.hex", b[lo:hi])
        dut.count.value = hi - lo
        dut.start.value = 1
        await RisingEdge(dut.clk)
        dut.start.value = 0
        # Watchdog: a streaming unit needs count + latency cycles; allow slack.
        budget = (hi - lo + latency + 16) * CLOCK_NS
        try:
            await with_timeout(RisingEdge(dut.done), budget, "ns")
        except cocotb.triggers.SimTimeoutError:
            raise AssertionError(f"watchdog: unit produced no `done` within {budget} ns "
                                 f"for vectors {lo}..{hi - 1} (stalled pipeline?)") from None
        await RisingEdge(dut.clk)
        cycles += int(dut.cycles.value)
        results.append(read_hex(workdir / "r.hex"))

    got = np.concatenate(results) if results else np.zeros(0, np.uint32)
    bad = mismatches(got, expected)
    report = {
        "vectors": int(len(a)),
        "mismatches": int(bad.size),
        "cycles": cycles,
        "examples": [
            {"a": f"{a[i]:08x}", "b": f"{b[i]:08x}", "got": f"{got[i]:08x}", "expected": f"{expected[i]:08x}"}
            for i in bad[:10]
        ],
    }
    Path(os.environ["FP_REPORT"]).write_text(json.dumps(report, indent=1))
    assert got.size == a.size, f"received {got.size} results for {a.size} vectors"
    assert bad.size == 0, f"{bad.size} mismatches, first: {report['examples'][:3]}"
